"""Imported first by every job script (Snakemake puts scripts/ on sys.path).

Jobs may run in a conda env or on another node where the project is not installed, so the
package is imported from the checkout this script belongs to.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

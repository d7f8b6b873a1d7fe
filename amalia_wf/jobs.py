"""What every job script does first: offline switches, and all logging to the rule's log file."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any


def setup(smk: Any) -> None:
    """Call before importing anything that reads the Hugging Face environment at import time."""
    if smk.config["offline"]:
        # The embedded default must never reach a hub, even for a cached lookup.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"
    log_to(smk.log[0])


def log_to(path: str) -> None:
    """Route stdlib logging, datatrove's loguru logger and warnings to `path`."""
    from loguru import logger

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        filename=path, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    logging.captureWarnings(True)
    logger.remove()
    logger.add(path, level="INFO")
    # A failing job's traceback goes to the rule's log (where Snakemake's error points) and to stderr.
    previous = sys.excepthook

    def hook(kind, value, tb):  # type: ignore[no-untyped-def]
        logging.getLogger("job").error("job failed", exc_info=(kind, value, tb))
        previous(kind, value, tb)

    sys.excepthook = hook

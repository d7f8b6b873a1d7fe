"""Atomic writers for the report's tables and plots, shared by every stage."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")  # jobs run without a display
import matplotlib.pyplot as plt
import pandas as pd

from amalia_wf.io import atomic_path


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n")


def write_png(fig: plt.Figure, path: str | os.PathLike[str]) -> None:
    with atomic_path(path) as tmp:
        # Without the Software entry the file is a function of the data, not of the matplotlib version.
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)

"""Training curves and throughput of every training stage, for the report."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from amalia_wf.figures import plt, write_csv, write_png


def summarise(metrics: Mapping[str, str | Path], curves_png: str | Path, throughput_csv: str | Path) -> pd.DataFrame:
    """`metrics`: stage -> training_metrics.csv written by ThroughputLog."""
    frames = {stage: pd.read_csv(path) for stage, path in metrics.items()}
    fig, axes = plt.subplots(1, len(frames), figsize=(4 * len(frames), 3.2), squeeze=False)
    for ax, (stage, frame) in zip(axes[0], frames.items()):
        ax.plot(frame["step"], frame["loss"], marker=".")
        ax.set_title(stage)
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("training loss")
    fig.tight_layout()
    write_png(fig, curves_png)
    summary = pd.DataFrame(
        [
            {
                "stage": stage,
                "steps": int(frame["step"].max()),
                "final_loss": float(frame["loss"].iloc[-1]),
                "tokens_per_second": float(pd.to_numeric(frame["tokens_per_second"], errors="coerce").mean()),
                "peak_memory_mb": float(frame["peak_memory_mb"].max()),
                "world_size": int(frame["world_size"].max()),
            }
            for stage, frame in frames.items()
        ]
    )
    write_csv(summary, throughput_csv)
    return summary

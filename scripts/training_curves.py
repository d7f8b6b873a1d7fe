"""Loss curves, tokens/s and peak memory of the training stages."""

from amalia_wf.jobs import setup

setup(snakemake)
from pathlib import Path

from amalia_wf.train.curves import summarise

summarise(
    {Path(d).name: Path(d) / "training_metrics.csv" for d in snakemake.input},
    snakemake.output.curves,
    snakemake.output.throughput,
)

"""One model over every configured task (lm-eval), one result file per task."""

from amalia_wf.jobs import setup

setup(snakemake)
from pathlib import Path

from amalia_wf.evaluate.run import evaluate_model

tasks = snakemake.params.tasks
data = {t: {p.stem: str(p) for p in sorted(Path(d).glob("*.jsonl"))} for t, d in zip(tasks, snakemake.input.data)}
evaluate_model(
    snakemake.params.spec,
    snakemake.input.model,
    data,
    dict(zip(tasks, snakemake.output)),
    snakemake.params.settings,
    snakemake.params.cache,
)

"""One model's answers to one generation benchmark (greedy, through its chat template)."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf.genbench.workflow import generate

generate(
    snakemake.wildcards.bench,
    snakemake.params.spec,
    snakemake.input.get("model"),
    snakemake.input.data,
    snakemake.output.records,
    snakemake.output.info,
    snakemake.params.settings,
    snakemake.params.backend,
    snakemake.params.cache,
)

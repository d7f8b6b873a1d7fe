"""One model's answers to one benchmark, judged by one of the configured LLM judges (cached per call)."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf.genbench.workflow import judge

judge(
    snakemake.wildcards.judged_bench,
    snakemake.input.responses,
    snakemake.output.judged,
    snakemake.output.summary,
    snakemake.params.judge,
    snakemake.params.cache,
    fewshots=snakemake.input.fewshots[0] if snakemake.input.fewshots else None,
    variant=snakemake.params.variant,
    scorer=snakemake.params.scorer,
)

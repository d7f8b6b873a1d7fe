"""One model's answers to one safety benchmark, classified by Qwen3Guard; the attack success rate."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf.genbench.workflow import guard

guard(
    snakemake.wildcards.safety_bench,
    snakemake.params.spec,
    snakemake.params.cfg,
    snakemake.input.guard,
    snakemake.input.responses,
    snakemake.output.guarded,
    snakemake.output.summary,
)

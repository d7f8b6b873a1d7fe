"""Upstream-schema benchmark files -> the jsonl splits the lm-eval task reads."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf.evaluate.suite import prepare

prepare(snakemake.wildcards.task, snakemake.input[0], snakemake.output[0])

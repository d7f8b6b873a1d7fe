"""ALBA's judge few-shots, selected from the graded judge-training CSVs."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf.genbench.workflow import alba_fewshots

alba_fewshots(snakemake.input[0], snakemake.output[0], snakemake.params.objective)

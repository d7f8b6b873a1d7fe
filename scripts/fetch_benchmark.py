"""A benchmark's upstream files (or its local override), checksummed."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf.evaluate.sources import fetch

fetch(snakemake.wildcards.task, snakemake.params.source, snakemake.output[0])

"""A hub model into the Hugging Face cache, and the commit it resolved to."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf.evaluate.models import fetch_hub_snapshot

fetch_hub_snapshot(snakemake.params.spec, snakemake.output[0])

"""The held-out perplexity table, as CSV, Markdown, LaTeX and HTML."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf.tables.heldout import build
from amalia_wf.tables.registry import written

params = snakemake.params
build(params.models, params.results, params.tolerance, written(snakemake.output))

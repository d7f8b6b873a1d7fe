"""Table 3: reproduced vs reported, as CSV, Markdown, LaTeX, HTML and bar charts."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf.tables.registry import written
from amalia_wf.tables.table3 import build

out = snakemake.output
params = snakemake.params
build(params.models, params.results, params.inputs, params.tolerance, params.min_coverage, written(out), out.plots)

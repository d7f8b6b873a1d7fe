"""Table 4 (PT-E open questions, ALBA, P3B3): reproduced vs reported, as CSV, Markdown and LaTeX."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf.tables.genbench import TABLE4_COLUMNS, TABLE4_TITLE, build

out = snakemake.output
build("table4", TABLE4_COLUMNS, TABLE4_TITLE, snakemake.params.models, snakemake.params.plan, snakemake.params.tolerance,
      {"csv": out.csv, "md": out.md, "tex": out.tex}, notes=snakemake.params.notes)

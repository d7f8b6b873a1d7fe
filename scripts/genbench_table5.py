"""Table 5 (attack success rate on ADV-Bench, SST, XSTest): reproduced vs reported."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf.tables.genbench import TABLE5_COLUMNS, TABLE5_TITLE, build

out = snakemake.output
build("table5", TABLE5_COLUMNS, TABLE5_TITLE, snakemake.params.models, snakemake.params.plan, snakemake.params.tolerance,
      {"csv": out.csv, "md": out.md, "tex": out.tex})

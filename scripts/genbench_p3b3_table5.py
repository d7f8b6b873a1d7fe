"""P3B3 Table 5 (the paper's two LLM judges, per model and setting): reproduced vs reported."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf.tables.genbench import P3B3_TABLE5_COLUMNS, P3B3_TABLE5_TITLE, build

out, params = snakemake.output, snakemake.params
build("p3b3_table5", P3B3_TABLE5_COLUMNS, P3B3_TABLE5_TITLE, params.models, params.plan, params.tolerance,
      {"csv": out.csv, "md": out.md, "tex": out.tex}, paper_rows=params.paper_rows)

"""Table 4, Table 5 or P3B3 Table 5 (the rule's name says which), from its plan: reproduced vs reported."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf.tables.genbench import PLAN_TABLES, build
from amalia_wf.tables.registry import written

out, params = snakemake.output, snakemake.params
columns, title = PLAN_TABLES[snakemake.rule]
build(snakemake.rule, columns, title, params.models, params.plan, params.tolerance, written(out),
      notes=params.get("notes", ()), paper_rows=params.get("paper_rows"))

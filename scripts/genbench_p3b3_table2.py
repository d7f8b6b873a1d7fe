"""P3B3 Table 2 (model x setting x scorer), the full summary and the turn-level plot."""

from amalia_wf.jobs import setup

setup(snakemake)
from amalia_wf.tables.genbench import TABLE2_TITLE, build, p3b3_summary_and_turns, table2_columns
from amalia_wf.tables.registry import written

out, params = snakemake.output, snakemake.params
build("p3b3_table2", table2_columns(["none", "pt-BR", "pt-PT"]), TABLE2_TITLE, params.models, params.plan, params.tolerance,
      written(out), notes=params.notes, paper_rows=params.paper_rows)
p3b3_summary_and_turns(snakemake.input.scores, out.summary, out.turns, out.plot, params.plot_scorer, params.max_turn)

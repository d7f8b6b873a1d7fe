"""Every result table under results/tables/: the rule writing it, its files and where the report shows it.

The table rules take their outputs from here (rules/common.smk, `table_outputs`) and run_summary
(rules/report.smk) reads every table listed, so a new table is one entry. Light on purpose (no
pandas): the Snakefile imports it at every DAG build.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# A compared table's files (amalia_wf.tables.render.write_all), as the keys of its rule's outputs.
COMPARED = ("csv", "md", "tex", "html")


@dataclass(frozen=True)
class Table:
    """`caption`: the report/ file captioning the table's CSV and Markdown, None for a table its
    rule leaves uncaptioned (run_summary shows it with a generic caption). `in_paper`: its rows
    are typed in from a paper (data/reported/paper_tables.csv); else every row is the run's own."""

    rule: str
    subcategory: str
    caption: str | None
    formats: tuple[str, ...] = COMPARED
    in_paper: bool = True


TABLES = {  # by name, the order of the report's provenance.csv
    "p3b3_summary": Table("p3b3_table2", "P3B3", "p3b3_summary.rst", ("csv",)),
    "p3b3_table1": Table("p3b3_table1", "P3B3", "p3b3_table1.rst"),
    "p3b3_table2": Table("p3b3_table2", "P3B3", "p3b3_table2.rst"),
    "p3b3_table5": Table("p3b3_table5", "P3B3", "p3b3_table5.rst"),
    "p3b3_turns": Table("p3b3_table2", "P3B3", None, ("csv",)),  # the data of the turn plot
    "table3": Table("table3", "Table 3", "table3.rst"),
    "table4": Table("table4", "Table 4", "table4.rst"),
    "table5": Table("table5", "Table 5", "table5.rst"),
    # Not in the paper: only when a collection holds parallel pages out (amalia_wf.tables.heldout).
    "heldout_perplexity": Table("heldout_table", "Held-out perplexity", "heldout_perplexity.rst", in_paper=False),
}
HELDOUT_TABLE = "heldout_perplexity"


def table_path(name: str, ext: str) -> str:
    return f"results/tables/{name}.{ext}"


def written(output: Any) -> dict[str, str]:
    """A compared table's files from its rule's outputs (a job's snakemake.output), by format."""
    return {ext: getattr(output, ext) for ext in COMPARED}


def html_pages(tables: Mapping[str, Table] = TABLES) -> list[str]:
    """Every table's HTML page (the report shows them inline)."""
    return [table_path(name, "html") for name, table in tables.items() if "html" in table.formats]

"""Reproduced values beside the paper's, cell by cell, for any of the paper's result tables.

The paper's values are data (`data/reported/paper_tables.csv`: table, group, row, column, value,
and the cell they were typed in from). A reproduced value comes with where it came from: the rule
that wrote the files it was read from, those files, and what else made it (model input, scorer, n),
each a column of the CSV (report.provenance reads them). A cell without a result is "missing", never zero; cells further than the tolerance
from the paper are flagged. A cell without a value may say why instead of "missing" (its
`status`, e.g. "not run: no judge configured"): that text is the cell's status in the CSV and
what the rendered tables print in place of the value.

A value measured on fewer items than its producer expected (judge calls that failed, answers the
offline scorer abstained on, an lm-eval `limit`) carries its `Coverage`: below the producer's
threshold (`tables.min_coverage`, `tables.min_variety_coverage`) the cell is "partial", shown with
its counts and never compared with the paper. Rows are in the paper's order (the order of
`paper_tables.csv`, which is the paper's); rows the paper does not have come after it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

REPORTED = Path(__file__).resolve().parents[2] / "data" / "reported" / "paper_tables.csv"
GROUPS = {
    "fully_open": "Fully open models",
    "open_weight": "Open weight models",
    "closed_source": "Closed source models",  # the P3B3 paper's API models
    # P3B3 Table 1 (judge validation): who is compared with the human ratings.
    "humans": "Human annotators",
    "classifiers": "Encoder classifiers",
    "judges": "LLM judges",
    "offline": "Offline scorer",
}
COLUMNS = [
    "group", "model", "paper_row", "column", "reproduced", "stderr", "reported", "difference", "status",
    "scored", "expected", "coverage", "better", "reported_cell", "rule", "paths", "detail",
]
PARTIAL = "partial"  # the status of a cell measured on too few items
# Groups whose rows are the yardstick, not contestants: no emphasis (P3B3 Table 1's annotators'
# agreement with each other is what the scorers are measured against).
REFERENCE_GROUPS = {"humans"}
HIGHER, LOWER = "higher", "lower"
# Which way each table's columns are better (the rendered tables emphasise the best value): one
# direction for the whole table, or one per column or, for the P3B3 tables (columns "<setting>
# <scorer>"), per setting. As the papers mark it: attack success rate (Table 5), MAE and the pt-BR
# setting (P3B3) lower; P3B3's pt-PT setting higher, and so are the accuracies and scores of
# Tables 3 and 4 and the agreements of P3B3 Table 1. None: the column ranks nothing (P3B3's
# No-Prompt setting measures which variety a model prefers unprompted, not how well it does).
P3B3_SETTINGS = {"No-Prompt": None, "pt-BR": LOWER, "pt-PT": HIGHER}
BETTER: dict[str, str | dict[str, str | None]] = {
    "table3": HIGHER,
    "table4": HIGHER,
    "table5": LOWER,
    "p3b3_table1": {"Kappa (quadratic)": HIGHER, "Pearson": HIGHER, "MAE": LOWER},
    "p3b3_table2": P3B3_SETTINGS,
    "p3b3_table5": P3B3_SETTINGS,
    # Held-out perplexity (not in the paper): lower on the pt-PT side is better, the pt-BR side ranks
    # nothing, and a higher pt-BR / pt-PT ratio is a model that prefers pt-PT more.
    "heldout_perplexity": {"pt-PT": LOWER, "pt-BR": None, "pt-BR / pt-PT": HIGHER},
}
# A cell's `paths` in the CSV: its files, in one text column.
PATH_SEPARATOR = " "


@dataclass(frozen=True)
class Coverage:
    """`scored` of the `expected` items made the value; below `minimum` (a fraction) the cell is partial."""

    scored: int
    expected: int
    minimum: float

    @property
    def fraction(self) -> float:
        return self.scored / self.expected if self.expected else 0.0

    @property
    def partial(self) -> bool:
        return self.fraction < self.minimum


@dataclass(frozen=True)
class Cell:
    """One reproduced value (None when the result is missing) of one model and where it came from:
    `rule` wrote the `paths` it was read from; `detail` says what else made it ("judge X", "model
    results/models/sft, data ...").

    `status` says why a cell has no value ("not run: no judge configured"); None means "missing".
    It is ignored when there is a value. `coverage`: how many items the value was measured on, None
    where the producer does not count them. `stderr`: the value's standard error, where its producer
    measures one (a bootstrap, lm-eval's)."""

    model: str
    group: str
    paper_row: str | None
    column: str
    value: float | None
    rule: str = ""
    paths: tuple[str, ...] = ()
    detail: str = ""
    status: str | None = None
    coverage: Coverage | None = None
    stderr: float | None = None


def reported(table: str, path: str | os.PathLike[str] = REPORTED) -> pd.DataFrame:
    """The paper's cells of `table`, in the paper's order; a cell without a value is an error (it
    would otherwise compare as "ok" with anything)."""
    frame = pd.read_csv(path, dtype={"value": float})
    frame = frame[frame["table"] == table].reset_index(drop=True)
    empty = frame[frame["value"].isna()]
    if not empty.empty:
        where = "; ".join(f"row {r.row!r}, column {r.column!r}" for r in empty.itertuples())
        raise ValueError(f"{path}: table {table!r} has no reported value at {where}")
    return frame


def better(table: str, column: str) -> str | None:
    """Which way `column` of `table` is better (BETTER)."""
    if table not in BETTER:
        raise ValueError(f"table {table!r} has no direction in amalia_wf.tables.compare.BETTER")
    rule = BETTER[table]
    if isinstance(rule, str):
        return rule
    key = column if column in rule else column.split(" ", 1)[0]
    if key not in rule:
        raise ValueError(f"table {table!r}: column {column!r} has no direction in amalia_wf.tables.compare.BETTER")
    return rule[key]


def compare(
    table: str,
    cells: Sequence[Cell],
    columns: Sequence[str],
    tolerance: float,
    reported_path: str | os.PathLike[str] = REPORTED,
) -> pd.DataFrame:
    """Long table: one row per (model, column). Paper rows no configured model reproduces are kept,
    their reproduced value missing, so the layout is always the paper's: its rows in its order,
    then the rows it does not have (by group, in the order of `cells`). `better`: which way the
    cell's column is better (BETTER), "" where it ranks nothing."""
    paper = reported(table, reported_path)
    lookup = {(r.row, r.column): r for r in paper.itertuples()}
    rows = []
    for cell in cells:
        ref = lookup.get((cell.paper_row, cell.column))
        rows.append(_row(cell, ref, tolerance))
    covered = {c.paper_row for c in cells}
    for ref in paper.itertuples():
        if ref.row not in covered and ref.column in columns:
            rows.append(_row(Cell("", ref.group, ref.row, ref.column, None), ref, tolerance))
    frame = pd.DataFrame(rows, columns=COLUMNS).astype({"scored": "Int64", "expected": "Int64"})
    frame["better"] = [better(table, c) or "" for c in frame["column"]]
    position = {row: i for i, row in enumerate(dict.fromkeys(paper["row"]))}
    order = {g: i for i, g in enumerate(GROUPS)}
    keys = list(zip(frame["model"], frame["paper_row"]))
    frame["_p"] = [position.get(p, len(position)) for p in frame["paper_row"]]
    frame["_g"] = frame["group"].map(order)
    frame["_r"] = [keys.index(k) for k in keys]
    frame["_c"] = frame["column"].map({c: i for i, c in enumerate(columns)})
    return frame.sort_values(["_p", "_g", "_r", "_c"], kind="stable").drop(columns=["_p", "_g", "_r", "_c"]).reset_index(drop=True)


def _row(cell: Cell, ref: object, tolerance: float) -> dict[str, object]:
    rep = getattr(ref, "value", None)
    value = cell.value
    have = value is not None and not math.isnan(value)
    coverage = cell.coverage
    partial = have and coverage is not None and coverage.partial
    if not have:
        status = cell.status or "missing"
    elif partial:
        status = PARTIAL
    elif rep is None:
        status = "not in paper"
    else:
        status = "differs" if abs(value - rep) > tolerance else "ok"
    return {
        "group": cell.group,
        "model": cell.model,
        "paper_row": cell.paper_row or "",
        "column": cell.column,
        "reproduced": round(value, 2) if have else None,
        "stderr": round(cell.stderr, 4) if have and cell.stderr is not None else None,
        "reported": rep,
        "difference": round(value - rep, 2) if have and rep is not None and not partial else None,
        "status": status,
        "scored": coverage.scored if coverage else None,
        "expected": coverage.expected if coverage else None,
        "coverage": round(coverage.fraction, 4) if coverage else None,
        "reported_cell": getattr(ref, "cell", ""),
        "rule": cell.rule,
        "paths": PATH_SEPARATOR.join(cell.paths),
        "detail": cell.detail,
    }

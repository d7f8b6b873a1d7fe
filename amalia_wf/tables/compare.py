"""Reproduced values beside the paper's, cell by cell, for any of the paper's result tables.

The paper's values are data (`data/reported/paper_tables.csv`: table, group, row, column, value,
and the cell they were typed in from). A reproduced value comes with where it came from: the rule
that wrote the files it was read from, those files, and what else made it (model input, scorer, n),
each a column of the CSV (report.provenance reads them). A cell without a result is "missing", never zero; cells further than the tolerance
from the paper are flagged. A cell without a value may say why instead of "missing" (its
`status`, e.g. "not run: no judge configured"): that text is the cell's status in the CSV and
what the rendered tables print in place of the value.
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
COLUMNS = ["group", "model", "paper_row", "column", "reproduced", "reported", "difference", "status", "reported_cell", "rule", "paths", "detail"]
# A cell's `paths` in the CSV: its files, in one text column.
PATH_SEPARATOR = " "


@dataclass(frozen=True)
class Cell:
    """One reproduced value (None when the result is missing) of one model and where it came from:
    `rule` wrote the `paths` it was read from; `detail` says what else made it ("judge X", "model
    results/models/sft, data ...").

    `status` says why a cell has no value ("not run: no judge configured"); None means "missing".
    It is ignored when there is a value."""

    model: str
    group: str
    paper_row: str | None
    column: str
    value: float | None
    rule: str = ""
    paths: tuple[str, ...] = ()
    detail: str = ""
    status: str | None = None


def reported(table: str, path: str | os.PathLike[str] = REPORTED) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype={"value": float})
    return frame[frame["table"] == table].reset_index(drop=True)


def compare(table: str, cells: Sequence[Cell], columns: Sequence[str], tolerance: float, reported_path: str | os.PathLike[str] = REPORTED) -> pd.DataFrame:
    """Long table: one row per (model, column). Paper rows no configured model reproduces are kept,
    their reproduced value missing, so the layout is always the paper's."""
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
    frame = pd.DataFrame(rows, columns=COLUMNS)
    order = {g: i for i, g in enumerate(GROUPS)}
    frame["_g"] = frame["group"].map(order)
    keys = list(zip(frame["model"], frame["paper_row"]))
    frame["_r"] = [keys.index(k) for k in keys]
    frame["_c"] = frame["column"].map({c: i for i, c in enumerate(columns)})
    return frame.sort_values(["_g", "_r", "_c"], kind="stable").drop(columns=["_g", "_r", "_c"]).reset_index(drop=True)


def _row(cell: Cell, ref: object, tolerance: float) -> dict[str, object]:
    rep = getattr(ref, "value", None)
    value = cell.value
    have = value is not None and not math.isnan(value)
    if not have:
        status = cell.status or "missing"
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
        "reported": rep,
        "difference": round(value - rep, 2) if have and rep is not None else None,
        "status": status,
        "reported_cell": getattr(ref, "cell", ""),
        "rule": cell.rule,
        "paths": PATH_SEPARATOR.join(cell.paths),
        "detail": cell.detail,
    }

"""Reproduced vs reported tables: cells, flags, missing values and the rendered files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from amalia_wf.tables.compare import REPORTED, Cell, compare, reported
from amalia_wf.tables.render import markdown, write_all

COLUMNS = ["ARC-C", "MMLU"]


@pytest.fixture()
def paper(tmp_path: Path) -> Path:
    path = tmp_path / "paper.csv"
    path.write_text(
        "table,group,row,column,value,cell\n"
        "t,fully_open,A,ARC-C,50.0,T row A ARC-C\n"
        "t,fully_open,A,MMLU,40.0,T row A MMLU\n"
        "t,open_weight,B,ARC-C,70.0,T row B ARC-C\n"
        "t,open_weight,B,MMLU,60.0,T row B MMLU\n"
        "other,fully_open,A,ARC-C,1.0,elsewhere\n"
    )
    return path


def test_cells_are_compared_flagged_and_missing_rows_kept(paper: Path) -> None:
    cells = [
        Cell("mine", "fully_open", "A", "ARC-C", 51.5, "r1"),  # within 2 points
        Cell("mine", "fully_open", "A", "MMLU", 35.0, "r2"),  # 5 points below: flagged
        Cell("extra", "open_weight", None, "ARC-C", 12.345, "r3"),  # not a paper row
        Cell("extra", "open_weight", None, "MMLU", None, "r4"),  # no result
    ]
    frame = compare("t", cells, COLUMNS, tolerance=2.0, reported_path=paper)
    by = {(r.model, r.paper_row, r.column): r for r in frame.itertuples()}
    assert by[("mine", "A", "ARC-C")].status == "ok" and by[("mine", "A", "ARC-C")].difference == 1.5
    assert by[("mine", "A", "MMLU")].status == "differs" and by[("mine", "A", "MMLU")].difference == -5.0
    assert by[("mine", "A", "MMLU")].reported_cell == "T row A MMLU"
    assert by[("extra", "", "ARC-C")].status == "not in paper" and by[("extra", "", "ARC-C")].reproduced == 12.35
    assert by[("extra", "", "MMLU")].status == "missing" and pd.isna(by[("extra", "", "MMLU")].reproduced)
    # Paper row B has no model: kept, its reproduced cells missing (never 0).
    assert by[("", "B", "ARC-C")].status == "missing" and by[("", "B", "ARC-C")].reported == 70.0
    # Order: fully open before open weight, each row's columns in table order.
    assert list(frame["group"]) == ["fully_open"] * 2 + ["open_weight"] * 4
    assert list(frame["column"][:2]) == COLUMNS


def test_markdown_marks_flags_and_missing(paper: Path) -> None:
    frame = compare("t", [Cell("mine", "fully_open", "A", "ARC-C", 44.0, "r"), Cell("mine", "fully_open", "A", "MMLU", None, "r")], COLUMNS, 2.0, paper)
    text = markdown(frame, COLUMNS, "T", 2.0)
    assert "| mine (A) | 44.0† / 50.0 (-6.0) | missing / 40.0 |" in text
    assert "| B | missing / 70.0 | missing / 60.0 |" in text
    assert "*Fully open models*" in text and "*Open weight models*" in text


def test_write_all_writes_every_format_and_one_chart_per_column(paper: Path, tmp_path: Path) -> None:
    frame = compare("t", [Cell("mine", "fully_open", "A", "ARC-C", 44.0, "r")], COLUMNS, 2.0, paper)
    out = {k: str(tmp_path / f"t.{k}") for k in ("csv", "md", "tex")}
    write_all(frame, COLUMNS, "T", 2.0, out, str(tmp_path / "plots"))
    assert pd.read_csv(out["csv"]).shape[0] == len(frame)
    tex = Path(out["tex"]).read_text()
    assert "\\begin{tabular}{lcc}" in tex and "44.0$^\\dagger$ / 50.0 (-6.0)" in tex
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["ARC-C.png", "MMLU.png"]


def test_reported_values_typed_in_from_the_paper() -> None:
    table3 = reported("table3", REPORTED)
    assert len(table3) == 14 * 11
    cell = table3[(table3.row == "AMALIA-9B-DPO") & (table3.column == "PT-E (CoT)")].iloc[0]
    assert cell.value == 68.4 and cell.group == "fully_open"
    assert reported("table4", REPORTED).query("row == 'Gemma 3-12B' and column == 'P3B3'").value.item() == 88.3
    assert reported("table5", REPORTED).query("row == 'Mistral-7B' and column == 'ADV-Bench'").value.item() == 34.4


def test_a_cell_can_say_why_it_has_no_value(paper: Path, tmp_path: Path) -> None:
    """A cell that was not run carries its reason instead of a value: status in the CSV, text in place of the number."""
    why = "not run: no judge configured"
    cells = [Cell("mine", "fully_open", "A", "ARC-C", None, "r", why), Cell("mine", "fully_open", "A", "MMLU", 0.456, "r", why)]
    frame = compare("t", cells, COLUMNS, 2.0, paper)
    by = {r.column: r for r in frame.itertuples() if r.model == "mine"}
    assert by["ARC-C"].status == why and pd.isna(by["ARC-C"].reproduced) and by["ARC-C"].reported == 50.0
    assert by["MMLU"].status == "differs"  # a value wins over a reason
    assert "| mine (A) | not run: no judge configured / 50.0 | 0.5† / 40.0 (-39.5) |" in markdown(frame, COLUMNS, "T", 2.0)
    assert "| mine (A) | not run: no judge configured / 50.00 | 0.46† / 40.00 (-39.54) |" in markdown(frame, COLUMNS, "T", 2.0, decimals=2)
    out = {k: str(tmp_path / f"t.{k}") for k in ("csv", "md", "tex")}
    write_all(frame, COLUMNS, "T", 2.0, out, notes=["Note: a judge column."])
    assert pd.read_csv(out["csv"]).status.tolist()[:1] == [why]
    assert "Note: a judge column." in Path(out["md"]).read_text() and "Note: a judge column." in Path(out["tex"]).read_text()
    assert "not run: no judge configured / 50.0" in Path(out["tex"]).read_text()

"""Reproduced vs reported tables: cells, flags, missing values and the rendered files (Markdown,
LaTeX, HTML from one wide frame)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from amalia_wf.tables.compare import REPORTED, Cell, compare, reported
from amalia_wf.tables.render import html_page, latex, markdown, table_cells, write_all
from tests.conftest import markdown_rows

COLUMNS = ["ARC-C", "MMLU"]


@pytest.fixture()
def paper(tmp_path: Path) -> Path:
    path = tmp_path / "paper.csv"
    path.write_text(
        "table,group,row,column,value,cell\n"
        "table3,fully_open,A,ARC-C,50.0,T row A ARC-C\n"
        "table3,fully_open,A,MMLU,40.0,T row A MMLU\n"
        "table3,open_weight,B,ARC-C,70.0,T row B ARC-C\n"
        "table3,open_weight,B,MMLU,60.0,T row B MMLU\n"
        "other,fully_open,A,ARC-C,1.0,elsewhere\n"
    )
    return path


def test_cells_are_compared_flagged_and_missing_rows_kept(paper: Path) -> None:
    cells = [
        Cell("mine", "fully_open", "A", "ARC-C", 51.5, "evaluate_model", ("results/eval/mine/arc_c.json",), "model x"),  # within 2 points
        Cell("mine", "fully_open", "A", "MMLU", 35.0, "evaluate_model", ("a.json", "b.json")),  # 5 points below: flagged
        Cell("extra", "open_weight", None, "ARC-C", 12.345),  # not a paper row
        Cell("extra", "open_weight", None, "MMLU", None),  # no result
    ]
    frame = compare("table3", cells, COLUMNS, tolerance=2.0, reported_path=paper)
    by = {(r.model, r.paper_row, r.column): r for r in frame.itertuples()}
    assert by[("mine", "A", "ARC-C")].status == "ok" and by[("mine", "A", "ARC-C")].difference == 1.5
    assert by[("mine", "A", "MMLU")].status == "differs" and by[("mine", "A", "MMLU")].difference == -5.0
    assert by[("mine", "A", "MMLU")].reported_cell == "T row A MMLU"
    # Where each value came from, as columns.
    assert (by[("mine", "A", "ARC-C")].rule, by[("mine", "A", "ARC-C")].paths, by[("mine", "A", "ARC-C")].detail) == ("evaluate_model", "results/eval/mine/arc_c.json", "model x")
    assert by[("mine", "A", "MMLU")].paths == "a.json b.json" and by[("", "B", "ARC-C")].rule == ""
    assert by[("extra", "", "ARC-C")].status == "not in paper" and by[("extra", "", "ARC-C")].reproduced == 12.35
    assert by[("extra", "", "MMLU")].status == "missing" and pd.isna(by[("extra", "", "MMLU")].reproduced)
    # Paper row B has no model: kept, its reproduced cells missing (never 0).
    assert by[("", "B", "ARC-C")].status == "missing" and by[("", "B", "ARC-C")].reported == 70.0
    # Order: fully open before open weight, each row's columns in table order.
    assert list(frame["group"]) == ["fully_open"] * 2 + ["open_weight"] * 4
    assert list(frame["column"][:2]) == COLUMNS


def _rows(text: str) -> dict[str, list[str]]:
    """Markdown table rows by their label (group column left out)."""
    return {cells[1]: cells[2:] for cells in markdown_rows(text)}


def test_every_format_is_the_same_wide_table(paper: Path) -> None:
    frame = compare("table3", [Cell("mine", "fully_open", "A", "ARC-C", 44.0), Cell("mine", "fully_open", "A", "MMLU", None)], COLUMNS, 2.0, paper)
    text, css = table_cells(frame, COLUMNS)
    assert text.index.tolist() == [("Fully open models", "mine (A)"), ("Open weight models", "B")] and text.columns.tolist() == COLUMNS
    assert text.values.tolist() == [["44.0† / 50.0 (-6.0)", "missing / 40.0"], ["missing / 70.0", "missing / 60.0"]]
    assert css.values.tolist() == [["differs", "missing"], ["missing", "missing"]]
    md = markdown(frame, COLUMNS, "T", 2.0)
    rows = markdown_rows(md)
    assert rows[0] == ["Group", "Model", *COLUMNS]
    assert rows[2] == ["Fully open models", "mine (A)", "44.0† / 50.0 (-6.0)", "missing / 40.0"]
    assert rows[3] == ["Open weight models", "B", "missing / 70.0", "missing / 60.0"]
    assert md.startswith("# T\n") and "† = more than 2 points from the paper" in md
    tex = latex(frame, COLUMNS, "T", 2.0)
    assert "\\begin{tabular}{llcc}" in tex and "Fully open models & mine (A) & 44.0† / 50.0 (-6.0) & missing / 40.0 \\\\" in tex
    page = html_page(frame, COLUMNS, "T", 2.0)
    assert page.startswith("<!DOCTYPE html>") and "<caption><strong>T</strong><br>Each cell: reproduced / reported (difference)." in page
    assert 'class="data row0 col0 differs" >44.0† / 50.0 (-6.0)</td>' in page and 'class="data row0 col1 missing" >missing / 40.0</td>' in page
    assert ">Fully open models</th>" in page and ">mine (A)</th>" in page


def test_text_is_escaped_for_latex_and_html(paper: Path) -> None:
    """Every LaTeX special character in a cell, a label, the title or a note is escaped (not only & % _ #)."""
    odd = "a_b & c% $x^2$ ~ {y} #"
    frame = compare("table3", [Cell("m<1>_x", "fully_open", "A", "ARC-C", None, status=f"not run: {odd}")], COLUMNS, 2.0, paper)
    tex = latex(frame, COLUMNS, f"T {odd}", 2.0, notes=[odd])
    escaped = "a\\_b \\& c\\% \\$x\\textasciicircum 2\\$ \\textasciitilde \\space \\{y\\} \\#"
    assert f"not run: {escaped} / 50.0" in tex and "m<1>\\_x (A)" in tex
    assert f"\\caption{{T {escaped}. Each cell:" in tex and tex.count(escaped) == 3
    page = html_page(frame, COLUMNS, f"T {odd} <b>", 2.0, notes=["<script>x</script>"])
    assert "m&lt;1&gt;_x (A)" in page and "<b>" not in page and "<script>x" not in page and "&lt;script&gt;x&lt;/script&gt;" in page


def test_write_all_writes_every_format_and_one_chart_per_column(paper: Path, tmp_path: Path) -> None:
    frame = compare("table3", [Cell("mine", "fully_open", "A", "ARC-C", 44.0)], COLUMNS, 2.0, paper)
    out = {k: str(tmp_path / f"t.{k}") for k in ("csv", "md", "tex", "html")}
    write_all(frame, COLUMNS, "T", 2.0, out, str(tmp_path / "plots"))
    assert pd.read_csv(out["csv"]).shape[0] == len(frame)
    assert Path(out["md"]).read_text() == markdown(frame, COLUMNS, "T", 2.0)
    assert Path(out["tex"]).read_text() == latex(frame, COLUMNS, "T", 2.0)
    assert "44.0† / 50.0 (-6.0)" in Path(out["html"]).read_text()
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
    cells = [Cell("mine", "fully_open", "A", "ARC-C", None, status=why), Cell("mine", "fully_open", "A", "MMLU", 0.456, status=why)]
    frame = compare("table3", cells, COLUMNS, 2.0, paper)
    by = {r.column: r for r in frame.itertuples() if r.model == "mine"}
    assert by["ARC-C"].status == why and pd.isna(by["ARC-C"].reproduced) and by["ARC-C"].reported == 50.0
    assert by["MMLU"].status == "differs"  # a value wins over a reason
    assert _rows(markdown(frame, COLUMNS, "T", 2.0))["mine (A)"] == ["not run: no judge configured / 50.0", "0.5† / 40.0 (-39.5)"]
    assert _rows(markdown(frame, COLUMNS, "T", 2.0, decimals=2))["mine (A)"] == ["not run: no judge configured / 50.00", "0.46† / 40.00 (-39.54)"]
    out = {k: str(tmp_path / f"t.{k}") for k in ("csv", "md", "tex", "html")}
    write_all(frame, COLUMNS, "T", 2.0, out, notes=["Note: a judge column."])
    assert pd.read_csv(out["csv"]).status.tolist()[:1] == [why]
    for kind in ("md", "tex", "html"):
        text = Path(out[kind]).read_text()
        assert "Note: a judge column." in text and "not run: no judge configured / 50.0" in text, kind

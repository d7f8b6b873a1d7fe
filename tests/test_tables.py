"""Reproduced vs reported tables: cells, flags, missing values, coverage (partial cells), the papers'
row order and emphasis, and the rendered files (Markdown, LaTeX, HTML from one wide frame)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pytest
import yaml

from amalia_wf.evaluate.models import ModelSpec
from amalia_wf.genbench import ptexams_open as pte
from amalia_wf.genbench.plan import GenbenchPlan
from amalia_wf.genbench.workflow import judge
from amalia_wf.io import write_jsonl_gz
from amalia_wf.tables import genbench, table3
from amalia_wf.tables.compare import HIGHER, LOWER, REPORTED, Cell, Coverage, better, compare, reported
from amalia_wf.tables.genbench import table2_columns
from amalia_wf.tables.registry import TABLES
from amalia_wf.tables.render import html_page, latex, markdown, table_cells, write_all
from tests.conftest import REPO, markdown_rows
from tests.judge_server import serve

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
    assert page.startswith("<!DOCTYPE html>") and "<caption><strong>T</strong><br>Each cell: reproduced / reported (difference); ±: the reproduced value" in page
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


# --------------------------------------------------------------------------- the papers' layout

# Every compared table's rows as the papers print them (AMALIA Tables 3-5; P3B3 Tables 1 and 4
# (Table 1's rows, then Gemma-4-31B's), 2 and 5), typed from the papers, not from paper_tables.csv.
AMALIA_FULLY_OPEN = ["OLMo 2-7B", "Salamandra-7B", "EuroLLM-9B", "Apertus-8B", "AMALIA-9B-SFT", "AMALIA-9B-DPO"]
P3B3_MODELS = [
    "Salamandra-7B", "OLMo-3-7B", "OLMo-3.1-32B", "EuroLLM-22B", "Apertus-8B", "Apertus-70B", "AMALIA-9B",
    "Llama-3.1-8B", "Llama-3.3-70B", "Gervásio-8B-ptpt", "Gervásio-70B-ptpt", "Ministral-3-14B", "Qwen3-8B",
    "Qwen3.5-9B", "Qwen3.5-27B", "Gemma-3-12b", "Gemma-4-E4B", "Gemma-4-31B", "Sabiá-4", "Gemini-3-Flash",
]  # fmt: skip
VARIANTS = ["EN-S-ST", "PT-S-ST", "PT-S-H", "PT-C-ST", "PT-C-D"]
PAPER_ROWS = {
    "table3": AMALIA_FULLY_OPEN + ["Llama 3.1-8B", "Gervasio-8B", "Gemma 2-9B", "Gemma 3-12B", "Qwen 2.5-7B", "Qwen 3-8B", "Mistral-7B", "Ministral-8B"],
    "table4": AMALIA_FULLY_OPEN + ["Llama 3.1-8B", "Gervasio-8B", "Qwen 2.5-7B", "Qwen 3-8B", "Gemma 2-9B", "Gemma 3-12B", "Mistral-7B", "Ministral-8B"],
    "table5": AMALIA_FULLY_OPEN + ["Llama 3.1-8B", "Gervasio-8B", "Qwen 2.5-7B", "Qwen 3-8B", "Gemma 2-9B", "Gemma 3-12B", "Mistral-7B", "Ministral-8B"],
    "p3b3_table1": ["Humans", "PeroVaz (PV)", "PtVId (VId)", *(f"{j} - {v}" for j in ("Gemini-3 Flash", "Gemma-4-31B") for v in VARIANTS)],
    "p3b3_table2": P3B3_MODELS,
    "p3b3_table5": P3B3_MODELS,
}


def _paper_cells(table: str, rows: Sequence[str] | None = None) -> tuple[list[Cell], list[str]]:
    """One model per paper row (named as the row, its value the paper's), and the table's columns."""
    paper = reported(table)
    columns = list(dict.fromkeys(paper["column"]))
    wanted = set(rows) if rows is not None else set(paper["row"])
    return [Cell(r.row, r.group, r.row, r.column, r.value) for r in paper.itertuples() if r.row in wanted], columns


def test_every_table_has_the_papers_rows_in_the_papers_order_then_its_own() -> None:
    compared = [name for name, table in TABLES.items() if "md" in table.formats and table.in_paper]
    assert sorted(compared) == sorted(PAPER_ROWS)
    for table in compared:
        paper_rows = PAPER_ROWS[table]
        # Models for every other paper row, given in reverse after one the paper does not have: the
        # layout is still the paper's, that one last in a group of its own.
        cells, columns = _paper_cells(table, paper_rows[1::2])
        extra = [Cell("ours", "fully_open", None, c, 1.0) for c in columns]
        text, _ = table_cells(compare(table, extra + cells[::-1], columns, 2.0), columns)
        expected = [f"{row} ({row})" if i % 2 else row for i, row in enumerate(paper_rows)]
        assert list(text.index.get_level_values(1)) == [*expected, "ours"], table
        assert text.index[-1] == ("Not in the paper", "ours") and "Not in the paper" not in text.index.get_level_values(0)[:-1]


def test_reported_rows_are_typed_in_in_the_papers_order() -> None:
    for table, rows in PAPER_ROWS.items():
        assert list(dict.fromkeys(reported(table)["row"])) == rows, table


def test_every_column_of_every_table_says_which_way_is_better() -> None:
    paper = pd.read_csv(REPORTED)
    for table, column in paper[["table", "column"]].drop_duplicates().itertuples(index=False):
        assert better(table, column) in (HIGHER, LOWER, None)
    assert [better("p3b3_table2", c) for c in table2_columns(["none", "pt-BR", "pt-PT"]) if c.endswith("offline")] == [None, LOWER, HIGHER]
    assert (better("table5", "SST"), better("p3b3_table1", "MAE"), better("table3", "BBH")) == (LOWER, LOWER, HIGHER)
    with pytest.raises(ValueError, match="table 'p3b3_table1': column 'Spearman' has no direction"):
        better("p3b3_table1", "Spearman")


# The paper's underlines (best fully open model where it is not the best overall), AMALIA Tables 3-5.
UNDERLINED = {
    "table3": {"ARC-C": "AMALIA-9B-DPO", "MMLU": "AMALIA-9B-DPO", "GSM8K": "AMALIA-9B-SFT", "IFEval": "AMALIA-9B-DPO", "PT-E (CoT)": "AMALIA-9B-DPO", "BBH": "AMALIA-9B-SFT"},
    "table4": {"PT-Exams Open Questions": "AMALIA-9B-DPO", "ALBA": "AMALIA-9B-DPO"},
    "table5": {"SST": "AMALIA-9B-DPO"},
}


def _marked(css: pd.DataFrame, style: str) -> dict[str, list[str]]:
    return {c: [label for (_, label), classes in css[c].items() if style in classes.split()] for c in css.columns}


def test_the_annotators_are_the_yardstick_not_a_contestant() -> None:
    cells, columns = _paper_cells("p3b3_table1", ["Humans", "PtVId (VId)", "Gemini-3 Flash - PT-C-ST"])
    cells = [Cell(c.model, c.group, c.paper_row, c.column, 0.99 if c.group == "humans" else c.value) for c in cells]
    _, css = table_cells(compare("p3b3_table1", cells, columns, 0.1), columns, decimals=2)
    assert _marked(css, "best") == dict.fromkeys(columns, ["Gemini-3 Flash - PT-C-ST (Gemini-3 Flash - PT-C-ST)"])


@pytest.mark.parametrize("table", sorted(UNDERLINED))
def test_the_papers_values_are_emphasised_as_in_the_paper(table: str) -> None:
    cells, columns = _paper_cells(table)
    frame = compare(table, cells, columns, 2.0)
    _, css = table_cells(frame, columns)
    underlined = _marked(css, "best_open")
    assert {c: rows for c, rows in underlined.items() if rows} == {c: [f"{m} ({m})"] for c, m in UNDERLINED[table].items()}
    bold = _marked(css, "best")
    assert all(len(rows) == 1 for rows in bold.values())
    if table == "table5":  # lower is better: "AMALIA-DPO achieves the lowest ASR among all models on two datasets"
        assert bold == {"ADV-Bench": ["AMALIA-9B-DPO (AMALIA-9B-DPO)"], "SST": ["Gemma 2-9B (Gemma 2-9B)"], "XSTest": ["AMALIA-9B-DPO (AMALIA-9B-DPO)"]}
    if table == "table3":
        assert bold["TQA"] == ["AMALIA-9B-DPO (AMALIA-9B-DPO)"] and bold["ARC-C"] == ["Qwen 3-8B (Qwen 3-8B)"]
    # The same cells in every format.
    column, model = next(iter(UNDERLINED[table].items()))
    value = reported(table).query("row == @model and column == @column").value.item()
    cell = f"{value:.1f} / {value:.1f} (+0.0)"
    assert f"<ins>{cell}</ins>" in markdown(frame, columns, "T", 2.0)
    assert f"\\underline{{{cell}}}" in latex(frame, columns, "T", 2.0)
    assert f'best_open" >{cell}</td>' in html_page(frame, columns, "T", 2.0)
    best = reported(table).query("column == @column").value
    top = (best.min() if better(table, column) == LOWER else best.max())
    assert f"**{top:.1f} / {top:.1f} (+0.0)**" in markdown(frame, columns, "T", 2.0)
    assert f"\\textbf{{{top:.1f} / {top:.1f} (+0.0)}}" in latex(frame, columns, "T", 2.0)
    assert f'best" >{top:.1f} / {top:.1f} (+0.0)</td>' in html_page(frame, columns, "T", 2.0)


def test_ties_share_the_emphasis_and_partial_or_missing_cells_do_not_compete(paper: Path) -> None:
    cells = [
        Cell("a", "fully_open", "A", "ARC-C", 60.04),
        Cell("b", "open_weight", "B", "ARC-C", 59.96),  # prints as 60.0 too: tied
        Cell("c", "fully_open", None, "ARC-C", 99.0, coverage=Coverage(41, 800, 0.95)),  # highest, but partial
        Cell("a", "fully_open", "A", "MMLU", 10.0),
        Cell("b", "open_weight", "B", "MMLU", 30.0),
        Cell("c", "fully_open", None, "MMLU", None),
    ]
    _, css = table_cells(compare("table3", cells, COLUMNS, 2.0, paper), COLUMNS)
    assert css.loc[:, "ARC-C"].tolist() == ["differs best", "differs best", "partial"]
    assert css.loc[:, "MMLU"].tolist() == ["differs best_open", "differs best", "missing"]


# --------------------------------------------------------------------------- coverage


def test_a_cell_measured_on_too_few_items_is_partial_and_not_compared(paper: Path, tmp_path: Path) -> None:
    cells = [
        Cell("mine", "fully_open", "A", "ARC-C", 61.0, coverage=Coverage(41, 800, 0.95)),
        Cell("mine", "fully_open", "A", "MMLU", 40.0, coverage=Coverage(760, 800, 0.95)),  # exactly the threshold: stands
    ]
    frame = compare("table3", cells, COLUMNS, 2.0, paper)
    by = {r.column: r for r in frame.itertuples() if r.model == "mine"}
    assert (by["ARC-C"].status, by["ARC-C"].reproduced, by["ARC-C"].scored, by["ARC-C"].expected, by["ARC-C"].coverage) == ("partial", 61.0, 41, 800, 0.0512)
    assert pd.isna(by["ARC-C"].difference)  # far from the paper's 50.0, yet not flagged: not compared
    assert (by["MMLU"].status, by["MMLU"].coverage, by["MMLU"].difference) == ("ok", 0.95, 0.0)
    assert _rows(markdown(frame, COLUMNS, "T", 2.0))["mine (A)"] == ["61.0 (partial: 41/800 scored) / 50.0", "40.0 / 40.0 (+0.0)"]
    assert 'partial" >61.0 (partial: 41/800 scored) / 50.0</td>' in html_page(frame, COLUMNS, "T", 2.0)
    out = {k: str(tmp_path / f"t.{k}") for k in ("csv", "md", "tex", "html")}
    write_all(frame, COLUMNS, "T", 2.0, out)
    csv = pd.read_csv(out["csv"])
    assert csv.loc[csv.model == "mine", ["scored", "expected", "coverage"]].values.tolist() == [[41, 800, 0.0512], [760, 800, 0.95]]
    assert csv.loc[csv.model != "mine", "coverage"].isna().all()  # the paper's rows without a model were not measured


def test_a_reported_value_missing_from_the_paper_data_is_an_error(paper: Path) -> None:
    paper.write_text(paper.read_text().replace("table3,open_weight,B,MMLU,60.0,", "table3,open_weight,B,MMLU,,"))
    with pytest.raises(ValueError, match=r"table 'table3' has no reported value at row 'B', column 'MMLU'"):
        compare("table3", [Cell("mine", "fully_open", "A", "ARC-C", 51.0)], COLUMNS, 2.0, paper)
    paper.write_text(paper.read_text().replace("table3,open_weight,B,MMLU,,", "table3,open_weight,B,MMLU,nan,"))
    with pytest.raises(ValueError, match=r"row 'B', column 'MMLU'"):
        compare("table3", [], COLUMNS, 2.0, paper)


def test_an_lm_eval_run_under_limit_is_partial(tmp_path: Path) -> None:
    """lm-eval's n-samples (original, effective) give a Table 3 cell its coverage."""
    record = {"value": 0.5, "lm_eval_task": "amalia_arc_c", "metric": "acc,none", "stderr": {"amalia_arc_c": {"acc,none": 0.05}},
              "n_samples": {"amalia_arc_c": {"original": 1172, "effective": 100}}}
    path = tmp_path / "arc_c.json"
    path.write_text(json.dumps(record))
    spec = ModelSpec("m", "fully_open", True, "AMALIA-9B-DPO", path="x")
    [cell] = table3.cells([spec], {"m": {"arc_c": str(path)}}, {"m": "x"}, 0.95)
    assert (cell.value, cell.coverage, cell.stderr) == (50.0, Coverage(100, 1172, 0.95), 5.0)
    row = compare("table3", [cell], ["ARC-C"], 2.0).query("model == 'm'").iloc[0]
    assert (row.status, row.scored, row.expected) == ("partial", 100, 1172)
    full = {**record, "n_samples": {"amalia_arc_c": {"original": 1172, "effective": 1172}}}
    path.write_text(json.dumps(full))
    assert compare("table3", table3.cells([spec], {"m": {"arc_c": str(path)}}, {"m": "x"}, 0.95), ["ARC-C"], 2.0).query("model == 'm'").status.item() == "differs"


def test_a_judge_run_with_most_calls_failed_gives_partial_cells(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three of the four PT-E open answers' judge calls fail for good (a real HTTP judge, tests/judge_server.py):
    Table 4's cell reads "partial: 1/4 scored", is not compared with the paper and is in no emphasis."""
    monkeypatch.chdir(tmp_path)
    questions = pte.load_questions(REPO / "data/eval_fixtures/pt_e_open")
    responses = tmp_path / "results/genbench/m/pt_e_open/responses.jsonl.gz"
    write_jsonl_gz(responses, [{**q, "response": f"RESPOSTA-{i}"} for i, q in enumerate(questions)])
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    server = serve()
    try:
        server.default = "500"
        server.queue("RESPOSTA-0", [f'content:{{"justificacao": "Completa.", "pontuacao": {questions[0]["max_points"]}}}'])
        config["judges"] = [{"name": "juiz", "roles": ["table4"], "base_url": server.base_url, "model": "juiz", "max_retries": 0}]
        config["genbench"]["tasks"] = ["pt_e_open"]
        plan = GenbenchPlan(config, {"m": ModelSpec("m", "fully_open", True, "AMALIA-9B-DPO", path="x")})
        judge("pt_e_open", str(responses), str(responses.with_name("judged.jsonl.gz")), plan.table4()["m"]["PT-Exams Open Questions"]["path"],
              config["judges"][0], str(tmp_path / "cache"))
    finally:
        server.stop()
    out = {k: str(tmp_path / f"table4.{k}") for k in ("csv", "md", "tex", "html")}
    genbench.build("table4", genbench.TABLE4_COLUMNS, genbench.TABLE4_TITLE, list(plan.models.values()), plan.table4(), 2.0, out)
    row = pd.read_csv(out["csv"]).query("model == 'm' and column == 'PT-Exams Open Questions'").iloc[0]
    assert (row.status, row.reproduced, row.scored, row.expected, row.coverage) == ("partial", 100.0, 1, 4, 0.25)
    assert pd.isna(row.difference) and row.reported == 66.0
    assert "100.0 (partial: 1/4 scored) / 66.0" in _rows(Path(out["md"]).read_text())["m (AMALIA-9B-DPO)"]
    for kind in ("tex", "html"):
        assert "100.0 (partial: 1/4 scored) / 66.0" in Path(out[kind]).read_text(), kind
    assert "1/4 scored) / 66.0</td>" in Path(out["html"]).read_text() and 'partial" >100.0 (partial' in Path(out["html"]).read_text()

"""AMALIA Tables 4 and 5 and P3B3 Tables 1 and 2, reproduced beside the papers' values.

The rules (rules/genbench.smk) hand each builder a *plan*: per model, per column, either the file
a value is read from (and how), or why the cell has no value ("not run: no judge configured").
The plan is made where the configuration is known; the builders only read and compare.

Cell specs (dicts); "rule" is the rule writing P, "detail" what else made the value (judge, scorer),
"min_coverage" the fraction of the items that must be scored for the value to stand (else partial):
    {"kind": "summary", "path": P, "rule": R, "detail": D, "min_coverage": C}
                                                              value = P's overall mean (judged/guarded
                                                              summary JSON), scored = its n of n_total
    {"kind": "p3b3", "path": P, "setting": X, "scorer": N, "rule": R, "detail": D, "min_coverage": C}
                                                              value = the headline mean of scorer N's
                                                              rows in P for setting X (p3b3_aggregate.summary),
                                                              scored = rows neither failed nor abstained
    {"status": "not run: ..."}                                no value, and why
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import pandas as pd

from amalia_wf.evaluate.models import ModelSpec
from amalia_wf.genbench.plan import NO_CLASSIFIER, NO_JUDGE, SETTING_LABELS
from amalia_wf.genbench.validation import PAPER_JUDGES
from amalia_wf.io import read_json, read_jsonl_gz
from amalia_wf.tables.compare import Cell, Coverage, compare
from amalia_wf.tables.render import write_all

TABLE4_COLUMNS = ["PT-Exams Open Questions", "ALBA", "P3B3"]
TABLE4_TITLE = "Table 4: language generation on the pt-PT benchmarks (PT-Exams open questions, ALBA, P3B3 pt-PT setting)"
TABLE5_COLUMNS = ["ADV-Bench", "SST", "XSTest"]
TABLE5_TITLE = "Table 5: attack success rate (%, lower is better) on the safety benchmarks, judged by Qwen3Guard"
P3B3_SCORERS = ["PV", "VId", "LLM", "offline"]  # the paper's three, then the offline marker scorer (ours)
TABLE2_TITLE = "P3B3 Table 2: variety alignment per setting, 0 (pt-BR) to 100 (pt-PT)"
P3B3_TABLE5_COLUMNS = [f"{label} {column}" for label in SETTING_LABELS.values() for _, column in PAPER_JUDGES.values()]
P3B3_TABLE5_TITLE = "P3B3 Table 5: the LLM judges Gemma-4-31B and Gemini-3 Flash per setting, 0 (pt-BR) to 100 (pt-PT)"
# The tables that are their plan and nothing more (scripts/genbench_table.py builds each): rule -> (columns, title).
PLAN_TABLES = {
    "table4": (TABLE4_COLUMNS, TABLE4_TITLE),
    "table5": (TABLE5_COLUMNS, TABLE5_TITLE),
    "p3b3_table5": (P3B3_TABLE5_COLUMNS, P3B3_TABLE5_TITLE),
}
TABLE1_COLUMNS = ["Kappa (quadratic)", "Pearson", "MAE"]
TABLE1_TITLE = "P3B3 Table 1: agreement between human ratings and automatic scorers"


def table2_columns(settings: Sequence[str]) -> list[str]:
    order = [s for s in SETTING_LABELS if s in settings]
    return [f"{SETTING_LABELS[s]} {scorer}" for s in order for scorer in P3B3_SCORERS]


@cache
def _p3b3_summary(path: str) -> pd.DataFrame:
    from amalia_wf.genbench.p3b3_aggregate import summary

    rows = list(read_jsonl_gz(path))
    return summary(rows) if rows else pd.DataFrame(columns=["setting", "scorer", "score"])


def cell_value(spec: Mapping[str, Any]) -> tuple[float | None, str | None, Coverage | None, float | None]:
    """(value, status when there is none, how many items it was measured on, its standard error) of one cell spec."""
    if "status" in spec:
        return None, spec["status"], None, None
    if spec["kind"] == "summary":
        overall = read_json(spec["path"])["overall"]
        coverage = Coverage(int(overall["n"]), int(overall["n_total"]), spec["min_coverage"])
        if overall["mean"] is None:
            return None, f"missing: nothing scored ({overall['n_missing']} of {overall['n_total']} failed)", coverage, None
        return overall["mean"], None, coverage, overall.get("stderr")
    if spec["kind"] == "p3b3":
        frame = _p3b3_summary(spec["path"])
        hit = frame[(frame["setting"].astype(str) == spec["setting"]) & (frame["scorer"] == spec["scorer"])]
        if hit.empty:
            return None, f"missing: no {spec['setting']} rows", None, None
        row = hit.iloc[0]
        total = int(row["n_total"])
        coverage = Coverage(total - int(row["n_missing"]) - int(row["n_abstain"]), total, spec["min_coverage"])
        if row["score"] is None or math.isnan(row["score"]):
            return None, f"missing: nothing scored ({int(row['n_abstain'])} abstained, {int(row['n_missing'])} failed of {total})", coverage, None
        return float(row["score"]), None, coverage, None if math.isnan(row["stderr"]) else float(row["stderr"])
    raise ValueError(f"unknown cell kind {spec['kind']!r}")


def cells_from_plan(models: Sequence[ModelSpec], plan: Mapping[str, Mapping[str, Mapping[str, Any]]], paper_rows: Mapping[str, str | None] | None = None) -> list[Cell]:
    out = []
    for spec in models:
        for column, cell in plan[spec.name].items():
            value, status, coverage, stderr = cell_value(cell)
            row = (paper_rows or {}).get(spec.name, spec.paper_row)
            paths = (cell["path"],) if "path" in cell else ()
            out.append(Cell(spec.name, spec.group, row, column, value, cell.get("rule", ""), paths, cell.get("detail", ""), status, coverage, stderr))
    return out


def build(
    table: str,
    columns: Sequence[str],
    title: str,
    models: Sequence[ModelSpec],
    plan: Mapping[str, Mapping[str, Mapping[str, Any]]],
    tolerance: float,
    out: Mapping[str, str],
    notes: Sequence[str] = (),
    paper_rows: Mapping[str, str | None] | None = None,
) -> pd.DataFrame:
    """Table 4, Table 5, P3B3 Table 2 or 5 from its plan: CSV, Markdown, LaTeX and HTML (paper values beside)."""
    frame = compare(table, cells_from_plan(models, plan, paper_rows), columns, tolerance)
    write_all(frame, columns, title, tolerance, out, notes=notes)
    return frame


# --------------------------------------------------------------------------- P3B3 extras


def p3b3_rows(paths: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame([r for p in paths for r in read_jsonl_gz(p)])


def p3b3_summary_and_turns(score_files: Sequence[str], summary_csv: str, turns_csv: str, turns_png: str, plot_scorer: str, max_turn: int) -> None:
    """Every model x setting x scorer with coverage, missing and not-Portuguese counts; the turn-level
    means and their plot (one panel per setting, turns 1..max_turn, the scorer `plot_scorer`)."""
    from amalia_wf.figures import write_csv
    from amalia_wf.genbench.p3b3_aggregate import plot_turns, summary, turns

    rows = p3b3_rows(score_files)
    write_csv(summary(rows), summary_csv)
    turn_frame = turns(rows, max_turn)
    write_csv(turn_frame, turns_csv)
    plot_turns(turn_frame, turns_png, plot_scorer, max_turn)


# --------------------------------------------------------------------------- P3B3 Table 1


def table1(
    ratings_path: str,
    classifiers: Mapping[str, Any],
    judges: Mapping[str, tuple[Any, str]],
    variants: Sequence[str],
    tolerance: float,
    out: Mapping[str, str],
    min_coverage: float,
    min_variety_coverage: float,
    fixture: bool = False,
) -> pd.DataFrame:
    """Agreement of every available scorer with the human ratings (agreement.table1), beside the paper.

    `classifiers`: name -> loaded VarietyClassifier; `judges`: judge name -> (JudgeClient, served model),
    one row per judge and prompt variant. A scorer that is not configured is a row whose cells say so.
    A scorer's coverage is the answers it scored of those with a valid human rating; below
    `min_coverage` (`min_variety_coverage` for the offline scorer, which abstains by design) its cells
    are partial. `fixture`: the ratings are the project's fixture, not the authors' (every cell and a
    note say so).
    """
    from amalia_wf.genbench import validation
    from amalia_wf.genbench.agreement import human_reference
    from amalia_wf.genbench.agreement import table1 as agreement_table

    items = validation.load_human_ratings(ratings_path)
    scorers: dict[str, list[float | None]] = {"variety (offline)": validation.variety_scores(items)}
    scales = {"variety (offline)": 1.0}
    for name, classifier in classifiers.items():
        scorers[name] = validation.classifier_scores(items, classifier)
        scales[name] = 1.0
    judged = {}
    for judge, (client, model) in judges.items():
        for variant in variants:
            key = f"judge {judge} {variant}"
            judged[key] = (judge, model, variant)
            scorers[key] = validation.judge_scores(items, client, variant)
    frame = agreement_table(validation.human_ratings(items), scorers, scales)
    valid = sum(r is not None for r in human_reference(list(validation.human_ratings(items).values())))
    rated = f"{len(items)} {'FIXTURE ' if fixture else ''}rated answers"
    paper_classifier = {"perovaz": "PeroVaz (PV)", "ptvid": "PtVId (VId)"}
    cells: list[Cell] = []

    def add(
        model: str, group: str, row: str | None, result: Mapping[str, Any] | None, scorer: str = "", status: str | None = None, minimum: float | None = None
    ) -> None:
        """`minimum`: the scorer's coverage threshold; None for the annotators (no scorer)."""
        detail = ", ".join(filter(None, [rated, scorer, f"n={int(result['n']) if result is not None else 0}"]))
        coverage = Coverage(int(result["n"]), valid, minimum) if result is not None and minimum is not None else None
        for column, key in zip(TABLE1_COLUMNS, ("kappa", "pearson", "mae"), strict=True):
            value = None if result is None else float(result[key])
            cells.append(Cell(model, group, row, column, value, "p3b3_table1", (ratings_path,), detail, status, coverage))

    by_method = {r["method"]: r for r in frame.to_dict("records")}
    add("annotators", "humans", "Humans", by_method["Humans"])
    add("variety (offline)", "offline", None, by_method["variety (offline)"], "scorer amalia_wf.variety", minimum=min_variety_coverage)
    for name, row in paper_classifier.items():
        if name in classifiers:
            add(name, "classifiers", row, by_method[name], f"classifier {name}", minimum=min_coverage)
        else:
            add(name, "classifiers", row, None, status=NO_CLASSIFIER)
    if not judges:
        add("judge", "judges", None, None, status=NO_JUDGE)
    for key, (judge, model, variant) in judged.items():
        add(f"{judge} {variant}", "judges", validation.paper_judge_row(model, variant), by_method[key], f"judge {judge} ({model}) prompt {variant}", minimum=min_coverage)
    table = compare("p3b3_table1", cells, TABLE1_COLUMNS, tolerance)
    source = f"{ratings_path} ({len(items)} answers, {valid} valid)"
    if fixture:
        source = f"FIXTURE, not the authors' ratings: {source}, written for the project's tests (set genbench.p3b3.human_ratings to the authors' file)"
    notes = [f"Ratings: {source}; the paper's are 200 answers rated by two linguists (88.5% valid)."]
    write_all(table, TABLE1_COLUMNS, TABLE1_TITLE, tolerance, out, decimals=2, notes=notes)
    return table

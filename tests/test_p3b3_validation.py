"""P3B3 judge validation input (amalia_wf.genbench.validation) and the generation-benchmark plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from amalia_wf.evaluate.models import ModelSpec
from amalia_wf.genbench import validation
from amalia_wf.genbench.agreement import table1
from amalia_wf.genbench.plan import NO_GUARD, NO_JUDGE, GenbenchPlan
from tests.conftest import REPO

RATINGS = REPO / "data" / "eval_fixtures" / "p3b3_ratings" / "ratings.jsonl"


def test_fixture_ratings_load_and_the_offline_scorer_agrees_with_them():
    items = validation.load_ratings(RATINGS)
    human = validation.human_ratings(items)
    assert set(human) == {"A", "B"} and len(human["A"]) == len(items) == 16
    scores = validation.variety_scores(items)
    frame = table1(human, {"variety": scores}, {"variety": 1.0}).set_index("method")
    assert frame.loc["variety", "n"] < len(items)  # abstentions and the invalid answer are left out
    assert frame.loc["variety", "pearson"] > 0.5 and frame.loc["Humans", "kappa"] > 0.5


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"id": "x", "user": "u", "response": "r", "ratings": {"A": 11}}, "must be 0..10, -1"),
        ({"id": "x", "user": "u", "response": "r", "ratings": {"B": 3}}, "annotators ['B'], expected ['A']"),
        ({"id": "x", "user": "u", "ratings": {"A": 3}}, "missing ['response']"),
    ],
)
def test_bad_ratings_name_the_line(tmp_path: Path, line: dict, message: str):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"id": "a", "user": "u", "response": "r", "ratings": {"A": 1}}) + "\n" + json.dumps(line) + "\n")
    with pytest.raises(ValueError, match=rf"r\.jsonl:2: .*{message.replace('[', '.').replace(']', '.')}"):
        validation.load_ratings(path)


def test_judge_rows_of_the_paper():
    assert validation.paper_judge_row("gemini-3-flash-preview", "PT-C-ST") == "Gemini-3 Flash - PT-C-ST"
    assert validation.paper_judge_row("google/gemma-4-31B-it", "PT-S-D") == "Gemma-4-31B - PT-S-H"
    assert validation.paper_judge_row("gemma-4-31b", "PT-C-H") == "Gemma-4-31B - PT-C-D"
    assert validation.paper_judge_row("gemini-2.5-pro", "PT-C-ST") is None


def judge(name: str, model: str, *roles: str) -> dict:
    return {"name": name, "roles": list(roles), "base_url": "http://localhost:1/v1", "model": model}


def test_plan_of_the_default_and_with_a_judge():
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    models = {"m": ModelSpec("m", "fully_open", True, "AMALIA-9B-DPO", path="x")}
    plan = GenbenchPlan(config, models)
    t4 = plan.table4()["m"]
    assert t4["ALBA"] == {"status": NO_JUDGE} and t4["P3B3"]["scorer"] == "variety" and "offline" in t4["P3B3"]["detail"] and t4["P3B3"]["rule"] == "p3b3_variety"
    assert all(cell == {"status": NO_GUARD} for cell in plan.table5()["m"].values())
    assert plan.jobs("bench") == [{"model": "m", "bench": t} for t in config["genbench"]["tasks"]]
    assert plan.jobs("judge") == plan.jobs("safety_bench") == plan.jobs("classifier") == []
    config["judges"] = [judge("j", "jm", "table4")]
    config["genbench"]["tasks"] = ["alba", "advbench"]
    plan = GenbenchPlan(config, models)
    assert plan.table4()["m"]["ALBA"]["path"] == "results/genbench/m/alba/judged/j.summary.json"
    assert plan.table4()["m"]["ALBA"]["detail"] == "judge j (jm)"
    assert plan.table4()["m"]["P3B3"] == {"status": "not run: benchmark not in genbench.tasks"}
    assert plan.jobs("judge") == [{"model": "m", "judged_bench": "alba", "judge": "j"}] and plan.jobs("classifier") == []
    assert plan.outputs("m") == [
        "results/genbench/m/alba/responses.jsonl.gz", "results/genbench/m/advbench/responses.jsonl.gz", "results/genbench/m/alba/judged/j.summary.json"]


def test_plan_with_a_p3b3_list_and_several_judges():
    """The P3B3 list answers P3B3 only and is the P3B3 tables' rows (with the evaluated models paper_rows
    names); each judge judges what its roles ask for; an API model gets no cluster generation job."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["genbench"]["tasks"] = ["p3b3", "alba"]
    config["genbench"]["p3b3"]["paper_rows"] = {"ours": "AMALIA-9B"}
    config["judges"] = [judge("pro", "gemini-2.5-pro", "table4"), judge("flash", "gemini-3-flash-preview", "p3b3_table2", "p3b3_table5", "p3b3_table1"),
                        judge("gemma", "google/gemma-4-31B-it", "p3b3_table5", "p3b3_table1")]
    evaluated = {n: ModelSpec(n, "fully_open", True, None, path="x") for n in ("ours", "other")}
    listed = {"hubm": ModelSpec("hubm", "open_weight", True, "Qwen3-8B", hub="Qwen/Qwen3-8B", revision="main"),
              "apim": ModelSpec("apim", "closed_source", True, "Sabiá-4", api={"base_url": "http://x/v1", "model": "sabia-4"})}
    plan = GenbenchPlan(config, evaluated, listed)
    assert list(plan.p3b3_models) == ["hubm", "apim", "ours"] and plan.api_models() == ["apim"]
    assert plan.jobs("bench") == [{"model": m, "bench": b} for m in ("ours", "other") for b in ("p3b3", "alba")] + [{"model": "hubm", "bench": "p3b3"}]
    jobs = {(j["model"], j["judged_bench"], j["judge"]) for j in plan.jobs("judge")}
    assert jobs == {(m, b, "pro") for m in ("ours", "other") for b in ("p3b3", "alba")} | {(m, "p3b3", j) for m in ("hubm", "apim", "ours") for j in ("flash", "gemma")}
    assert set(plan.table2()) == set(plan.p3b3_table5()) == {"hubm", "apim", "ours"}
    t2 = plan.table2()["apim"]["pt-PT LLM"]
    assert (t2["path"], t2["scorer"], t2["rule"]) == ("results/genbench/apim/p3b3/judged/flash.jsonl.gz", "judge:flash:PT-C-ST", "genbench_judge")
    assert "flash (gemini-3-flash-preview)" in t2["detail"]
    t5 = plan.p3b3_table5()["hubm"]
    assert t5["pt-BR Gemma-4"]["path"].endswith("judged/gemma.jsonl.gz") and t5["pt-BR Gemini-3"]["path"].endswith("judged/flash.jsonl.gz")
    assert plan.table4()["ours"]["P3B3"]["path"] == "results/genbench/ours/p3b3/judged/pro.jsonl.gz"
    assert set(plan.table4()) == {"ours", "other"} and list(plan.table1_judges()) == ["flash", "gemma"]
    assert plan.table2_notes() == [plan.table2_notes()[0]]  # the LLM columns are the paper's judge's


@pytest.mark.parametrize(
    ("model", "filled", "other"),
    [
        ("gemini-3-flash-preview", "Gemini-3", "not run: no judge with role p3b3_table5 is Gemma-4-31B"),
        ("google/gemma-4-31B-it", "Gemma-4", "not run: no judge with role p3b3_table5 is Gemini-3 Flash"),
        (None, None, NO_JUDGE),
    ],
)
def test_p3b3_table5_plan_fills_the_columns_of_the_configured_judge(model, filled, other):
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["judges"] = [judge("j", model, "p3b3_table5", "p3b3_table2")] if model else []
    plan = GenbenchPlan(config, {"m": ModelSpec("m", "fully_open", True, "AMALIA-9B", path="x")})
    cells = plan.p3b3_table5()["m"]
    assert sorted(cells) == sorted(f"{s} {j}" for s in ("No-Prompt", "pt-BR", "pt-PT") for j in ("Gemma-4", "Gemini-3"))
    for column, cell in cells.items():
        if filled and column.endswith(filled):
            assert cell["path"] == "results/genbench/m/p3b3/judged/j.jsonl.gz" and cell["scorer"] == "judge:j:PT-C-ST"
            assert cell["setting"] == {"No-Prompt": "none"}.get(column.split()[0], column.split()[0])
        else:
            assert cell["status"].startswith(other), (column, cell)
    notes = plan.table2_notes()
    assert any("Gemini-3 Flash" in n and "judged by" in n for n in notes) == (model is not None and filled != "Gemini-3")


SHEET_HEADER = "conversation_id;model_name;prompt_type;turn_nr;user;assistant;rating;comment\n"


def test_the_authors_annotation_sheets_load(tmp_path: Path):
    """Their format (one ';'-separated CSV per annotator); rows matched on conversation, model and turn."""
    sheets = tmp_path / "annotations"
    sheets.mkdir()
    rows = [
        ("12", "carminho-AMALIA-9B-50-1225-DPO", "pt-pt", 2, "E depois?", "Apanhas o comboio.", "9", ""),
        ("12", "carminho-AMALIA-9B-50-1225-DPO", "pt-pt", 1, "Como vou?", "Podes ir de autocarro; é fácil.", "10", "bom"),
        ("7", "Qwen-Qwen3-8B", "normal", 1, "Olá", "Você pode pegar o ônibus.", "", ""),
    ]
    lines = lambda ratings: SHEET_HEADER + "".join(f'{c};{m};{p};{t};{u};"{a}";{r};{x}\n' for (c, m, p, t, u, a, _, x), r in zip(rows, ratings, strict=True))  # noqa: E731
    (sheets / "ana.csv").write_text(lines(["9", "10", ""]), encoding="utf-8")
    (sheets / "rui.csv").write_text(lines(["8", "-1", "1"]), encoding="utf-8")
    items = validation.load_human_ratings(sheets)
    assert [(i["dialogue_id"], i["turn"], i["setting"]) for i in items] == [("12", 2, "pt-PT"), ("12", 1, "pt-PT"), ("7", 1, "none")]
    assert items[0]["history"] == [("Como vou?", "Podes ir de autocarro; é fácil.")] and items[1]["history"] == []
    assert items[0]["response"] == "Apanhas o comboio." and validation.human_ratings(items) == {"ana": [9.0, 10.0, None], "rui": [8.0, -1.0, 1.0]}
    (sheets / "rui.csv").write_text(lines(["8", "11", "1"]), encoding="utf-8")
    with pytest.raises(ValueError, match=r"rui\.csv:3: rating of rui must be 0\.\.10, -1 \(invalid\) or empty, got 11.0"):
        validation.load_human_ratings(sheets)
    (sheets / "rui.csv").write_text("conversation_id;rating\n1;2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"rui\.csv: missing column\(s\) \['model_name', 'turn_nr', 'user', 'assistant'\]"):
        validation.load_human_ratings(sheets)

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


def test_plan_of_the_default_and_with_a_judge():
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    models = {"m": ModelSpec("m", "fully_open", True, "AMALIA-9B-DPO", path="x")}
    plan = GenbenchPlan(config, models)
    t4 = plan.table4()["m"]
    assert t4["ALBA"] == {"status": NO_JUDGE} and t4["P3B3"]["scorer"] == "variety" and "offline" in t4["P3B3"]["detail"] and t4["P3B3"]["rule"] == "p3b3_variety"
    assert all(cell == {"status": NO_GUARD} for cell in plan.table5()["m"].values())
    assert plan.wildcards == {"bench": config["genbench"]["tasks"], "judged_bench": [], "safety_bench": [], "classifier": []}
    config["judge"] = {"base_url": "http://localhost:1/v1", "model": "j"}
    config["genbench"]["tasks"] = ["alba", "advbench"]
    plan = GenbenchPlan(config, models)
    assert plan.table4()["m"]["ALBA"]["path"] == "results/genbench/m/alba/judged.summary.json"
    assert plan.table4()["m"]["P3B3"] == {"status": "not run: benchmark not in genbench.tasks"}
    assert plan.jobs("judged_bench") == [{"model": "m", "judged_bench": "alba"}] and plan.jobs("classifier") == []
    assert plan.wildcards["judged_bench"] == ["alba"] and plan.outputs("m") == [
        "results/genbench/m/alba/responses.jsonl.gz", "results/genbench/m/advbench/responses.jsonl.gz", "results/genbench/m/alba/judged.summary.json"]


@pytest.mark.parametrize(
    ("judge", "filled", "other"),
    [
        ("gemini-3-flash-preview", "Gemini-3", "not run: judge.model is gemini-3-flash-preview, not Gemma-4-31B"),
        ("google/gemma-4-31B-it", "Gemma-4", "not run: judge.model is google/gemma-4-31B-it, not Gemini-3 Flash"),
        ("gemini-2.5-pro", None, "not run: judge.model is gemini-2.5-pro, not "),
        (None, None, NO_JUDGE),
    ],
)
def test_p3b3_table5_plan_fills_the_columns_of_the_configured_judge(judge, filled, other):
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["judge"] = judge and {"base_url": "http://localhost:1/v1", "model": judge}
    plan = GenbenchPlan(config, {"m": ModelSpec("m", "fully_open", True, "AMALIA-9B", path="x")})
    cells = plan.p3b3_table5()["m"]
    assert sorted(cells) == sorted(f"{s} {j}" for s in ("No-Prompt", "pt-BR", "pt-PT") for j in ("Gemma-4", "Gemini-3"))
    for column, cell in cells.items():
        if filled and column.endswith(filled):
            assert cell["path"] == "results/genbench/m/p3b3/judged.jsonl.gz" and cell["scorer"] == "judge:PT-C-ST"
            assert cell["setting"] == {"No-Prompt": "none"}.get(column.split()[0], column.split()[0])
        else:
            assert cell["status"].startswith(other), (column, cell)
    notes = plan.table2_notes()
    assert any("Gemini-3 Flash" in n and "judged by" in n for n in notes) == (judge is not None and filled != "Gemini-3")

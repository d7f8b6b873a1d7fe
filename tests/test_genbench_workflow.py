"""End to end: the generation benchmarks of the embedded default (offline), and the LLM judge
against a local OpenAI-compatible server (tests/judge_server.py), through Snakemake."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from amalia_wf.genbench.p3b3 import variety_rows
from amalia_wf.genbench.p3b3_aggregate import summary
from amalia_wf.io import read_jsonl_gz, write_jsonl_gz
from tests.conftest import copy_run, markdown_rows, run_snakemake
from tests.judge_server import serve

pytestmark = pytest.mark.slow

MODELS = ("amalia-tiny-sft", "amalia-tiny-dpo")
TASKS = ("p3b3", "alba", "pt_e_open", "advbench", "sst", "xstest")
NO_JUDGE = "not run: no judge configured"
P3B3_TURNS = 11  # data/eval_fixtures/p3b3: 4 dialogues, 11 user turns
# One judge answer every parser reads: ALBA's rubric line (4 of 5), PT-E's points (5), P3B3's verdict (8 of 10).
FAILING = "O que significa a palavra «saudade»"  # one ALBA prompt (the word alone is also in a PT-E rubric)
ANSWER = '{"score": 8, "pontuacao": 5, "not_pt": false, "invalid": false, "reasoning": "ok"}\nPontuação global: 4'


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(open(path, encoding="utf-8")))


def cell(table: list[dict[str, str]], model: str, column: str) -> dict[str, str]:
    return next(r for r in table if r["model"] == model and r["column"] == column)


def test_every_model_answers_every_benchmark_and_p3b3_records_carry_the_setting(default_run):
    for model in MODELS:
        for task in TASKS:
            info = json.loads((default_run / f"results/genbench/{model}/{task}/generation.json").read_text())
            records = list(read_jsonl_gz(default_run / f"results/genbench/{model}/{task}/responses.jsonl.gz"))
            assert info["n_records"] == len(records) > 0 and info["settings"]["max_new_tokens"] == 8
            assert all(r["model"] == model and r["benchmark"] == task and isinstance(r["response"], str) for r in records)
    p3b3 = list(read_jsonl_gz(default_run / "results/genbench/amalia-tiny-dpo/p3b3/responses.jsonl.gz"))
    assert len(p3b3) == 3 * P3B3_TURNS
    assert {r["setting"] for r in p3b3} == {"none", "pt-PT", "pt-BR"}
    first = {r["setting"]: r for r in p3b3 if r["dialogue_id"] == "f0" and r["turn"] == 1}
    assert first["none"]["prompt"] == first["none"]["user"]
    assert first["pt-PT"]["prompt"].startswith("Responde sempre em português europeu") and first["pt-PT"]["prompt"].endswith(first["pt-PT"]["user"])
    scored = list(read_jsonl_gz(default_run / "results/genbench/amalia-tiny-dpo/p3b3/scores/variety.jsonl.gz"))
    assert [(r["setting"], r["dialogue_id"], r["turn"]) for r in scored] == [(r["setting"], r["dialogue_id"], r["turn"]) for r in p3b3]
    assert {r["scorer"] for r in scored} == {"variety"}


def test_default_tables_say_what_did_not_run(default_run):
    tables = default_run / "results/tables"
    for name in ("table4", "table5", "p3b3_table1", "p3b3_table2", "p3b3_table5"):
        for ext in ("csv", "md", "tex", "html"):
            assert (tables / f"{name}.{ext}").stat().st_size > 0
    assert (tables / "p3b3_turns.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    t4 = rows(tables / "table4.csv")
    for model in MODELS:
        for column in ("PT-Exams Open Questions", "ALBA"):
            assert cell(t4, model, column)["status"] == NO_JUDGE and cell(t4, model, column)["reproduced"] == ""
        p3b3 = cell(t4, model, "P3B3")
        assert "offline variety markers" in p3b3["detail"] and p3b3["paths"] == f"results/genbench/{model}/p3b3/scores/variety.jsonl.gz"
        assert p3b3["rule"] == "p3b3_variety"
        # The tiny models answer " a a a": the marker scorer abstains, and the cell says so (never 0).
        expected = summary(list(read_jsonl_gz(default_run / f"results/genbench/{model}/p3b3/scores/variety.jsonl.gz")))
        pt = expected[expected["setting"].astype(str) == "pt-PT"].iloc[0]
        if pt["n"]:
            assert float(p3b3["reproduced"]) == pytest.approx(round(pt["score"], 2))
        else:
            assert p3b3["status"] == f"missing: nothing scored ({P3B3_TURNS} abstained, 0 failed of {P3B3_TURNS})"
    assert cell(t4, "amalia-tiny-dpo", "ALBA")["reported"] == "43.6"
    md = (tables / "table4.md").read_text()
    md_rows = {cells[1]: cells[2:] for cells in markdown_rows(md)}
    assert md_rows["amalia-tiny-dpo (AMALIA-9B-DPO)"][:2] == [f"{NO_JUDGE} / 66.0", f"{NO_JUDGE} / 43.6"]
    assert "offline pt-PT/pt-BR marker scorer" in md and md_rows["OLMo 2-7B"][0] == "missing / 43.0"
    assert "offline pt-PT/pt-BR marker scorer" in (tables / "table4.html").read_text()

    t5 = rows(tables / "table5.csv")
    ours = [r for r in t5 if r["model"] in MODELS]
    assert len(ours) == 6 and all(r["status"] == "not run: no guard configured" for r in ours)

    t2 = rows(tables / "p3b3_table2.csv")
    dpo = {r["column"]: r for r in t2 if r["model"] == "amalia-tiny-dpo"}
    assert len(dpo) == 12 and dpo["pt-PT LLM"]["paper_row"] == "AMALIA-9B" and dpo["pt-PT LLM"]["reported"] == "95.9"
    assert dpo["pt-PT LLM"]["status"] == NO_JUDGE and dpo["No-Prompt PV"]["status"] == "not run: classifier not configured"
    assert dpo["pt-BR offline"]["rule"] == "p3b3_variety" and dpo["pt-BR offline"]["reported"] == ""
    t5p = {r["column"]: r for r in rows(tables / "p3b3_table5.csv") if r["model"] == "amalia-tiny-dpo"}
    assert len(t5p) == 6 and all(r["status"] == NO_JUDGE for r in t5p.values())
    assert (t5p["No-Prompt Gemma-4"]["reported"], t5p["No-Prompt Gemini-3"]["reported"], t5p["pt-PT Gemma-4"]["reported"]) == ("87.5", "91.2", "91.8")
    summary_csv = rows(tables / "p3b3_summary.csv")
    assert {(r["model"], r["setting"], r["scorer"]) for r in summary_csv} == {(m, s, "variety") for m in MODELS for s in ("none", "pt-PT", "pt-BR")}

    t1 = rows(tables / "p3b3_table1.csv")
    humans = cell(t1, "annotators", "Kappa (quadratic)")
    assert humans["paper_row"] == "Humans" and humans["reported"] == "0.69" and 0.5 < float(humans["reproduced"]) <= 1
    # No ratings file configured: the 16-answer fixture, and the table says so in every cell and its note.
    assert all(r["detail"].startswith("16 FIXTURE rated answers") for r in t1 if r["model"])  # rows of ours, not the paper's alone
    assert "FIXTURE, not the authors' ratings" in (tables / "p3b3_table1.md").read_text()
    offline = cell(t1, "variety (offline)", "Pearson")
    assert offline["status"] == "not in paper" and float(offline["reproduced"]) > 0.5
    assert cell(t1, "judge", "MAE")["status"] == NO_JUDGE
    assert cell(t1, "ptvid", "MAE")["status"] == "not run: classifier not configured" and cell(t1, "ptvid", "MAE")["reported"] == "2.66"
    assert ["Gemini-3 Flash - PT-C-ST", "missing / 0.81", "missing / 0.83", "missing / 1.58"] in [r[1:] for r in markdown_rows((tables / "p3b3_table1.md").read_text())]


def test_offline_scorer_fills_p3b3_from_the_records(default_run, tmp_path):
    """Answers with pt-PT and pt-BR markers (the tiny models write none): the P3B3 cells are the
    offline scorer's means per setting; only that model's scoring and the tables rerun."""
    workdir = copy_run(default_run, tmp_path / "offline")
    path = workdir / "results/genbench/amalia-tiny-dpo/p3b3/responses.jsonl.gz"
    answers = {
        "none": "Você pode pegar o ônibus ou o metrô, e a passagem é barata.",
        "pt-PT": "Podes apanhar o autocarro ou o comboio; estás a poupar dinheiro com o passe.",
        "pt-BR": "Você está precisando de um celular novo com uma tela maior.",
    }
    records = [{**r, "response": answers[r["setting"]]} for r in read_jsonl_gz(path)]
    write_jsonl_gz(path, records)
    out = run_snakemake(workdir, "genbench_tables")
    # No generation job ran (the cost plan printed at the start names the rule, so match a job's header).
    assert not re.search(r"^(local)?rule genbench_generate:", out.stdout + out.stderr, flags=re.MULTILINE)
    expected = summary(variety_rows(records, [False] * len(records)))
    by_setting = {str(r["setting"]): r["score"] for r in expected.to_dict("records")}
    assert by_setting["pt-PT"] > 50 > by_setting["pt-BR"]
    t4 = rows(workdir / "results/tables/table4.csv")
    assert float(cell(t4, "amalia-tiny-dpo", "P3B3")["reproduced"]) == pytest.approx(round(by_setting["pt-PT"], 2))
    t2 = rows(workdir / "results/tables/p3b3_table2.csv")
    for setting, label in (("none", "No-Prompt"), ("pt-BR", "pt-BR"), ("pt-PT", "pt-PT")):
        assert float(cell(t2, "amalia-tiny-dpo", f"{label} offline")["reproduced"]) == pytest.approx(round(by_setting[setting], 2))


def planned_jobs(workdir: Path, *targets: str) -> dict[str, int]:
    proc = run_snakemake(workdir, *targets, "-n", "--quiet", "rules")
    lines = [line.split() for line in (proc.stdout + proc.stderr).splitlines()]
    return {w[0]: int(w[1]) for w in lines if len(w) == 2 and w[1].isdigit() and w[0] != "total"}


def test_a_rerun_redoes_only_the_missing_or_changed_pairs(default_run, tmp_path):
    workdir = copy_run(default_run, tmp_path / "rerun")
    (workdir / "results/genbench/amalia-tiny-sft/alba/responses.jsonl.gz").unlink()
    assert planned_jobs(workdir, "genbench", "genbench_tables") == {"genbench_generate": 1, "genbench": 1}
    # A changed ALBA setting reruns ALBA only, for both models.
    (workdir / "override.yaml").write_text(json.dumps({"genbench": {"alba": {"max_new_tokens": 9}}}))
    assert planned_jobs(workdir, "genbench", "genbench_tables") == {"genbench_generate": 2, "genbench": 1}


def test_judge_end_to_end_with_missing_and_cache(default_run, tmp_path):
    """A configured judge fills Table 4; a call that fails for good is counted missing (never a
    score); reruns send no request already answered."""
    server = serve()
    try:
        server.default = f"content:{ANSWER}"
        # Both models' judge call on this ALBA prompt fail twice (first try and the one retry): for good.
        server.queue(FAILING, ["500"] * 4)
        # Named as the paper's open judge, so its rows and columns are compared with Gemma-4-31B's; one
        # judge in every role (several judges: tests/test_p3b3_validation.py, the paper's dry run).
        judge = {"name": "gemma", "roles": ["table4", "p3b3_table1", "p3b3_table2", "p3b3_table5"], "base_url": server.base_url,
                 "model": "gemma-4-31b-test", "max_retries": 1, "timeout_s": 20, "concurrency": 2}
        workdir = copy_run(default_run, tmp_path / "judge", {"judges": [judge]})
        run_snakemake(workdir, "genbench_tables")
        first = server.count
        assert sum(FAILING in r["body"]["messages"][-1]["content"] for r in server.requests) == 4

        for model in MODELS:
            judged = list(read_jsonl_gz(workdir / f"results/genbench/{model}/alba/judged/gemma.jsonl.gz"))
            failed = [r for r in judged if FAILING in r["prompt"]]
            assert len(failed) == 1 and failed[0]["status"] == "judge_failed" and failed[0]["score"] is None
            assert all(r["status"] == "ok" and r["score"] == 4 for r in judged if r not in failed)
            overall = json.loads((workdir / f"results/genbench/{model}/alba/judged/gemma.summary.json").read_text())["overall"]
            assert overall == {"mean": 75.0, "stderr": 0.0, "n": len(judged) - 1, "n_missing": 1, "n_total": len(judged)}
        t4 = rows(workdir / "results/tables/table4.csv")
        alba = cell(t4, "amalia-tiny-dpo", "ALBA")
        assert alba["reproduced"] == "75.0" and alba["reported"] == "43.6" and (alba["rule"], alba["detail"]) == ("genbench_judge", "judge gemma (gemma-4-31b-test)")
        # One failed call of six is below tables.min_coverage (0.95): shown, counted, not compared.
        assert (alba["status"], alba["scored"], alba["expected"], alba["difference"]) == ("partial", str(len(judged) - 1), str(len(judged)), "")
        md_rows = {cells[1]: cells[2:] for cells in markdown_rows((workdir / "results/tables/table4.md").read_text())}
        assert md_rows["amalia-tiny-dpo (AMALIA-9B-DPO)"][1] == f"75.0 (partial: {len(judged) - 1}/{len(judged)} scored) / 43.6"
        assert cell(t4, "amalia-tiny-dpo", "P3B3")["reproduced"] == "80.0"  # the judge's 8 of 10, pt-PT setting
        assert float(cell(t4, "amalia-tiny-sft", "PT-Exams Open Questions")["reproduced"]) > 0
        t1 = rows(workdir / "results/tables/p3b3_table1.csv")
        assert {r["model"] for r in t1} >= {f"gemma {v}" for v in ("EN-S-ST", "PT-S-ST", "PT-S-H", "PT-C-ST", "PT-C-D")}
        kappa = cell(t1, "gemma PT-C-ST", "Kappa (quadratic)")
        assert kappa["reported"] == "0.78" and "judge gemma (gemma-4-31b-test) prompt PT-C-ST" in kappa["detail"]  # the paper's Table 4
        t5p = {r["column"]: r for r in rows(workdir / "results/tables/p3b3_table5.csv") if r["model"] == "amalia-tiny-dpo"}
        for setting in ("No-Prompt", "pt-BR", "pt-PT"):
            assert t5p[f"{setting} Gemma-4"]["reproduced"] == "80.0" and t5p[f"{setting} Gemma-4"]["reported"]
            assert t5p[f"{setting} Gemini-3"]["status"] == "not run: no judge with role p3b3_table5 is Gemini-3 Flash"
            assert "judge gemma (gemma-4-31b-test)" in t5p[f"{setting} Gemma-4"]["detail"]
        assert "LLM columns: judged by judge gemma (gemma-4-31b-test)" in (workdir / "results/tables/p3b3_table2.md").read_text()

        # Same command again: nothing to do, nothing sent.
        again = run_snakemake(workdir, "genbench_tables")
        assert "Nothing to be done" in again.stdout + again.stderr
        assert server.count == first
        # Judge jobs forced to rerun: every answered call comes from the cache; only the failed ones
        # are sent again (and now answered). When both tiny models gave the same answer their two
        # failed requests are one request, which the cache then answers for the second job.
        failed_requests = {r["body"]["messages"][-1]["content"] for r in server.requests[:first] if r["behaviour"] == "500"}
        run_snakemake(workdir, "genbench", "--forcerun", "genbench_judge")
        resent = [r["body"]["messages"][-1]["content"] for r in server.requests[first:]]
        assert set(resent) == failed_requests and len(resent) <= 2 and all(FAILING in text for text in resent)
        judged = list(read_jsonl_gz(workdir / "results/genbench/amalia-tiny-dpo/alba/judged/gemma.jsonl.gz"))
        assert all(r["status"] == "ok" and r["score"] == 4 for r in judged)
        second = server.count
        run_snakemake(workdir, "genbench", "--forcerun", "genbench_judge")
        assert server.count == second
    finally:
        server.stop()

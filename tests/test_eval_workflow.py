"""End to end: evaluation and Table 3 of the embedded default, through Snakemake."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from amalia_wf.evaluate.suite import TASKS
from tests.conftest import copy_run, markdown_rows, run_snakemake, snakemake_cmd

pytestmark = pytest.mark.slow

MODELS = ("amalia-tiny-sft", "amalia-tiny-dpo")


def test_every_model_and_task_has_a_full_result_file(default_run):
    for model in MODELS:
        for task, spec in TASKS.items():
            record = json.loads((default_run / f"results/eval/{model}/{task}.json").read_text())
            assert record["model"] == model and record["task"] == task and record["column"] == spec.column
            assert 0 <= record["value"] <= (100 if spec.scale == 1 else 1)
            assert record["metrics"][spec.lm_eval_name][spec.metric] == record["value"]
            assert record["n_samples"][spec.lm_eval_name]["effective"] > 0
            samples = record["samples"][spec.lm_eval_name]  # one per document and filter
            assert len({s["doc_id"] for s in samples}) == record["n_samples"][spec.lm_eval_name]["effective"]
            assert record["prompt_config"][spec.lm_eval_name]["task"] == spec.lm_eval_name
            assert record["lm_eval_version"] == "0.4.13" and record["model_revision"].startswith("sha256:")
    pt_e = json.loads((default_run / f"results/eval/{MODELS[0]}/pt_e.json").read_text())
    per_subject = {k for k in pt_e["metrics"]["amalia_pt_e"] if k.startswith("acc_")}
    assert len(per_subject) >= 2 and per_subject <= set(TASKS["pt_e"].extra_metrics)  # the fixture's subjects


def test_table3_has_the_papers_layout_and_values(default_run):
    rows = list(csv.DictReader(open(default_run / "results/tables/table3.csv")))
    ours = [r for r in rows if r["model"] in MODELS]
    assert len(ours) == 2 * 11 and all(r["status"] in ("ok", "differs") for r in ours)
    dpo_pte = next(r for r in ours if r["model"] == "amalia-tiny-dpo" and r["column"] == "PT-E (CoT)")
    assert dpo_pte["reported"] == "68.4" and dpo_pte["paper_row"] == "AMALIA-9B-DPO"
    assert (dpo_pte["rule"], dpo_pte["paths"]) == ("evaluate_model", "results/eval/amalia-tiny-dpo/pt_e.json")
    record = json.loads((default_run / "results/eval/amalia-tiny-dpo/pt_e.json").read_text())
    assert float(dpo_pte["reproduced"]) == pytest.approx(round(record["value"] * 100, 2))
    # Each value with lm-eval's standard error (bootstrap_iters), on the table's scale.
    stderr = record["stderr"][record["lm_eval_task"]][record["metric"]] * 100
    assert float(dpo_pte["stderr"]) == pytest.approx(round(stderr, 4))
    md_cell = f"{float(dpo_pte['reproduced']):.1f} ±{stderr:.1f}"
    # The 12 baselines are in the paper's rows, their results missing (not zero).
    olmo = [r for r in rows if r["paper_row"] == "OLMo 2-7B"]
    assert len(olmo) == 11 and all(r["status"] == "missing" and r["reproduced"] == "" for r in olmo)
    md = (default_run / "results/tables/table3.md").read_text()
    assert ["OLMo 2-7B", "missing / 47.8"] in [r[1:3] for r in markdown_rows(md)]
    assert any(md_cell in cell for r in markdown_rows(md) if r[1] == "amalia-tiny-dpo (AMALIA-9B-DPO)" for cell in r)
    assert "\\begin{tabular}" in (default_run / "results/tables/table3.tex").read_text()
    assert len(list((default_run / "results/tables/table3_plots").glob("*.png"))) == 11


def test_killed_evaluation_redoes_only_unfinished_tasks(default_run, tmp_path):
    """SIGKILL while a model is being evaluated: the rerun evaluates only the tasks without results."""
    workdir = copy_run(default_run, tmp_path / "kill")
    model = MODELS[1]
    for f in (workdir / f"results/eval/{model}").glob("*.json"):
        f.unlink()
    shutil.rmtree(workdir / f"results/eval/.cache/{model}")
    cache = workdir / f"results/eval/.cache/{model}"
    proc = subprocess.Popen(snakemake_cmd(workdir, "evaluate"), cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    while len(list(cache.glob("*.json"))) < 2:
        assert proc.poll() is None, "snakemake ended before two tasks finished"
        assert time.monotonic() < deadline
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(list(cache.glob("*.json")))
    assert done < len(TASKS), "the kill came too late to test anything"

    run_snakemake(workdir, "--unlock")
    run_snakemake(workdir, "evaluate")
    log = (workdir / f"results/logs/evaluate/{model}.log").read_text()
    assert f"{done} of {len(TASKS)} tasks cached" in log
    assert log.count("evaluating amalia-tiny-dpo on") == len(TASKS) - done
    assert len(list(cache.glob("*.json"))) == len(TASKS)
    assert "Nothing to be done" in run_snakemake(workdir, "-n", "evaluate").stdout + run_snakemake(workdir, "-n", "evaluate").stderr


def test_adding_a_model_evaluates_only_that_model(default_run, tmp_path):
    extra = {"name": "local-sft-copy", "path": "results/models/sft", "group": "open_weight"}
    workdir = copy_run(default_run, tmp_path / "add", {"evaluation": {"models": [extra]}})
    proc = run_snakemake(workdir, "evaluate", "tables", "-n", "--quiet", "rules")
    out = proc.stdout + proc.stderr
    assert "evaluate_model" in out and "table3" in out
    jobs = {line.split()[0]: int(line.split()[1]) for line in out.splitlines() if len(line.split()) == 2 and line.split()[1].isdigit()}
    # The new model's jobs (its lm-eval tasks, one generation per benchmark, its P3B3 scoring)
    # and the tables that list models; nothing of the models already evaluated.
    benches = [p for p in (default_run / f"results/genbench/{MODELS[0]}").iterdir() if p.is_dir()]
    assert jobs["evaluate_model"] == 1 and jobs["genbench_generate"] == len(benches) >= 4 and jobs["p3b3_variety"] == 1, out
    model_tables = {"table3", "table4", "table5", "p3b3_table2", "p3b3_table5"}
    assert set(jobs) == {"evaluate_model", "genbench_generate", "p3b3_variety", "evaluate", "tables", "total"} | model_tables, out


def test_a_model_that_cannot_load_fails_alone(default_run, tmp_path):
    broken = {"name": "broken", "path": "broken_model", "group": "open_weight"}
    workdir = copy_run(default_run, tmp_path / "broken", {"evaluation": {"models": [broken]}})
    (workdir / "broken_model").mkdir()
    (workdir / "broken_model/config.json").write_text("{not json")
    good = MODELS[0]
    for f in (workdir / f"results/eval/{good}").glob("*.json"):
        f.unlink()  # the cache stays: this model's job has to run, and it is quick
    proc = run_snakemake(workdir, "tables", check=False)
    assert proc.returncode != 0
    assert "Error in rule evaluate_model" in proc.stderr and "broken" in proc.stderr
    assert len(list((workdir / f"results/eval/{good}").glob("*.json"))) == len(TASKS)
    assert not (workdir / "results/eval/broken").exists() or not list((workdir / "results/eval/broken").glob("*.json"))

"""End to end: the embedded default's training stage, through Snakemake."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time

import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from amalia_wf.train.runs import resume_from
from tests.conftest import copy_run, run_snakemake, snakemake_cmd

pytestmark = pytest.mark.slow


def test_models_have_the_paper_changes_and_provenance(default_run):
    models = default_run / "results/models"
    base, cpt = AutoConfig.from_pretrained(models / "base"), AutoConfig.from_pretrained(models / "cpt")
    assert (base.rope_parameters["rope_theta"], base.max_position_embeddings) == (10000.0, 256)
    assert (cpt.rope_parameters["rope_theta"], cpt.max_position_embeddings) == (1000000.0, 1024)
    for stage in ("base", "reward"):
        assert json.loads((models / stage / "provenance.json").read_text())["stage"] == stage
    for stage, steps in (("cpt", 8), ("sft", 8), ("dpo", 2)):
        prov = json.loads((models / stage / "provenance.json").read_text())
        assert prov["stage"] == stage and prov["steps"] == steps and prov["final_losses"]
        assert len(prov["config_sha256"]) == 64 and len(prov["git_commit"]) in (40, len("unknown"))
        assert prov["libraries"]["transformers"] and prov["libraries"]["trl"]
        assert prov["inputs"] and all(len(h) == 64 for h in prov["inputs"].values())
        AutoModelForCausalLM.from_pretrained(models / stage)
    # Where CPT started, as train.base says (the paper's start, EuroLLM-9B before its final phase, is not released).
    cpt_start = json.loads((models / "cpt" / "provenance.json").read_text())["config"]["start_checkpoint"]
    assert cpt_start["source"] == "init" and cpt_start == json.loads((models / "base" / "provenance.json").read_text())["config"]
    sft = json.loads((models / "sft" / "provenance.json").read_text())
    assert [s["name"] for s in sft["config"]["mixture"]["sources"]] == ["bundled-pt-pt-chat", "bundled-en-chat"]
    assert sft["hyperparameters"]["gradient_accumulation_steps"] >= 1
    tok = AutoTokenizer.from_pretrained(models / "dpo")
    chat = tok.apply_chat_template([{"role": "user", "content": "Olá"}], add_generation_prompt=True, tokenize=False)
    assert chat.endswith("<|im_start|>assistant\n")


def test_preference_pairs_rank_by_reward(default_run):
    pairs = [json.loads(line) for line in (default_run / "results/prefs/pairs.jsonl").read_text().splitlines()]
    stats = json.loads((default_run / "results/prefs/stats.json").read_text())
    assert pairs and stats["pairs"] == len(pairs) and stats["candidates"] == stats["prompts"] * 4
    for p in pairs:
        assert p["prompt"][-1]["role"] == "user" and p["chosen_score"] > p["rejected_score"]


def test_throughput_and_curves_are_reported(default_run):
    rows = {r["stage"]: r for r in csv.DictReader(open(default_run / "results/train/throughput.csv"))}
    assert set(rows) == {"cpt", "sft", "dpo"}
    assert all(float(r["tokens_per_second"]) > 0 and float(r["peak_memory_mb"]) > 0 for r in rows.values())
    assert (default_run / "results/train/curves.png").read_bytes()[:4] == b"\x89PNG"
    # Both in the HTML report: tests/test_report.py.


def test_killed_training_rule_resumes_from_its_last_checkpoint(default_run, tmp_path):
    """SIGKILL in the middle of SFT, --unlock, rerun: the step count continues from the checkpoint."""
    STEPS = 150  # long enough (a checkpoint and an evaluation every 5 steps) that the kill lands mid-run
    workdir = copy_run(default_run, tmp_path / "resume", {"train": {"sft": {"max_steps": STEPS, "save_steps": 5, "eval_steps": 5}}})
    proc = subprocess.Popen(
        snakemake_cmd(workdir, "results/models/sft"), cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    checkpoints = workdir / "results/checkpoints/sft"
    deadline = time.monotonic() + 600
    while not list(checkpoints.glob("*/checkpoint-10")):
        assert proc.poll() is None, "snakemake ended before SFT saved checkpoint 10"
        assert time.monotonic() < deadline
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # The newest checkpoint the trainer finished writing (the kill may land in the middle of one), in
    # this run's folder: the copied default run's own SFT (8 steps, another run key) left checkpoint-8.
    [run_dir] = {p.parent for p in checkpoints.glob("*/checkpoint-10")}
    saved = max(int(p.parent.name.split("-")[1]) for p in run_dir.glob("checkpoint-*/trainer_state.json"))

    run_snakemake(workdir, "--unlock")
    run_snakemake(workdir, "results/models/sft")
    log = (workdir / "results/logs/train/sft.log").read_text()
    resumed = (run_dir / f"checkpoint-{saved}").relative_to(workdir)
    assert f"resuming from {resumed}" in log
    steps = [int(r["step"]) for r in csv.DictReader(open(workdir / "results/models/sft/training_metrics.csv"))]
    # The second run appends from the checkpoint on: any step logged twice was done after the
    # checkpoint by the killed run; nothing before it is ever repeated.
    restart = next((i for i in range(1, len(steps)) if steps[i] <= steps[i - 1]), None)
    if restart is not None:
        assert steps[restart] == saved + 1, steps
    assert sorted(set(steps)) == list(range(1, STEPS + 1)) and steps[-1] == STEPS
    prov = json.loads((workdir / "results/models/sft/provenance.json").read_text())
    assert prov["steps"] == STEPS
    assert torch.isfinite(torch.tensor(prov["final_losses"])).all()


def test_resume_skips_a_checkpoint_the_kill_left_half_written(tmp_path):
    for step in (5, 10, 15):
        (tmp_path / f"checkpoint-{step}").mkdir()
    for step in (5, 10):
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    (tmp_path / "checkpoint-7.partial").mkdir()
    assert resume_from(tmp_path) == str(tmp_path / "checkpoint-10")
    assert resume_from(tmp_path / "absent") is None


def test_resume_never_starts_at_max_steps(tmp_path):
    for step in (5, 10):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    assert resume_from(tmp_path, max_steps=10) == str(tmp_path / "checkpoint-5")
    assert resume_from(tmp_path, max_steps=12) == str(tmp_path / "checkpoint-10")  # max_steps raised since
    assert resume_from(tmp_path, max_steps=-1) == str(tmp_path / "checkpoint-10")  # epochs: no step limit

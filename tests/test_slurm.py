"""The workflow on a real Slurm (tools/slurm/up.sh): `--profile profiles/slurm` as reviewers use it.

One run of the default DAG is interrupted the three ways HPC users meet (SIGTERM during the data
stage, SIGINT during continued pretraining, SIGKILL during SFT, each followed by the README's
recovery) and must end with the local run's outputs, nothing finished redone, nothing run twice at
once and nothing left to do. The Slurm records of its jobs show what each rule asked for. A
second run shows an SFT job killed at its time limit resubmitted with a longer one and continuing
from its checkpoint. Large inputs that are touched or copied redo nothing (no Slurm needed).
"""

from __future__ import annotations

import base64
import csv
import filecmp
import itertools
import os
import re
import shutil
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from tests.conftest import make_workdir, run_snakemake
from tests.slurm_cluster import (
    ACCOUNT,
    TOOLS,
    active,
    jobs,
    kill,
    rule_of,
    run_ids,
    run_slurm,
    start_slurm,
    wait_for_job,
    wait_for_run_id,
)
from tests.workflow_rules import workflow_rules

pytestmark = pytest.mark.slow
slurm = pytest.mark.slurm

# What a site puts in its config: partitions, and for this test GPUs on the fake-GPU partition for
# SFT (whole nodes' GPUs as `gres`, one task: the paper's layout) and for scoring (`gpu`, per job),
# two tasks for pretraining, and per-rule memory and time for the filter jobs. The account comes
# from the command line (`--default-resources slurm_account=...`, see slurm_cluster.SLURM_OPTIONS).
OVERRIDE = {
    "resources": {
        "default": {"slurm_partition": "cpu"},
        "filter_shard": {"mem_mb": 1500, "runtime": 20},
        "pretrain": {"tasks": 2},
        "sft": {"slurm_partition": "gpu", "gres": "gpu:2", "tasks": 1, "tasks_per_gpu": 0},
        "score_candidates": {"slurm_partition": "gpu", "gpu": 1},
    }
}
# Signal, the rule whose Slurm job is running when it is sent, and that job's output.
INTERRUPTIONS = [
    (signal.SIGTERM, "filter_shard", None),
    (signal.SIGINT, "pretrain", "results/models/cpt"),
    (signal.SIGKILL, "sft", "results/models/sft"),
]
# Outputs that depend on timing (throughput, wall clock) rather than on the inputs.
TIMING_DEPENDENT = {"training_metrics.csv", "provenance.json", "curves.png", "throughput.csv"}
NOT_OUTPUTS = ("results/logs/", "results/benchmarks/", "results/checkpoints/")


def incomplete_outputs(workdir: Path) -> set[str]:
    """Outputs Snakemake has marked incomplete (jobs it started and did not see finish)."""
    root = workdir / ".snakemake/incomplete"
    marked = set()
    for p in root.rglob("*") if root.exists() else []:
        if p.is_file() and p.name != "migration_underway":
            encoded = "".join(part.removeprefix("@") for part in p.relative_to(root).parts)
            marked.add(base64.urlsafe_b64decode(encoded).decode())
    return marked


def finished_outputs(workdir: Path) -> dict[str, int]:
    """path -> mtime of every output file Snakemake counts as finished (no incomplete marker)."""
    marked = incomplete_outputs(workdir)
    done = {}
    for p in (workdir / "results").rglob("*"):
        rel = p.relative_to(workdir).as_posix()
        if not p.is_file() or rel.startswith(NOT_OUTPUTS) or any(part.startswith(".") for part in Path(rel).parts):
            continue
        if not any(rel == m or rel.startswith(m.rstrip("/") + "/") for m in marked):
            done[rel] = p.stat().st_mtime_ns
    return done


def outputs(workdir: Path) -> set[str]:
    """Output files, without logs, benchmarks, checkpoints and hidden files (temporary files, caches
    that an interrupted job leaves for its rerun)."""
    found = set()
    for p in (workdir / "results").rglob("*"):
        rel = p.relative_to(workdir).as_posix()
        if (
            p.is_file()
            and not rel.startswith(NOT_OUTPUTS)
            and not any(part.startswith(".") for part in Path(rel).parts)
        ):
            found.add(rel)
    return found


@pytest.fixture(scope="module")
def interrupted_run(slurm_cluster, tmp_path_factory, time_limit_run):
    """The default DAG on Slurm, interrupted by each signal in turn and recovered as the README says."""
    workdir = make_workdir(tmp_path_factory.mktemp("slurm"), OVERRIDE)
    record = {"workdir": workdir, "cluster": slurm_cluster, "phases": {}}
    t_start = time.monotonic()
    for i, (sig, rule, output) in enumerate(INTERRUPTIONS):
        t0 = time.monotonic()
        log = f"run{i}.log"
        proc = start_slurm(workdir, log)
        name = wait_for_run_id(proc, workdir / log)
        target = wait_for_job(name, rule, proc=proc)
        target_detail = subprocess.run(
            ["scontrol", "show", "job", "-d", "--oneliner", target["JobId"]], capture_output=True, text=True, check=True
        ).stdout
        returncode = kill(proc, sig)
        phase = {
            "run_id": name,
            "job": target,
            "job_detail": target_detail,
            "returncode": returncode,
            "log": (workdir / log).read_text(),
            "active_after_exit": active(name),
        }
        if sig != signal.SIGTERM:  # the README's recovery after Ctrl-C and kill -9
            if sig == signal.SIGKILL:
                phase["refused"] = run_slurm(workdir, check=False)  # the dead run's lock is still there
            phase["cancel"] = subprocess.run(
                ["bash", TOOLS / "cancel_orphans.sh", str(workdir)], capture_output=True, text=True, check=False
            )
            phase["active_after_cancel"] = active(name)
            if sig == signal.SIGKILL:
                run_slurm(workdir, "--unlock")
        phase["finished"] = finished_outputs(workdir)
        # The interrupted job's output must not look finished: absent, or marked incomplete.
        phase["output_looks_finished"] = output is not None and any(p.startswith(output) for p in phase["finished"])
        phase["seconds"] = time.monotonic() - t0
        record["phases"][sig.name] = phase
    t0 = time.monotonic()
    record["final"] = run_slurm(workdir, log="final.log")
    record["final_seconds"] = time.monotonic() - t0
    record["again"] = run_slurm(workdir, "-n")
    record["jobs"] = jobs(run_ids(workdir))
    record["seconds"] = time.monotonic() - t_start
    print(f"\nSlurm up in {slurm_cluster['bring_up_s']:.1f} s; interrupted default DAG: {record['seconds']:.0f} s "
          + ", ".join(f"{k} phase {p['seconds']:.0f} s" for k, p in record["phases"].items())
          + f", final run {record['final_seconds']:.0f} s, {len(record['jobs'])} Slurm jobs")  # fmt: skip
    return record


@slurm
def test_default_dag_on_slurm_matches_local_run(interrupted_run, default_run):
    workdir = interrupted_run["workdir"]
    assert "Nothing to be done" in interrupted_run["again"].stdout + interrupted_run["again"].stderr
    assert outputs(workdir) == outputs(default_run)
    differ = [
        f for f in sorted(outputs(default_run))
        if Path(f).name not in TIMING_DEPENDENT and not filecmp.cmp(workdir / f, default_run / f, shallow=False)
    ]  # fmt: skip
    # The data stage, tokenizer, base model and token shards must be identical; training on CPU
    # usually is too, but is not promised to be (thread scheduling), so that is only shown.
    print(f"\noutputs that differ from the local run (timing-dependent ones aside): {differ or 'none'}")
    deterministic = [
        f
        for f in differ
        if f.startswith(("results/data/", "results/tokens/", "results/models/tokenizer/", "results/models/base/"))
    ]
    assert not deterministic, f"differ from the local run: {deterministic}"
    for stage in ("cpt", "sft", "dpo"):
        ours = list(csv.DictReader((workdir / f"results/models/{stage}/training_metrics.csv").open()))
        local = list(csv.DictReader((default_run / f"results/models/{stage}/training_metrics.csv").open()))
        assert ours[-1]["step"] == local[-1]["step"], stage


def logged_rules(log_text: str, kind: str) -> set[str]:
    """Rules of the jobs Snakemake announced as `rule NAME:` (cluster jobs) or `localrule NAME:`."""
    return set(re.findall(rf"^{kind} (\w+):", log_text, re.MULTILINE))


@slurm
def test_non_local_jobs_ran_on_slurm_once_at_a_time(interrupted_run, default_run):
    """The workflow's local rules (and target-only rules) ran on the submit host, every other rule of
    the DAG as Slurm jobs; every job Snakemake sent to the cluster is in Slurm's records and ended
    there, and no two jobs for the same rule and wildcards ever ran at the same time (a rerun never
    raced an orphan)."""
    records = interrupted_run["jobs"]
    workdir = interrupted_run["workdir"]
    logs = "".join(p.read_text() for p in sorted(workdir.glob("run*.log")) + [workdir / "final.log"])
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", logs)
    assert sorted(map(int, submitted)) == [int(r["JobId"]) for r in records]
    # The rules of the default DAG: every job of a local run is announced as a local one.
    dag = logged_rules("".join(p.read_text() for p in (default_run / ".snakemake/log").glob("*.log")), "localrule")
    rules = workflow_rules(workdir, "override.yaml")
    on_host = {name for name in dag if rules[name]["local"] or not rules[name]["job"]}
    assert {"table3", "table4", "run_summary"} <= on_host
    assert logged_rules(logs, "localrule") == on_host
    assert logged_rules(logs, "rule") == {rule_of(r) for r in records} == dag - on_host
    assert {r["JobState"] for r in records} <= {"COMPLETED", "CANCELLED"}, {r["JobId"]: r["JobState"] for r in records}
    by_key: dict[str, list[dict[str, str]]] = {}
    for r in records:
        by_key.setdefault(r["Comment"], []).append(r)
    for key, runs in by_key.items():
        assert sum(r["JobState"] == "COMPLETED" for r in runs) >= 1, key
        spans = sorted((r["StartTime"], r["EndTime"]) for r in runs if r["StartTime"] != "Unknown")
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert start >= end, f"two {key} jobs ran at once: {spans}"


@slurm
def test_sigterm_lets_slurm_jobs_finish_then_rerun_continues(interrupted_run):
    phase = interrupted_run["phases"]["SIGTERM"]
    assert "Will exit after finishing currently running jobs" in phase["log"]
    assert phase["active_after_exit"] == []
    own = [r for r in interrupted_run["jobs"] if r["JobName"] == phase["run_id"]]
    assert own and all(r["JobState"] == "COMPLETED" for r in own), [(r["Comment"], r["JobState"]) for r in own]
    assert any(r["JobId"] == phase["job"]["JobId"] for r in own)  # the filter job running at the signal finished
    assert_not_redone(interrupted_run, phase)


@slurm
def test_sigint_cancels_slurm_jobs_and_rerun_redoes_them(interrupted_run):
    phase = interrupted_run["phases"]["SIGINT"]
    # Snakemake's scancel misses a job whose status it is checking at that instant (the executor
    # interface empties its list of active jobs during a check), hence cancel_orphans.sh after Ctrl-C.
    left = [(r["JobId"], r["JobState"]) for r in phase["active_after_exit"]]
    print(f"\nactive when Snakemake exited: {left or 'none'}; cancel_orphans.sh: {phase['cancel'].stdout.strip()}")
    assert phase["cancel"].returncode == 0, phase["cancel"].stderr
    assert phase["active_after_cancel"] == []
    cancelled = next(r for r in interrupted_run["jobs"] if r["JobId"] == phase["job"]["JobId"])
    assert cancelled["JobState"] == "CANCELLED"
    assert not phase["output_looks_finished"]  # so the rerun redoes it
    redone = [r for r in interrupted_run["jobs"] if rule_of(r) == "pretrain" and r["JobState"] == "COMPLETED"]
    assert len(redone) == 1 and int(redone[0]["JobId"]) > int(cancelled["JobId"])
    assert_not_redone(interrupted_run, phase)


@slurm
def test_sigkill_orphans_are_cancelled_by_run_id_then_unlock_and_rerun(interrupted_run):
    phase = interrupted_run["phases"]["SIGKILL"]
    orphan = phase["job"]
    # The driver is gone but its SFT job runs on: a rerun now would race it.
    assert orphan["JobId"] in [r["JobId"] for r in phase["active_after_exit"]]
    refused = phase["refused"]
    assert refused.returncode != 0 and "lock" in (refused.stdout + refused.stderr).lower()
    assert phase["cancel"].returncode == 0, phase["cancel"].stderr
    assert orphan["JobId"] in phase["cancel"].stdout
    assert phase["active_after_cancel"] == []
    assert next(r for r in interrupted_run["jobs"] if r["JobId"] == orphan["JobId"])["JobState"] == "CANCELLED"
    assert not phase["output_looks_finished"]
    assert_not_redone(interrupted_run, phase)


def assert_not_redone(interrupted_run, phase) -> None:
    """Every output finished when the run was interrupted still has its mtime at the very end."""
    workdir = interrupted_run["workdir"]
    assert phase["finished"], "nothing had finished before the signal"
    changed = [p for p, mtime in phase["finished"].items() if (workdir / p).stat().st_mtime_ns != mtime]
    assert not changed, f"redone after the interruption: {changed}"


@slurm
def test_resource_requests_reach_slurm(interrupted_run):
    """Partition, account, CPUs, memory, GPUs, tasks and time limit as `scontrol show job` records them."""
    last = {}
    for r in interrupted_run["jobs"]:
        if r["JobState"] == "COMPLETED":
            last[rule_of(r)] = r
    assert all(r["Account"] == ACCOUNT for r in interrupted_run["jobs"])

    data = last["filter_shard"]  # a data job: its own memory and time
    assert (data["Partition"], data["NumCPUs"], data["NumTasks"], data["MinMemoryNode"], data["TimeLimit"]) == (
        "cpu",
        "1",
        "1",
        "1500M",
        "00:20:00",
    )
    assert "TresPerNode" not in data and "TresPerJob" not in data

    default = last["dedup_collection"]  # config.yaml's resources.default
    assert (default["Partition"], default["MinMemoryNode"], default["TimeLimit"]) == ("cpu", "2000M", "00:30:00")

    sft = last["sft"]  # GPUs per node on the GPU partition, one task (no --ntasks-per-gpu)
    assert (sft["Partition"], sft["TresPerNode"], sft["NumTasks"], sft["NumCPUs"]) == ("gpu", "gres:gpu:2", "1", "1")
    assert sft.get("NtasksPerTRES", "0") == "0"  # --ntasks-per-gpu would run the job once per GPU
    # While it ran, the node's two fake GPUs were allocated to it.
    assert "GRES=gpu:2(IDX:0-1)" in interrupted_run["phases"]["SIGKILL"]["job_detail"]

    score = last["score_candidates"]  # GPUs for the whole job
    assert (score["Partition"], score["TresPerJob"], score["NumTasks"]) == ("gpu", "gres:gpu:1", "1")

    pretrain = last["pretrain"]  # several tasks: srun -n 2, one CPU each
    assert (pretrain["Partition"], pretrain["NumTasks"], pretrain["NumCPUs"], pretrain["CPUs/Task"]) == (
        "cpu",
        "2",
        "2",
        "1",
    )


# --- time limit -----------------------------------------------------------------------------------


SFT_STEPS = 1200  # about 2 minutes of training on one core of this machine kind: more than a minute holds


@pytest.fixture(scope="module")
def time_limit_run(slurm_cluster, default_run, tmp_path_factory):
    """SFT with a 1-minute limit and far more steps than fit, on a copy of the local run.

    Started before the interrupted run and left to run beside it (that run mostly waits on Slurm,
    so a CPU is free); the test waits for it."""
    workdir = tmp_path_factory.mktemp("timelimit") / "run"
    shutil.copytree(default_run, workdir, symlinks=True)  # keeps mtimes: only SFT is out of date
    shutil.rmtree(workdir / "results/models/sft")
    (workdir / "override.yaml").write_text(yaml.safe_dump({
        "train": {"sft": {"max_steps": SFT_STEPS, "save_steps": 50, "eval_steps": 50}},
        "resources": {"default": {"slurm_partition": "cpu"}, "sft": {"runtime": 1}},
    }))  # fmt: skip
    proc = start_slurm(workdir, "timelimit.log", "results/models/sft", "--retries", "3")
    yield workdir, proc
    if proc.poll() is None:  # the test did not get to wait for it
        kill(proc, signal.SIGINT)


@slurm
def test_training_job_at_time_limit_is_resubmitted_longer_and_resumes(time_limit_run):
    """Slurm kills the SFT job at its limit (TIMEOUT), `--retries` resubmits it with 2 minutes
    (runtime x attempt), and it continues from its last checkpoint."""
    workdir, proc = time_limit_run
    assert proc.wait(timeout=1800) == 0, (workdir / "timelimit.log").read_text()[-5000:]
    steps = SFT_STEPS

    sft = [r for r in jobs(run_ids(workdir)) if rule_of(r) == "sft"]
    states = [(r["JobState"], r["TimeLimit"]) for r in sft]
    span = datetime.fromisoformat(sft[-1]["EndTime"]) - datetime.fromisoformat(sft[0]["StartTime"])
    print(f"\ntime-limit run: SFT jobs {states}, {span.total_seconds():.0f} s from first start to last end")
    assert states[0] == ("TIMEOUT", "00:01:00")
    assert states[-1][0] == "COMPLETED" and len(states) >= 2
    assert [limit for _, limit in states] == [f"00:0{i}:00" for i in range(1, len(states) + 1)]

    job_log = (workdir / "results/logs/train/sft.log").read_text()  # the last attempt's
    resumed = re.search(r"resuming from \S+/checkpoint-(\d+)", job_log)
    assert resumed and int(resumed.group(1)) > 0, job_log[-2000:]

    # Every attempt appends its logged steps: the next attempt goes on from the checkpoint it
    # resumed (a multiple of save_steps, plus one), never from step 1.
    logged = [int(row["step"]) for row in csv.DictReader((workdir / "results/models/sft/training_metrics.csv").open())]
    assert logged[-1] == steps and set(logged) == set(range(1, steps + 1))
    assert logged.count(1) == 1, "an attempt started again at step 1"
    restarts = [b for a, b in itertools.pairwise(logged) if b <= a]  # steps logged again after a kill
    assert all((b - 1) % 50 == 0 for b in restarts), restarts


# --- large inputs (no Slurm) ----------------------------------------------------------------------


def test_touching_or_copying_large_inputs_redoes_nothing(default_run, tmp_path):
    """WARCs and token shards are GB-sized at paper scale: a touch or a copy must not redo the DAG.

    `--max-checksum-file-size 1` makes Snakemake treat every file as large (no checksum to tell
    that the content is unchanged), as it does for real WARCs and shards."""
    workdir = tmp_path / "copy"
    shutil.copytree(default_run, workdir, symlinks=True)
    # Only the mtime trigger is under test (a copy moves the working directory, which some rules
    # take as a parameter).
    large = ("--max-checksum-file-size", "1", "--rerun-triggers", "mtime")

    def dry_run() -> str:
        proc = run_snakemake(workdir, "-n", *large)
        return proc.stdout + proc.stderr

    assert "Nothing to be done" in dry_run()
    warcs = sorted((workdir / "results/data/raw").rglob("*.warc.gz"))
    shards = sorted((workdir / "results/tokens").glob("*.*"))
    assert warcs and shards
    for f in warcs:
        f.touch()
    copied = warcs[0].with_suffix(".copy")
    shutil.copy(warcs[0], copied)
    os.replace(copied, warcs[0])  # a copy: same bytes, new inode and mtime
    for f in shards:
        f.touch()
    assert "Nothing to be done" in dry_run()

    # The same touch on an ordinary input does rerun its consumers: the check above can fail.
    (workdir / "data/sft/pt_pt_chat.jsonl").touch()
    assert re.search(r"rule sft_mixture:\n(?:    .*\n)*?    reason: Updated input files: data/sft/pt_pt_chat.jsonl", dry_run())

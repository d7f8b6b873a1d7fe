"""The cost plan (amalia_wf/cost_plan.py, rules/plan.smk): printed at the start of a paper dry run,
written to results/report/plan.csv, its job counts those of the DAG Snakemake builds, its totals sums
of its rows, and the training rules' GPU hours the paper's budgets.

A test-size paper run: 14 archives with their real sizes (sparse files), 5 per shard; the 200,000-file
timing is bench/dryrun_paper.py's.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from amalia_wf.config import validate
from amalia_wf.cost_plan import COLUMNS
from tests.conftest import REPO, make_workdir, snakemake_cmd
from tests.test_config import merge

# Archive sizes in bytes, web/ then books/: shards of 5 files give 2 + 1 shards.
WEB = [3_000_000_000, 1, 700_000_000, 0, 12_345, 1_000_000_000, 5, 999, 2_000_000_000, 42]
BOOKS = [400_000_000, 6_000_000, 7, 8]
FILES_PER_SHARD = 5


def make_archive(root: Path) -> int:
    """Sparse files of the sizes above (no disk used); returns their total size."""
    for kind, sizes in (("web", WEB), ("books", BOOKS)):
        for i, size in enumerate(sizes):
            path = root / kind / f"crawl-{i % 2}" / f"part-{i:03d}.warc.gz"
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as f:
                f.truncate(size)
    return sum(WEB) + sum(BOOKS)


def paper_config() -> dict[str, Any]:
    """paper.yaml merged over the embedded default, as Snakemake merges them."""
    return merge(*(yaml.safe_load((REPO / "config" / name).read_text()) for name in ("config.yaml", "paper.yaml")))


def site_inputs(cfg: dict[str, Any]) -> list[str]:
    """Local files paper.yaml names besides the archives (SFT and preference data)."""
    train = cfg["train"]
    strategies = train["preferences"]["strategies"]
    blocks = [*strategies["persona"], strategies["two_model"], *strategies["extra"]]
    return [e["path"] for e in train["sft"]["mixture"] if "path" in e] + [
        p for b in blocks for p in b.get("paths", [b["path"]] if "path" in b else [])
    ]


def job_stats(out: str) -> dict[str, int]:
    """Snakemake's job-stats table: rule -> jobs in the DAG."""
    block = out.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", block, flags=re.MULTILINE) if m[1] != "total"}


def printed_plan(out: str) -> dict[str, list[str]]:
    """The printed table's rows (rule -> cells), header and total included."""
    block = out.split("Cost plan", 1)[1].splitlines()[1:]
    rows = [line.split() for line in block if line and not line.startswith("-")]
    return {r[0]: r[1:] for r in rows[: [r[0] for r in rows].index("total") + 1]}


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("plan")
    archive_bytes = make_archive(tmp / "arquivo")
    workdir = make_workdir(tmp / "paper")
    (workdir / "shards.yaml").write_text(yaml.safe_dump({"data": {"files_per_shard": FILES_PER_SHARD}}))
    paper = paper_config()
    for name in site_inputs(paper):
        (workdir / name).parent.mkdir(parents=True, exist_ok=True)
        (workdir / name).touch()
    # paper.yaml's judges' and API models' keys are checked at validation; a dry run never calls them.
    env = {**os.environ, "ARQUIVO_WARC_ROOT": str(tmp / "arquivo"), "GEMINI_API_KEY": "unused: dry run", "MARITACA_API_KEY": "unused: dry run"}

    def run(*args: str) -> str:
        cmd = snakemake_cmd(workdir, *args, "--configfile", "config/paper.yaml", "shards.yaml")
        proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return proc.stdout + proc.stderr

    dry = run("-n")  # prints the plan and writes plan.csv, dry run or not
    plan_csv = workdir / "results/report/plan.csv"
    with open(plan_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    written = plan_csv.stat().st_mtime_ns
    run("-n")
    # An unchanged plan is not rewritten: run_summary, which reads it, does not rerun for nothing.
    assert plan_csv.stat().st_mtime_ns == written
    return {"dry": dry, "rows": rows, "archive_bytes": archive_bytes, "paper": paper}


def number(cell: str) -> float | None:
    return float(cell) if cell else None


def test_plan_is_printed_and_its_job_counts_are_the_dags(paper_run):
    out, rows = paper_run["dry"], paper_run["rows"]
    assert out.index("Cost plan") < out.index("Building DAG of jobs")  # at the start, before the DAG
    assert out.count("Cost plan") == 1 and "GPU hours requested by" not in out  # the old lines are gone
    assert "not in the plan" not in out  # every rule a cluster runs has a job count
    printed = printed_plan(out)
    assert list(printed) == ["rule", *[r["rule"] for r in rows]]
    assert printed["rule"] == list(COLUMNS[1:])
    stats = job_stats(out)
    for row in rows[:-1]:
        assert int(row["jobs"]) == stats[row["rule"]], row["rule"]
        assert printed[row["rule"]][0] == f"{int(row['jobs']):,}"
    assert int(next(r for r in rows if r["rule"] == "filter_shard")["jobs"]) == 3  # 10 + 4 files, 5 per shard


def planned_wildcards(out: str, rule: str) -> list[dict[str, str]]:
    """The wildcards of every job of `rule` the dry run printed."""
    blocks = re.findall(rf"^(?:local)?rule {rule}:\n(.*?)^\S", out, flags=re.MULTILINE | re.DOTALL)
    found = [re.search(r"^    wildcards: (.*)$", b, flags=re.MULTILINE) for b in blocks]
    return [dict(kv.split("=", 1) for kv in m[1].split(", ")) for m in found if m]


def test_paper_dry_run_plans_all_20_p3b3_models_and_both_p3b3_judges(paper_run):
    """Generation for every model of the P3B3 paper's list (its two API models on the submit host), and
    judge jobs of Gemini-3 Flash and Gemma-4-31B on each; Gemini 2.5 Pro judges the Table 4 models."""
    out, paper = paper_run["dry"], paper_run["paper"]
    p3b3_models = {m["name"] for m in paper["genbench"]["p3b3"]["models"]}
    evaluated = {m["name"] for m in paper["evaluation"]["models"] + paper["evaluation"]["trained"]}
    assert len(p3b3_models) == 20
    generated = planned_wildcards(out, "genbench_generate") + planned_wildcards(out, "genbench_generate_api")
    assert {w["model"] for w in generated if w["bench"] == "p3b3"} == p3b3_models | evaluated
    assert {w["model"] for w in planned_wildcards(out, "genbench_generate_api")} == {"Sabia-4", "Gemini-3-Flash"}
    assert not {w["model"] for w in generated if w["bench"] != "p3b3"} & (p3b3_models - evaluated)  # P3B3 only
    judged = planned_wildcards(out, "genbench_judge")
    for judge in ("gemini-3-flash", "gemma-4-31b"):
        assert {w["model"] for w in judged if w["judge"] == judge and w["judged_bench"] == "p3b3"} == p3b3_models | {"AMALIA-9B-DPO-rerun"}, judge
    assert {(w["model"], w["judged_bench"]) for w in judged if w["judge"] == "gemini-2.5-pro"} == {(m, b) for m in evaluated for b in ("alba", "p3b3")}
    assert "hub revision(s) not pinned to a commit" in out and "genbench.p3b3.models.6 carminho/AMALIA-9B-50-1225-DPO@main" in out


def test_totals_add_up(paper_run):
    *rows, total = paper_run["rows"]
    assert total["rule"] == "total" and len(rows) > 20
    for row in rows:
        jobs = int(row["jobs"])
        for per_job, col in (("gpu_h_per_job", "gpu_h"), ("cpu_h_per_job", "cpu_h")):
            assert float(row[col]) == pytest.approx(jobs * float(row[per_job])), (row["rule"], col)
        assert float(row["gpu_h_per_job"]) == pytest.approx(int(row["gpus_per_job"]) * float(row["runtime_h_per_job"]))
        assert float(row["cpu_h_per_job"]) == pytest.approx(int(row["cpus_per_job"]) * float(row["runtime_h_per_job"]))
    for col in ("jobs", "gpu_h", "cpu_h", "estimated_cpu_h", "output_gb"):
        assert float(total[col]) == pytest.approx(sum(number(r[col]) or 0 for r in rows)), col
    assert all(total[c] == "" for c in COLUMNS if c.endswith("_per_job"))


def test_training_gpu_hours_are_the_papers_budgets(paper_run):
    rows = {r["rule"]: r for r in paper_run["rows"]}
    resources = paper_run["paper"]["resources"]
    # Section 4: 80 h x 256 H100 (CPT), 76 h x 64 (SFT), 12 h x 64 (DPO), as paper.yaml's resources say.
    for rule, hours, gpus in (("pretrain", 80, 256), ("sft", 76, 64), ("dpo", 12, 64)):
        block = resources[rule]
        assert resources[rule]["runtime"] == hours * 60 and int(block["gres"].split(":")[1]) * block["nodes"] == gpus
        assert rows[rule]["jobs"] == "1" and float(rows[rule]["gpu_h"]) == hours * gpus
        assert int(rows[rule]["nodes_per_job"]) == block["nodes"]
        assert int(rows[rule]["cpus_per_job"]) == block["threads"] * block["nodes"]  # threads per node's task
    assert float(rows["filter_shard"]["gpu_h"]) == 0 and float(rows["classify_shard"]["gpus_per_job"]) == 1


def test_data_estimates_come_from_the_archives_size(paper_run):
    rows = {r["rule"]: r for r in paper_run["rows"]}
    plan_cfg = paper_run["paper"]["cost_plan"]
    input_bytes = paper_run["archive_bytes"]
    estimate = input_bytes / 1e6 / plan_cfg["throughput_mb_per_cpu_hour"]
    assert float(rows["filter_shard"]["estimated_cpu_h"]) == pytest.approx(estimate)
    assert [r for r, row in rows.items() if row["estimated_cpu_h"]] == ["filter_shard", "total"]
    for rule, ratio in plan_cfg["output_bytes_per_input_byte"].items():
        assert float(rows[rule]["output_gb"]) == pytest.approx(ratio * input_bytes / 1e9), rule
    assert f"input: {len(WEB) + len(BOOKS)} files, {input_bytes / 1e9:,.3f} GB of archives" in paper_run["dry"]


def test_validate_measures_archives_once_and_only_when_asked(tmp_path, monkeypatch):
    total = make_archive(tmp_path / "arquivo")
    monkeypatch.setenv("ARQUIVO_WARC_ROOT", str(tmp_path / "arquivo"))
    monkeypatch.setenv("GEMINI_API_KEY", "unused: no judge call")
    monkeypatch.setenv("MARITACA_API_KEY", "unused: no API call")
    paper = paper_config()
    files = validate(paper, REPO)
    assert files["arquivo-web"].input_bytes == sum(WEB) and files["arquivo-books"].input_bytes == sum(BOOKS)
    assert sum(f.input_bytes for f in files.values()) == total and len(files["arquivo-web"]) == len(WEB)
    assert all(f.input_bytes is None for f in validate(paper, REPO, sizes=False).values())
    default = validate(yaml.safe_load((REPO / "config/config.yaml").read_text()), REPO)
    assert all(f.input_bytes is None for f in default.values())  # synthetic: made by the run


def test_default_plan_counts_the_default_dag(tmp_path):
    workdir = make_workdir(tmp_path / "default")
    proc = subprocess.run(snakemake_cmd(workdir, "-n"), cwd=workdir, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    printed, stats = printed_plan(out), job_stats(out)
    assert "synthesize_warc" in printed and "not in the plan" not in out
    for rule, cells in printed.items():
        if rule not in ("rule", "total"):
            assert int(cells[0]) == stats[rule], rule
    assert "input size not known before the run" in out
    assert len(printed["total"]) == 3  # jobs, gpu_h, cpu_h: no estimate without archives on disk

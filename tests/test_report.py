"""The reviewer's report: benchmark files, versions, cell provenance (unit), what the report rules read
in the real workflow (dry run), and the whole `snakemake --report` page of the embedded default (end
to end)."""

from __future__ import annotations

import base64
import csv
import json
import math
import re
import urllib.parse
from pathlib import Path

import pandas as pd
import pytest
import yaml

from amalia_wf.benchmark_plan import BenchmarkJob, BenchmarkPlan, wildcard_jobs
from amalia_wf.report import per_bar, pins, provenance, read_benchmark, runtime_chart, runtimes, versions
from amalia_wf.tables.compare import Cell, Coverage, compare
from amalia_wf.tables.registry import HELDOUT_TABLE, TABLES, html_pages, table_path
from tests.conftest import make_workdir, run_snakemake

# The default's tables: all registered ones but the held-out perplexity (no collection holds pages out).
DEFAULT_TABLES = {name: table for name, table in TABLES.items() if name != HELDOUT_TABLE}

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _tsv(path: Path, *rows: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(r + "\n" for r in rows))
    return str(path)


# --- benchmark files -----------------------------------------------------------------------------


def test_benchmark_rows_units_and_unmeasured_values(tmp_path):
    slow = _tsv(tmp_path / "a.tsv", "12.50\t0:00:12\t256.70\t761.80\t237.77\t245.03\t6.44\t0.14\t64.66\t4.79")
    fast = _tsv(tmp_path / "b.tsv", "0.0123\t0:00:00\tNA\tNA\tNA\tNA\tNA\tNA\tNA\tNA")
    repeated = _tsv(tmp_path / "c.tsv", "2.00\t0:00:02\t10\t20\t5\t6\t0\t0\t50\t1", "4.00\t0:00:04\t30\t40\t5\t6\t0\t0\t50\t3")
    frame = runtimes([BenchmarkJob("pretrain", "", slow), BenchmarkJob("filter_shard", "collection=a, shard=00000", fast), BenchmarkJob("sft", "", repeated)])
    assert list(frame.columns) == ["rule", "job", "repeat", "wall_s", "max_rss_mb", "max_vms_mb", "max_uss_mb", "max_pss_mb", "io_in_mb", "io_out_mb", "mean_load", "cpu_s", "benchmark"]
    assert frame.loc[0, ["rule", "wall_s", "max_rss_mb", "cpu_s"]].tolist() == ["pretrain", 12.5, 256.7, 4.79]
    assert frame.loc[1, "job"] == "collection=a, shard=00000" and frame.loc[1, "wall_s"] == 0.0123
    assert frame.loc[1, ["max_rss_mb", "mean_load", "cpu_s"]].isna().all()  # "NA" is not a zero
    assert frame["repeat"].tolist() == [0, 0, 0, 1] and frame["benchmark"].tolist()[-1] == repeated
    bars = per_bar(frame)
    assert bars["label"].tolist() == ["pretrain", "filter_shard [collection=a, shard=00000]", "sft"]
    assert bars.loc[2, "wall_s"] == 3.0 and bars.loc[2, "max_rss_mb"] == 30.0  # mean time, largest RSS over repeats
    assert math.isnan(bars.loc[1, "max_rss_mb"])
    runtime_chart(frame, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").read_bytes()[:4] == b"\x89PNG"


def test_benchmark_jsonl_and_none_values(tmp_path):
    path = tmp_path / "x.jsonl"
    record = {"s": 1.5, "h:m:s": "0:00:01", "max_rss": None, "max_vms": 2, "max_uss": 1, "max_pss": 1, "io_in": 0, "io_out": 0, "mean_load": 9, "cpu_time": 1}
    path.write_text(json.dumps(record) + "\n")
    frame = read_benchmark(path)
    assert frame.loc[0, "wall_s"] == 1.5 and math.isnan(frame.loc[0, "max_rss_mb"])
    (tmp_path / "y.tsv").write_text("a\tb\n1\t2\n")
    with pytest.raises(ValueError, match="not a Snakemake benchmark file"):
        read_benchmark(tmp_path / "y.tsv")


def test_many_jobs_are_charted_per_rule(tmp_path):
    jobs = [BenchmarkJob("filter_shard", f"shard={i:05d}", _tsv(tmp_path / f"{i}.tsv", f"{i}\t0\t{i * 10}\t0\t0\t0\t0\t0\t0\t0")) for i in range(1, 6)]
    jobs.append(BenchmarkJob("pretrain", "", _tsv(tmp_path / "p.tsv", "100\t0\t7\t0\t0\t0\t0\t0\t0\t0")))
    bars = per_bar(runtimes(jobs), max_bars=3)
    assert bars.to_dict("list") == {"label": ["filter_shard (5 jobs, total)", "pretrain (1 job, total)"], "wall_s": [15.0, 100.0], "max_rss_mb": [50.0, 7.0]}
    runtime_chart(runtimes([]), tmp_path / "empty.png")  # a DAG without benchmarked jobs still has a chart
    assert (tmp_path / "empty.png").exists()


# --- which jobs and tables the report rules read ---------------------------------------------------


def test_benchmark_plan_lists_every_job_of_every_rule_added():
    plan = BenchmarkPlan()
    assert plan.add("filter_shard", "b/filter/{collection}-{shard}.tsv", [{"collection": "a", "shard": "00000"}, {"shard": "00001", "collection": "a"}]) == "b/filter/{collection}-{shard}.tsv"
    plan.add("judge", "b/judge/{model}/{judged_bench}.tsv", wildcard_jobs(model=["m1"], judged_bench=["alba", "p3b3"]))
    plan.add("pretrain", "b/pretrain.tsv", wildcard_jobs())
    plan.add("safety", "b/{model}/{safety_bench}.tsv", wildcard_jobs(model=["m1"], safety_bench=[]))  # no jobs
    assert plan.jobs() == [
        BenchmarkJob("filter_shard", "collection=a, shard=00000", "b/filter/a-00000.tsv"),
        BenchmarkJob("filter_shard", "collection=a, shard=00001", "b/filter/a-00001.tsv"),
        BenchmarkJob("judge", "model=m1, judged_bench=alba", "b/judge/m1/alba.tsv"),
        BenchmarkJob("judge", "model=m1, judged_bench=p3b3", "b/judge/m1/p3b3.tsv"),
        BenchmarkJob("pretrain", "", "b/pretrain.tsv"),
    ]
    with pytest.raises(ValueError, match="rule pretrain: benchmark pattern registered twice"):
        plan.add("pretrain", "b/pretrain.tsv", wildcard_jobs())
    with pytest.raises(ValueError, match=r"rule judge2: a job has wildcards \['model'\], its benchmark b/\{model\}-\{setting\}.tsv names \['model', 'setting'\]"):
        plan.add("judge2", "b/{model}-{setting}.tsv", wildcard_jobs(model=["m1"]))


def _dry_run_jobs(workdir: Path, target: str) -> dict[str, list[dict[str, list[str]]]]:
    """rule -> its jobs in `snakemake -n target`, each as {"input": [...], "output": [...], "benchmark": [...]}."""
    jobs: dict[str, list[dict[str, list[str]]]] = {}
    current: dict[str, list[str]] | None = None
    for line in run_snakemake(workdir, "-n", target).stdout.splitlines():
        if match := re.fullmatch(r"(?:local)?rule (\w+):", line):
            current = {}
            jobs.setdefault(match[1], []).append(current)
        elif current is not None and (match := re.fullmatch(r"    (input|output|benchmark): (.*)", line)):
            current[match[1]] = match[2].split(", ")
    return jobs


def test_report_reads_the_benchmark_file_of_every_job_and_every_table(tmp_path):
    """The real workflow on the default config, dry run: run_summary's inputs are exactly the benchmark
    files of the jobs of its DAG and every registered table, and the table rules write those tables."""
    workdir = make_workdir(tmp_path / "wf")
    jobs = _dry_run_jobs(workdir, "run_report")
    [summary] = jobs["run_summary"]
    benchmarks = [f for rule_jobs in jobs.values() for job in rule_jobs for f in job.get("benchmark", [])]
    tables = [table_path(name, "csv") for name in DEFAULT_TABLES]
    plan = ["results/report/plan.csv"]  # written by rules/plan.smk at every start
    assert len(benchmarks) >= 30 and sorted(summary["input"]) == sorted(benchmarks + tables + plan)
    written = {f for rule in {t.rule for t in DEFAULT_TABLES.values()} for job in jobs[rule] for f in job["output"]}
    assert {table_path(name, ext) for name, table in DEFAULT_TABLES.items() for ext in table.formats} <= written
    assert "heldout_table" not in jobs
    [report] = jobs["run_report"]
    pages = html_pages(DEFAULT_TABLES)
    assert sorted(report["input"]) == sorted(summary["output"] + pages) and len(pages) == 6


# --- provenance and versions -----------------------------------------------------------------------


def _table(tmp_path: Path) -> Path:
    cells = [
        Cell("tiny-sft", "fully_open", "AMALIA-9B-SFT", "ARC-C", 41.234, "evaluate_model", ("results/eval/tiny-sft/arc_c.json",), "model results/models/sft, arc_pt acc",
             coverage=Coverage(1165, 1172, 0.95)),
        Cell("tiny-sft", "fully_open", "AMALIA-9B-SFT", "MMLU", None, "evaluate_model", ("results/eval/tiny-sft/mmlu.json",), "model results/models/sft"),
    ]
    frame = compare("table3", cells, ["ARC-C", "MMLU"], tolerance=2.0)
    path = tmp_path / "table3.csv"
    frame.to_csv(path, index=False)
    return path


def test_provenance_has_one_row_per_cell_with_rule_and_inputs(tmp_path):
    path = _table(tmp_path)
    long = pd.read_csv(path)
    prov = provenance({"table3": {"path": str(path), "rule": "table3"}})
    assert len(prov) == len(long) and len(prov) > 2  # reproduced cells and the paper's other rows
    arc = prov[(prov["model"] == "tiny-sft") & (prov["column"] == "ARC-C")].iloc[0]
    assert (arc["table"], arc["table_rule"], arc["rule"], arc["value"]) == ("table3", "table3", "evaluate_model", "41.23")
    assert (arc["inputs"], arc["detail"]) == ("results/eval/tiny-sft/arc_c.json", "model results/models/sft, arc_pt acc")
    assert arc["coverage"] == "0.994" and arc["status"] != "partial"  # 1165 of 1172 items, above 0.95
    mmlu = prov[(prov["model"] == "tiny-sft") & (prov["column"] == "MMLU")].iloc[0]
    assert (mmlu["value"], mmlu["status"], mmlu["rule"]) == ("", "missing", "evaluate_model")
    unreproduced = prov[prov["model"] == ""]
    assert len(unreproduced) and (unreproduced[["rule", "inputs", "detail", "value"]] == "").all().all()
    assert prov["row"].tolist() == list(range(1, len(long) + 1))


def test_provenance_of_a_table_not_compared_cell_by_cell_names_the_table_rule(tmp_path):
    """A summary CSV beside the paper's tables: every row x column cell, produced by its table's rule."""
    summary = tmp_path / "p3b3_summary.csv"
    pd.DataFrame({"model": ["m1", "m2"], "setting": ["pt-PT", "none"], "mean": [71.5, None]}).to_csv(summary, index=False)
    prov = provenance(
        {
            "p3b3_summary": {"path": str(summary), "rule": "p3b3_table2", "inputs": ["results/genbench/m1/p3b3/scores/variety.jsonl.gz", "x.gz"]},
            "table3": {"path": str(_table(tmp_path)), "rule": "table3", "inputs": []},
        }
    )
    own = prov[prov["table"] == "p3b3_summary"]
    assert own[["row", "model", "column", "value"]].values.tolist() == [
        [1, "m1", "model", "m1"], [1, "m1", "setting", "pt-PT"], [1, "m1", "mean", "71.5"],
        [2, "m2", "model", "m2"], [2, "m2", "setting", "none"], [2, "m2", "mean", ""],
    ]  # fmt: skip
    assert set(own["rule"]) == {"p3b3_table2"} and set(own["table_rule"]) == {"p3b3_table2"}
    assert set(own["inputs"]) == {"results/genbench/m1/p3b3/scores/variety.jsonl.gz x.gz"}
    assert set(prov[prov["table"] == "table3"]["rule"]) == {"evaluate_model", ""}
    assert list(prov.columns) == ["table", "table_rule", "row", "group", "model", "paper_row", "column", "value", "reported", "status", "coverage", "rule", "inputs", "detail"]


def test_versions_beside_their_pins(tmp_path):
    envs = tmp_path / "envs"
    (envs / "gpu").mkdir(parents=True)
    (envs / "data.yaml").write_text(yaml.safe_dump({"dependencies": ["python=3.11", "pip", {"pip": ["pandas==3.1.1", "datatrove[processing]==0.10.1"]}]}))
    (envs / "gpu" / "vllm.yaml").write_text(yaml.safe_dump({"dependencies": ["python=3.11", {"pip": ["vllm==9.9.9", "pandas==2.0.0"]}]}))
    assert pins(envs)["pandas"] == {"3.1.1": ["envs/data.yaml"], "2.0.0": ["envs/gpu/vllm.yaml"]}
    frame = versions("9.27.1", tmp_path, packages=["pandas", "datatrove", "vllm", "no-such-package-xyz"], envs_dir=envs)
    rows = {r["component"]: r for r in frame.to_dict("records")}
    assert rows["workflow git commit"]["version"] == "unknown"  # tmp_path is no git checkout
    assert rows["snakemake"]["version"] == "9.27.1"
    assert (rows["python"]["pinned"], rows["python"]["pinned_in"], rows["python"]["gpu_pinned"]) == ("3.11", "envs/data.yaml", "3.11 (envs/gpu/vllm.yaml)")
    assert rows["pandas"]["version"] == pd.__version__
    assert (rows["pandas"]["pinned"], rows["pandas"]["pinned_in"], rows["pandas"]["gpu_pinned"]) == ("3.1.1", "envs/data.yaml", "2.0.0 (envs/gpu/vllm.yaml)")
    assert rows["datatrove"]["pinned"] == "0.10.1" and (rows["vllm"]["pinned"], rows["vllm"]["gpu_pinned"]) == ("", "9.9.9 (envs/gpu/vllm.yaml)")
    assert rows["no-such-package-xyz"]["version"] == "not installed"


def test_versions_name_the_commit_of_a_git_checkout():
    frame = versions("x", Path(__file__).resolve().parents[1], packages=[])
    commit = frame.set_index("component").loc["workflow git commit", "version"]
    assert re.fullmatch(r"[0-9a-f]{40}|unknown", commit)


# --- the whole report (end to end) -----------------------------------------------------------------


def _embedded(html: str, name: str) -> object:
    """One of the JSON objects the report page embeds (`<script id="results">var results = {...};`)."""
    match = re.search(rf'<script id="{name}">\s*var {name} = (.*?);\n', html, re.DOTALL)
    assert match, f"no {name} in the report"
    return json.loads(match.group(1))


def _content(entry: dict) -> bytes:
    """An embedded file: its data URI's base64 payload, decoded."""
    header, _, data = entry["data_uri"].partition(";base64,")
    assert header.startswith("data:") and data
    return base64.b64decode(urllib.parse.unquote(data))


@pytest.mark.slow
def test_report_holds_every_table_plot_and_the_run(default_run, tmp_path):
    """One self-contained page: every file below is embedded (base64 data URI) with its caption."""
    # Written outside the shared run, whose outputs later tests compare file by file.
    run_snakemake(default_run, "--report", str(tmp_path / "report.html"))
    html = (tmp_path / "report.html").read_text()
    results = {str(Path(p)): e for p, e in _embedded(html, "results").items()}
    categories = _embedded(html, "categories")

    def entry(path: str, category: str) -> dict:
        assert path in results, f"{path} not in the report ({sorted(results)})"
        assert results[path]["caption"].strip(), f"{path} has no caption"
        assert any(path in files for files in categories[category].values()), f"{path} not under {category}"
        return results[path]

    def embedded(path: str, category: str) -> bytes:
        content = _content(entry(path, category))
        assert content == (default_run / path).read_bytes(), f"{path}: the report holds other content"
        return content

    # Every result table: its CSV and, for the paper's tables, the wide Markdown and the same table
    # as HTML (shown inline); the charts.
    tables = sorted(p.stem for p in (default_run / "results/tables").glob("*.csv"))
    assert "table3" in tables and tables == sorted(DEFAULT_TABLES)
    for name in tables:
        embedded(f"results/tables/{name}.csv", "Tables")
    for name in sorted(p.stem for p in (default_run / "results/tables").glob("*.md")):
        embedded(f"results/tables/{name}.md", "Tables")
        page = entry(f"results/tables/{name}.html", "Tables")
        assert page["mime_type"] == "text/html" and name in page["caption"]
        assert "<table id=" in embedded(f"results/tables/{name}.html", "Tables").decode()
    plots = [p for p in results if p.startswith("results/tables/table3_plots/")]
    assert len(plots) == 11 and all(results[p]["mime_type"] == "image/png" for p in plots)

    # The data funnel and histograms, the training curves.
    for name in ("funnel.csv", "removal_reasons.csv", "token_counts.csv", "language_scores.png", "domains.png"):
        embedded(f"results/data/stats/{name}", "Data")
    for name in ("curves.png", "throughput.csv"):
        embedded(f"results/train/{name}", "Training")

    # The run: runtime and memory of every benchmarked job, config, versions, cell provenance.
    run = sorted(p for files in categories["Run"].values() for p in files)
    assert run == [f"results/report/{n}" for n in ("config.yaml", "plan.csv", "provenance.csv", "runtimes.csv", "runtimes.png", "versions.csv")]
    assert embedded("results/report/runtimes.png", "Run")[:4] == b"\x89PNG"
    timings = list(csv.DictReader(embedded("results/report/runtimes.csv", "Run").decode().splitlines()))
    benchmarks = sorted(str(p.relative_to(default_run)) for p in (default_run / "results/benchmarks").rglob("*.tsv"))
    assert sorted(r["benchmark"] for r in timings) == benchmarks and len(benchmarks) >= 20
    assert {"filter_shard", "dedup_cross", "build_split", "pretrain", "sft", "dpo", "evaluate_model"} <= {r["rule"] for r in timings}
    assert all(float(r["wall_s"]) > 0 for r in timings)
    assert all(float(r["max_rss_mb"]) > 0 for r in timings if r["rule"] in ("pretrain", "sft", "dpo"))

    used = embedded("results/report/config.yaml", "Run").decode()
    assert "# config/config.yaml" in used.split("\nseed:")[0]  # the header names the config files
    assert yaml.safe_load(used) == yaml.safe_load((default_run / "config/config.yaml").read_text())  # no override here

    versions_rows = {r["component"]: r for r in csv.DictReader(embedded("results/report/versions.csv", "Run").decode().splitlines())}
    for component in ("workflow git commit", "python", "snakemake", "torch", "transformers", "trl", "datatrove", "lm-eval", "vllm"):
        assert versions_rows[component]["version"], component
    assert versions_rows["torch"]["version"].startswith(versions_rows["torch"]["pinned"])
    assert versions_rows["snakemake"]["version"] == versions_rows["snakemake"]["pinned"]

    cells = list(csv.DictReader(embedded("results/report/provenance.csv", "Run").decode().splitlines()))
    frames = {name: pd.read_csv(default_run / f"results/tables/{name}.csv") for name in tables}
    # A paper table has one row per cell (compare's long format); any other CSV, rows x columns.
    assert len(cells) == sum(len(f) if {"rule", "paths"} <= set(f.columns) else f.size for f in frames.values())
    assert {r["table"] for r in cells} == set(tables)
    reproduced = [r for r in cells if r["value"]]
    assert reproduced and all(r["rule"] and r["inputs"] and r["table_rule"] for r in reproduced)
    table3 = [r for r in reproduced if r["table"] == "table3"]
    assert len(table3) == 2 * 11 and {r["rule"] for r in table3} == {"evaluate_model"}  # 2 trained models x 11 tasks
    assert all(r["inputs"].startswith(f"results/eval/{r['model']}/") for r in table3)

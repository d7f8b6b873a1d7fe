"""The reviewer's part of the HTML report: the run itself beside the results.

Runtime and memory of every benchmarked job (Snakemake's `benchmark:` files), the software
versions and where every table cell came from. (The tables' HTML, which Snakemake's report shows
inline, the table rules write themselves: amalia_wf.tables.render.)
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from amalia_wf.benchmark_plan import BenchmarkJob
from amalia_wf.envs import ENVS_DIR, canonical_name, env_files, pip_pins

# Snakemake's benchmark columns -> ours (units in the name). max_* are MB, io_* MB, cpu_time seconds.
BENCHMARK_FIELDS = {
    "s": "wall_s",
    "max_rss": "max_rss_mb",
    "max_vms": "max_vms_mb",
    "max_uss": "max_uss_mb",
    "max_pss": "max_pss_mb",
    "io_in": "io_in_mb",
    "io_out": "io_out_mb",
    "mean_load": "mean_load",
    "cpu_time": "cpu_s",
}
RUNTIME_COLUMNS = ["rule", "job", "repeat", *BENCHMARK_FIELDS.values(), "benchmark"]
# The checkout the workflow runs from (common.smk puts it first on the jobs' PYTHONPATH).
WORKFLOW_DIR = Path(__file__).resolve().parents[1]
# Missing measurements: "NA" (the job ended before the first memory sample), "-" (None).
MISSING = ("NA", "-", "")
# Up to this many jobs the chart has one bar per job; beyond (paper scale: thousands of shards) one per rule.
MAX_BARS = 60

# What the versions table lists besides python, snakemake and the workflow's commit.
PACKAGES = (
    "torch",
    "transformers",
    "tokenizers",
    "trl",
    "accelerate",
    "datasets",
    "datatrove",
    "trafilatura",
    "lm-eval",
    "vllm",
    "pandas",
    "numpy",
)
VERSION_COLUMNS = ["component", "version", "pinned", "pinned_in", "gpu_pinned"]
PROVENANCE_COLUMNS = [
    "table",
    "table_rule",
    "row",
    "group",
    "model",
    "paper_row",
    "column",
    "value",
    "reported",
    "status",
    "coverage",
    "rule",
    "inputs",
    "detail",
]


def read_benchmark(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The records of one benchmark file (TSV, or JSON lines for a `.jsonl` path), one row per
    repeat, with our column names; unmeasured values are NaN."""
    path = Path(path)
    if path.suffix == ".jsonl":
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        frame = pd.DataFrame(records, dtype=object)
    else:
        frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    missing = [c for c in BENCHMARK_FIELDS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: not a Snakemake benchmark file (no column {', '.join(missing)})")
    out = pd.DataFrame({new: [_number(v) for v in frame[old]] for old, new in BENCHMARK_FIELDS.items()})
    out.insert(0, "repeat", range(len(out)))
    return out


def _number(value: object) -> float:
    if value is None or (isinstance(value, str) and value.strip() in MISSING):
        return math.nan
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def runtimes(jobs: Sequence[BenchmarkJob]) -> pd.DataFrame:
    """One row per job and repeat, in the order given."""
    parts = []
    for job in jobs:
        frame = read_benchmark(job.path)
        frame.insert(0, "rule", job.rule)
        frame.insert(1, "job", job.job)
        frame["benchmark"] = job.path
        parts.append(frame)
    if not parts:
        return pd.DataFrame(columns=RUNTIME_COLUMNS)
    return pd.concat(parts, ignore_index=True)[RUNTIME_COLUMNS]


def per_bar(frame: pd.DataFrame, max_bars: int = MAX_BARS) -> pd.DataFrame:
    """What the chart draws: label, wall time (s) and max RSS (MB). One bar per job (the mean wall
    time and the largest RSS over repeats) or, for more than `max_bars` jobs, one per rule (summed
    wall time over its jobs, the largest RSS of any)."""
    jobs = frame.groupby(["rule", "job"], sort=False).agg(wall_s=("wall_s", "mean"), max_rss_mb=("max_rss_mb", "max")).reset_index()
    if len(jobs) <= max_bars:
        labels = [f"{r} [{j}]" if j else r for r, j in zip(jobs["rule"], jobs["job"])]
        return pd.DataFrame({"label": labels, "wall_s": jobs["wall_s"], "max_rss_mb": jobs["max_rss_mb"]})
    rules = jobs.groupby("rule", sort=False).agg(wall_s=("wall_s", "sum"), max_rss_mb=("max_rss_mb", "max"), n=("job", "size"))
    return pd.DataFrame(
        {
            "label": [f"{r} ({n} job{'s' if n != 1 else ''}, total)" for r, n in zip(rules.index, rules["n"])],
            "wall_s": rules["wall_s"].to_numpy(),
            "max_rss_mb": rules["max_rss_mb"].to_numpy(),
        }
    )


def runtime_chart(frame: pd.DataFrame, path: str | os.PathLike[str], max_bars: int = MAX_BARS) -> None:
    """Wall time and peak resident memory side by side; an unmeasured RSS is labelled, not drawn as 0."""
    from amalia_wf.figures import plt, write_png  # matplotlib: only this job needs it

    bars = per_bar(frame, max_bars)
    n = max(len(bars), 1)
    fig, (ax_t, ax_m) = plt.subplots(1, 2, sharey=True, figsize=(11, max(2.5, 0.28 * n + 1.2)))
    y = list(range(len(bars)))
    ax_t.barh(y, bars["wall_s"].astype(float), color="tab:blue")
    ax_m.barh(y, bars["max_rss_mb"].astype(float), color="tab:orange")
    for i, rss in zip(y, bars["max_rss_mb"]):
        if pd.isna(rss):
            ax_m.text(0, i, " not measured", va="center", fontsize=7)
    if not len(bars):
        ax_t.text(0.5, 0.5, "no benchmarked jobs", ha="center", va="center", transform=ax_t.transAxes)
    ax_t.set_yticks(y, bars["label"], fontsize=7)
    ax_t.invert_yaxis()
    ax_t.set_xlabel("wall time (s)")
    ax_m.set_xlabel("max RSS (MB)")
    fig.tight_layout()
    write_png(fig, path)


def git_state(repo: str | os.PathLike[str]) -> tuple[str, str]:
    """(commit, "yes"/"no" for uncommitted changes), or ("unknown", "unknown") outside a git checkout."""

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        return commit, "yes" if git("status", "--porcelain", "--untracked-files=no") else "no"
    except (OSError, subprocess.CalledProcessError):
        return "unknown", "unknown"


def pins(envs_dir: str | os.PathLike[str] = ENVS_DIR) -> dict[str, dict[str, list[str]]]:
    """canonical package name (and "python") -> pinned version -> env files pinning it, over
    envs/*.yaml and envs/gpu/*.yaml (the GPU envs may pin other versions than the CPU ones)."""
    import yaml

    envs_dir = Path(envs_dir)
    found: dict[str, dict[str, list[str]]] = {}
    for env_file in sorted(env_files(envs_dir)):
        name = env_file.relative_to(envs_dir.parent).as_posix()
        spec = yaml.safe_load(env_file.read_text(encoding="utf-8"))
        for dep in spec.get("dependencies", []):
            if isinstance(dep, str) and dep.startswith("python="):
                found.setdefault("python", {}).setdefault(dep.split("=", 1)[1], []).append(name)
        for pin in pip_pins(env_file):
            package, sep, version = pin.partition("==")
            if sep:
                found.setdefault(canonical_name(package), {}).setdefault(version, []).append(name)
    return found


def installed(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def versions(
    snakemake_version: str,
    repo: str | os.PathLike[str] = WORKFLOW_DIR,
    packages: Iterable[str] = PACKAGES,
    envs_dir: str | os.PathLike[str] = ENVS_DIR,
) -> pd.DataFrame:
    """The workflow's commit (`repo`: the checkout; not a rule parameter, so that a copied or moved
    run directory is not out of date), the Snakemake that ran it, and python and `packages` as installed
    where this runs (the report job's environment: with the pip setup, the one every job uses;
    with --sdm conda, one of envs/*.yaml), each beside its pins: `pinned` in envs/*.yaml (one
    version, tests/test_envs.py checks), `gpu_pinned` in envs/gpu/*.yaml."""
    pinned = pins(envs_dir)
    commit, dirty = git_state(repo)

    def row(component: str, version: str, key: str | None = None) -> dict[str, str]:
        cpu, gpu = [], []
        for pin, files in pinned.get(key, {}).items() if key else ():
            cpu += [(pin, f) for f in files if not f.startswith("envs/gpu/")]
            gpu += [(pin, f) for f in files if f.startswith("envs/gpu/")]
        return {
            "component": component,
            "version": version,
            "pinned": " / ".join(dict.fromkeys(p for p, _ in cpu)),
            "pinned_in": " ".join(f for _, f in cpu),
            "gpu_pinned": "; ".join(f"{p} ({f})" for p, f in gpu),
        }

    rows = [
        row("workflow git commit", commit),
        row("workflow uncommitted changes", dirty),
        row("python", platform.python_version(), "python"),
        row("snakemake", snakemake_version, "snakemake"),
    ]
    rows += [row(p, installed(p), canonical_name(p)) for p in packages]
    return pd.DataFrame(rows, columns=VERSION_COLUMNS)


def provenance(tables: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per cell of every CSV under results/tables/. `tables`: table name -> {"path": its
    CSV, "rule": the rule that wrote it, "inputs": that rule's input files}.

    A compared table (amalia_wf.tables.compare: one row per model and column, with the `rule`,
    `paths` and `detail` of each cell) gives each cell its own producer: `rule` wrote the files
    `inputs` names, `detail` says what else made the value (a cell the run did not reproduce has
    none). Any other CSV (a summary, a plot's data) was computed as a whole by the rule that wrote
    it: each of its cells (every row x column) names that rule and its inputs. `row` is the cell's
    1-based row in its CSV."""
    parts = []
    for name, spec in tables.items():
        frame = pd.read_csv(spec["path"], dtype=object, keep_default_na=False)
        rows = list(range(1, len(frame) + 1))
        if {"column", "rule", "paths"} <= set(frame.columns):
            part = pd.DataFrame(
                {
                    "row": rows,
                    "group": frame.get("group", ""),
                    "model": frame.get("model", ""),
                    "paper_row": frame.get("paper_row", ""),
                    "column": frame["column"],
                    "value": frame["reproduced"] if "reproduced" in frame.columns else frame.get("value", ""),
                    "reported": frame.get("reported", ""),
                    "status": frame.get("status", ""),
                    "coverage": frame.get("coverage", ""),
                    "rule": frame["rule"],
                    "inputs": frame["paths"],
                    "detail": frame.get("detail", ""),
                }
            )
        else:
            long = frame.assign(row=rows).melt(id_vars="row", var_name="column", value_name="value", ignore_index=True)
            long = long.sort_values("row", kind="stable")
            part = pd.DataFrame(
                {
                    "row": long["row"].to_numpy(),
                    "model": frame["model"].reindex(long["row"] - 1).to_numpy() if "model" in frame.columns else "",
                    "column": long["column"].to_numpy(),
                    "value": long["value"].to_numpy(),
                    "rule": spec.get("rule", ""),
                    "inputs": " ".join(spec.get("inputs", [])),
                }
            )
        part.insert(0, "table", name)
        part.insert(1, "table_rule", spec.get("rule", ""))
        parts.append(part.reindex(columns=PROVENANCE_COLUMNS, fill_value=""))
    if not parts:
        return pd.DataFrame(columns=PROVENANCE_COLUMNS)
    return pd.concat(parts, ignore_index=True)

"""The reviewer's part of the HTML report: the run itself beside the results.

Runtime and memory of every benchmarked job (Snakemake's `benchmark:` files), the software
versions, where every table cell came from, and the tables' Markdown as HTML (Snakemake's report
shows PNG/SVG/JPEG, HTML and PDF inline; CSV, Markdown and YAML only as downloads).
"""

from __future__ import annotations

import html
import json
import math
import os
import platform
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from amalia_wf.envs import ENVS_DIR, canonical_name, pip_pins

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
    "rule",
    "inputs",
]


@dataclass(frozen=True)
class BenchmarkJob:
    """One job that wrote a benchmark file: its rule, its wildcards as text, the file."""

    rule: str
    job: str
    path: str


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
    for env_file in sorted([*envs_dir.glob("*.yaml"), *envs_dir.glob("gpu/*.yaml")]):
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


_PRODUCED_BY = re.compile(r"rule (?P<rule>[A-Za-z_]\w*)\s*(?:->|<-|:)?\s*(?P<inputs>.*)", re.DOTALL)
_PATH = re.compile(r"(?:results|data)/[^\s,;()]+")


def parse_produced_by(text: str, producers: Sequence[tuple[str, str]] = ()) -> tuple[str, str]:
    """A cell's `produced_by` as (rule, inputs): "rule evaluate_model -> results/eval/m/arc_c.json
    (model ..., data ...)" gives ("evaluate_model", "results/eval/m/arc_c.json (model ..., data ...)").
    Text in another form is kept whole as the inputs; its rule is the one whose output (`producers`:
    rule name, output regex) is the first file the text names, or "" when none is."""
    text = (text or "").strip()
    match = _PRODUCED_BY.fullmatch(text)
    if match:
        return match["rule"], match["inputs"].strip()
    for path in _PATH.findall(text):
        for rule, regex in producers:
            if re.fullmatch(regex, path):
                return rule, text
    return "", text


def provenance(tables: Mapping[str, Mapping[str, Any]], producers: Sequence[tuple[str, str]] = ()) -> pd.DataFrame:
    """One row per cell of every CSV under results/tables/. `tables`: table name -> {"path": its
    CSV, "rule": the rule that wrote it, "inputs": that rule's input files}.

    A compared table (amalia_wf.tables.compare: one row per model and column, with `produced_by`)
    gives each cell its own producer: the rule and inputs named in `produced_by` (a cell the run
    did not reproduce has none; see parse_produced_by for `producers`). Any other CSV (a summary, a plot's data) was computed as a whole by
    the rule that wrote it: each of its cells (every row x column) names that rule and its inputs.
    `row` is the cell's 1-based row in its CSV."""
    parts = []
    for name, spec in tables.items():
        frame = pd.read_csv(spec["path"], dtype=object, keep_default_na=False)
        rows = list(range(1, len(frame) + 1))
        if {"column", "produced_by"} <= set(frame.columns):
            parsed = [parse_produced_by(t, producers) for t in frame["produced_by"]]
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
                    "rule": [r for r, _ in parsed],
                    "inputs": [i for _, i in parsed],
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


# --- Markdown tables as HTML ---------------------------------------------------------------------

STYLE = """
body { font-family: system-ui, sans-serif; font-size: 13px; margin: 1em; color: #222; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 3px 6px; white-space: nowrap; }
thead th { background: #f0f0f0; position: sticky; top: 0; }
tbody th { text-align: left; font-weight: normal; }
tr.group td { background: #fafafa; font-weight: 600; }
td.differs { background: #fde2e1; }
td.missing { color: #999; }
"""


def _inline(text: str) -> str:
    """Escape, then the Markdown the tables use: **bold**, *italic*, `code`."""
    out = html.escape(text.strip(), quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r"(?<![\w*])\*([^*]+)\*(?![\w*])", r"<em>\1</em>", out)


def _cells(line: str) -> list[str]:
    line = line.strip().removeprefix("|")
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [c.replace("\\|", "|").strip() for c in re.split(r"(?<!\\)\|", line)]


def _table(lines: list[str], flag: str) -> str:
    header = _cells(lines[0])
    body = lines[2:] if len(lines) > 1 and set(lines[1].replace("|", "").strip()) <= set("-: ") else lines[1:]
    out = ["<table>", "<thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in header) + "</tr></thead>", "<tbody>"]
    for line in body:
        cells = _cells(line)
        if cells[0] and not any(cells[1:]):  # a group heading row: "| *Fully open models* | | |"
            out.append(f'<tr class="group"><td colspan="{len(header)}">{_inline(cells[0])}</td></tr>')
            continue
        tds = [f"<th>{_inline(cells[0])}</th>"]  # the row label
        for cell in cells[1:]:
            # A value, or why there is none ("missing", "not run: ...").
            cls = "differs" if flag and flag in cell else "" if re.match(r"[-+]?\d", cell) else "missing"
            tds.append(f'<td class="{cls}">{_inline(cell)}</td>' if cls else f"<td>{_inline(cell)}</td>")
        out.append("<tr>" + "".join(tds) + "</tr>")
    out += ["</tbody>", "</table>"]
    return "\n".join(out)


def markdown_html(text: str, flag: str = "†") -> str:
    """A self-contained HTML page of the tables' Markdown (headings, paragraphs, pipe tables);
    cells carrying `flag` (outside the tolerance) are shaded, those without a value greyed."""
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if not line.strip():
            blocks.append([])
        elif blocks and blocks[-1] and (line.lstrip().startswith("|") == blocks[-1][0].lstrip().startswith("|")):
            blocks[-1].append(line)
        else:
            blocks.append([line])
    title, body = "", []
    for block in filter(None, blocks):
        if block[0].lstrip().startswith("|"):
            body.append(_table(block, flag))
            continue
        paragraph: list[str] = []
        for line in [*block, ""]:
            heading = re.match(r"(#{1,6})\s+(.*)", line)
            if (heading or not line) and paragraph:
                body.append(f"<p>{_inline(' '.join(paragraph))}</p>")
                paragraph = []
            if heading:
                level = len(heading[1])
                title = title or heading[2].strip()
                body.append(f"<h{level}>{_inline(heading[2])}</h{level}>")
            elif line:
                paragraph.append(line.strip())
    return (
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )

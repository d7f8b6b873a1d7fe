"""What a run will cost, known before it starts: per rule, jobs x per-job request = total GPU and CPU
hours (the Slurm requests of `resources`), the data stage's CPU hours estimated from the archives'
size, and the storage its outputs will take.

rules/plan.smk prints the table at the start of every run, dry runs included, and writes it to
results/report/plan.csv for the report. Light on purpose (no pandas): the
Snakefile builds a plan at every DAG build.

Measured figures come from config `cost_plan`: the filter_shard throughput that
bench/data_throughput.py prints, and the output/input byte ratios `python -m amalia_wf.cost_plan
ratios results/data` reads off a finished data stage.
"""

from __future__ import annotations

import argparse
import csv
import glob
import io
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from amalia_wf.io import atomic_path

if TYPE_CHECKING:
    from amalia_wf.config import CollectionFiles
    from amalia_wf.genbench.plan import GenbenchPlan

COLUMNS = (
    "rule", "jobs", "nodes_per_job", "gpus_per_job", "cpus_per_job", "runtime_h_per_job",
    "gpu_h_per_job", "gpu_h", "cpu_h_per_job", "cpu_h", "estimated_cpu_h", "output_gb",
)  # fmt: skip
# The step bench/data_throughput.py measures (ShardProcessor): the one estimated from input bytes.
THROUGHPUT_RULE = "filter_shard"
# Each data rule's outputs under results/data, for measuring cost_plan.output_bytes_per_input_byte.
DATA_OUTPUTS = {
    "filter_shard": ["filtered/*/*"],
    "dedup_collection_band": ["dedup/*/band-*.pairs.npy"],
    "dedup_collection": ["dedup/*.clusters.npy"],
    "classify_shard": ["labelled/*/*"],
    "dedup_cross_band": ["dedup/cross/*/band-*.pairs.npy"],
    "dedup_cross": ["dedup/cross/*.clusters.npy"],
    "build_split": ["corpus/*/*", "splits/*"],
}  # data_stats is left out: its plots and counts do not grow with the input
# The archives a data stage read: those of the embedded default are generated, other runs download them.
DATA_INPUTS = ["raw/*/*", "download/*/*"]


def request(resources: Mapping[str, Mapping[str, Any]], rule: str) -> dict[str, Any]:
    """A rule's job request: `resources.default` overlaid with the block named after the rule (threads included)."""
    return {**resources["default"], **resources.get(rule, {})}


def gpus(block: Mapping[str, Any]) -> int:
    """GPUs of one job: `gpu` (for the whole job) or `gres: gpu:N` per node times the nodes."""
    per_node = re.fullmatch(r"gpu(?::[\w.]+)?:(\d+)", block.get("gres", ""))
    return block.get("gpu") or (int(per_node.group(1)) * block.get("nodes", 1) if per_node else 0)


def cpus(block: Mapping[str, Any]) -> int:
    """CPUs of one job: Slurm gives each task `threads` CPUs (--cpus-per-task), and a job one task
    per node unless `tasks` says otherwise."""
    return block.get("threads", 1) * block.get("tasks", block.get("nodes", 1))


def job_counts(
    collections: Sequence[Mapping[str, Any]],
    files: Mapping[str, Sequence[str]],
    shards: Mapping[str, Sequence[Any]],
    labels: Sequence[str],
    bands: Mapping[str, Sequence[str]],
    mixture: Mapping[str, Any],
    eval_models: Mapping[str, Any],
    genbench: GenbenchPlan,
) -> dict[str, int]:
    """Jobs of every rule a cluster runs (local rules excluded), from the structures the rules take
    their wildcards from (rules/common.smk, rules/data.smk): collections and their files and shards,
    the quality labels, the MinHash bands of each pass, the mixture sources, the evaluated models and
    the genbench plan."""
    n_shards = sum(map(len, shards.values()))
    models = len(eval_models)
    p3b3 = int("p3b3" in genbench.tasks)
    p3b3_models = sum("p3b3" in genbench.benches(m) for m in genbench.models)
    single = ["data_stats", "train_tokenizer", "base_model", "pretrain", "sft_mixture", "sft", "reward_model",
              "generate_candidates", "score_candidates", "preference_pairs", "dpo", "training_curves",
              "table3", "table4", "table5", "run_summary"]  # fmt: skip
    return {
        "synthesize_warc": sum(len(files[c["name"]]) for c in collections if "synthetic" in c),
        "download_warc": sum(len(files[c["name"]]) for c in collections if "urls" in c),
        "pair_debian_pages": sum(1 for c in collections if "debian" in c),
        "debian_warc": sum(len(files[c["name"]]) for c in collections if "debian" in c),
        "mine_ptc": sum(1 for c in collections if "debian" in c),
        "filter_shard": n_shards,
        "dedup_collection_band": len(collections) * len(bands["band"]),
        "dedup_collection": len(collections),
        "classify_shard": n_shards,
        "dedup_cross_band": len(labels) * len(bands["cross_band"]),
        "dedup_cross": len(labels),
        "build_split": len(labels),
        "tokenize_source": len(mixture),
        "evaluate_model": models,
        "heldout_perplexity": models * any("debian" in c for c in collections),
        "genbench_generate": len(genbench.jobs("bench")),
        "p3b3_variety": p3b3_models,
        "p3b3_classify": len(genbench.jobs("classifier")),
        "alba_fewshots": int("alba" in genbench.judged_tasks),
        "safety_guard": len(genbench.jobs("safety_bench")),
        "p3b3_table2": p3b3,
        "p3b3_table5": p3b3,
    } | dict.fromkeys(single, 1)


@dataclass(frozen=True)
class Row:
    rule: str
    jobs: int
    nodes_per_job: int
    gpus_per_job: int
    cpus_per_job: int
    runtime_h_per_job: float
    estimated_cpu_h: float | None
    output_gb: float | None

    def values(self) -> dict[str, Any]:
        gpu_h_per_job = self.gpus_per_job * self.runtime_h_per_job
        cpu_h_per_job = self.cpus_per_job * self.runtime_h_per_job
        return {
            "rule": self.rule, "jobs": self.jobs, "nodes_per_job": self.nodes_per_job,
            "gpus_per_job": self.gpus_per_job, "cpus_per_job": self.cpus_per_job,
            "runtime_h_per_job": self.runtime_h_per_job,
            "gpu_h_per_job": gpu_h_per_job, "gpu_h": self.jobs * gpu_h_per_job,
            "cpu_h_per_job": cpu_h_per_job, "cpu_h": self.jobs * cpu_h_per_job,
            "estimated_cpu_h": self.estimated_cpu_h, "output_gb": self.output_gb,
        }  # fmt: skip


@dataclass(frozen=True)
class CostPlan:
    rows: list[Row]
    input_files: int
    # Bytes of the archives on disk; None when some collection's are not known before the run.
    input_bytes: int | None
    throughput_mb_per_cpu_hour: float
    throughput_measured: str
    # Rules a cluster runs that job_counts does not know: not in the table, named under it.
    uncounted: list[str]

    @classmethod
    def build(
        cls,
        config: Mapping[str, Any],
        files: Mapping[str, CollectionFiles],
        counts: Mapping[str, int],
        submitted: Sequence[str],
    ) -> CostPlan:
        """`files`: validate()'s CollectionFiles; `counts`: job_counts(); `submitted`: the rules
        that run as jobs, in the order of the workflow."""
        cfg = config["cost_plan"]
        sizes = [f.input_bytes for f in files.values()]
        input_bytes = None if None in sizes else sum(sizes)
        rows = []
        for rule in submitted:
            if not counts.get(rule):
                continue
            block = request(config["resources"], rule)
            ratio = cfg["output_bytes_per_input_byte"].get(rule)
            known = input_bytes is not None
            rows.append(
                Row(
                    rule=rule,
                    jobs=counts[rule],
                    nodes_per_job=block.get("nodes", 1),
                    gpus_per_job=gpus(block),
                    cpus_per_job=cpus(block),
                    runtime_h_per_job=block["runtime"] / 60,
                    estimated_cpu_h=input_bytes / 1e6 / cfg["throughput_mb_per_cpu_hour"]
                    if known and rule == THROUGHPUT_RULE
                    else None,
                    output_gb=ratio * input_bytes / 1e9 if known and ratio is not None else None,
                )
            )
        return cls(
            rows=rows,
            input_files=sum(map(len, files.values())),
            input_bytes=input_bytes,
            throughput_mb_per_cpu_hour=cfg["throughput_mb_per_cpu_hour"],
            throughput_measured=cfg["throughput_measured"],
            uncounted=[r for r in submitted if r not in counts],
        )

    def records(self) -> list[dict[str, Any]]:
        """One dict per rule, then the `total` row (sums; per-job columns empty)."""
        rows = [r.values() for r in self.rows]
        total: dict[str, Any] = dict.fromkeys(COLUMNS)
        total["rule"] = "total"
        for col in ("jobs", "gpu_h", "cpu_h", "estimated_cpu_h", "output_gb"):
            known = [r[col] for r in rows if r[col] is not None]
            total[col] = sum(known) if known else None
        return rows + [total]

    def notes(self) -> list[str]:
        """What the table's estimates rest on, and requests the estimate says are too short."""
        if self.input_bytes is None:
            size = "input size not known before the run (synthetic or downloaded archives): no estimates"
        else:
            size = f"{self.input_bytes / 1e9:,.3f} GB of archives"
        out = [
            f"input: {self.input_files:,} files, {size}",
            (
                f"estimated_cpu_h of {THROUGHPUT_RULE}: input MB / {self.throughput_mb_per_cpu_hour:g} MB per "
                f"CPU-hour ({self.throughput_measured}); output_gb: input bytes x cost_plan.output_bytes_per_input_byte"
            ),
            "runtime_h_per_job is the first attempt's; a job killed at its time limit is retried with 2x, then 3x",
        ]
        for row in self.rows:
            if (
                row.estimated_cpu_h is not None
                and row.estimated_cpu_h > row.jobs * row.cpus_per_job * row.runtime_h_per_job
            ):
                per_job = row.estimated_cpu_h / row.jobs / row.cpus_per_job
                out.append(
                    f"WARNING: {row.rule} is estimated at {per_job:,.1f} h per job (on average) on its "
                    f"{row.cpus_per_job} CPU(s), more than its runtime of {row.runtime_h_per_job:g} h "
                    f"(resources.{row.rule})"
                )
        if self.uncounted:
            out.append(
                f"WARNING: not in the plan (no job count in amalia_wf/cost_plan.py): {', '.join(self.uncounted)}"
            )
        return out

    def table(self) -> str:
        """The plan as fixed-width text with its notes, for the log."""
        cells = [list(COLUMNS)] + [[_cell(rec[c]) for c in COLUMNS] for rec in self.records()]
        widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
        lines = [
            "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths)))
            for row in cells
        ]
        lines.insert(1, "-" * len(lines[0]))
        lines.insert(-1, "-" * len(lines[0]))
        return "\n".join(
            [
                "Cost plan (Slurm requests of `resources` per rule; estimates from measured rates):",
                *lines,
                *self.notes(),
            ]
        )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def write_csv(records: Sequence[Mapping[str, Any]], path: str | os.PathLike[str]) -> None:
    """The plan's records as CSV (empty cell = not estimated), atomically. An unchanged plan is not
    rewritten, so a rule that reads it does not rerun because the next run started."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    if os.path.exists(path) and Path(path).read_text(encoding="utf-8") == text.getvalue():
        return
    with atomic_path(path) as tmp:
        tmp.write_text(text.getvalue(), encoding="utf-8")


def measure_ratios(data_dir: str | os.PathLike[str]) -> dict[str, float]:
    """Output bytes of each data rule over the bytes of the archives read, in a finished results/data."""

    def size(patterns: Sequence[str]) -> int:
        return sum(
            os.path.getsize(f) for p in patterns for f in glob.glob(os.path.join(data_dir, p)) if os.path.isfile(f)
        )

    input_bytes = size(DATA_INPUTS)
    if not input_bytes:
        raise SystemExit(f"{data_dir}: no archives under {' or '.join(DATA_INPUTS)}")
    return {rule: round(size(patterns) / input_bytes, 4) for rule, patterns in DATA_OUTPUTS.items()}


def main() -> None:
    ap = argparse.ArgumentParser(
        description="Measure config cost_plan.output_bytes_per_input_byte on a finished data stage."
    )
    ap.add_argument("command", choices=["ratios"])
    ap.add_argument("data_dir", help="results/data of a finished run")
    args = ap.parse_args()
    print(
        "output_bytes_per_input_byte: {"
        + ", ".join(f"{k}: {v:g}" for k, v in measure_ratios(args.data_dir).items())
        + "}"
    )


if __name__ == "__main__":
    main()

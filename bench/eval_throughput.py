"""Evaluation throughput of the HF backend on the tiny model, and what lm-eval's start-up costs.

Measures, on the embedded default's outputs (run `make run` first):
- samples/s per task when one process evaluates every task (what `evaluate_model` does);
- the baseline: one fresh process per task (what a job per (model, task) would pay), and the
  ratio of the two wall times, i.e. the start-up cost saved by running the tasks in one job.

    .venv/bin/python bench/eval_throughput.py [--model results/models/sft] [--tasks pt_c,arc_c,...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SETTINGS = {"backend": "hf", "dtype": "float32", "max_length": 1024, "batch_size": 8, "max_gen_toks": 32, "limit": None, "bootstrap_iters": 0, "seed": 1}


def evaluate(model: str, tasks: list[str], data: Path, out: Path) -> dict[str, float]:
    """Evaluate `tasks` in this process; per-task wall seconds (plus start-up entries)."""
    t0 = time.perf_counter()
    import lm_eval  # noqa: F401  (timed: the import is part of every job's start-up)

    from amalia_wf.evaluate.models import ModelSpec
    from amalia_wf.evaluate.run import _run_tasks, model_location

    timings = {"import": time.perf_counter() - t0}
    spec = ModelSpec(name="bench", group="fully_open", chat_template=True, paper_row=None, path=model)
    pretrained, revision = model_location(spec, model)
    files = {t: {p.stem: str(p) for p in sorted((data / t / "prepared").glob("*.jsonl"))} for t in tasks}
    t1 = time.perf_counter()
    per_task = _run_tasks(spec, pretrained, revision, files, {t: out / f"{t}.json" for t in tasks}, SETTINGS)
    timings["load_and_tasks"] = time.perf_counter() - t1
    return {**timings, **{f"task:{t}": s for t, s in per_task.items()}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=str(REPO / "results/models/sft"))
    parser.add_argument("--data", default=str(REPO / "results/eval_data"))
    parser.add_argument("--tasks", default="pt_c,arc_c,mmlu,truthfulqa,piqa,siqa,pt_e,gsm8k,frmt,bbh,ifeval")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    tasks = args.tasks.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        if args.child:
            print(json.dumps(evaluate(args.model, tasks, Path(args.data), Path(tmp))))
            return
        start = time.perf_counter()
        one = json.loads(subprocess.run([sys.executable, __file__, "--child", "--model", args.model, "--data", args.data, "--tasks", args.tasks], capture_output=True, text=True, check=True).stdout.splitlines()[-1])
        one_wall = time.perf_counter() - start
        per_task = {}
        for task in tasks:
            start = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--child", "--model", args.model, "--data", args.data, "--tasks", task], capture_output=True, text=True, check=True)
            per_task[task] = time.perf_counter() - start
        print(f"{'task':<12}{'samples':>8}{'s in the job':>14}{'samples/s':>11}{'s own process':>15}")
        for task in tasks:
            n = sum(1 for _ in open(Path(args.data) / task / "prepared" / "test.jsonl"))
            inside = one[f"task:{task}"]
            print(f"{task:<12}{n:>8}{inside:>14.1f}{n / inside:>11.2f}{per_task[task]:>15.1f}")
        total = sum(per_task.values())
        startup = [per_task[t] - one[f"task:{t}"] for t in tasks]
        print(f"\nstart-up a process pays before its task (python, lm-eval import, model load): {min(startup):.1f}-{max(startup):.1f} s")
        print(f"all tasks in one process (evaluate_model): {one_wall:.1f} s")
        print(f"one process per task (baseline):           {total:.1f} s")
        print(f"ratio one-job / per-task-jobs: {one_wall / total:.2f}x the time")


if __name__ == "__main__":
    main()

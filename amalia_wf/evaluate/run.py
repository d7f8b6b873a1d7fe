"""One model over a list of lm-eval tasks, one result file per task at a fixed path.

The model is loaded once per job and every task runs against it, so lm-eval's start-up and the
model load are paid once per model, not once per (model, task). Each finished task is also kept
in a cache keyed by everything that determines its result (model revision, task config, data,
settings): Snakemake removes the outputs of a killed job before rerunning it, the cache survives,
so a rerun evaluates only the tasks that had not finished.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from amalia_wf.evaluate import answers
from amalia_wf.evaluate.models import ModelSpec, local_revision
from amalia_wf.evaluate.suite import TASKS, TASKS_DIR, load_task_config, task_manager
from amalia_wf.io import read_json, write_json

log = logging.getLogger(__name__)


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _files_digest(paths: Mapping[str, str | Path]) -> str:
    digest = hashlib.sha256()
    for name, path in sorted(paths.items()):
        digest.update(name.encode())
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:16]


def suite_digest() -> str:
    """The task definitions: YAMLs, their shared template and functions, and answer extraction. Any
    change there invalidates every cached result, which is conservative but never stale."""
    files = {str(p.relative_to(TASKS_DIR)): p for p in TASKS_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    return _files_digest({**files, "answers.py": answers.__file__})


def model_location(spec: ModelSpec, model_input: str) -> tuple[str, str]:
    """(what the backend loads, the revision recorded with the results)."""
    if spec.hub:
        revision = read_json(model_input)["revision"]
        return spec.hub, revision
    return model_input, local_revision(model_input)


def build_lm(backend: str, pretrained: str, revision: str | None, settings: Mapping[str, Any]) -> Any:
    """An lm-eval model object. vLLM follows the paper (bf16, automatic batch size, 4,096 tokens);
    the HF backend serves CPU runs and GPUs without vLLM."""
    from lm_eval.api.registry import get_model

    args: dict[str, Any] = {"pretrained": pretrained, "dtype": settings["dtype"], "batch_size": settings["batch_size"]}
    if revision and not revision.startswith("sha256:"):
        args["revision"] = revision
    if backend == "vllm":
        args.update(max_model_len=settings["max_length"], seed=settings["seed"], gpu_memory_utilization=settings.get("gpu_memory_utilization", 0.9))
    else:
        args.update(max_length=settings["max_length"], device=settings.get("device") or _default_device())
    return get_model(backend)(**args)


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def evaluate_model(
    spec: ModelSpec,
    model_input: str,
    tasks: Mapping[str, Mapping[str, str]],
    outputs: Mapping[str, str],
    settings: Mapping[str, Any],
    cache_dir: str | os.PathLike[str],
) -> None:
    """Evaluate `spec` on each task (name -> prepared data files) and write `outputs[name]`."""
    pretrained, revision = model_location(spec, model_input)
    cache = Path(cache_dir)
    suite = suite_digest()
    keys = {task: _digest([spec.name, pretrained, revision, spec.chat_template, task, suite, _files_digest(files), dict(settings)]) for task, files in tasks.items()}
    todo = [t for t in tasks if not (cache / f"{t}-{keys[t]}.json").exists()]
    log.info("model %s (%s @ %s): %d of %d tasks cached", spec.name, pretrained, revision, len(tasks) - len(todo), len(tasks))
    if todo:
        _run_tasks(spec, pretrained, revision, {t: tasks[t] for t in todo}, {t: cache / f"{t}-{keys[t]}.json" for t in todo}, settings)
    for task, out in outputs.items():
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(f"{out}.tmp")
        shutil.copyfile(cache / f"{task}-{keys[task]}.json", tmp)
        os.replace(tmp, out)


def _run_tasks(
    spec: ModelSpec,
    pretrained: str,
    revision: str,
    tasks: Mapping[str, Mapping[str, str]],
    cached: Mapping[str, Path],
    settings: Mapping[str, Any],
) -> dict[str, float]:
    """Evaluate and cache each task; return its wall seconds (model load excluded)."""
    import time

    import lm_eval

    seconds = {}
    lm = build_lm(settings["backend"], pretrained, revision, settings)
    manager = task_manager()
    for task, data_files in tasks.items():
        config = load_task_config(task, data_files)
        if settings.get("max_gen_toks") and "generation_kwargs" in config:
            cap = min(settings["max_gen_toks"], config["generation_kwargs"].get("max_gen_toks", settings["max_gen_toks"]))
            config = load_task_config(task, data_files, {"generation_kwargs": {"max_gen_toks": cap}})
        log.info("evaluating %s on %s", spec.name, task)
        start = time.perf_counter()
        results = lm_eval.simple_evaluate(
            model=lm,
            tasks=[config],
            task_manager=manager,
            limit=settings.get("limit"),
            apply_chat_template=spec.chat_template,
            fewshot_as_multiturn=spec.chat_template,
            log_samples=True,
            random_seed=settings["seed"],
            numpy_random_seed=settings["seed"],
            torch_random_seed=settings["seed"],
            fewshot_random_seed=settings["seed"],
            bootstrap_iters=settings.get("bootstrap_iters", 1000),
        )
        write_json(cached[task], result_record(spec, task, pretrained, revision, settings, results))
        seconds[task] = time.perf_counter() - start
        log.info("%s on %s: %.1f s", spec.name, task, seconds[task])
    return seconds


def result_record(spec: ModelSpec, task: str, pretrained: str, revision: str, settings: Mapping[str, Any], results: Mapping[str, Any]) -> dict[str, Any]:
    """What one (model, task) result file holds: metrics with stderr per lm-eval (sub)task, sample
    counts, the exact task config evaluated, versions, and every sample's prompt and output."""
    import lm_eval

    # lm-eval's keys are "<metric>,<filter>" and "<metric>_stderr,<filter>"; kept as they are so
    # `TASKS[task].metric` names a value here.
    metrics: dict[str, dict[str, float]] = {}
    stderr: dict[str, dict[str, float]] = {}
    for name, values in results["results"].items():
        for key, value in values.items():
            if key == "alias" or not isinstance(value, (int, float)):
                continue
            metric, _, flt = key.partition(",")
            if metric.endswith("_stderr"):
                stderr.setdefault(name, {})[f"{metric.removesuffix('_stderr')},{flt}"] = value
            else:
                metrics.setdefault(name, {})[key] = value
    spec_info = TASKS[task]
    return json.loads(
        json.dumps(
            {
                "model": spec.name,
                "task": task,
                "lm_eval_task": spec_info.lm_eval_name,
                "column": spec_info.column,
                "metric": spec_info.metric,
                "scale": spec_info.scale,
                "value": metrics.get(spec_info.lm_eval_name, {}).get(spec_info.metric),
                "metrics": metrics,
                "stderr": stderr,
                "n_samples": results.get("n-samples", {}),
                "n_shot": results.get("n-shot", {}),
                "prompt_config": results.get("configs", {}),
                "lm_eval_version": lm_eval.__version__,
                "model_source": pretrained,
                "model_revision": revision,
                "chat_template": spec.chat_template,
                "settings": dict(settings),
                "samples": results.get("samples", {}),
            },
            default=str,
        )
    )

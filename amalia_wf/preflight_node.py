"""The preflight checks that run on a node, inside each rule's env (rules/preflight.smk's
preflight_env, preflight_gpu and preflight_model): importable in every env, so nothing here imports more than the
standard library and amalia_wf.io; torch only inside the GPU check, whose env (train.yaml) has it.
The rows they write are read by amalia_wf.preflight, which holds the checks of the submit host.
The model check imports the scoring code of the rule it stands for, which that rule's env has."""

from __future__ import annotations

import csv
import importlib
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass
from typing import Any

from amalia_wf.io import atomic_path

COLUMNS = ("check", "status", "detail", "fix")


@dataclass(frozen=True)
class Result:
    check: str
    status: str  # pass | fail | skip
    detail: str
    fix: str = ""


def verdict(check: str, ok: Sequence[str], failed: Sequence[tuple[str, str]], nothing: str = "") -> Result:
    """A check's row from its passing parts and its (problem, fix) pairs; `nothing`: the skip reason
    when there was nothing to check."""
    if failed:
        return Result(check, "fail", "; ".join(p for p, _ in failed), "; ".join(dict.fromkeys(f for _, f in failed)))
    if not ok and nothing:
        return Result(check, "skip", nothing)
    return Result(check, "pass", "; ".join(ok))


def write_result(path: str | os.PathLike[str], result: Result) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerow(astuple(result))


def check_imports(check: str, modules: Mapping[str, Sequence[str]]) -> Result:
    """Import every rule's entry modules (`modules`: rule -> modules) in this process's environment."""
    failed, done = [], {}
    for rule, names in modules.items():
        for name in names:
            if name not in done:
                try:
                    importlib.import_module(name)
                    done[name] = None
                except Exception as err:  # ImportError, or whatever a module raises at import: a row
                    done[name] = f"{type(err).__name__}: {err}"
            if done[name]:
                failed.append((f"{rule}: import {name} failed ({done[name]})",
                               f"install what is missing into this rule's env (envs/*.yaml; with pip: "
                               f"pip install -r <(python -m amalia_wf.envs)) on {os.uname().nodename}"))
    ok = [f"the {len(done)} entry module(s) of {len(modules)} rule(s) import on {os.uname().nodename} ({sys.executable})"]
    return verdict(check, ok, failed)


def check_gpu(check: str, gpus_per_node: int, rules: Sequence[str]) -> Result:
    """CUDA is there, the node has the GPUs the partition's rules ask for, and bf16 works."""
    import torch

    node = os.uname().nodename
    fix = (f"rules {', '.join(rules)} ask for GPUs here: fix their slurm_partition/gpu/gres in resources, "
           "or install a CUDA build of torch that matches the node's driver")
    if not torch.cuda.is_available():
        return Result(check, "fail", f"torch.cuda.is_available() is False on {node} (torch {torch.__version__}, "
                                     f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')})", fix)
    count, bf16 = torch.cuda.device_count(), torch.cuda.is_bf16_supported()
    detail = f"{count} x {torch.cuda.get_device_name(0)} on {node}, bf16 {'yes' if bf16 else 'no'}"
    if count < gpus_per_node:
        return Result(check, "fail", f"{detail}; the rules ask for {gpus_per_node} per node", fix)
    if not bf16:
        return Result(check, "fail", detail, "the paper's runs train in bf16: use a partition with Ampere or newer GPUs")
    return Result(check, "pass", detail)


# One short exchange each scoring model is given: the guard must find a verdict in it, the classifiers a score.
PROBE = {"id": "preflight", "group": "preflight", "prompt": "Qual é a capital de Portugal?",
         "response": "A capital de Portugal é Lisboa, a maior cidade do país."}


def _model_dir(model: Mapping[str, Any]) -> str:
    """A hub model's snapshot (downloaded into HF_HOME when online, from the cache when
    HF_HUB_OFFLINE=1), or the configured folder."""
    if not model["hub"]:
        return model["source"]
    from huggingface_hub import snapshot_download

    return snapshot_download(model["source"], revision=model["revision"] or "main")


def _score_probe(model: Mapping[str, Any]) -> str:
    """Load the model as its rule does and score the probe; what it said, or an exception."""
    cfg, text = model["cfg"], PROBE["response"]
    if model["kind"] == "quality":
        from amalia_wf.data.quality import build_classifier

        [result] = build_classifier(cfg).classify([text])
        return f"label {result.label}"
    if model["kind"] == "classifier":
        from amalia_wf.genbench.bert_variety import VarietyClassifier

        classifier = VarietyClassifier(_model_dir(model), pt_pt_label=cfg.get("pt_pt_label"), batch_size=1)
        return f"P(pt-PT) {classifier.chunk_probabilities([text])[0]:.3f}"
    from amalia_wf.genbench.safety import guard_responses

    [verdict] = guard_responses(_model_dir(model), [PROBE], batch_size=1)
    if verdict["label"] is None:
        raise ValueError(f"no Safety verdict in its answer {verdict['guard_output']!r}")
    return f"verdict {verdict['label']}"


def check_model(check: str, model: Mapping[str, Any], env: str) -> Result:
    """A scoring model (amalia_wf.preflight.scoring_models) loads on this node, in its rule's env,
    and scores one short text, as its rule will do with every answer."""
    import torch

    node, start = os.uname().nodename, time.monotonic()
    at = f"@{model['revision'] or 'main'}" if model["hub"] else ""
    named = f"{model['rule']}: {model['key']} ({model['source']}{at})"
    try:
        said = _score_probe(model)
    except Exception as err:  # whatever loading or scoring raises is this check's row
        causes = [err]
        while causes[-1].__cause__ is not None:
            causes.append(causes[-1].__cause__)
        not_cached = "couldn't find them in the cached files" in str(err)  # transformers' OSError for a model not downloaded
        if not_cached or {type(e).__name__ for e in causes} & {"LocalEntryNotFoundError", "RepositoryNotFoundError", "RevisionNotFoundError", "GatedRepoError"}:
            fix = (f"download it where the nodes read HF_HOME (huggingface-cli download {model['source']} "
                   f"--revision {model['revision'] or 'main'}), or correct {model['key']}")
        elif model["kind"] == "guard":
            fix = f"{model['key']} must name a Qwen3Guard-Gen model (its answers carry a 'Safety:' line)"
        else:
            fix = f"{model['key']} must name a {model['kind']} model that loads with the transformers of envs/{env}.yaml"
        return Result(check, "fail", f"{named} failed on {node}: {type(err).__name__}: {err}", fix)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return Result(check, "pass", f"{named} loaded on {node} (device {device}) and scored a probe in {time.monotonic() - start:.0f} s: {said}")

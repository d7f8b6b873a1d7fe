"""The preflight checks that run on a node, inside each rule's env (rules/preflight.smk's
preflight_env and preflight_gpu): importable in every env, so nothing here imports more than the
standard library and amalia_wf.io; torch only inside the GPU check, whose env (train.yaml) has it.
The rows they write are read by amalia_wf.preflight, which holds the checks of the submit host;
the model checks are amalia_wf.preflight_models."""

from __future__ import annotations

import csv
import importlib
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass

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

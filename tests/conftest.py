"""Shared fixtures: copies of the workflow in temporary directories, and runs of it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.slurm_cluster import slurm_cluster  # noqa: F401  (the real Slurm of test_slurm.py)

REPO = Path(__file__).resolve().parents[1]
WORKFLOW_PARTS = ("Snakefile", "rules", "scripts", "config", "report", "envs", "profiles", "amalia_wf", "data")
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")

# The smallest Llama the training tests build (a few seconds per stage on 2 cores).
TINY_LLAMA = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "max_position_embeddings": 256,
    "rope_theta": 10000,
}

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def make_workdir(dst: Path, overrides: dict | None = None) -> Path:
    """A fresh copy of the workflow (not of results/), optionally with a config override file."""
    dst.mkdir(parents=True, exist_ok=True)
    for part in WORKFLOW_PARTS:
        src = REPO / part
        if src.is_dir():
            shutil.copytree(src, dst / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dst / part)
    if overrides is not None:
        (dst / "override.yaml").write_text(yaml.safe_dump(overrides))
    return dst


def copy_run(finished: Path, dst: Path, overrides: dict | None = None) -> Path:
    """A copy of a finished run (results and Snakemake's records, mtimes kept), optionally with a config override."""
    shutil.copytree(finished, dst, symlinks=True)
    if overrides is not None:
        (dst / "override.yaml").write_text(yaml.safe_dump(overrides))
    return dst


def snakemake_cmd(workdir: Path, *args: str) -> list[str]:
    extra = ["--configfile", "override.yaml"] if (workdir / "override.yaml").exists() else []
    return [SNAKEMAKE, "--profile", "profiles/local", "--cores", "2", *args, *extra]  # --configfile takes several values: last


def run_snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(snakemake_cmd(workdir, *args), cwd=workdir, capture_output=True, text=True, timeout=1200)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
    return proc


@pytest.fixture(scope="session")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded default, run once to completion; tests only read it."""
    workdir = make_workdir(tmp_path_factory.mktemp("default"))
    run_snakemake(workdir)
    return workdir


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slurm: runs on a real single-node Slurm started by tools/slurm/up.sh")


def markdown_rows(text: str) -> list[list[str]]:
    """The cells of every row of the Markdown pipe tables in `text`, stripped (tabulate pads them);
    the header and the alignment row included."""
    return [[c.strip() for c in line.strip().strip("|").split("|")] for line in text.splitlines() if line.startswith("|")]

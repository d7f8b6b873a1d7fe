"""Killing Snakemake in the middle of the data stage loses nothing and redoes nothing that finished.

Only the `data` target runs here: the training stage has its own kill test (test_train_workflow).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import make_workdir, run_snakemake, snakemake_cmd
from tests.test_data_workflow import corpus_digest

pytestmark = pytest.mark.slow


def shard_outputs(workdir: Path, shard: Path) -> dict[str, int]:
    """Output path -> mtime of the filter_shard job whose log is `shard`."""
    collection, name = shard.stem.rsplit("-", 1)
    folder = workdir / "results/data/filtered" / collection
    return {str(p): p.stat().st_mtime_ns for p in folder.glob(f"{name}.*")}


def kill_during_second_shard(workdir: Path, sig: signal.Signals) -> dict[str, int]:
    """Kill once a second filter_shard job runs; return the outputs of the one finished before it.

    With one core, Snakemake starts the next job only after recording the previous one as
    complete, so the first shard is finished in Snakemake's eyes, not just present on disk.
    """
    proc = subprocess.Popen(
        snakemake_cmd(workdir, "data", "--cores", "1"), cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    logs = workdir / "results/logs/data/filter_shard"
    deadline = time.monotonic() + 300
    while len(started := sorted(logs.glob("*.log"), key=lambda p: p.stat().st_mtime_ns)) < 2:
        assert proc.poll() is None, "snakemake ended before a second shard started"
        assert time.monotonic() < deadline
        time.sleep(0.1)
    if sig == signal.SIGTERM:
        os.kill(proc.pid, sig)  # what a scheduler or `kill` sends to the main process
    else:
        os.killpg(proc.pid, sig)  # Ctrl-C reaches the whole foreground group; SIGKILL takes jobs down too
    proc.wait(timeout=300)
    assert not (workdir / "results/data/stats/funnel.csv").exists(), "the run finished before the kill"
    return shard_outputs(workdir, started[0])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=lambda s: s.name)
def test_rerun_after_kill_resumes_and_matches_uninterrupted_run(sig, default_run, tmp_path):
    workdir = make_workdir(tmp_path / sig.name)
    done = kill_during_second_shard(workdir, sig)
    assert len(done) == 4, done

    if sig == signal.SIGKILL:
        locked = run_snakemake(workdir, "data", check=False)  # refuses: the killed run still holds the lock
        assert locked.returncode != 0 and "lock" in (locked.stdout + locked.stderr).lower()
        run_snakemake(workdir, "--unlock")
    run_snakemake(workdir, "data")

    assert {p: Path(p).stat().st_mtime_ns for p in done} == done, "finished shards were redone"
    assert corpus_digest(workdir) == corpus_digest(default_run)
    again = run_snakemake(workdir, "-n", "data")
    assert "Nothing to be done" in again.stdout + again.stderr

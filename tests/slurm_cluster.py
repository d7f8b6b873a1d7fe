"""A real single-node Slurm cluster for the tests (tools/slurm/up.sh and down.sh), and helpers to
run the workflow on it and read back what Slurm recorded.

The `slurm_cluster` fixture starts the cluster once per session and stops it at the end. It needs
root (slurmd starts the jobs); without root the Slurm tests are skipped. As root, missing Debian
packages are installed from envs/apt.txt, as `make system` does; a failure there is an error, not
a skip. A file lock serialises sessions on one machine (the cluster has fixed paths and ports).
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
TOOLS = REPO / "tools/slurm"
DAEMONS = ("/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged", "/usr/bin/sbatch")
LOCK = Path("/tmp/amalia-slurm.lock")
ACCOUNT = "amalia-ci"  # any name: the test cluster has no accounting, the account is passed through

# The profile as reviewers use it, plus what this cluster needs: squeue for job states (no
# accounting database, so no sacct) and short status intervals (the plugin's default waits 40 s
# before the first check).
SLURM_OPTIONS = (
    "--profile", "profiles/slurm",
    "--slurm-status-command", "squeue",
    "--slurm-init-seconds-before-status-checks", "1",
    "--seconds-between-status-checks", "1",
    "--default-resources", f"slurm_account={ACCOUNT}",
)  # fmt: skip


def _apt_packages() -> list[str]:
    lines = (REPO / "envs/apt.txt").read_text().splitlines()
    return [w for line in lines for w in line.split("#", 1)[0].split()]


def _ensure_installed() -> None:
    if all(Path(p).exists() for p in DAEMONS):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *_apt_packages()], check=True, env=env
    )


@pytest.fixture(scope="session")
def slurm_cluster():
    """Slurm up for the session: partitions `cpu` (default), `gpu` (2 fake GPUs) and `short` (MaxTime 10 min)."""
    if os.geteuid() != 0:
        pytest.skip(
            "a real Slurm needs root (slurmd starts jobs as their owner) and Debian packages; run the suite as root, as CI does"
        )
    _ensure_installed()
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another session's cluster would share paths and ports
        subprocess.run(["bash", TOOLS / "down.sh"], check=True)  # leftovers of an interrupted session
        t0 = time.monotonic()
        up = subprocess.run(["bash", TOOLS / "up.sh"], capture_output=True, text=True, check=False)
        if up.returncode != 0:
            pytest.fail(f"tools/slurm/up.sh failed:\n{up.stdout}\n{up.stderr}")
        try:
            yield {"bring_up_s": time.monotonic() - t0, "banner": up.stdout.strip()}
        finally:
            subprocess.run(["bash", TOOLS / "down.sh"], check=True)


def slurm_cmd(workdir: Path, *args: str) -> list[str]:
    """`snakemake ARGS --profile profiles/slurm ...`, with the workdir's override.yaml if it has one.

    Targets come first: `--default-resources` and `--configfile` take several values.
    """
    extra = ["--configfile", "override.yaml"] if (workdir / "override.yaml").exists() else []
    return [SNAKEMAKE, *args, *SLURM_OPTIONS, *extra]


def run_slurm(
    workdir: Path, *args: str, check: bool = True, log: str | None = None
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        slurm_cmd(workdir, *args), cwd=workdir, capture_output=True, text=True, timeout=1500, check=False
    )
    if log:
        (workdir / log).write_text(proc.stdout + proc.stderr)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} on Slurm failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-8000:]}"
        )
    return proc


def start_slurm(workdir: Path, log: str, *args: str) -> subprocess.Popen:
    """Snakemake on Slurm in the background (own session, as on a login node), output to `log`."""
    with (workdir / log).open("w") as out:
        return subprocess.Popen(
            slurm_cmd(workdir, *args), cwd=workdir, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def run_id(log_text: str) -> str:
    """The Slurm executor's run ID: every job of the run is named after it."""
    m = re.search(r"SLURM run ID: (\S+)", log_text)
    assert m, "no SLURM run ID in the Snakemake output"
    return m.group(1)


def run_ids(workdir: Path) -> list[str]:
    """Run IDs of every Slurm run in `workdir`, oldest first."""
    logs = sorted((workdir / ".snakemake/log").glob("*.snakemake.log"))
    return [m.group(1) for p in logs if (m := re.search(r"SLURM run ID: (\S+)", p.read_text()))]


def jobs(names: list[str] | str) -> list[dict[str, str]]:
    """Slurm's record (`scontrol show job`) of every job named after one of the run IDs `names`.

    Finished jobs stay in slurmctld for MinJobAge (an hour on the test cluster).
    """
    names = [names] if isinstance(names, str) else names
    out = subprocess.run(["scontrol", "show", "job", "--oneliner"], capture_output=True, text=True, check=True).stdout
    records = [dict(re.findall(r"(\S+?)=(\S*)", line)) for line in out.splitlines() if line.strip()]
    return sorted((r for r in records if r.get("JobName") in names), key=lambda r: int(r["JobId"]))


def rule_of(job: dict[str, str]) -> str:
    """`rule_<name>[_wildcards_<values>]`, the comment the plugin gives each job, minus the wildcards."""
    return re.sub(r"_wildcards_.*", "", job["Comment"]).removeprefix("rule_")


def wait_for_job(
    name: str, rule: str, state: str = "RUNNING", proc: subprocess.Popen | None = None, timeout: float = 900
) -> dict[str, str]:
    """Poll until a job of run `name` and rule `rule` is in `state`; fail if `proc` ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [j for j in jobs(name) if rule_of(j) == rule and j["JobState"] == state]
        if found:
            return found[0]
        assert proc is None or proc.poll() is None, f"snakemake ended before a {rule} job was {state}"
        time.sleep(0.5)
    raise AssertionError(f"no {rule} job {state} after {timeout} s")


def wait_for_run_id(proc: subprocess.Popen, log: Path, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "SLURM run ID:" in log.read_text():
            return run_id(log.read_text())
        assert proc.poll() is None, f"snakemake ended at start-up:\n{log.read_text()[-3000:]}"
        time.sleep(0.2)
    raise AssertionError("Snakemake printed no SLURM run ID")


def active(name: str) -> list[dict[str, str]]:
    return [j for j in jobs(name) if j["JobState"] in ("PENDING", "RUNNING", "COMPLETING", "CONFIGURING", "SUSPENDED")]


def kill(proc: subprocess.Popen, sig: signal.Signals, timeout: float = 900) -> int:
    """Send `sig` as a user or scheduler would (SIGTERM to the process, Ctrl-C and `kill -9` to
    its group) and wait for Snakemake to exit."""
    if sig == signal.SIGTERM:
        os.kill(proc.pid, sig)
    else:
        os.killpg(proc.pid, sig)
    return proc.wait(timeout=timeout)

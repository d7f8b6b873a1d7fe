"""One env file on its own: a fresh virtual environment from its pins only (CPU envs), or its
resolution for Linux x86_64 with CUDA wheels and the top-level modules those wheels ship (GPU envs).

Both are cached under build/envs/, keyed by the env file's content, so a rerun with unchanged env
files builds and downloads nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlparse

from amalia_wf.envs import pip_pins, python_version

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "build" / "envs"
PIP = [sys.executable, "-m", "pip"]
# The CUDA wheels' platform: manylinux up to glibc 2.35 (Ubuntu 22.04, RHEL 9 has 2.34), x86_64.
GPU_PLATFORMS = ["manylinux2014_x86_64", *(f"manylinux_2_{minor}_x86_64" for minor in range(17, 36))]


def _key(env_file: Path) -> str:
    return f"{env_file.stem}-{hashlib.sha256(env_file.read_bytes()).hexdigest()[:12]}"


def _replace_stale(env_file: Path, current: Path) -> None:
    """Drop the builds of earlier versions of this env file."""
    for old in BUILD.glob(f"{env_file.stem}-*"):
        if old.name.partition(".")[0] != current.name.partition(".")[0]:
            shutil.rmtree(old) if old.is_dir() else old.unlink()


def _run(cmd: list[str], what: str, timeout: int) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"{what} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


def venv(env_file: Path) -> Path:
    """A virtual environment with exactly the env file's pip pins (and what they depend on); its python."""
    target = BUILD / _key(env_file)
    python = target / "bin" / "python"
    if (target / ".complete").exists():
        return python
    BUILD.mkdir(parents=True, exist_ok=True)
    _replace_stale(env_file, target)
    shutil.rmtree(target, ignore_errors=True)
    wanted = python_version(env_file)
    if f"{sys.version_info.major}.{sys.version_info.minor}" != wanted:
        raise AssertionError(f"{env_file.name} asks for python {wanted}; the tests run {sys.version.split()[0]}")
    _run([sys.executable, "-m", "venv", "--without-pip", str(target)], f"python -m venv {target}", 300)
    pins = pip_pins(env_file)
    install = [*PIP, "--python", str(python), "install", "--quiet"]
    # torch first, alone, as `make setup` does: this exact version resolves to the CPU build.
    torch = [p for p in pins if p.startswith("torch==")]
    if torch:
        _run([*install, *torch], f"{env_file.name}: pip install {torch[0]}", 1800)
    _run([*install, *pins], f"{env_file.name}: pip install of its pins", 1800)
    (target / ".complete").touch()
    return python


def gpu_resolution(env_file: Path) -> list[dict]:
    """pip's install report (`install` entries) for the env's pins on the CUDA platform, nothing installed.

    Pins become `===` (exact version string), so that a local `+cpu` build on this machine's index
    cannot stand in for the CUDA wheel of the same version."""
    report = BUILD / f"{_key(env_file)}.report.json"
    if not report.exists():
        BUILD.mkdir(parents=True, exist_ok=True)
        _replace_stale(env_file, report)
        version = python_version(env_file)
        abi = "cp" + version.replace(".", "")
        platforms = [arg for p in GPU_PLATFORMS for arg in ("--platform", p)]
        pins = [p.replace("==", "===", 1) for p in pip_pins(env_file)]
        tmp = BUILD / f"{report.name}.part"
        target = BUILD / f"{report.name}.target"
        cmd = [*PIP, "install", "--dry-run", "--quiet", "--ignore-installed", "--only-binary=:all:",
               "--python-version", version, "--implementation", "cp", "--abi", abi, *platforms,
               "--target", str(target), "--report", str(tmp), *pins]  # fmt: skip
        try:
            _run(cmd, f"resolving {env_file} for Linux x86_64 (CUDA)", 1800)
        finally:
            shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, report)
    return json.loads(report.read_text())["install"]


class _RemoteFile(io.RawIOBase):
    """A read-only, seekable view of a file over HTTP range requests: zipfile reads a wheel's central
    directory (its file list) through it without downloading the wheel."""

    def __init__(self, url: str) -> None:
        self.url, self.pos = url, 0
        head = self._get("bytes=-65536")
        self.size = int(head.headers["Content-Range"].rpartition("/")[2])
        self._tail = head.read()

    def _get(self, byte_range: str):  # type: ignore[no-untyped-def]
        return urllib.request.urlopen(urllib.request.Request(self.url, headers={"Range": byte_range}), timeout=120)

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.pos = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence] + offset
        return self.pos

    def tell(self) -> int:
        return self.pos

    def read(self, n: int = -1) -> bytes:
        end = self.size if n < 0 else min(self.size, self.pos + n)
        if end <= self.pos:
            return b""
        tail_start = self.size - len(self._tail)
        if self.pos >= tail_start:
            data = self._tail[self.pos - tail_start : end - tail_start]
        else:
            data = self._get(f"bytes={self.pos}-{end - 1}").read()
        self.pos += len(data)
        return data


def top_level_modules(names: list[str]) -> set[str]:
    """The importable top-level names of a wheel, from its file list (what its RECORD lists):
    packages (folders with Python files), modules (.py) and extension modules (.so)."""
    found = set()
    for name in names:
        parts = name.split("/")
        if parts[0].endswith(".data") and len(parts) > 2 and parts[1] in ("purelib", "platlib"):
            parts = parts[2:]
        if parts[0].endswith((".dist-info", ".data")) or not name.endswith((".py", ".so", ".pyd")):
            continue
        found.add(parts[0].split(".")[0] if len(parts) == 1 else parts[0])
    return {f for f in found if f.isidentifier()}


def wheel_modules(url: str) -> set[str]:
    """Top-level modules of the wheel at `url` (a file: or https: URL), cached by wheel file name."""
    cached = BUILD / "wheel-modules" / f"{unquote(url.rpartition('/')[2])}.json"
    if cached.exists():
        return set(json.loads(cached.read_text()))
    parsed = urlparse(url)
    source = open(unquote(parsed.path), "rb") if parsed.scheme == "file" else _RemoteFile(url)
    with source, zipfile.ZipFile(source) as wheel:
        modules = top_level_modules(wheel.namelist())
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(sorted(modules)))
    return modules

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
import tarfile
import tomllib
import urllib.request
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from uv import find_uv_bin

from amalia_wf.envs import pip_pins, python_version

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "build" / "envs"
PIP = [sys.executable, "-m", "pip"]
# The GPU nodes' platform: x86_64 Linux with glibc 2.35 (Ubuntu 22.04; RHEL 9 has 2.34). PyPI's torch
# wheels for it are the CUDA builds.
GPU_PLATFORM = "x86_64-manylinux_2_35"


def _key(env_file: Path) -> str:
    return f"{env_file.stem}-{hashlib.sha256(env_file.read_bytes()).hexdigest()[:12]}"


def _replace_stale(env_file: Path, current: Path) -> None:
    """Drop the builds of earlier versions of this env file."""
    for old in BUILD.glob(f"{env_file.stem}-*"):
        if old.name.partition(".")[0] != current.name.partition(".")[0]:
            shutil.rmtree(old) if old.is_dir() else old.unlink()


def _run(cmd: list[str], what: str, timeout: int, stdin: str | None = None) -> None:
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        # pip's per-index notes on this machine drown its reason (the conflict, the missing version).
        lines = [line for line in (proc.stdout + proc.stderr).splitlines() if not line.startswith("WARNING: Location ")]
        raise AssertionError(f"{what} failed ({proc.returncode}):\n" + "\n".join(lines)[-6000:])


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


def gpu_resolution(env_file: Path) -> list[dict[str, Any]]:
    """The packages (pylock.toml `[[packages]]`: name, version, wheels, sdist) that the env's pins resolve
    to on the CUDA platform, nothing installed: `uv pip compile` reads only the packages' metadata,
    where pip's `--dry-run --platform` downloads every wheel (GBs here) and cannot take an sdist-only pin."""
    lock = BUILD / f"{_key(env_file)}.pylock.toml"
    if not lock.exists():
        BUILD.mkdir(parents=True, exist_ok=True)
        _replace_stale(env_file, lock)
        # uv insists on the name pylock.<name>.toml; written aside, then moved in whole.
        part = BUILD / f"pylock.{env_file.stem.replace('.', '-')}.toml"
        cmd = [find_uv_bin(), "pip", "compile", "-", "--quiet", "--python-platform", GPU_PLATFORM,
               "--python-version", python_version(env_file), "--format", "pylock.toml", "-o", str(part)]  # fmt: skip
        _run(cmd, f"resolving {env_file} for {GPU_PLATFORM} (CUDA wheels)", 1800, "\n".join(pip_pins(env_file)))
        os.replace(part, lock)
    return tomllib.loads(lock.read_text())["packages"]


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
    """The importable top-level names of a wheel, from its zip directory (the files its RECORD lists):
    packages (folders with Python files, namespace ones too), modules (.py) and extension modules (.so)."""
    found = set()
    for name in names:
        parts = name.split("/")
        if parts[0].endswith(".data") and len(parts) > 2 and parts[1] in ("purelib", "platlib"):
            parts = parts[2:]
        if parts[0].endswith((".dist-info", ".data")) or not name.endswith((".py", ".so", ".pyd")):
            continue
        found.add(parts[0].split(".")[0] if len(parts) == 1 else parts[0])
    return {f for f in found if f.isidentifier()}


def _sdist_modules(url: str) -> set[str]:
    """An sdist's top_level.txt (setuptools writes it into the sdist's egg-info); without one, its
    packages and modules beside setup.py (or under src/)."""
    with urllib.request.urlopen(url, timeout=300) as response:
        data = io.BytesIO(response.read())
    if url.endswith(".zip"):
        archive = zipfile.ZipFile(data)
        names, read = archive.namelist(), archive.read
    else:
        tar = tarfile.open(fileobj=data)
        names, read = tar.getnames(), lambda n: tar.extractfile(n).read()  # type: ignore[union-attr]
    listed = sorted((n for n in names if n.endswith(".egg-info/top_level.txt")), key=len)
    if listed:
        return {line.strip() for line in read(listed[0]).decode().splitlines() if line.strip()}
    inner = [n.split("/", 1)[1] for n in names if "/" in n]
    inner = [n.removeprefix("src/") for n in inner]
    return {m for m in top_level_modules(inner) if m not in ("setup", "tests", "test", "docs")}


def package_modules(package: dict[str, Any]) -> set[str]:
    """Top-level modules of a resolved package (a pylock.toml entry): from its wheel's file list, or
    from its sdist where it has no wheel. Cached by file name."""
    url = package["wheels"][0]["url"] if package.get("wheels") else package["sdist"]["url"]
    cached = BUILD / "modules" / f"{unquote(url.rpartition('/')[2])}.json"
    if cached.exists():
        return set(json.loads(cached.read_text()))
    if package.get("wheels"):
        parsed = urlparse(url)
        source = open(unquote(parsed.path), "rb") if parsed.scheme == "file" else _RemoteFile(url)
        with source, zipfile.ZipFile(source) as wheel:
            modules = top_level_modules(wheel.namelist())
    else:
        modules = _sdist_modules(url)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(sorted(modules)))
    return modules

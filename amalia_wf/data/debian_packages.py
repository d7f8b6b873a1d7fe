"""Pinned Debian packages (`package=version` + sha256), downloaded with apt-get and unpacked with dpkg-deb.

The real-text collection (amalia_wf.data.debian_docs) reads documentation that Debian ships in both
varieties of Portuguese. The packages come from the machine's own apt sources, so the rule needs a
Debian/Ubuntu machine whose sources carry the pinned versions (Debian 12 bookworm for the pins in
config/debian.yaml); anywhere else it fails naming the package and what is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from amalia_wf.data.download import sha256_of


class PackageError(RuntimeError):
    """A package that cannot be fetched, does not match its checksum, or cannot be unpacked."""


def _tool(name: str, package: str, version: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise PackageError(
            f"{package}={version}: `{name}` not found; the Debian collection needs a Debian/Ubuntu machine "
            "with apt-get and dpkg-deb (config/synthetic.yaml runs without them)"
        )
    return path


def verify(package: str, deb: Path, sha256: str) -> None:
    got = sha256_of(deb)
    if got != sha256:
        raise PackageError(f"{package}: {deb} has sha256 {got}, expected {sha256} (config pin)")


def fetch(package: str, version: str, sha256: str, deb: str | os.PathLike[str], tree: str | os.PathLike[str]) -> None:
    """Download `package=version` to `deb`, check its sha256, unpack its files under `tree`.

    Both appear only when complete: a failed or killed job leaves neither."""
    deb, tree = Path(deb), Path(tree)
    apt_get = _tool("apt-get", package, version)
    dpkg_deb = _tool("dpkg-deb", package, version)
    deb.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=deb.parent, prefix=f".{package}.") as tmp:
        done = subprocess.run([apt_get, "download", f"{package}={version}"], cwd=tmp, capture_output=True, text=True)
        fetched = sorted(Path(tmp).glob("*.deb"))
        if done.returncode != 0 or len(fetched) != 1:
            raise PackageError(
                f"{package}={version}: apt-get download failed (exit {done.returncode}): {done.stderr.strip()[-500:]}"
                " (are the pinned version's apt sources configured? `apt-cache policy " + package + "`)"
            )
        verify(package, fetched[0], sha256)
        unpack(package, fetched[0], tree, dpkg_deb)
        os.replace(fetched[0], deb)


def unpack(package: str, deb: Path, tree: Path, dpkg_deb: str = "dpkg-deb") -> None:
    """The files of `deb` under `tree` (replaced whole, and only once complete)."""
    tmp = tree.with_name(f".{tree.name}.unpacking")
    shutil.rmtree(tmp, ignore_errors=True)
    tree.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([dpkg_deb, "-x", str(deb), str(tmp)], capture_output=True, text=True)
    if done.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise PackageError(f"{package}: dpkg-deb -x {deb} failed: {done.stderr.strip()[-500:]}")
    shutil.rmtree(tree, ignore_errors=True)
    os.replace(tmp, tree)

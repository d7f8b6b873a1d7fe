"""Reads the pip pins of envs/*.yaml: the conda envs and the pip test environment share them.

envs/gpu/*.yaml are conda envs of rules too (CUDA-only packages, other torch/transformers pins);
they are listed by env_files() but are not part of the union that the pip test environment installs.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ENVS_DIR = Path(__file__).resolve().parent.parent / "envs"


def env_files(envs_dir: Path = ENVS_DIR) -> list[Path]:
    """Every env file a rule may name: the CPU ones (envs/*.yaml), then the GPU ones (envs/gpu/*.yaml)."""
    return sorted(envs_dir.glob("*.yaml")) + sorted(envs_dir.glob("gpu/*.yaml"))


def python_version(env_file: Path) -> str:
    """The env's `python=X.Y` conda dependency."""
    spec = yaml.safe_load(env_file.read_text(encoding="utf-8"))
    found = [d.split("=", 1)[1] for d in spec["dependencies"] if isinstance(d, str) and d.startswith("python=")]
    if len(found) != 1:
        raise ValueError(f"{env_file}: expected one python=X.Y dependency, found {found}")
    return found[0]


def pip_pins(env_file: Path) -> list[str]:
    spec = yaml.safe_load(env_file.read_text(encoding="utf-8"))
    return [p for dep in spec["dependencies"] if isinstance(dep, dict) for p in dep.get("pip", [])]


def all_pins(envs_dir: Path = ENVS_DIR) -> dict[str, str]:
    """requirement (with extras) -> pinned version, over every env; conflicting pins are an error."""
    pins: dict[str, str] = {}
    versions: dict[str, str] = {}  # canonical distribution name -> version, so extras and case cannot hide a clash
    for env_file in sorted(envs_dir.glob("*.yaml")):
        for pin in pip_pins(env_file):
            name, sep, version = pin.partition("==")
            if not sep:
                raise ValueError(f"{env_file}: '{pin}' is not pinned with ==")
            dist = canonical_name(name)
            if versions.setdefault(dist, version) != version:
                raise ValueError(f"{env_file}: {dist} pinned to {version} here and {versions[dist]} elsewhere")
            pins[name] = version
    return pins


def canonical_name(requirement: str) -> str:
    """PEP 503 name of a requirement: no extras, lower case, runs of -_. as one dash."""
    return re.sub(r"[-_.]+", "-", requirement.split("[", 1)[0]).lower()


if __name__ == "__main__":
    sys.stdout.write("".join(f"{name}=={version}\n" for name, version in all_pins().items()))

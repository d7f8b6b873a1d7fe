"""The pip pins of envs/*.yaml: consistent across envs and equal to what is installed here."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.version import Version

from amalia_wf.envs import ENVS_DIR, all_pins, pip_pins

REPO = Path(__file__).resolve().parent.parent
PINS = all_pins()


def distribution(requirement: str) -> str:
    return re.sub(r"\[.*\]$", "", requirement).strip()


def test_pins_are_read_from_every_env_file():
    assert ENVS_DIR == REPO / "envs"
    files = sorted(ENVS_DIR.glob("*.yaml"))
    assert len(files) >= 2
    for env_file in files:
        for pin in pip_pins(env_file):
            name, _, pinned = pin.partition("==")
            assert PINS[name] == pinned
    assert distribution("datatrove[processing]") == "datatrove"
    assert {"snakemake", "datatrove[processing]", "warcio", "requests", "jsonschema", "pytest"} <= PINS.keys()


@pytest.mark.parametrize("requirement", sorted(PINS))
def test_installed_version_matches_pin(requirement):
    try:
        installed = version(distribution(requirement))
    except PackageNotFoundError:
        pytest.fail(f"{requirement} is pinned in envs/*.yaml but not installed")
    # A local build tag (torch 2.13.0+cpu) is the same release as the pin.
    assert Version(installed).public == Version(PINS[requirement]).public, (requirement, installed)


def write_env(path: Path, *pins: str) -> None:
    lines = ["name: test", "channels: [conda-forge]", "dependencies:", "  - python=3.11", "  - pip", "  - pip:"]
    path.write_text("\n".join(lines + [f"      - {p}" for p in pins]) + "\n", encoding="utf-8")


def test_consistent_pins_over_several_files(tmp_path):
    write_env(tmp_path / "a.yaml", "requests==2.34.2", "pyyaml==6.0.3")
    write_env(tmp_path / "b.yaml", "pyyaml==6.0.3", "datatrove[processing]==0.10.1")
    assert all_pins(tmp_path) == {"requests": "2.34.2", "pyyaml": "6.0.3", "datatrove[processing]": "0.10.1"}


def test_conflicting_pins_raise(tmp_path):
    write_env(tmp_path / "a.yaml", "requests==2.34.2", "pyyaml==6.0.3")
    write_env(tmp_path / "b.yaml", "pyyaml==6.0.2")
    with pytest.raises(ValueError, match=r"pyyaml pinned to 6\.0\.2 here and 6\.0\.3 elsewhere") as info:
        all_pins(tmp_path)
    assert "b.yaml" in str(info.value)


@pytest.mark.parametrize(
    "first, second",
    [("datatrove[processing]==0.10.1", "datatrove==0.10.2"), ("PyYAML==6.0.3", "pyyaml==6.0.2")],
    ids=["extras", "case"],
)
def test_conflicting_pins_of_the_same_distribution_raise(tmp_path, first, second):
    write_env(tmp_path / "a.yaml", first)
    write_env(tmp_path / "b.yaml", second)
    with pytest.raises(ValueError):
        all_pins(tmp_path)


@pytest.mark.parametrize("requirement", ["requests", "requests>=2.30", "requests~=2.34"])
def test_unpinned_requirement_raises(tmp_path, requirement):
    write_env(tmp_path / "a.yaml", "pyyaml==6.0.3", requirement)
    with pytest.raises(ValueError, match="is not pinned with ==") as info:
        all_pins(tmp_path)
    assert requirement in str(info.value) and "a.yaml" in str(info.value)


def test_module_prints_requirements_for_pip():
    out = subprocess.run(
        [sys.executable, "-m", "amalia_wf.envs"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines() == [f"{name}=={pinned}" for name, pinned in PINS.items()]

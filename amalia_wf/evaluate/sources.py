"""Benchmark data from pinned upstream sources, or from a local path that overrides them.

A source in config (`evaluation.benchmarks.<task>`) is one of
- `{path: DIR_OR_FILE}`: local files in the upstream schema (the embedded default's fixtures);
- `{github: OWNER/REPO, commit: SHA, files: {PATH: SHA256}}`: raw files at a commit;
- `{hub: DATASET_ID, revision: REV, configs: [NAME, ...], splits: {SPLIT: SHA256}}`: a Hugging Face
  dataset loaded with `datasets` and saved as `<config>/<split>.jsonl` in its own schema;
- `{url: URL, sha256: SHA256}`: one file anywhere.
Every fetched file is checked against its checksum; a mismatch or a failed fetch raises an error
naming the task and the source, and nothing half-written is left behind. A checksum given as null
is not yet pinned: the file is accepted and the checksum it had is recorded in `SOURCE.lock` (JSON)
beside the data (with the hub commit a revision resolved to), to be copied into the config.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from amalia_wf.data.download import ChecksumMismatch, download, sha256_of

log = logging.getLogger(__name__)


class SourceError(RuntimeError):
    """A benchmark source that cannot be fetched or does not match its checksum."""


def describe(spec: Mapping[str, Any]) -> str:
    if "path" in spec:
        return f"local path {spec['path']}"
    if "github" in spec:
        return f"github {spec['github']}@{spec['commit']}"
    if "hub" in spec:
        return f"hub dataset {spec['hub']}@{spec['revision']}"
    return f"url {spec['url']}"


def fetch(task: str, spec: Mapping[str, Any], out_dir: str | os.PathLike[str]) -> Path:
    """Materialise a task's upstream files under `out_dir` (a directory); return it."""
    out = Path(out_dir)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        observed: dict[str, str] = {}
        if "path" in spec:
            src = Path(spec["path"])
            if not src.exists():
                raise SourceError(f"benchmark {task}: {describe(spec)} does not exist")
            if src.is_dir():
                shutil.copytree(src, tmp, dirs_exist_ok=True)
            else:
                shutil.copy2(src, tmp / src.name)
        elif "url" in spec:
            name = spec["url"].rstrip("/").rsplit("/", 1)[-1]
            observed[name] = _download(task, spec, spec["url"], tmp / name, spec["sha256"])
        elif "github" in spec:
            for rel, sha in spec["files"].items():
                url = f"https://raw.githubusercontent.com/{spec['github']}/{spec['commit']}/{rel}"
                observed[rel] = _download(task, spec, url, tmp / rel, sha)
        else:
            observed = _hub_dataset(task, spec, tmp)
        (tmp / "SOURCE.lock").write_text(json.dumps({"task": task, "source": dict(spec), "sha256": observed}, indent=1, sort_keys=True))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return out


def _check(task: str, spec: Mapping[str, Any], name: str, path: Path, expected: str | None) -> str:
    got = sha256_of(path)
    if expected is not None and got != expected:
        raise SourceError(f"benchmark {task}: {describe(spec)}: {name} has sha256 {got}, expected {expected}")
    if expected is None:
        log.warning("benchmark %s: %s is not pinned; it had sha256 %s (recorded in SOURCE.lock)", task, name, got)
    return got


def _download(task: str, spec: Mapping[str, Any], url: str, dest: Path, sha256: str | None) -> str:
    try:
        download(url, dest, sha256)
    except (ChecksumMismatch, RuntimeError) as err:
        raise SourceError(f"benchmark {task}: {describe(spec)}: {err}") from err
    return _check(task, spec, url, dest, sha256)


def _hub_dataset(task: str, spec: Mapping[str, Any], dest: Path) -> dict[str, str]:
    # Imported here: only hub sources need `datasets`.
    import datasets
    from huggingface_hub import HfApi

    observed = {}
    try:
        commit = HfApi().dataset_info(spec["hub"], revision=spec["revision"]).sha
        for config in spec.get("configs") or [None]:
            for split, sha in spec["splits"].items():
                rows = datasets.load_dataset(spec["hub"], config, split=split, revision=commit)
                rel = f"{config or 'default'}/{split}.jsonl"
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                rows.to_json(dest / rel, lines=True, force_ascii=False)
                observed[rel] = _check(task, spec, rel, dest / rel, sha if len(spec.get("configs") or [None]) == 1 else None)
    except SourceError:
        raise
    except Exception as err:  # the hub client and `datasets` raise many types; all mean "cannot fetch"
        raise SourceError(f"benchmark {task}: {describe(spec)}: cannot load: {err}") from err
    observed["resolved_commit"] = commit
    return observed

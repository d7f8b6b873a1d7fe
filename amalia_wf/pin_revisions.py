"""Pin the hub revisions of a config file to commits.

A hub model or dataset left at a branch (`revision: main`) is resolved when it is fetched, and the
commit is recorded beside the results (results/models/eval/<name>.json, SOURCE.lock), but the config
itself still names a moving branch. `unpinned_revisions` lists those entries (the workflow warns
with the list at every start); this command resolves each through the hub API and rewrites the
config file in place, keeping its comments and layout:

    python -m amalia_wf.pin_revisions config/paper.yaml            # list, resolve, rewrite
    python -m amalia_wf.pin_revisions config/paper.yaml --dry-run  # list and resolve only

Only one-line (flow-style) entries `{..., hub: ID, revision: REV, ...}` are rewritten (the form
paper.yaml uses); an entry in another form is reported for a hand edit. API-only models have no
revision to pin (their answers are cached per call and generation.json names the endpoint and model).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from amalia_wf.io import atomic_path

COMMIT = re.compile(r"^[0-9a-f]{40}$")


def hub_entries(config: Mapping[str, Any]) -> list[tuple[str, str, str | None, str]]:
    """(config key, hub id, revision, kind "model"/"dataset") of every hub source of the models,
    evaluation and genbench parts."""
    evaluation = config.get("evaluation") or {}
    genbench = config.get("genbench") or {}
    p3b3 = genbench.get("p3b3") or {}
    out = []
    for key, entries, kind in (
        ("evaluation.models", evaluation.get("models") or [], "model"),
        ("genbench.p3b3.models", p3b3.get("models") or [], "model"),
        ("evaluation.benchmarks", evaluation.get("benchmarks") or [], "dataset"),
        ("genbench.benchmarks", genbench.get("benchmarks") or [], "dataset"),
    ):
        out += [(f"{key}.{i}", e["hub"], e.get("revision"), kind) for i, e in enumerate(entries) if e.get("hub")]
    for name, spec in (p3b3.get("classifiers") or {}).items():
        if spec.get("hub"):
            out.append((f"genbench.p3b3.classifiers.{name}", spec["hub"], spec.get("revision"), "model"))
    guard = (genbench.get("safety") or {}).get("guard")
    if guard and guard.get("hub"):
        out.append(("genbench.safety.guard", guard["hub"], guard.get("revision"), "model"))
    return out


def unpinned_revisions(config: Mapping[str, Any]) -> list[str]:
    """'<key> <hub id>@<revision>' for every hub source whose revision is not a 40-hex commit."""
    return [f"{key} {hub}@{rev}" for key, hub, rev, _ in hub_entries(config) if not (rev and COMMIT.match(rev))]


def _flow_entry(hub: str, revision: str) -> re.Pattern[str]:
    """A one-line entry naming this hub id and revision (either order), capturing the revision's position."""
    hub_re = rf"hub:\s*['\"]?{re.escape(hub)}['\"]?\s*[,}}]"
    return re.compile(rf"^(?=.*{hub_re})(?P<head>.*\brevision:\s*)['\"]?{re.escape(revision)}['\"]?(?=\s*[,}}])", re.MULTILINE)


def pin_text(text: str, commits: Mapping[tuple[str, str], str]) -> tuple[str, list[tuple[str, str]]]:
    """The config text with every (hub id, revision) of `commits` rewritten to its commit, and the
    pairs found on no one-line entry (left for a hand edit)."""
    missed = []
    for (hub, revision), commit in commits.items():
        if not COMMIT.match(commit):
            raise ValueError(f"{hub}@{revision}: {commit!r} is not a 40-hex commit")
        text, n = _flow_entry(hub, revision).subn(lambda m, c=commit: m["head"] + c, text)
        if n == 0:
            missed.append((hub, revision))
    return text, missed


def hub_commit(hub: str, revision: str | None, kind: str) -> str:
    """The commit a hub repo's revision resolves to now (network)."""
    from huggingface_hub import HfApi

    api = HfApi()
    info = api.dataset_info(hub, revision=revision) if kind == "dataset" else api.model_info(hub, revision=revision)
    assert info.sha is not None
    return info.sha


def pin_file(path: str | Path, resolve: Callable[[str, str | None, str], str] = hub_commit, write: bool = True) -> dict[tuple[str, str], str]:
    """Resolve every unpinned hub source of one config file and (write) rewrite it; returns what was resolved."""
    text = Path(path).read_text(encoding="utf-8")
    entries = hub_entries(yaml.safe_load(text) or {})
    commits = {(hub, rev or "main"): resolve(hub, rev, kind) for _, hub, rev, kind in entries if not (rev and COMMIT.match(rev))}
    pinned, missed = pin_text(text, commits)
    for hub, rev in missed:
        print(f"{path}: {hub}@{rev} is not a one-line entry with a revision: pin it by hand to {commits[hub, rev]}", file=sys.stderr)
    if write and pinned != text:
        with atomic_path(path) as tmp:
            Path(tmp).write_text(pinned, encoding="utf-8")
    return commits


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", help="a config file (e.g. config/paper.yaml)")
    parser.add_argument("--dry-run", action="store_true", help="resolve and print, do not rewrite")
    args = parser.parse_args(argv)
    for (hub, rev), commit in pin_file(args.config, write=not args.dry_run).items():
        print(f"{hub}@{rev} -> {commit}")


if __name__ == "__main__":
    main()

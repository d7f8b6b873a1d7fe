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
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from amalia_wf.io import atomic_path

COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class HubRef:
    key: str  # where the config names it
    repo_id: str
    repo_type: str  # model | dataset
    revision: str
    filename: str | None = None  # a single file (`hub:org/name/file`)


def hub_references(config: Mapping[str, Any]) -> list[HubRef]:
    """Every hub repository the config names: `hub:` entries (models; datasets when they have
    `configs`/`splits` or a `{dataset: ...}` value), `hub:org/name/file` strings, and the data
    stage's model ids (EuroFilter, the token counter's tokenizer)."""
    refs: list[HubRef] = []

    def walk(node: Any, key: str) -> None:
        if isinstance(node, Mapping):
            hub = node.get("hub")
            if isinstance(hub, str):
                kind = "dataset" if {"configs", "splits"} & set(node) else "model"
                refs.append(HubRef(f"{key}.hub", hub, kind, str(node.get("revision") or "main")))
            elif isinstance(hub, Mapping) and "dataset" in hub:
                refs.append(HubRef(f"{key}.hub", hub["dataset"], "dataset", str(hub.get("revision") or "main")))
            for k, v in node.items():
                walk(v, f"{key}.{k}" if key else str(k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{key}.{i}")
        elif isinstance(node, str) and node.startswith("hub:"):
            org, name, filename = node.removeprefix("hub:").split("/", 2)
            refs.append(HubRef(key, f"{org}/{name}", "model", "main", filename))

    walk(config, "")
    data = config.get("data")
    if not data:  # a config fragment (pin_revisions on a partial file)
        return refs
    if data["quality"]["method"] == "hf":
        hf = data["quality"]["hf"]
        refs.append(HubRef("data.quality.hf.model", hf["model"], "model", hf.get("revision", "main")))
    tokenizer = data["token_count"]["tokenizer"]
    if tokenizer and not os.path.exists(tokenizer):
        refs.append(HubRef("data.token_count.tokenizer", tokenizer, "model", "main"))
    return refs


def pinnable(config: Mapping[str, Any]) -> list[HubRef]:
    """The references a `revision:` beside their `hub:` key pins (`hub:org/name/file` strings and the
    data stage's model ids have no such key)."""
    return [r for r in hub_references(config) if r.key.endswith(".hub")]


def unpinned_revisions(config: Mapping[str, Any]) -> list[str]:
    """'<key> <hub id>@<revision>' for every hub source whose revision is not a 40-hex commit."""
    return [f"{r.key.removesuffix('.hub')} {r.repo_id}@{r.revision}" for r in pinnable(config) if not COMMIT.match(r.revision)]


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
    refs = pinnable(yaml.safe_load(text) or {})
    commits = {(r.repo_id, r.revision): resolve(r.repo_id, r.revision, r.repo_type) for r in refs if not COMMIT.match(r.revision)}
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

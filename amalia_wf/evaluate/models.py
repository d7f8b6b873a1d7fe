"""The models a run evaluates: released checkpoints on the hub, local paths, or this DAG's own.

`evaluation.models[*]` names a `hub` id (+ `revision`) or a `path`, its table group, whether its
chat template is applied and the paper row it reproduces; `evaluation.trained[*]` names a training
stage (`cpt`, `sft`, `dpo`) of this DAG instead. `genbench.p3b3.models[*]` (the P3B3 paper's list)
may also name an `api` endpoint instead (`backend: api`): a model that only answers through an
OpenAI-compatible chat API (amalia_wf.genbench.api).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amalia_wf.io import write_json

TRAINED_DIR = "results/models"
HUB_MARKER_DIR = "results/models/eval"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    group: str
    chat_template: bool
    paper_row: str | None
    hub: str | None = None
    revision: str | None = None
    path: str | None = None
    trained: str | None = None
    api: Mapping[str, Any] | None = None  # an OpenAI-compatible endpoint (JudgeConfig keys): answers through it

    @classmethod
    def from_config(cls, entry: Mapping[str, Any]) -> ModelSpec:
        """An `evaluation.models` entry, or an `evaluation.trained` one (the DAG's own: fully open)."""
        return cls(
            name=entry["name"],
            group=entry.get("group", "fully_open"),
            chat_template=entry.get("chat_template", True),
            paper_row=entry.get("paper_row"),
            hub=entry.get("hub"),
            revision=entry.get("revision"),
            path=entry.get("path"),
            trained=entry.get("stage"),
            api=entry.get("api"),
        )

    def input_path(self) -> str | None:
        """What the evaluation job depends on: the model folder, or the hub fetch marker (None: an API model)."""
        if self.api is not None:
            return None
        if self.trained:
            return f"{TRAINED_DIR}/{self.trained}"
        if self.hub:
            return f"{HUB_MARKER_DIR}/{self.name}.json"
        assert self.path is not None
        return self.path


def fetch_hub_snapshot(spec: ModelSpec, marker: str | os.PathLike[str]) -> dict[str, Any]:
    """Download a hub model into the Hugging Face cache (on a node with internet) and record the
    commit it resolved to, so evaluation jobs load exactly that revision, offline if need be."""
    from huggingface_hub import snapshot_download  # only hub models need it

    assert spec.hub is not None
    folder = Path(snapshot_download(spec.hub, revision=spec.revision))
    info = {"hub": spec.hub, "requested_revision": spec.revision, "revision": folder.name}
    write_json(marker, info)
    return info


def local_revision(model_dir: str | os.PathLike[str]) -> str:
    """A content id for a local model: its provenance record (config, inputs, steps, losses) when the
    DAG trained it, else its config and weight file sizes; hashing 18 GB of weights is not worth it."""
    folder = Path(model_dir)
    provenance = folder / "provenance.json"
    digest = hashlib.sha256()
    if provenance.exists():
        digest.update(provenance.read_bytes())
    else:
        for f in sorted(folder.iterdir()):
            if f.is_file():
                digest.update(f"{f.name}:{f.stat().st_size}".encode())
    return "sha256:" + digest.hexdigest()[:16]

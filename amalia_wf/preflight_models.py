"""The preflight's model checks (rules/preflight.smk's preflight_model): on a node of the partition
of the rule that loads a scoring model, in that rule's env, the model is loaded as the rule loads it
and scores one probe. They import the scoring code of that rule, which its env has (and no other
env needs to)."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from amalia_wf.preflight_node import Result

# One short exchange each scoring model is given: the guard must find a verdict in it, the classifiers a score.
PROBE = {"id": "preflight", "group": "preflight", "prompt": "Qual é a capital de Portugal?",
         "response": "A capital de Portugal é Lisboa, a maior cidade do país."}


def _model_dir(model: Mapping[str, Any]) -> str:
    """A hub model's snapshot (downloaded into HF_HOME when online, from the cache when
    HF_HUB_OFFLINE=1), or the configured folder."""
    if not model["hub"]:
        return model["source"]
    from huggingface_hub import snapshot_download

    return snapshot_download(model["source"], revision=model["revision"] or "main")


def _score_probe(model: Mapping[str, Any]) -> str:
    """Load the model as its rule does and score the probe; what it said, or an exception."""
    cfg, text = model["cfg"], PROBE["response"]
    if model["kind"] == "quality":
        from amalia_wf.data.quality import build_classifier

        [result] = build_classifier(cfg).classify([text])
        return f"label {result.label}"
    if model["kind"] == "classifier":
        from amalia_wf.genbench.bert_variety import VarietyClassifier

        classifier = VarietyClassifier(_model_dir(model), pt_pt_label=cfg.get("pt_pt_label"), batch_size=1)
        return f"P(pt-PT) {classifier.chunk_probabilities([text])[0]:.3f}"
    from amalia_wf.genbench.safety import guard_responses

    [verdict] = guard_responses(_model_dir(model), [PROBE], batch_size=1)
    if verdict["label"] is None:
        raise ValueError(f"no Safety verdict in its answer {verdict['guard_output']!r}")
    return f"verdict {verdict['label']}"


def check_model(check: str, model: Mapping[str, Any], env: str) -> Result:
    """A scoring model (amalia_wf.preflight.scoring_models) loads on this node, in its rule's env,
    and scores one short text, as its rule will do with every answer."""
    import torch

    node, start = os.uname().nodename, time.monotonic()
    at = f"@{model['revision'] or 'main'}" if model["hub"] else ""
    named = f"{model['rule']}: {model['key']} ({model['source']}{at})"
    try:
        said = _score_probe(model)
    except Exception as err:  # whatever loading or scoring raises is this check's row
        causes = [err]
        while causes[-1].__cause__ is not None:
            causes.append(causes[-1].__cause__)
        not_cached = "couldn't find them in the cached files" in str(err)  # transformers' OSError for a model not downloaded
        if not_cached or {type(e).__name__ for e in causes} & {"LocalEntryNotFoundError", "RepositoryNotFoundError", "RevisionNotFoundError", "GatedRepoError"}:
            fix = (f"download it where the nodes read HF_HOME (huggingface-cli download {model['source']} "
                   f"--revision {model['revision'] or 'main'}), or correct {model['key']}")
        elif model["kind"] == "guard":
            fix = f"{model['key']} must name a Qwen3Guard-Gen model (its answers carry a 'Safety:' line)"
        else:
            fix = f"{model['key']} must name a {model['kind']} model that loads with the transformers of envs/{env}.yaml"
        return Result(check, "fail", f"{named} failed on {node}: {type(err).__name__}: {err}", fix)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return Result(check, "pass", f"{named} loaded on {node} (device {device}) and scored a probe in {time.monotonic() - start:.0f} s: {said}")

"""Held-out perplexity of a model on the pt-PT and on the pt-BR side of the parallel pages that no
training set saw (amalia_wf.data.debian_docs' held-out pairs).

Both sides are the same pages translated, so a model that learnt pt-PT finds its side less
surprising than the pt-BR one, and a model that learnt pt-BR the other way. Perplexity is
exp(summed token negative log-likelihood / tokens) over all pages of a side, each page scored in
consecutive windows of the model's context (each window's first token is not predicted). The
uncertainty is a bootstrap over pages: both sides resampled with the same pages, so the ratio's
standard error counts that the two sides are paired.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from amalia_wf.io import read_jsonl

log = logging.getLogger(__name__)

VARIETIES = ("pt_pt", "pt_br")


def page_text(side: Mapping[str, Any]) -> str:
    """One translation of a held-out page: its title and blocks, one per line."""
    return "\n".join([side["title"], *side["blocks"]] if side.get("title") else side["blocks"])


def read_heldout(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Every held-out pair of the debian collections' heldout.jsonl files."""
    return [pair for path in paths for pair in read_jsonl(path)]


def text_nll(model: Any, tokenizer: Any, text: str, window: int) -> tuple[float, int]:
    """(summed negative log-likelihood in nats, tokens predicted) of `text`, in windows of `window` tokens."""
    import torch

    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if tokenizer.bos_token_id is not None:
        ids = [tokenizer.bos_token_id, *ids]  # the first real token is predicted too
    total, count = 0.0, 0
    with torch.inference_mode():
        for start in range(0, max(len(ids) - 1, 0), window - 1):
            chunk = ids[start : start + window]  # at least 2 tokens: start < len(ids) - 1
            inputs = torch.tensor([chunk], device=model.device)
            logits = model(input_ids=inputs).logits[0, :-1].float()
            nll = torch.nn.functional.cross_entropy(logits, inputs[0, 1:], reduction="sum")
            total += float(nll)
            count += len(chunk) - 1
    return total, count


def bootstrap_se(nll: np.ndarray, tokens: np.ndarray, samples: int, seed: int) -> dict[str, float]:
    """Perplexity of each side and their ratio pt_br / pt_pt, with bootstrap standard errors.
    `nll`, `tokens`: pages x sides."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(nll), size=(samples, len(nll)))
    ppl = np.exp(nll[picks].sum(axis=1) / tokens[picks].sum(axis=1))  # samples x sides
    point = np.exp(nll.sum(axis=0) / tokens.sum(axis=0))
    ratio = ppl[:, 1] / ppl[:, 0]
    return {
        "pt_pt": float(point[0]), "pt_pt_se": float(ppl[:, 0].std(ddof=1)),
        "pt_br": float(point[1]), "pt_br_se": float(ppl[:, 1].std(ddof=1)),
        "ratio": float(point[1] / point[0]), "ratio_se": float(ratio.std(ddof=1)),
    }  # fmt: skip


def heldout_perplexity(
    model_dir: str, pairs: Sequence[Mapping[str, Any]], window: int, samples: int, seed: int, device: str | None = None
) -> dict[str, Any]:
    """The model's perplexity on both sides of every held-out pair (module docstring)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not pairs:
        raise ValueError("no held-out pages: the debian collections hold none out (data.collections[].debian.heldout_fraction)")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32 if device == "cpu" else torch.bfloat16)
    model.to(device).eval()
    window = min(window, getattr(model.config, "max_position_embeddings", window))
    nll = np.zeros((len(pairs), len(VARIETIES)))
    tokens = np.zeros((len(pairs), len(VARIETIES)))
    for i, pair in enumerate(pairs):
        for j, variety in enumerate(VARIETIES):
            nll[i, j], tokens[i, j] = text_nll(model, tokenizer, page_text(pair[variety]), window)
    if (tokens.sum(axis=0) == 0).any():
        raise ValueError("held-out pages with no token to score on one side")
    result = bootstrap_se(nll, tokens, samples, seed)
    log.info("held-out perplexity pt-PT %.2f (se %.2f), pt-BR %.2f (se %.2f) over %d pages",
             result["pt_pt"], result["pt_pt_se"], result["pt_br"], result["pt_br_se"], len(pairs))
    return {**result, "pages": len(pairs), "tokens": {v: int(tokens[:, j].sum()) for j, v in enumerate(VARIETIES)},
            "window": window, "bootstrap": {"samples": samples, "seed": seed}}

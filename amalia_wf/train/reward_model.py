"""A tiny reward model: the offline stand-in for ArmoRM in preference-pair construction."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from transformers import AutoTokenizer, LlamaForSequenceClassification

from amalia_wf.train.models import init_tiny_llama


def init_tiny_reward_model(tokenizer_dir: str | Path, arch: Mapping[str, Any], seed: int, out_dir: str | Path) -> Path:
    """A randomly initialised Llama with a scalar head, saved with its tokenizer; same seed, same weights.

    Its rewards are arbitrary but deterministic, which is all the offline default needs to run the
    sample -> score -> best/worst path for real.
    """
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    # The policy's builder owns the Llama config; only its config is kept, the causal LM is thrown away.
    with tempfile.TemporaryDirectory() as scratch:
        config = init_tiny_llama(arch, tokenizer, seed, scratch).config
    config.num_labels = 1
    # The head reads the last token that is not padding, so the pad id must be known.
    config.pad_token_id = tokenizer.pad_token_id
    torch.manual_seed(seed)
    model = LlamaForSequenceClassification(config)
    out = Path(out_dir)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out

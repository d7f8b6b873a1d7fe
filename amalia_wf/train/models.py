"""Model construction: a tiny Llama for the embedded default, and the long-context change of CPT."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)


def init_tiny_llama(arch: Mapping[str, Any], tokenizer: PreTrainedTokenizerBase, seed: int, out_dir: str | Path) -> PreTrainedModel:
    """A randomly initialised Llama of the configured shape, reproducible from `seed`."""
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=arch["hidden_size"],
        intermediate_size=arch["intermediate_size"],
        num_hidden_layers=arch["num_hidden_layers"],
        num_attention_heads=arch["num_attention_heads"],
        num_key_value_heads=arch["num_key_value_heads"],
        max_position_embeddings=arch["max_position_embeddings"],
        rope_parameters={"rope_type": "default", "rope_theta": float(arch["rope_theta"])},
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return model


def _inv_freq(model: PreTrainedModel) -> torch.Tensor:
    return next(b for name, b in model.named_buffers() if name.endswith("rotary_emb.inv_freq")).detach().clone()


def load_with_longer_context(
    path: str | Path, rope_theta: float, max_position_embeddings: int, **kwargs: Any
) -> PreTrainedModel:
    """Load `path` with RoPE theta and context length raised, as in continued pretraining.

    transformers 5 keeps theta in `config.rope_parameters`; `from_pretrained(..., rope_theta=...)`
    is silently ignored, so the config is edited and the rotary frequencies are checked.
    """
    config = AutoConfig.from_pretrained(path)
    before = AutoModelForCausalLM.from_config(config)
    old_freq = _inv_freq(before)
    del before
    config.rope_parameters = {**config.rope_parameters, "rope_theta": float(rope_theta)}
    config.max_position_embeddings = max_position_embeddings
    model = AutoModelForCausalLM.from_pretrained(path, config=config, **kwargs)
    new_freq = _inv_freq(model)
    if old_freq.shape != new_freq.shape or torch.allclose(old_freq, new_freq):
        raise RuntimeError(f"rope_theta={rope_theta} did not change the rotary frequencies of {path}")
    return model


def fetch_hub_model(repo: str, out_dir: str | Path, revision: str | None = None) -> str:
    """Copy a hub model into the results tree once, so every later job (and node) reads it locally.

    Through the Hugging Face cache rather than `local_dir`: a cache filled beforehand (compute nodes
    without internet, HF_HUB_OFFLINE=1) then serves the download. Returns the commit `revision`
    resolved to (the cache's snapshot folder is named after it), for the provenance.
    """
    import shutil

    from huggingface_hub import snapshot_download

    snapshot = snapshot_download(repo, revision=revision)
    shutil.copytree(snapshot, out_dir, dirs_exist_ok=True)  # follows the cache's blob symlinks
    return Path(snapshot).name

"""Preference training (paper §4.3): DPO from the SFT model, which is also the frozen reference."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import datasets
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerState
from trl import DPOConfig, DPOTrainer

from amalia_wf.train.chat import ChatDataError, read_json_lines, turn_problem
from amalia_wf.train.runs import REPO, ThroughputLog, stage_parser, train_and_save, world_size, write_provenance
from amalia_wf.train.sft import shared_args


def pair_problem(record: Any) -> str | None:
    """What makes a conversational preference pair unusable, or None.

    TRL's conversational format: `prompt` a list of messages, `chosen` and `rejected` one assistant message each.
    """
    if not isinstance(record, dict):
        return f"record is {type(record).__name__}, not an object"
    prompt = record.get("prompt")
    if not isinstance(prompt, list) or not prompt:
        return "'prompt' must be a non-empty list of messages"
    for i, turn in enumerate(prompt):
        if problem := turn_problem(turn):
            return f"prompt turn {i}: {problem}"
    if prompt[-1]["role"] != "user":
        return f"prompt ends with a {prompt[-1]['role']!r} turn, not 'user'"
    for side in ("chosen", "rejected"):
        answer = record.get(side)
        if not isinstance(answer, list) or len(answer) != 1:
            return f"'{side}' must be a list of exactly one message"
        if problem := turn_problem(answer[0]):
            return f"{side}: {problem}"
        if answer[0]["role"] != "assistant":
            return f"{side} is a {answer[0]['role']!r} turn, not 'assistant'"
    return None


def check_pairs(path: str | Path) -> int:
    """Validate every pair of a .jsonl(.gz) file before training; returns how many there are."""
    n = 0
    for lineno, record, error in read_json_lines(path):
        if error := error or pair_problem(record):
            raise ChatDataError(f"{path}:{lineno}: {error}")
        n += 1
    return n


def gradient_accumulation(cfg: Mapping[str, Any], processes: int) -> int:
    """Accumulation steps that keep the paper's effective batch (128) whatever the number of processes."""
    per_step = cfg["per_device_train_batch_size"] * processes
    if cfg["effective_batch_size"] % per_step:
        raise ValueError(
            f"train.dpo.effective_batch_size={cfg['effective_batch_size']} is not a multiple of "
            f"per_device_train_batch_size x world size = {cfg['per_device_train_batch_size']} x {processes}"
        )
    return cfg["effective_batch_size"] // per_step


def run_dpo(
    sft_dir: str | Path,
    pairs_path: str | Path,
    cfg: Mapping[str, Any],
    out_dir: str | Path,
    checkpoint_dir: str | Path,
    metrics_csv: str | Path,
) -> TrainerState:
    check_pairs(pairs_path)
    args = DPOConfig(
        **shared_args(cfg, checkpoint_dir),
        beta=cfg["beta"],
        loss_type=["sigmoid"],  # TRL 1.x takes a list of losses to combine
        lr_scheduler_type="linear",
        num_train_epochs=cfg["num_train_epochs"],
        gradient_accumulation_steps=gradient_accumulation(cfg, world_size()),
        precompute_ref_log_probs=cfg["precompute_ref_log_probs"],
    )
    # File-backed, not Dataset.from_list: the precomputed reference log-probs are cached next to the dataset's
    # files and read back by every rank, which fails with one in-memory (per-process temporary) dataset.
    with args.main_process_first(desc="loading preference pairs"):
        pairs = datasets.load_dataset(
            "json", data_files=str(pairs_path), split="train", cache_dir=str(Path(checkpoint_dir) / "dataset_cache")
        )
    # The reference is the SFT model from disk. With precomputed log-probs TRL computes them with the policy
    # before its first update, i.e. these same SFT weights, and needs no second copy in memory.
    ref_model = None if cfg["precompute_ref_log_probs"] else AutoModelForCausalLM.from_pretrained(sft_dir)
    trainer = DPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(sft_dir),
        ref_model=ref_model,
        args=args,
        train_dataset=pairs,
        processing_class=AutoTokenizer.from_pretrained(sft_dir),
        callbacks=[ThroughputLog(metrics_csv)],
    )
    return train_and_save(trainer, checkpoint_dir, out_dir)


def main(argv: Sequence[str] | None = None) -> None:
    parser = stage_parser("DPO from an SFT model on preference pairs (run under torchrun for several processes).")
    parser.add_argument("--sft", required=True, help="directory of the SFT model: policy and reference")
    parser.add_argument("--pairs", required=True, help="JSONL of {prompt, chosen, rejected, source}")
    args = parser.parse_args(argv)
    cfg = args.cfg_json

    state = run_dpo(args.sft, args.pairs, cfg, args.out, args.checkpoints, args.metrics)
    if state.is_world_process_zero:
        write_provenance(
            args.out,
            stage="dpo",
            config=cfg,
            inputs=[args.sft, args.pairs],
            hyperparameters={**cfg, "gradient_accumulation_steps": gradient_accumulation(cfg, world_size())},
            state=state,
            repo=REPO,
        )


if __name__ == "__main__":
    main()

"""Supervised fine-tuning (paper §4.2): assistant-only loss on the chat mixture, best checkpoint by validation loss."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerState
from trl import SFTConfig, SFTTrainer

from amalia_wf.io import read_json
from amalia_wf.train.chat import load_chat_file
from amalia_wf.train.runs import (
    REPO,
    ThroughputLog,
    stage_parser,
    train_and_save,
    use_bf16,
    world_size,
    write_provenance,
)


def shared_args(cfg: Mapping[str, Any], checkpoint_dir: str | Path) -> dict[str, Any]:
    """Trainer arguments SFT and DPO set the same way."""
    return {
        "output_dir": str(checkpoint_dir),
        "learning_rate": cfg["learning_rate"],
        "per_device_train_batch_size": cfg["per_device_train_batch_size"],
        "max_length": cfg["max_length"],
        "optim": "adamw_torch",
        # TRL defaults bf16 on, which fails on a CPU-only machine.
        "bf16": use_bf16(cfg["bf16"]),
        # TRL also defaults activation checkpointing on; it only pays off for models that do not fit.
        "activation_checkpointing": cfg.get("activation_checkpointing", False),
        "seed": cfg["seed"],
        "logging_steps": cfg["logging_steps"],
        "save_strategy": "steps",
        "save_steps": cfg["save_steps"],
        "save_total_limit": cfg.get("save_total_limit"),
        # ThroughputLog reads state.num_input_tokens_seen; padding is not throughput.
        "include_num_input_tokens_seen": "non_padding",
        "report_to": [],
    }


def make_sft_trainer(
    model_dir: str | Path,
    train_records: Sequence[Mapping[str, Any]],
    eval_records: Sequence[Mapping[str, Any]],
    cfg: Mapping[str, Any],
    checkpoint_dir: str | Path,
    metrics_csv: str | Path,
) -> SFTTrainer:
    args = SFTConfig(
        **shared_args(cfg, checkpoint_dir),
        # Loss on what the assistant says (and its <|im_end|>) only: the template's {% generation %} marks it.
        assistant_only_loss=True,
        lr_scheduler_type=cfg["lr_scheduler_type"],
        warmup_steps=cfg["warmup_ratio"],  # transformers 5 dropped warmup_ratio: a float below 1 is a ratio
        weight_decay=cfg["weight_decay"],
        max_steps=cfg.get("max_steps", -1),  # -1: train for num_train_epochs instead
        num_train_epochs=cfg.get("num_train_epochs", 1),
        gradient_accumulation_steps=cfg["gradient_accumulation_steps"],
        per_device_eval_batch_size=cfg["per_device_train_batch_size"],
        eval_strategy="steps",
        eval_steps=cfg["eval_steps"],
        # The paper keeps the checkpoint with the best validation loss, not the last one.
        load_best_model_at_end=True,
        metric_for_best_model="eval_loss",
    )
    return SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(model_dir),
        args=args,
        train_dataset=Dataset.from_list([{"messages": r["messages"]} for r in train_records]),
        eval_dataset=Dataset.from_list([{"messages": r["messages"]} for r in eval_records]),
        processing_class=AutoTokenizer.from_pretrained(model_dir),
        callbacks=[ThroughputLog(metrics_csv)],
    )


def run_sft(
    model_dir: str | Path,
    train_records: Sequence[Mapping[str, Any]],
    eval_records: Sequence[Mapping[str, Any]],
    cfg: Mapping[str, Any],
    out_dir: str | Path,
    checkpoint_dir: str | Path,
    metrics_csv: str | Path,
) -> TrainerState:
    trainer = make_sft_trainer(model_dir, train_records, eval_records, cfg, checkpoint_dir, metrics_csv)
    return train_and_save(trainer, checkpoint_dir, out_dir)


def gradient_accumulation(cfg: Mapping[str, Any], train_records: int, processes: int) -> int:
    """The accumulation whose `max_steps` come closest to `target_epochs` passes over the records (at least 1).

    The paper gives 14K steps and about 4.25 epochs, not the batch: the batch follows from the mixture's size.
    """
    per_step = cfg["per_device_train_batch_size"] * processes
    return max(1, round(cfg["target_epochs"] * train_records / (cfg["max_steps"] * per_step)))


def epochs_line(cfg: Mapping[str, Any], train_records: int, processes: int, accumulation: int) -> str:
    """How many passes over the train records the run makes, for the job log."""
    batch = cfg["per_device_train_batch_size"] * processes * accumulation
    line = (
        f"effective batch {batch} = {cfg['per_device_train_batch_size']} per device x {processes} processes"
        f" x {accumulation} accumulation steps"
    )
    epochs = cfg["max_steps"] * batch / train_records
    return line + (
        f"; {cfg['max_steps']} steps x {batch} / {train_records:,} train records = {epochs:.3f} epochs"
        f" (target_epochs {cfg['target_epochs']})"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = stage_parser("Supervised fine-tuning on a chat mixture (run under torchrun for several processes).")
    parser.add_argument("--model", required=True, help="directory of the model (and tokenizer) to fine-tune")
    parser.add_argument("--train", required=True, help="train records of the mixture (amalia_wf.train.sft_mixture)")
    parser.add_argument("--validation", required=True, help="validation records of the mixture")
    parser.add_argument("--mixture-stats", required=True, help="the mixture's entries and per-source statistics")
    args = parser.parse_args(argv)
    cfg = args.cfg_json

    train, val = load_chat_file(args.train)[0], load_chat_file(args.validation)[0]
    processes = world_size()
    accumulation = gradient_accumulation(cfg, len(train), processes)
    print(epochs_line(cfg, len(train), processes, accumulation), file=sys.stderr)
    hyperparameters = {**cfg, "gradient_accumulation_steps": accumulation}
    state = run_sft(args.model, train, val, hyperparameters, args.out, args.checkpoints, args.metrics)
    if state.is_world_process_zero:
        write_provenance(
            args.out,
            stage="sft",
            config={**cfg, "mixture": read_json(args.mixture_stats)},
            inputs=[args.model, args.train, args.validation],
            hyperparameters=hyperparameters,
            state=state,
            repo=REPO,
        )


if __name__ == "__main__":
    main()

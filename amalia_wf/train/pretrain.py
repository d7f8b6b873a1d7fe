"""Continued pretraining (paper §4.1): the base model at a longer context on the packed mixture.

The paper raises EuroLLM-9B from 4K to 32K tokens and RoPE theta from 10,000 to 1,000,000;
`cfg["seq_len"]` and `cfg["rope_theta"]` carry those two changes, everything else is ordinary
causal-LM training through `transformers.Trainer`, resumable from its own checkpoints.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from transformers import AutoTokenizer, Trainer, TrainerState, TrainingArguments, default_data_collator

from amalia_wf.io import read_json
from amalia_wf.train.models import load_with_longer_context
from amalia_wf.train.packing import PackedDataset, shard_paths
from amalia_wf.train.runs import REPO, ThroughputLog, stage_parser, train_and_save, use_bf16, write_provenance


def build_trainer(
    base_dir: str | Path,
    sources: list[tuple[str | Path, float]],
    cfg: Mapping[str, Any],
    checkpoint_dir: str | Path,
    metrics_csv: str | Path,
) -> Trainer:
    """The base model at the longer context, ready to train on the packed mixture."""
    # sdpa and eager both honour the per-document mask that restarted position_ids produce
    model = load_with_longer_context(base_dir, cfg["rope_theta"], cfg["seq_len"], attn_implementation="sdpa")
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    args = TrainingArguments(
        output_dir=str(checkpoint_dir),
        max_steps=cfg["max_steps"],
        per_device_train_batch_size=cfg["per_device_train_batch_size"],
        gradient_accumulation_steps=cfg["gradient_accumulation_steps"],
        learning_rate=cfg["learning_rate"],
        lr_scheduler_type=cfg["lr_scheduler_type"],
        warmup_steps=cfg["warmup_ratio"],  # a float below 1 is a ratio in transformers 5
        weight_decay=cfg["weight_decay"],
        bf16=use_bf16(cfg["bf16"]),
        logging_steps=cfg["logging_steps"],
        save_steps=cfg["save_steps"],
        save_total_limit=2,
        seed=cfg["seed"],
        report_to=[],
        include_num_input_tokens_seen="all",  # blocks are packed: every token is a real one
        remove_unused_columns=False,  # position_ids must reach the model
        # a KV cache, or an attention mask, switches off the packed-sequence mask: documents would
        # attend across their boundaries
        use_cache=False,
        ddp_find_unused_parameters=False,  # every parameter gets a gradient; the search costs a graph walk per step
    )
    return Trainer(
        model=model,
        args=args,
        train_dataset=PackedDataset(sources, cfg["seq_len"]),
        processing_class=tokenizer,
        # with a tokenizer, Trainer would default to DataCollatorWithPadding, which adds attention_mask
        data_collator=default_data_collator,
        callbacks=[ThroughputLog(metrics_csv)],
    )


def run_pretraining(
    base_dir: str | Path,
    sources: list[tuple[str | Path, float]],
    cfg: Mapping[str, Any],
    out_dir: str | Path,
    checkpoint_dir: str | Path,
    metrics_csv: str | Path,
) -> TrainerState:
    """Train, resuming from the newest checkpoint in `checkpoint_dir`; save model + tokenizer to `out_dir`."""
    return train_and_save(build_trainer(base_dir, sources, cfg, checkpoint_dir, metrics_csv), checkpoint_dir, out_dir)


def main(argv: list[str] | None = None) -> None:
    parser = stage_parser("Continued pretraining of the base model on packed token shards.")
    parser.add_argument("--base", required=True, help="base model directory (model + tokenizer)")
    parser.add_argument(
        "--source", nargs=2, action="append", required=True, metavar=("PREFIX", "WEIGHT"),
        help="a tokenized source and its upsampling weight; repeat for the mixture",
    )
    args = parser.parse_args(argv)
    cfg = args.cfg_json
    sources = [(prefix, float(weight)) for prefix, weight in args.source]
    state = run_pretraining(args.base, sources, cfg, args.out, args.checkpoints, args.metrics)
    if state.is_world_process_zero:
        # Where CPT started (train.base, as base_model recorded it): the paper's start is not released.
        base_provenance = Path(args.base) / "provenance.json"
        start = read_json(base_provenance)["config"] if base_provenance.is_file() else {"path": str(args.base)}
        write_provenance(
            args.out,
            stage="cpt",
            config={**cfg, "start_checkpoint": start},
            inputs=[args.base, *(path for prefix, _ in sources for path in shard_paths(prefix))],
            hyperparameters={**cfg, "sources": [[str(p), w] for p, w in sources]},
            state=state,
            repo=REPO,
        )


if __name__ == "__main__":
    main()

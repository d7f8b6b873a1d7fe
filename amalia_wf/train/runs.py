"""What every training stage shares: resumable checkpoints, throughput logging, provenance."""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from transformers import Trainer, TrainerCallback, TrainerControl, TrainerState, TrainingArguments
from transformers.trainer import TRAINER_STATE_NAME

from amalia_wf.io import write_json

REPO = Path(__file__).resolve().parents[2]
LIBRARIES = ("torch", "transformers", "trl", "accelerate", "tokenizers", "datasets")


def resume_from(checkpoint_dir: str | Path, max_steps: int = -1) -> str | None:
    """The newest complete checkpoint before step `max_steps`, if a killed or timed-out run left one.

    Checkpoints live outside the rule's outputs on purpose: Snakemake deletes the outputs of a
    failed job, and a 76-hour SFT must not restart from step 0 after a time limit.
    """
    found = [(int(m.group(1)), p) for p in Path(checkpoint_dir).glob("checkpoint-*") if (m := re.fullmatch(r"checkpoint-(\d+)", p.name))]
    last = None
    for step, path in sorted(found, reverse=True):
        # A kill can land while a checkpoint is being written; the trainer state is written last, so a
        # folder without it is skipped in favour of the one before.
        if not (path / TRAINER_STATE_NAME).is_file():
            continue
        # A job killed after its final checkpoint but before its output was kept (Ctrl-C, a time
        # limit) leaves one at max_steps. transformers 5.23 resumed from it trains one optimizer step
        # more (its epoch loop checks the step count only after a step), so redo the last stretch.
        if 0 < max_steps <= step:
            print(f"{path} is at max_steps {max_steps}: redoing the steps after the checkpoint before it", file=sys.stderr)
            continue
        last = str(path)
        break
    # Said in the job log, so a rerun shows whether it continued or started afresh.
    print(f"resuming from {last}" if last else f"no checkpoint in {checkpoint_dir}: starting at step 0", file=sys.stderr)
    return last


def train_and_save(trainer: Trainer, checkpoint_dir: str | Path, out_dir: str | Path) -> TrainerState:
    """Train, resuming from the newest checkpoint if one exists, and save model and tokenizer to `out_dir`."""
    trainer.train(resume_from_checkpoint=resume_from(checkpoint_dir, trainer.args.max_steps))
    trainer.model.config.use_cache = True  # training turned it off; generation from the saved model wants it
    # Called on every rank: it writes only on the main one, and FSDP/DeepSpeed gather the weights collectively.
    trainer.save_model(str(out_dir))
    return trainer.state


def stage_parser(description: str) -> argparse.ArgumentParser:
    """The CLI options every training stage has."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", required=True, help="directory for the final model, tokenizer and provenance")
    parser.add_argument("--checkpoints", required=True, help="checkpoint directory, kept across failed runs to resume")
    parser.add_argument("--metrics", required=True, help="CSV that ThroughputLog appends to")
    parser.add_argument("--cfg-json", required=True, type=json.loads, help="the stage's hyperparameters as JSON")
    return parser


def use_bf16(requested: bool) -> bool:
    """bf16 only where the hardware has it; TRL turns it on by default and fails on CPU."""
    return requested and torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def world_size() -> int:
    """Processes training together (torchrun sets WORLD_SIZE before torch.distributed starts)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def peak_memory_mb() -> float:
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


class ThroughputLog(TrainerCallback):
    """Appends step, loss, learning rate, tokens/s and peak memory to a CSV (one row per log step).

    Appending (not rewriting) keeps the rows of a run that was killed and resumed.
    """

    FIELDS = ("step", "loss", "learning_rate", "tokens_per_second", "peak_memory_mb", "world_size")

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._t0 = time.perf_counter()
        self._tokens0 = 0

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kw: Any) -> None:
        self._t0, self._tokens0 = time.perf_counter(), state.num_input_tokens_seen

    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, logs: Mapping[str, Any] | None = None, **kw: Any) -> None:
        if not state.is_world_process_zero or not logs or "loss" not in logs:
            return
        elapsed = time.perf_counter() - self._t0
        tokens = state.num_input_tokens_seen - self._tokens0
        row = {
            "step": state.global_step,
            "loss": logs["loss"],
            "learning_rate": logs.get("learning_rate", ""),
            "tokens_per_second": round(tokens / elapsed, 1) if elapsed > 0 and tokens else "",
            "peak_memory_mb": round(peak_memory_mb(), 1),
            "world_size": args.world_size,
        }
        new = not self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.FIELDS)
            if new:
                writer.writeheader()
            writer.writerow(row)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def hash_inputs(paths: Iterable[str | Path]) -> dict[str, str]:
    """sha256 of every input file (directories: of each file inside, by relative path)."""
    out: dict[str, str] = {}
    for p in map(Path, paths):
        # Dot files are bookkeeping (Snakemake's .snakemake_timestamp), not content.
        files = sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith(".")) if p.is_dir() else [p]
        for f in files:
            out[str(f)] = _sha256(f)
    return out


def git_commit(repo: str | Path) -> str:
    try:
        return subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_provenance(
    out_dir: str | Path,
    *,
    stage: str,
    config: Mapping[str, Any],
    inputs: Iterable[str | Path],
    hyperparameters: Mapping[str, Any],
    state: TrainerState | None,
    repo: str | Path,
) -> dict[str, Any]:
    """provenance.json next to a model: what produced it, from what, with which software."""
    versions = {}
    for lib in LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = None
    losses = [h["loss"] for h in (state.log_history if state else []) if "loss" in h]
    record = {
        "stage": stage,
        "config_sha256": hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest(),
        "config": config,
        "inputs": hash_inputs(inputs),
        "git_commit": git_commit(repo),
        "libraries": versions,
        "python": platform.python_version(),
        "hyperparameters": dict(hyperparameters),
        "steps": state.global_step if state else 0,
        "final_losses": losses[-5:],
        "world_size": int(os.environ.get("WORLD_SIZE", "1")),
    }
    write_json(Path(out_dir) / "provenance.json", record)
    return record

"""The SFT mixture of Table 1 by tokens: each source's token budget, filled with its whole records.

Table 1's proportion column is each dataset's share of the mixture's tokens (#Tokens / proportion is
about 3.23B for every row: every dataset is used once, whole). So each entry's `tokens` is its budget,
counted with the model's tokenizer through its chat template (the rendering the SFT trainer uses).
A source is taken whole as often as its budget covers it, then a seeded sample of its records is
added until the budget is reached. `total_tokens` scales every budget to another total, keeping the
shares (a smaller run of the same mixture).

This runs once, in its own job, and writes the train and validation records for the SFT job and for
the on-policy DPO prompts (which the paper samples from the whole SFT mixture).
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import random
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from transformers import AutoTokenizer, PreTrainedTokenizerBase

from amalia_wf.io import write_json, write_jsonl_gz
from amalia_wf.train.chat import ChatDataError, load_entry, split_validation, validate_mixture
from amalia_wf.train.tokenizer import chat_texts

TOKENIZE_BATCH = 1000


def count_tokens(tokenizer: PreTrainedTokenizerBase, records: Sequence[Mapping[str, Any]]) -> list[int]:
    """Tokens of each record as the SFT trainer sees it: the chat template, no special tokens added."""
    counts: list[int] = []
    for start in range(0, len(records), TOKENIZE_BATCH):
        texts = chat_texts(tokenizer, (r["messages"] for r in records[start : start + TOKENIZE_BATCH]))
        counts += map(len, tokenizer(texts, add_special_tokens=False)["input_ids"])
    return counts


def budgets(entries: Sequence[Mapping[str, Any]], total_tokens: int | None) -> dict[str, int]:
    """Each entry's token budget: its `tokens`, or its share of `total_tokens` (at least one token)."""
    total = sum(e["tokens"] for e in entries)
    scale = 1.0 if total_tokens is None else total_tokens / total
    return {e["name"]: max(1, round(e["tokens"] * scale)) for e in entries}


def fill_budget(lengths: Sequence[int], budget: int, rng: random.Random) -> tuple[list[int], int]:
    """Indices of the records to take, and how many whole passes over the source they include.

    Whole passes while the budget covers the source (every record equally often), then records in a
    seeded order until the budget is reached: the last one may pass it by less than one record.
    """
    passes, rest = divmod(budget, sum(lengths))
    picked = list(range(len(lengths))) * passes
    if rest:
        order = list(range(len(lengths)))
        rng.shuffle(order)
        reached = list(itertools.accumulate(lengths[i] for i in order))
        picked += order[: bisect.bisect_left(reached, rest) + 1]
    return picked, passes


def build_mixture(
    entries: Sequence[Mapping[str, Any]],
    tokenizer: PreTrainedTokenizerBase,
    seed: int,
    on_error: str,
    total_tokens: int | None = None,
    max_length: int | None = None,
) -> tuple[list[dict], list[dict[str, Any]]]:
    """The mixture's records (sources in config order) and one statistics row per source.

    Each source's order comes from the seed and its name, so adding a source leaves the others as they were.
    """
    wanted = budgets(entries, total_tokens)
    records: list[dict] = []
    rows: list[dict[str, Any]] = []
    for entry in entries:
        name = entry["name"]
        pool, skipped = load_entry(entry, on_error)
        if not pool:
            raise ChatDataError(f"mixture entry {name!r} has no valid records")
        lengths = count_tokens(tokenizer, pool)
        picked, passes = fill_budget(lengths, wanted[name], random.Random(f"{seed}:{name}"))
        records += (pool[i] for i in picked)
        rows.append({
            "name": name,
            "source_records": len(pool),
            "skipped": skipped,
            "source_tokens": sum(lengths),
            "whole_passes": passes,
            "records": len(picked),
            "budget": wanted[name],
            "tokens": sum(lengths[i] for i in picked),
            "longer_than_max_length": sum(lengths[i] > max_length for i in picked) if max_length else None,
        })
    total_budget, total = sum(r["budget"] for r in rows), sum(r["tokens"] for r in rows)
    for row in rows:
        row["target_share"], row["share"] = row["budget"] / total_budget, row["tokens"] / total
    return records, rows


def format_rows(rows: Sequence[Mapping[str, Any]]) -> str:
    """The per-source table the job log shows."""
    lines = [f"{'source':<50} {'records':>10} {'passes':>6} {'tokens':>14} {'budget':>14} {'share %':>9} {'target %':>9}"]
    for r in rows:
        lines.append(
            f"{r['name'][:50]:<50} {r['records']:>10,} {r['whole_passes']:>6} {r['tokens']:>14,} {r['budget']:>14,}"
            f" {100 * r['share']:>9.4f} {100 * r['target_share']:>9.4f}"
        )
    records, tokens = sum(r["records"] for r in rows), sum(r["tokens"] for r in rows)
    lines.append(f"{'total':<50} {records:>10,} {'':>6} {tokens:>14,} {sum(r['budget'] for r in rows):>14,}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The SFT mixture by token budgets, split into train and validation.")
    parser.add_argument("--tokenizer", required=True, help="the model's tokenizer directory (counts the tokens)")
    parser.add_argument("--mixture-json", required=True, type=json.loads, help="JSON list of mixture entries")
    parser.add_argument("--cfg-json", required=True, type=json.loads, help="the train.sft section as JSON")
    parser.add_argument("--train", required=True, help="train records (.jsonl.gz)")
    parser.add_argument("--validation", required=True, help="validation records (.jsonl.gz)")
    parser.add_argument("--stats", required=True, help="the entries and per-source statistics (JSON)")
    args = parser.parse_args(argv)
    cfg, mixture = args.cfg_json, args.mixture_json

    validate_mixture(mixture)
    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    records, rows = build_mixture(
        mixture, tokenizer, cfg["seed"], cfg["on_bad_record"], cfg.get("total_tokens"), cfg["max_length"]
    )
    print(format_rows(rows), file=sys.stderr)
    train, val = split_validation(records, cfg["validation_fraction"], cfg["seed"])
    print(f"{len(train):,} train and {len(val):,} validation records", file=sys.stderr)
    write_jsonl_gz(args.train, train)
    write_jsonl_gz(args.validation, val)
    stats = {"entries": mixture, "sources": rows, "train_records": len(train), "validation_records": len(val)}
    write_json(args.stats, stats)


if __name__ == "__main__":
    main()

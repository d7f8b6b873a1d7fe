"""Pretraining data: token shards on disk and the packed, per-document dataset read from them.

A source (one quality split of Arquivo.pt, the EuroLLM mixture, code, synthetic long context) is
tokenized once into `{prefix}.bin` (uint32 ids, EOS after every document) and `{prefix}.idx`
(int64 start offset of every document). Training memory-maps the shards, so paper-scale sources
never have to fit in RAM, and the mixture is a list of (prefix, weight) pairs from the config.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path

import numpy as np
import torch
from transformers import AutoTokenizer

from amalia_wf.io import atomic_path, read_jsonl_gz

TOKEN_DTYPE = np.uint32
OFFSET_DTYPE = np.int64


def shard_paths(prefix: str | Path) -> tuple[Path, Path]:
    """(`.bin`, `.idx`) of a tokenized source; suffixes are appended so dotted prefixes survive."""
    return Path(f"{prefix}.bin"), Path(f"{prefix}.idx")


def _batches(texts: Iterable[str], size: int) -> Iterator[list[str]]:
    it = iter(texts)
    while batch := list(islice(it, size)):
        yield batch


def tokenize_source(
    tokenizer_dir: str | Path,
    texts: Iterable[str],
    token_budget: int | None,
    out_prefix: str | Path,
    batch_size: int = 1000,
) -> dict[str, int]:
    """Tokenize `texts` into a `.bin`/`.idx` shard pair, stopping at `token_budget` tokens.

    The budget is a maximum: the document that crosses it is cut, and `texts` is consumed lazily,
    so a budgeted slice of a huge source reads only about one batch past what it keeps.
    """
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    backend, eos = tokenizer.backend_tokenizer, tokenizer.eos_token_id
    budget = np.iinfo(OFFSET_DTYPE).max if token_budget is None else token_budget
    bin_path, idx_path = shard_paths(out_prefix)
    documents = tokens = 0
    with atomic_path(bin_path) as bin_tmp, atomic_path(idx_path) as idx_tmp:
        with open(bin_tmp, "wb") as bin_f, open(idx_tmp, "wb") as idx_f:
            for batch in _batches(texts, batch_size):
                if tokens >= budget:
                    break
                # encode_batch_fast skips the offsets that packing never reads (measurably faster)
                ids = [e.ids for e in backend.encode_batch_fast(batch, add_special_tokens=False)]
                lengths = np.fromiter(map(len, ids), dtype=OFFSET_DTYPE, count=len(ids)) + 1  # + EOS
                ends = np.cumsum(lengths)
                starts = ends - lengths
                flat = np.full(int(ends[-1]), eos, dtype=TOKEN_DTYPE)
                is_text = np.ones(len(flat), dtype=bool)
                is_text[ends - 1] = False
                flat[is_text] = np.fromiter(chain.from_iterable(ids), dtype=TOKEN_DTYPE, count=len(flat) - len(ids))
                keep = min(len(flat), budget - tokens)
                kept_starts = starts[starts < keep] + tokens
                bin_f.write(flat[:keep].tobytes())
                idx_f.write(kept_starts.tobytes())
                documents += len(kept_starts)
                tokens += keep
    return {"documents": documents, "tokens": tokens}


def read_texts(paths: Iterable[str | Path]) -> Iterator[str]:
    """Document texts, in the order given: the `text` field of `.jsonl.gz`/`.jsonl` records (a folder
    stands for its `part-*.jsonl.gz` files), and
    each `.txt` file as one whole document (long documents and code files are files, and a
    blank line inside them is not a document boundary)."""
    for path in map(Path, paths):
        if path.is_dir():  # a corpus split written by the data stage
            yield from read_texts(sorted(path.glob("part-*.jsonl.gz")))
        elif path.name.endswith(".jsonl.gz"):
            yield from (record["text"] for record in read_jsonl_gz(path))
        elif path.suffix == ".jsonl":
            with open(path, encoding="utf-8") as f:
                yield from (json.loads(line)["text"] for line in f if line.strip())
        elif path.suffix == ".txt":
            yield path.read_text(encoding="utf-8")
        else:
            raise ValueError(f"{path}: expected .jsonl.gz, .jsonl or .txt")


@dataclass(frozen=True)
class Shard:
    """A tokenized source, memory-mapped."""

    tokens: np.ndarray
    doc_starts: np.ndarray

    @classmethod
    def open(cls, prefix: str | Path) -> Shard:
        bin_path, idx_path = shard_paths(prefix)
        # np.memmap refuses empty files; an empty source simply contributes nothing
        if bin_path.stat().st_size == 0:
            return cls(np.empty(0, TOKEN_DTYPE), np.empty(0, OFFSET_DTYPE))
        return cls(np.memmap(bin_path, dtype=TOKEN_DTYPE, mode="r"), np.memmap(idx_path, dtype=OFFSET_DTYPE, mode="r"))


@dataclass(frozen=True)
class _Segment:
    """The first `length` tokens of one shard, placed at `offset` in the concatenated mixture."""

    offset: int
    shard: int
    length: int


class PackedDataset(torch.utils.data.Dataset):
    """Non-overlapping `seq_len` blocks of the weighted concatenation of token shards.

    A weight is an upsampling factor: 2.0 repeats a source, 0.5 keeps its first half, 1.5 both.
    position_ids start at 0 at the block start and at every document start inside the block;
    with no attention mask and no KV cache, transformers turns these restarts into per-document attention.
    Blocks are fixed by the sources and weights alone; the Trainer's seeded sampler shuffles them.
    """

    def __init__(self, sources: list[tuple[str | Path, float]], seq_len: int) -> None:
        self.seq_len = seq_len
        self.shards = [Shard.open(prefix) for prefix, _ in sources]
        segments: list[_Segment] = []
        offset = 0
        for i, ((prefix, weight), shard) in enumerate(zip(sources, self.shards)):
            if weight < 0:
                raise ValueError(f"{prefix}: negative weight {weight}")
            n = len(shard.tokens)
            repeats, fraction = divmod(weight, 1.0)
            lengths = [n] * int(repeats) + ([round(fraction * n)] if fraction else [])
            for length in filter(None, lengths):
                segments.append(_Segment(offset, i, length))
                offset += length
        self.segments = segments
        self._segment_offsets = np.array([s.offset for s in segments], dtype=OFFSET_DTYPE)
        self.total_tokens = offset

    def __len__(self) -> int:
        return self.total_tokens // self.seq_len

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        lo, hi = index * self.seq_len, (index + 1) * self.seq_len
        ids = np.empty(self.seq_len, dtype=np.int64)
        is_start = np.zeros(self.seq_len, dtype=bool)
        is_start[0] = True
        k = int(np.searchsorted(self._segment_offsets, lo, side="right")) - 1
        while k < len(self.segments) and self.segments[k].offset < hi:
            seg = self.segments[k]
            shard = self.shards[seg.shard]
            a, b = max(lo, seg.offset) - seg.offset, min(hi, seg.offset + seg.length) - seg.offset
            out = seg.offset + a - lo
            ids[out : out + b - a] = shard.tokens[a:b]
            starts = shard.doc_starts[np.searchsorted(shard.doc_starts, a) : np.searchsorted(shard.doc_starts, b)]
            is_start[starts - a + out] = True
            k += 1
        arange = np.arange(self.seq_len)
        positions = arange - np.maximum.accumulate(np.where(is_start, arange, 0))
        input_ids = torch.from_numpy(ids)
        return {"input_ids": input_ids, "labels": input_ids.clone(), "position_ids": torch.from_numpy(positions)}


def tokenize_main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Tokenize one pretraining source into a .bin/.idx shard pair.")
    parser.add_argument("--tokenizer", required=True, help="directory of a saved transformers tokenizer")
    parser.add_argument("--input", nargs="+", required=True, help=".jsonl.gz, .jsonl or .txt files, read in this order")
    parser.add_argument("--budget", type=int, default=None, help="maximum number of tokens to keep")
    parser.add_argument("--out", required=True, help="output prefix: writes PREFIX.bin and PREFIX.idx")
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args(argv)
    stats = tokenize_source(args.tokenizer, read_texts(args.input), args.budget, args.out, args.batch_size)
    print(json.dumps(stats, sort_keys=True))


if __name__ == "__main__":
    tokenize_main()

"""Tokens per second of the tokenize rule's code path against a plain `tokenizers` batch encode.

Run by hand (not part of the tests):

    .venv/bin/python bench/tokenize_throughput.py                    # ~20 MB of synthetic pt-PT, 3 repeats
    .venv/bin/python bench/tokenize_throughput.py --mb 5 --repeats 1 # quick look
    .venv/bin/python bench/tokenize_throughput.py --corpus           # results/data/corpus/*/part-*.jsonl.gz

Both paths run in this one process on the same in-memory texts, in rotating order per repeat,
and the best time of each is reported, so machine noise hits both alike.

rule   amalia_wf.train.packing.tokenize_source exactly as the tokenize rule calls it: loads the
       saved tokenizer, encodes in batches, appends EOS, and writes the .bin/.idx shard pair.
plain  tokenizers.Tokenizer.encode_batch on the same batches (same batch size, same Rust
       tokenizer loaded from tokenizer.json), ids read back into Python, nothing written.
fast   the same with encode_batch_fast (no character offsets), the call the rule makes; rule/fast
       is the cost of the EOS insertion, the numpy conversion and the writing alone.

The texts are synthetic pt-PT news articles (amalia_wf.data.synthetic, fixed seed) unless
--corpus is given; the BPE tokenizer is trained with train_bpe on the first 2 MB of them.
The target is rule/plain time within about 1.2x.
"""

from __future__ import annotations

import argparse
import glob
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tokenizers import Tokenizer

from amalia_wf.data.synthetic import _article_text, _pt_article
from amalia_wf.train.packing import read_texts, tokenize_source
from amalia_wf.train.tokenizer import train_bpe

CORPUS_GLOB = "results/data/corpus/*/part-*.jsonl.gz"


def synthetic_texts(megabytes: float, seed: int) -> list[str]:
    rng = random.Random(seed)
    texts: list[str] = []
    size = 0
    while size < megabytes * 1e6:
        text = _article_text(_pt_article(rng, rng.choice(("low", "medium", "high"))))
        texts.append(text)
        size += len(text.encode())
    return texts


def prefix_by_size(texts: list[str], megabytes: float) -> list[str]:
    out: list[str] = []
    size = 0
    for text in texts:
        if size >= megabytes * 1e6:
            break
        out.append(text)
        size += len(text.encode())
    return out


def plain_encode(tokenizer_json: Path, texts: list[str], batch_size: int, fast: bool) -> int:
    tok = Tokenizer.from_file(str(tokenizer_json))
    encode = tok.encode_batch_fast if fast else tok.encode_batch
    tokens = 0
    for i in range(0, len(texts), batch_size):
        tokens += sum(len(e.ids) for e in encode(texts[i : i + batch_size], add_special_tokens=False))
    return tokens


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    t0 = time.perf_counter()
    tokens = fn()
    return time.perf_counter() - t0, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="store_true", help=f"read {CORPUS_GLOB} instead of generating text")
    parser.add_argument("--mb", type=float, default=20.0, help="megabytes of synthetic text")
    parser.add_argument("--vocab", type=int, default=8000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    texts = list(read_texts(sorted(glob.glob(CORPUS_GLOB)))) if args.corpus else synthetic_texts(args.mb, args.seed)
    if not texts:
        raise SystemExit(f"no texts (is {CORPUS_GLOB} there?)")
    megabytes = sum(len(t.encode()) for t in texts) / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        tok_dir = Path(tmp) / "tokenizer"
        train_bpe(prefix_by_size(texts, 2.0), args.vocab, tok_dir)
        runs: dict[str, Callable[[], int]] = {
            # tokenize_source counts the EOS it appends; the plain encode has none to count
            "rule": lambda: tokenize_source(tok_dir, texts, None, Path(tmp) / "shard", args.batch_size)["tokens"]
            - len(texts),
            "plain": lambda: plain_encode(tok_dir / "tokenizer.json", texts, args.batch_size, fast=False),
            "fast": lambda: plain_encode(tok_dir / "tokenizer.json", texts, args.batch_size, fast=True),
        }
        best = {name: float("inf") for name in runs}
        counts: dict[str, int] = {}
        for repeat in range(args.repeats):
            order = list(runs)[repeat % len(runs) :] + list(runs)[: repeat % len(runs)]
            for name in order:
                seconds, counts[name] = timed(runs[name])
                best[name] = min(best[name], seconds)
    if len(set(counts.values())) != 1:
        raise SystemExit(f"token counts differ: {counts}")
    print(f"{len(texts)} documents, {megabytes:.1f} MB, {counts['plain']} tokens (+{len(texts)} EOS), "
          f"vocab {args.vocab}, batch {args.batch_size}, best of {args.repeats}")
    for name in runs:
        print(f"{name:6s} {best[name]:7.2f} s  {counts[name] / best[name]:12,.0f} tokens/s")
    print(f"rule/plain time ratio: {best['rule'] / best['plain']:.2f}x (target <= 1.2x); "
          f"rule/fast: {best['rule'] / best['fast']:.2f}x")


if __name__ == "__main__":
    main()

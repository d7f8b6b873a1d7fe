"""MinHash near-duplicate removal whose result does not depend on how documents are sharded.

Signatures are datatrove's (64-bit xxhash shingles of normalised text, seeded permutations), so
parameters mean what they mean in FineWeb-2. Clustering is done here instead of with datatrove's
bucket/cluster stages: its union-by-size picks the surviving document from the order pairs arrive
in, which changes with the number of tasks. Here every cluster keeps its smallest document key,
i.e. the first copy in reading order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature

from amalia_wf.io import atomic_path


class _Words:
    # After simplify_text (lowercase, no punctuation) a whitespace split is the word tokenisation.
    @staticmethod
    def word_tokenize(text: str) -> list[str]:
        return text.split()


class Signer:
    def __init__(self, cfg: Mapping[str, Any]) -> None:
        self.config = MinhashConfig(
            n_grams=cfg["ngrams"], num_buckets=cfg["buckets"], hashes_per_bucket=cfg["hashes_per_bucket"], seed=cfg["seed"]
        )
        self._step = MinhashDedupSignature(output_folder=".", config=self.config)
        self._step.word_tokenizer = _Words()
        self.width = cfg["buckets"] * cfg["hashes_per_bucket"]

    def signature(self, text: str) -> np.ndarray | None:
        """None for texts shorter than one n-gram: they cannot be near-duplicates by this measure."""
        shingles = self._step.get_shingles(text)
        if shingles.size == 0:
            return None
        return np.asarray(self._step.get_signature(shingles), dtype=np.uint64).reshape(-1)


class SignatureWriter:
    """Collects (key, signature) pairs of one shard and writes them as one .npy pair."""

    def __init__(self, signer: Signer) -> None:
        self.signer = signer
        self.keys: list[int] = []
        self.sigs: list[np.ndarray] = []

    def add(self, key: int, text: str) -> None:
        sig = self.signer.signature(text)
        if sig is not None:
            self.keys.append(key)
            self.sigs.append(sig)

    def write(self, path: str | Path) -> None:
        keys = np.asarray(self.keys, dtype=np.int64)
        sigs = np.stack(self.sigs) if self.sigs else np.zeros((0, self.signer.width), dtype=np.uint64)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, keys=keys, sigs=sigs)


@dataclass(frozen=True)
class Clusters:
    """Members of clusters with more than one document: key -> (kept key, cluster size)."""

    members: dict[int, tuple[int, int]]

    def fate(self, key: int) -> tuple[bool, int, int]:
        """(kept, kept key, cluster size) for any key, including singletons."""
        root, size = self.members.get(key, (key, 1))
        return root == key, root, size

    def save(self, path: str | Path) -> None:
        keys = np.fromiter(self.members, dtype=np.int64, count=len(self.members))
        order = np.argsort(keys, kind="stable")
        roots = np.asarray([self.members[k][0] for k in keys], dtype=np.int64)
        sizes = np.asarray([self.members[k][1] for k in keys], dtype=np.int64)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, keys=keys[order], roots=roots[order], sizes=sizes[order])

    @classmethod
    def load(cls, path: str | Path) -> Clusters:
        with np.load(path) as z:
            return cls({int(k): (int(r), int(s)) for k, r, s in zip(z["keys"], z["roots"], z["sizes"])})


def load_signatures(paths: Iterable[str | Path], key_offsets: Iterable[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate shard signature files; `key_offsets` lifts keys into a wider key space."""
    keys, sigs = [], []
    offsets = list(key_offsets) if key_offsets is not None else None
    for i, path in enumerate(paths):
        with np.load(path) as z:
            keys.append(z["keys"] + (offsets[i] if offsets else 0))
            sigs.append(z["sigs"])
    if not keys:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.uint64)
    return np.concatenate(keys), np.concatenate(sigs)


def cluster(keys: np.ndarray, sigs: np.ndarray, buckets: int, hashes_per_bucket: int) -> Clusters:
    """Union documents that agree on every hash of at least one band; each cluster keeps its minimum key."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while x != root:  # path compression keeps later finds O(1)-ish
            parent[x], x = root, parent[x]
        return root

    for band in range(buckets):
        cols = np.ascontiguousarray(sigs[:, band * hashes_per_bucket : (band + 1) * hashes_per_bucket])
        rows = cols.view(np.dtype((np.void, cols.dtype.itemsize * hashes_per_bucket))).ravel()
        _, inverse, counts = np.unique(rows, return_inverse=True, return_counts=True)
        shared = counts[inverse] > 1
        if not shared.any():
            continue
        group, member = inverse[shared], keys[shared]
        order = np.lexsort((member, group))
        group, member = group[order], member[order]
        first = np.r_[True, group[1:] != group[:-1]]
        head = member[np.maximum.accumulate(np.where(first, np.arange(len(member)), 0))]
        for a, b in zip(head[~first].tolist(), member[~first].tolist()):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    roots = {x: find(x) for x in parent}
    for root in set(roots.values()):
        roots[root] = root
    sizes: dict[int, int] = {}
    for root in roots.values():
        sizes[root] = sizes.get(root, 0) + 1
    return Clusters({x: (r, sizes[r]) for x, r in roots.items()})

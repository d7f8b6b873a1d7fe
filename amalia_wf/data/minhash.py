"""MinHash near-duplicate removal whose result does not depend on how documents are sharded.

Signatures are datatrove's (64-bit xxhash shingles of normalised text, seeded permutations), so
parameters mean what they mean in FineWeb-2. The stages are datatrove's too (signatures written per
band, one job per band finding the band's duplicate pairs, one clustering job over the pairs only),
but not its bucket/cluster code: its union-by-size picks the surviving document from the order pairs
arrive in, which changes with the number of tasks. Here every cluster keeps its smallest document
key, i.e. the first copy in reading order. No job holds more than one slice of one band
(`band_shard_docs` rows) plus, in the clustering job, the documents that have a duplicate.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from amalia_wf.io import atomic_path


class _Words:
    # After simplify_text (lowercase, no punctuation) a whitespace split is the word tokenisation.
    @staticmethod
    def word_tokenize(text: str) -> list[str]:
        return text.split()


class Signer:
    def __init__(self, cfg: Mapping[str, Any]) -> None:
        # Imported here: band and clustering jobs need no datatrove (about 1 s and 30 MB per job).
        from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature

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


def write_signatures(path: str | Path, keys: np.ndarray, sigs: np.ndarray, hashes_per_bucket: int) -> None:
    """Write (key, signature) rows band-major, as one .npy array of shape (bands, documents,
    hashes_per_bucket + 1): each band's rows are its hashes then the document key, sorted by the
    band's first hash, so that a band job can merge the shards' rows slice by slice."""
    bands = sigs.shape[1] // hashes_per_bucket
    table = np.empty((bands, len(keys), hashes_per_bucket + 1), dtype=np.uint64)
    for band in range(bands):
        cols = sigs[:, band * hashes_per_bucket : (band + 1) * hashes_per_bucket]
        order = np.argsort(cols[:, 0], kind="stable")
        table[band, :, :hashes_per_bucket] = cols[order]
        table[band, :, hashes_per_bucket] = keys[order]
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, table)


class SignatureWriter:
    """Collects (key, signature) pairs of one shard and writes them with `write_signatures`."""

    def __init__(self, signer: Signer) -> None:
        self.signer = signer
        self.keys: list[int] = []
        self.sigs: list[np.ndarray] = []

    def add(self, key: int, text: str) -> None:
        sig = self.signer.signature(text)
        if sig is not None:
            self.keys.append(key)
            self.sigs.append(sig)

    def extend(self, other: SignatureWriter) -> None:
        self.keys += other.keys
        self.sigs += other.sigs

    def write(self, path: str | Path) -> None:
        keys = np.asarray(self.keys, dtype=np.uint64)
        sigs = np.stack(self.sigs) if self.sigs else np.zeros((0, self.signer.width), dtype=np.uint64)
        write_signatures(path, keys, sigs, self.signer.config.hashes_per_bucket)


class BandFile:
    """One band of one shard's signature file, read by position: a memory map would keep every page
    the job has read resident (and counted against its memory limit) until the job ends."""

    def __init__(self, path: str | Path, band: int, key_offset: int = 0) -> None:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(f)
            data_start = f.tell()
        if len(shape) != 3 or fortran or dtype != np.dtype(np.uint64) or shape[2] < 2:
            raise ValueError(f"{path}: not a band-major signature file (bands, documents, hashes + 1) of uint64: {shape} {dtype}")
        if not 0 <= band < shape[0]:
            raise ValueError(f"{path}: has {shape[0]} bands, no band {band}")
        self.path, self.rows, self.width = Path(path), shape[1], shape[2]
        self._start = data_start + band * self.rows * self.width * 8
        self.key_offset = np.uint64(key_offset)
        self.cursor = 0  # rows before it were handed out

    def read_into(self, out: np.ndarray) -> None:
        """Rows [cursor, cursor + len(out)) into `out` (a C-contiguous block of rows), keys lifted by the
        offset; the cursor stays."""
        with open(self.path, "rb") as f:
            f.seek(self._start + self.cursor * self.width * 8)
            if f.readinto(memoryview(out).cast("B")) != out.nbytes:
                raise ValueError(f"{self.path}: truncated signature file")
        out[:, -1] += self.key_offset


# Rows read at first when a block ends inside a run of rows tied with the slice's last first hash
# (doubled while the run goes on): such runs are short, and reading a whole block would need room
# for one more block in the slice buffer.
TIE_READ_ROWS = 256


def band_slices(files: Sequence[BandFile], limit: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every row of one band once, merged from the (first-hash sorted) files in slices of about `limit`
    rows; rows with equal first hash always share a slice, so each slice's duplicates are complete.

    Yields (rows, index), the slice being rows[index]. `rows` is one buffer that every slice is read
    into, valid until the next slice is asked for: the job holds one slice's rows, whatever the
    number of files or slices, and frees no large block between slices (freed blocks of varying
    sizes fragment the heap, which keeps them counted in the job's memory).

    Each file contributes in proportion to its unread rows; a slice ends at the smallest last
    first-hash of the blocks read (of files not read to their end), so it is at most `limit` rows
    plus the rows tied with that last hash."""
    live = [f for f in files if f.rows]
    if not live:
        return
    # Each live file reads at least one row, so the blocks of one slice fit in limit + files rows; the
    # rest is room for tie reads (grown, rarely, by a long run of tied rows).
    rows = np.empty((limit + len(live) + 4 * TIE_READ_ROWS, live[0].width), dtype=np.uint64)
    while live:
        remaining = sum(f.rows - f.cursor for f in live)
        blocks, used = [], 0
        for f in live:
            n = min(f.rows - f.cursor, max(1, limit * (f.rows - f.cursor) // remaining))
            f.read_into(rows[used : used + n])
            blocks.append((used, n))
            used += n
        open_ends = [rows[start + n - 1, 0] for f, (start, n) in zip(live, blocks, strict=True) if f.cursor + n < f.rows]
        last = min(open_ends) if open_ends else np.uint64(np.iinfo(np.uint64).max)
        index = []
        for f, (start, n) in zip(live, blocks, strict=True):
            tie_read = TIE_READ_ROWS
            while True:
                take = int(np.searchsorted(rows[start : start + n, 0], last, side="right"))
                index.append(np.arange(start, start + take))
                f.cursor += take
                if take < n or f.cursor == f.rows:
                    break
                # A block taken whole may stop inside a run of rows tied with `last`: read on, after
                # the rows read so far.
                start, n = used, min(f.rows - f.cursor, tie_read)
                if used + n > len(rows):
                    grown = np.empty((max(used + n, len(rows) * 5 // 4), rows.shape[1]), dtype=np.uint64)
                    grown[:used] = rows[:used]
                    rows = grown
                f.read_into(rows[start : start + n])
                used, tie_read = used + n, tie_read * 2
        live = [f for f in live if f.cursor < f.rows]
        yield rows, np.concatenate(index)


def slice_pairs(rows: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(smallest key of its group, key) for every other member of each group of the rows rows[index]
    that agree on every hash."""
    hashes = rows.shape[1] - 1
    first = rows[index, 0]
    order = np.argsort(first)
    first = first[order]
    tied = first[1:] == first[:-1]
    # Only rows sharing their first hash with another can be duplicates: the full sort is over those.
    candidate = np.zeros(len(first), dtype=bool)
    candidate[1:] = tied
    candidate[:-1] |= tied
    sub = rows[index[order[candidate]]]
    if len(sub) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    sub = sub[np.lexsort(sub.T[::-1])]  # by the hashes, then the key
    starts = np.r_[True, (sub[1:, :hashes] != sub[:-1, :hashes]).any(axis=1)]
    head = sub[np.maximum.accumulate(np.where(starts, np.arange(len(sub)), 0)), hashes]
    return head[~starts].view(np.int64), sub[~starts, hashes].view(np.int64)


def band_pairs(bands: Sequence[Sequence[BandFile]], limit: int, path: str | Path) -> tuple[int, int, int]:
    """Write the duplicate pairs of one or more bands (`bands`: each band's files, read one band after
    the other) as an (n, 2) int64 .npy of (kept-candidate key, other key); returns (rows read, slices,
    pairs). Pairs go to disk slice by slice, so memory stays one slice's whatever the number of bands."""
    rows = slices = pairs = 0
    with atomic_path(path) as tmp:
        raw = tmp.with_name(tmp.name + ".raw")
        try:
            with open(raw, "wb") as f:
                for files in bands:
                    for block, index in band_slices(files, limit):
                        heads, members = slice_pairs(block, index)
                        np.stack([heads, members], axis=1).tofile(f)
                        rows, slices, pairs = rows + len(index), slices + 1, pairs + len(heads)
            with open(tmp, "wb") as out, open(raw, "rb") as f:
                header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.int64)), "fortran_order": False, "shape": (pairs, 2)}
                np.lib.format.write_array_header_1_0(out, header)
                shutil.copyfileobj(f, out)
        finally:
            raw.unlink(missing_ok=True)
    return rows, slices, pairs


@dataclass(frozen=True)
class Clusters:
    """Documents in clusters of more than one, as arrays: sorted keys, each one's kept key and cluster size.

    Saved as one (3, n) int64 .npy; loaded memory-mapped, so a job looking keys up holds only the
    pages its lookups touch."""

    keys: np.ndarray
    roots: np.ndarray
    sizes: np.ndarray

    def fate(self, key: int) -> tuple[bool, int, int]:
        """(kept, kept key, cluster size) for any key, including singletons."""
        i = int(np.searchsorted(self.keys, key))
        if i < len(self.keys) and self.keys[i] == key:
            root = int(self.roots[i])
            return root == key, root, int(self.sizes[i])
        return True, key, 1

    def save(self, path: str | Path) -> None:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.save(f, np.stack([self.keys, self.roots, self.sizes]).astype(np.int64, copy=False))

    @classmethod
    def load(cls, path: str | Path) -> Clusters:
        table = np.load(path, mmap_mode="r")
        return cls(table[0], table[1], table[2])


def _flatten(parent: np.ndarray) -> None:
    """Pointer jumping, in place, until every node points at its root."""
    while True:
        grand = parent[parent]
        if np.array_equal(grand, parent):
            return
        parent[:] = grand


def _union(parent: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    """Join the trees of each (a, b) node pair. parent[x] <= x throughout, so each root is its tree's minimum."""
    while True:
        _flatten(parent)
        ra, rb = parent[a], parent[b]
        apart = ra != rb
        if not apart.any():
            return
        a, b = ra[apart], rb[apart]
        # A root hooked under several smaller roots keeps the smallest; the next round joins the others.
        np.minimum.at(parent, np.maximum(a, b), np.minimum(a, b))


def cluster_pairs(paths: Sequence[str | Path]) -> Clusters:
    """Connected components of the pairs of every band file; each keeps its minimum key.

    Memory: the keys that have a duplicate, plus one band's pairs at a time."""
    keys = np.zeros(0, dtype=np.int64)
    for path in paths:
        keys = np.union1d(keys, np.load(path).ravel())
    parent = np.arange(len(keys))  # node i is keys[i]; keys are sorted, so smaller node = smaller key
    for path in paths:
        pairs = np.load(path)
        _union(parent, np.searchsorted(keys, pairs[:, 0]), np.searchsorted(keys, pairs[:, 1]))
    sizes = np.bincount(parent, minlength=len(keys))
    return Clusters(keys, keys[parent], sizes[parent])

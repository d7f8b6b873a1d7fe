"""After per-collection dedup: quality labels, cross-collection dedup per label, the final splits."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any

from amalia_wf.data.funnel import Funnel
from amalia_wf.data.minhash import Clusters, SignatureWriter, Signer
from amalia_wf.data.quality import LABELS, build_classifier
from amalia_wf.io import read_jsonl_gz, write_json, write_jsonl_gz

# Cross-collection keys put the collection's position above the per-collection document key.
COLLECTION_SHIFT = 50

CLASSIFY_BATCH = 256  # documents held in memory at once; the model batches inside it


def cross_key(collection_index: int, doc_key: int) -> int:
    return (collection_index << COLLECTION_SHIFT) | doc_key


def _batches(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def _survives(
    doc: dict[str, Any], stage: str, clusters: Clusters, key: int, funnel: Funnel, excluded: list[dict[str, Any]]
) -> bool:
    """Record the document's cluster size under `<stage>_cluster_size`; log it as excluded if a copy is kept."""
    funnel.enter(stage, len(doc["text"]))
    kept, root, size = clusters.fate(key)
    doc["metadata"][f"{stage}_cluster_size"] = size
    if not kept:
        funnel.drop(stage, "duplicate")
        excluded.append(doc | {"stage": stage, "reason": "duplicate", "duplicate_of": root})
        return False
    funnel.leave(stage, len(doc["text"]))
    return True


def classify_shard(
    collection: str,
    docs_path: str, clusters_path: str, data_cfg: Mapping[str, Any], out: Mapping[str, Any]
) -> dict[str, Any]:
    """Drop per-collection duplicates, label the rest, and sign them for the cross-collection pass.

    `out` has `docs`, `excluded`, `stats` paths and `signatures`, a label -> path mapping.
    """
    clusters = Clusters.load(clusters_path)
    classifier = build_classifier(data_cfg["quality"])
    signer = Signer(data_cfg["minhash"]["cross"])
    sigs = {label: SignatureWriter(signer) for label in LABELS}
    funnel = Funnel()
    excluded: list[dict[str, Any]] = []
    labels: dict[str, int] = dict.fromkeys(LABELS, 0)

    def unique() -> Iterator[dict[str, Any]]:
        for doc in read_jsonl_gz(docs_path):
            if _survives(doc, "minhash_collection", clusters, doc["metadata"]["doc_key"], funnel, excluded):
                yield doc

    def labelled() -> Iterator[dict[str, Any]]:
        for batch in _batches(unique(), CLASSIFY_BATCH):
            for doc, result in zip(batch, classifier.classify([d["text"] for d in batch]), strict=True):
                doc["metadata"]["quality"] = result.label
                doc["metadata"]["quality_scores"] = result.scores
                labels[result.label] += 1
                sigs[result.label].add(doc["metadata"]["doc_key"], doc["text"])
                yield doc

    write_jsonl_gz(out["docs"], labelled())
    write_jsonl_gz(out["excluded"], excluded)
    for label, writer in sigs.items():
        writer.write(out["signatures"][label])
    stats = {"collection": collection, "funnel": funnel.to_json(), "labels": labels}
    write_json(out["stats"], stats)
    return stats


class TokenCounter:
    """Words when no tokenizer is configured; otherwise a `tokenizers` tokenizer (hub id or tokenizer.json)."""

    def __init__(self, tokenizer: str | None) -> None:
        self.unit = "words" if tokenizer is None else f"tokens:{tokenizer}"
        self._tok = None
        if tokenizer is not None:
            from tokenizers import Tokenizer

            self._tok = Tokenizer.from_file(tokenizer) if tokenizer.endswith(".json") else Tokenizer.from_pretrained(tokenizer)

    def count(self, texts: Sequence[str]) -> list[int]:
        if self._tok is None:
            return [len(t.split()) for t in texts]
        return [len(e.ids) for e in self._tok.encode_batch(list(texts), add_special_tokens=False)]


def build_split(
    label: str,
    shards: Sequence[tuple[int, str]],
    clusters_path: str,
    data_cfg: Mapping[str, Any],
    out_dir: str,
    excluded_path: str,
    stats_path: str,
) -> dict[str, Any]:
    """Concatenate one label's documents in (collection, shard) order, minus cross-collection duplicates.

    Shards are contiguous runs of the sorted input files, so this order is the global reading
    order whatever `files_per_shard` is, and so are the part files cut from it.
    """
    clusters = Clusters.load(clusters_path)
    counter = TokenCounter(data_cfg["token_count"]["tokenizer"])
    per_file = data_cfg["corpus"]["docs_per_file"]
    funnels: dict[str, Funnel] = {}
    excluded: list[dict[str, Any]] = []
    totals = {"documents": 0, "characters": 0, "tokens": 0}

    def survivors() -> Iterator[dict[str, Any]]:
        for collection_index, path in shards:
            for doc in read_jsonl_gz(path):
                meta = doc["metadata"]
                if meta["quality"] != label:
                    continue
                funnel = funnels.setdefault(meta["collection"], Funnel())
                if _survives(doc, "minhash_cross", clusters, cross_key(collection_index, meta["doc_key"]), funnel, excluded):
                    yield doc

    part = 0
    for part, batch in enumerate(_batches(survivors(), per_file)):
        for doc, n in zip(batch, counter.count([d["text"] for d in batch]), strict=True):
            doc["metadata"]["token_count"] = n
            totals["tokens"] += n
            totals["characters"] += len(doc["text"])
        totals["documents"] += len(batch)
        write_jsonl_gz(f"{out_dir}/part-{part:05d}.jsonl.gz", batch)
    if totals["documents"] == 0:  # an empty split still gets a (empty) part so downstream globs agree
        write_jsonl_gz(f"{out_dir}/part-00000.jsonl.gz", [])
    write_jsonl_gz(excluded_path, excluded)
    stats = {"label": label, "unit": counter.unit, **totals, "funnel": {c: f.to_json() for c, f in sorted(funnels.items())}}
    write_json(stats_path, stats)
    return stats

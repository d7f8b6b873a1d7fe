"""Dedup clustering, quality labelling and split building on small real inputs."""

from __future__ import annotations

import ast
import re

import numpy as np
import pytest
import yaml
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from amalia_wf.data.minhash import BandFile, Clusters, SignatureWriter, Signer, band_pairs, cluster_pairs
from amalia_wf.data.quality import LABELS
from amalia_wf.data.split import TokenCounter, build_split, classify_shard, cross_key
from amalia_wf.io import read_json, read_jsonl_gz, write_jsonl_gz
from tests.conftest import REPO
from tests.tiny_models import build_tiny_quality_classifier

DATA = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["data"]
BASE = (
    "O autocarro chegou atrasado à estação de Lisboa e a equipa esteve a discutir o assunto durante o "
    "pequeno-almoço com calma e atenção aos pormenores do relatório anual da câmara municipal do Porto."
)
OTHER = (
    "Na aldeia serrana, os vizinhos juntaram-se para recuperar o forno comunitário, que não era aceso há "
    "vinte anos, e prometeram cozer pão todos os sábados durante o inverno inteiro."
)


def doc(key: int, text: str, collection: str = "c") -> dict:
    return {"id": f"r{key}", "text": text, "metadata": {"doc_key": key, "collection": collection, "url": f"https://x.pt/{key}"}}


def staged_clusters(tmp_path, paths, buckets, offsets=None, limit=1000):
    offsets = offsets or [0] * len(paths)
    pairs = []
    for band in range(buckets):
        pairs.append(tmp_path / f"band-{band}.pairs.npy")
        band_pairs([[BandFile(p, band, o) for p, o in zip(paths, offsets)]], limit, pairs[-1])
    return cluster_pairs(pairs)


def members(clusters):
    return {int(k): (int(r), int(s)) for k, r, s in zip(clusters.keys, clusters.roots, clusters.sizes)}


def test_each_cluster_keeps_its_first_document_whatever_the_input_order(tmp_path):
    signer = Signer(DATA["minhash"]["collection"])
    texts = {7: BASE, 3: BASE.replace("anual", "semestral"), 9: OTHER, 5: BASE}
    for n, order in enumerate(([7, 3, 9, 5], [5, 9, 3, 7], [9, 7, 5, 3])):
        paths = []
        for i, part in enumerate((order[:1], order[1:])):  # two shards
            writer = SignatureWriter(signer)
            for key in part:
                writer.add(key, texts[key])
            writer.write(tmp_path / f"{n}-{i}.npy")
            paths.append(tmp_path / f"{n}-{i}.npy")
        clusters = staged_clusters(tmp_path, paths, DATA["minhash"]["collection"]["buckets"])
        assert members(clusters) == {3: (3, 3), 5: (3, 3), 7: (3, 3)}
        assert clusters.fate(9) == (True, 9, 1) and clusters.fate(7) == (False, 3, 3) and clusters.fate(3) == (True, 3, 3)


def test_signatures_and_clusters_round_trip_through_files(tmp_path):
    signer = Signer(DATA["minhash"]["collection"])
    for name, items in (("a", [(1, BASE), (2, "curto")]), ("b", [(1, BASE)])):
        writer = SignatureWriter(signer)
        for key, text in items:
            writer.add(key, text)
        writer.write(tmp_path / f"{name}.npy")
    table = np.load(tmp_path / "a.npy")
    assert table.shape == (14, 1, 9) and table[:, 0, 8].tolist() == [1] * 14  # "curto" is shorter than one 5-gram: not signed
    clusters = staged_clusters(tmp_path, [tmp_path / "a.npy", tmp_path / "b.npy"], 14, [0 << 50, 1 << 50])
    assert members(clusters) == {1: (1, 2), (1 << 50) | 1: (1, 2)}
    clusters.save(tmp_path / "c.npy")
    assert members(Clusters.load(tmp_path / "c.npy")) == members(clusters)


def test_band_file_names_the_file_and_the_missing_band(tmp_path):
    np.save(tmp_path / "flat.npy", np.zeros((3, 4), dtype=np.uint64))
    with pytest.raises(ValueError, match="flat.npy: not a band-major signature file"):
        BandFile(tmp_path / "flat.npy", 0)
    np.save(tmp_path / "two.npy", np.zeros((2, 3, 4), dtype=np.uint64))
    with pytest.raises(ValueError, match="two.npy: has 2 bands, no band 2"):
        BandFile(tmp_path / "two.npy", 2)


def clusters_file(tmp_path, members_by_key):
    keys = sorted(members_by_key)
    Clusters(*(np.array(c, dtype=np.int64) for c in zip(*[(k, *members_by_key[k]) for k in keys]))).save(tmp_path)


def test_classify_shard_with_a_local_eurofilter_like_model(tmp_path):
    model = build_tiny_quality_classifier(tmp_path / "model", seed=0)
    docs = [doc(1, BASE), doc(2, BASE), doc(3, OTHER)]
    write_jsonl_gz(tmp_path / "docs.jsonl.gz", docs)
    clusters_file(tmp_path / "clusters.npy", {1: (1, 2), 2: (1, 2)})
    cfg = {**DATA, "quality": {"method": "hf", "hf": {"model": str(model), "batch_size": 2, "max_length": 512, "device": "cpu"}}}
    out = {
        "docs": tmp_path / "out.jsonl.gz",
        "excluded": tmp_path / "excluded.jsonl.gz",
        "stats": tmp_path / "stats.json",
        "signatures": {label: tmp_path / f"{label}.npy" for label in ("low", "medium", "high")},
    }
    stats = classify_shard("c", str(tmp_path / "docs.jsonl.gz"), str(tmp_path / "clusters.npy"), cfg, out)
    kept = list(read_jsonl_gz(out["docs"]))
    assert [d["metadata"]["doc_key"] for d in kept] == [1, 3]
    assert [d["metadata"]["minhash_collection_cluster_size"] for d in kept] == [2, 1]
    for d in kept:
        scores = d["metadata"]["quality_scores"]
        assert abs(scores["p_low"] + scores["p_medium"] + scores["p_high"] - 1) < 1e-4
        assert d["metadata"]["quality"] == max(("low", "medium", "high"), key=lambda lab: scores[f"p_{lab}"])
    assert [(d["stage"], d["duplicate_of"]) for d in read_jsonl_gz(out["excluded"])] == [("minhash_collection", 1)]
    assert sum(stats["labels"].values()) == 2 and read_json(out["stats"]) == stats
    signed = sum(np.load(p).shape[1] for p in out["signatures"].values())
    assert signed == 2


def test_build_split_orders_by_collection_then_shard_and_drops_cross_duplicates(tmp_path):
    shards = []
    for coll, (index, texts) in {"a": (0, [BASE, OTHER]), "b": (1, [BASE])}.items():
        docs = [doc(k, t, coll) | {"metadata": doc(k, t, coll)["metadata"] | {"quality": "high"}} for k, t in enumerate(texts)]
        docs.append(doc(9, OTHER + " Mais uma frase.", coll) | {"metadata": doc(9, "", coll)["metadata"] | {"quality": "low"}})
        write_jsonl_gz(tmp_path / f"{coll}.jsonl.gz", docs)
        shards.append((index, str(tmp_path / f"{coll}.jsonl.gz")))
    clusters_file(tmp_path / "x.npy", {cross_key(0, 0): (cross_key(0, 0), 2), cross_key(1, 0): (cross_key(0, 0), 2)})
    cfg = {**DATA, "corpus": {"docs_per_file": 1}}
    stats = build_split("high", shards, str(tmp_path / "x.npy"), cfg, str(tmp_path / "high"), str(tmp_path / "ex.jsonl.gz"), str(tmp_path / "s.json"))
    parts = sorted((tmp_path / "high").glob("part-*.jsonl.gz"))
    assert [d["metadata"]["collection"] + str(d["metadata"]["doc_key"]) for p in parts for d in read_jsonl_gz(p)] == ["a0", "a1"]
    assert [d["metadata"]["collection"] for d in read_jsonl_gz(tmp_path / "ex.jsonl.gz")] == ["b"]
    assert stats["documents"] == 2 and stats["tokens"] == len(BASE.split()) + len(OTHER.split())
    assert stats["funnel"]["b"]["reasons"] == [{"stage": "minhash_cross", "reason": "duplicate", "docs": 1}]


def test_token_counter_with_a_local_tokenizer_file(tmp_path):
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator([BASE, OTHER] * 5, trainers.BpeTrainer(vocab_size=120, special_tokens=["[UNK]"]))
    tok.save(str(tmp_path / "tokenizer.json"))
    counter = TokenCounter(str(tmp_path / "tokenizer.json"))
    counts = counter.count([BASE, OTHER])
    assert counter.unit == f"tokens:{tmp_path / 'tokenizer.json'}"
    assert counts == [len(tok.encode(t).ids) for t in (BASE, OTHER)] and counts[0] > len(BASE.split())
    assert TokenCounter(None).count([BASE]) == [len(BASE.split())]


def test_snakefile_labels_match_the_package():
    common = (REPO / "rules" / "common.smk").read_text()
    assert tuple(ast.literal_eval(re.search(r"^LABELS = (\[.*\])$", common, re.M).group(1))) == LABELS

"""End to end: the embedded default's data stage on its generated WARCs, through Snakemake."""

from __future__ import annotations

import csv
import gzip
import hashlib
import re
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from amalia_wf.data.synthetic import collection_pages, write_warc
from amalia_wf.io import read_jsonl_gz
from tests.conftest import make_workdir, run_snakemake

pytestmark = pytest.mark.slow


def page_kinds(workdir: Path) -> dict[str, str]:
    """url -> kind, for every page the default config generates (the truncated last record excluded)."""
    cfg = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    kinds = {}
    for coll in cfg["data"]["collections"]:
        spec = coll["synthetic"]
        for i in range(spec["files"]):
            pages = collection_pages(coll["name"], i, cfg["seed"], spec["pages_per_file"])
            if i == spec["files"] - 1:
                pages = pages[:-1]
            kinds.update((p.url, p.kind) for p in pages)
    return kinds


def corpus_docs(workdir: Path) -> dict[str, dict]:
    return {d["metadata"]["url"]: d for p in sorted((workdir / "results/data/corpus").glob("*/part-*.jsonl.gz")) for d in read_jsonl_gz(p)}


def exclusions(workdir: Path) -> dict[str, tuple[str, str]]:
    out = {}
    for p in sorted((workdir / "results/data").glob("*/**/*.excluded.jsonl.gz")):
        for d in read_jsonl_gz(p):
            out[d["metadata"]["url"]] = (d["stage"], d["reason"])
    return out


def corpus_digest(workdir: Path) -> dict[str, str]:
    root = workdir / "results/data/corpus"
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*.jsonl.gz"))}


def test_every_kind_of_page_meets_its_expected_fate(default_run):
    kinds = page_kinds(default_run)
    kept = corpus_docs(default_run)
    dropped = exclusions(default_run)
    by_kind = defaultdict(list)
    for url, kind in kinds.items():
        by_kind[kind].append(url)

    def fates(kind):
        return [("kept",) if u in kept else dropped.get(u, ("absent",)) for u in by_kind[kind]]

    assert all(f == ("kept",) for f in fates("pt_pt")), fates("pt_pt")
    assert all(f == ("kept",) for f in fates("br_substring_host"))  # www.brisa.pt and friends
    assert all(f == ("kept",) for f in fates("xhtml"))
    assert set(fates("pt_br_host")) == {("url_filter", "host_suffix")}
    assert set(fates("pt_br_path")) == {("url_filter", "path_segment")}
    assert set(fates("adult")) == {("url_filter", "blocklist_domain")}
    assert {f[0] for f in fates("english") + fates("spanish") + fates("galician")} == {"language_id"}
    assert set(fates("exact_dup")) | set(fates("near_dup")) == {("minhash_collection", "duplicate")}
    # A few words: too short for the Gopher test, often too short for a confident language score.
    assert {f[0] for f in fates("short")} <= {"extraction", "line_cleanup", "language_id", "gopher_quality"}
    # Line cleanup (before the Gopher repetition test, as in the fork) keeps one copy of each line.
    for url in by_kind["repetitive"]:
        lines = kept[url]["text"].split("\n")
        assert len(lines) == len(set(lines))
    # 404s and non-HTML payloads never become documents; they are counted at reading.
    assert set(fates("http_404")) == set(fates("non_html")) == {("absent",)}
    # The article shared by every collection survives exactly once.
    assert sorted(f[0] for f in fates("cross_dup")).count("kept") == 1
    assert {f for f in fates("cross_dup") if f != ("kept",)} == {("minhash_cross", "duplicate")}

    for url in by_kind["mojibake"]:
        text = kept[url]["text"]
        # ftfy runs after extraction (the paper's order); sequences whose second byte HTML parsing
        # normalises (í = "Ã" + soft hyphen, à = "Ã" + no-break space) cannot be restored there.
        assert "ção" in text and "é" in text
        assert not re.search("Ã[§£©¡³ª¢µº]", text)
    for url in by_kind["pii"]:
        text = kept[url]["text"]
        assert not re.search(r"[\w.]+@[\w.]+\.\w+", text.replace("email@example.com", ""))
        assert "185.32.4.17" not in text and "192.168.1.20" in text
        assert not re.search(r"\b9[1236]\d[\s.-]?\d{3}[\s.-]?\d{3}\b", text)
        assert kept[url]["metadata"]["pii_phones"] >= 3
    for url in by_kind["boilerplate"]:
        assert "cookies" not in kept[url]["text"].lower()


def test_kept_documents_carry_measurements_and_labels(default_run):
    docs = corpus_docs(default_run)
    assert docs
    for url, doc in docs.items():
        meta = doc["metadata"]
        assert meta["language"] == "por_Latn" and meta["language_score"] > 0.799
        assert {"dup_line_frac", "line_punct_ratio", "n_words", "stop_words"} <= set(meta["filter_values"])
        assert meta["quality"] in ("low", "medium", "high") and meta["minhash_collection_cluster_size"] >= 1
        assert meta["title"], url
    labels = {p.parent.name for p in (default_run / "results/data/corpus").glob("*/part-*.jsonl.gz") if gzip.open(p).read()}
    assert labels == {"low", "medium", "high"}


def test_stats_count_every_removal_and_the_corrupt_record(default_run):
    stats = default_run / "results/data/stats"
    funnel = list(csv.DictReader(open(stats / "funnel.csv")))
    for row in funnel:
        assert int(row["docs_out"]) <= int(row["docs_in"])
    read = {r["collection"]: r for r in funnel if r["stage"] == "warc_read"}
    assert set(read) == {"synth-a", "synth-b"}
    corrupt = list(csv.DictReader(open(stats / "corrupt_files.csv")))
    assert {r["file"] for r in corrupt} == {"synthetic-00003.warc.gz", "synthetic-00001.warc.gz"}
    reasons = {(r["collection"], r["stage"], r["reason"]): int(r["docs"]) for r in csv.DictReader(open(stats / "removal_reasons.csv"))}
    assert reasons[("synth-a", "warc_read", "corrupt")] == 1
    assert reasons[("synth-a", "warc_read", "not_200")] == 4  # one 404 per file
    tokens = {r["label"]: r for r in csv.DictReader(open(stats / "token_counts.csv"))}
    assert set(tokens) == {"low", "medium", "high"} and all(int(r["tokens"]) > 0 for r in tokens.values())
    total_kept = sum(int(r["documents"]) for r in tokens.values())
    assert total_kept == len(corpus_docs(default_run))
    for png in ("language_scores.png", "domains.png"):
        assert (stats / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_second_run_has_nothing_to_do(default_run):
    proc = run_snakemake(default_run, "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_corpus_is_identical_whatever_the_shard_count_and_band_slice(default_run, tmp_path):
    other = make_workdir(tmp_path / "three", {"data": {"files_per_shard": 3, "minhash": {"band_shard_docs": 7}}})
    run_snakemake(other, "data")
    assert len(list((other / "results/data/filtered/synth-a").glob("*.stats.json"))) == 2
    # Band jobs merged their shards' rows in many slices of 7 (the default run: one slice per band).
    for log in ("dedup_collection_band/synth-a-0.log", "dedup_cross_band/high-39.log"):
        for run, expected in ((other, lambda n: n > 3), (default_run, lambda n: n == 1)):
            slices = int(re.search(r"(\d+) slices", (run / "results/logs/data" / log).read_text()).group(1))
            assert expected(slices), (run, log, slices)
    assert corpus_digest(other) == corpus_digest(default_run)


def test_url_collections_are_downloaded_checked_and_filtered(default_run, tmp_path):
    import functools
    import http.server
    import threading

    served = default_run / "results/data/raw/synth-b"
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        workdir = make_workdir(tmp_path / "urls")
        names = sorted(p.name for p in served.glob("*.warc.gz"))
        manifest = "".join(
            f"http://127.0.0.1:{server.server_port}/{n}\t{hashlib.sha256((served / n).read_bytes()).hexdigest()}\n" for n in names
        )
        (workdir / "web.tsv").write_text("url\tsha256\n" + manifest)
        (workdir / "override.yaml").write_text(yaml.safe_dump({"data": {"collections": [{"name": "web", "urls": "web.tsv"}]}}))
        run_snakemake(workdir, "results/data/filtered/web/00000.stats.json")
    finally:
        server.shutdown()
    for n in names:
        assert (workdir / "results/data/download/web" / n).read_bytes() == (served / n).read_bytes()
    ours = [d["metadata"]["url"] for d in read_jsonl_gz(workdir / "results/data/filtered/web/00000.jsonl.gz")]
    theirs = [d["metadata"]["url"] for d in read_jsonl_gz(default_run / "results/data/filtered/synth-b/00000.jsonl.gz")]
    assert ours == theirs and ours


def test_unreadable_archive_fails_its_job_naming_the_file_and_keeps_the_others(tmp_path):
    overrides = {"data": {"files_per_shard": 1, "collections": [{"name": "local", "paths": "archives/*.warc.gz"}]}}
    workdir = make_workdir(tmp_path / "bad", overrides)
    (workdir / "archives").mkdir()
    (workdir / "archives/a-broken.warc.gz").write_bytes(b"this is not an archive at all\n" * 10)
    write_warc(workdir / "archives/b-good.warc.gz", collection_pages("local", 1, 1, 30), "local", 1, 1)
    proc = run_snakemake(workdir, "data", check=False)
    assert proc.returncode != 0
    log = (workdir / "results/logs/data/filter_shard/local-00000.log").read_text()
    assert "archives/a-broken.warc.gz" in log and "UnreadableArchive" in log
    # keep-going (set in the profile): the readable shard still finished.
    assert (workdir / "results/data/filtered/local/00001.stats.json").exists()

"""End to end: the embedded default's data stage on its generated WARCs, through Snakemake."""

from __future__ import annotations

import csv
import gzip
import hashlib
import random
import re
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from amalia_wf.data.synthetic import collection_pages, write_warc
from amalia_wf.data.warc import ReadCounts, read_html_records
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
    assert {Path(r["file"]).name for r in corrupt} == {"synthetic-00003.warc.gz", "synthetic-00001.warc.gz"}
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


def test_corpus_is_identical_whatever_the_shard_count_band_slice_and_band_jobs(default_run, tmp_path):
    override = {"data": {"files_per_shard": 3, "minhash": {"band_shard_docs": 7, "bands_per_job": 1}}}
    other = make_workdir(tmp_path / "three", override)
    run_snakemake(other, "data")
    assert len(list((other / "results/data/filtered/synth-a").glob("*.stats.json"))) == 2

    def logs(run: Path, rule: str) -> list[Path]:
        return sorted((run / "results/logs/data" / rule).glob("*.log"))

    def slices(log: Path) -> int:
        return int(re.search(r"(\d+) slices", log.read_text()).group(1))

    # One job per band, each merging its shards' rows in many slices of 7; the default: 20 bands a job
    # (14 collection bands in one, 40 cross bands in two), one slice per band.
    assert [len(logs(other, r)) for r in ("dedup_collection_band", "dedup_cross_band")] == [2 * 14, 3 * 40]
    assert [len(logs(default_run, r)) for r in ("dedup_collection_band", "dedup_cross_band")] == [2 * 1, 3 * 2]
    assert all(slices(log) > 3 for log in logs(other, "dedup_collection_band"))
    assert slices(default_run / "results/logs/data/dedup_collection_band/synth-a-0.log") == 14
    assert slices(default_run / "results/logs/data/dedup_cross_band/high-20.log") == 20
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


def test_every_kind_of_input_fault_is_a_counted_loss_and_the_data_target_finishes(tmp_path):
    from tests.test_warc_faults import arc_file, record_offsets

    overrides = {
        "data": {
            "files_per_shard": 3,
            "on_unreadable": "skip",
            "collections": [{"name": "faulty", "paths": ["archives/*.warc.gz", "archives/*.warc", "archives/*.arc"]}],
        }
    }
    workdir = make_workdir(tmp_path / "faulty", overrides)
    (workdir / "archives").mkdir()

    def source(i: int) -> tuple[Path, bytes, list[int]]:
        path = tmp_path / f"source-{i}.warc.gz"
        write_warc(path, collection_pages("faulty", i, 1, 20), "faulty", i, 1)
        return path, path.read_bytes(), record_offsets(path)

    # name -> (source archive, damaged bytes, record indices lost, records skipped, bytes skipped)
    faults: dict[str, tuple[Path | None, bytes, set[int], int, int]] = {}
    path, data, off = source(0)
    faults["a-healthy.warc.gz"] = (path, data, set(), 0, 0)
    path, data, off = source(1)
    flipped = bytearray(data)
    mid = (off[10] + off[11]) // 2
    flipped[mid - 25 : mid + 25] = bytes(b ^ 0xFF for b in flipped[mid - 25 : mid + 25])
    faults["b-flipped.warc.gz"] = (path, bytes(flipped), {10}, 1, off[11] - off[10])
    path, data, off = source(2)
    cut = (off[12] + off[13]) // 2
    faults["c-truncated.warc.gz"] = (path, data[:cut], set(range(12, len(off) - 1)), 1, cut - off[12])
    path, data, off = source(3)
    faults["d-cut-in-headers.warc.gz"] = (path, data[: off[5] + 40] + data[off[6] :], {5}, 1, 40)
    path, data, off = source(4)
    plain_path = tmp_path / "source-4.warc"
    plain_path.write_bytes(gzip.decompress(data))
    plain, poff = plain_path.read_bytes(), record_offsets(plain_path)
    bad = plain[poff[7] : poff[8]].replace(b"Content-Length: ", b"Content-Length: 9", 1)
    faults["e-plain.warc"] = (plain_path, plain[: poff[7]] + bad + plain[poff[8] :], {7}, 1, len(bad))
    arc_path = tmp_path / "source.arc"
    records = arc_file(4)
    arc_path.write_bytes(b"".join(records))
    line, rest = records[2].split(b"\n", 1)
    records[2] = line.rsplit(b" ", 2)[0] + b" not-a-length\n" + rest
    faults["f-bad-header-line.arc"] = (arc_path, b"".join(records), {2}, 1, len(records[2]))
    unreadable = {
        "g-empty.warc.gz": b"",
        "h-random.warc.gz": random.Random(3).randbytes(20_000),
        "i-not-gzip.warc.gz": b"<html><body>503 Service Unavailable</body></html>\n",
    }
    faults |= {name: (None, content, set(), 0, len(content)) for name, content in unreadable.items()}
    for name, (_, content, *_) in faults.items():
        (workdir / "archives" / name).write_bytes(content)

    run_snakemake(workdir, "data")

    stats = workdir / "results/data/stats"
    rows = {Path(r["file"]).name: r for r in csv.DictReader(open(stats / "corrupt_files.csv"))}
    expected = {
        name: (str(len(content)), str(records), str(nbytes), str(src is None), "faulty")
        for name, (src, content, _, records, nbytes) in faults.items()
        if nbytes or src is None
    }
    got = {name: (r["size"], r["records_skipped"], r["bytes_skipped"], r["file_skipped"], r["collection"]) for name, r in rows.items()}
    assert got == expected
    assert all(r["reason"] for r in rows.values())
    [first] = [r for r in csv.DictReader(open(stats / "funnel.csv")) if r["stage"] == "warc_read"]
    sizes = [len(content) for _, content, *_ in faults.values()]
    assert (first["files_in"], first["files_skipped"]) == (str(len(faults)), "3")
    assert (first["bytes_in"], first["bytes_skipped"]) == (str(sum(sizes)), str(sum(f[4] for f in faults.values())))
    reasons = {(r["stage"], r["reason"]): int(r["docs"]) for r in csv.DictReader(open(stats / "removal_reasons.csv"))}
    assert reasons[("warc_read", "corrupt")] == sum(f[3] for f in faults.values())

    # Every HTML record before and after each damage point reached the filters (kept or excluded there).
    seen = defaultdict(list)
    for p in sorted((workdir / "results/data/filtered/faulty").glob("*.jsonl.gz")):
        for doc in read_jsonl_gz(p):
            seen[doc["metadata"]["source"]].append(doc["metadata"]["url"])
    for name, (src, _, lost, _, _) in faults.items():
        want = [] if src is None else [r.url for r in read_html_records(str(src), 0, ReadCounts()) if r.doc_key not in lost]
        assert sorted(seen[name]) == sorted(want), name

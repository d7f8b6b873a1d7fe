"""Faults injected into real archives: each is a counted, bounded loss, never a stopped or silent read.

The archives are the synthetic generator's WARCs (written by warcio, one gzip member per record), their
plain (uncompressed) form, and multi-record ARC files. Every test compares the damaged file's records with
the undamaged file's: all records before and after each damage point must come back, unchanged.
"""

from __future__ import annotations

import gzip
import random
import zlib
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from amalia_wf.data.synthetic import collection_pages, write_warc
from amalia_wf.data.warc import HtmlRecord, ReadCounts, UnreadableArchive, read_html_records
from tests.test_warc import ARC_HTML, arc_record

PAGES = 30


def read(path: Path, skip: bool = True) -> tuple[list[HtmlRecord], ReadCounts]:
    counts = ReadCounts()
    return list(read_html_records(str(path), 0, counts, skip_unreadable=skip)), counts


def record_offsets(path: Path) -> list[int]:
    """Start of every record, and the file's size as the end of the last."""
    with open(path, "rb") as f:
        it = ArchiveIterator(f)
        return [it.get_record_offset() for _ in it] + [path.stat().st_size]


@pytest.fixture(scope="module")
def healthy(tmp_path_factory) -> tuple[bytes, list[int], list[HtmlRecord]]:
    """A 30-record gzip WARC: its bytes, record offsets and HTML records."""
    path = tmp_path_factory.mktemp("warc") / "healthy.warc.gz"
    write_warc(path, collection_pages("faults", 0, 1, PAGES), "faults", 0, 1)
    docs, counts = read(path)
    assert counts.records == PAGES and counts.corrupt == 0 and len(docs) > 15
    return path.read_bytes(), record_offsets(path), docs


def index_of(doc: HtmlRecord) -> int:
    return doc.doc_key & ((1 << 25) - 1)


def view(docs: list[HtmlRecord]) -> list[tuple]:
    """Everything of each record but the file name it came from."""
    return [(d.doc_key, d.record_id, d.url, d.date, d.html) for d in docs]


def without(docs: list[HtmlRecord], lost: set[int]) -> list[tuple]:
    return view([d for d in docs if index_of(d) not in lost])


def damaged(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def assert_fault(counts: ReadCounts, path: Path, records: int, nbytes: int, file_skipped: bool = False) -> None:
    assert counts.faults == [
        {
            "file": str(path),
            "size": path.stat().st_size,
            "records_skipped": records,
            "bytes_skipped": nbytes,
            "file_skipped": file_skipped,
            "reason": counts.faults[0]["reason"],
        }
    ]
    assert counts.faults[0]["reason"]
    assert (counts.corrupt, counts.bytes_skipped, counts.files_skipped) == (records, nbytes, int(file_skipped))
    assert (counts.files, counts.bytes) == (1, path.stat().st_size)


def html_member(offsets: list[int], docs: list[HtmlRecord], nth: int) -> int:
    """The record index of the nth HTML document (a damaged record must be one the reader would keep)."""
    return index_of(docs[nth])


# --- gzip WARCs: damage inside, reading resumes at the next member ---------------------------------


def test_flipped_bytes_inside_a_member_lose_only_that_record(tmp_path, healthy):
    data, offsets, docs = healthy
    k = html_member(offsets, docs, len(docs) // 2)
    start, end = offsets[k], offsets[k + 1]
    mid = (start + end) // 2
    flipped = bytearray(data)
    for i in range(mid - 25, mid + 25):
        flipped[i] ^= 0xFF
    path = damaged(tmp_path, "flipped.warc.gz", bytes(flipped))
    got, counts = read(path)
    assert view(got) == without(docs, {k})
    assert_fault(counts, path, records=1, nbytes=end - start)
    assert counts.records == PAGES - 1  # every other record read


def test_flipped_bytes_over_a_member_boundary_lose_both_records(tmp_path, healthy):
    data, offsets, docs = healthy
    k = html_member(offsets, docs, 5)
    flipped = bytearray(data)
    for i in range(offsets[k + 1] - 20, offsets[k + 1] + 20):  # also destroys member k+1's gzip header
        flipped[i] ^= 0x55
    path = damaged(tmp_path, "boundary.warc.gz", bytes(flipped))
    got, counts = read(path)
    assert [d[1:] for d in view(got)] == [d[1:] for d in without(docs, {k, k + 1})]
    assert counts.records == PAGES - 2
    # Member k+1's magic bytes are gone, so nothing tells it from the rest of member k: one record is
    # counted for the stretch (a damaged member whose magic survives counts as one more).
    assert_fault(counts, path, records=1, nbytes=offsets[k + 2] - offsets[k])


@pytest.mark.parametrize("kept", [5, 40], ids=["inside-gzip-header", "inside-warc-headers"])
def test_member_cut_inside_its_headers_then_more_members(tmp_path, healthy, kept):
    data, offsets, docs = healthy
    k = html_member(offsets, docs, 3)
    assert zlib.decompressobj(wbits=31).decompress(data[offsets[k] : offsets[k] + 40]).count(b"\r\n\r\n") == 0
    path = damaged(tmp_path, "cut-headers.warc.gz", data[: offsets[k] + kept] + data[offsets[k + 1] :])
    got, counts = read(path)
    assert view(got) == without(docs, {k})
    assert_fault(counts, path, records=1, nbytes=kept)


def test_last_member_cut_inside_its_headers(tmp_path, healthy):
    data, offsets, docs = healthy
    last = len(offsets) - 2
    path = damaged(tmp_path, "cut-end.warc.gz", data[: offsets[last] + 40])
    got, counts = read(path)
    assert view(got) == without(docs, {last})
    assert_fault(counts, path, records=1, nbytes=40)


def test_truncated_mid_record(tmp_path, healthy):
    data, offsets, docs = healthy
    k = html_member(offsets, docs, len(docs) // 2)
    cut = (offsets[k] + offsets[k + 1]) // 2
    path = damaged(tmp_path, "truncated.warc.gz", data[:cut])
    got, counts = read(path)
    assert view(got) == view([d for d in docs if index_of(d) < k])
    assert_fault(counts, path, records=1, nbytes=cut - offsets[k])


def test_several_damage_points_in_one_file_are_each_counted(tmp_path, healthy):
    data, offsets, docs = healthy
    ks = [html_member(offsets, docs, n) for n in (2, 8, 14)]
    garbled = bytearray(data)
    for k in ks:
        mid = (offsets[k] + offsets[k + 1]) // 2
        garbled[mid : mid + 8] = random.Random(k).randbytes(8)
    path = damaged(tmp_path, "three.warc.gz", bytes(garbled))
    got, counts = read(path)
    assert view(got) == without(docs, set(ks))
    assert_fault(counts, path, records=3, nbytes=sum(offsets[k + 1] - offsets[k] for k in ks))


def test_damaged_first_member_is_skipped_and_the_rest_read(tmp_path, healthy):
    data, offsets, docs = healthy
    garbled = bytearray(data)
    garbled[offsets[0] + 20 : offsets[0] + 30] = bytes(10)
    path = damaged(tmp_path, "first.warc.gz", bytes(garbled))
    got, counts = read(path)
    assert view(got) == without(docs, {0})
    assert_fault(counts, path, records=1, nbytes=offsets[1])


# --- plain WARC and ARC: resynchronise at the next record header line ------------------------------


@pytest.fixture(scope="module")
def plain(tmp_path_factory, healthy) -> tuple[bytes, list[int], list[HtmlRecord]]:
    path = tmp_path_factory.mktemp("plain") / "healthy.warc"
    path.write_bytes(gzip.decompress(healthy[0]))  # every member inflated: the same records, uncompressed
    docs, counts = read(path)
    assert [(d.url, d.html) for d in docs] == [(d.url, d.html) for d in healthy[2]] and counts.corrupt == 0
    return path.read_bytes(), record_offsets(path), docs


@pytest.mark.parametrize("damage", ["content-length", "version-line", "cut-short"])
def test_plain_warc_with_a_damaged_record(tmp_path, plain, damage):
    data, offsets, docs = plain
    k = html_member(offsets, docs, len(docs) // 2)
    record = data[offsets[k] : offsets[k + 1]]
    if damage == "content-length":
        bad = record.replace(b"Content-Length: ", b"Content-Length: 9", 1)  # ten times too long
    elif damage == "version-line":
        bad = b"WXRC" + record[4:]
    else:
        bad = record[: len(record) // 2]  # the rest of the record lost, the next one follows
    path = damaged(tmp_path, "plain.warc", data[: offsets[k]] + bad + data[offsets[k + 1] :])
    got, counts = read(path)
    assert view(got) == without(docs, {k})
    assert_fault(counts, path, records=1, nbytes=len(bad))


def arc_file(n: int) -> list[bytes]:
    version = b"1 0 AMALIA tests\nURL IP-address Archive-date Content-type Archive-length\n"
    records = [arc_record("filedesc://faults-0001.arc", "0.0.0.0", "20010101000000", "text/plain", version)]
    for i in range(n):
        body = ARC_HTML.replace(b"2001", str(2001 + i).encode())
        http = (
            b"HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        records.append(
            arc_record(f"http://www.exemplo.pt/{i}.html", "193.136.1.2", f"200102030405{i:02d}", "text/html", http)
        )
    return records


@pytest.mark.parametrize("compressed", [False, True], ids=["arc", "arc.gz"])
@pytest.mark.parametrize("k", [1, 3, 0], ids=["second", "middle", "filedesc"])
def test_arc_file_with_a_bad_header_line(tmp_path, compressed, k):
    records = arc_file(5)
    healthy_path = tmp_path / ("healthy.arc.gz" if compressed else "healthy.arc")
    pack = (lambda rs: b"".join(gzip.compress(r, mtime=0) for r in rs)) if compressed else b"".join
    healthy_path.write_bytes(pack(records))
    docs, _ = read(healthy_path)
    assert len(docs) == 5
    bad = list(records)
    line, rest = bad[k].split(b"\n", 1)
    bad[k] = line.rsplit(b" ", 2)[0] + b" not-a-length\n" + rest  # content type and length lost
    path = damaged(tmp_path, healthy_path.name.replace("healthy", "bad"), pack(bad))
    got, counts = read(path)
    assert [(url, html, key) for key, _, url, _, html in view(got)] == [
        (url, html, key) for key, _, url, _, html in without(docs, {k})
    ]
    assert_fault(counts, path, records=1, nbytes=len(pack([bad[k]])))


# --- unreadable files: skipped whole under skip, an error naming the file under fail ------------------


def unreadable_files(tmp_path: Path) -> dict[str, Path]:
    files = {
        "zero-length": b"",
        "random-bytes": random.Random(7).randbytes(50_000),
        "not-gzip": b"<html><body><h1>403 Forbidden</h1></body></html>\n",
        "gzipped-text": gzip.compress(b"Lista de ficheiros\nnada aqui\n" * 40, mtime=0),
    }
    out = {}
    for name, data in files.items():
        out[name] = tmp_path / f"{name}.warc.gz"
        out[name].write_bytes(data)
    return out


@pytest.mark.parametrize("kind", ["zero-length", "random-bytes", "not-gzip", "gzipped-text", "missing"])
def test_unreadable_file_is_skipped_whole_and_counted(tmp_path, kind):
    path = unreadable_files(tmp_path).get(kind, tmp_path / "missing.warc.gz")
    docs, counts = read(path)
    size = path.stat().st_size if path.exists() else 0
    assert docs == []
    assert (counts.files, counts.files_skipped, counts.bytes, counts.bytes_skipped, counts.records) == (
        1,
        1,
        size,
        size,
        0,
    )
    [fault] = counts.faults
    assert (fault["file"], fault["size"], fault["records_skipped"], fault["bytes_skipped"], fault["file_skipped"]) == (
        str(path),
        size,
        0,
        size,
        True,
    )
    assert counts.corrupt == 0
    assert str(path) in fault["reason"]


@pytest.mark.parametrize("kind", ["zero-length", "random-bytes", "not-gzip", "gzipped-text"])
def test_unreadable_file_fails_naming_the_file_and_the_config_key(tmp_path, kind):
    path = unreadable_files(tmp_path)[kind]
    with pytest.raises(UnreadableArchive) as info:
        read(path, skip=False)
    assert str(path) in str(info.value) and "data.on_unreadable" in str(info.value)


def test_damaged_but_readable_file_is_read_under_fail_too(tmp_path, healthy):
    data, offsets, docs = healthy
    path = damaged(tmp_path, "truncated.warc.gz", data[: offsets[-2] + 100])
    got, counts = read(path, skip=False)
    assert view(got) == view(docs[:-1]) and counts.corrupt == 1 and counts.files_skipped == 0


def test_counts_add_up_over_a_shard_of_good_damaged_and_unreadable_files(tmp_path, healthy):
    data, offsets, docs = healthy
    paths = [
        damaged(tmp_path, "a.warc.gz", data),
        damaged(tmp_path, "b.warc.gz", data[: offsets[10]] + data[offsets[11] + 7 :]),
    ]
    paths += unreadable_files(tmp_path).values()
    counts = ReadCounts()
    n = sum(1 for p in paths for _ in read_html_records(str(p), 0, counts, skip_unreadable=True))
    assert counts.files == len(paths) and counts.bytes == sum(p.stat().st_size for p in paths)
    assert counts.files_skipped == 4 and len(counts.faults) == 5
    assert counts.bytes_skipped == sum(f["bytes_skipped"] for f in counts.faults)
    assert counts.records == 2 * PAGES - 2  # record 10 lost, record 11 lost with its first 7 bytes
    assert n == 2 * len(docs) - len({10, 11} & {index_of(d) for d in docs})

"""Reading WARC/ARC files with warcio: HTML selection, decoding, keys, damaged and foreign files."""

from __future__ import annotations

import gzip
import io
import random
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from amalia_wf.data.warc import FILE_SHIFT, HtmlRecord, ReadCounts, UnreadableArchive, doc_key, read_html_records

LATIN1_HTML = "<html><head><title>Educação</title></head><body><p>A ação do município.</p></body></html>"
XHTML = '<html xmlns="http://www.w3.org/1999/xhtml"><body><p>Página XHTML</p></body></html>'
UTF8_HTML = "<html><body><p>Coração de Lisboa — “aspas”</p></body></html>"

# (record type, url, status, content type, body); record ids and dates are fixed so the bytes are too.
RECORDS = [
    ("response", "http://www.a.pt/", "200 OK", "text/html; charset=iso-8859-1", LATIN1_HTML.encode("latin-1")),
    ("response", "http://www.a.pt/falta", "404 Not Found", "text/html", b"<html><body>Not found</body></html>"),
    ("response", "http://www.a.pt/doc.pdf", "200 OK", "application/pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"),
    ("response", "http://www.a.pt/x.xhtml", "200 OK", "application/xhtml+xml", XHTML.encode("utf-8")),
    ("request", "http://www.a.pt/", None, None, b"GET / HTTP/1.1\r\nHost: www.a.pt\r\n\r\n"),
    ("response", "http://www.a.pt/u", "200 OK", "text/html; charset=utf-8", UTF8_HTML.encode("utf-8")),
]
HTML_INDICES = [0, 3, 5]


def record_id(i: int) -> str:
    return f"<urn:uuid:00000000-0000-4000-8000-{i:012d}>"


def write_warc(path: Path, records=RECORDS) -> Path:
    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=True)
        for i, (rec_type, url, status, ctype, body) in enumerate(records):
            headers = {"WARC-Record-ID": record_id(i), "WARC-Date": f"2020-01-02T03:04:{i:02d}Z"}
            http = None
            if rec_type == "response":
                http = StatusAndHeaders(status, [("Content-Type", ctype)], protocol="HTTP/1.1")
            writer.write_record(
                writer.create_warc_record(
                    url, rec_type, payload=io.BytesIO(body), http_headers=http, warc_headers_dict=headers
                )
            )
    return path


def member_offsets(path: Path) -> list[int]:
    with open(path, "rb") as f:
        it = ArchiveIterator(f)
        return [it.get_record_offset() for _ in it]


def read(path: Path, file_index: int = 0) -> tuple[list[HtmlRecord], ReadCounts]:
    counts = ReadCounts()
    return list(read_html_records(str(path), file_index, counts)), counts


# --- a healthy WARC -----------------------------------------------------------------------------


def test_reads_only_200_html_and_xhtml_with_decoded_text(tmp_path):
    path = write_warc(tmp_path / "crawl-00001.warc.gz")
    docs, counts = read(path, file_index=7)
    assert [d.url for d in docs] == [RECORDS[i][1] for i in HTML_INDICES]
    assert [d.html for d in docs] == [LATIN1_HTML, XHTML, UTF8_HTML]
    assert "ação" in docs[0].html  # latin-1 bytes decoded with the declared charset
    assert [d.record_id for d in docs] == [record_id(i) for i in HTML_INDICES]
    assert [d.date for d in docs] == [f"2020-01-02T03:04:{i:02d}Z" for i in HTML_INDICES]
    assert {d.source for d in docs} == {"crawl-00001.warc.gz"}


def test_doc_keys_follow_file_and_record_position(tmp_path):
    path = write_warc(tmp_path / "a.warc.gz")
    docs, _ = read(path, file_index=7)
    keys = [d.doc_key for d in docs]
    assert keys == [doc_key(7, i) for i in HTML_INDICES]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert all(k >> FILE_SHIFT == 7 for k in keys)
    later, _ = read(path, file_index=8)
    assert min(d.doc_key for d in later) > max(keys)


def test_doc_key_orders_like_reading_order():
    assert doc_key(0, 0) == 0
    assert doc_key(1, 0) == 1 << FILE_SHIFT
    assert doc_key(0, (1 << FILE_SHIFT) - 1) < doc_key(1, 0) < doc_key(1, 1) < doc_key(2, 0)


def test_read_counts(tmp_path):
    path = write_warc(tmp_path / "a.warc.gz")
    _, counts = read(path)
    assert counts == ReadCounts(
        files=1, bytes=path.stat().st_size, records=6, responses=5, not_200=1, not_html=1, undecodable=0, corrupt=0
    )


def test_counts_accumulate_over_files(tmp_path):
    counts = ReadCounts()
    for i in range(2):
        assert len(list(read_html_records(str(write_warc(tmp_path / f"{i}.warc.gz")), i, counts))) == 3
    assert (counts.records, counts.responses, counts.not_200, counts.not_html) == (12, 10, 2, 2)


def test_reading_twice_gives_identical_records(tmp_path):
    path = write_warc(tmp_path / "a.warc.gz")
    assert read(path) == read(path)


# --- damaged files ------------------------------------------------------------------------------


@pytest.fixture
def warc_bytes(tmp_path) -> tuple[bytes, list[int]]:
    path = write_warc(tmp_path / "source.warc.gz")
    return path.read_bytes(), member_offsets(path)


def test_truncated_in_middle_of_last_member_is_counted_corrupt(tmp_path, warc_bytes):
    data, offsets = warc_bytes
    cut = offsets[-1] + (len(data) - offsets[-1]) // 2
    path = tmp_path / "cut.warc.gz"
    path.write_bytes(data[:cut])
    docs, counts = read(path)
    assert [d.url for d in docs] == [RECORDS[0][1], RECORDS[3][1]]
    assert counts.corrupt == 1
    assert [f["file"] for f in counts.faults] == [str(path)]


def test_truncated_payload_of_last_member_is_not_yielded(tmp_path, warc_bytes):
    data, _ = warc_bytes
    path = tmp_path / "cut.warc.gz"
    path.write_bytes(data[:-16])  # 8 bytes of deflate data and the 8-byte gzip trailer lost
    docs, counts = read(path)
    assert [d.html for d in docs] == [LATIN1_HTML, XHTML]
    assert counts.corrupt == 1
    assert [f["file"] for f in counts.faults] == [str(path)]


def test_damaged_last_member_is_counted_corrupt_not_raised(tmp_path, warc_bytes):
    data, offsets = warc_bytes
    last = offsets[-1]
    garbage = random.Random(1).randbytes(len(data) - last - 10)
    path = tmp_path / "damaged.warc.gz"
    path.write_bytes(data[: last + 10] + garbage)  # gzip header intact, deflate data garbage
    docs, counts = read(path)
    assert [d.url for d in docs] == [RECORDS[0][1], RECORDS[3][1]]
    assert [d.html for d in docs] == [LATIN1_HTML, XHTML]
    assert counts.corrupt == 1
    assert [f["file"] for f in counts.faults] == [str(path)]
    assert counts.records == 5


def test_random_bytes_are_unreadable(tmp_path):
    path = tmp_path / "random.warc.gz"
    path.write_bytes(random.Random(0).randbytes(4096))
    with pytest.raises(UnreadableArchive, match="random.warc.gz") as info:
        read(path)
    assert str(path) in str(info.value)


def test_text_file_is_unreadable(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("Notas\nIsto não é um arquivo.\n", encoding="utf-8")
    with pytest.raises(UnreadableArchive) as info:
        read(path)
    assert str(path) in str(info.value)


def test_prose_text_file_is_unreadable(tmp_path):
    path = tmp_path / "leia-me.txt"
    path.write_text("Este ficheiro contém apenas texto corrido em português.\n" * 20, encoding="utf-8")
    with pytest.raises(UnreadableArchive) as info:
        read(path)
    assert str(path) in str(info.value)


def test_gzipped_text_file_is_unreadable(tmp_path):
    path = tmp_path / "notes.warc.gz"
    path.write_bytes(gzip.compress(b"just some text\nnot an archive\n"))
    with pytest.raises(UnreadableArchive) as info:
        read(path)
    assert str(path) in str(info.value)


def test_nonexistent_file_is_unreadable(tmp_path):
    path = tmp_path / "missing.warc.gz"
    with pytest.raises(UnreadableArchive) as info:
        read(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value.__cause__, FileNotFoundError)


def test_empty_file_is_unreadable(tmp_path):
    path = tmp_path / "empty.warc.gz"
    path.write_bytes(b"")
    with pytest.raises(UnreadableArchive):
        read(path)


# --- ARC files ----------------------------------------------------------------------------------

ARC_HTML = "<html><body><p>Olá, ação no arquivo de 2001!</p></body></html>".encode()
ARC_URL = "http://www.exemplo.pt:80/index.html"


def arc_record(url: str, ip: str, date: str, ctype: str, body: bytes) -> bytes:
    # ARC v1: `URL IP-address Archive-date Content-type Archive-length`, then the body, then a newline.
    return f"{url} {ip} {date} {ctype} {len(body)}\n".encode("ascii") + body + b"\n"


def arc_records() -> list[bytes]:
    version = b"1 0 AMALIA tests\nURL IP-address Archive-date Content-type Archive-length\n"
    http = (
        b"HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
        + f"Content-Length: {len(ARC_HTML)}\r\n\r\n".encode("ascii")
        + ARC_HTML
    )
    return [
        arc_record("filedesc://test-0001.arc", "0.0.0.0", "20010101000000", "text/plain", version),
        arc_record(ARC_URL, "193.136.1.2", "20010203040506", "text/html", http),
    ]


@pytest.mark.parametrize("compressed", [False, True], ids=["arc", "arc.gz"])
def test_arc_file_is_read_like_a_warc(tmp_path, compressed):
    if compressed:
        path = tmp_path / "test-0001.arc.gz"
        path.write_bytes(b"".join(gzip.compress(r, mtime=0) for r in arc_records()))  # one member per record
    else:
        path = tmp_path / "test-0001.arc"
        path.write_bytes(b"".join(arc_records()))
    docs, counts = read(path, file_index=2)
    assert len(docs) == 1
    doc = docs[0]
    assert doc.url == ARC_URL
    assert doc.html == ARC_HTML.decode("utf-8")
    assert doc.record_id == f"{path.name}#1"  # ARC has no record ids: file name and position
    assert doc.date == "2001-02-03T04:05:06Z"
    assert doc.doc_key == doc_key(2, 1)  # the filedesc header is record 0
    assert doc.source == path.name
    assert (counts.records, counts.responses, counts.corrupt) == (2, 1, 0)


def test_arc_record_id_is_stable_across_reads(tmp_path):
    path = tmp_path / "test-0001.arc"
    path.write_bytes(b"".join(arc_records()))
    first, _ = read(path)
    second, _ = read(path)
    assert first[0].record_id == second[0].record_id

"""Reading WARC/ARC records into HTML documents; damaged stretches and unreadable files are counted, not fatal."""

from __future__ import annotations

import logging
import os
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import IO, Any, TypeVar

from charset_normalizer import from_bytes
from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord
from warcio.timeutils import timestamp_to_iso_date

log = logging.getLogger(__name__)

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})

GZIP_MAGIC = b"\x1f\x8b\x08"  # gzip id bytes and the deflate method: the start of every member
# The first line of a WARC record, or an ARC v1/v2 record's header line (URL, IP, 14-digit date, ...,
# length): strict enough that no line of prose or HTML passes for one.
WARC_LINE = rb"WARC/1\.\d\r?\n"
ARC_LINE = rb"[a-z][a-z0-9+.-]*:\S* \S+ \d{14} \S+(?: \S+)* \d+\r?\n"
RECORD_START = re.compile(WARC_LINE + b"|" + ARC_LINE, re.IGNORECASE)
# In a plain file: a WARC version line anywhere (the record before it may be cut mid-line), an ARC line at a line start.
PLAIN_RECORD_START = re.compile(WARC_LINE + rb"|(?<=\n)" + ARC_LINE, re.IGNORECASE)
SCAN_CHUNK = 1 << 20
HEAD_BYTES = 1 << 16  # enough input to inflate a member's first line, and longer than any header line

REASON_CHARS = 160

T = TypeVar("T")


class UnreadableArchive(RuntimeError):
    """A file that yields no record at all: not a WARC/ARC, empty, unreadable, or damaged throughout."""


@dataclass
class ReadCounts:
    files: int = 0  # input files opened
    bytes: int = 0  # their size
    files_skipped: int = 0  # unreadable files skipped whole (data.on_unreadable: skip)
    bytes_skipped: int = 0  # bytes not read: skipped files and damaged stretches of read ones
    records: int = 0  # intact records read
    responses: int = 0
    not_200: int = 0
    not_html: int = 0
    undecodable: int = 0
    corrupt: int = 0  # damaged records skipped
    faults: list[dict[str, Any]] = field(default_factory=list)  # per damaged or skipped file: corrupt_files.csv

    def fault(self, path: str, size: int, records: int, nbytes: int, file_skipped: bool, reason: str) -> None:
        self.corrupt += records
        self.bytes_skipped += nbytes
        self.files_skipped += file_skipped
        self.faults.append(
            {
                "file": path,
                "size": size,
                "records_skipped": records,
                "bytes_skipped": nbytes,
                "file_skipped": file_skipped,
                "reason": reason,
            }
        )

    def merge(self, other: ReadCounts) -> None:
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            setattr(self, f.name, mine + theirs)


@dataclass(frozen=True)
class HtmlRecord:
    doc_key: int  # position of the record in the collection: (file index, record index)
    record_id: str
    url: str
    date: str
    html: str
    source: str


@dataclass
class _Damage:
    """One file's damaged stretches (records and bytes skipped, the first reason) and the bytes read intact."""

    records: int = 0
    bytes: int = 0
    reason: str = ""
    read: int = 0  # intact records and damaged stretches tile the file: read + bytes == size at its end


# Collection-wide document key: the file's position in the sorted collection and the record's
# position in the file. Keys compare like global reading order, whatever the sharding.
FILE_SHIFT = 25


def doc_key(file_index: int, record_index: int) -> int:
    return (file_index << FILE_SHIFT) | record_index


def _decode(payload: bytes, content_type: str) -> str | None:
    charset = None
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            charset = value.strip("\"' ")
    for candidate in (charset, "utf-8"):
        if not candidate:
            continue
        try:
            return payload.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            pass
    best = from_bytes(payload).best()
    return str(best) if best is not None else None


def _starts_member_with_record(buf: bytes, at: int) -> bool:
    try:
        head = zlib.decompressobj(wbits=31).decompress(memoryview(buf)[at : at + HEAD_BYTES], HEAD_BYTES)
    except zlib.error:
        return False
    return RECORD_START.match(head) is not None


def _next_record_start(stream: IO[bytes], pos: int, gzipped: bool) -> tuple[int | None, int]:
    """The first offset >= pos where an intact record begins, and how many damaged gzip members lie before it.

    In a gzip file that is a member (1f 8b 08) inflating to a WARC/ARC first line; in a plain file, that
    line itself. A member whose own start fails the test is a record lost in the same stretch.
    """
    lost = 0
    while True:
        stream.seek(pos)
        buf = stream.read(SCAN_CHUNK + HEAD_BYTES)
        end = min(SCAN_CHUNK, len(buf))  # candidates past it are looked at with the next chunk's context
        if gzipped:
            at = buf.find(GZIP_MAGIC)
            while 0 <= at < end:
                if _starts_member_with_record(buf, at):
                    return pos + at, lost
                lost += 1
                at = buf.find(GZIP_MAGIC, at + 1)
        elif (found := PLAIN_RECORD_START.search(buf)) and found.start() < end:
            return pos + found.start(), lost
        if len(buf) <= SCAN_CHUNK:
            return None, lost
        pos += SCAN_CHUNK


def _intact_records(
    path: str, stream: IO[bytes], size: int, damage: _Damage, take: Callable[[ArcWarcRecord], T]
) -> Iterator[tuple[int, int, ArcWarcRecord, T]]:
    """Yield (record index, offset, record, take(record)) for every intact record, resynchronising after damage.

    `take` reads what the caller needs of the record while warcio is on it; the record is yielded only once
    all of it has been read without fault. warcio itself stops at the first damaged gzip member (it logs the
    inflate error and reports end of file), so each stretch from a failing record to the next record start
    (see _next_record_start) is counted in `damage` and reading restarts there with a fresh iterator.
    """
    stream.seek(0)
    gzipped = stream.read(2) == GZIP_MAGIC[:2] or path.endswith(".gz")
    index = offset = 0
    while offset < size:
        stream.seek(offset)
        records = ArchiveIterator(stream, arc2warc=False)
        try:
            while True:
                start = records.offset  # where the next record begins: the previous one was read to its end
                try:
                    record = next(records)
                except StopIteration:
                    if records.offset >= size:
                        return
                    raise EOFError(f"{size - records.offset} bytes after the last complete record") from None
                if record.rec_type is None or record.length is None:
                    raise EOFError("record headers end before its Content-Length")
                taken = take(record)
                records.read_to_end()
                if getattr(record.raw_stream, "limit", 0) > 0:
                    # warcio returns a short payload without complaint when a gzip member ends early;
                    # bytes still owed by the record's Content-Length are the only sign of truncation.
                    raise EOFError("payload shorter than its Content-Length")
                if records.err_count:
                    raise ValueError("record not followed by a blank line: its Content-Length is wrong")
                damage.read += records.offset - start
                yield index, start, record, taken
                index += 1
        except OSError:
            raise
        except Exception as exc:  # noqa: BLE001 (warcio raises bare Exception, ArchiveLoadFailed, EOFError)
            reason = f"{exc!r:.{REASON_CHARS}} at offset {start}"  # warcio quotes the whole bad line
        resume, lost = _next_record_start(stream, start + 1, gzipped)
        offset = size if resume is None else resume
        log.warning("damaged record %d in %s: %s; %d bytes skipped", index, path, reason, offset - start)
        damage.records += 1 + lost
        damage.bytes += offset - start
        damage.reason = damage.reason or reason
        index += 1 + lost


def _take_html(record: ArcWarcRecord) -> tuple[str, bytes | None]:
    """The record's fate at reading (`html` or the reason it is not a document), and the HTML payload."""
    if record.rec_type != "response":
        return "other", None
    http = record.http_headers
    if http is None or http.get_statuscode() != "200":
        return "not_200", None
    if (http.get_header("Content-Type") or "").split(";")[0].strip().lower() not in HTML_TYPES:
        return "not_html", None
    return "html", record.content_stream().read()


def _html_records(path: str, file_index: int, size: int, counts: ReadCounts, damage: _Damage) -> Iterator[HtmlRecord]:
    name = Path(path).name
    found = False
    with open(path, "rb") as stream:
        for index, offset, record, (fate, payload) in _intact_records(path, stream, size, damage, _take_html):
            is_arc = record.format == "arc"
            if offset == 0 and is_arc and record.rec_type != "arc_header":
                # arc2warc stays off: its converted records get a random WARC-Record-ID on every read,
                # and it cannot tell a real ARC from any text file whose first line has five words.
                raise UnreadableArchive(f"{path} is neither WARC nor ARC (no filedesc:// header)")
            found = True
            counts.records += 1
            if fate == "other":
                continue
            counts.responses += 1
            if fate != "html":
                setattr(counts, fate, getattr(counts, fate) + 1)
                continue
            content_type = record.http_headers.get_header("Content-Type") or ""
            html = _decode(payload, content_type)
            if html is None:
                counts.undecodable += 1
                continue
            headers = record.rec_headers
            yield HtmlRecord(
                doc_key=doc_key(file_index, index),
                record_id=f"{name}#{index}" if is_arc else headers.get_header("WARC-Record-ID") or f"{name}#{index}",
                url=headers.get_header("uri" if is_arc else "WARC-Target-URI") or "",
                date=_arc_date(headers.get_header("archive-date")) if is_arc else headers.get_header("WARC-Date") or "",
                html=html,
                source=name,
            )
    if not found:
        raise UnreadableArchive(f"{path} holds no readable WARC/ARC record ({damage.reason or 'empty'})")


def read_html_records(
    path: str, file_index: int, counts: ReadCounts, skip_unreadable: bool = False
) -> Iterator[HtmlRecord]:
    """Yield the HTTP 200 HTML responses of one WARC or ARC file.

    The status is checked because a 404 page is valid HTML that extraction would happily keep
    (datatrove's WarcReader does not check it). Damaged records are skipped up to the next record start
    and counted in `counts` (records, bytes, one fault row per file). A file with no readable record at
    all raises UnreadableArchive naming it, or with `skip_unreadable` is counted as skipped whole.
    """
    damage = _Damage()
    size = 0
    counts.files += 1
    try:
        size = os.path.getsize(path)
        counts.bytes += size
        yield from _html_records(path, file_index, size, counts, damage)
    except (UnreadableArchive, OSError) as exc:
        reason = str(exc) if isinstance(exc, UnreadableArchive) else f"cannot read {path}: {exc}"
        if not skip_unreadable:
            hint = "; data.on_unreadable: skip records such files and goes on"
            raise UnreadableArchive(reason + hint) from exc
        # Nothing read (the usual case): the file is skipped whole, its records unknown. After an I/O error
        # part way, the rest of the file is skipped on top of the damaged stretches before it.
        whole = damage.read == 0
        log.warning("skipped %s: %s", path, reason)
        counts.fault(path, size, 0 if whole else damage.records, size - damage.read, whole, reason)
        return
    if damage.records:
        counts.fault(path, size, damage.records, damage.bytes, False, damage.reason)


def _arc_date(stamp: str | None) -> str:
    # ARC headers carry 14-digit timestamps; documents from both formats get WARC's ISO form.
    return timestamp_to_iso_date(stamp) if stamp else ""

"""Reading WARC/ARC records into HTML documents, with corrupt records counted, not fatal."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from charset_normalizer import from_bytes
from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import timestamp_to_iso_date

log = logging.getLogger(__name__)

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


class UnreadableArchive(RuntimeError):
    """A file that yields no record at all: not a WARC/ARC, or damaged from the start."""


@dataclass
class ReadCounts:
    records: int = 0
    responses: int = 0
    not_200: int = 0
    not_html: int = 0
    undecodable: int = 0
    corrupt: int = 0
    corrupt_files: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class HtmlRecord:
    doc_key: int  # position of the record in the collection: (file index, record index)
    record_id: str
    url: str
    date: str
    html: str
    source: str


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


def read_html_records(path: str, file_index: int, counts: ReadCounts) -> Iterator[HtmlRecord]:
    """Yield the HTTP 200 HTML responses of one WARC or ARC file.

    The status is checked because a 404 page is valid HTML that extraction would happily keep
    (datatrove's WarcReader does not check it). A damaged record ends the file: gzip members after
    a truncation cannot be located reliably, so the rest is counted as one corrupt record.
    """
    name = Path(path).name
    index = -1
    try:
        size = os.path.getsize(path)
        if size == 0:
            raise UnreadableArchive(f"{path} is empty")
        with open(path, "rb") as stream:
            # arc2warc stays off: its converted records get a random WARC-Record-ID on every read,
            # and it cannot tell a real ARC from any text file whose first line has five words.
            records = ArchiveIterator(stream, arc2warc=False)
            for index, record in enumerate(records):
                counts.records += 1
                is_arc = record.format == "arc"
                if index == 0 and is_arc and record.rec_type != "arc_header":
                    raise UnreadableArchive(f"{path} is neither WARC nor ARC (no filedesc:// header)")
                if record.rec_type != "response":
                    continue
                counts.responses += 1
                http = record.http_headers
                if http is None or http.get_statuscode() != "200":
                    counts.not_200 += 1
                    continue
                content_type = http.get_header("Content-Type") or ""
                if content_type.split(";")[0].strip().lower() not in HTML_TYPES:
                    counts.not_html += 1
                    continue
                payload = record.content_stream().read()
                if getattr(record.raw_stream, "limit", 0) > 0:
                    # warcio returns a short payload without complaint when a gzip member ends early;
                    # bytes still owed by the record's Content-Length are the only sign of truncation.
                    _count_corrupt(counts, path, index, "payload shorter than its Content-Length")
                    continue
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
            if records.offset < size:
                # A member cut inside its headers ends iteration silently; the unread tail shows it.
                _count_corrupt(counts, path, index + 1, f"{size - records.offset} bytes after the last complete record")
            elif index < 0:
                raise UnreadableArchive(f"{path} holds no WARC/ARC record")
    except UnreadableArchive:
        raise
    except OSError as exc:
        raise UnreadableArchive(f"cannot read {path}: {exc}") from exc
    except Exception as exc:  # warcio raises bare Exceptions, zlib.error, EOFError... for damaged data
        if index < 0:
            raise UnreadableArchive(f"{path} is not a readable WARC/ARC file: {exc!r}") from exc
        _count_corrupt(counts, path, index, f"{exc!r}; rest of file skipped")


def _arc_date(stamp: str | None) -> str:
    # ARC headers carry 14-digit timestamps; documents from both formats get WARC's ISO form.
    return timestamp_to_iso_date(stamp) if stamp else ""


def _count_corrupt(counts: ReadCounts, path: str, index: int, why: str) -> None:
    counts.corrupt += 1
    counts.corrupt_files.append(Path(path).name)
    log.warning("corrupt record %d in %s: %s", index, path, why)

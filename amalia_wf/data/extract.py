"""Main-text extraction with trafilatura, without its slow metadata mode."""

from __future__ import annotations

import signal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import trafilatura
from trafilatura.utils import load_html


class ExtractionTimeout(Exception):
    pass


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    # A few pathological pages make lxml/trafilatura spin for minutes; an interval timer bounds one
    # page without the cost of a subprocess per document.
    def on_alarm(signum: int, frame: object) -> None:
        raise ExtractionTimeout

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Extractor:
    """HTML -> (title, text).

    The title comes from <title> via lxml, because trafilatura only returns it in metadata mode,
    whose date parsing is ~80% of its cost. `deduplicate` stays off: it keeps a per-process cache,
    so output would depend on which documents share a process.
    """

    def __init__(self, cfg: Mapping[str, Any]) -> None:
        self.favor_precision = bool(cfg["favor_precision"])
        self.include_tables = bool(cfg["include_tables"])
        self.timeout_s = int(cfg["timeout_s"])

    def extract(self, html: str) -> tuple[str, str]:
        """Raise ExtractionTimeout past the deadline; return ("", "") for pages with no main text."""
        with _deadline(self.timeout_s):
            tree = load_html(html)
            if tree is None:
                return "", ""
            title = " ".join((tree.findtext(".//title") or "").split())
            text = trafilatura.extract(
                tree,
                favor_precision=self.favor_precision,
                include_comments=False,
                include_tables=self.include_tables,
                deduplicate=False,
                with_metadata=False,
            )
        return title, text or ""

"""URL-level removal: pt-BR hosts and paths, and adult domains (UT1 lists bundled with datatrove)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from datatrove.data import Document
from datatrove.pipeline.filters import URLFilter
from tldextract import TLDExtract


class UrlRules:
    """Decides from the URL alone whether a page is dropped, and why.

    The published pipeline drops URLs *containing* ".br" or "/br/", which also drops Portuguese
    hosts such as www.brisa.pt; here the host suffix and whole path segments are compared instead.
    """

    def __init__(self, cfg: Mapping[str, Any]) -> None:
        self.host_suffixes = tuple(s.lower() for s in cfg["blocked_host_suffixes"])
        self.path_segments = frozenset(s.lower() for s in cfg["blocked_path_segments"])
        self.adult: URLFilter | None = None
        if cfg["ut1_blocklist"]:
            self.adult = URLFilter()
            # An empty suffix-list URL tuple makes tldextract use its bundled snapshot instead of
            # trying the network on every new process.
            self.adult.tldextractor = TLDExtract(suffix_list_urls=())

    def reason(self, url: str) -> str | None:
        """None if the URL is kept, else `filter:reason`."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
        if any(host.endswith(suffix) for suffix in self.host_suffixes):
            return "host_suffix"
        segments = {s.lower() for s in unquote(parts.path).split("/") if s}
        if segments & self.path_segments:
            return "path_segment"
        if self.adult is not None:
            verdict = self.adult.filter(Document(text="", id="", metadata={"url": url}))
            if verdict is not True:
                return f"blocklist_{verdict[1]}"
        return None

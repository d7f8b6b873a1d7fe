"""URLs for the Debian pages, of the kinds the paper's crawl holds.

pt-PT pages are served from `.pt` hosts, some of them with "br" inside the host name (which a
substring test would wrongly drop). pt-BR pages are served from `.br`/`.com.br` hosts and under
`/pt-br/` paths (both dropped by the URL filter) and from neutral hosts, which nothing in the URL
marks as Brazilian: those reach the corpus, as some pt-BR reached the paper's. Every choice is a
stable hash of the page key, with the proportions of config `urls`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

# pt-BR URL kinds, in the order their shares are cumulated.
PT_BR_KINDS = ("br_host", "br_path", "neutral")


def unit_hash(*parts: str) -> float:
    """A stable number in [0, 1) for a key: the split and URL choices must not depend on file order,
    on which other pages exist or on the Python process (no `hash()`)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _pick(options: Sequence[str], *parts: str) -> str:
    return options[int(unit_hash(*parts) * len(options))]


def url_kind(variety: str, key: str, cfg: Mapping[str, Any]) -> str:
    """`pt_host` or `br_named_host` for pt-PT pages; one of PT_BR_KINDS for pt-BR pages."""
    if variety == "pt_pt":
        return "br_named_host" if unit_hash("url-kind", variety, key) < cfg["pt_pt"]["br_named_share"] else "pt_host"
    x, edge = unit_hash("url-kind", variety, key), 0.0
    shares = cfg["pt_br"]["shares"]
    for kind in PT_BR_KINDS:
        edge += shares[kind]
        if x < edge:
            return kind
    return PT_BR_KINDS[-1]  # rounding of shares that add up to 1


_HOSTS = {
    "pt_host": ("pt_pt", "hosts"),
    "br_named_host": ("pt_pt", "br_named_hosts"),
    "br_host": ("pt_br", "br_hosts"),
    "br_path": ("pt_br", "path_hosts"),
    "neutral": ("pt_br", "neutral_hosts"),
}


def page_url(variety: str, key: str, cfg: Mapping[str, Any]) -> tuple[str, str]:
    """(kind, URL) of one translation of the page `key` (`<source>/<relative path>`)."""
    kind = url_kind(variety, key, cfg)
    group, hosts = _HOSTS[kind]
    host = _pick(cfg[group][hosts], "host", variety, key)
    prefix = "pt-br/" if kind == "br_path" else ""
    return kind, f"https://{host}/{prefix}{key}"

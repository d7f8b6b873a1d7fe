"""Human-translated documentation that Debian ships in pt-PT and pt-BR, as parallel page pairs.

A *source* is two unpacked packages (amalia_wf.data.debian_packages) holding the same pages in the two
translations, and a layout saying where the pages are:

- `libreoffice`: LibreOffice's help, one HTML page per file under `usr/share/libreoffice/help/<lang>/`;
  a pair is the same relative path in both trees.
- `debian-reference`: the Debian Reference, one XHTML file per chapter under `usr/share/debian-reference/`
  (`ch03.pt.html`, `ch03.pt-br.html`), cut at its top-level sections; a pair is the same chapter and
  section id.

Every pair goes, by a stable hash of its key, either to training (both pages become WARC response
records with URLs of the kinds the paper's crawl holds, amalia_wf.data.debian_urls) or to the held-out
set (their text, for evaluation only: amalia_wf.evaluate.ptc_mining).
"""

from __future__ import annotations

import copy
import html
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lxml.html
from lxml.etree import _Element

from amalia_wf.data.debian_urls import page_url, unit_hash

VARIETIES = ("pt_pt", "pt_br")
# Elements whose text is one block (a paragraph of the held-out text); list items and table cells
# hold <p> elements in both layouts.
_BLOCK_TAGS = ("p", "h1", "h2", "h3", "h4", "h5", "h6")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Page:
    key: str  # `<source>/<path>`: identical for the two translations of a page
    title: str
    html: str  # the page as served (a whole document)
    blocks: tuple[str, ...]  # its text, one paragraph or heading per block


@dataclass(frozen=True)
class Pair:
    key: str
    pt_pt: Page
    pt_br: Page


def _text(el: _Element) -> str:
    return _SPACE.sub(" ", "".join(el.itertext())).strip()


def _blocks(root: _Element) -> tuple[str, ...]:
    # Hidden elements are the help's per-platform alternatives (`Comando` for macOS beside `Ctrl`).
    root = copy.deepcopy(root)
    for el in root.xpath(".//*[@hidden] | .//script | .//style"):
        el.drop_tree()
    return tuple(t for el in root.iter(*_BLOCK_TAGS) if (t := _text(el)))


def _parse(path: Path) -> _Element:
    return lxml.html.fromstring(path.read_bytes(), parser=lxml.html.HTMLParser(encoding="utf-8"))


def libreoffice_pages(tree: Path, lang: str, source: str) -> Iterator[Page]:
    """Every help page of one language: the whole HTML file as served, text from its display area."""
    base = tree / "usr/share/libreoffice/help" / lang
    for path in sorted(base.rglob("*.html")):
        doc = _parse(path)
        area = doc.get_element_by_id("DisplayArea", None)
        if area is None:
            continue  # navigation stubs (noscript.html) have no content
        title = doc.findtext(".//title") or ""
        yield Page(f"{source}/{path.relative_to(base).as_posix()}", title.strip(), path.read_text("utf-8"), _blocks(area))


def _section_title(section: _Element) -> tuple[str, str] | None:
    """(anchor id, title) of a top-level DocBook section, from its <h2 class="title"><a id=...>."""
    heads = section.xpath("./div[@class='titlepage']//h2[@class='title']")
    if not heads:
        return None
    anchors = heads[0].xpath(".//a[@id]")
    return (anchors[0].get("id"), _text(heads[0])) if anchors else None


def debian_reference_pages(tree: Path, lang: str, source: str) -> Iterator[Page]:
    """The Debian Reference of one language (`pt`, `pt-br`), one page per top-level section."""
    base = tree / "usr/share/debian-reference"
    for path in sorted(base.glob(f"*.{lang}.html")):
        chapter = path.name.removesuffix(f".{lang}.html")
        if chapter == "index":
            continue  # the table of contents
        doc = _parse(path)
        for section in doc.xpath("//div[@class='section']"):
            head = _section_title(section)
            if head is None:
                continue
            anchor, title = head
            body = lxml.html.tostring(section, encoding="unicode")
            page = (
                f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(title)}'
                f"</title></head><body>{body}</body></html>"
            )
            yield Page(f"{source}/{chapter}/{anchor}.html", title, page, _blocks(section))


LAYOUTS = {"libreoffice": libreoffice_pages, "debian-reference": debian_reference_pages}


def pairs(source: Mapping[str, Any], trees: Mapping[str, Path]) -> tuple[list[Pair], dict[str, int]]:
    """A source's page pairs (sorted by key) and counts of the pages that found no partner or no text.

    `source` is one entry of a debian collection's `sources`: its `name`, `layout` and, per variety,
    the package (a key of `trees`, the unpacked packages) and language directory or suffix."""
    pages_of = LAYOUTS[source["layout"]]
    found = {
        v: {p.key: p for p in pages_of(trees[source[v]["package"]], source[v]["lang"], source["name"])}
        for v in VARIETIES
    }
    keys = sorted(found["pt_pt"].keys() & found["pt_br"].keys())
    out = [Pair(k, found["pt_pt"][k], found["pt_br"][k]) for k in keys]
    kept = [p for p in out if p.pt_pt.blocks and p.pt_br.blocks]
    counts = {f"only_{v}": len(found[v].keys() - set(keys)) for v in VARIETIES}
    counts["no_text"] = len(out) - len(kept)
    return kept, counts


def is_heldout(key: str, fraction: float, seed: int) -> bool:
    return unit_hash("heldout", str(seed), key) < fraction


def split_collection(
    spec: Mapping[str, Any], trees: Mapping[str, Path], seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """A debian collection's training pages, held-out pairs and counts.

    Training pages: `{key, variety, url_kind, url, file, html, blocks}`, both translations of every
    training pair, `file` the WARC (0 .. files-1) the page goes to, `blocks` its text. Held-out pairs: `{key, source, pt_pt, pt_br}`
    with each translation's `{title, blocks}` (its text, one paragraph per block)."""
    train: list[dict[str, Any]] = []
    heldout: list[dict[str, Any]] = []
    sources: dict[str, Any] = {}
    for source in spec["sources"]:
        found, counts = pairs(source, trees)
        held = {p.key for p in found if is_heldout(p.key, spec["heldout_fraction"], seed)}
        sources[source["name"]] = {"pairs": len(found), "heldout_pairs": len(held), **counts}
        for pair in found:
            if pair.key in held:
                heldout.append({"key": pair.key, "source": source["name"]}
                               | {v: {"title": page.title, "blocks": list(page.blocks)} for v, page in _pages(pair)})
                continue
            for variety, page in _pages(pair):
                kind, url = page_url(variety, pair.key, spec["urls"])
                file = int(unit_hash("file", variety, pair.key) * spec["files"])
                train.append(
                    {"key": pair.key, "variety": variety, "url_kind": kind, "url": url, "file": file, "html": page.html,
                     "blocks": list(page.blocks)}
                )  # fmt: skip
    url_kinds = Counter(f"{page['variety']}:{page['url_kind']}" for page in train)
    stats = {"sources": sources, "train_pages": len(train), "heldout_pairs": len(heldout), "url_kinds": dict(sorted(url_kinds.items()))}
    return train, heldout, stats


def _pages(pair: Pair) -> tuple[tuple[str, Page], tuple[str, Page]]:
    return ("pt_pt", pair.pt_pt), ("pt_br", pair.pt_br)

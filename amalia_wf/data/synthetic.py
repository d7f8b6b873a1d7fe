"""Deterministic synthetic WARC files that exercise every branch of the cleaning pipeline.

The workflow must run offline, so instead of downloading Common Crawl / Arquivo.pt
segments it generates small gzip WARCs whose pages are crafted to hit each filter:
pt-PT prose that must survive, pt-BR pages the URL filter must drop (and .pt hosts
that merely contain "br" that it must keep), other languages for language ID,
duplicates for exact and MinHash dedup, mojibake for ftfy, PII for anonymisation,
non-200 and non-HTML records for the WARC reader, an adult domain for the UT1 list,
short and repetitive pages for the quality filters, and a truncated final record.

Everything is derived from (collection, file_index, seed) through explicit hashes, so
the same arguments always give byte-identical files (Snakemake reruns, cache keys).
The words, sentence templates, hosts and fixed page text are data, in synthetic_data/*.yaml.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import random
import re
import struct
import unicodedata
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from io import BytesIO
from pathlib import Path

import yaml
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

__all__ = ["ADULT_DOMAIN", "KINDS", "Page", "collection_pages", "write_synthetic_collection", "write_warc"]


@dataclass(frozen=True)
class Page:
    kind: str  # one of KINDS
    url: str
    status: int  # HTTP status
    content_type: str  # HTTP Content-Type
    body: bytes


KINDS: tuple[str, ...] = (
    "pt_pt",
    "pt_br_host",
    "pt_br_path",
    "br_substring_host",
    "english",
    "spanish",
    "galician",
    "boilerplate",
    "exact_dup",
    "near_dup",
    "mojibake",
    "pii",
    "http_404",
    "non_html",
    "adult",
    "short",
    "repetitive",
    "xhtml",
    "cross_dup",
)

# From datatrove's bundled UT1 blocklist (assets/url_filterblacklistsv0_3_0.tar.gz,
# member "domains"). Chosen because its name contains none of datatrove's banned
# (sub)words, so the page can only be dropped through the domain list itself.
ADULT_DOMAIN = "livejasmin.com"

# The cross-collection duplicate must be identical in every collection, so it is
# generated from this constant rather than from (collection, seed).
_CROSS_DUP_SEED = 20240229

_HTML_UTF8 = "text/html; charset=utf-8"
_BASE_DATE = datetime(2023, 3, 1, 9, 0, 0, tzinfo=UTC)

# --------------------------------------------------------------------------- seeding


def _derive_seed(*parts: object) -> int:
    # random.Random(str) is stable too, but an explicit hash makes the derivation
    # independent of Python's seeding algorithm and of PYTHONHASHSEED.
    digest = hashlib.sha256("\x1f".join(repr(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def _record_id(collection: str, file_index: int, record_index: int, seed: int) -> str:
    digest = hashlib.sha256(f"{collection}\x1f{file_index}\x1f{record_index}\x1f{seed}".encode()).digest()
    return f"<urn:uuid:{uuid.UUID(bytes=digest[:16], version=4)}>"


def _slugify(text: str, max_len: int = 60) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_len].rstrip("-") or "x"


def _collection_tag(collection: str, file_index: int) -> str:
    # The "c-" prefix keeps a collection called e.g. "br" or "pt-br" from becoming a
    # whole path segment that the URL filter would block; the hash keeps collections
    # whose slugs collide ("A_b" vs "a-b") from producing the same URLs.
    short_hash = hashlib.sha1(collection.encode("utf-8")).hexdigest()[:6]
    return f"c-{_slugify(collection, 40)}-{short_hash}-f{file_index:03d}"


# --------------------------------------------------------------------------- template filling


@dataclass(frozen=True)
class _NP:
    """A noun phrase with its article, so prepositions contract correctly (de+o = do)."""

    art: str
    text: str

    def render(self, form: str) -> str:
        if form == "bare":
            return self.text
        if form == "":
            return f"{self.art} {self.text}" if self.art else self.text
        if form not in _PREPOSITIONS:
            raise ValueError(f"unknown noun-phrase form {form!r}")
        prep = _CONTRACTIONS.get((form, self.art)) or (f"{form} {self.art}" if self.art else form)
        return f"{prep} {self.text}"


_PREPOSITIONS = frozenset({"de", "em", "a", "por"})
_CONTRACTIONS: dict[tuple[str, str], str] = {
    ("de", "o"): "do", ("de", "a"): "da", ("de", "os"): "dos", ("de", "as"): "das",
    ("em", "o"): "no", ("em", "a"): "na", ("em", "os"): "nos", ("em", "as"): "nas",
    ("a", "o"): "ao", ("a", "a"): "à", ("a", "os"): "aos", ("a", "as"): "às",
    ("por", "o"): "pelo", ("por", "a"): "pela", ("por", "os"): "pelos", ("por", "as"): "pelas",
}  # fmt: skip


@dataclass(frozen=True)
class _Person:
    name: str
    female: bool
    cargo: str

    def render(self, form: str) -> str:
        if form == "cargo":
            return self.cargo
        if form == "o":
            return "a" if self.female else "o"
        if form:
            raise ValueError(f"unknown person form {form!r}")
        return self.name


_Value = str | _NP | _Person
_Provider = dict[str, Callable[[random.Random], _Value]]
_SLOT = re.compile(r"\{([a-z_]+?)(\d*)(?:\.([a-z]+))?\}")


def _render(value: _Value, form: str) -> str:
    if isinstance(value, str):
        if form:  # a template bug (e.g. "{rio.de}"): fail loudly instead of writing bad Portuguese
            raise ValueError(f"plain slot value cannot take form {form!r}")
        return value
    return value.render(form)


def _fill(template: str, rng: random.Random, provider: _Provider) -> str:
    chosen: dict[str, _Value] = {}

    def sub(match: re.Match[str]) -> str:
        base, num, form = match.group(1), match.group(2), match.group(3) or ""
        key = base + num
        if key not in chosen:
            taken = {v for k, v in chosen.items() if re.sub(r"\d+$", "", k) == base}
            value = provider[base](rng)
            for _ in range(20):  # "city" and "city2" in one sentence should differ
                if value not in taken:
                    break
                value = provider[base](rng)
            chosen[key] = value
        return _render(chosen[key], form)

    text = _SLOT.sub(sub, template)
    return text[:1].upper() + text[1:]


def _choice(options: list) -> Callable[[random.Random], _Value]:
    return lambda rng: rng.choice(options)


def _weighted_order(rng: random.Random, items: list, weights: list[float]) -> list:
    # Efraimidis-Spirakis: sampling without replacement so a page never repeats a
    # template (repeated templates would trip the Gopher duplicate n-gram filters).
    keyed = [(rng.random() ** (1.0 / w), i) for i, w in enumerate(weights)]
    keyed.sort(reverse=True)
    return [items[i] for _, i in keyed]


# --------------------------------------------------------------------------- data files
# Word lists, sentence banks, hosts and page text live in synthetic_data/*.yaml (package
# data), read once at import; this module only assembles them into pages.


def _load(name: str) -> dict:
    data = resources.files(__package__).joinpath("synthetic_data", f"{name}.yaml")
    return yaml.safe_load(data.read_text(encoding="utf-8"))


_ARTICLES = frozenset(art for _, art in _CONTRACTIONS)


def _np(phrase: str) -> _NP:
    # "o Porto" -> article "o"; "Lisboa" has none (the data files write a phrase's article first, if any).
    art, _, text = phrase.partition(" ")
    return _NP(art, text) if art in _ARTICLES and text else _NP("", phrase)


def _number(lo: int, hi: int, decimal: bool = False) -> Callable[[random.Random], str]:
    if decimal:
        return lambda rng: f"{rng.randint(lo, hi)},{rng.randint(1, 9)}"
    return lambda rng: str(rng.randint(lo, hi))


def _slot_fillers(spec: dict) -> _Provider:
    """The slots a data file declares: words or noun phrases to choose from, [lo, hi] integers, and decimals
    (an integer in [lo, hi] and one decimal digit)."""
    fillers: _Provider = {slot: _choice(words) for slot, words in spec.get("words", {}).items()}
    fillers |= {slot: _choice([_np(p) for p in phrases]) for slot, phrases in spec.get("noun_phrases", {}).items()}
    fillers |= {slot: _number(lo, hi) for slot, (lo, hi) in spec.get("integers", {}).items()}
    fillers |= {slot: _number(lo, hi, decimal=True) for slot, (lo, hi) in spec.get("decimals", {}).items()}
    return fillers


@dataclass(frozen=True)
class _Language:
    """A language of the non-pt-PT pages (and pt-BR): its sentence bank, slots and hosts."""

    lang: str  # the html lang attribute
    title: str
    hosts: list[str]
    sentences: list[str]
    slots: _Provider


_PT = _load("pt_pt")
_PT_SLOTS = _slot_fillers(_PT)
_PT_CITIES = [_np(p) for p in _PT["cities"]]
_PT_SENTENCES: dict[str, list[str]] = _PT["sentences"]  # topic -> templates
_PT_TITLES: list[str] = _PT["titles"]
_SITES = _load("sites")
_PT_SITES: list[tuple[str, str]] = [(host, name) for host, name in _SITES["pt_sites"]]
_PT_SECTIONS: list[str] = _SITES["sections"]
_LANGS: dict[str, _Language] = {
    kind: _Language(spec["lang"], spec["title"], spec["hosts"], spec["sentences"], _slot_fillers(spec))
    for kind, spec in _load("foreign").items()
}
_PAGE_TEXT = _load("page_text")


def _pt_person(rng: random.Random) -> _Person:
    female = rng.random() < 0.5
    first = rng.choice(_PT["first_names"]["female" if female else "male"])
    name = f"{first} {rng.choice(_PT['surnames'])}"
    cargo = rng.choice(_PT["cargos"])[1 if female else 0]
    return _Person(name, female, cargo)


def _pt_provider(page_city: _NP, page_person: _Person) -> _Provider:
    # A page keeps returning to one town and one interviewee, like a real article,
    # while other slots stay free so that pages differ from each other.
    def city(rng: random.Random) -> _Value:
        return page_city if rng.random() < 0.5 else rng.choice(_PT_CITIES)

    def person(rng: random.Random) -> _Value:
        return page_person if rng.random() < 0.5 else _pt_person(rng)

    def clock(lo: int, hi: int) -> Callable[[random.Random], str]:
        return lambda rng: f"{rng.randint(lo, hi)}h{rng.choice(['00', '15', '30', '45'])}"

    return {
        **_PT_SLOTS,
        "city": city,
        "p": person,
        "data": lambda rng: f"{rng.randint(1, 28)} de {rng.choice(_PT['words']['mes'])}",
        "hora": clock(6, 11),
        "horatarde": clock(17, 22),
        "eurc": lambda rng: f"{rng.randint(1, 3)},{rng.choice(['10', '20', '35', '50', '80', '95'])}",
    }


@dataclass
class _Article:
    title: str
    paragraphs: list[list[str]]  # sentences per paragraph
    site: tuple[str, str]
    section: str


def _pt_sentence_pool(rng: random.Random) -> list[str]:
    topics = list(_PT_SENTENCES)
    favoured = set(rng.sample(topics, 2))
    items: list[str] = []
    weights: list[float] = []
    for topic, sentences in _PT_SENTENCES.items():
        for s in sentences:
            items.append(s)
            weights.append(5.0 if topic in favoured else 1.0)
    return _weighted_order(rng, items, weights)


def _group_paragraphs(rng: random.Random, sentences: list[str]) -> list[list[str]]:
    paragraphs: list[list[str]] = []
    i = 0
    while i < len(sentences):
        size = rng.randint(2, 4)
        paragraphs.append(sentences[i : i + size])
        i += size
    if len(paragraphs) > 1 and len(paragraphs[-1]) == 1:
        paragraphs[-2].extend(paragraphs.pop())
    return paragraphs


_LENGTHS = {"low": (80, 150), "medium": (170, 290), "high": (320, 580)}


def _pt_article(rng: random.Random, length: str, site: tuple[str, str] | None = None) -> _Article:
    provider = _pt_provider(rng.choice(_PT_CITIES), _pt_person(rng))
    lo, hi = _LENGTHS[length]
    target = rng.randint(lo, hi)
    sentences: list[str] = []
    words = 0
    for template in _pt_sentence_pool(rng):
        if words >= target and len(sentences) >= 5:
            break
        if words > lo and words + len(template.split()) > hi:
            continue
        sentence = _fill(template, rng, provider)
        sentences.append(sentence)
        words += len(sentence.split())
    title = _fill(rng.choice(_PT_TITLES), rng, provider)
    return _Article(
        title=title,
        paragraphs=_group_paragraphs(rng, sentences),
        site=site or rng.choice(_PT_SITES),
        section=rng.choice(_PT_SECTIONS),
    )


def _article_text(article: _Article) -> str:
    return "\n".join(" ".join(p) for p in article.paragraphs)


# --------------------------------------------------------------------------- HTML rendering

_e = html.escape


def _link_items(labels: list[str]) -> str:
    return "".join(f'<li><a href="/{_slugify(x)}/">{_e(x)}</a></li>' for x in labels)


def _paragraphs_html(paragraphs: list[list[str]]) -> str:
    return "\n".join(f"<p>{_e(' '.join(p))}</p>" for p in paragraphs)


def _render_pt_html(article: _Article) -> str:
    name = article.site[1]
    nav = _link_items(_PAGE_TEXT["nav"])
    return (
        "<!DOCTYPE html>\n"
        '<html lang="pt-PT">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_e(article.title)} | {_e(name)}</title>\n"
        f'<meta name="description" content="{_e(article.paragraphs[0][0])}">\n'
        "</head>\n<body>\n"
        f'<header><a class="logo" href="/">{_e(name)}</a><nav><ul>{nav}</ul></nav></header>\n'
        "<main>\n<article>\n"
        f"<h1>{_e(article.title)}</h1>\n"
        f"{_paragraphs_html(article.paragraphs)}\n"
        "</article>\n</main>\n"
        f"<footer><p>© 2023 {_e(name)}. Todos os direitos reservados.</p></footer>\n"
        "</body>\n</html>\n"
    )


def _render_boilerplate_html(article: _Article, rng: random.Random) -> str:
    name = article.site[1]
    text = _PAGE_TEXT["boilerplate"]
    navs = "\n".join(f'<nav class="menu"><ul>{_link_items(menu)}</ul></nav>' for menu in text["menus"])
    most_read = "".join(
        f'<li><a href="/artigo/{rng.randint(10000, 99999)}">{_e(t)}</a></li>' for t in rng.sample(text["most_read"], 6)
    )
    share = "".join(f'<a class="share" href="#">{_e(x)}</a>' for x in text["share"])
    footer = "".join(f"<ul>{_link_items(col)}</ul>" for col in text["footer"])
    return (
        "<!DOCTYPE html>\n"
        '<html lang="pt-PT">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_e(article.title)} | {_e(name)}</title>\n"
        '<script>window.dataLayer = window.dataLayer || []; window.dataLayer.push({"pagina": "artigo"});</script>\n'
        "</head>\n<body>\n"
        '<div id="cookie-banner" class="cookies"><p>Este sítio utiliza cookies para melhorar a sua experiência de navegação, '
        "personalizar conteúdos e anúncios e analisar o tráfego. Ao continuar a navegar está a aceitar a sua utilização.</p>"
        '<button>Aceitar todos</button><button>Rejeitar</button><a href="/cookies/">Saber mais</a></div>\n'
        f'<header><a class="logo" href="/">{_e(name)}</a>\n{navs}\n'
        '<form class="pesquisa"><input type="search" placeholder="Pesquisar"><button>Pesquisar</button></form>'
        '<a href="/entrar/">Entrar</a> <a href="/assinar/">Assine já</a></header>\n'
        '<div class="breadcrumbs"><a href="/">Início</a> &gt; <a href="/sociedade/">Sociedade</a></div>\n'
        f'<div class="partilha">{share}</div>\n'
        "<main>\n<article>\n"
        f"<h1>{_e(article.title)}</h1>\n"
        f"{_paragraphs_html(article.paragraphs)}\n"
        "</article>\n"
        f'<div class="partilha">{share}</div>\n'
        '<div class="newsletter"><p>Subscreva a nossa newsletter</p><input type="email"><button>Subscrever</button></div>\n'
        f'<aside class="mais-lidas"><h2>Mais lidas</h2><ol>{most_read}</ol></aside>\n'
        '<div class="comentarios"><h2>Comentários</h2><p>Inicie sessão para comentar</p></div>\n'
        "</main>\n"
        f"<footer>{footer}<p>© 2023 {_e(name)}. Todos os direitos reservados.</p></footer>\n"
        "</body>\n</html>\n"
    )


def _render_xhtml(article: _Article) -> str:
    name = article.site[1]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="pt-PT" lang="pt-PT">\n<head>\n'
        '<meta http-equiv="Content-Type" content="application/xhtml+xml; charset=UTF-8" />\n'
        f"<title>{_e(article.title)} | {_e(name)}</title>\n</head>\n<body>\n"
        f'<div id="cabecalho"><a href="/">{_e(name)}</a></div>\n'
        f'<div id="conteudo">\n<h1>{_e(article.title)}</h1>\n{_paragraphs_html(article.paragraphs)}\n</div>\n'
        f'<div id="rodape"><p>© 2023 {_e(name)}.</p></div>\n'
        "</body>\n</html>\n"
    )


def _render_simple_html(lang: str, title: str, site_name: str, paragraphs: list[list[str]]) -> str:
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n<title>{_e(title)} | {_e(site_name)}</title>\n</head>\n'
        f'<body>\n<header><a href="/">{_e(site_name)}</a></header>\n<main>\n<article>\n<h1>{_e(title)}</h1>\n'
        f"{_paragraphs_html(paragraphs)}\n</article>\n</main>\n</body>\n</html>\n"
    )


def _mojibake(text: str) -> str:
    # UTF-8 bytes read as Windows-1252, the classic double-encoding. Bytes that cp1252
    # leaves undefined (e.g. 0x81 in "Á") fall back to Latin-1, as browsers and ftfy's
    # "sloppy-windows-1252" do, so every character survives and ftfy can undo it.
    out = []
    for b in text.encode("utf-8"):
        try:
            out.append(bytes([b]).decode("cp1252"))
        except UnicodeDecodeError:
            out.append(chr(b))
    return "".join(out)


# --------------------------------------------------------------------------- other languages


def _foreign_paragraphs(rng: random.Random, lang: str, n_sentences: int) -> list[list[str]]:
    language = _LANGS[lang]
    picked = rng.sample(language.sentences, min(n_sentences, len(language.sentences)))
    return _group_paragraphs(rng, [_fill(s, rng, language.slots) for s in picked])


# --------------------------------------------------------------------------- non-HTML payloads


def _png_bytes(rng: random.Random) -> bytes:
    # A valid (tiny) PNG so that sniffers and image libraries recognise it as such.
    width, height = 8, 8
    raw = b"".join(b"\x00" + bytes(rng.randrange(256) for _ in range(width * 3)) for _ in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def _pdf_bytes(rng: random.Random, title: str) -> bytes:
    stream = f"BT /F1 12 Tf 72 720 Td ({_slugify(title)}) Tj ET".encode("ascii")
    noise = bytes(rng.randrange(256) for _ in range(64))
    return (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
        b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
        b"3 0 obj << /Type /Page /Parent 2 0 R /Contents 4 0 R >> endobj\n"
        + f"4 0 obj << /Length {len(stream) + len(noise)} >> stream\n".encode("ascii")
        + stream
        + noise
        + b"\nendstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )


# --------------------------------------------------------------------------- page assembly


class _Builder:
    """Creates the pages of one WARC file; the serial number makes every URL unique."""

    def __init__(self, collection: str, file_index: int, rng: random.Random) -> None:
        self.tag = _collection_tag(collection, file_index)
        self.rng = rng
        self.serial = 0

    def _path(self, slug: str, ext: str = "html") -> str:
        self.serial += 1
        return f"{self.tag}-{self.serial:03d}-{slug}.{ext}"

    def article_url(self, article: _Article, host: str | None = None) -> str:
        return f"https://{host or article.site[0]}/{article.section}/{self._path(_slugify(article.title))}"

    def pt_page(self, kind: str, article: _Article, host: str | None = None, url: str | None = None) -> Page:
        body = _render_pt_html(article).encode("utf-8")
        return Page(kind, url or self.article_url(article, host), 200, _HTML_UTF8, body)

    def length(self) -> str:
        return self.rng.choices(["low", "medium", "high"], weights=[3, 3, 4])[0]

    # -- one method per kind ------------------------------------------------------

    def pt_br_host(self) -> Page:
        language = _LANGS["pt_br"]
        paragraphs = _foreign_paragraphs(self.rng, "pt_br", 8)
        host = self.rng.choice(language.hosts)
        title = f"{language.title}: " + paragraphs[0][0].split(",")[0][:60]
        body = _render_simple_html(language.lang, title, host.split(".")[1], paragraphs)
        return Page(
            "pt_br_host", f"https://{host}/noticias/{self._path(_slugify(title))}", 200, _HTML_UTF8, body.encode()
        )

    def pt_br_path(self, segment: str) -> Page:
        paragraphs = _foreign_paragraphs(self.rng, "pt_br", 8)
        host = self.rng.choice(_SITES["br_path_hosts"])
        title = "Central de ajuda e notícias"
        body = _render_simple_html(_LANGS["pt_br"].lang, title, host.split(".")[1], paragraphs)
        url = f"https://{host}/{segment}/{self._path('artigo')}"
        return Page("pt_br_path", url, 200, _HTML_UTF8, body.encode())

    def br_substring_host(self) -> Page:
        host, name = self.rng.choice(_SITES["br_substring_hosts"])
        article = _pt_article(self.rng, self.length(), site=(host, name))
        return self.pt_page("br_substring_host", article)

    def br_substring_path(self) -> Page:
        site = self.rng.choice([s for s in _PT_SITES if s[0].endswith(".pt")])
        article = _pt_article(self.rng, self.length(), site=site)
        segment = self.rng.choice(_SITES["br_substring_paths"])
        url = f"https://{article.site[0]}/{segment}/{self._path(_slugify(article.title))}"
        return self.pt_page("br_substring_host", article, url=url)

    def foreign(self, kind: str) -> Page:
        language = _LANGS[kind]
        paragraphs = _foreign_paragraphs(self.rng, kind, self.rng.randint(8, 11))
        host = self.rng.choice(language.hosts)
        body = _render_simple_html(language.lang, language.title, host.split(".")[1], paragraphs)
        url = f"https://{host}/news/{self._path(_slugify(language.title))}"
        return Page(kind, url, 200, _HTML_UTF8, body.encode())

    def boilerplate(self) -> Page:
        article = _pt_article(self.rng, "high")
        body = _render_boilerplate_html(article, self.rng).encode("utf-8")
        return Page("boilerplate", self.article_url(article), 200, _HTML_UTF8, body)

    def near_dup(self, source: _Article) -> Page:
        paragraphs = [list(p) for p in source.paragraphs]
        # A few word-level edits plus one inserted sentence: what syndicated copies with
        # light editing look like, and still well above the MinHash threshold.
        swaps = _PAGE_TEXT["near_dup_swaps"]
        edits = 0
        for old, new in self.rng.sample(swaps, len(swaps)):
            for p in paragraphs:
                for i, s in enumerate(p):
                    if edits < 2 and old in s:
                        p[i] = s.replace(old, new, 1)
                        edits += 1
        if edits == 0:  # no listed phrase present: alter the first number instead
            for p in paragraphs:
                for i, s in enumerate(p):
                    if edits == 0 and re.search(r"\d", s):
                        p[i] = re.sub(r"\d+", lambda m: str(int(m.group()) + 1), s, count=1)
                        edits += 1
        extra = _fill(
            self.rng.choice(_PT_SENTENCES["quotidiano"]),
            self.rng,
            _pt_provider(self.rng.choice(_PT_CITIES), _pt_person(self.rng)),
        )
        paragraphs[-1].append(extra)
        copy = _Article(source.title, paragraphs, source.site, source.section)
        return self.pt_page("near_dup", copy)

    def mojibake(self) -> Page:
        article = _pt_article(self.rng, self.rng.choice(["medium", "high"]))
        body = _mojibake(_render_pt_html(article)).encode("utf-8")
        return Page("mojibake", self.article_url(article), 200, _HTML_UTF8, body)

    def pii(self) -> Page:
        article = _pt_article(self.rng, "medium")
        person = _pt_person(self.rng)
        first, last = person.name.lower().split()[0], person.name.lower().split()[-1]
        user = _slugify(f"{first}.{last}", 40).replace("-", ".")
        domain = article.site[0].removeprefix("www.")
        contacts = {
            where: [s.format(domain=domain, name=person.name, user=user) for s in sentences]
            for where, sentences in _PAGE_TEXT["pii_contacts"].items()
        }
        paragraphs = [list(p) for p in article.paragraphs]
        paragraphs.insert(1, contacts["after_first_paragraph"])
        paragraphs.append(contacts["last"])
        copy = _Article(article.title, paragraphs, article.site, article.section)
        return self.pt_page("pii", copy)

    def http_404(self) -> Page:
        host, name = self.rng.choice(_PT_SITES)
        suggestions = _pt_article(self.rng, "low").paragraphs[0]
        paragraphs = [[s.format(site=name) for s in p] for p in _PAGE_TEXT["http_404"]]
        paragraphs[-1].extend(suggestions)
        body = _render_simple_html("pt-PT", "Página não encontrada (erro 404)", name, paragraphs)
        url = f"https://{host}/{self.rng.choice(_PT_SECTIONS)}/{self._path('artigo-removido')}"
        return Page("http_404", url, 404, _HTML_UTF8, body.encode())

    def non_html(self) -> list[Page]:
        host = self.rng.choice(_PT_SITES)[0]
        article = _pt_article(self.rng, "low")
        doc = {
            "id": self.rng.randint(1000, 99999),
            "titulo": article.title,
            "texto": _article_text(article),
            "publicado": "2023-03-01T09:00:00Z",
        }
        return [
            Page("non_html", f"https://{host}/documentos/{self._path('relatorio-anual', 'pdf')}", 200,
                 "application/pdf", _pdf_bytes(self.rng, article.title)),
            Page("non_html", f"https://{host}/imagens/{self._path('fotografia', 'png')}", 200, "image/png", _png_bytes(self.rng)),
            Page("non_html", f"https://{host}/api/artigos/{self._path('artigo', 'json')}", 200,
                 "application/json; charset=utf-8", json.dumps(doc, ensure_ascii=False, sort_keys=True).encode("utf-8")),
        ]  # fmt: skip

    def adult(self) -> Page:
        article = _pt_article(self.rng, "medium", site=(f"www.{ADULT_DOMAIN}", "Portal"))
        return self.pt_page(
            "adult", article, url=f"https://www.{ADULT_DOMAIN}/pt/{self._path(_slugify(article.title))}"
        )

    def short(self) -> Page:
        host, name = self.rng.choice(_PT_SITES)
        text = self.rng.choice(_PAGE_TEXT["short"])
        body = _render_simple_html("pt-PT", "Em breve", name, [[text]])
        return Page("short", f"https://{host}/{self._path('em-breve')}", 200, _HTML_UTF8, body.encode())

    def repetitive(self) -> Page:
        host, name = self.rng.choice(_PT_SITES)
        lines = _pt_article(self.rng, "low").paragraphs[0][:3]
        paragraphs = [[line] for _ in range(25) for line in lines]
        body = _render_simple_html("pt-PT", "Promoções da semana", name, paragraphs)
        return Page(
            "repetitive",
            f"https://{host}/promocoes/{self._path('promocoes-da-semana')}",
            200,
            _HTML_UTF8,
            body.encode(),
        )

    def xhtml(self) -> Page:
        article = _pt_article(self.rng, self.length())
        body = _render_xhtml(article).encode("utf-8")
        return Page("xhtml", self.article_url(article), 200, "application/xhtml+xml; charset=utf-8", body)


def collection_pages(collection: str, file_index: int, seed: int, pages_per_file: int) -> list[Page]:
    """All pages of one synthetic WARC file, in record order.

    Every file holds every kind (cross_dup only in file 0) plus extra pt_pt pages up to
    pages_per_file; the last page is always an extra pt_pt page, so truncating the
    final record never removes a kind from the file.
    """
    rng = random.Random(_derive_seed("synthetic", collection, file_index, seed))
    b = _Builder(collection, file_index, rng)

    # The near-duplicate needs a long source so that a few edits stay above 0.8 Jaccard.
    near_source = _pt_article(rng, "high")
    pt_articles: list[_Article] = [near_source]
    others: list[Page] = [
        b.pt_br_host(),
        b.pt_br_path("pt-br"),
        b.pt_br_path("pt_br"),
        b.br_substring_host(),
        b.br_substring_path(),
        b.foreign("english"),
        b.foreign("spanish"),
        b.foreign("galician"),
        b.boilerplate(),
        b.mojibake(),
        b.pii(),
        b.http_404(),
        *b.non_html(),
        b.adult(),
        b.short(),
        b.repetitive(),
        b.xhtml(),
    ]
    if file_index == 0:
        fixed = random.Random(_CROSS_DUP_SEED)
        shared = _pt_article(fixed, "high")
        others.append(b.pt_page("cross_dup", shared))

    n_required = 1 + len(others) + 2 + 1  # source + others + two duplicates + trailing page
    for _ in range(max(0, pages_per_file - n_required)):
        pt_articles.append(_pt_article(rng, b.length()))

    pt_pages = [b.pt_page("pt_pt", a) for a in pt_articles]
    order: list[Page] = pt_pages + others
    rng.shuffle(order)

    # Duplicates go after their source, as a crawler would meet them.
    pos = order.index(pt_pages[0])
    order.insert(rng.randint(pos + 1, len(order)), b.near_dup(near_source))
    k = rng.randrange(1, len(pt_pages)) if len(pt_pages) > 1 else 0
    exact = Page("exact_dup", b.article_url(pt_articles[k]), 200, pt_pages[k].content_type, pt_pages[k].body)
    pos = order.index(pt_pages[k])
    order.insert(rng.randint(pos + 1, len(order)), exact)

    order.append(b.pt_page("pt_pt", _pt_article(rng, "high")))
    return order


# --------------------------------------------------------------------------- WARC writing

_REASONS = {200: "OK", 404: "Not Found"}


def write_warc(
    path: Path,
    pages: list[Page],
    collection: str,
    file_index: int,
    seed: int,
    truncate_last: bool = False,
) -> None:
    """Write pages as gzip WARC response records, atomically.

    With truncate_last the final gzip member is cut inside its payload, reproducing the
    partially downloaded segments that real crawls contain.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            # warcio compresses each record with zlib.compressobj(wbits=31), whose gzip
            # header has mtime 0 and no file name, so output bytes are reproducible.
            writer = WARCWriter(fh, gzip=True, warc_version="WARC/1.1")
            last_start = 0
            for i, page in enumerate(pages):
                date = _BASE_DATE + timedelta(days=file_index, seconds=37 * i)
                http_headers = StatusAndHeaders(
                    f"{page.status} {_REASONS.get(page.status, 'Unknown')}",
                    [("Content-Type", page.content_type), ("Content-Length", str(len(page.body)))],
                    protocol="HTTP/1.1",
                )
                record = writer.create_warc_record(
                    page.url,
                    "response",
                    payload=BytesIO(page.body),
                    http_headers=http_headers,
                    warc_headers_dict={
                        "WARC-Record-ID": _record_id(collection, file_index, i, seed),
                        "WARC-Date": date.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    },
                )
                last_start = fh.tell()
                writer.write_record(record)
            if truncate_last and pages:
                end = fh.tell()
                # Past the compressed headers (which are small) and before the member's
                # end, so the reader sees a record whose payload stops short.
                cut = last_start + max(1, (end - last_start) * 3 // 5)
                fh.truncate(cut)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_synthetic_collection(paths: list[Path], collection: str, seed: int, pages_per_file: int) -> None:
    """One WARC per path (file_index = position); the last file ends in a truncated record."""
    for file_index, path in enumerate(paths):
        pages = collection_pages(collection, file_index, seed, pages_per_file)
        write_warc(Path(path), pages, collection, file_index, seed, truncate_last=file_index == len(paths) - 1)

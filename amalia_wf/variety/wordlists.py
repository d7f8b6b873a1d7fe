"""pt-PT / pt-BR spelling markers derived from the Debian word lists `wportuguese` and `wbrazilian`.

wbrazilian is GPL-2-only, so nothing derived from it is committed: the markers are built on first
use from the installed lists into a per-user cache and rebuilt when a list changes.

Why only *paired* differences: the pt-PT list is much larger (419K vs 275K words), so "in one list
only" mostly means "the other list is less complete". A word counts as a marker only when its
counterpart in the other variety, obtained by a known systematic change, is in the other list only:

- accent: é/ó in pt-PT where pt-BR writes ê/ô (económico/econômico, ténis/tênis); both sides are markers;
- consonant kept in pt-PT only (contacto/contato, facto/fato): both sides are markers;
- consonant kept in pt-BR only (receção/recepção, aspeto/aspecto): only the pt-PT side is a marker,
  because the pt-BR form is also the pre-1990 European spelling (recepção, aspecto) and so says nothing;
- pre-2009 Brazilian spelling: trema and the accents Brazil dropped in 2009 (freqüência, idéia,
  vôo), which European spelling never had since 1945; only the pt-BR side is a marker, the modern form
  (frequência) is shared;
- old European spelling: a word in neither list that becomes a pt-PT word when a silent c/p before
  c/ç/t is dropped (acção, director, óptimo) is pt-PT (checked per token by the scorer, `is_old_pt`).
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from amalia_wf.io import atomic_path

log = logging.getLogger(__name__)

PT_LIST = Path("/usr/share/dict/portuguese")  # Debian package wportuguese
BR_LIST = Path("/usr/share/dict/brazilian")  # Debian package wbrazilian
CACHE_ENV = "AMALIA_VARIETY_CACHE"
FORMAT = 2  # bump when the derivation changes, so old caches are rebuilt

_ACCENT = {"é": "ê", "ó": "ô"}
# a c or p before c, ç or t: the consonants the 1990 agreement dropped where they are silent
_SILENT = re.compile(r"[cp](?=[cçt])")
_VOWELS = frozenset("aeiouáéíóúâêôãõà")
_BR_2009 = re.compile(r"ü|éi|ôo")
_BR_2009_NEW = {"ü": "u", "éi": "ei", "ôo": "oo"}


@dataclass(frozen=True)
class WordLists:
    """markers: word -> (variety "pt-PT"/"pt-BR", kind, counterpart); pt/br: the full lists, lowercased."""

    markers: dict[str, tuple[str, str, str]]
    pt: frozenset[str]
    br: frozenset[str]

    def is_old_pt(self, word: str) -> str | None:
        """The 1990-agreement form of `word` if `word` is a pre-1990 European spelling, else None."""
        if len(word) < 5 or word in self.pt or word in self.br:
            return None
        for m in _SILENT.finditer(word):
            # the silent consonants always followed a vowel (acção, óptimo); `<ccampo>` is a placeholder
            if (
                m.start() > 0
                and word[m.start() - 1] in _VOWELS
                and (new := word[: m.start()] + word[m.end() :]) in self.pt
            ):
                return new
        return None


def _read(path: Path) -> set[str]:
    with open(path, encoding="utf-8") as f:
        return {w for w in (line.strip().lower() for line in f) if w and " " not in w}


def derive_markers(pt: set[str], br: set[str]) -> dict[str, tuple[str, str, str]]:
    """The paired differences described in the module docstring (deterministic, no I/O)."""
    pt_only, br_only = pt - br, br - pt
    markers: dict[str, tuple[str, str, str]] = {}
    for w in sorted(pt_only):
        for i, ch in enumerate(w):
            if ch in _ACCENT and (c := w[:i] + _ACCENT[ch] + w[i + 1 :]) in br_only:
                markers[w] = ("pt-PT", "accent", c)
                markers[c] = ("pt-BR", "accent", w)
        for m in _SILENT.finditer(w):
            if (c := w[: m.start()] + w[m.end() :]) in br_only:
                markers[w] = ("pt-PT", "consonant", c)
                markers[c] = ("pt-BR", "consonant", w)
    for w in sorted(br_only):
        for m in _SILENT.finditer(w):
            if (c := w[: m.start()] + w[m.end() :]) in pt_only:
                markers.setdefault(c, ("pt-PT", "consonant", w))
        if _BR_2009.search(w) and (c := _BR_2009.sub(lambda m: _BR_2009_NEW[m.group(0)], w)) in pt:
            markers[w] = ("pt-BR", "pre-2009 spelling", c)
    return markers


def default_cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "amalia_wf" / "variety"


def load_wordlists(
    cache_dir: str | os.PathLike[str] | None = None, pt_path: Path = PT_LIST, br_path: Path = BR_LIST
) -> WordLists | None:
    """Markers from the cache, building it from the installed lists if missing or stale.

    None (and a warning) when a list is not installed: the scorer then uses its built-in
    grammar and lexicon markers only.
    """
    missing = [str(p) for p in (pt_path, br_path) if not p.is_file()]
    if missing:
        log.warning(
            "variety word lists not installed (%s; Debian packages wportuguese, wbrazilian): "
            "scoring with grammar and lexicon markers only",
            ", ".join(missing),
        )
        return None
    # The key names the exact list files, so an upgraded package rebuilds the cache.
    key = [FORMAT] + [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in (pt_path, br_path)]
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = cache / "wordlists.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["key"] == key:
            return WordLists(
                {w: tuple(v) for w, v in data["markers"].items()}, frozenset(data["pt"]), frozenset(data["br"])
            )
    except (OSError, ValueError, KeyError, TypeError):
        pass  # absent, stale or damaged: rebuild
    pt, br = _read(pt_path), _read(br_path)
    markers = derive_markers(pt, br)
    data = {"key": key, "markers": markers, "pt": sorted(pt), "br": sorted(br)}
    with atomic_path(path) as tmp:  # concurrent builders each write a complete file, last rename wins
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    log.info("built variety word-list markers (%d) into %s", len(markers), path)
    return WordLists(markers, frozenset(pt), frozenset(br))

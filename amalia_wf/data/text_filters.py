"""FineWeb-2 heuristic filters that also report what they measured.

The decisions follow datatrove's GopherRepetitionFilter, FineWebQualityFilter and
GopherQualityFilter rule for rule (tests/test_text_filters.py checks this against the stock
classes), but every ratio is returned so kept and removed documents carry their
`filter_values`, as in the authors' fork, and the words are split only once per document.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from datatrove.pipeline.filters.gopher_repetition_filter import find_all_duplicate, find_duplicates, get_n_grams
from datatrove.utils.text import PUNCTUATION_SET, TERMINAL_PUNCTUATION

Verdict = tuple[str | None, dict[str, float]]  # (reason if removed, measured values)
WordSplitter = Callable[[str], list[str]]

_PARAGRAPHS = re.compile(r"\n{2,}")
_LINES = re.compile(r"\n+")
_ELLIPSIS = re.compile(r"\.\.\.|.", re.S)
_STOP_CHARS = tuple(TERMINAL_PUNCTUATION)
# datatrove's punctuation set lacks single curly quotes, which spaCy splits off.
_PEEL = frozenset(PUNCTUATION_SET | set("‘’‚‛"))


def fast_words(text: str) -> list[str]:
    """Whitespace split with leading/trailing punctuation peeled off as separate tokens.

    Agrees with spaCy's Portuguese tokenizer on ordinary prose (abbreviations such as "Sr." are the
    usual difference) at about 1/20 of the cost; spaCy was the largest cost after extraction.
    """
    out: list[str] = []
    for chunk in text.split():
        start, end = 0, len(chunk)
        while start < end and chunk[start] in _PEEL:
            start += 1
        while end > start and chunk[end - 1] in _PEEL:
            end -= 1
        if start:
            out.extend(_ELLIPSIS.findall(chunk[:start]))
        if end > start:
            out.append(chunk[start:end])
        if end < len(chunk):
            out.extend(_ELLIPSIS.findall(chunk[end:]))
    return out


@cache
def word_splitter(name: str) -> WordSplitter:
    if name == "fast":
        return fast_words
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    return load_word_tokenizer("por").word_tokenize


def clean_lines(text: str, min_letters: int, drop_repeated: bool) -> str:
    """The fork's post-scrape cleanup: drop lines with few letters and repeated lines (first kept)."""
    kept: list[str] = []
    seen: set[str] = set()
    for line in text.split("\n"):
        stripped = line.strip()
        if sum(c.isalpha() for c in stripped) < min_letters:
            continue
        if drop_repeated:
            if stripped in seen:
                continue
            seen.add(stripped)
        kept.append(line)
    return "\n".join(kept)


def _exceeds(value: float, threshold: float | None) -> bool:
    return bool(threshold) and value > threshold  # None/0 turns a test off, as in datatrove


def gopher_repetition(text: str, words: list[str], cfg: Mapping[str, Any]) -> Verdict:
    values: dict[str, float] = {}
    if not text:
        return "empty", values
    paragraphs = _PARAGRAPHS.split(text.strip())
    para_dups, para_chars = find_duplicates(paragraphs)
    lines = _LINES.split(text)
    line_dups, line_chars = find_duplicates(lines)
    values["dup_para_frac"] = para_dups / len(paragraphs)
    values["dup_para_char_frac"] = para_chars / len(text)
    values["dup_line_frac"] = line_dups / len(lines)
    values["dup_line_char_frac"] = line_chars / len(text)
    for key in ("dup_para_frac", "dup_para_char_frac", "dup_line_frac", "dup_line_char_frac"):
        if _exceeds(values[key], cfg[key]):
            return key, values
    reason = None
    for n, threshold in cfg["top_n_grams"]:
        n_grams = get_n_grams(words, n)
        if not n_grams:
            continue
        top, count = Counter(n_grams).most_common(1)[0]
        values[f"top_{n}_gram_frac"] = len(top) * count / len(text)
        skip = count == 1 and cfg["skip_unique_top_ngram"]
        if reason is None and not skip and values[f"top_{n}_gram_frac"] > threshold:
            reason = f"top_{n}_gram"
    for n, threshold in cfg["dup_n_grams"]:
        values[f"dup_{n}_gram_frac"] = find_all_duplicate(words, n) / len(text)
        if reason is None and values[f"dup_{n}_gram_frac"] > threshold:
            reason = f"duplicated_{n}_n_grams"
    return reason, values


def fineweb_quality(text: str, words: list[str], cfg: Mapping[str, Any]) -> Verdict:
    values: dict[str, float] = {}
    lines = [line for line in text.split("\n") if line.strip() != ""]
    if not lines:
        return "empty", values
    values["line_punct_ratio"] = sum(line.endswith(_STOP_CHARS) for line in lines) / len(lines)
    values["short_line_ratio"] = sum(len(line) <= cfg["short_line_length"] for line in lines) / len(lines)
    values["char_dup_ratio"] = find_duplicates(lines)[1] / len(text.replace("\n", ""))
    values["list_ratio"] = text.count("\n") / len(words) if words else float("inf")
    ratio = values["line_punct_ratio"]
    if ratio < cfg["line_punct_thr"] and not (ratio == 0 and cfg["line_punct_exclude_zero"]):
        return "line_punct_ratio", values
    if values["short_line_ratio"] > cfg["short_line_thr"]:
        return "short_line_ratio", values
    if values["char_dup_ratio"] > cfg["char_duplicates_ratio"]:
        return "char_dup_ratio", values
    if values["list_ratio"] > cfg["new_line_ratio"]:
        return "list_ratio", values
    return None, values


def gopher_quality(text: str, words: list[str], cfg: Mapping[str, Any]) -> Verdict:
    non_symbol = [w for w in words if any(ch not in PUNCTUATION_SET for ch in w)]
    n_words = len(words)
    values: dict[str, float] = {"n_words": float(len(non_symbol))}
    if not non_symbol or (cfg["min_doc_words"] and len(non_symbol) < cfg["min_doc_words"]):
        return "gopher_short_doc", values
    if cfg["max_doc_words"] and len(non_symbol) > cfg["max_doc_words"]:
        return "gopher_long_doc", values
    lines = text.splitlines()
    values["avg_word_length"] = sum(map(len, non_symbol)) / len(non_symbol)
    values["hash_ratio"] = text.count("#") / n_words
    values["ellipsis_ratio"] = (text.count("...") + text.count("…")) / n_words
    values["bullet_lines_ratio"] = sum(s.lstrip().startswith(("•", "-")) for s in lines) / len(lines)
    values["ellipsis_lines_ratio"] = sum(s.rstrip().endswith(("...", "…")) for s in lines) / len(lines)
    values["alpha_words_ratio"] = sum(any(c.isalpha() for c in w) for w in words) / n_words
    values["stop_words"] = float(len(set(cfg["stop_words"]).intersection(words)))
    checks = (
        ("gopher_below_avg_threshold", cfg["min_avg_word_length"] and values["avg_word_length"] < cfg["min_avg_word_length"]),
        ("gopher_above_avg_threshold", cfg["max_avg_word_length"] and values["avg_word_length"] > cfg["max_avg_word_length"]),
        ("gopher_too_many_hashes", _exceeds(values["hash_ratio"], cfg["max_symbol_word_ratio"])),
        ("gopher_too_many_ellipsis", _exceeds(values["ellipsis_ratio"], cfg["max_symbol_word_ratio"])),
        ("gopher_too_many_bullets", _exceeds(values["bullet_lines_ratio"], cfg["max_bullet_lines_ratio"])),
        ("gopher_too_many_end_ellipsis", _exceeds(values["ellipsis_lines_ratio"], cfg["max_ellipsis_lines_ratio"])),
        (
            "gopher_below_alpha_threshold",
            cfg["max_non_alpha_words_ratio"] and values["alpha_words_ratio"] < cfg["max_non_alpha_words_ratio"],
        ),
        ("gopher_enough_stop_words", cfg["min_stop_words"] and values["stop_words"] < cfg["min_stop_words"]),
    )
    for reason, failed in checks:
        if failed:
            return reason, values
    return None, values


# Applied in this order, as in FineWeb-2 and the AMALIA pipeline.
QUALITY_FILTERS: tuple[tuple[str, Callable[[str, list[str], Mapping[str, Any]], Verdict]], ...] = (
    ("gopher_repetition", gopher_repetition),
    ("fineweb_quality", fineweb_quality),
    ("gopher_quality", gopher_quality),
)


def datatrove_filters(cfg: Mapping[str, Any], language: str = "por") -> list[tuple[str, Any]]:
    """datatrove's stock filters configured from the same `data.filters` block.

    What QUALITY_FILTERS must agree with (tests/test_text_filters.py), and the baseline of
    bench/data_throughput.py. The config keys are datatrove's own argument names.
    """
    from datatrove.pipeline.filters import FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter

    rep = {k: v for k, v in cfg["gopher_repetition"].items() if k != "skip_unique_top_ngram"}  # a fork-only switch
    rep["top_n_grams"] = tuple(map(tuple, rep["top_n_grams"]))
    rep["dup_n_grams"] = tuple(map(tuple, rep["dup_n_grams"]))
    return [
        ("gopher_repetition", GopherRepetitionFilter(**rep, language=language)),
        ("fineweb_quality", FineWebQualityFilter(**cfg["fineweb_quality"], language=language)),
        ("gopher_quality", GopherQualityFilter(**cfg["gopher_quality"], language=language)),
    ]

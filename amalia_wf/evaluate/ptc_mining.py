"""PT-C cloze items mined from held-out parallel pt-PT / pt-BR pages.

PT-C (AMALIA paper §5.3) asks which of two completions of a sentence a model finds more likely, the
pt-PT one or the pt-BR one. Parallel human translations of the same page give such items directly:
where the two translations of a sentence are identical except for one word or short phrase
(ficheiro/arquivo, ecrã/tela, prima/pressione), the sentence with a blank there is the item and the
two phrases are its options. Items are written in PT-C's schema (amalia_wf.evaluate.suite:
`{id, sentence with one '_____' blank, option_pt, option_br}`).

Alignment: the two pages' sentences are aligned with difflib (identical sentences anchor; between
anchors, sentences are paired in order when both sides have as many, else each pt-PT sentence with
its most similar pt-BR one), then each sentence pair is compared token by token: the tokens from the
first difference to the last must be at most `max_phrase_tokens` on each side, non-empty on both, and
the characters before and after them identical.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

BLANK = "_____"
# A sentence ends at . ! ? followed by space and an upper-case letter, a digit or an opening quote.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"«(\d\wÀ-Ý])")
_TOKEN = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True)
class Cloze:
    sentence: str  # the pt-PT sentence with BLANK in place of its phrase
    option_pt: str
    option_br: str


def sentences(blocks: Iterable[str]) -> list[str]:
    return [s for block in blocks for s in _SENTENCE_END.split(block) if s]


def _tokens(text: str) -> list[re.Match[str]]:
    return list(_TOKEN.finditer(text))


def cloze(pt: str, br: str, max_phrase_tokens: int, min_tokens: int) -> Cloze | None:
    """The item two translations of one sentence give, or None if they differ anywhere else than in
    one phrase of at most `max_phrase_tokens` tokens per side (or not at all, or only in case)."""
    a, b = _tokens(pt), _tokens(br)
    if len(a) < min_tokens or len(b) < min_tokens:
        return None
    ops = [op for op in difflib.SequenceMatcher(None, [t[0] for t in a], [t[0] for t in b], autojunk=False).get_opcodes() if op[0] != "equal"]
    if not ops:
        return None
    i1, j1, i2, j2 = ops[0][1], ops[0][3], ops[-1][2], ops[-1][4]
    if not (0 < i2 - i1 <= max_phrase_tokens and 0 < j2 - j1 <= max_phrase_tokens):
        return None
    start_a, end_a, start_b, end_b = a[i1].start(), a[i2 - 1].end(), b[j1].start(), b[j2 - 1].end()
    option_pt, option_br = pt[start_a:end_a], br[start_b:end_b]
    if pt[:start_a] != br[:start_b] or pt[end_a:] != br[end_b:]:
        return None  # spacing or punctuation differs outside the phrase too
    if option_pt.casefold() == option_br.casefold() or not re.search(r"[^\W\d_]", option_pt + option_br):
        return None  # a capitalisation or number difference says nothing about the variety
    return Cloze(pt[:start_a] + BLANK + pt[end_a:], option_pt, option_br)


def aligned(pt: Sequence[str], br: Sequence[str]) -> Iterable[tuple[str, str]]:
    """Candidate (pt-PT, pt-BR) translations of one sentence from two parallel sentence lists."""
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, pt, br, autojunk=False).get_opcodes():
        if tag != "replace":
            continue
        if i2 - i1 == j2 - j1:
            yield from zip(pt[i1:i2], br[j1:j2])
            continue
        for s in pt[i1:i2]:
            yield s, max(br[j1:j2], key=lambda t, s=s: difflib.SequenceMatcher(None, s, t, autojunk=False).ratio())


def mine(
    pairs: Iterable[Mapping[str, Any]], seen: Collection[str], max_phrase_tokens: int, min_tokens: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """PT-C records from held-out pairs (`{key, pt_pt: {blocks}, pt_br: {blocks}}`) and their summary.

    The help repeats sentences across pages, so a held-out page's sentence may also be on a training
    page: an item whose pt-PT or pt-BR sentence is in `seen` (the training pages' sentences) is
    dropped and counted. An item repeated on several held-out pages is kept once, at its first page."""
    items: dict[Cloze, str] = {}
    pages = compared = in_training = 0
    for pair in pairs:
        pages += 1
        for pt, br in aligned(sentences(pair["pt_pt"]["blocks"]), sentences(pair["pt_br"]["blocks"])):
            compared += 1
            if (item := cloze(pt, br, max_phrase_tokens, min_tokens)) is None:
                continue
            if pt in seen or br in seen:
                in_training += 1
                continue
            items.setdefault(item, pair["key"])
    records = [
        {"id": f"debian-ptc-{n:05d}", "sentence": c.sentence, "option_pt": c.option_pt, "option_br": c.option_br, "page": key}
        for n, (c, key) in enumerate(items.items(), 1)
    ]
    substitutions = Counter((c.option_pt.lower(), c.option_br.lower()) for c in items)
    stats = {
        "items": len(records),
        "heldout_pages": pages,
        "sentence_pairs_compared": compared,
        "dropped_in_training": in_training,
        "items_per_source": dict(sorted(Counter(key.split("/", 1)[0] for key in items.values()).items())),
        "distinct_substitutions": len(substitutions),
        "top_substitutions": [{"pt_pt": pt, "pt_br": br, "items": n} for (pt, br), n in substitutions.most_common(50)],
        "max_phrase_tokens": max_phrase_tokens,
        "min_tokens": min_tokens,
    }
    return records, stats

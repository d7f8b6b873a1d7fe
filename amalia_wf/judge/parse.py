"""Reading scores out of LLM-judge answers.

Open judges (Gemma, Llama, ...) asked for JSON answer with JSON, JSON in markdown fences, JSON
after a preamble, JSON with trailing commas or Python quoting, or prose that only names the
score. Each fallback below exists because some judge answers that way; anything that does not
yield every required field (or yields one outside its range) is None, so callers record the
item as missing instead of inventing a score.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

NUMBER = r"-?\d+(?:[.,]\d+)?"

# Names judges use for a score field, Portuguese included (the judge may answer in the prompt's language).
DEFAULT_ALIASES: dict[str, tuple[str, ...]] = {
    "score": ("score", "pontuação", "pontuacao", "nota", "rating", "classificação", "classificacao"),
}

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")
_MAX_OBJECTS = 50  # brace starts tried per answer; bounds the work on long, brace-heavy answers

# "Pontuação global: 4", "**Global score:** 4/5", "Nota final (1-5): [[4]]", '"score": 4'
_RUBRIC_LABEL = re.compile(
    r"\b(?:pontua[çc][ãa]o|classifica[çc][ãa]o|avalia[çc][ãa]o|nota|score|rating|grade)\b"
    r"(?:\s+(?:global|final|geral|total))?"
    r"[\"'*_\s]*(?:\(\s*\d+\s*(?:-|–|a|to)\s*\d+\s*\))?[\"'*_\s]*[:=\-–]?[\s*_\[(\"']*"
    rf"({NUMBER})(?:\s*/\s*\d+)?",
    re.IGNORECASE,
)
_NUMBER_WITH_DENOMINATOR = re.compile(rf"(?<![\w.,])({NUMBER})(?:\s*/\s*\d+)?")


def _to_number(value: Any) -> float | int | None:
    """A JSON number, or a string that is one number ("7", "7.5", "7,5" — Portuguese decimal comma)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str) and re.fullmatch(rf"\s*{NUMBER}\s*", value):
        text = value.strip().replace(",", ".")
        return float(text) if "." in text else int(text)
    return None


def _balanced_objects(text: str) -> Iterator[str]:
    """Every {...} substring with balanced braces (outside JSON strings), in order of its start."""
    starts = [i for i, ch in enumerate(text) if ch == "{"][:_MAX_OBJECTS]
    for start in starts:
        depth, in_string, escaped, quote = 0, False, False, ""
        for i in range(start, len(text)):
            ch = text[i]
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == quote:
                    in_string = False
            elif ch in "\"'":
                # A single quote only opens a string where Python-style dicts put one (after { , : or
                # space), so an apostrophe inside unquoted prose does not swallow the closing brace.
                prev = text[i - 1] if i > start else ""
                if ch == '"' or prev in "{,: [":
                    in_string, quote = True, ch
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    yield text[start : i + 1]
                    break


def _loads_lenient(candidate: str) -> Any:
    """json.loads, then with trailing commas removed, then as a Python literal (single quotes, True/None)."""
    attempts = [candidate, _TRAILING_COMMA.sub(r"\1", candidate)]
    for attempt in attempts:
        try:
            return json.loads(attempt)
        except ValueError:
            pass
    for attempt in attempts:
        for variant in (attempt, re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", re.sub(r"\bnull\b", "None", attempt)))):
            try:
                return ast.literal_eval(variant)  # literals only: safe on untrusted text
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                pass
    return None


def _check(obj: Any, required: Sequence[str], bounds: Mapping[str, tuple[float, float]]) -> dict[str, Any] | None:
    if not isinstance(obj, dict) or any(obj.get(field) is None for field in required):
        return None
    out = dict(obj)
    for field, (low, high) in bounds.items():
        if field not in out:
            continue
        number = _to_number(out[field])
        if number is None or not low <= number <= high:
            return None
        out[field] = number
    return out


def _regex_fields(
    text: str, required: Sequence[str], aliases: Mapping[str, Sequence[str]]
) -> dict[str, float | int] | None:
    """Last `name: number` (or `"name": number`, `name = number`) for every required field."""
    found: dict[str, float | int] = {}
    for field in required:
        names = sorted({field, *aliases.get(field, ())}, key=len, reverse=True)
        pattern = re.compile(
            r"(?<!\w)[\"']?(?:" + "|".join(re.escape(n) for n in names) + r")[\"']?\s*[:=]\s*[\"'*]*\s*(" + NUMBER + ")",
            re.IGNORECASE,
        )
        matches = pattern.findall(text)
        if not matches:
            return None
        number = _to_number(matches[-1])  # the last one: judges restate the rubric before answering
        if number is None:
            return None
        found[field] = number
    return found


def parse_json_answer(
    text: str | None,
    required: Sequence[str] = ("score",),
    bounds: Mapping[str, tuple[float, float]] | None = None,
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any] | None:
    """The judge's JSON object, or None.

    Tried in order: the whole text, each ```json fenced block, each balanced {...} in the text
    (first one that has every `required` field wins), each leniently (trailing commas, single
    quotes); finally a regex for `field: number` per required field (names from `aliases`,
    default: score/pontuação/nota/...), which returns only those fields. A field in `bounds` must
    be a number (numeric strings are converted) within [low, high], else the answer is None.
    """
    if not text:
        return None
    bounds = bounds or {}
    candidates = [text.strip(), *(m.strip() for m in _FENCE.findall(text)), *_balanced_objects(text)]
    for candidate in candidates:
        parsed = _check(_loads_lenient(candidate), required, bounds)
        if parsed is not None:
            return parsed
    if not required:
        return None
    return _check(_regex_fields(text, required, DEFAULT_ALIASES if aliases is None else aliases), required, bounds)


def parse_rubric_score(text: str | None, low: float, high: float) -> float | None:
    """The global score of a "reasoning, then score" answer (ALBA style), or None.

    A labelled score wins ("Pontuação global: 4", "Global score: 4/5", "Nota: **4**", '"score": 4');
    the last labelled one, because answers restate the scale before concluding. If it is out of
    [low, high] the answer is None (not some other number). Without a label: the last number in
    range, reading "4/5" as 4.
    """
    if not text:
        return None
    labelled = _RUBRIC_LABEL.findall(text)
    if labelled:
        value = float(labelled[-1].replace(",", "."))
        return value if low <= value <= high else None
    for raw in reversed(_NUMBER_WITH_DENOMINATOR.findall(text)):
        value = float(raw.replace(",", "."))
        if low <= value <= high:
            return value
    return None

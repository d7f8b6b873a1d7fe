"""P3B3 judge validation (the P3B3 paper's Table 1): human-rated answers, and every scorer's score on them.

The ratings file is JSON lines, one rated answer per line:

    {"id": "r01",                       # unique
     "model": "...", "setting": "pt-PT", # where the answer came from (informative)
     "dialogue_id": "12", "turn": 2,     # informative
     "user": "<the benchmark's user turn, without the variety instruction>",
     "response": "<the model's answer>",
     "history": [["<earlier user turn>", "<earlier answer>"], ...],   # optional; used by the D/H judge variants
     "ratings": {"A": 8, "B": 9}}        # annotator -> 0 (pt-BR) .. 10 (pt-PT); -1 = invalid output; null = not rated

Every line names the same annotators. The paper's set is 200 answers rated by two linguists (not
public); data/eval_fixtures/p3b3_ratings/ratings.jsonl is a small one written for the project.

Scores are returned on each scorer's own scale (agreement.table1 puts them on 0..10): the offline
marker scorer and the classifiers give P(pt-PT) in [0, 1] (scale 1), the judge 0..10 (scale 10).
An answer a scorer could not score (marker scorer without evidence, judge failure) is None and
is left out of that scorer's agreement (its n is smaller), never counted as 0.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from amalia_wf.genbench.p3b3 import answer_text
from amalia_wf.genbench.p3b3_judge import JudgeVariant, judge_prompt, parse_verdict

REQUIRED = ("id", "user", "response", "ratings")


def load_ratings(path: str | Path) -> list[dict[str, Any]]:
    """The rated answers; a malformed line is an error naming the file and line."""
    items: list[dict[str, Any]] = []
    annotators: list[str] | None = None
    seen: set[str] = set()
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        item = json.loads(line)
        missing = [k for k in REQUIRED if k not in item]
        if missing:
            raise ValueError(f"{where}: missing {missing}")
        if not isinstance(item["ratings"], dict) or not item["ratings"]:
            raise ValueError(f"{where}: ratings must be an object annotator -> 0..10, -1 or null")
        for who, value in item["ratings"].items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not (value == -1 or 0 <= value <= 10)):
                raise ValueError(f"{where}: rating of {who} must be 0..10, -1 (invalid) or null, got {value!r}")
        names = sorted(item["ratings"])
        if annotators is None:
            annotators = names
        elif names != annotators:
            raise ValueError(f"{where}: annotators {names}, expected {annotators} as on the first line")
        if str(item["id"]) in seen:
            raise ValueError(f"{where}: duplicate id {item['id']!r}")
        seen.add(str(item["id"]))
        history = item.get("history") or []
        if not all(isinstance(h, (list, tuple)) and len(h) == 2 for h in history):
            raise ValueError(f"{where}: history must be a list of [user turn, answer] pairs")
        items.append({**item, "history": [tuple(h) for h in history]})
    if not items:
        raise ValueError(f"{path}: no rated answers")
    return items


def human_ratings(items: Sequence[Mapping[str, Any]]) -> dict[str, list[float | None]]:
    """annotator -> ratings in item order (the input of agreement.table1)."""
    return {who: [item["ratings"][who] for item in items] for who in sorted(items[0]["ratings"])}


def variety_scores(items: Sequence[Mapping[str, Any]], score_fn: Any = None) -> list[float | None]:
    """The offline marker scorer's P(pt-PT) per answer (None where it abstains)."""
    if score_fn is None:
        from amalia_wf.variety import score_text as score_fn
    return [score_fn(answer_text(item["response"])).score for item in items]


def classifier_scores(items: Sequence[Mapping[str, Any]], classifier: Any) -> list[float]:
    """A VarietyClassifier's P(pt-PT) per answer."""
    return classifier.p_pt_pt([answer_text(item["response"]) for item in items])


def judge_messages(items: Sequence[Mapping[str, Any]], variant: str) -> list[list[dict[str, str]]]:
    v = JudgeVariant.parse(variant)
    return [
        [{"role": "user", "content": judge_prompt(v, item["user"], answer_text(item["response"]), [(u, answer_text(a)) for u, a in item["history"]])}]
        for item in items
    ]


def judge_scores(items: Sequence[Mapping[str, Any]], client: Any, variant: str) -> list[float | None]:
    """The judge's 0..10 score per answer with one prompt variant (None: failed or unreadable)."""
    out: list[float | None] = []
    for result in client.map(judge_messages(items, variant)):
        verdict = parse_verdict(result if result is None or isinstance(result, str) else result.text)
        out.append(None if verdict is None else verdict["score"])
    return out


# The P3B3 paper's two judges, in its Table 5 column order: a part of the served model's name -> its
# row name in Tables 1 and 4, and its column in Table 5. Matched loosely because endpoints name them
# differently ("gemini-3-flash-preview", "google/gemma-4-31B-it").
PAPER_JUDGES = {"gemma-4-31b": ("Gemma-4-31B", "Gemma-4"), "gemini-3-flash": ("Gemini-3 Flash", "Gemini-3")}


def paper_judge(judge_model: str) -> tuple[str, str] | None:
    """(row name, Table 5 column) of the paper's judge this model is, or None if it is neither."""
    return next((names for key, names in PAPER_JUDGES.items() if key in judge_model.lower()), None)


def paper_judge_row(judge_model: str, variant: str) -> str | None:
    """The P3B3 paper's row for a judge and prompt variant, or None if the paper has no such judge.

    The paper writes the simple prompt with history "S-H" and the category one "C-D"; both are
    the D scope here.
    """
    names = paper_judge(judge_model)
    if names is None:
        return None
    name = names[0]
    v = JudgeVariant.parse(variant)
    scope = ("D" if v.categories else "H") if v.dialogue else "ST"
    return f"{name} - {v.language.upper()}-{'C' if v.categories else 'S'}-{scope}"

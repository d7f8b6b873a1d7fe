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
public); data/eval_fixtures/p3b3_ratings/ratings.jsonl (RATINGS_FIXTURE) is a 16-answer one written
for the project's tests, used when no ratings file is configured (the table then says so).

The authors' own format (AMALIA-LLM/p3b3-benchmark, src/annotation: the sheet create_sheet.py writes,
read back by their agreement scripts) is also read (`load_annotation_sheets`): a folder with one
`;`-separated CSV per annotator, named <annotator>.csv, with the columns conversation_id, model_name,
prompt_type (normal, pt-pt, pt-br), turn_nr, user, assistant, rating (0..10, -1 invalid, empty not
rated) and comment; rows are matched across annotators on (conversation_id, model_name, turn_nr), as
their scripts do, and an answer's history is the earlier turns of its conversation in the sheet.
`load_human_ratings` takes either (a folder is the authors' format).

Scores are returned on each scorer's own scale (agreement.table1 puts them on 0..10): the offline
marker scorer and the classifiers give P(pt-PT) in [0, 1] (scale 1), the judge 0..10 (scale 10).
An answer a scorer could not score (marker scorer without evidence, judge failure) is None and
is left out of that scorer's agreement (its n is smaller), never counted as 0.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from amalia_wf.genbench.p3b3 import answer_text
from amalia_wf.genbench.p3b3_judge import JudgeVariant, judge_prompt, parse_verdict

REQUIRED = ("id", "user", "response", "ratings")
RATINGS_FIXTURE = "data/eval_fixtures/p3b3_ratings/ratings.jsonl"
SHEET_COLUMNS = ("conversation_id", "model_name", "turn_nr", "user", "assistant", "rating")
SHEET_SETTINGS = {"normal": "none", "pt-pt": "pt-PT", "pt-br": "pt-BR"}  # prompt_type -> our setting


def load_human_ratings(path: str | Path) -> list[dict[str, Any]]:
    """Rated answers from a JSON-lines file, or from a folder of the authors' annotation sheets."""
    return load_annotation_sheets(path) if Path(path).is_dir() else load_ratings(path)


def _check_rating(value: Any, who: str, where: str, unrated: str = "null") -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not (value == -1 or 0 <= value <= 10)):
        raise ValueError(f"{where}: rating of {who} must be 0..10, -1 (invalid) or {unrated}, got {value!r}")


def _sheet_rating(text: str, who: str, where: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        raise ValueError(f"{where}: rating of {who} must be 0..10, -1 (invalid) or empty, got {text!r}") from None
    _check_rating(value, who, where, unrated="empty")
    return value


def load_annotation_sheets(folder: str | Path) -> list[dict[str, Any]]:
    """The authors' annotation sheets (module docstring) as rated answers; bad rows name file and line."""
    sheets = sorted(Path(folder).glob("*.csv"))
    if len(sheets) < 1:
        raise ValueError(f"{folder}: no annotator sheets (<annotator>.csv)")
    by_annotator: dict[str, dict[tuple[str, str, int], dict[str, str]]] = {}
    ratings: dict[str, dict[tuple[str, str, int], float | None]] = {}
    for sheet in sheets:
        rows: dict[tuple[str, str, int], dict[str, str]] = {}
        rated: dict[tuple[str, str, int], float | None] = {}
        with open(sheet, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f, delimiter=";", quotechar='"')
            missing = [c for c in SHEET_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f"{sheet}: missing column(s) {missing} (a ';'-separated sheet with {list(SHEET_COLUMNS)})")
            for n, row in enumerate(reader, 2):
                where = f"{sheet}:{n}"
                try:
                    key = (row["conversation_id"], row["model_name"], int(row["turn_nr"]))
                except ValueError:
                    raise ValueError(f"{where}: turn_nr must be an integer, got {row['turn_nr']!r}") from None
                if key in rows:
                    raise ValueError(f"{where}: duplicate (conversation_id, model_name, turn_nr) {key}")
                rows[key] = row
                rated[key] = _sheet_rating(row["rating"], sheet.stem, where)
        by_annotator[sheet.stem], ratings[sheet.stem] = rows, rated
    first = by_annotator[sheets[0].stem]
    keys = [k for k in first if all(k in rows for rows in by_annotator.values())]
    if not keys:
        raise ValueError(f"{folder}: the annotators' sheets share no (conversation_id, model_name, turn_nr)")
    items = []
    for conversation, model, turn in keys:
        row = first[conversation, model, turn]
        setting = SHEET_SETTINGS.get(row.get("prompt_type", ""), row.get("prompt_type"))
        earlier = sorted((k[2], first[k]) for k in first if k[:2] == (conversation, model) and k[2] < turn
                         and first[k].get("prompt_type") == row.get("prompt_type"))
        items.append({
            "id": f"{conversation}/{model}/{turn}", "model": model, "setting": setting, "dialogue_id": conversation, "turn": turn,
            "user": row["user"], "response": row["assistant"], "history": [(r["user"], r["assistant"]) for _, r in earlier],
            "ratings": {who: ratings[who][conversation, model, turn] for who in sorted(ratings)},
        })
    return items


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
            _check_rating(value, who, where)
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

"""P3B3 (pt-PT / pt-BR variety bias): prompts, the three settings, generation records, scored rows.

The benchmark file `all_prompts.json` maps a dialogue id to its list of user turns (upstream
AMALIA-LLM/p3b3-benchmark, `resources/all_prompts.json`: 74 dialogues, 203 turns). Every
dialogue is generated three times: with no instruction, and with a pt-PT or a pt-BR instruction
written in front of the FIRST user turn (inside that message, not as a system message). Each
turn is answered greedily with the model's own earlier answers in the history.

One record per answered turn (`generation_records`):

    {model, setting, dialogue_id, turn, user, prompt, response, history_len}

`turn` counts from 1; `user` is the benchmark's turn text; `prompt` is the message actually sent
(the instruction in front on turn 1 of an instructed setting); `history_len` is the number of
messages before it (2 * (turn - 1)). The setting is a field of every record, so scorers take it
from the record: the upstream classifier script parsed it from file names and labelled every
row "normal".

Scorers turn records into scored rows (`scored_row`) with the record's key fields, the scorer's
name, `score` on 0-100 (100 = pt-PT), and `status`: "ok", or why there is no score (judge_failed,
unparseable, abstain, generation_failed). A row without a score is counted, never averaged in as a number.

An API model's call that fails after its retries (amalia_wf.genbench.api) gives `response` None: that
turn and the later turns of its dialogue (which would lack its answer in their history) are recorded
with `response` None, and every scorer gives them status generation_failed (`score_answered`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from amalia_wf.generation import GenerationSettings, Generator, Messages, load_generator
from amalia_wf.io import read_jsonl_gz, write_jsonl_gz

SETTINGS = ("none", "pt-PT", "pt-BR")

# The P3B3 paper describes the instruction ("in the first dialogue turn the model is explicitly
# instructed to respond in the corresponding variant") but does not print it. These sentences are
# the ones in the authors' generation script (AMALIA-LLM/p3b3-benchmark, src/evaluation/generate.py),
# joined to the first turn with a newline; override them per setting in the config.
DEFAULT_INSTRUCTIONS: dict[str, str | None] = {
    "none": None,
    "pt-PT": "Responde sempre em português europeu (pt-PT).",
    "pt-BR": "Responde sempre em português brasileiro (pt-BR).",
}

# Separator between the variety instruction and the first user turn (one message, not two).
PREFIX_SEPARATOR = "\n"

# max_new_tokens: the authors' MAX_OUTPUT_TOKENS. max_model_len (prompt + answer): six turns of up to
# 2048 tokens do not fit in 4096 (the authors use 16384).
GENERATION = GenerationSettings(max_new_tokens=2048, max_model_len=16384)

KEY_FIELDS = ("model", "setting", "dialogue_id", "turn")
OK, ABSTAIN, JUDGE_FAILED, UNPARSEABLE = "ok", "abstain", "judge_failed", "unparseable"
GENERATION_FAILED = "generation_failed"


# --------------------------------------------------------------------------- prompts


def load_prompts(path: str | Path) -> dict[str, list[str]]:
    """The benchmark: dialogue id -> user turns, in file order. Malformed entries are errors naming the id."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not data:
        raise ValueError(f"{path}: expected a non-empty object mapping dialogue ids to lists of user turns")
    for key, turns in data.items():
        if not isinstance(turns, list) or not turns or not all(isinstance(t, str) and t.strip() for t in turns):
            raise ValueError(f"{path}: dialogue {key!r} must be a non-empty list of non-empty strings")
    return {str(k): list(v) for k, v in data.items()}


def instructions(overrides: Mapping[str, str | None] | None = None) -> dict[str, str | None]:
    """The instruction of each setting: the defaults, with config overrides (unknown settings are errors)."""
    out = dict(DEFAULT_INSTRUCTIONS)
    for setting, text in (overrides or {}).items():
        if setting not in out:
            raise ValueError(f"p3b3 instructions: unknown setting {setting!r} (expected one of {SETTINGS})")
        out[setting] = text or None
    return out


# --------------------------------------------------------------------------- generation


def with_prefix(prefix: str | None, text: str) -> str:
    """The first user turn with an instruction in front of it (inside the same message)."""
    return text if not prefix else f"{prefix}{PREFIX_SEPARATOR}{text}"


def run_dialogues(
    generator: Generator, dialogues: Sequence[Sequence[str]], first_turn_prefixes: Sequence[str | None]
) -> list[list[str | None]]:
    """Answer every user turn of every dialogue, each with the model's own earlier answers as history.

    One generate() call per turn index over all dialogues that still have a turn there, so a
    batch mixes dialogues (and settings, when the caller passes several) rather than turns.
    `first_turn_prefixes[d]` goes in front of dialogue d's first user turn only. A reply of None (an
    API call that failed for good) ends its dialogue there: its later turns are None, never asked.
    """
    if len(first_turn_prefixes) != len(dialogues):
        raise ValueError("one first-turn prefix per dialogue")
    histories: list[Messages] = [[] for _ in dialogues]
    answers: list[list[str | None]] = [[] for _ in dialogues]
    for turn in range(max((len(d) for d in dialogues), default=0)):
        active = [d for d, turns in enumerate(dialogues) if turn < len(turns) and None not in answers[d]]
        for d in active:
            text = dialogues[d][turn]
            histories[d].append({"role": "user", "content": with_prefix(first_turn_prefixes[d], text) if turn == 0 else text})
        replies = generator.generate([list(histories[d]) for d in active]) if active else []
        for d, (reply,) in zip(active, replies, strict=True):
            histories[d].append({"role": "assistant", "content": reply})
            answers[d].append(reply)
    return [a + [None] * (len(turns) - len(a)) for a, turns in zip(answers, dialogues, strict=True)]


def generation_records(
    model: str,
    prompts: Mapping[str, Sequence[str]],
    settings: Sequence[str],
    setting_instructions: Mapping[str, str | None],
    answers: Sequence[Sequence[str | None]],
) -> list[dict[str, Any]]:
    """Records from answers given in the order of `dialogue_plan` (settings outer, dialogues inner)."""
    plan = dialogue_plan(prompts, settings)
    if len(plan) != len(answers):
        raise ValueError(f"{len(plan)} dialogues planned but {len(answers)} answered")
    records = []
    for (setting, dialogue_id), replies in zip(plan, answers, strict=True):
        turns = prompts[dialogue_id]
        if len(replies) != len(turns):
            raise ValueError(f"{setting}/{dialogue_id}: {len(turns)} turns but {len(replies)} answers")
        for t, (user, response) in enumerate(zip(turns, replies, strict=True)):
            records.append(
                {
                    "model": model,
                    "setting": setting,
                    "dialogue_id": dialogue_id,
                    "turn": t + 1,
                    "user": user,
                    "prompt": with_prefix(setting_instructions[setting], user) if t == 0 else user,
                    "response": response,
                    "history_len": 2 * t,
                }
            )
    return records


def dialogue_plan(prompts: Mapping[str, Sequence[str]], settings: Sequence[str]) -> list[tuple[str, str]]:
    """(setting, dialogue id) for every dialogue to generate."""
    unknown = [s for s in settings if s not in DEFAULT_INSTRUCTIONS]
    if unknown:
        raise ValueError(f"unknown P3B3 setting(s) {unknown} (expected some of {SETTINGS})")
    return [(s, d) for s in settings for d in prompts]


def run_p3b3(
    generator: Generator,
    model: str,
    prompts: Mapping[str, Sequence[str]],
    settings: Sequence[str] = SETTINGS,
    instruction_overrides: Mapping[str, str | None] | None = None,
) -> list[dict[str, Any]]:
    """Generate every dialogue in every setting with a loaded generator; one record per turn.

    All settings go through one `run_dialogues`, so a batch mixes settings and dialogues: one pass
    per turn index instead of three.
    """
    texts = instructions(instruction_overrides)
    plan = dialogue_plan(prompts, settings)
    answers = run_dialogues(generator, [list(prompts[d]) for _, d in plan], [texts[s] for s, _ in plan])
    return generation_records(model, prompts, settings, texts, answers)


def generate_p3b3(
    model_path: str,
    model: str,
    prompts: Mapping[str, Sequence[str]],
    generation: GenerationSettings = GENERATION,
    *,
    settings: Sequence[str] = SETTINGS,
    instruction_overrides: Mapping[str, str | None] | None = None,
) -> list[dict[str, Any]]:
    """Load `model_path` once and generate P3B3 (greedy); `model` is the name written in the records."""
    return run_p3b3(load_generator(model_path, generation), model, prompts, settings, instruction_overrides)


def write_records(path: str | Path, records: Sequence[Mapping[str, Any]]) -> int:
    return write_jsonl_gz(path, records)


def read_records(path: str | Path) -> list[dict[str, Any]]:
    return list(read_jsonl_gz(path))


# --------------------------------------------------------------------------- scoring helpers


def answer_text(response: str) -> str:
    """What the user reads: a reasoning model's text after its last </think> (as the authors score it)."""
    return response.rsplit("</think>", 1)[-1].strip()


def dialogues(records: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str, str], list[Mapping[str, Any]]]:
    """Records grouped by (model, setting, dialogue_id), each group in turn order."""
    groups: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["model"], r["setting"], r["dialogue_id"]), []).append(r)
    return {k: sorted(v, key=lambda r: r["turn"]) for k, v in groups.items()}


def scored_row(
    record: Mapping[str, Any],
    scorer: str,
    score: float | None,
    *,
    status: str = OK,
    not_pt: bool | None = None,
    invalid: bool | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One scorer's verdict on one record: its key fields, score on 0-100 (None unless status is ok) and flags."""
    if (score is None) != (status != OK):
        raise ValueError(f"{scorer}: status {status!r} with score {score!r}")
    return {
        **{k: record[k] for k in KEY_FIELDS},
        "scorer": scorer,
        "score": score,
        "status": status,
        "not_pt": not_pt,
        "invalid": invalid,
        **extra,
    }


def score_answered(
    records: Sequence[Mapping[str, Any]], scorer: str, score: Callable[[list[Mapping[str, Any]]], list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """One row per record: `score` (records -> rows, in order) on the answered records; a record whose
    generation failed (response None) is a generation_failed row, counted missing, never scored."""
    answered = [r for r in records if r["response"] is not None]
    rows = iter(score(answered) if answered else [])
    return [next(rows) if r["response"] is not None else scored_row(r, scorer, None, status=GENERATION_FAILED) for r in records]


def not_portuguese(texts: Sequence[str], lid: Any, labels: Sequence[str] = ("por_Latn",)) -> list[bool]:
    """True where fastText LID's top language is not Portuguese (the classifiers' not_pt flag).

    The variety classifiers and the marker scorer give every text a pt-PT probability, Spanish or
    English included; the judge says itself whether an answer is Portuguese. `lid` is an
    amalia_wf.data.langid.LanguageId (lid.176 offline, GlotLID at paper scale); an empty answer
    has no language and counts as not Portuguese.
    """
    return [not t.strip() or lid.predict(t)[0] not in labels for t in texts]


def probability_rows(
    records: Sequence[Mapping[str, Any]], scorer: str, probabilities: Sequence[float], not_pt: Sequence[bool]
) -> list[dict[str, Any]]:
    """Rows of a classifier that gives P(pt-PT) for every record (x100)."""
    return [
        scored_row(r, scorer, 100.0 * p, not_pt=flag, p_pt_pt=p)
        for r, p, flag in zip(records, probabilities, not_pt, strict=True)
    ]


def variety_rows(
    records: Sequence[Mapping[str, Any]],
    not_pt: Sequence[bool],
    score_fn: Callable[[str], Any] | None = None,
    scorer: str = "variety",
) -> list[dict[str, Any]]:
    """Rows of the offline marker scorer (amalia_wf.variety): abstains (status abstain) without evidence.

    score_fn(text) returns an object with `.score` in [0, 1] or None; by default amalia_wf.variety.score_text.
    """
    if score_fn is None:
        from amalia_wf.variety import score_text as score_fn  # imported here: builds word lists on first use
    rows = []
    for r, flag in zip(records, not_pt, strict=True):
        result = score_fn(answer_text(r["response"]))
        p = None if result is None else result.score
        rows.append(scored_row(r, scorer, None if p is None else 100.0 * p, status=OK if p is not None else ABSTAIN, not_pt=flag))
    return rows

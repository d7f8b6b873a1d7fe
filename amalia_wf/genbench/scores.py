"""Score-or-missing bookkeeping shared by the judged and classified benchmarks (ALBA, PT-E open, safety, P3B3).

An item's outcome is a number or `None`. `None` means the item could not be scored (the judge
failed for good, or its answer could not be read); it is counted in `n_missing` and left out of
the mean. It is never replaced by a low score: upstream ALBA turned a final judge failure into
"Pontuação Global: 1", which makes an unreachable judge look like a bad model.

Also here, because all three benchmark modules need them and none should own them:
`read_records` (benchmark files in the formats upstream ships: parquet, JSON lines, JSON, CSV),
`final_answer` (drop a reasoning model's <think> block before judging), `generate_single_turn`
(answers through the model's chat template) and `judge_records` (judge answers -> score records).
"""

from __future__ import annotations

import gzip
import json
import math
import re
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from amalia_wf.generation import GenerationSettings, Messages, generate

Score = float | None

# Status of a judged/classified record. Everything but OK is missing.
OK, JUDGE_FAILED, UNPARSEABLE = "ok", "judge_failed", "unparseable"

RECORD_SUFFIXES = (".parquet", ".jsonl", ".jsonl.gz", ".json", ".csv")


# --------------------------------------------------------------------------- aggregation


@dataclass(frozen=True)
class Aggregate:
    mean: float | None  # over present scores; None when nothing was scored
    n: int  # present scores
    n_missing: int
    stderr: float | None = None  # standard error of the mean (sample sd / sqrt(n)); None below 2 scores

    @property
    def n_total(self) -> int:
        return self.n + self.n_missing

    def as_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "stderr": self.stderr, "n": self.n, "n_missing": self.n_missing, "n_total": self.n_total}


def is_missing(value: Any) -> bool:
    # NaN counts as missing too: a None that went through a pandas/CSV round trip comes back as NaN.
    return value is None or (isinstance(value, float) and math.isnan(value))


def aggregate(values: Iterable[Score]) -> Aggregate:
    """Mean over the present values, its standard error, their count, and the count of missing ones."""
    present: list[float] = []
    missing = 0
    for v in values:
        if is_missing(v):
            missing += 1
        else:
            present.append(float(v))  # type: ignore[arg-type]
    mean = math.fsum(present) / len(present) if present else None
    stderr = statistics.stdev(present) / math.sqrt(len(present)) if len(present) > 1 else None
    return Aggregate(mean=mean, n=len(present), n_missing=missing, stderr=stderr)


def rescale(value: Score, low: float, high: float) -> Score:
    """A score on [low, high] as 0..100 (ALBA: (s - 1) / 4 * 100). Missing stays missing."""
    if is_missing(value):
        return None
    if high <= low:
        raise ValueError(f"rescale: high ({high}) must exceed low ({low})")
    return (float(value) - low) / (high - low) * 100.0  # type: ignore[arg-type]


def fraction_to_percent(numerator: Score, denominator: float) -> Score:
    """awarded / max * 100 (PT-E open); missing stays missing."""
    if is_missing(numerator):
        return None
    if denominator <= 0:
        raise ValueError(f"denominator must be positive, got {denominator}")
    return float(numerator) / denominator * 100.0  # type: ignore[arg-type]


def summarize(
    records: Sequence[Mapping[str, Any]],
    value: Callable[[Mapping[str, Any]], Score],
    group: str | None = None,
) -> dict[str, Any]:
    """Overall and per-group aggregates of value(record), plus why items are missing.

    `overall` is the mean over all present items (not the mean of group means): with equal group
    sizes and nothing missing the two agree; with missing items every scored item weighs the same.
    """
    out: dict[str, Any] = {"overall": aggregate(value(r) for r in records).as_dict()}
    if group is not None:
        groups: dict[str, list[Score]] = {}
        for r in records:
            groups.setdefault(str(r[group]), []).append(value(r))
        out["groups"] = {g: aggregate(vals).as_dict() for g, vals in sorted(groups.items())}
    out["missing_reasons"] = dict(sorted(Counter(r["status"] for r in records if r.get("status", OK) != OK).items()))
    return out


# --------------------------------------------------------------------------- judged records


def _answer_text(result: Any) -> tuple[str | None, str | None]:
    """(text, error) from a JudgeClient.map result (JudgeResult) or a plain string / None."""
    if result is None or isinstance(result, str):
        return result, None
    return result.text, getattr(result, "error", None)


def attach_judgements(
    records: Sequence[Mapping[str, Any]],
    answers: Sequence[Any],
    parse: Callable[[Mapping[str, Any], str], Score],
) -> list[dict[str, Any]]:
    """Each record plus judge_answer, judge_error, score (parse(record, answer)) and status.

    A judge that failed for good (None) -> judge_failed; an answer the parser cannot read ->
    unparseable. Both have score None: missing, counted, never a score.
    """
    if len(records) != len(answers):
        raise ValueError(f"{len(records)} records but {len(answers)} judge answers")
    out = []
    for record, result in zip(records, answers, strict=True):
        text, error = _answer_text(result)
        score = None if text is None else parse(record, text)
        status = JUDGE_FAILED if text is None else (OK if score is not None else UNPARSEABLE)
        out.append({**record, "judge_answer": text, "judge_error": error, "score": score, "status": status})
    return out


def judge_records(
    records: Sequence[Mapping[str, Any]],
    messages: Callable[[Mapping[str, Any]], Messages],
    parse: Callable[[Mapping[str, Any], str], Score],
    client: Any,
) -> list[dict[str, Any]]:
    """Send messages(record) for every record through client.map (a JudgeClient) and attach the scores."""
    return attach_judgements(records, client.map([messages(r) for r in records]), parse)


# --------------------------------------------------------------------------- answers


_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)


def final_answer(text: str) -> str:
    """The answer without reasoning blocks: judges and the guard grade what the user would read.

    Text after the last </think> (a template may open <think> in the prompt, so only the closing
    tag is in the output), with any remaining complete <think>...</think> block removed.
    """
    if "</think>" in text:
        text = text.rsplit("</think>", 1)[1]
    return _THINK.sub("", text).strip()


def single_turn(prompt: str, system: str | None = None) -> Messages:
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]


def generate_single_turn(
    model_path: str, prompts: Sequence[str], settings: GenerationSettings, system: str | None = None
) -> list[str]:
    """One answer per prompt, through the model's chat template unless settings say otherwise.

    GenerationSettings.chat_template defaults to True on purpose: upstream ALBA fed local models the
    raw prompt (no template), which is a bug; False exists only for models that have no template at all.
    """
    return [answer for (answer,) in generate(model_path, [single_turn(p, system) for p in prompts], settings)]


# --------------------------------------------------------------------------- files


def _record_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"no benchmark data at {path}")
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(RECORD_SUFFIXES))
    if not files:
        raise FileNotFoundError(f"no {'/'.join(RECORD_SUFFIXES)} files under {path}")
    return files


def _read_file(path: Path) -> list[dict[str, Any]]:
    name = path.name
    if name.endswith(".parquet"):
        frame = pd.read_parquet(path)
    elif name.endswith(".csv"):
        # keep_default_na=False: an empty cell is "" (text), not NaN; ids like "NA" stay text.
        frame = pd.read_csv(path, keep_default_na=False)
    elif name.endswith((".jsonl", ".jsonl.gz")):
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:  # type: ignore[operator]
            return [json.loads(line) for line in f if line.strip()]
    elif name.endswith(".json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ValueError(f"{path}: expected a JSON list of objects")
        return data
    else:
        raise ValueError(f"{path}: unsupported format (expected one of {RECORD_SUFFIXES})")
    # Through JSON so numpy scalars become plain Python numbers.
    return json.loads(frame.to_json(orient="records", force_ascii=False))


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Every record of a benchmark file, or of every data file under a directory (sorted by path).

    Directories are what a hub dataset snapshot looks like (`<config>/train-00000-of-00001.parquet`).
    """
    return [r for f in _record_files(Path(path)) for r in _read_file(f)]

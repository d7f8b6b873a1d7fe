"""Chat data for SFT: validated loading, the Table 1 mixture's entries, and the validation split."""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

ROLES = frozenset({"system", "user", "assistant"})
ON_ERROR = ("fail", "skip")
ENTRY_KEYS = ("name", "task", "language", "tokens", "license", "source")


class ChatDataError(ValueError):
    """A chat record that cannot be trained on, located by file (or dataset) and line (or row)."""


def open_text(path: str | Path) -> IO[str]:
    path = Path(path)
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


def turn_problem(turn: Any) -> str | None:
    """What makes one message unusable, or None."""
    if not isinstance(turn, Mapping):
        return f"a turn is {type(turn).__name__}, not an object"
    role = turn.get("role")
    if not isinstance(role, str) or role not in ROLES:
        return f"unknown role {role!r} (expected one of {sorted(ROLES)})"
    content = turn.get("content")
    if not isinstance(content, str) or not content.strip():
        return f"empty {turn['role']} turn"
    return None


def messages_problem(messages: Any) -> str | None:
    """What makes a conversation unusable for assistant-only SFT, or None."""
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty list"
    for i, turn in enumerate(messages):
        if problem := turn_problem(turn):
            return f"turn {i}: {problem}"
    if not any(turn["role"] == "assistant" for turn in messages):
        return "no assistant turn"
    # A trailing user turn would be trained as context only: it teaches nothing and hides a truncated record.
    if messages[-1]["role"] != "assistant":
        return f"last turn is {messages[-1]['role']!r}, not 'assistant'"
    return None


def read_json_lines(path: str | Path) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, parsed value or None, JSON error or None) for every non-blank line."""
    with open_text(path) as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line), None
            except json.JSONDecodeError as exc:
                yield lineno, None, f"malformed JSON ({exc.msg} at column {exc.colno})"


def _check_on_error(on_error: str) -> None:
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {ON_ERROR}, not {on_error!r}")


def _collect(rows: Iterable[tuple[str, Any, str | None]], on_error: str) -> tuple[list[dict], int]:
    """Validated records from (location, record, parse error) rows; fail on or count the bad ones."""
    _check_on_error(on_error)
    records: list[dict] = []
    skipped = 0
    for where, record, error in rows:
        if error is None:
            if not isinstance(record, dict) or "messages" not in record:
                error = "record has no 'messages'"
            else:
                error = messages_problem(record["messages"])
        if error is None:
            records.append(record)
        elif on_error == "skip":
            skipped += 1
        else:
            raise ChatDataError(f"{where}: {error}")
    return records, skipped


def load_chat_file(path: str | Path, on_error: str = "fail") -> tuple[list[dict], int]:
    """Every valid chat record of a .jsonl(.gz) file, and how many bad ones were skipped."""
    rows = ((f"{path}:{lineno}", record, error) for lineno, record, error in read_json_lines(path))
    return _collect(rows, on_error)


def load_entry(entry: Mapping[str, Any], on_error: str) -> tuple[list[dict], int]:
    """Every valid record of one mixture entry (its `path` or `hub` source), and how many bad ones were skipped."""
    return load_chat_file(entry["path"], on_error) if "path" in entry else _load_hub(entry, on_error)


def _load_hub(entry: Mapping[str, Any], on_error: str) -> tuple[list[dict], int]:
    hub = entry["hub"]
    dataset, split, revision = hub["dataset"], hub["split"], hub.get("revision")
    field = hub.get("messages_field", "messages")
    # Imported here: `datasets` takes seconds to import, and config validation uses this module.
    import datasets
    from datasets.exceptions import DatasetNotFoundError

    try:
        rows = datasets.load_dataset(dataset, hub.get("config"), split=split, revision=revision)
    except (OSError, DatasetNotFoundError) as exc:  # ConnectionError and FileNotFoundError are OSErrors
        raise FileNotFoundError(
            f"mixture entry {entry['name']!r}: hub dataset {dataset!r} (split {split!r}, revision {revision!r}) "
            f"could not be loaded; offline runs need it in the Hugging Face cache beforehand ({exc})"
        ) from exc
    if field not in rows.column_names:
        raise ChatDataError(f"{dataset}: no column {field!r} (columns: {rows.column_names})")
    located = ((f"{dataset}[{split}] row {i}", {"messages": m}, None) for i, m in enumerate(rows[field]))
    return _collect(located, on_error)


def validate_mixture(entries: Sequence[Mapping[str, Any]], key: str = "train.sft.mixture") -> None:
    """Every entry documented (Table 1 columns), with one source and a token budget.

    `tokens` is the entry's budget (Table 1's #Tokens; its proportion column is each budget's share of
    their sum). A source is `path` (local .jsonl or .jsonl.gz) or `hub`: {dataset, split, and optionally
    revision, config (the dataset's configuration name) and messages_field (default "messages")}.
    """
    if not entries:
        raise ValueError(f"{key}: the mixture is empty")
    names = [entry.get("name") for entry in entries]
    for i, entry in enumerate(entries):
        where = f"{key}[{i}] ({entry.get('name', '?')})"
        if missing := [k for k in ENTRY_KEYS if k not in entry]:
            raise ValueError(f"{where}: missing {missing}")
        if ("path" in entry) == ("hub" in entry):
            raise ValueError(f"{where}: needs exactly one of 'path' or 'hub'")
        if "hub" in entry and not {"dataset", "split"} <= set(entry["hub"]):
            raise ValueError(f"{where}: 'hub' needs 'dataset' and 'split'")
        if not isinstance(entry["tokens"], int) or entry["tokens"] < 1:
            raise ValueError(f"{where}: tokens {entry['tokens']!r} is not a token budget (a positive integer)")
        if names.count(entry["name"]) > 1:
            raise ValueError(f"{where}: the name is used twice (statistics are kept per name)")


def split_validation(records: Sequence[dict], fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """(train, validation), about `fraction` of the records held out.

    Whole conversations are held out, every copy at once, so that an upsampled record never sits on
    both sides and validation loss measures unseen conversations.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"validation fraction {fraction} is not in (0, 1)")
    copies: dict[str, list[dict]] = {}
    for record in records:
        copies.setdefault(json.dumps(record["messages"], sort_keys=True), []).append(record)
    conversations = list(copies)
    random.Random(seed).shuffle(conversations)
    target = max(1, round(fraction * len(records)))
    train: list[dict] = []
    val: list[dict] = []
    for conversation in conversations:
        (val if len(val) < target else train).extend(copies[conversation])
    if not train:
        raise ValueError(f"{len(records)} records are too few to hold out {target} for validation")
    return train, val

"""Atomic and deterministic file writing (amalia_wf.io)."""

from __future__ import annotations

import gzip
import json

import pytest

from amalia_wf.io import atomic_path, read_json, read_jsonl_gz, write_json, write_jsonl_gz

RECORDS = [
    {"id": "a", "text": "Educação, ação e coração — «aspas» e emoji 🇵🇹", "metadata": {"n": 1, "z": None}},
    {"text": "segunda linha\ncom quebra", "id": "b", "metadata": {"url": "https://www.publico.pt/x"}},
    {"id": "c", "text": "", "metadata": {}},
]


def test_jsonl_gz_is_byte_identical_across_writes(tmp_path):
    first, second = tmp_path / "one.jsonl.gz", tmp_path / "sub" / "two.jsonl.gz"
    assert write_jsonl_gz(first, RECORDS) == 3
    assert write_jsonl_gz(second, iter(RECORDS)) == 3
    data = first.read_bytes()
    assert data == second.read_bytes()
    # gzip header: mtime 0 and no embedded file name (FLG has no FNAME bit)
    assert data[4:8] == b"\0\0\0\0"
    assert data[3] & 0x08 == 0


def test_jsonl_gz_round_trips_unicode(tmp_path):
    path = tmp_path / "docs.jsonl.gz"
    write_jsonl_gz(path, RECORDS)
    assert list(read_jsonl_gz(path)) == RECORDS
    raw = gzip.decompress(path.read_bytes()).decode("utf-8")
    assert "Educação" in raw  # written as UTF-8, not \u escapes
    lines = raw.split("\n")
    assert lines[-1] == "" and len(lines) == 4
    assert lines[1].startswith('{"id":"b","metadata"')  # sorted keys, compact separators


def test_empty_jsonl_gz(tmp_path):
    path = tmp_path / "empty.jsonl.gz"
    assert write_jsonl_gz(path, []) == 0
    assert list(read_jsonl_gz(path)) == []


def test_atomic_path_leaves_nothing_when_block_raises(tmp_path):
    final = tmp_path / "out" / "file.txt"
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(final) as tmp:
            assert tmp.parent == final.parent and tmp != final
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert not final.exists()
    assert list(final.parent.iterdir()) == []


def test_atomic_path_keeps_previous_file_when_block_raises(tmp_path):
    final = tmp_path / "file.txt"
    final.write_text("old")
    with pytest.raises(ValueError):
        with atomic_path(final) as tmp:
            tmp.write_text("new")
            raise ValueError
    assert final.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


def test_write_jsonl_gz_failing_generator_leaves_no_file(tmp_path):
    path = tmp_path / "docs.jsonl.gz"

    def records():
        yield RECORDS[0]
        raise OSError("disk went away")

    with pytest.raises(OSError, match="disk went away"):
        write_jsonl_gz(path, records())
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_replaces_on_success(tmp_path):
    final = tmp_path / "file.txt"
    final.write_text("old")
    with atomic_path(final) as tmp:
        tmp.write_text("new")
        assert final.read_text() == "old"  # not visible until the block ends
    assert final.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


def test_write_json_round_trip(tmp_path):
    path = tmp_path / "stats.json"
    obj = {"b": [1, 2], "a": "ação"}
    write_json(path, obj)
    assert read_json(path) == obj
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n") and "ação" in text
    assert json.loads(text) == obj
    assert text.index('"a"') < text.index('"b"')

"""One filter job (amalia_wf.data.shard.ShardProcessor) on several worker processes: the same bytes
as on one, with the damaged and unreadable files counted the same way; under `fail` the error
raised in a worker names the file."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest

from amalia_wf.data.shard import ShardProcessor
from amalia_wf.data.synthetic import collection_pages, write_warc
from amalia_wf.data.warc import UnreadableArchive
from tests.test_config import load, merge

OUTPUTS = ("docs", "excluded", "signatures", "stats")


@pytest.fixture(scope="module")
def archives(tmp_path_factory) -> list[tuple[int, str]]:
    """Five synthetic WARCs (the fourth cut inside its last record) and a zero-length one."""
    root = tmp_path_factory.mktemp("warcs")
    files = []
    for i in range(5):
        path = root / f"part-{i:05d}.warc.gz"
        write_warc(path, collection_pages("synth", i, 11, 12), "synth", i, 11, truncate_last=i == 3)
        files.append((i, str(path)))
    (root / "empty.warc.gz").write_bytes(b"")
    return files[:2] + [(5, str(root / "empty.warc.gz"))] + files[2:]


def data_config(on_unreadable: str) -> dict:
    return merge(load("config.yaml")["data"], {"on_unreadable": on_unreadable})


def run(files: list[tuple[int, str]], out_dir: Path, workers: int, on_unreadable: str = "skip") -> dict:
    out = {name: str(out_dir / f"shard.{name}") for name in OUTPUTS}
    out_dir.mkdir()
    return ShardProcessor(data_config(on_unreadable)).run("synth", files, out, workers)


def digests(out_dir: Path) -> dict[str, str]:
    return {name: hashlib.sha256((out_dir / f"shard.{name}").read_bytes()).hexdigest() for name in OUTPUTS}


def test_workers_write_the_same_bytes_as_one_process(archives, tmp_path):
    one = run(archives, tmp_path / "one", workers=1)
    assert one["kept"] > 20 and one["read"]["files"] == 6
    assert (one["read"]["files_skipped"], one["read"]["corrupt"]) == (1, 1)  # the empty file; the cut record
    for workers in (2, 3):
        stats = run(archives, tmp_path / f"w{workers}", workers=workers)
        assert digests(tmp_path / f"w{workers}") == digests(tmp_path / "one"), workers
        assert stats == one
    # The documents come in file order, each file's in record order.
    keys = [json.loads(line)["metadata"]["doc_key"] for line in gzip.open(tmp_path / "w3/shard.docs", "rt")]
    assert keys == sorted(keys)


def test_an_unreadable_file_in_a_worker_fails_the_job_naming_it(archives, tmp_path):
    with pytest.raises(UnreadableArchive, match=r"empty\.warc\.gz.*data\.on_unreadable"):
        run(archives, tmp_path / "fail", workers=2, on_unreadable="fail")

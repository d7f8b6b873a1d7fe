"""Benchmark sources: local overrides, checksummed downloads over real HTTP, clear failures."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from amalia_wf.evaluate.sources import SourceError, fetch


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "www"
    root.mkdir()
    (root / "items.json").write_text('[{"question": "Qual?"}]')
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_local_path_is_copied(tmp_path: Path) -> None:
    src = tmp_path / "fixture"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "a.json").write_text("[]")
    out = fetch("pt_e", {"path": str(src)}, tmp_path / "raw")
    assert (out / "sub" / "a.json").read_text() == "[]"


def test_missing_local_path_names_task_and_path(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"benchmark pt_e: local path .*nowhere does not exist"):
        fetch("pt_e", {"path": str(tmp_path / "nowhere")}, tmp_path / "raw")
    assert not (tmp_path / "raw").exists() and not (tmp_path / "raw.tmp").exists()


def test_download_checks_the_checksum(server: str, tmp_path: Path) -> None:
    good = hashlib.sha256(b'[{"question": "Qual?"}]').hexdigest()
    out = fetch("pt_e", {"url": f"{server}/items.json", "sha256": good}, tmp_path / "raw")
    assert (out / "items.json").read_bytes() == b'[{"question": "Qual?"}]'


def test_checksum_mismatch_names_the_source_and_leaves_nothing(server: str, tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "old.json").write_text("kept until a fetch succeeds")
    with pytest.raises(SourceError, match=r"benchmark frmt: url http://127\.0\.0\.1:\d+/items\.json: .*does not match"):
        fetch("frmt", {"url": f"{server}/items.json", "sha256": "0" * 64}, tmp_path / "raw")
    assert (tmp_path / "raw" / "old.json").exists() and not (tmp_path / "raw.tmp").exists()


def test_unreachable_source_names_it(server: str, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"benchmark frmt: url .*/absent\.tsv: download of .* failed"):
        fetch("frmt", {"url": f"{server}/absent.tsv", "sha256": "0" * 64}, tmp_path / "raw")


def test_unpinned_download_records_the_checksum_it_got(server: str, tmp_path: Path) -> None:
    out = fetch("pt_e", {"url": f"{server}/items.json", "sha256": None}, tmp_path / "raw")
    record = json.loads((out / "SOURCE.lock").read_text())
    assert record["sha256"] == {"items.json": hashlib.sha256(b'[{"question": "Qual?"}]').hexdigest()}

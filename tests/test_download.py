"""Resumable, checksummed downloads against a real local HTTP server with Range support."""

from __future__ import annotations

import hashlib
import random
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from amalia_wf.data.download import ChecksumMismatch, download, sha256_of

DATA = random.Random(20240101).randbytes(3 * 1024 * 1024 + 12345)
SHA = hashlib.sha256(DATA).hexdigest()
MB = 1 << 20


class Handler(BaseHTTPRequestHandler):
    """/ok.warc.gz honours `Range: bytes=N-`; /norange ignores it; /flaky drops the first transfer
    half-way, /broken every one; /busy answers 503 with Retry-After: 1 once; /error always answers
    500; /missing 404. Every request is logged as (path, Range header)."""

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        server = self.server
        with server.lock:
            server.requests.append((self.path, self.headers.get("Range")))
            nth = sum(1 for p, _ in server.requests if p == self.path)
        if self.path == "/error":
            self.send_error(500, "boom")
            return
        if self.path == "/missing":
            self.send_error(404, "no such file")
            return
        if self.path == "/busy" and nth == 1:
            self.send_response(503)
            self.send_header("Retry-After", "1")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/broken" or (self.path == "/flaky" and nth == 1):
            self.send_response(200)
            self.send_header("Content-Length", str(len(DATA)))
            self.end_headers()
            self.wfile.write(DATA[: len(DATA) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        rng = self.headers.get("Range")
        if rng and self.path != "/norange":
            match = re.fullmatch(r"bytes=(\d+)-", rng)
            assert match, rng
            start = int(match[1])
            if start >= len(DATA):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(DATA)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(DATA) - 1}/{len(DATA)}")
        else:
            start = 0
            self.send_response(200)
        body = DATA[start:]
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.requests = []
    httpd.lock = threading.Lock()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def url(server, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def test_fresh_download(server, tmp_path):
    dest = tmp_path / "col" / "a.warc.gz"
    download(url(server, "/ok.warc.gz"), dest, SHA, retries=1)
    assert dest.read_bytes() == DATA
    assert sha256_of(dest) == SHA
    assert not (tmp_path / "col" / "a.warc.gz.part").exists()
    assert server.requests == [("/ok.warc.gz", None)]


def test_partial_file_is_resumed_with_range(server, tmp_path):
    dest = tmp_path / "a.warc.gz"
    part = tmp_path / "a.warc.gz.part"
    part.write_bytes(DATA[:MB])
    download(url(server, "/ok.warc.gz"), dest, SHA, retries=1)
    assert server.requests == [("/ok.warc.gz", "bytes=1048576-")]
    assert dest.read_bytes() == DATA
    assert not part.exists()


def test_server_ignoring_range_restarts_the_file(server, tmp_path):
    dest = tmp_path / "a.warc.gz"
    part = tmp_path / "a.warc.gz.part"
    part.write_bytes(b"x" * MB)  # would corrupt the result if appended to
    download(url(server, "/norange"), dest, SHA, retries=1)
    assert server.requests == [("/norange", "bytes=1048576-")]
    assert dest.read_bytes() == DATA
    assert not part.exists()


def test_complete_partial_file_gets_416_and_is_kept(server, tmp_path):
    dest = tmp_path / "a.warc.gz"
    (tmp_path / "a.warc.gz.part").write_bytes(DATA)
    download(url(server, "/ok.warc.gz"), dest, SHA, retries=1)
    assert server.requests == [("/ok.warc.gz", f"bytes={len(DATA)}-")]
    assert dest.read_bytes() == DATA
    assert not (tmp_path / "a.warc.gz.part").exists()


def test_wrong_checksum_raises_and_removes_partial(server, tmp_path):
    dest = tmp_path / "a.warc.gz"
    wrong = hashlib.sha256(b"something else").hexdigest()
    target = url(server, "/ok.warc.gz")
    with pytest.raises(ChecksumMismatch) as info:
        download(target, dest, wrong, retries=1)
    assert target in str(info.value)
    assert SHA in str(info.value) and wrong in str(info.value)
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []


def test_interrupted_transfer_is_retried_from_where_it_stopped(server, tmp_path):
    dest = tmp_path / "a.warc.gz"
    download(url(server, "/flaky"), dest, SHA, retries=2)
    assert len(server.requests) == 2
    assert server.requests[0] == ("/flaky", None)
    path, rng = server.requests[1]
    start = int(re.fullmatch(r"bytes=(\d+)-", rng)[1])
    assert 0 < start <= len(DATA) // 2  # continued, not restarted
    assert dest.read_bytes() == DATA
    assert not (tmp_path / "a.warc.gz.part").exists()


def test_server_error_raises_after_retries(server, tmp_path):
    dest = tmp_path / "a.warc.gz"
    target = url(server, "/error")
    with pytest.raises(RuntimeError, match="after 2 attempts") as info:
        download(target, dest, SHA, retries=2)  # urllib3 retries the first failure at once
    assert not isinstance(info.value, ChecksumMismatch)
    assert target in str(info.value)
    assert "500" in str(info.value)
    assert server.requests == [("/error", None), ("/error", None)]
    assert list(tmp_path.iterdir()) == []


def test_503_waits_for_retry_after_then_succeeds(server, tmp_path):
    dest = tmp_path / "a.warc.gz"
    start = time.monotonic()
    download(url(server, "/busy"), dest, SHA, retries=2)
    assert time.monotonic() - start >= 1.0  # Retry-After: 1 honoured (urllib3 would otherwise retry at once)
    assert server.requests == [("/busy", None), ("/busy", None)]
    assert dest.read_bytes() == DATA


def test_404_is_not_retried(server, tmp_path):
    target = url(server, "/missing")
    with pytest.raises(RuntimeError, match="404") as info:
        download(target, tmp_path / "a.warc.gz", SHA, retries=5)
    assert target in str(info.value) and "attempts" not in str(info.value)
    assert server.requests == [("/missing", None)]
    assert list(tmp_path.iterdir()) == []


def test_transfer_breaking_off_every_time_raises_and_keeps_the_part(server, tmp_path):
    with pytest.raises(RuntimeError, match="broke off 2 times"):
        download(url(server, "/broken"), tmp_path / "a.warc.gz", SHA, retries=2)
    assert [p for p, _ in server.requests] == ["/broken", "/broken"]
    assert (tmp_path / "a.warc.gz.part").exists() and not (tmp_path / "a.warc.gz").exists()  # a rerun resumes

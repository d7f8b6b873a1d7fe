"""A real OpenAI-compatible HTTP server with scripted misbehaviour, for the judge client tests.

POST /v1/chat/completions. The behaviour of a request is taken from the first queue in
`script` whose tag occurs in the last message's content (each request pops one); when no queue
matches (or it is empty) `default` applies. Behaviours are strings:

    ok              200, content = {"score": 7, "echo": <last message>} as JSON text
    slow:S          sleep S seconds, then ok (longer than the client timeout = a timeout)
    429:S           429 with `Retry-After: S`
    429             429 without Retry-After
    500, 503, 400   that status with a JSON error body
    echo_auth_400   400 whose body repeats the Authorization header (a server that leaks the key back)
    content:TEXT    200, the message content is TEXT verbatim (malformed JSON answers)
    garbage         200 with a body that is not JSON

Every request is recorded (path, Authorization header, body, behaviour) before it is answered.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class JudgeServer(ThreadingHTTPServer):
    daemon_threads = True  # a handler sleeping past a killed client must not block shutdown

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.script: dict[str, deque[str]] = {}
        self.default = "ok"
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.requests)

    def queue(self, tag: str, behaviours: Iterable[str]) -> None:
        with self.lock:
            self.script.setdefault(tag, deque()).extend(behaviours)

    def _choose(self, last: str) -> str:
        with self.lock:
            for tag, pending in self.script.items():
                if tag in last and pending:
                    return pending.popleft()
            return self.default

    def start(self) -> JudgeServer:
        # A short poll interval: shutdown() waits up to one interval, once per test.
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: JudgeServer
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do (the client reuses connections)

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            headers = {"Content-Type": "application/json", **(headers or {})}
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out or was killed meanwhile
            self.close_connection = True

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if self.path != "/v1/chat/completions":
            self._send(404, b'{"error": "not found"}')
            return
        messages = body.get("messages") or [{}]
        last = str(messages[-1].get("content", ""))
        behaviour = self.server._choose(last)
        with self.server.lock:
            self.server.requests.append({"path": self.path, "authorization": self.headers.get("Authorization"),
                                         "body": body, "behaviour": behaviour})
        kind, _, arg = behaviour.partition(":")
        if kind == "slow":
            time.sleep(float(arg))
            kind = "ok"
        if kind == "ok":
            self._completion(json.dumps({"score": 7, "echo": last}, ensure_ascii=False), body)
        elif kind == "content":
            self._completion(arg, body)
        elif kind == "garbage":
            self._send(200, b"<html>502 Bad Gateway from a proxy</html>", {"Content-Type": "text/html"})
        elif kind == "429":
            self._send(429, b'{"error": "rate limited"}', {"Retry-After": arg} if arg else None)
        elif kind == "echo_auth_400":
            self._send(400, json.dumps({"error": f"bad request; you sent {self.headers.get('Authorization')}"}).encode())
        elif kind.isdigit():
            self._send(int(kind), json.dumps({"error": f"scripted {kind}"}).encode())
        else:
            raise ValueError(f"unknown behaviour {behaviour!r}")

    def _completion(self, content: str, request: dict[str, Any]) -> None:
        answer = {
            "id": f"cmpl-{self.server.count}",
            "object": "chat.completion",
            "model": request.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
        self._send(200, json.dumps(answer, ensure_ascii=False).encode("utf-8"))


def serve() -> JudgeServer:
    """A started server; call .stop() when done."""
    return JudgeServer().start()

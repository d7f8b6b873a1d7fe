"""LLM-judge calls against any OpenAI-compatible chat endpoint (vLLM serving an open judge, or a hosted API).

Judged evaluations send thousands of calls to a server that times out, rate-limits and restarts,
from jobs that may be killed. Transport and retries are the official `openai` client's: timeouts,
connection errors, 408, 409, 429 and 5xx are retried `max_retries` times, waiting as the server's
Retry-After says (up to 2 minutes; a longer one is not retried) or else 0.5 s doubling to 8 s,
up to a quarter shorter at random; other 4xx fail at once. A 200 whose body is not a completion
(a proxy's error page, a server restarting mid-response) is raised as a transport error, so it is
retried the same way. A call that still fails returns None and keeps its reason, so callers record
"missing", never a score. Every answer is cached on disk, one atomically written file per call
keyed by a hash of what was sent, so a rerun after a kill sends only the calls that were not
answered yet. Failures are not cached: the rerun retries them.

The API key is read only from the environment variable named in the config (never from
OPENAI_API_KEY); it is sent only as a Bearer header, and scrubbed from every recorded error (a
server may echo the request back).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import openai

from amalia_wf.io import read_json, write_json

log = logging.getLogger(__name__)

Message = Mapping[str, Any]
ERROR_BODY_CHARS = 300  # enough of an error body to see why, short enough for a log line
# openai insists on a key; a server started without one (vLLM's default) ignores the header, and
# vLLM's own examples send this. Passing it also stops openai from reading OPENAI_API_KEY.
NO_KEY = "EMPTY"


@dataclass(frozen=True)
class JudgeConfig:
    base_url: str  # up to and including /v1, e.g. http://localhost:8000/v1
    model: str
    api_key_env: str | None = None  # NAME of the variable holding the key; None: the endpoint needs none
    temperature: float = 0.0
    max_tokens: int = 1024
    timeout_s: float = 120.0  # per attempt (connect, and each read)
    max_retries: int = 5  # retries after the first attempt
    concurrency: int = 4  # threads in map()
    cache_dir: str | None = None  # None: no cache (ad-hoc use only; workflows should set it)

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"judge.base_url must be an http(s) URL, got {self.base_url!r}")
        if self.max_retries < 0 or self.concurrency < 1 or self.timeout_s <= 0:
            raise ValueError("judge: max_retries >= 0, concurrency >= 1 and timeout_s > 0 required")

    @classmethod
    def from_dict(cls, cfg: Mapping[str, Any]) -> JudgeConfig:
        """From a config section; unknown keys are an error naming them (a typo must not be silently ignored)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise ValueError(f"judge config: unknown key(s) {unknown}; known: {sorted(known)}")
        return cls(**cfg)


@dataclass
class JudgeResult:
    text: str | None  # the answer's content; None when the call failed
    error: str | None = None  # why it failed (last attempt's reason), key scrubbed
    attempts: int = 0  # HTTP requests sent for this call (0 when cached)
    cached: bool = False
    key: str = ""  # cache key: sha256 of the request

    @property
    def ok(self) -> bool:
        return self.text is not None


class MalformedCompletion(httpx2.DecodingError):
    """A 2xx whose body is not a chat completion. A RequestError, so openai retries it like a dropped connection."""


def _require_completion_body(response: httpx2.Response) -> None:
    if not response.is_success:
        return
    response.read()
    try:
        response.json()["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise MalformedCompletion(f"malformed response body: {response.text[:ERROR_BODY_CHARS]!r}",
                                  request=response.request) from None


def _reason(exc: openai.APIError) -> str:
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}: {exc.response.text[:ERROR_BODY_CHARS]}"
    cause = f" ({type(exc.__cause__).__name__}: {exc.__cause__})" if exc.__cause__ else ""
    return f"{type(exc).__name__}: {exc}{cause}"


class JudgeClient:
    def __init__(self, config: JudgeConfig | Mapping[str, Any]) -> None:
        self.config = config if isinstance(config, JudgeConfig) else JudgeConfig.from_dict(config)
        self._api_key: str | None = None
        if self.config.api_key_env:
            key = os.environ.get(self.config.api_key_env)
            if not key:
                raise KeyError(f"judge: environment variable {self.config.api_key_env} (the API key) is not set")
            self._api_key = key
        self.cache_dir = Path(self.config.cache_dir) if self.config.cache_dir else None
        self.failures: list[JudgeResult] = []  # every call that returned None, in completion order
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._local = threading.local()  # requests sent by this thread's current call (httpx2 hooks run in it)
        http = openai.DefaultHttpxClient(event_hooks={"request": [self._count_attempt],
                                                      "response": [_require_completion_body]})
        # One client for all threads: httpx2's connection pool is thread-safe.
        self._openai = openai.OpenAI(base_url=self.config.base_url, api_key=self._api_key or NO_KEY,
                                     timeout=self.config.timeout_s, max_retries=self.config.max_retries,
                                     http_client=http)

    def __repr__(self) -> str:  # never the key
        return f"JudgeClient(base_url={self.config.base_url!r}, model={self.config.model!r})"

    # -- requests --------------------------------------------------------------------------------

    def payload(self, messages: Sequence[Message], **extra: Any) -> dict[str, Any]:
        """The request body; `extra` (top_p, seed, response_format, ...: chat.completions.create
        parameters) overrides the defaults."""
        return {
            "model": self.config.model,
            "messages": [dict(m) for m in messages],
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
            **extra,
        }

    def cache_key(self, payload: Mapping[str, Any]) -> str:
        """sha256 over the endpoint and the whole body (model, messages, sampling parameters)."""
        canonical = json.dumps(
            {"base_url": self.config.base_url.rstrip("/"), "payload": payload},
            sort_keys=True, ensure_ascii=False, separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def cache_path(self, key: str) -> Path | None:
        # Two-character fan-out keeps directories small at a few hundred thousand calls.
        return self.cache_dir / key[:2] / f"{key}.json" if self.cache_dir else None

    def _read_cache(self, key: str) -> str | None:
        path = self.cache_path(key)
        if path is None or not path.exists():
            return None
        try:
            entry = read_json(path)
        except (OSError, ValueError) as exc:  # files are written atomically, so only a hand edit gets here
            log.warning("judge cache file %s unreadable (%s); calling again", path, exc)
            return None
        text = entry.get("text") if isinstance(entry, dict) else None
        return text if isinstance(text, str) else None

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text

    def _count_attempt(self, request: httpx2.Request) -> None:
        self._local.attempts += 1

    def _send(self, payload: Mapping[str, Any]) -> tuple[str | None, str, dict[str, Any]]:
        """(text, error, response metadata) after openai's retries; text None when the call failed for good."""
        try:
            completion = self._openai.chat.completions.create(**payload)
        except openai.APIError as exc:
            return None, self._scrub(_reason(exc)), {}
        choice = completion.choices[0]
        if not isinstance(choice.message.content, str):
            # Deterministic (e.g. a content filter): the same request would get the same answer.
            return None, f"no text content (finish_reason={choice.finish_reason!r})", {}
        usage = completion.usage.model_dump() if completion.usage else None
        meta = {"id": completion.id, "model": completion.model, "finish_reason": choice.finish_reason, "usage": usage}
        return choice.message.content, "", meta

    # -- public API ------------------------------------------------------------------------------

    def call(self, messages: Sequence[Message], **extra: Any) -> JudgeResult:
        """One judged call: cached answer, or the endpoint with retries. Never raises for HTTP trouble."""
        payload = self.payload(messages, **extra)
        key = self.cache_key(payload)
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        # Identical concurrent calls wait for the first one and then read its cached answer,
        # instead of paying twice (and racing on the same cache file).
        with key_lock:
            text = self._read_cache(key)
            if text is not None:
                return JudgeResult(text=text, cached=True, key=key)
            self._local.attempts = 0
            text, error, meta = self._send(payload)
            attempts = self._local.attempts
            if text is not None:
                path = self.cache_path(key)
                if path is not None:
                    write_json(path, {"key": key, "base_url": self.config.base_url, "request": payload,
                                      "text": text, "response": meta, "attempts": attempts})
                return JudgeResult(text=text, attempts=attempts, key=key)
        result = JudgeResult(text=None, error=error, attempts=attempts, key=key)
        log.error("judge call %s failed after %d attempt(s): %s", key[:12], attempts, error)
        with self._lock:
            self.failures.append(result)
        return result

    def complete(self, messages: Sequence[Message], **extra: Any) -> str | None:
        """The answer's text, or None after the final failure (the reason is in `failures`)."""
        return self.call(messages, **extra).text

    def map(self, list_of_messages: Sequence[Sequence[Message]], **extra: Any) -> list[JudgeResult]:
        """Many calls on `concurrency` threads; results in input order. Each answer is cached as
        soon as it arrives, so a kill mid-batch loses only the calls in flight."""
        if not list_of_messages:
            return []
        with ThreadPoolExecutor(max_workers=min(self.config.concurrency, len(list_of_messages))) as pool:
            return list(pool.map(lambda messages: self.call(messages, **extra), list_of_messages))

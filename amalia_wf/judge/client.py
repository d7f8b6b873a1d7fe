"""LLM-judge calls against any OpenAI-compatible chat endpoint (vLLM serving an open judge, or a hosted API).

Judged evaluations send thousands of calls to a server that times out, rate-limits and restarts,
from jobs that may be killed. So: transient failures (timeouts, connection errors, 429, 5xx, a
garbled body) are retried with exponential backoff; other 4xx fail at once; a call that still
fails returns None and keeps its reason, so callers record "missing", never a score. Every
answer is cached on disk, one atomically written file per call keyed by a hash of what was sent,
so a rerun after a kill sends only the calls that were not answered yet. Failures are not cached:
the rerun retries them.

The API key is read from the environment variable named in the config; it is sent only as a
Bearer header, and scrubbed from every recorded error (a server may echo the request back).
"""

from __future__ import annotations

import dataclasses
import email.utils
import hashlib
import json
import logging
import os
import random
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from amalia_wf.io import read_json, write_json

log = logging.getLogger(__name__)

Message = Mapping[str, Any]
ERROR_BODY_CHARS = 300  # enough of an error body to see why, short enough for a log line


@dataclass(frozen=True)
class JudgeConfig:
    base_url: str  # up to and including /v1, e.g. http://localhost:8000/v1
    model: str
    api_key_env: str | None = None  # NAME of the variable holding the key; None: no Authorization header
    temperature: float = 0.0
    max_tokens: int = 1024
    timeout_s: float = 120.0  # per attempt (connect, and each read)
    max_retries: int = 5  # retries after the first attempt
    backoff_s: float = 1.0  # wait before the first retry; doubles each retry
    backoff_max_s: float = 120.0  # cap on any wait, Retry-After included
    jitter: float = 0.0  # waits are stretched by up to this fraction, drawn from random.Random(seed)
    seed: int = 0
    concurrency: int = 4  # threads in map()
    cache_dir: str | None = None  # None: no cache (ad-hoc use only; workflows should set it)

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"judge.base_url must be an http(s) URL, got {self.base_url!r}")
        if self.max_retries < 0 or self.concurrency < 1 or self.timeout_s <= 0 or self.backoff_s < 0:
            raise ValueError("judge: max_retries >= 0, concurrency >= 1, timeout_s > 0 and backoff_s >= 0 required")

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


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class _Fatal(Exception):
    pass


def _retry_after_s(value: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date (RFC 9110 allows both)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class JudgeClient:
    def __init__(self, config: JudgeConfig | Mapping[str, Any]) -> None:
        self.config = config if isinstance(config, JudgeConfig) else JudgeConfig.from_dict(config)
        self.url = self.config.base_url.rstrip("/") + "/chat/completions"
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
        self._local = threading.local()  # one requests.Session per thread: Session is not thread-safe
        self._rng = random.Random(self.config.seed)

    def __repr__(self) -> str:  # never the key
        return f"JudgeClient(url={self.url!r}, model={self.config.model!r})"

    # -- requests --------------------------------------------------------------------------------

    def payload(self, messages: Sequence[Message], **extra: Any) -> dict[str, Any]:
        """The request body; `extra` (top_p, seed, response_format, ...) overrides the defaults."""
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

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _attempt(self, payload: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        try:
            resp = self._session().post(self.url, json=payload, headers=headers, timeout=self.config.timeout_s)
        except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise _Retryable(f"{type(exc).__name__}: {exc}") from None
        except requests.RequestException as exc:  # invalid URL and the like: retrying cannot help
            raise _Fatal(f"{type(exc).__name__}: {exc}") from None
        status = resp.status_code
        if status == 429 or status == 408 or status >= 500:  # 408: the server's own timeout, transient like ours
            raise _Retryable(f"HTTP {status}: {resp.text[:ERROR_BODY_CHARS]}", _retry_after_s(resp.headers.get("Retry-After")))
        if status >= 300:
            raise _Fatal(f"HTTP {status}: {resp.text[:ERROR_BODY_CHARS]}")
        try:
            body = resp.json()
            choice = body["choices"][0]
            content = choice["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            # A 200 whose body is not a completion: a proxy or a server restart mid-response; transient.
            raise _Retryable(f"malformed response body: {resp.text[:ERROR_BODY_CHARS]!r}") from None
        if not isinstance(content, str):
            # Deterministic (e.g. a content filter): the same request would get the same answer.
            raise _Fatal(f"no text content (finish_reason={choice.get('finish_reason')!r})")
        meta = {"id": body.get("id"), "model": body.get("model"), "finish_reason": choice.get("finish_reason"),
                "usage": body.get("usage")}
        return content, meta

    def backoff_delay(self, retry: int, retry_after: float | None = None) -> float:
        """Wait before retry number `retry` (1-based): Retry-After if the server sent one, else
        backoff_s * 2**(retry-1) stretched by the jitter; never above backoff_max_s."""
        if retry_after is not None:
            return min(retry_after, self.config.backoff_max_s)
        delay = self.config.backoff_s * 2 ** (retry - 1)
        if self.config.jitter:
            with self._lock:
                delay *= 1 + self.config.jitter * self._rng.random()
        return min(delay, self.config.backoff_max_s)

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
            error = ""
            attempts = 0
            for attempts in range(1, self.config.max_retries + 2):
                try:
                    text, meta = self._attempt(payload)
                except _Fatal as exc:
                    error = self._scrub(str(exc))
                    break
                except _Retryable as exc:
                    error = self._scrub(str(exc))
                    if attempts > self.config.max_retries:
                        break
                    delay = self.backoff_delay(attempts, exc.retry_after)
                    log.warning("judge call %s attempt %d/%d failed: %s; retrying in %.2fs",
                                key[:12], attempts, self.config.max_retries + 1, error, delay)
                    time.sleep(delay)
                    continue
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

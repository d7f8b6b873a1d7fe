"""The judge client against a real local HTTP server (tests/judge_server.py), and the answer parsers."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import openai._base_client
import pytest

from amalia_wf.judge import parse_json_answer, parse_rubric_score
from amalia_wf.judge.client import NO_KEY, JudgeClient, JudgeConfig, JudgeResult
from tests.conftest import REPO
from tests.judge_server import JudgeServer, serve

KEY_ENV = "AMALIA_TEST_JUDGE_KEY"
SENTINEL = "sk-SENTINEL-d0n0tl3ak-8f3a"


@pytest.fixture(autouse=True)
def short_backoff(monkeypatch):
    """openai waits 0.5 s doubling to 8 s between retries (module constants, no client option): 10 ms here."""
    monkeypatch.setattr(openai._base_client, "INITIAL_RETRY_DELAY", 0.01)
    monkeypatch.setattr(openai._base_client, "MAX_RETRY_DELAY", 0.01)


@pytest.fixture
def server() -> Iterator[JudgeServer]:
    srv = serve()
    yield srv
    srv.stop()


def make_client(server: JudgeServer, tmp_path: Path, **overrides) -> JudgeClient:
    cfg = {"base_url": server.base_url, "model": "judge-test", "timeout_s": 5, "max_retries": 3,
           "cache_dir": str(tmp_path / "cache"), **overrides}
    return JudgeClient(cfg)


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "És um avaliador."}, {"role": "user", "content": text}]


def cache_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache").rglob("*.json"))


# -- client ------------------------------------------------------------------------------------


def test_success_then_cache_hit_sends_nothing(server, tmp_path):
    client = make_client(server, tmp_path)
    first = client.call(user("avalia isto"))
    assert first.ok and first.attempts == 1 and not first.cached
    assert json.loads(first.text) == {"score": 7, "echo": "avalia isto"}
    assert server.count == 1
    assert server.requests[0]["body"]["temperature"] == 0 and server.requests[0]["body"]["model"] == "judge-test"

    again = make_client(server, tmp_path)  # a new process would see the same: the cache is on disk
    assert again.complete(user("avalia isto")) == first.text
    assert again.call(user("avalia isto")).cached
    assert server.count == 1
    # Anything that changes the request changes the key.
    again.complete(user("avalia isto"), temperature=0.7)
    again.complete(user("avalia isto"), seed=3)
    assert server.count == 3
    assert len(cache_files(tmp_path)) == 3


def test_map_is_ordered_concurrent_and_sends_duplicates_once(server, tmp_path):
    server.default = "slow:0.2"
    client = make_client(server, tmp_path, concurrency=4)
    # The twins start together (first 4 of 4 threads), so without deduplication both would be sent.
    batch = [user("item 0"), user("item 0"), user("item 1"), user("item 1")] + [user(f"item {i}") for i in range(2, 8)]
    start = time.monotonic()
    results = client.map(batch)
    elapsed = time.monotonic() - start
    assert [json.loads(r.text)["echo"] for r in results] == [m[-1]["content"] for m in batch]
    assert server.count == 8  # a duplicate waits for its twin and reads the cache
    assert elapsed < 8 * 0.2  # concurrent, not serial (serial: 1.6 s; 4 threads: about 0.6 s)
    assert client.map([]) == []


def test_timeout_then_success(server, tmp_path):
    server.queue("lento", ["slow:1.5"])
    client = make_client(server, tmp_path, timeout_s=0.3)
    start = time.monotonic()
    result = client.call(user("lento"))
    assert result.ok and result.attempts == 2
    assert time.monotonic() - start < 1.5  # gave up on the slow attempt instead of waiting it out
    assert server.count == 2


def test_429_with_retry_after_and_500_are_retried(server, tmp_path):
    server.queue("ocupado", ["429:1", "500", "503"])
    client = make_client(server, tmp_path)
    start = time.monotonic()
    result = client.call(user("ocupado"))
    assert result.ok and result.attempts == 4
    assert time.monotonic() - start >= 1.0  # Retry-After: 1 honoured, not the 0.01 s backoff
    assert server.count == 4
    assert client.failures == []


def test_garbled_body_is_retried(server, tmp_path):
    server.queue("proxy", ["garbage"])
    result = make_client(server, tmp_path).call(user("proxy"))
    assert result.ok and result.attempts == 2


def test_retries_exhausted_is_missing_not_cached(server, tmp_path):
    server.queue("falha", ["500"] * 3 + ["429"])
    client = make_client(server, tmp_path, max_retries=3)
    result = client.call(user("falha"))
    assert result == JudgeResult(text=None, error=result.error, attempts=4, cached=False, key=result.key)
    assert result.error.startswith("HTTP 429")  # the last attempt's reason
    assert client.complete(user("falha")) is not None  # not cached: this call reached the server again
    assert client.failures == [result]
    assert server.count == 5
    assert client.cache_path(result.key).exists()  # now answered, so now cached


def test_connection_refused_is_missing(tmp_path):
    srv = serve()
    url = srv.base_url
    srv.stop()  # nothing listens there any more
    client = JudgeClient({"base_url": url, "model": "m", "max_retries": 2, "cache_dir": str(tmp_path / "cache")})
    assert client.complete(user("x")) is None
    assert client.failures[0].attempts == 3 and "ConnectionError" in client.failures[0].error
    assert cache_files(tmp_path) == []


def test_400_is_not_retried(server, tmp_path):
    server.queue("mau", ["400"])
    client = make_client(server, tmp_path, max_retries=5)
    result = client.call(user("mau"))
    assert result.text is None and result.attempts == 1 and "HTTP 400" in result.error
    assert server.count == 1 and cache_files(tmp_path) == []


def test_malformed_answer_is_returned_and_parsed_by_fallbacks(server, tmp_path):
    server.queue("tortos", ["content:Claro! Aqui está a avaliação:\n```json\n{'score': 4, 'reason': 'fluente',}\n```"])
    server.queue("prosa", ["content:A tradução é fiel ao original. Pontuação: 9"])
    client = make_client(server, tmp_path)
    crooked, prose = client.complete(user("tortos")), client.complete(user("prosa"))
    assert parse_json_answer(crooked) == {"score": 4, "reason": "fluente"}
    assert parse_json_answer(prose, bounds={"score": (1, 10)}) == {"score": 9}
    assert parse_json_answer(prose, bounds={"score": (1, 5)}) is None


def test_key_from_env_sent_as_bearer_and_never_written(server, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)  # urllib3's connection logging included
    monkeypatch.setenv(KEY_ENV, SENTINEL)
    server.queue("instavel", ["500"])
    server.queue("eco", ["echo_auth_400"])
    client = make_client(server, tmp_path, api_key_env=KEY_ENV)
    assert client.complete(user("normal")) and client.complete(user("instavel"))
    assert client.complete(user("eco")) is None
    assert {r["authorization"] for r in server.requests} == {f"Bearer {SENTINEL}"}
    assert "***" in client.failures[0].error  # the server echoed the key back; it was scrubbed
    assert caplog.text and SENTINEL not in caplog.text
    for path in cache_files(tmp_path):
        assert SENTINEL not in path.read_text()
    assert KEY_ENV in repr(client.config) and SENTINEL not in repr(client.config) + repr(client)
    assert SENTINEL not in repr(client.failures)


def test_retry_after_over_two_minutes_is_missing_at_once(server, tmp_path):
    server.queue("amanha", ["429:600"])  # openai will not sleep 10 minutes inside one call
    result = make_client(server, tmp_path).call(user("amanha"))
    assert result.text is None and result.attempts == 1 and result.error.startswith("HTTP 429")


def test_without_api_key_env_openai_key_is_not_sent(server, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SENTINEL)
    monkeypatch.setenv("OPENAI_ADMIN_KEY", SENTINEL)
    assert make_client(server, tmp_path).complete(user("sem chave"))
    assert server.requests[0]["authorization"] == f"Bearer {NO_KEY}"


def test_config(monkeypatch, tmp_path):
    cfg = JudgeConfig.from_dict({"base_url": "http://h:8000/v1", "model": "google/gemma-3-27b-it"})
    assert (cfg.temperature, cfg.concurrency, cfg.api_key_env) == (0.0, 4, None)
    with pytest.raises(ValueError, match="temprature"):
        JudgeConfig.from_dict({"base_url": "http://h/v1", "model": "m", "temprature": 0})
    with pytest.raises(ValueError, match="base_url"):
        JudgeConfig(base_url="localhost:8000", model="m")
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(KeyError, match=KEY_ENV):
        JudgeClient({"base_url": "http://h/v1", "model": "m", "api_key_env": KEY_ENV})


BATCH_SCRIPT = """
import json, logging, sys
from amalia_wf.io import write_json
from amalia_wf.judge.client import JudgeClient
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
cfg, n, out = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
results = JudgeClient(cfg).map([[{"role": "user", "content": f"item {i}"}] for i in range(n)])
write_json(out, [r.__dict__ for r in results])
"""


def test_kill_mid_batch_then_rerun_sends_only_unanswered(server, tmp_path):
    n, concurrency = 15, 3
    server.default = "slow:0.3"
    cfg = {"base_url": server.base_url, "model": "m", "api_key_env": KEY_ENV, "concurrency": concurrency,
           "timeout_s": 5, "cache_dir": str(tmp_path / "cache")}
    env = {**os.environ, KEY_ENV: SENTINEL, "PYTHONPATH": str(REPO)}
    out = tmp_path / "results.json"
    cmd = [sys.executable, "-c", BATCH_SCRIPT, json.dumps(cfg), str(n), str(out)]

    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while len(cache_files(tmp_path)) < 2 * concurrency:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    _, killed_log = proc.communicate()
    assert proc.returncode == -signal.SIGKILL and not out.exists()
    time.sleep(0.3)  # let the server record requests that were in flight at the kill
    answered = {json.loads(p.read_text())["request"]["messages"][-1]["content"] for p in cache_files(tmp_path)}
    sent_before = server.count
    assert len(answered) <= sent_before <= len(answered) + concurrency
    assert len(answered) < n

    rerun = subprocess.run(cmd, check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert rerun.returncode == 0, rerun.stderr
    rerun_sent = [r["body"]["messages"][-1]["content"] for r in server.requests[sent_before:]]
    assert sorted(rerun_sent) == sorted({f"item {i}" for i in range(n)} - answered)  # each unanswered once
    assert server.count <= n + concurrency

    results = json.loads(out.read_text())
    assert [json.loads(r["text"])["echo"] for r in results] == [f"item {i}" for i in range(n)]
    assert sum(r["cached"] for r in results) == len(answered)
    assert len(cache_files(tmp_path)) == n
    for text in (killed_log, rerun.stderr, *(p.read_text() for p in cache_files(tmp_path))):
        assert SENTINEL not in text
    assert f"POST {server.base_url}/chat/completions" in rerun.stderr  # the log did capture the HTTP traffic


# -- parsers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"score": 7, "reason": "ok"}', {"score": 7, "reason": "ok"}),
        ('```json\n{"score": 3}\n```', {"score": 3}),
        ('```\n{"score": 2, "reason": "x"}\n```', {"score": 2, "reason": "x"}),
        ('Eis a avaliação:\n{"reason": "texto {claro}", "score": 5}\nObrigado.', {"reason": "texto {claro}", "score": 5}),
        ("The answer's fine. {\"score\": 5}", {"score": 5}),
        ("{'score': 4, 'reason': 'bom',}", {"score": 4, "reason": "bom"}),
        ('{"score": 6, "ok": true,}', {"score": 6, "ok": True}),
        ('Formato: {"score": <1-10>}. Resposta: {"score": 4}', {"score": 4}),  # restated format skipped
        ('{"outer": {"score": 8}}', {"score": 8}),  # nested object with the field
        ("A resposta é boa. Pontuação: 8", {"score": 8}),
        ('"score": 9, "reason": "cut off', {"score": 9}),
        ("score = 2", {"score": 2}),
        ("**Nota:** 7,5", {"score": 7.5}),
        ("Score: 3 at first, but on reflection score: 6", {"score": 6}),
        ('{"reason": "no score here"}', None),
        ("underscore: 5", None),
        ("I cannot judge this.", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_json_answer(text, expected):
    assert parse_json_answer(text) == expected


def test_parse_json_answer_bounds_and_fields():
    assert parse_json_answer('{"score": 11}', bounds={"score": (1, 10)}) is None
    assert parse_json_answer('{"score": "7"}', bounds={"score": (1, 10)}) == {"score": 7}
    assert parse_json_answer('{"score": true}', bounds={"score": (0, 1)}) is None
    assert parse_json_answer('{"score": "bom"}', bounds={"score": (1, 10)}) is None
    assert parse_json_answer('{"correct": false}', required=("correct",)) == {"correct": False}
    assert parse_json_answer('{"a": 1, "b": 2}', required=("a", "b")) == {"a": 1, "b": 2}
    assert parse_json_answer("fluency: 4, adequacy: 3", required=("fluency", "adequacy")) == {"fluency": 4, "adequacy": 3}
    assert parse_json_answer("fluency: 4", required=("fluency", "adequacy")) is None
    assert parse_json_answer("Pontuação: 8", aliases={}) is None  # aliases off: only the field's own name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A resposta é correta e fluente.\nPontuação global: 4", 4),
        ("Reasoning: mostly right.\nGlobal score: 4/5", 4),
        ("**Pontuação global:** 5", 5),
        ("Pontuação global: **3**", 3),
        ("Nota final (1-5): [[3]]", 3),
        ('{"reasoning": "...", "score": 2}', 2),
        ("Avaliação: a resposta tem 2 erros graves, 1 ligeiro. Pontuação: 2", 2),
        ("Score: 3. Revendo tudo... Final score: 5", 5),
        ("Pontuação: 4,5", 4.5),
        ("Considerando os 3 critérios, dou 4.", 4),
        ("Numa escala de 1 a 5, a resposta merece 4/5", 4),
        ("Pontuação global: 7", None),  # labelled but out of range: not some other number
        ("Score: 0", None),
        ("Datas erradas: 1990 e 2003.", None),
        ("", None),
    ],
)
def test_parse_rubric_score(text, expected):
    assert parse_rubric_score(text, 1, 5) == expected

"""API-only models (the P3B3 paper's Sabiá-4 and Gemini-3 Flash) answer P3B3 through an OpenAI-compatible
endpoint with the judge's client: against the local server of tests/judge_server.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from amalia_wf.evaluate.models import ModelSpec
from amalia_wf.genbench.p3b3 import GENERATION_FAILED
from amalia_wf.genbench.p3b3_aggregate import summary
from amalia_wf.genbench.workflow import generate, generation_settings, score_variety
from amalia_wf.io import read_json, read_jsonl_gz
from tests.conftest import REPO
from tests.judge_server import serve

CONFIG = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
PROMPTS = REPO / "data" / "eval_fixtures" / "p3b3"
FAILING = "Onde é que guardo os bolos"  # dialogue f1, turn 2 (of 3), in every setting
LATER = "Como explico aos meus amigos"  # f1, turn 3: never asked while turn 2 has no answer


@pytest.fixture
def server():
    server = serve()
    yield server
    server.stop()


def test_api_model_answers_p3b3_cached_and_a_failed_turn_is_missing(server, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TEST_API_KEY", "sk-test")
    api = {"base_url": server.base_url, "model": "sabia-4", "api_key_env": "TEST_API_KEY", "max_retries": 1, "timeout_s": 20, "concurrency": 2}
    spec = ModelSpec("api-model", "closed_source", True, "Sabiá-4", api=api)
    settings = generation_settings(CONFIG["genbench"], "p3b3")
    out, info_out, cache = tmp_path / "responses.jsonl.gz", tmp_path / "generation.json", str(tmp_path / "cache")
    server.queue(FAILING, ["500"] * 6)  # the first try and the one retry, in each of the 3 settings

    assert generate("p3b3", spec, None, str(PROMPTS), str(out), str(info_out), settings, "api", cache) == 3 * 11
    records = list(read_jsonl_gz(out))
    missing = [r for r in records if r["response"] is None]
    assert {(r["dialogue_id"], r["turn"]) for r in missing} == {("f1", 2), ("f1", 3)} and len(missing) == 6
    assert all(isinstance(r["response"], str) and r["model"] == "api-model" for r in records if r not in missing)
    bodies = [r["body"] for r in server.requests]
    assert not any(LATER in b["messages"][-1]["content"] for b in bodies)
    assert all(r["authorization"] == "Bearer sk-test" for r in server.requests)
    assert {(b["model"], b["temperature"], b["max_tokens"]) for b in bodies} == {("sabia-4", 0.0, settings["max_new_tokens"])}
    # A later turn carries the model's own earlier answer; the pt-PT instruction is in the first user turn.
    f0 = next(b for b in bodies if b["messages"][-1]["content"].startswith("E se levar") and "europeu" in b["messages"][0]["content"])
    assert [m["role"] for m in f0["messages"]] == ["user", "assistant", "user"] and f0["messages"][1]["content"].startswith('{"score"')
    info = read_json(info_out)
    assert (info["backend"], info["api_calls_failed"], info["n_missing"], info["n_records"]) == ("api", 3, 6, 33)

    # Every scorer counts those turns missing, never as a score.
    scored = tmp_path / "variety.jsonl.gz"
    score_variety(str(out), str(scored), CONFIG["data"]["language_id"])
    rows = list(read_jsonl_gz(scored))
    assert sum(r["status"] == GENERATION_FAILED and r["score"] is None for r in rows) == 6
    assert set(summary(rows)["n_missing"]) == {2}

    # A rerun sends only the calls without an answer: the failed turns, then the turns after them.
    sent = server.count
    generate("p3b3", spec, None, str(PROMPTS), str(out), str(info_out), settings, "api", cache)
    resent = [r["body"]["messages"][-1]["content"] for r in server.requests[sent:]]
    assert len(resent) == 6 and sorted(FAILING in t for t in resent) == [False] * 3 + [True] * 3
    assert all(r["response"] is not None for r in read_jsonl_gz(out))


def test_api_model_answers_p3b3_only(tmp_path: Path):
    spec = ModelSpec("api-model", "closed_source", True, None, api={"base_url": "http://127.0.0.1:9/v1", "model": "m"})
    with pytest.raises(ValueError, match="api-model: an API model answers P3B3 only, not 'alba'"):
        generate("alba", spec, None, str(tmp_path), str(tmp_path / "o"), str(tmp_path / "i"), {"max_new_tokens": 8}, "api", str(tmp_path))

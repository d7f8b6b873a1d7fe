"""ALBA: prompt loading, few-shot selection (incl. regenerating the authors' fewshot_samples.csv), judge prompt, scores."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from amalia_wf.genbench import alba
from amalia_wf.genbench.scores import aggregate, final_answer, rescale
from tests.conftest import REPO

FIXTURE = REPO / "data/eval_fixtures/alba"
UPSTREAM = Path("/work/shared/benchmarks/alba")  # AMALIA-LLM/alba-benchmark@244a802 (not committed here)


# --------------------------------------------------------------------------- prompts


def test_fixture_prompts_load_in_hub_schema():
    prompts = alba.load_prompts(FIXTURE / "prompts")
    assert [(p["id"], p["category"]) for p in prompts] == [
        (1, "Lexicology"), (2, "Lexicology"), (3, "Lexicology"), (101, "Syntax"), (102, "Syntax"), (103, "Syntax"),
    ]
    assert prompts[0]["prompt"] == "Indica três palavras da família de «mar»."
    # The real set has 100 per category: a partial download must not pass silently.
    with pytest.raises(ValueError, match="expected 3 prompts per category"):
        alba.load_prompts(FIXTURE / "prompts", expected_per_category=3)


def test_parquet_snapshot_reads_like_the_fixture(tmp_path):
    # The hub ships `prompts/train-00000-of-00001.parquet`; a snapshot directory is read recursively.
    rows = alba.load_prompts(FIXTURE / "prompts")
    (tmp_path / "prompts").mkdir()
    pd.DataFrame(rows).to_parquet(tmp_path / "prompts" / "train-00000-of-00001.parquet")
    assert alba.load_prompts(tmp_path) == rows


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"id": 1, "category": "Grammar", "prompt": "x"}, "unknown category"),
        ({"id": 1, "category": "Syntax", "prompt": ""}, "missing"),
    ],
)
def test_bad_prompt_records_are_errors(tmp_path, row, message):
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        alba.load_prompts(path)


def test_duplicate_ids_within_a_category_are_errors(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps({"id": 7, "category": "Syntax", "prompt": p}) for p in "ab"), encoding="utf-8")
    with pytest.raises(ValueError, match="duplicate id 7"):
        alba.load_prompts(path)


# --------------------------------------------------------------------------- few-shot selection


@pytest.mark.parametrize("objective", ["upstream", "offdiag"])
def test_select_dissimilar_by_hand(objective):
    # Two identical texts; the other three share no word with anything. Every 3-subset without
    # both copies has similarity 0: C(5,3) - 3 = 7 ties, and the first in lexicographic order wins.
    texts = ["gato preto", "gato preto", "cão branco", "peixe azul", "ave verde"]
    chosen = alba.select_dissimilar(texts, k=3, objective=objective)
    assert chosen.indices == (0, 2, 3)
    assert chosen.mean_similarity == pytest.approx(0.0, abs=1e-12)
    assert chosen.n_tied == 7


def test_fewshot_table_on_the_fixture_by_hand():
    table = alba.fewshot_table(FIXTURE / "judge_train")
    assert list(table.columns) == list(alba.FEWSHOT_COLUMNS)
    # Lexicology: ids 12 and 13 have the same best answer, so one must go; the tie goes to the
    # first subset, which drops 13. Syntax: 12 shares «complemento», «direto», «pelo» with 11 and
    # «que» with 14; 11, 13, 14, 15 share no word of 2+ characters (similarity exactly 0).
    assert table.groupby("category")["id"].apply(list).to_dict() == {
        "Lexicology": [11, 12, 14, 15],
        "Syntax": [11, 13, 14, 15],
    }
    shots = alba.fewshots_by_category(table)
    assert [a for _, a in shots["Syntax"][0]["answers"]] == [5, 3, 1]


@pytest.mark.skipif(not (UPSTREAM / "judge_train").is_dir(), reason="upstream ALBA copy not available")
def test_regenerates_the_authors_fewshot_samples_exactly():
    ours = alba.fewshot_table(UPSTREAM / "judge_train")
    theirs = pd.read_csv(UPSTREAM / "fewshot_samples.csv")
    key = ["category", "id"]
    # Same rows and cells; upstream lists categories in its directory-listing order, hence the sort.
    pd.testing.assert_frame_equal(
        ours.sort_values(key).reset_index(drop=True), theirs.sort_values(key).reset_index(drop=True), check_dtype=False
    )
    assert len(ours) == 32 and set(ours["category"]) == set(alba.CATEGORIES)


@pytest.mark.skipif(not (UPSTREAM / "judge_train").is_dir(), reason="upstream ALBA copy not available")
def test_the_one_tie_in_the_authors_selection_is_broken_by_rounding():
    # Culture-Bound Semantics: three one-word best answers share no token with anything, so 17
    # subsets have similarity 0 and upstream's choice (id 12) comes from ~1e-16 diagonal rounding;
    # an exact off-diagonal sum takes the first tied subset (id 11). All other categories agree.
    frame = alba.read_graded_csv(UPSTREAM / "judge_train" / "Culture-Bound Semantics.csv")
    answers = frame["Answer A (5)"].tolist()
    upstream, exact = alba.select_dissimilar(answers), alba.select_dissimilar(answers, objective="offdiag")
    assert upstream.n_tied == 17
    assert frame["id"].iloc[list(upstream.indices)].tolist() == [12, 22, 23, 24]
    assert frame["id"].iloc[list(exact.indices)].tolist() == [11, 22, 23, 24]
    a = alba.fewshot_table(UPSTREAM / "judge_train").sort_values(["category", "id"]).reset_index(drop=True)
    b = alba.fewshot_table(UPSTREAM / "judge_train", objective="offdiag").sort_values(["category", "id"])
    differs = a[a["id"].to_numpy() != b["id"].to_numpy()]
    assert differs["category"].tolist() == ["Culture-bound Semantics"]


# --------------------------------------------------------------------------- judge prompt and scores


def _fixture_fewshots() -> dict:
    return alba.fewshots_by_category(alba.fewshot_table(FIXTURE / "judge_train"))


def test_judge_prompt_has_rubric_fewshots_and_the_final_answer():
    record = {"id": 101, "category": "Syntax", "prompt": "Identifica o sujeito.", "response": "<think>hmm</think>O sujeito é «Os alunos»."}
    [message] = alba.judge_messages(record, _fixture_fewshots())
    text = message["content"]
    assert message["role"] == "user"
    assert "«Syntax»" in text and "português do Brasil" in text and "Completude" in text
    assert text.count("### Exemplo") == 4
    assert text.count("Pontuação global: 5\n") == 4  # each few-shot's best answer
    assert "Pontuação global: 4.0" not in text  # ratings stored as floats upstream are shown as integers
    assert text.endswith("Pedido: Identifica o sujeito.\nResposta: O sujeito é «Os alunos».")
    assert "hmm" not in text
    with pytest.raises(KeyError, match="Morphology"):
        alba.judge_messages({**record, "category": "Morphology"}, _fixture_fewshots())


def test_scores_by_hand_with_failures_missing_not_one():
    records = [
        {"id": 1, "category": "Lexicology", "prompt": "p", "response": "r"},
        {"id": 2, "category": "Lexicology", "prompt": "p", "response": "r"},
        {"id": 3, "category": "Lexicology", "prompt": "p", "response": "r"},
        {"id": 101, "category": "Syntax", "prompt": "p", "response": "r"},
        {"id": 102, "category": "Syntax", "prompt": "p", "response": "r"},
    ]
    answers = [
        "Raciocínio: correta e completa.\nPontuação global: 5",
        "Raciocínio: usa «você».\n**Pontuação Global:** 3",
        None,  # the judge failed for good
        "Raciocínio: errada.\nPontuação global: 2",
        "Não consigo avaliar esta resposta.",  # no score in it
    ]
    judged = alba.score_answers(records, answers)
    assert [r["score"] for r in judged] == [5, 3, None, 2, None]
    assert [r["status"] for r in judged] == ["ok", "ok", "judge_failed", "ok", "unparseable"]
    summary = alba.summarize_alba(judged)
    # Lexicology: (5 + 3) / 2 = 4 -> (4 - 1) / 4 * 100 = 75 (upstream's "failure = 1" would give 50).
    assert summary["groups"]["Lexicology"] == {"mean": 75.0, "stderr": 25.0, "n": 2, "n_missing": 1, "n_total": 3}
    # Syntax: 2 -> 25.
    assert summary["groups"]["Syntax"] == {"mean": 25.0, "stderr": None, "n": 1, "n_missing": 1, "n_total": 2}
    # Overall over all scored items: (5 + 3 + 2) / 3 = 10/3 -> (10/3 - 1) / 4 * 100 = 58.33...
    assert summary["overall"]["mean"] == pytest.approx(175 / 3)
    assert summary["overall"]["n"] == 3 and summary["overall"]["n_missing"] == 2
    assert summary["missing_reasons"] == {"judge_failed": 1, "unparseable": 1}


def test_shared_helpers_by_hand():
    assert rescale(1, 1, 5) == 0.0 and rescale(5, 1, 5) == 100.0 and rescale(3.5, 1, 5) == 62.5
    assert rescale(None, 1, 5) is None
    agg = aggregate([4.0, None, float("nan"), 2.0])  # NaN: a None after a CSV round trip
    assert (agg.mean, agg.n, agg.n_missing) == (3.0, 2, 2)
    assert aggregate([]).mean is None
    assert final_answer("<think>a</think>\n b ") == "b" and final_answer("raciocínio</think>resposta") == "resposta"


def test_generation_goes_through_the_chat_template(monkeypatch):
    # Upstream generated local models from the raw prompt; ours must ask for the chat template.
    from amalia_wf.genbench import scores
    from amalia_wf.generation import GenerationSettings

    calls = []

    def fake_generate(model_path, conversations, settings):
        calls.append((model_path, conversations, settings))
        return [[f"resposta {i}"] for i in range(len(conversations))]

    monkeypatch.setattr(scores, "generate", fake_generate)
    prompts = alba.load_prompts(FIXTURE / "prompts")[:2]
    out = alba.generate_responses("modelo", prompts)
    [(path, conversations, settings)] = calls
    assert path == "modelo"
    assert conversations == [[{"role": "user", "content": p["prompt"]}] for p in prompts]
    assert settings == GenerationSettings(max_new_tokens=1024) and settings.chat_template and not settings.sampling
    assert [r["response"] for r in out] == ["resposta 0", "resposta 1"]


# --------------------------------------------------------------------------- through a real HTTP judge


def test_judging_through_a_real_http_judge(tmp_path):
    server_mod = pytest.importorskip("tests.judge_server")
    from amalia_wf.judge.client import JudgeClient

    server = server_mod.serve()
    try:
        server.queue("RESPOSTA-ALFA", ["content:Raciocínio: muito boa.\nPontuação global: 5"])
        server.queue("RESPOSTA-BETA", ["content:Raciocínio: tem formas do Brasil.\nPontuação global: 2"])
        server.queue("RESPOSTA-GAMA", ["503", "503"])  # the only attempt and its one retry both fail
        client = JudgeClient({"base_url": server.base_url, "model": "juiz", "max_retries": 1,
                              "timeout_s": 5, "cache_dir": str(tmp_path / "cache")})
        records = [
            {"id": 1, "category": "Lexicology", "prompt": "p1", "response": "RESPOSTA-ALFA"},
            {"id": 2, "category": "Lexicology", "prompt": "p2", "response": "RESPOSTA-BETA"},
            {"id": 101, "category": "Syntax", "prompt": "p3", "response": "RESPOSTA-GAMA"},
        ]
        judged = alba.judge(records, _fixture_fewshots(), client)
    finally:
        server.stop()
    assert [r["score"] for r in judged] == [5, 2, None]
    assert judged[2]["status"] == "judge_failed" and "503" in judged[2]["judge_error"]
    summary = alba.summarize_alba(judged)
    assert summary["groups"]["Lexicology"]["mean"] == pytest.approx(62.5)  # (3.5 - 1) / 4 * 100
    assert summary["groups"]["Syntax"] == {"mean": None, "stderr": None, "n": 0, "n_missing": 1, "n_total": 1}
    assert server.requests[0]["body"]["messages"][0]["role"] == "user"

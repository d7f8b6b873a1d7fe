"""PT-E open questions: the documented format, the rubric judge prompt, points parsing and scores by hand."""

from __future__ import annotations

import json

import pytest

from amalia_wf.genbench import ptexams_open as pte
from tests.conftest import REPO

FIXTURE = REPO / "data/eval_fixtures/pt_e_open"

ITEM = {
    "year": 2020, "phase": "2.ª fase", "question_group": "I", "question_number": 4,
    "question": "Explica o título.", "rubric": "Nível 2 (6 pontos) ...", "max_points": 6,
}


def test_fixture_loads_with_ids_and_default_context():
    questions = pte.load_questions(FIXTURE)
    assert [q["id"] for q in questions] == ["2021-1-I-1", "2021-1-I-2", "2022-2-II-3", "2023-1-III-1"]
    assert [q["max_points"] for q in questions] == [10, 10, 6, 44]
    assert questions[2]["context"] == "" and questions[0]["context"].startswith("Texto")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rubric": ""}, r"missing \['rubric'\]"),
        ({"max_points": 0}, "max_points must be a positive number"),
        ({"max_points": True}, "max_points must be a positive number"),
        ({"year": "2020"}, "year must be an integer"),
    ],
)
def test_bad_items_are_errors_naming_the_item(tmp_path, change, message):
    path = tmp_path / "q.json"
    path.write_text(json.dumps([ITEM, {**ITEM, "question_number": 5, **change}]), encoding="utf-8")
    with pytest.raises(ValueError, match=f"item 1 .*{message}"):
        pte.load_questions(path)


def test_duplicate_ids_are_errors(tmp_path):
    path = tmp_path / "q.json"
    path.write_text(json.dumps([ITEM, ITEM]), encoding="utf-8")
    with pytest.raises(ValueError, match="duplicate id '2020-2-I-4'"):
        pte.load_questions(path)


def test_model_prompt_puts_the_text_before_the_question():
    q = pte.load_questions(FIXTURE)[0]
    assert pte.question_prompt(q) == q["context"] + "\n\n" + q["question"]
    assert pte.question_prompt({**ITEM, "context": ""}) == "Explica o título."


def test_judge_prompt_carries_question_rubric_and_full_marks():
    q = pte.load_questions(FIXTURE)[0]
    [message] = pte.judge_messages({**q, "response": "<think>rascunho</think>A avó lê as cartas como uma oração."})
    text = message["content"]
    assert message["role"] == "user"
    for part in (q["context"], q["question"], q["rubric"], "Cotação máxima: 10 pontos.", "de 0 a 10", '"pontuacao"'):
        assert part in text
    assert text.index("Texto de apoio") < text.index("Questão:") < text.index("Critérios de classificação")
    assert "A avó lê as cartas como uma oração." in text and "rascunho" not in text
    assert "Texto de apoio" not in pte.judge_messages({**ITEM, "context": "", "response": "x"})[0]["content"]


@pytest.mark.parametrize(
    ("answer", "points"),
    [
        ('{"justificacao": "Nível 2.", "pontuacao": 4}', 4.0),
        ('Segue a avaliação:\n```json\n{"justificacao": "ok", "pontuacao": 5.5}\n```', 5.5),
        ('{"justificação": "ok", "pontuação": "3,5"}', 3.5),  # accents and a decimal comma
        ('{"justificacao": "ok", "pontuacao": 0}', 0.0),  # zero points is a score, not missing
        ('{"justificacao": "ok", "pontuacao": 7}', None),  # above the question's 6 points
        ('{"justificacao": "ok", "pontuacao": -1}', None),
        ("A resposta é razoável.", None),
    ],
)
def test_points_parsing(answer, points):
    assert pte.parse_judge(ITEM, answer) == points


def test_scores_by_hand():
    records = [{**q, "response": "..."} for q in pte.load_questions(FIXTURE)]
    answers = [
        '{"justificacao": "Nível 3 no conteúdo, um erro.", "pontuacao": 7}',  # 7 / 10 -> 70
        None,  # the judge failed for good
        '{"justificacao": "Classificação certa, explicação parcial.", "pontuacao": 3}',  # 3 / 6 -> 50
        "Texto bem estruturado; merece nota alta.",  # no points: unparseable
    ]
    judged = pte.score_answers(records, answers)
    assert [r["score"] for r in judged] == [7.0, None, 3.0, None]
    summary = pte.summarize_open(judged)
    assert summary["overall"] == {"mean": 60.0, "stderr": 10.0, "n": 2, "n_missing": 2, "n_total": 4}
    assert summary["groups"] == {
        "2021": {"mean": 70.0, "stderr": None, "n": 1, "n_missing": 1, "n_total": 2},
        "2022": {"mean": 50.0, "stderr": None, "n": 1, "n_missing": 0, "n_total": 1},
        "2023": {"mean": None, "stderr": None, "n": 0, "n_missing": 1, "n_total": 1},
    }
    assert summary["missing_reasons"] == {"judge_failed": 1, "unparseable": 1}


def test_judging_through_a_real_http_judge(tmp_path):
    server_mod = pytest.importorskip("tests.judge_server")
    from amalia_wf.judge.client import JudgeClient

    questions = pte.load_questions(FIXTURE)[2:4]
    records = [{**questions[0], "response": "RESPOSTA-UM"}, {**questions[1], "response": "RESPOSTA-DOIS"}]
    server = server_mod.serve()
    try:
        server.queue("RESPOSTA-UM", ['content:{"justificacao": "Completa.", "pontuacao": 6}'])
        server.queue("RESPOSTA-DOIS", ['content:{"justificacao": "Fora de escala.", "pontuacao": 50}'])
        client = JudgeClient({"base_url": server.base_url, "model": "juiz", "max_retries": 0,
                              "cache_dir": str(tmp_path / "cache")})
        judged = pte.judge(records, client)
    finally:
        server.stop()
    assert [(r["score"], r["status"]) for r in judged] == [(6.0, "ok"), (None, "unparseable")]
    assert pte.summarize_open(judged)["overall"] == {"mean": 100.0, "stderr": None, "n": 1, "n_missing": 1, "n_total": 2}

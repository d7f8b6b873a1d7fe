"""PT-E open questions: Portuguese-subject national-exam questions graded against the official rubrics (paper §6.2).

The paper uses 336 open questions of the Portuguese exam (2006-2023) with their correction
criteria, graded by an LLM judge; the data are not public, so this module defines the format it
reads. A dataset is a JSON file holding a list of objects (or a directory of such files):

    {
      "year": 2019,                  # exam year (int)
      "phase": "1.ª fase",           # exam phase/call (text or int)
      "question_group": "I",         # group of the exam (text or int)
      "question_number": "2",        # question within the group (text or int)
      "question": "...",             # the question as printed, with its instructions
      "rubric": "...",               # the official correction criteria for it (text: content
                                     #   levels, structure and linguistic correctness, points)
      "max_points": 13,              # the question's full marks (number > 0)
      "context": "...",              # optional: the text or excerpt the question refers to
      "id": "2019-1-I-2"             # optional: default "<year>-<phase>-<group>-<number>"
    }

Generation: one user message (context, blank line, question) through the model's chat template.
Judging: one pt-PT user message with the question, its context, the rubric and the full marks;
the judge answers JSON {"justificacao": ..., "pontuacao": <0..max_points>}, read with
parse_json_answer (bounds enforced). Score = awarded / max_points * 100, averaged over questions;
a judge failure or an unreadable answer is missing (n_missing), never 0 points.

Records: questions as above (id filled in); responses add `response`; judged records add
judge_answer, judge_error, score (points awarded or None) and status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from amalia_wf.genbench.scores import (
    Messages,
    attach_judgements,
    final_answer,
    fraction_to_percent,
    generate_single_turn,
    judge_records,
    read_records,
    summarize,
)
from amalia_wf.generation import GenerationSettings
from amalia_wf.judge.parse import parse_json_answer

REQUIRED = ("year", "phase", "question_group", "question_number", "question", "rubric", "max_points")
SCORE_FIELD = "pontuacao"
# Names a judge may give the points field (it answers in Portuguese, with or without diacritics).
SCORE_ALIASES = {SCORE_FIELD: ("pontuacao", "pontuação", "pontos", "cotacao", "cotação", "score")}
GENERATION = GenerationSettings(max_new_tokens=2048)  # long-form answers (200-300-word essays) must not be cut


def question_id(q: Mapping[str, Any]) -> str:
    phase = str(q["phase"]).split(".")[0].strip()  # "1.ª fase" -> "1"
    return f"{q['year']}-{phase}-{q['question_group']}-{q['question_number']}"


def load_questions(path: str | Path) -> list[dict[str, Any]]:
    """Questions in the documented format; wrong or missing fields are errors naming the item."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, raw in enumerate(read_records(path)):
        missing = [k for k in REQUIRED if raw.get(k) in (None, "")]
        if missing:
            raise ValueError(f"PT-E open item {i} in {path}: missing {missing}")
        points = raw["max_points"]
        if isinstance(points, bool) or not isinstance(points, (int, float)) or points <= 0:
            raise ValueError(f"PT-E open item {i} in {path}: max_points must be a positive number, got {points!r}")
        if not isinstance(raw["year"], int):  # bad data, like the checks above: ValueError, not TypeError
            raise ValueError(  # noqa: TRY004
                f"PT-E open item {i} in {path}: year must be an integer, got {raw['year']!r}"
            )
        q = {**raw, "context": raw.get("context") or "", "id": str(raw.get("id") or question_id(raw))}
        if q["id"] in seen:
            raise ValueError(f"PT-E open {path}: duplicate id {q['id']!r}")
        seen.add(q["id"])
        out.append(q)
    return out


def question_prompt(q: Mapping[str, Any]) -> str:
    """What the model is asked: the exam question, after the text it refers to (if any)."""
    return f"{q['context']}\n\n{q['question']}" if q.get("context") else str(q["question"])


def generate_responses(
    model_path: str, questions: Sequence[Mapping[str, Any]], generation: GenerationSettings = GENERATION
) -> list[dict[str, Any]]:
    answers = generate_single_turn(model_path, [question_prompt(q) for q in questions], generation)
    return [{**q, "response": a} for q, a in zip(questions, answers, strict=True)]


JUDGE_TEMPLATE = """És um professor classificador do Exame Nacional de Português do ensino secundário, em Portugal. Classifica a resposta de um aluno a uma questão de resposta aberta, aplicando estritamente os critérios de classificação oficiais apresentados abaixo.
{context}
Questão:
{question}

Cotação máxima: {max_points} pontos.

Critérios de classificação:
{rubric}

Resposta do aluno:
{response}

Instruções:
- Aplica todos os parâmetros dos critérios (conteúdo e, quando previstos, estruturação do discurso e correção linguística), com os descontos que eles indicam.
- Uma resposta em branco, que não responde à questão ou que não está escrita em português tem 0 pontos.
- A pontuação é um número de 0 a {max_points} (pontos atribuídos em {max_points}).

Responde apenas com um objeto JSON, sem texto antes ou depois:
{{"justificacao": "<justificação breve, com referência aos critérios>", "pontuacao": <pontos atribuídos, de 0 a {max_points}>}}"""


def judge_messages(record: Mapping[str, Any]) -> Messages:
    context = f"\nTexto de apoio:\n{record['context']}\n" if record.get("context") else ""
    content = JUDGE_TEMPLATE.format(
        context=context,
        question=record["question"],
        max_points=_points(record["max_points"]),
        rubric=record["rubric"],
        response=final_answer(record["response"]),
    )
    return [{"role": "user", "content": content}]


def _points(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def parse_judge(record: Mapping[str, Any], answer: str) -> float | None:
    """Points awarded, or None when the answer has no points field within [0, max_points]."""
    parsed = parse_json_answer(
        answer, required=(SCORE_FIELD,), bounds={SCORE_FIELD: (0, record["max_points"])}, aliases=SCORE_ALIASES
    )
    return None if parsed is None else float(parsed[SCORE_FIELD])


def score_answers(records: Sequence[Mapping[str, Any]], answers: Sequence[Any]) -> list[dict[str, Any]]:
    return attach_judgements(records, answers, parse_judge)


def judge(records: Sequence[Mapping[str, Any]], client: Any) -> list[dict[str, Any]]:
    return judge_records(records, judge_messages, parse_judge, client)


def summarize_open(judged: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Mean of awarded / max * 100 over scored questions (overall and per exam year)."""
    return {
        "benchmark": "pt_e_open",
        **summarize(judged, lambda r: fraction_to_percent(r["score"], r["max_points"]), group="year"),
    }

"""P3B3 LLM-as-a-judge: prompt variants, messages, verdict parsing, scored rows.

The P3B3 paper varies three factors (Table 1): prompt language (PT / EN), detail (S = simple,
C = with 11 expert linguistic categories) and scope (ST = the current turn only, D = with the
dialogue history; the paper also writes H). Its headline numbers use PT-C-ST. Variant names are
`<language>-<detail>-<scope>`, e.g. "PT-C-ST", "EN-S-ST", "PT-C-D"; every combination works.

The judge answers JSON {reasoning, score 0 (pt-BR) .. 10 (pt-PT), not_pt, invalid}. The paper
does not print its prompts; the wording and the category examples below are ours, following the
paper's description and its list of categories. The judge sees the benchmark's user turn without
the setting's variety instruction (as in the authors' scripts): it must not be told the target.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from amalia_wf.genbench.p3b3 import JUDGE_FAILED, OK, UNPARSEABLE, answer_text, dialogues, scored_row

Messages = list[dict[str, str]]
DEFAULT_VARIANT = "PT-C-ST"


@dataclass(frozen=True)
class Category:
    name_pt: str
    name_en: str
    pt_pt: str  # what pt-PT does, with examples (examples are always Portuguese)
    pt_br: str
    pt_pt_en: str  # the same in English, for the EN prompts
    pt_br_en: str


# The 11 categories of the paper (pronoun placement, form of address, continuous action, lexicon,
# spelling, subject pronouns, demonstrative proximity, regency of "ir", verb associated with noun,
# morphology, preposition contraction).
CATEGORIES: tuple[Category, ...] = (
    Category(
        "Colocação pronominal", "Pronoun placement",
        'ênclise nas frases afirmativas ("Diz-me a verdade.", "Chamo-me Ana."); próclise só depois de negação, '
        'advérbios e pronomes relativos ("Não me digas.").',
        'próclise quase sempre, mesmo no início da frase ("Me diz a verdade.", "Eu me chamo Ana.").',
        'enclisis in affirmative clauses ("Diz-me a verdade.", "Chamo-me Ana."); proclisis only after negation, '
        'adverbs and relative pronouns ("Não me digas.").',
        'proclisis almost everywhere, even sentence-initially ("Me diz a verdade.", "Eu me chamo Ana.").',
    ),
    Category(
        "Forma de tratamento", "Form of address",
        '"tu" com o verbo na 2.ª pessoa no registo informal ("Sabes onde fica?"); no registo formal, 3.ª pessoa '
        'sem pronome ou com "o senhor/a senhora" ("Sabe onde fica?").',
        '"você" com o verbo na 3.ª pessoa ("Você sabe onde fica?").',
        '"tu" with second-person verbs when informal ("Sabes onde fica?"); when formal, third person without a '
        'pronoun or with "o senhor/a senhora" ("Sabe onde fica?").',
        '"você" with third-person verbs ("Você sabe onde fica?").',
    ),
    Category(
        "Ação contínua", "Continuous action",
        '"estar a" + infinitivo ("Estou a ler o jornal.").',
        '"estar" + gerúndio ("Estou lendo o jornal.").',
        '"estar a" + infinitive ("Estou a ler o jornal.").',
        '"estar" + gerund ("Estou lendo o jornal.").',
    ),
    Category(
        "Léxico e vocabulário", "Lexicon and vocabulary",
        "autocarro, comboio, telemóvel, pequeno-almoço, frigorífico, casa de banho, ecrã, rato, equipa, sumo.",
        "ônibus, trem, celular, café da manhã, geladeira, banheiro, tela, mouse, equipe, suco.",
        "autocarro, comboio, telemóvel, pequeno-almoço, frigorífico, casa de banho, ecrã, rato, equipa, sumo.",
        "ônibus, trem, celular, café da manhã, geladeira, banheiro, tela, mouse, equipe, suco.",
    ),
    Category(
        "Ortografia", "Spelling",
        "facto, receção, económico, género, bebé, húmido, registo, amámos (pretérito).",
        "fato, recepção, econômico, gênero, bebê, úmido, registro, amamos.",
        "facto, receção, económico, género, bebé, húmido, registo, amámos (past tense).",
        "fato, recepção, econômico, gênero, bebê, úmido, registro, amamos.",
    ),
    Category(
        "Pronomes sujeito", "Subject pronouns",
        'sujeito nulo quando já é conhecido ("O João comprou o bilhete e saiu.").',
        'pronome sujeito repetido ("O João comprou o bilhete e ele saiu.").',
        'null subject once it is known ("O João comprou o bilhete e saiu.").',
        'the subject pronoun repeated ("O João comprou o bilhete e ele saiu.").',
    ),
    Category(
        "Proximidade dos demonstrativos", "Demonstrative proximity",
        '"este/esta/neste" para o que está perto de quem fala ("Estou neste café há uma hora.").',
        '"esse/essa/nesse" também para o que está perto ("Estou nesse café faz uma hora.").',
        '"este/esta/neste" for what is near the speaker ("Estou neste café há uma hora.").',
        '"esse/essa/nesse" for what is near as well ("Estou nesse café faz uma hora.").',
    ),
    Category(
        'Regência do verbo "ir"', 'Regency of "ir"',
        '"ir a/para" ("Vou ao mercado.").',
        '"ir em" ("Vou no mercado.").',
        '"ir a/para" ("Vou ao mercado.").',
        '"ir em" ("Vou no mercado.").',
    ),
    Category(
        "Verbo associado ao nome", "Verb associated with the noun",
        '"apanhar o autocarro", "conduzir o carro", "pôr gasolina", "deitar ao lixo".',
        '"pegar o ônibus", "dirigir o carro", "botar gasolina", "jogar no lixo".',
        '"apanhar o autocarro", "conduzir o carro", "pôr gasolina", "deitar ao lixo".',
        '"pegar o ônibus", "dirigir o carro", "botar gasolina", "jogar no lixo".',
    ),
    Category(
        "Morfologia", "Morphology",
        'pronomes clíticos de complemento ("Vi-o ontem.", "Sentei-me na cadeira.").',
        'pronome tónico ou clítico omitido ("Vi ele ontem.", "Sentei na cadeira.").',
        'object clitics ("Vi-o ontem.", "Sentei-me na cadeira.").',
        'a stressed pronoun, or the clitic left out ("Vi ele ontem.", "Sentei na cadeira.").',
    ),
    Category(
        "Contração de preposição", "Preposition contraction",
        '"em" contraído com o artigo indefinido ("Moro num prédio antigo.").',
        '"em" separado do artigo indefinido ("Moro em um prédio antigo.").',
        '"em" contracted with the indefinite article ("Moro num prédio antigo.").',
        '"em" kept apart from the indefinite article ("Moro em um prédio antigo.").',
    ),
)

_TEXT = {
    "pt": {
        "task": (
            "Avalia, numa escala de 0 a 10, em que variedade do português está escrita a resposta abaixo: "
            "0 = inteiramente em português do Brasil (pt-BR), 5 = marcas das duas variedades em igual medida, "
            "10 = inteiramente em português europeu (pt-PT). Analisa a resposta, justifica com exemplos tirados "
            "dela e só depois dá a pontuação."
        ),
        "categories": "Usa o teu conhecimento das duas variedades e, como guia, as seguintes categorias linguísticas:",
        "history": "Diálogo anterior (apenas contexto, não é avaliado):",
        "user": "Pergunta do utilizador:",
        "answer": "Resposta a avaliar:",
        "roles": {"user": "Utilizador", "assistant": "Assistente"},
        "format": (
            "Responde apenas com um objeto JSON com estes campos:\n"
            '{"reasoning": "<justificação com exemplos>", "score": <inteiro de 0 a 10>, '
            '"not_pt": <true se a resposta não estiver predominantemente em português, senão false>, '
            '"invalid": <true se a resposta for incoerente ou repetir excessivamente as mesmas palavras, senão false>}'
        ),
    },
    "en": {
        "task": (
            "Rate, on a scale from 0 to 10, which variety of Portuguese the response below is written in: "
            "0 = entirely Brazilian Portuguese (pt-BR), 5 = markers of both varieties in equal measure, "
            "10 = entirely European Portuguese (pt-PT). Analyse the response, justify with examples taken from it, "
            "and only then give the score."
        ),
        "categories": "Use your knowledge of both varieties and, as a guide, the following linguistic categories:",
        "history": "Earlier dialogue (context only, not rated):",
        "user": "User question:",
        "answer": "Response to rate:",
        "roles": {"user": "User", "assistant": "Assistant"},
        "format": (
            "Answer only with a JSON object with these fields:\n"
            '{"reasoning": "<justification with examples>", "score": <integer from 0 to 10>, '
            '"not_pt": <true if the response is not predominantly in Portuguese, else false>, '
            '"invalid": <true if the response is incoherent or excessively repeats the same words, else false>}'
        ),
    },
}


@dataclass(frozen=True)
class JudgeVariant:
    language: str  # "pt" or "en"
    categories: bool  # C (True) or S
    dialogue: bool  # D (True) or ST

    @classmethod
    def parse(cls, name: str) -> JudgeVariant:
        parts = name.upper().split("-")
        if len(parts) != 3 or parts[0] not in ("PT", "EN") or parts[1] not in ("S", "C") or parts[2] not in ("ST", "D", "H"):
            raise ValueError(f"judge variant {name!r}: expected <PT|EN>-<S|C>-<ST|D>, e.g. {DEFAULT_VARIANT}")
        return cls(parts[0].lower(), parts[1] == "C", parts[2] in ("D", "H"))

    @property
    def name(self) -> str:
        return f"{self.language.upper()}-{'C' if self.categories else 'S'}-{'D' if self.dialogue else 'ST'}"


def _category_block(language: str) -> str:
    lines = []
    for c in CATEGORIES:
        pt, br = (c.pt_pt, c.pt_br) if language == "pt" else (c.pt_pt_en, c.pt_br_en)
        lines.append(f"### {c.name_pt if language == 'pt' else c.name_en}\npt-PT: {pt}\npt-BR: {br}")
    return "\n\n".join(lines)


def judge_prompt(
    variant: JudgeVariant | str, user: str, response: str, history: Sequence[tuple[str, str]] = ()
) -> str:
    """The judge's instruction for one answer. `history`: earlier (user turn, answer) pairs, used by D variants."""
    v = JudgeVariant.parse(variant) if isinstance(variant, str) else variant
    text = _TEXT[v.language]
    parts = [text["task"]]
    if v.categories:
        parts += [text["categories"], _category_block(v.language)]
    if v.dialogue and history:
        roles = text["roles"]
        turns = [f"{roles['user']}: {u}\n{roles['assistant']}: {a}" for u, a in history]
        parts.append(text["history"] + "\n" + "\n\n".join(turns))
    parts += [f"{text['user']}\n{user}", f"{text['answer']}\n{response}", text["format"]]
    return "\n\n".join(parts)


def judge_messages(
    records: Sequence[Mapping[str, Any]], variant: JudgeVariant | str = DEFAULT_VARIANT
) -> list[Messages]:
    """One single-message conversation per record (the history of D variants is taken from the records)."""
    v = JudgeVariant.parse(variant) if isinstance(variant, str) else variant
    groups = dialogues(records) if v.dialogue else {}
    out = []
    for r in records:
        earlier = [e for e in groups.get((r["model"], r["setting"], r["dialogue_id"]), []) if e["turn"] < r["turn"]]
        history = [(e["user"], answer_text(e["response"])) for e in earlier]
        out.append([{"role": "user", "content": judge_prompt(v, r["user"], answer_text(r["response"]), history)}])
    return out


# --------------------------------------------------------------------------- verdicts


def _fallback_parse(text: str, required: Sequence[str] = ("score",), **_: Any) -> dict[str, Any] | None:
    """The first {...} that is JSON with the required fields (used only until amalia_wf.judge.parse lands)."""
    for match in re.finditer(r"\{.*?\}", text, re.DOTALL):
        try:
            obj = json.loads(match.group(0))
        except ValueError:
            continue
        if isinstance(obj, dict) and all(obj.get(f) is not None for f in required):
            return obj
    return None


def _parser() -> Any:
    try:
        from amalia_wf.judge.parse import parse_json_answer
    except ImportError:
        return _fallback_parse
    return parse_json_answer


_TRUE = {"true", "sim", "yes", "1", "verdadeiro"}
_FALSE = {"false", "não", "nao", "no", "0", "falso"}


def _flag(value: Any) -> bool | None:
    """A JSON boolean, or the usual spellings of one; anything else is unknown (None)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        return True if word in _TRUE else False if word in _FALSE else None
    return None


def parse_verdict(text: str | None) -> dict[str, Any] | None:
    """{score (0-10), not_pt, invalid, reasoning} from a judge answer, or None if it has no usable score.

    A flag the judge left out is None (unknown): such an answer still counts as Portuguese and valid.
    """
    if not text:
        return None
    parsed = _parser()(text, required=("score",), bounds={"score": (0, 10)})
    if parsed is None:
        return None
    score = parsed["score"]
    if isinstance(score, str):  # the fallback parser does no conversion
        try:
            score = float(score.replace(",", "."))
        except ValueError:
            return None
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 10:
        return None
    reasoning = parsed.get("reasoning")
    return {
        "score": float(score),
        "not_pt": _flag(parsed.get("not_pt")),
        "invalid": _flag(parsed.get("invalid")),
        "reasoning": reasoning if isinstance(reasoning, str) else None,
    }


def judge_rows(
    records: Sequence[Mapping[str, Any]], answers: Sequence[Any], scorer: str
) -> list[dict[str, Any]]:
    """Scored rows (score x10 -> 0-100) from judge answers: a str, None (the call failed) or a JudgeResult.

    A failed call is judge_failed and an unreadable answer unparseable: both are missing, never a score.
    """
    if len(records) != len(answers):
        raise ValueError(f"{len(records)} records but {len(answers)} judge answers")
    rows = []
    for r, answer in zip(records, answers, strict=True):
        text = answer if answer is None or isinstance(answer, str) else answer.text
        verdict = parse_verdict(text)
        if verdict is None:
            rows.append(scored_row(r, scorer, None, status=JUDGE_FAILED if text is None else UNPARSEABLE, judge_answer=text))
            continue
        rows.append(
            scored_row(
                r, scorer, 10.0 * verdict["score"], status=OK, not_pt=verdict["not_pt"], invalid=verdict["invalid"],
                reasoning=verdict["reasoning"], judge_answer=text,
            )
        )
    return rows


def judge_p3b3(
    records: Sequence[Mapping[str, Any]],
    client: Any,
    variant: JudgeVariant | str = DEFAULT_VARIANT,
    scorer: str | None = None,
) -> list[dict[str, Any]]:
    """Judge every record through `client.map` (an amalia_wf.judge.JudgeClient); scorer defaults to judge:<variant>."""
    v = JudgeVariant.parse(variant) if isinstance(variant, str) else variant
    return judge_rows(records, client.map(judge_messages(records, v)), scorer or f"judge:{v.name}")

"""ALBA: 800 pt-PT linguistics prompts (8 categories x 100) graded 1-5 by an LLM judge (paper §5.3, §6.3).

Data (hub dataset `carminho/alba`, config `prompts`, split `train`; schema inferred from the
upstream repo AMALIA-LLM/alba-benchmark@244a802, which reads `id`, `category` and `prompt`):

    {"id": 1, "category": "Lexicology", "prompt": "Indica três sinónimos de ..."}

Category names are the hub's (those of upstream's `fewshot_samples.csv`), see CATEGORIES; the
judge-training CSVs are named slightly differently on disk (TRAIN_FILE_CATEGORY maps them).

Judge few-shots: upstream's `judge_selection/csvs-train/<Category>.csv` hold 20 prompts per
category, each with three graded answers (columns GRADED_COLUMNS: best = 5, middle = 4-3, worst =
2-1). Per category, the 4 prompts whose best answers are most mutually dissimilar are the
few-shots: TF-IDF (sklearn defaults) of the best answers, exhaustive search over all 4-subsets
for the lowest mean pairwise cosine similarity. `fewshot_table` regenerates upstream's
`fewshot_samples.csv` exactly (tests/test_alba.py), with one subtlety: the objective must be
computed as upstream does, (sum of the 4x4 similarity block - 4) / 12, diagonal included. In
"Culture-Bound Semantics" three best answers ("O pato.", "A ponte.", 'A letra "r".') share no
token with anything (sklearn drops 1-character tokens), so 17 subsets tie at similarity 0 and
the winner is decided by ~1e-16 rounding of the diagonal ones: upstream's id 12, where an exact
off-diagonal sum (objective="offdiag", ties -> first subset) picks id 11. Default: "upstream".

Judging: one user message per (prompt, answer) with our pt-PT wording of the upstream rubric
(accuracy, language quality with pt-BR forms penalised, completeness) and the category's 4
few-shots x 3 graded answers; the judge answers "Raciocínio: ... / Pontuação global: N" and the
score is read with parse_rubric_score(text, 1, 5). Score = (mean - 1) / 4 * 100, per category and
overall (mean over all scored items). Deliberate differences from upstream: a judge that fails
for good is missing (counted in n_missing), not "Pontuação Global: 1"; local models answer
through their chat template (upstream generated them from the raw prompt); reasoning blocks
(<think>) are removed from answers before judging.

Records: prompts {id, category, prompt}; responses add `response`; judged records add
judge_answer, judge_error, score (1-5 or None) and status (ok / judge_failed / unparseable).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from amalia_wf.genbench.scores import (
    Messages,
    attach_judgements,
    final_answer,
    generate_single_turn,
    judge_records,
    read_records,
    rescale,
    summarize,
)
from amalia_wf.generation import GenerationSettings
from amalia_wf.judge.parse import parse_rubric_score

CATEGORIES = (
    "Culture-bound Semantics",
    "Discourse Analysis",
    "Language Variety",
    "Lexicology",
    "Morphology",
    "Phonetics and Phonology",
    "Syntax",
    "Word Plays",
)
# Upstream's judge-training file names differ from the hub category names in two places.
TRAIN_FILE_CATEGORY = {
    "Culture-Bound Semantics": "Culture-bound Semantics",
    "Phonetics & Phonology": "Phonetics and Phonology",
}
GRADED_COLUMNS = ("id", "Prompt", "Answer A (5)", "Rating", "Answer B (4-3)", "Rating.1", "Answer C (2-1)", "Rating.2")
FEWSHOT_COLUMNS = (*GRADED_COLUMNS, "category")
ANSWER_RATING = (("Answer A (5)", "Rating"), ("Answer B (4-3)", "Rating.1"), ("Answer C (2-1)", "Rating.2"))
N_FEWSHOT = 4
SCALE = (1, 5)
GENERATION = GenerationSettings(max_new_tokens=1024)  # upstream: greedy, max_tokens=1024

Objective = Literal["upstream", "offdiag"]


# --------------------------------------------------------------------------- prompts


def load_prompts(path: str | Path, expected_per_category: int | None = None) -> list[dict[str, Any]]:
    """ALBA prompts from a file or a hub snapshot directory; checks fields, categories, duplicates.

    `expected_per_category` (100 for the real set) makes a truncated download an error.
    """
    records = read_records(path)
    out, seen, counts = [], set(), dict.fromkeys(CATEGORIES, 0)
    for i, r in enumerate(records):
        missing = [k for k in ("id", "category", "prompt") if k not in r or r[k] in (None, "")]
        if missing:
            raise ValueError(f"ALBA record {i} in {path}: missing {missing}")
        if r["category"] not in counts:
            raise ValueError(f"ALBA record {i} in {path}: unknown category {r['category']!r}; known: {CATEGORIES}")
        key = (r["category"], r["id"])
        if key in seen:
            raise ValueError(f"ALBA {path}: duplicate id {r['id']!r} in category {r['category']!r}")
        seen.add(key)
        counts[r["category"]] += 1
        out.append({"id": r["id"], "category": r["category"], "prompt": str(r["prompt"])})
    if expected_per_category is not None:
        wrong = {c: n for c, n in counts.items() if n != expected_per_category}
        if wrong:
            raise ValueError(f"ALBA {path}: expected {expected_per_category} prompts per category, got {wrong}")
    return out


def generate_responses(
    model_path: str, prompts: Sequence[Mapping[str, Any]], generation: GenerationSettings = GENERATION
) -> list[dict[str, Any]]:
    """Each prompt record plus the model's answer (through its chat template; see generate_single_turn)."""
    answers = generate_single_turn(model_path, [p["prompt"] for p in prompts], generation)
    return [{**p, "response": a} for p, a in zip(prompts, answers, strict=True)]


# --------------------------------------------------------------------------- few-shot selection


@dataclass(frozen=True)
class Selection:
    indices: tuple[int, ...]  # rows of the input, ascending
    mean_similarity: float
    n_tied: int  # subsets within 1e-12 of the optimum: > 1 means the choice rests on tie-breaking


def select_dissimilar(texts: Sequence[str], k: int = N_FEWSHOT, objective: Objective = "upstream") -> Selection:
    """The k texts with the lowest mean pairwise TF-IDF cosine similarity (exhaustive search).

    `upstream` computes the mean as (sum of the k x k block, diagonal included, - k) / (k(k-1)),
    as upstream does, so ties break on the same rounding; `offdiag` sums the pairs exactly
    (math.fsum), so exact ties go to the first subset in lexicographic order.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    if not 2 <= k <= len(texts):
        raise ValueError(f"cannot choose {k} of {len(texts)} texts")
    sims = cosine_similarity(TfidfVectorizer().fit_transform(list(texts)))
    pairs = k * (k - 1)
    values: list[tuple[float, tuple[int, ...]]] = []
    for combo in combinations(range(len(texts)), k):
        block = sims[np.ix_(combo, combo)]
        if objective == "upstream":
            value = float((block.sum() - k) / pairs)
        elif objective == "offdiag":
            value = 2 * math.fsum(block[i, j] for i in range(k) for j in range(i + 1, k)) / pairs
        else:
            raise ValueError(f"unknown objective {objective!r}")
        values.append((value, combo))
    # min() keeps the first of equal values: the same as upstream's strict "<" scan.
    best_value, best = min(values, key=lambda v: v[0])
    n_tied = sum(1 for v, _ in values if abs(v - best_value) <= 1e-12)
    return Selection(indices=best, mean_similarity=best_value, n_tied=n_tied)


def read_graded_csv(path: str | Path) -> pd.DataFrame:
    frame = pd.read_csv(path)
    missing = [c for c in GRADED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    return frame


def train_category(path: Path) -> str:
    category = TRAIN_FILE_CATEGORY.get(path.stem, path.stem)
    if category not in CATEGORIES:
        raise ValueError(f"{path}: file name does not name an ALBA category ({CATEGORIES})")
    return category


def fewshot_table(train_dir: str | Path, k: int = N_FEWSHOT, objective: Objective = "upstream") -> pd.DataFrame:
    """upstream's fewshot_samples.csv, regenerated from the judge-training CSVs (one per category).

    Rows: categories in file-name order, each category's chosen rows in id order. (Upstream's file
    lists the categories in its directory-listing order; compare after sorting.)
    """
    files = sorted(Path(train_dir).glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"no judge-training CSVs in {train_dir}")
    parts = []
    for f in files:
        frame = read_graded_csv(f)
        chosen = select_dissimilar(frame["Answer A (5)"].astype(str).tolist(), k, objective)
        part = frame.iloc[list(chosen.indices)][list(GRADED_COLUMNS)].copy()
        part["category"] = train_category(f)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _rating(value: Any) -> int | float:
    # Upstream's CSV stores some ratings as 4.0 (a float column); the judge should see "4".
    number = float(value)
    return int(number) if number.is_integer() else number


def fewshots_by_category(table: pd.DataFrame | str | Path) -> dict[str, list[dict[str, Any]]]:
    """{category: [{id, prompt, answers: [(text, rating) x 3]}]} from a few-shot table or its CSV."""
    frame = pd.read_csv(table) if not isinstance(table, pd.DataFrame) else table
    missing = [c for c in FEWSHOT_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"few-shot table: missing columns {missing}")
    out: dict[str, list[dict[str, Any]]] = {}
    for row in frame.to_dict("records"):
        answers = [(str(row[a]), _rating(row[r])) for a, r in ANSWER_RATING]
        out.setdefault(row["category"], []).append({"id": row["id"], "prompt": str(row["Prompt"]), "answers": answers})
    return out


# --------------------------------------------------------------------------- judge


JUDGE_TEMPLATE = """És um avaliador especialista em português europeu. Vais classificar a resposta de um assistente a um pedido da categoria linguística «{category}».

Atribui uma pontuação global de 1 a 5, tendo em conta três critérios:
- Exatidão: a informação e a análise linguística estão corretas?
- Qualidade da língua: o texto está bem estruturado, é claro, não tem erros ortográficos nem gramaticais e está escrito em português europeu? Formas do português do Brasil (vocabulário, ortografia, colocação dos pronomes, gerúndio em vez de «a» + infinitivo, tratamento por «você»), outras línguas e erros penalizam a resposta.
- Completude: a resposta trata tudo o que foi pedido e justifica-o com contexto relevante?

Escala:
1 – Muito má: quase nada está correto; linguagem confusa ou de qualidade muito baixa (português do Brasil, outras línguas, erros ortográficos); quase sem contexto nem justificação, ou irrelevante.
2 – Má: várias imprecisões; texto mal estruturado, pouco claro ou com vários erros (incluindo formas do português do Brasil); muito pouco contexto ou justificação.
3 – Com falhas: alguma informação imprecisa ou incorreta; texto razoavelmente claro, com alguns erros; justificação escassa ou pouco relevante.
4 – Boa: quase sem imprecisões nem erros; texto maioritariamente bem estruturado e claro; alguma justificação relevante.
5 – Muito boa: sem imprecisões nem erros; texto muito bem estruturado, claro, sem formas do português do Brasil; resposta completa, bem justificada e com contexto adicional.

Exemplos de respostas já classificadas:
{fewshots}
Responde exatamente neste formato:
Raciocínio: <a tua análise>
Pontuação global: <número inteiro de 1 a 5>

Agora avalia esta interação:
Pedido: {prompt}
Resposta: {response}"""

FEWSHOT_TEMPLATE = "Pedido: {prompt}\nResposta: {answer}\nPontuação global: {rating}\n"


def format_fewshots(examples: Sequence[Mapping[str, Any]]) -> str:
    blocks = []
    for n, ex in enumerate(examples, 1):
        graded = "\n".join(FEWSHOT_TEMPLATE.format(prompt=ex["prompt"], answer=a, rating=r) for a, r in ex["answers"])
        blocks.append(f"### Exemplo {n}\n{graded}")
    return "\n".join(blocks)


def judge_messages(record: Mapping[str, Any], fewshots: Mapping[str, Sequence[Mapping[str, Any]]]) -> Messages:
    """The judge's single user message for one answered prompt."""
    category = record["category"]
    if not fewshots.get(category):
        raise KeyError(f"no few-shot examples for ALBA category {category!r}")
    content = JUDGE_TEMPLATE.format(
        category=category,
        fewshots=format_fewshots(fewshots[category]),
        prompt=record["prompt"],
        response=final_answer(record["response"]),
    )
    return [{"role": "user", "content": content}]


def parse_judge(_record: Mapping[str, Any], answer: str) -> float | None:
    return parse_rubric_score(answer, *SCALE)


def score_answers(records: Sequence[Mapping[str, Any]], answers: Sequence[Any]) -> list[dict[str, Any]]:
    """Judged records from judge answers already in hand (strings, JudgeResults or None)."""
    return attach_judgements(records, answers, parse_judge)


def judge(
    records: Sequence[Mapping[str, Any]], fewshots: Mapping[str, Sequence[Mapping[str, Any]]], client: Any
) -> list[dict[str, Any]]:
    """Judge every answered prompt with `client` (a JudgeClient)."""
    return judge_records(records, lambda r: judge_messages(r, fewshots), parse_judge, client)


def summarize_alba(judged: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """{overall, groups (per category), missing_reasons}; means on 0-100 ((s - 1) / 4 * 100)."""
    return {"benchmark": "alba", **summarize(judged, lambda r: rescale(r["score"], *SCALE), group="category")}

"""PT-E answer extraction and FRMT's corpus chrF, against hand-computed expectations."""

from __future__ import annotations

import pytest

from amalia_wf.evaluate.answers import ensure_punkt_tab, extract_choice_letter, pheb_scores, subject_key


@pytest.mark.parametrize(
    ("response", "letter"),
    [
        # 1. the first \boxed{A-D} wins, whatever follows; case-insensitive inside the box
        ("A capital é Lisboa, logo a opção correta é \\boxed{B}.", "B"),
        ("Primeiro pensei \\boxed{A}, mas corrijo: \\boxed{C}. D", "A"),
        ("Resposta final: \\boxed{d}", "D"),
        # 2. no box: a letter at the very end (optionally followed by a period)
        ("Analisando as opções, a correta é C.", "C"),
        ("Resposta: B", "B"),
        # 3. neither: the last standalone capital A-D
        ("Hesito entre B e D, mas fico com a segunda opção, sem dúvida", "D"),
        # upstream quirk kept on purpose (rule 2 has no word boundary): "DNA" ends in A
        ("O material genético é o DNA", "A"),
    ],
)
def test_extract_choice_letter(response: str, letter: str) -> None:
    assert extract_choice_letter(response) == letter


@pytest.mark.parametrize("response", ["", "   \n", "Não sei responder a esta pergunta.", "\\boxed{E}", "opção b"])
def test_unanswered_is_wrong(response: str) -> None:
    assert extract_choice_letter(response) is None
    assert pheb_scores("Philosophy", "B", response) == {"acc": 0.0, "acc_philosophy": 0.0}


def test_pheb_scores_count_overall_and_per_subject() -> None:
    assert pheb_scores("History A", "C", "... \\boxed{C}") == {"acc": 1.0, "acc_history_a": 1.0}
    assert pheb_scores("Bio_Geo", "A", "... \\boxed{C}") == {"acc": 0.0, "acc_bio_geo": 0.0}
    assert subject_key("Mathematics A") == "acc_mathematics_a"


def test_punkt_tab_loads_offline() -> None:
    """IFEval's NLTK needs (sentence count, word tokenizer) work without a download."""
    assert ensure_punkt_tab() in {"installed", "bundled"}
    from lm_eval.tasks.ifeval import instructions_util

    assert instructions_util.count_sentences("O Tejo é longo. Nasce em Espanha! Desagua em Lisboa?") == 3
    assert instructions_util.nltk.word_tokenize("Olá MUNDO.") == ["Olá", "MUNDO", "."]


# FRMT's chrF is lm-eval's `chrf` aggregation over (reference, prediction) pairs: sacrebleu CHRF()
# defaults (character n-grams 1-6, whitespace removed, beta 2), statistics summed over the corpus,
# averaging precision and recall over the orders that occur ("effective order"), F_beta at the end.
#   "abc" vs "abd": orders 1-3 occur; P = R = (2/3 + 1/2 + 0) / 3 = 7/18            -> 38.89
#   + "ab" vs "ab" (alone: 100): summed n-gram counts 4/5, 2/3, 0/1                 -> corpus 48.89,
#     not the sentence mean 69.44
#   "" vs "abc" + "abc" vs "abc": P = 1, R = 1/2 at every order, F2 = 5*0.5/4.5       -> 55.56
@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        ([("Deixei o telemóvel no comboio.", "Deixei o telemóvel no comboio.")], 100.0),
        ([("abd", "abc")], 700 / 18),
        ([("abd", "abc"), ("ab", "ab")], 100 * (0.8 + 2 / 3) / 3),
        ([("abc", "")], 0.0),
        ([("abc", ""), ("abc", "abc")], 100 * 2.5 / 4.5),
    ],
)
def test_chrf_is_corpus_level(pairs: list[tuple[str, str]], expected: float) -> None:
    from lm_eval.api.metrics import chrf

    assert chrf(pairs) == pytest.approx(expected)

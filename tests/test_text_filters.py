"""The measuring filters decide exactly like datatrove's stock FineWeb-2 filters."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml
from datatrove.data import Document
from datatrove.utils.word_tokenizers import load_word_tokenizer

from amalia_wf.data.text_filters import (
    QUALITY_FILTERS,
    clean_lines,
    datatrove_filters,
    fast_words,
    gopher_repetition,
    word_splitter,
)

CFG = yaml.safe_load((Path(__file__).parents[1] / "config" / "config.yaml").read_text())["data"]["filters"]
VOCAB = (
    "de a e o em do da que um no uma com para na é foi autocarro comboio telemóvel equipa câmara Lisboa Porto "
    "estava disse-lhe pequeno-almoço económico ténis golo ecrã #tag ... … 2024 10h30 - • ( ) , . ; : ! ? « »"
).split()


def random_text(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(1, 14)):
        line = " ".join(rng.choice(VOCAB) for _ in range(rng.randint(1, 30)))
        if rng.random() < 0.6:
            line += rng.choice([".", "!", "?", "", "..."])
        lines.append(line)
        if rng.random() < 0.2:  # repeated lines and paragraphs exercise the repetition tests
            lines.append(rng.choice(lines))
        if rng.random() < 0.15:
            lines.append("")
    return "\n".join(lines)


def first_failure(text, checks):
    for name, check in checks:
        verdict = check(text)
        if verdict is not None:
            return name, verdict
    return None


def test_decisions_match_stock_datatrove_on_random_texts():
    cfg = {**CFG, "gopher_repetition": {**CFG["gopher_repetition"], "skip_unique_top_ngram": False}}
    words = word_splitter("spacy")
    ours = [(name, lambda t, f=f, n=name: f(t, words(t), cfg[n])[0]) for name, f in QUALITY_FILTERS]
    stock = [(name, lambda t, f=f: None if (v := f.filter(Document(text=t, id="x"))) is True else v[1]) for name, f in datatrove_filters(cfg)]
    rng = random.Random(7)
    texts = [random_text(rng) for _ in range(400)]
    outcomes = [first_failure(t, ours) for t in texts]
    assert outcomes == [first_failure(t, stock) for t in texts]
    # The sample must exercise kept documents and several removal reasons, or the check is hollow.
    reasons = {o for o in outcomes if o}
    assert None in outcomes and len(reasons) >= 6, reasons


def test_fork_skips_top_ngram_test_when_it_occurs_once():
    text = "um dois"  # the only 2-gram covers the whole text: stock datatrove removes it
    words = fast_words(text)
    strict = {**CFG["gopher_repetition"], "skip_unique_top_ngram": False}
    assert gopher_repetition(text, words, strict)[0] == "top_2_gram"
    reason, values = gopher_repetition(text, words, CFG["gopher_repetition"])
    assert reason is None and values["top_2_gram_frac"] == 1.0


def test_values_are_reported_for_kept_documents():
    text = "O autocarro chegou cedo à estação de Lisboa e a equipa seguiu para o Porto.\nDepois disse-lhe que o comboio estava atrasado."
    words = fast_words(text)
    for name, check in QUALITY_FILTERS:
        reason, values = check(text, words, CFG[name])
        assert reason is None and values, name
    assert check(text, words, CFG["gopher_quality"])[1]["n_words"] == 22  # punctuation tokens excluded


@pytest.mark.parametrize(
    "text",
    [
        "O autocarro chegou cedo, disse-lhe ele (sem pressa) às 10h30... e depois: «nada»!",
        "Contacto: joao@exemplo.pt; site www.exemplo.pt/abc — 3,5% de 1.000 €.",
        "Em 2024, o Silva d'Ávila foi ao Porto; ‘olá’ — “aspas”? Sim!!",
    ],
)
def test_fast_words_agrees_with_spacy_on_prose(text):
    assert fast_words(text) == load_word_tokenizer("por").word_tokenize(text)


def test_fast_words_documented_difference_is_abbreviations():
    text = "O Sr. Silva chegou."
    assert load_word_tokenizer("por").word_tokenize(text) == ["O", "Sr.", "Silva", "chegou", "."]
    assert fast_words(text) == ["O", "Sr", ".", "Silva", "chegou", "."]


def test_clean_lines_drops_short_and_repeated_lines():
    text = "Menu\nUma linha com letras suficientes.\nPartilhar\nUma linha com letras suficientes.\n123 456 789\nOutra linha longa o bastante."
    assert clean_lines(text, 10, True) == "Uma linha com letras suficientes.\nOutra linha longa o bastante."
    assert clean_lines(text, 10, False).count("suficientes") == 2

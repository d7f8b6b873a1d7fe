"""pt-PT vs pt-BR variety scorer: each marker family on hand-checked sentences, the word-list cache,
and an accuracy floor on real published translations installed by Debian packages (envs/apt.txt).

The marker sentences are made up (they test one marker each); the accuracy floor uses only real
text: the pt and pt_BR gettext catalogues of Essential GNU packages and the man-db man pages.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import amalia_wf.variety.scorer as scorer_mod
import amalia_wf.variety.wordlists as wl
from amalia_wf.variety import BR, PT, VarietyScorer, WordLists, load_wordlists, score_many, score_text
from bench.variety_accuracy import evaluate, man_texts, metrics, parallel_pairs

MISSING = "Debian word lists missing: install wportuguese and wbrazilian (`make system`, envs/apt.txt)"
# Essential packages (always installed) whose pt and pt_BR catalogues are the accuracy fixture.
FIXTURE_DOMAINS = ["bash", "coreutils", "diffutils", "findutils", "grep", "sed", "tar"]


@pytest.fixture(scope="module")
def lists(tmp_path_factory: pytest.TempPathFactory) -> WordLists:
    built = load_wordlists(cache_dir=tmp_path_factory.mktemp("variety-cache"))
    if built is None:
        pytest.fail(MISSING)
    return built


@pytest.fixture(scope="module")
def full(lists: WordLists) -> VarietyScorer:
    return VarietyScorer(wordlists=lists)


BARE = VarietyScorer(wordlists=None)  # grammar, lexicon and fallback accent pairs only


def fired(text: str, scorer: VarietyScorer = BARE) -> list[tuple[str, str]]:
    return [(e.marker, e.variety) for e in scorer.score(text).evidence]


@pytest.mark.parametrize(
    "text, expected",
    [
        # estar a + infinitive (pt-PT) vs estar + gerund (pt-BR)
        ("Estou a escrever uma carta.", [("estar a + infinitive", PT)]),
        ("Ela está sempre a reclamar do tempo.", [("estar a + infinitive", PT)]),
        ("Estamos a fazê-lo agora.", [("estar a + infinitive", PT)]),
        ("Estou escrevendo uma carta.", [("estar + gerund", BR)]),
        ("Eles estavam pondo a mesa.", [("estar + gerund", BR)]),
        ("Os dois estão a par da situação.", []),  # `a par`: not an infinitive
        ("O jardim está lindo.", []),  # -indo adjective, not a gerund
        # ter de (pt-PT) vs ter que (pt-BR)
        ("Tenho de sair cedo.", [("ter de + infinitive", PT)]),
        ("Tenho que sair cedo.", [("ter que + infinitive", BR)]),
        ("Isso não tem que ver com o caso.", []),  # European idiom
        # clitics
        ("Vou te contar uma história.", [("clitic between auxiliary and verb", BR)]),
        ("Ele pode me ajudar amanhã?", [("clitic between auxiliary and verb", BR)]),
        ("A situação está se tornando difícil.", [("clitic between auxiliary and verb", BR)]),
        ("Me empresta o livro?", [("sentence-initial clitic", BR)]),
        ("Vou contar-te uma história.", [("hyphenated clitic -me/-te/-lhe", PT)]),
        ("Disse-lhe a verdade.", [("hyphenated clitic -me/-te/-lhe", PT)]),
        # -ámos past (pt-PT); pt-BR writes the past like the present
        ("Ontem falámos com ele.", [("-ámos past", PT)]),
        ("Ontem falamos com ele.", []),
        # unreliable in ANCHORS.md: hyphenated -se/-o/-a and pode-se are used in both varieties
        ("Vende-se casa. Pode-se ver o mar. Fá-lo amanhã. Comprou-a ontem.", []),
    ],
)
def test_grammar_markers(text: str, expected: list[tuple[str, str]]) -> None:
    assert fired(text) == expected


@pytest.mark.parametrize(
    "pt_text, br_text",
    [
        ("Apanhei o autocarro.", "Peguei o ônibus."),
        ("O comboio chegou.", "O trem chegou."),
        ("Perdi o telemóvel.", "Perdi o celular."),
        ("Tomei o pequeno-almoço.", "Tomei o café da manhã."),
        ("Onde fica a casa de banho?", "Onde fica o banheiro?"),
        ("O leite está no frigorífico.", "O leite está na geladeira."),
        ("A equipa marcou um golo.", "A equipe marcou um gol."),
        ("Gosto de desporto.", "Gosto de esporte."),
        ("O utilizador abriu o ficheiro.", "O usuário abriu o documento."),
        ("Consulte o registo.", "Consulte o registro."),
        ("Vamos planear a viagem.", "Vamos planejar a viagem."),
        ("Não consegui aceder ao servidor.", "Não consegui acessar o servidor."),
        ("Comprei um ecrã novo.", "Comprei uma tela nova."),
        ("Mova o rato.", "Mova o mouse."),
    ],
)
def test_lexicon_pairs(pt_text: str, br_text: str) -> None:
    pt, br = BARE.score(pt_text), BARE.score(br_text)
    assert pt.br == 0 and pt.pt > 0 and pt.score is not None and pt.score > 0.5
    assert br.pt == 0 and br.br > 0 and br.score is not None and br.score < 0.5
    assert {e.marker for e in pt.evidence + br.evidence} == {"lexicon"}


def test_identifiers_are_not_words() -> None:
    # option names and settings keys glued with - are code, not vocabulary
    assert fired('Use --delete ou a chave "mouse-button-modifier".') == []


def test_statistical_markers_weigh_less() -> None:
    voce = BARE.score("Você sabe onde fica?")
    assert voce.br == pytest.approx(0.3) and voce.score == pytest.approx(0.5 / 1.3)
    assert BARE.score("Foi num dia de sol.").pt == pytest.approx(0.3)
    assert BARE.score("Foi em um dia de sol.").br == pytest.approx(0.3)
    assert BARE.score("Ative o Num Lock.").score is None  # a key name, not em + um
    assert fired("Abra seu navegador.") == []  # only after a preposition or conjunction, or sentence-initial
    assert fired("Guarde isto em seu computador.") == [("possessive without article", BR)]
    assert fired("Guarde isto no seu computador.") == []
    strong = BARE.score("Tenho de sair.")
    assert strong.score is not None and voce.score is not None and abs(strong.score - 0.5) > abs(voce.score - 0.5)


def test_fallback_accent_pairs_without_lists(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    with caplog.at_level(logging.WARNING):
        assert load_wordlists(cache_dir=tmp_path, pt_path=tmp_path / "absent", br_path=tmp_path / "absent2") is None
    assert "word lists not installed" in caplog.text
    s = BARE.score("O crescimento económico.")
    assert not s.wordlists and fired("O crescimento económico.") == [("accent", PT)]
    assert fired("O crescimento econômico.") == [("accent", BR)]
    assert fired("A acção do director.") == []  # the old-spelling check needs the lists


def test_score_many_coverage_and_spans() -> None:
    texts = ["Olá a todos.", "Tenho de ir, estou a ver que é tarde.", "Estou vendo que você tem que ir."]
    scores, coverage = score_many(texts, BARE)
    assert scores[0].score is None and scores[0].evidence == [] and scores[0].n_words == 3
    assert coverage == pytest.approx(2 / 3)
    assert scores[1].score is not None and scores[1].score > 0.8 and scores[1].pt == 2
    assert scores[2].score is not None and scores[2].score < 0.2
    for text, s in zip(texts, scores):
        assert all(text[e.span[0] : e.span[1]] == e.text for e in s.evidence)
        assert s.score is None or 0.0 <= s.score <= 1.0
    assert score_many([], BARE) == ([], 0.0)


def test_default_scorer_builds_cache_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pt, br = tmp_path / "pt", tmp_path / "br"
    pt.write_text("económico\nfacto\nfato\ncontacto\nreceção\nideia\nação\ndiretor\n", encoding="utf-8")
    br.write_text("econômico\nfato\ncontato\nrecepção\nidéia\nação\ndiretor\n", encoding="utf-8")
    cache = tmp_path / "cache"
    lists = load_wordlists(cache, pt, br)
    assert lists is not None and (cache / "wordlists.json").is_file()
    assert not [p for p in cache.iterdir() if p.name != "wordlists.json"]  # no temp file left
    assert lists.markers["económico"] == (PT, "accent", "econômico")
    assert lists.markers["econômico"] == (BR, "accent", "económico")
    assert lists.markers["contacto"][0] == PT and lists.markers["contato"][0] == BR
    assert lists.markers["receção"][0] == PT and "recepção" not in lists.markers  # also old European spelling
    assert lists.markers["idéia"] == (BR, "pre-2009 spelling", "ideia") and "ideia" not in lists.markers
    assert "fato" not in lists.markers  # shared word (a suit, in pt-PT)
    assert lists.is_old_pt("acção") == "ação" and lists.is_old_pt("director") == "diretor"
    # second load reads the cache; a changed list rebuilds it
    monkeypatch.setattr(wl, "derive_markers", lambda *a: pytest.fail("cache not used"))
    assert load_wordlists(cache, pt, br) == lists
    monkeypatch.undo()
    pt.write_text("ténis\n", encoding="utf-8")
    br.write_text("tênis\n", encoding="utf-8")
    rebuilt = load_wordlists(cache, pt, br)
    assert rebuilt is not None and rebuilt.markers == {
        "ténis": (PT, "accent", "tênis"),
        "tênis": (BR, "accent", "ténis"),
    }
    # score_text without a scorer: the default one, its cache where AMALIA_VARIETY_CACHE says
    monkeypatch.setenv(wl.CACHE_ENV, str(tmp_path / "env-cache"))
    monkeypatch.setattr(scorer_mod, "_default", None)
    monkeypatch.setattr(scorer_mod, "load_wordlists", lambda: wl.load_wordlists(None, pt, br))
    s = score_text("Joguei ténis.")
    assert s.wordlists and [(e.marker, e.variety) for e in s.evidence] == [("accent", PT)]
    assert (tmp_path / "env-cache" / "wordlists.json").is_file()


def test_debian_word_list_markers(full: VarietyScorer) -> None:
    assert full.lists is not None and len(full.lists.markers) > 1000
    assert fired("Um acorde harmónico.", full) == [("accent", PT)]  # not in the fallback list
    assert fired("Um acorde harmônico.", full) == [("accent", BR)]
    assert fired("A acção do director foi óptima.", full) == [("pre-1990 spelling", PT)] * 3
    assert fired("A receção correu bem.", full) == [("consonant", PT)]
    assert fired("A recepção correu bem. O aspecto é bom.", full) == []  # pt-BR and old pt-PT alike
    assert fired("A freqüência é alta.", full) == [("pre-2009 spelling", BR)]
    assert fired("O contacto foi feito.", full) == [("lexicon", PT)]  # counted once, not again as a pair
    assert full.score("Olá.").wordlists


def test_accuracy_floor_on_debian_translations(full: VarietyScorer) -> None:
    """Real published translations: floors a little below what was measured (README, Variety scorer)."""
    pairs, _ = parallel_pairs(domains=FIXTURE_DOMAINS, min_chars=80)
    assert len(pairs) > 500, "pt/pt_BR catalogues of the Essential GNU packages are missing"
    m, _, _ = evaluate(pairs, full)
    # measured: coverage 0.405, accuracy 0.996, precision 0.997 / 0.994, pairwise order 1.0
    assert m["coverage"] >= 0.35
    assert m["accuracy_covered"] >= 0.97
    assert m[f"precision_{PT}"] >= 0.97 and m[f"precision_{BR}"] >= 0.97
    assert m["pairwise_order"] >= 0.97
    assert m[f"mean_score_{PT}"] > 0.7 and m[f"mean_score_{BR}"] < 0.35

    man_pt, man_br, _ = man_texts(min_chars=200)
    assert len(man_pt) > 50 and len(man_br) > 50, "man-db's pt and pt_BR man pages are missing"
    m = metrics([(PT, full.score(t)) for t in man_pt] + [(BR, full.score(t)) for t in man_br])
    # measured: coverage 0.616, accuracy 1.0
    assert m["coverage"] >= 0.5 and m["accuracy_covered"] >= 0.95

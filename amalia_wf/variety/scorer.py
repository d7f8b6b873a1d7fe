"""A transparent pt-PT vs pt-BR scorer: counted markers, no trained model.

Every marker that fires is returned as Evidence (family, variety, span, matched text, weight), so a
score can always be traced to the words behind it. Marker choice follows ANCHORS.md §2: grammar
markers and lexicon pairs that one variety does not use (weight 1), four statistical markers that
only lean one way (weight 0.3), spelling pairs from the Debian word lists (wordlists.py). Deliberately
left out because both varieties use them: hyphenated -se/-o/-a and `pode-se`.

score = (pt + PRIOR) / (pt + br + 2 * PRIOR) with pt, br the summed weights: 1 = surely pt-PT,
0 = surely pt-BR; the prior keeps one weak marker from giving a certain-looking 0 or 1. With no
evidence at all the score is None (abstain).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from amalia_wf.variety.wordlists import WordLists, load_wordlists

PT, BR = "pt-PT", "pt-BR"
PRIOR = 0.5
WEAK = 0.3


@dataclass(frozen=True)
class Evidence:
    marker: str  # family, e.g. "estar a + infinitive", "lexicon", "accent"
    variety: str  # PT or BR
    span: tuple[int, int]  # character offsets in the scored text
    text: str
    weight: float


@dataclass(frozen=True)
class VarietyScore:
    score: float | None  # ~P(pt-PT) in [0, 1]; None = no evidence, abstain
    pt: float  # summed pt-PT evidence weight
    br: float
    evidence: list[Evidence] = field(default_factory=list)
    n_words: int = 0
    wordlists: bool = False  # False: the Debian word lists were not available, spelling markers were off


def _alt(words: str) -> str:
    return "|".join(sorted(words.split(), key=len, reverse=True))


ESTAR = _alt(
    "estou estás está estamos estão estava estavas estávamos estavam estive esteve estivemos estiveram "
    "estarei estará estaremos estarão estaria estariam esteja estejam estivesse estivessem estiver estiverem "
    "estar estarem estando"
)
TER = _alt(
    "tenho tens tem temos têm tinha tinhas tínhamos tinham tive teve tivemos tiveram terei terá teremos "
    "terão teria teriam tenha tenhas tenhamos tenham tivesse tivessem tiver tiverem ter teres termos terem tendo"
)
# Auxiliaries that take an infinitive, gerund or participle; pt-PT attaches the clitic to the verb
# with a hyphen (vou contar-te) or before the auxiliary, never loose in between.
AUX = _alt(
    "vou vais vai vamos vão ia iam irá irão posso podes pode podemos podem podia podiam poderá poderão poderia "
    "poderiam quero queres quer queremos querem queria devo deves deve devemos devem devia deveria deveriam "
    "preciso precisa precisam consegue conseguem gostaria costuma costumam "
    + TER.replace("|", " ")
    + " "
    + ESTAR.replace("|", " ")
)
ADV = _alt("sempre agora ainda já só também apenas realmente constantemente")
# Words with infinitive/gerund endings that are not verb forms and do occur after these verbs
# (`estar a par`, `está lindo`, `quando`).
NOT_VERB = frozenset(
    "par mar lugar bar altar lar olhar jantar luar poder dever prazer mulher qualquer colher talher "
    "quando comando bando brando lindo estupendo tremendo horrendo reverendo dividendo adendo".split()
)
INF = r"\w+(?:ar|er|ir)|ir|pôr|\w+[áêí]-l[oa]s?"
GER = r"\w+(?:ando|endo|indo)|pondo"
PART = r"\w+(?:ado|ido)"
# Lookbehinds (fixed width each), so that a span covers the marker itself.
SENTENCE_START = r"^|(?<=[.!?:]\s)"
AFTER_PREP = "|".join(rf"(?<=\b{w}\s)" for w in "em para com sobre sem que se".split())

# (family, variety, weight, regex, group that must be a verb form or None)
GRAMMAR: list[tuple[str, str, float, re.Pattern[str], int | None]] = [
    ("estar a + infinitive", PT, 1.0, re.compile(rf"\b(?:{ESTAR})\s+(?:(?:{ADV})\s+)?a\s+({INF})\b", re.I), 1),
    ("estar + gerund", BR, 1.0, re.compile(rf"\b(?:{ESTAR})\s+(?:(?:{ADV})\s+)?({GER})\b", re.I), 1),
    ("ter de + infinitive", PT, 1.0, re.compile(rf"\b(?:{TER})\s+de\s+({INF})\b", re.I), 1),
    # `tem que ver com` is also European ("has to do with")
    ("ter que + infinitive", BR, 1.0, re.compile(rf"\b(?:{TER})\s+que\s+(?!ver\b)({INF})\b", re.I), 1),
    ("hyphenated clitic -me/-te/-lhe", PT, 1.0, re.compile(r"\b\w+-(?:me|te|lhes?)\b", re.I), None),
    # `se` only before a gerund or participle: before an -ar form it may be the conjunction
    # "if" + future subjunctive (`pode se precisar`), which is identical in form.
    (
        "clitic between auxiliary and verb",
        BR,
        1.0,
        re.compile(rf"\b(?:{AUX})\s+(?:(?:me|te|lhe|lhes|nos)\s+({INF}|{GER}|{PART})|se\s+({GER}|{PART}))\b", re.I),
        0,
    ),
    # pt-PT never starts a sentence with a clitic (`Diga-me`, not `Me diga`)
    (
        "sentence-initial clitic",
        BR,
        1.0,
        re.compile(rf"(?:{SENTENCE_START})(?:Me|Te|Lhe|Lhes)(?=\s+[a-zà-ú])", re.M),
        None,
    ),
    ("-ámos past", PT, 1.0, re.compile(r"\b\w{2,}ámos\b", re.I), None),
    ("você", BR, WEAK, re.compile(r"\bvocês?\b", re.I), None),
    ("em um", BR, WEAK, re.compile(r"\bem\s+(?:um|uma|uns|umas)\b", re.I), None),
    ("num", PT, WEAK, re.compile(r"\b(?:num|numa|nuns|numas)\b(?!\s+lock)", re.I), None),  # not `Num Lock`
    # pt-PT puts an article before a possessive (`o seu sistema`); after these words pt-BR often drops it
    (
        "possessive without article",
        BR,
        WEAK,
        re.compile(rf"(?:{SENTENCE_START}|{AFTER_PREP})(?:seu|sua|seus|suas)(?=\s+[a-zà-ú])", re.I | re.M),
        None,
    ),
]

# Lexicon pairs, written as "pt-PT form / pt-BR form"; an entry without a partner is a word only one
# variety uses where its partner is shared (ficheiro vs arquivo, also "archive" in pt-PT).
# Weight 0.5: the word has another, shared meaning (rato = also the animal; tela = canvas).
LEXICON_PAIRS: list[tuple[str, str, float]] = [
    # everyday vocabulary
    ("autocarros?", "ônibus", 1.0),
    ("comboios?", "trens?|trem", 1.0),
    ("telemóve(?:l|is)", "(?:o|um|meu|seu|teu|do|no|pelo|ao) celular|celulares", 1.0),
    ("pequenos?-almoços?", "café da manhã", 1.0),
    ("casas? de banho", "banheiros?", 1.0),
    ("frigoríficos?", "geladeiras?", 1.0),
    ("equipas?", "equipes?", 1.0),
    ("golos?", "gols?", 1.0),
    ("desportos?|desportiv[oa]s?", "esportes?|esportiv[oa]s?", 1.0),
    ("camião|camiões", "caminhão|caminhões", 1.0),
    ("chávenas?", "xícaras?", 1.0),
    ("guarda-redes", "goleiros?", 1.0),
    ("relvados?|relva", "gramados?", 1.0),
    ("portage(?:m|ns)", "pedágios?", 1.0),
    ("montras?", "", 1.0),
    ("", "vitrines?", 0.5),
    ("rés-do-chão", "térreo", 1.0),
    ("raparigas?", "", 1.0),
    ("talhos?", "açougues?", 0.5),
    ("sanitas?", "", 1.0),
    ("", "sorvetes?", 1.0),
    ("carta de condução", "carteira de motorista", 1.0),
    ("multibanco", "", 1.0),
    ("connosco", "conosco", 1.0),
    ("", "bonde", 1.0),
    ("", "metrô", 1.0),
    ("betão", "", 1.0),
    ("travões?", "", 1.0),
    ("canalizador(?:es)?", "encanador(?:es)?", 1.0),
    ("empregad[oa]s? de mesa", "garço(?:m|ns)|garçonetes?", 1.0),
    ("hospedeiras? de bordo", "aeromoças?", 1.0),
    ("ementas?", "cardápios?", 1.0),
    ("fixe|bué", "", 1.0),
    ("factos?", "", 1.0),
    ("contact(?:o|os|ar|e|ou|ado|ada)", "contat(?:o|os|ar|e|ou|ado|ada)", 1.0),
    ("regist(?:o|os|ar|ado|ada|ados|adas|ou|am|e)", "registr(?:o|os|ar|ado|ada|ados|adas|ou|am|e)", 1.0),
    ("planea(?:r|do|da|mento|mentos)", "planeja(?:r|do|da|mento|mentos)", 1.0),
    ("", "porcentage(?:m|ns)", 1.0),
    ("", "checa(?:r|gem)", 1.0),
    ("carácter", "caractere", 1.0),
    ("(?:o|do|no|ao|pelo|de) controlo", "(?:o|do|no|ao|pelo|de) controle", 1.0),
    # computing, where pt-PT and pt-BR localisation teams settled on different words
    ("ecrãs?", "", 1.0),
    ("", "telas?", 0.5),
    ("ratos?", "mouses?", 0.5),
    ("ficheiros?", "", 1.0),
    ("utilizador(?:es|as?)?", "usuári[oa]s?", 1.0),
    ("aceder|acede|acedem|acedid[oa]s?", "acess(?:ar|a|am|ad[oa]s?)", 1.0),
    ("", "aplicativos?", 1.0),
    ("", "gerenci(?:ar|a|am|ad[oa]s?|ador|adores|amento|amentos)", 1.0),
    ("", "desabilit(?:ar|a|am|ad[oa]s?)", 0.5),
    ("premir|premid[oa]s?", "", 1.0),
    ("palavras?-passe", "", 1.0),
    ("por omissão|por predefinição", "por padrão", 1.0),
    ("multimédia", "multimídia|mídias?", 1.0),
    ("", "delet(?:ar|a|e|ado|ada|ou)", 1.0),
    ("", "fazer login", 1.0),
    ("", "salv(?:ar|o|a|ou|ad[oa]s?)", 0.5),
]
# One alternation with a named group per (entry, variety), so a text is scanned once, not ~100 times.
# Not glued to - or _: `mouse-button-modifier` and `--delete` are identifiers, not words.
LEXICON_GROUPS: dict[str, tuple[str, float]] = {}
_parts: list[str] = []
for _i, (_pt, _br, _w) in enumerate(LEXICON_PAIRS):
    for _variety, _words in ((PT, _pt), (BR, _br)):
        if _words:
            _name = f"{'p' if _variety == PT else 'b'}{_i}"
            LEXICON_GROUPS[_name] = (_variety, _w)
            _parts.append(f"(?P<{_name}>{_words})")
LEXICON = re.compile(rf"(?<![\w-])(?:{'|'.join(_parts)})(?![\w-])", re.I)

# Accent pairs for when the word lists are absent (the lists supply hundreds more).
FALLBACK_ACCENT = {
    w: (v, "accent", c)
    for pt_w, br_w in [
        ("económico", "econômico"),
        ("económica", "econômica"),
        ("ténis", "tênis"),
        ("género", "gênero"),
        ("prémio", "prêmio"),
        ("fenómeno", "fenômeno"),
        ("académico", "acadêmico"),
        ("António", "Antônio"),
        ("bebé", "bebê"),
        ("eletrónico", "eletrônico"),
        ("eletrónica", "eletrônica"),
        ("telefónico", "telefônico"),
        ("quilómetros", "quilômetros"),
        ("ténue", "tênue"),
        ("polémica", "polêmica"),
        ("crónica", "crônica"),
        ("sinónimo", "sinônimo"),
        ("cómodo", "cômodo"),
        ("génio", "gênio"),
        ("tónico", "tônico"),
    ]
    for w, v, c in ((pt_w.lower(), PT, br_w.lower()), (br_w.lower(), BR, pt_w.lower()))
}
WORD = re.compile(r"[^\W\d_]+", re.U)


class VarietyScorer:
    """Scores texts; `wordlists="auto"` loads (building on first use) the Debian-list markers."""

    def __init__(self, wordlists: WordLists | None | str = "auto", prior: float = PRIOR) -> None:
        self.lists = load_wordlists() if wordlists == "auto" else wordlists
        assert self.lists is None or isinstance(self.lists, WordLists)
        self.prior = prior

    def evidence(self, text: str) -> tuple[list[Evidence], int]:
        found: list[Evidence] = []
        for family, variety, weight, rx, group in GRAMMAR:
            for m in rx.finditer(text):
                verb = m.group(group) if group is not None else None
                if group == 0:  # the clitic pattern: whichever of its two verb groups matched
                    verb = m.group(1) or m.group(2)
                if verb is not None and verb.lower() in NOT_VERB:
                    continue
                found.append(Evidence(family, variety, m.span(), m.group(0), weight))
        for m in LEXICON.finditer(text):
            variety, weight = LEXICON_GROUPS[m.lastgroup or ""]
            found.append(Evidence("lexicon", variety, m.span(), m.group(0), weight))
        markers = self.lists.markers if self.lists is not None else FALLBACK_ACCENT
        taken = {i for e in found for i in range(*e.span)}  # a word already counted is not counted twice
        n_words = 0
        for m in WORD.finditer(text):
            n_words += 1
            w = m.group(0).lower()
            if m.start() in taken:
                continue
            if (hit := markers.get(w)) is not None:
                found.append(Evidence(hit[1], hit[0], m.span(), m.group(0), 1.0))
            elif self.lists is not None and self.lists.is_old_pt(w):
                found.append(Evidence("pre-1990 spelling", PT, m.span(), m.group(0), 1.0))
        found.sort(key=lambda e: e.span)
        return found, n_words

    def score(self, text: str) -> VarietyScore:
        found, n_words = self.evidence(text)
        pt = sum(e.weight for e in found if e.variety == PT)
        br = sum(e.weight for e in found if e.variety == BR)
        score = (pt + self.prior) / (pt + br + 2 * self.prior) if found else None
        return VarietyScore(score, pt, br, found, n_words, self.lists is not None)


_default: VarietyScorer | None = None


def default_scorer() -> VarietyScorer:
    global _default
    if _default is None:
        _default = VarietyScorer()
    return _default


def score_text(text: str, scorer: VarietyScorer | None = None) -> VarietyScore:
    return (scorer or default_scorer()).score(text)


def score_many(texts: Iterable[str], scorer: VarietyScorer | None = None) -> tuple[list[VarietyScore], float]:
    """Scores and coverage: the fraction of texts with any evidence (not abstained); 0.0 for no texts."""
    scores = [score_text(t, scorer) for t in texts]
    coverage = sum(s.score is not None for s in scores) / len(scores) if scores else 0.0
    return scores, coverage

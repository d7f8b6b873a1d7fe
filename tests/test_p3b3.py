"""P3B3: prompts and settings, generation records, the three scorers, aggregation."""

from __future__ import annotations

import json
import math
import string
import types
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch

from amalia_wf.genbench import bert_variety as bv
from amalia_wf.genbench import p3b3
from amalia_wf.genbench import p3b3_aggregate as agg
from amalia_wf.genbench import p3b3_judge as judge
from amalia_wf.generation import GenerationSettings
from tests.test_generate import tiny_chat_model  # noqa: F401  (module-scoped fixture reused here)

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "data" / "eval_fixtures" / "p3b3" / "all_prompts.json"
REAL = Path("/work/shared/benchmarks/p3b3/all_prompts.json")


# --------------------------------------------------------------------------- prompts and settings


def test_fixture_and_real_benchmark_load() -> None:
    prompts = p3b3.load_prompts(FIXTURE)
    assert list(prompts) == ["f0", "f1", "f2", "f3"] and sum(map(len, prompts.values())) == 11
    if not REAL.exists():
        pytest.skip("the upstream all_prompts.json is not available here")
    real = p3b3.load_prompts(REAL)
    assert len(real) == 74 and sum(len(t) for t in real.values()) == 203
    # The paper's Appendix A: 31 dialogues of 2 turns, 35 of 3, 5 of 4, 3 of 5-6.
    lengths = [len(t) for t in real.values()]
    assert (lengths.count(2), lengths.count(3), lengths.count(4), sum(n >= 5 for n in lengths)) == (31, 35, 5, 3)


def test_malformed_benchmark_names_the_dialogue(tmp_path: Path) -> None:
    bad = tmp_path / "all_prompts.json"
    bad.write_text(json.dumps({"p0": ["Olá?"], "p1": []}))
    with pytest.raises(ValueError, match="'p1'"):
        p3b3.load_prompts(bad)


def test_instructions_and_unknown_settings() -> None:
    texts = p3b3.instructions({"pt-PT": "Escreve em português de Portugal."})
    assert texts == {"none": None, "pt-PT": "Escreve em português de Portugal.", "pt-BR": p3b3.DEFAULT_INSTRUCTIONS["pt-BR"]}
    with pytest.raises(ValueError, match="unknown setting"):
        p3b3.instructions({"pt-AO": "x"})
    with pytest.raises(ValueError, match="unknown P3B3 setting"):
        p3b3.dialogue_plan({"p0": ["x"]}, ["none", "pt-pt"])


class EchoGenerator:
    """Answers with a marker of what it was asked, so the records can be checked against the history."""

    def __init__(self) -> None:
        self.calls: list[list[list[dict[str, str]]]] = []

    def generate(self, conversations: list[list[dict[str, str]]]) -> list[list[str]]:
        self.calls.append(conversations)
        return [[f"resposta {len(c) // 2 + 1} a «{c[-1]['content']}»"] for c in conversations]


def test_records_carry_setting_prompt_and_history() -> None:
    prompts = p3b3.load_prompts(FIXTURE)
    gen = EchoGenerator()
    records = p3b3.run_p3b3(gen, "tiny", prompts)
    assert len(records) == 3 * 11
    # One generate() call per turn index, all settings and dialogues together: 12 dialogues, then 12, 6, 3.
    assert [len(c) for c in gen.calls] == [12, 12, 6, 3]
    assert {tuple(sorted(r)) for r in records} == {
        ("dialogue_id", "history_len", "model", "prompt", "response", "setting", "turn", "user")
    }
    by_key = {(r["setting"], r["dialogue_id"], r["turn"]): r for r in records}
    pt1 = by_key[("pt-PT", "f1", 1)]
    assert pt1["prompt"] == p3b3.DEFAULT_INSTRUCTIONS["pt-PT"] + "\n" + prompts["f1"][0]
    assert pt1["user"] == prompts["f1"][0] and pt1["history_len"] == 0
    assert by_key[("pt-BR", "f1", 1)]["prompt"].startswith("Responde sempre em português brasileiro")
    assert by_key[("none", "f1", 1)]["prompt"] == prompts["f1"][0]
    pt2 = by_key[("pt-PT", "f1", 2)]
    assert pt2["prompt"] == pt2["user"] == prompts["f1"][1] and pt2["history_len"] == 2
    assert pt2["response"] == f"resposta 2 a «{prompts['f1'][1]}»"
    # The turn-2 request held the setting's own turn-1 answer.
    turn2 = next(c for c in gen.calls[1] if c[0]["content"] == pt1["prompt"])
    assert turn2[1] == {"role": "assistant", "content": pt1["response"]}


def test_p3b3_on_a_tiny_model_writes_and_reads_records(tiny_chat_model: Path, tmp_path: Path) -> None:  # noqa: F811
    prompts = dict(list(p3b3.load_prompts(FIXTURE).items())[:2])
    # RoPE has no position table: a context past the config's 256 positions still runs (the tokenizer is tiny, prompts long).
    generation = GenerationSettings(max_new_tokens=4, max_model_len=1024)
    records = p3b3.generate_p3b3(str(tiny_chat_model), "tiny", prompts, generation)
    assert len(records) == 3 * 5 and all(isinstance(r["response"], str) for r in records)
    path = tmp_path / "p3b3.jsonl.gz"
    assert p3b3.write_records(path, records) == 15
    assert p3b3.read_records(path) == records


def test_answer_text_drops_reasoning() -> None:
    assert p3b3.answer_text("<think>hmm</think>\n Olá!") == "Olá!"
    assert p3b3.answer_text("pensa</think>a</think> Olá") == "Olá"
    assert p3b3.answer_text(" Olá ") == "Olá"


# --------------------------------------------------------------------------- BERT classifiers

CORPUS = [
    "A casa fica perto da estação de comboios.",
    "O autocarro das nove chega sempre atrasado.",
    "Comprei um telemóvel novo na loja do centro.",
    "Vou ao mercado comprar fruta e legumes.",
]


def build_tiny_bert(out: Path, id2label: dict[int, str], seed: int = 0) -> Path:
    """A BertForSequenceClassification with random (seeded) weights and a WordPiece tokenizer.

    The vocabulary is "trained" by counting the corpus words (tokenizers' WordPieceTrainer breaks
    ties in hash order, so its vocabulary changes between runs): every corpus word is one token,
    any other lowercase word one token per letter ("zzzzz" -> z ##z ##z ##z ##z).
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=False)
    pre = pre_tokenizers.BertPreTokenizer()
    words = sorted({w for line in CORPUS for w, _ in pre.pre_tokenize_str(normalizer.normalize_str(line))})
    letters = list(string.ascii_lowercase)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab_list = list(dict.fromkeys(specials + words + letters + [f"##{c}" for c in letters]))
    vocab = {t: i for i, t in enumerate(vocab_list)}
    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer, tok.pre_tokenizer, tok.decoder = normalizer, pre, decoders.WordPiece()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", model_max_length=512,
    )
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=512, id2label=id2label, label2id={v: k for k, v in id2label.items()},
        initializer_range=0.5,  # clearly non-uniform probabilities from random weights
    )
    torch.manual_seed(seed)
    BertForSequenceClassification(config).save_pretrained(out)
    fast.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> bv.VarietyClassifier:
    path = build_tiny_bert(tmp_path_factory.mktemp("bert"), {0: "PT-BR", 1: "PT-PT"})
    return bv.VarietyClassifier(path, batch_size=4)


def test_label_index_comes_from_id2label() -> None:
    assert bv.pt_pt_index({0: "PT-BR", 1: "PT-PT"}) == 1
    assert bv.pt_pt_index({"0": "pt_PT", "1": "pt_BR"}) == 0
    assert bv.pt_pt_index({0: "BR", 1: "PT"}) == 1  # PeroVaz-style names
    assert bv.pt_pt_index({0: "LABEL_0", 1: "LABEL_1"}, override="label_1") == 1
    assert bv.pt_pt_index({0: "LABEL_0", 1: "LABEL_1"}, override=0) == 0
    with pytest.raises(ValueError, match="set pt_pt_label"):
        bv.pt_pt_index({0: "LABEL_0", 1: "LABEL_1"})
    with pytest.raises(ValueError, match="not an output index"):
        bv.pt_pt_index({0: "PT-BR", 1: "PT-PT"}, override=2)


def test_swapped_labels_give_the_complementary_probability(tiny_bert: bv.VarietyClassifier, tmp_path: Path) -> None:
    # Same seed, same weights; only the label names are swapped, so P(pt-PT) must become 1 - P.
    swapped = bv.VarietyClassifier(build_tiny_bert(tmp_path / "swapped", {0: "PT-PT", 1: "PT-BR"}))
    assert (tiny_bert.pt_index, swapped.pt_index) == (1, 0)
    texts = ["A casa fica perto da estação.", "Vou ao mercado."]
    p, q = tiny_bert.p_pt_pt(texts), swapped.p_pt_pt(texts)
    assert all(abs(a + b - 1) < 1e-6 for a, b in zip(p, q))
    assert all(abs(a - 0.5) > 1e-3 for a in p)  # the test would be vacuous at exactly 0.5
    # And it is the softmax of the logits at that index.
    enc = tiny_bert.tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = torch.softmax(tiny_bert.model(**enc).logits, -1)[:, 1].tolist()
    assert p == pytest.approx(expected, abs=1e-6)


def test_chunking_arithmetic(tiny_bert: bv.VarietyClassifier) -> None:
    count = tiny_bert.count_tokens
    assert count("casa") == 3 and count("zzzzz") == 7  # [CLS] + pieces + [SEP]

    # 1,298 one-token words + [CLS] + [SEP] = 1,300 tokens: k = ceil(1300 / 512) = 3 runs of
    # 433, 433 and 432 words = 435, 435 and 434 tokens, all <= 512, so k stays 3.
    text = " ".join(["casa"] * 1298)
    assert count(text) == 1300
    chunks = tiny_bert.chunks(text)
    assert [len(c.split()) for c in chunks] == [433, 433, 432]
    assert [count(c) for c in chunks] == [435, 435, 434]
    # The answer's probability is the plain mean of its runs' probabilities.
    parts = tiny_bert.chunk_probabilities(chunks)
    (p,) = tiny_bert.p_pt_pt([text])
    assert p == pytest.approx(sum(parts) / 3, abs=1e-9)

    # 600 one-token words then 100 five-token words: 600 + 500 + 2 = 1,102 tokens, k starts at 3.
    # Equal runs put the long words at the end: the last run has 133 + 500 + 2 = 635 tokens (k=3),
    # 75 + 502 = 577 (k=4), 40 + 502 = 542 (k=5), 16 + 502 = 518 (k=6, runs 117x4 + 116x2), and
    # 0 + 502 = 502 at k=7 (runs of 100 words), the first k where every run fits.
    text = " ".join(["casa"] * 600 + ["zzzzz"] * 100)
    assert count(text) == 1102
    chunks = tiny_bert.chunks(text)
    assert len(chunks) == 7 and all(len(c.split()) == 100 for c in chunks)
    assert max(count(c) for c in chunks) == 502

    # Short answers are one chunk, unchanged.
    assert tiny_bert.chunks("Vou ao  mercado.") == ["Vou ao  mercado."]


def test_split_words_is_equal_and_non_overlapping() -> None:
    words = [str(i) for i in range(10)]
    runs = bv.split_words(words, 4)
    assert runs == ["0 1 2", "3 4 5", "6 7", "8 9"]
    assert " ".join(runs).split() == words


def test_classifier_rows_use_the_records_setting(tiny_bert: bv.VarietyClassifier) -> None:
    records = [
        {"model": "m", "setting": s, "dialogue_id": "p0", "turn": 1, "user": "u", "prompt": "u", "response": r, "history_len": 0}
        for s, r in (("pt-PT", "<think>x</think>A casa fica perto."), ("pt-BR", "Vou ao mercado."))
    ]
    rows = bv.classifier_rows(records, tiny_bert, "VId", [False, True])
    assert [r["setting"] for r in rows] == ["pt-PT", "pt-BR"]
    assert rows[0]["score"] == pytest.approx(100 * tiny_bert.p_pt_pt(["A casa fica perto."])[0])
    assert [r["not_pt"] for r in rows] == [False, True] and all(r["status"] == "ok" for r in rows)


# --------------------------------------------------------------------------- language check, marker scorer


def test_not_portuguese_with_fasttext_lid() -> None:
    from amalia_wf.data.langid import LanguageId

    lid = LanguageId({"model": "bundled:lid.176.ftz"})
    texts = [
        "Tens várias opções: podes apanhar um táxi, usar os transportes públicos ou pedir boleia a um amigo.",
        "You have several options: take a taxi, use public transport or ask a friend for a ride.",
        "  ",
    ]
    assert p3b3.not_portuguese(texts, lid) == [False, True, True]


def _record(setting: str, dialogue: str, turn: int, response: str = "x", model: str = "m") -> dict[str, Any]:
    return {"model": model, "setting": setting, "dialogue_id": dialogue, "turn": turn, "user": f"pergunta {turn}",
            "prompt": f"pergunta {turn}", "response": response, "history_len": 2 * (turn - 1)}


def test_variety_rows_count_abstentions() -> None:
    scores = {"autocarro": 0.9, "ônibus": 0.1}

    def fake(text: str) -> types.SimpleNamespace:
        return types.SimpleNamespace(score=scores.get(text))

    records = [_record("none", "p0", 1, "autocarro"), _record("none", "p0", 2, "ônibus"), _record("none", "p0", 3, "sim")]
    rows = p3b3.variety_rows(records, [False, False, False], score_fn=fake)
    assert [r["score"] for r in rows] == [pytest.approx(90.0), pytest.approx(10.0), None]
    assert [r["status"] for r in rows] == ["ok", "ok", "abstain"]
    table = agg.summary(rows)
    assert table.loc[0, "coverage"] == pytest.approx(2 / 3) and table.loc[0, "n_abstain"] == 1
    assert table.loc[0, "score"] == pytest.approx(50.0)


def test_variety_rows_with_the_project_scorer() -> None:
    variety = pytest.importorskip("amalia_wf.variety")
    scorer = variety.VarietyScorer(wordlists=None)  # markers only: no word lists to build
    records = [_record("pt-PT", "p0", 1, "Estou a apanhar o autocarro."), _record("pt-PT", "p0", 2, "Sim.")]
    rows = p3b3.variety_rows(records, [False, False], score_fn=scorer.score)
    assert rows[0]["score"] > 50 and rows[1]["status"] == "abstain"


# --------------------------------------------------------------------------- judge


def test_judge_variants_and_prompts() -> None:
    assert judge.JudgeVariant.parse("pt-c-st").name == "PT-C-ST"
    assert judge.JudgeVariant.parse("PT-S-H").name == "PT-S-D"  # the paper writes H as well as D
    with pytest.raises(ValueError, match="expected"):
        judge.JudgeVariant.parse("PT-X-ST")
    assert len(judge.CATEGORIES) == 11

    pc = judge.judge_prompt("PT-C-ST", "Que transportes posso usar?", "Podes apanhar o autocarro.")
    ps = judge.judge_prompt("PT-S-ST", "Que transportes posso usar?", "Podes apanhar o autocarro.")
    en = judge.judge_prompt("EN-S-ST", "Que transportes posso usar?", "Podes apanhar o autocarro.")
    assert all(c.name_pt in pc for c in judge.CATEGORIES) and not any(c.name_pt in ps for c in judge.CATEGORIES)
    assert "Avalia" in pc and "Rate, on a scale from 0 to 10" in en
    for text in (pc, ps, en):
        assert '"score"' in text and '"not_pt"' in text and '"invalid"' in text and '"reasoning"' in text
        assert "Podes apanhar o autocarro." in text


def test_judge_messages_scope_and_no_variety_instruction() -> None:
    records = [
        {**_record("pt-PT", "p0", 1, "<think>plano</think>Primeira resposta."), "prompt": "Responde sempre em pt-PT.\npergunta 1"},
        _record("pt-PT", "p0", 2, "Segunda resposta."),
        _record("none", "p0", 2, "Outra resposta."),
    ]
    st = judge.judge_messages(records, "PT-C-ST")
    d = judge.judge_messages(records, "PT-C-D")
    assert all(len(m) == 1 and m[0]["role"] == "user" for m in st + d)
    assert "Responde sempre" not in "".join(m[0]["content"] for m in st + d)  # the judge is not told the target
    assert "plano" not in st[0][0]["content"] and "Primeira resposta." in st[0][0]["content"]
    assert "Primeira resposta." not in st[1][0]["content"]  # current turn only
    assert "Primeira resposta." in d[1][0]["content"] and "Diálogo anterior" in d[1][0]["content"]
    assert "Primeira resposta." not in d[2][0]["content"]  # another setting's dialogue is another history
    assert "Diálogo anterior" not in d[0][0]["content"]  # nothing before turn 1


def test_parse_verdicts() -> None:
    v = judge.parse_verdict('{"reasoning": "usa autocarro", "score": 9, "not_pt": false, "invalid": false}')
    assert v == {"score": 9.0, "not_pt": False, "invalid": False, "reasoning": "usa autocarro"}
    v = judge.parse_verdict('Análise...\n```json\n{"score": "7", "not_pt": "sim", "reasoning": "x"}\n```')
    assert v is not None and v["score"] == 7.0 and v["not_pt"] is True and v["invalid"] is None
    assert judge.parse_verdict('{"score": 11, "not_pt": false}') is None  # out of range: missing, not clipped
    assert judge.parse_verdict("não sei") is None
    assert judge.parse_verdict(None) is None
    assert judge._fallback_parse('a {"score": 3} b') == {"score": 3}


def test_judge_rows_count_failures_as_missing() -> None:
    records = [_record("pt-PT", "p0", t) for t in (1, 2, 3, 4)]

    class FakeClient:
        def map(self, list_of_messages: list) -> list:
            self.sent = list_of_messages
            return [
                '{"score": 8, "not_pt": false, "invalid": false, "reasoning": "ok"}',
                types.SimpleNamespace(text='{"score": 2, "not_pt": true, "invalid": false, "reasoning": "es"}'),
                None,
                "sem JSON",
            ]

    client = FakeClient()
    rows = judge.judge_p3b3(records, client)
    assert len(client.sent) == 4
    assert [r["scorer"] for r in rows] == ["judge:PT-C-ST"] * 4
    assert [r["score"] for r in rows] == [80.0, 20.0, None, None]
    assert [r["status"] for r in rows] == ["ok", "ok", "judge_failed", "unparseable"]
    table = agg.summary(rows)
    row = table.iloc[0]
    # Headline: only the Portuguese, scored answer (80); the not_pt one is out; the failures are missing.
    assert (row["score"], row["n"], row["n_total"], row["n_missing"]) == (80.0, 1, 4, 2)
    assert row["pct_not_pt"] == 50.0 and row["pct_invalid"] == 0.0


# --------------------------------------------------------------------------- aggregation


def _row(setting: str, turn: int, scorer: str, score: float | None, status: str = "ok", model: str = "m", **flags: Any) -> dict:
    return p3b3.scored_row(_record(setting, f"d{turn}", turn, model=model), scorer, score, status=status, **flags)


def test_summary_by_hand() -> None:
    rows = [
        # judge, pt-PT: 90 and 70 count; 10 is not Portuguese; one failure. Mean (90 + 70) / 2 = 80.
        _row("pt-PT", 1, "judge", 90.0, not_pt=False, invalid=False),
        _row("pt-PT", 2, "judge", 70.0, not_pt=False, invalid=True),
        _row("pt-PT", 3, "judge", 10.0, not_pt=True, invalid=False),
        _row("pt-PT", 1, "judge", None, status="judge_failed"),
        # classifier, pt-PT: LID flags, no invalid flag. Mean of 40 and 60 = 50.
        _row("pt-PT", 1, "VId", 40.0, not_pt=False),
        _row("pt-PT", 2, "VId", 60.0, not_pt=False),
        _row("pt-PT", 3, "VId", 99.0, not_pt=True),
        # judge, none setting.
        _row("none", 1, "judge", 30.0, not_pt=False, invalid=False),
    ]
    table = agg.summary(rows)
    assert list(table["setting"]) == ["none", "pt-PT", "pt-PT"]  # paper order, not alphabetical
    j = table[(table["setting"] == "pt-PT") & (table["scorer"] == "judge")].iloc[0]
    assert (j["score"], j["n"], j["n_total"], j["n_missing"], j["n_abstain"]) == (80.0, 2, 4, 1, 0)
    assert j["coverage"] == 0.75
    assert j["pct_not_pt"] == pytest.approx(100 / 3) and j["pct_invalid"] == pytest.approx(100 / 3)
    c = table[table["scorer"] == "VId"].iloc[0]
    assert (c["score"], c["n"], c["coverage"]) == (50.0, 2, 1.0)
    assert c["pct_not_pt"] == pytest.approx(100 / 3) and math.isnan(c["pct_invalid"])
    wide = agg.wide(table)
    assert wide.loc["m", ("pt-PT", "judge")] == 80.0 and wide.loc["m", ("none", "judge")] == 30.0


def test_turn_table_and_plot(tmp_path: Path) -> None:
    rows = []
    for model, base in (("A", 90.0), ("B", 60.0)):
        for setting in p3b3.SETTINGS:
            for turn in (1, 2, 3, 4):
                rows.append(_row(setting, turn, "judge", base - 10 * turn, model=model, not_pt=False, invalid=False))
    rows.append(_row("pt-PT", 2, "judge", None, status="unparseable", model="A"))
    table = agg.turns(rows, max_turn=3)
    assert len(table) == 2 * 3 * 3
    a = table[(table["model"] == "A") & (table["setting"] == "pt-PT")]
    assert list(a["score"]) == [80.0, 70.0, 60.0] and list(a["n"]) == [1, 1, 1]
    out = tmp_path / "turns.png"
    agg.plot_turns(agg.turns(rows), out, scorer="judge")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # A turn table read back from CSV (no categorical settings) plots too.
    agg.turns(rows).to_csv(tmp_path / "turns.csv", index=False)
    agg.plot_turns(pd.read_csv(tmp_path / "turns.csv"), tmp_path / "again.png", scorer="judge")
    assert (tmp_path / "again.png").exists()


def test_summary_reads_json_round_tripped_rows(tmp_path: Path) -> None:
    rows = [_row("none", 1, "judge", 50.0, not_pt=False, invalid=None), _row("none", 2, "judge", None, status="judge_failed")]
    path = tmp_path / "rows.json"
    pd.DataFrame(rows).to_json(path, orient="records")
    back = pd.read_json(path, orient="records")
    table = agg.summary(back)
    assert table.loc[0, "score"] == 50.0 and table.loc[0, "n_missing"] == 1 and math.isnan(table.loc[0, "pct_invalid"])

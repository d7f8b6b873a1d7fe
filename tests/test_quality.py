"""Quality labelling: the heuristic stand-in and the EuroFilter-style HF path.

The HF tests use real (tiny, untrained) models built locally by
tests/tiny_models.py -- no network, no mocks. Their labels are meaningless;
what is tested is the code path: remote code, truncation, batching, output
parsing and error reporting.
"""

from __future__ import annotations

import math
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the Hub in tests

import pytest

from amalia_wf.data.quality import (
    LABELS,
    HeuristicQuality,
    HFQualityClassifier,
    QualityResult,
    build_classifier,
)
from tests.tiny_models import build_tiny_quality_classifier

HIGH = {"min_words": 50, "min_line_punct_ratio": 0.8}
MEDIUM = {"min_words": 10, "min_line_punct_ratio": 0.4}

PROSE = (
    "A Universidade de Coimbra foi fundada em 1290 e é uma das mais antigas da Europa. "
    "Ao longo dos séculos formou juristas, médicos e cientistas que marcaram a história do país. "
    "A sua biblioteca joanina guarda dezenas de milhares de livros raros e manuscritos valiosos.\n"
) * 2  # two prose lines, ~90 words, every line ends in punctuation

TEXTS = [
    PROSE,
    "Menu | Início | Contactos",
    "O Tejo atravessa Lisboa antes de desaguar no oceano Atlântico.",
    "",
    "Compre já! Promoção imperdível, descontos de cinquenta por cento!",
    " ".join(["palavra"] * 2500),  # >2000 words: must be truncated to 512 tokens
    "Os pastéis de nata são um doce tradicional português.\nReceita\nIngredientes",
    "A fotossíntese transforma a energia da luz em energia química.",
    "«Quem tem medo compra um cão», disse ele.",
    "xyzzy Ωmega 12345",
]


# --------------------------------------------------------------------------- heuristic


def test_heuristic_labels_hand_built_texts():
    clf = HeuristicQuality(high=HIGH, medium=MEDIUM)
    medium_text = "Isto é um parágrafo curto mas completo, com mais de dez palavras no total.\nMenu\n"
    low_long_menu = "\n".join(["Início", "Notícias", "Desporto", "Contactos"] * 20)  # 80 words, no punctuation
    texts = [PROSE, medium_text, "Olá.", low_long_menu, ""]
    results = clf.classify(texts)
    assert [r.label for r in results] == ["high", "medium", "low", "low", "low"]
    assert all(isinstance(r, QualityResult) for r in results)
    assert results[1].scores == {"words": 15.0, "line_punct_ratio": 0.5}
    assert results[3].scores["line_punct_ratio"] == 0.0 and results[3].scores["words"] == 80.0
    # every accepted line-ending character counts
    endings = "\n".join(f"linha {c}" for c in '.!?…:;"»)')
    assert clf.classify([endings])[0].scores["line_punct_ratio"] == 1.0


def test_heuristic_threshold_errors():
    with pytest.raises(ValueError, match="min_line_punct_ratio"):
        HeuristicQuality(high={"min_words": 50, "min_line_punct_ratio": 0.1}, medium=MEDIUM)
    with pytest.raises(ValueError, match="min_words"):
        HeuristicQuality(high={"min_words": 5, "min_line_punct_ratio": 0.9}, medium=MEDIUM)
    with pytest.raises(ValueError, match="min_words"):
        HeuristicQuality(high={"min_line_punct_ratio": 0.9}, medium=MEDIUM)


def test_build_classifier_from_config():
    clf = build_classifier({"method": "heuristic", "heuristic": {"high": HIGH, "medium": MEDIUM}})
    assert isinstance(clf, HeuristicQuality)
    with pytest.raises(ValueError, match="data.quality.method"):
        build_classifier({"method": "fasttext"})


# --------------------------------------------------------------------------- HF path


@pytest.fixture(scope="module")
def remote_model(tmp_path_factory):
    return build_tiny_quality_classifier(tmp_path_factory.mktemp("eurofilter_tiny"), seed=0, remote_code=True)


@pytest.fixture(scope="module")
def plain_model(tmp_path_factory):
    return build_tiny_quality_classifier(tmp_path_factory.mktemp("plain_tiny"), seed=0, remote_code=False)


def _check_results(results: list[QualityResult], n: int) -> None:
    assert len(results) == n
    for r in results:
        assert r.label in LABELS
        probs = [r.scores[f"p_{name}"] for name in LABELS]
        assert math.isclose(sum(probs), 1.0, abs_tol=1e-5)
        assert r.label == LABELS[probs.index(max(probs))]


def _assert_same(a: list[QualityResult], b: list[QualityResult]) -> None:
    assert [r.label for r in a] == [r.label for r in b]
    for ra, rb in zip(a, b):
        assert ra.scores.keys() == rb.scores.keys()
        for key in ra.scores:
            assert ra.scores[key] == pytest.approx(rb.scores[key], abs=1e-5), key


def test_hf_remote_code_classifier(remote_model):
    clf = HFQualityClassifier(str(remote_model), batch_size=4, device="cpu")
    assert clf.tokenizer(TEXTS[5], truncation=True, max_length=512)["input_ids"].__len__() == 512
    first = clf.classify(TEXTS)
    _check_results(first, len(TEXTS))
    # EuroFilter-like extra output is recorded as a score
    assert all(isinstance(r.scores["educational_score"], float) for r in first)
    _assert_same(first, clf.classify(TEXTS))  # stable across calls
    one_by_one = HFQualityClassifier(str(remote_model), batch_size=1, device="cpu").classify(TEXTS)
    _assert_same(first, one_by_one)  # padding/batching does not change results
    assert clf.classify([]) == []


def test_hf_plain_sequence_classifier_via_config(plain_model):
    clf = build_classifier(
        {
            "method": "hf",
            "hf": {"model": str(plain_model), "batch_size": 3, "max_length": 512, "device": "auto",
                   "dtype": "bfloat16", "trust_remote_code": True},
        }
    )
    assert isinstance(clf, HFQualityClassifier)
    import torch

    if clf.device.type == "cpu":  # bf16 requested, but CPU always runs float32
        assert next(clf.model.parameters()).dtype == torch.float32
    results = clf.classify(TEXTS)
    _check_results(results, len(TEXTS))
    assert set(results[0].scores) == {"p_low", "p_medium", "p_high"}


def test_tiny_builder_is_deterministic(tmp_path, plain_model):
    other = build_tiny_quality_classifier(tmp_path / "again", seed=0, remote_code=False)
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert (other / name).read_bytes() == (plain_model / name).read_bytes(), name


def test_two_label_head_is_rejected(tmp_path):
    from transformers import BertConfig, BertForSequenceClassification

    model_dir = build_tiny_quality_classifier(tmp_path / "two_labels", remote_code=False)
    config = BertConfig.from_pretrained(model_dir)
    config.num_labels = 2
    config.id2label = {0: "bad", 1: "good"}
    config.label2id = {"bad": 0, "good": 1}
    BertForSequenceClassification(config).save_pretrained(model_dir)
    with pytest.raises(ValueError, match="two_labels"):
        HFQualityClassifier(str(model_dir), device="cpu").classify(TEXTS[:2])


def test_missing_model_dir_is_named(tmp_path):
    missing = tmp_path / "no_such_model"
    with pytest.raises(Exception) as info:
        HFQualityClassifier(str(missing), device="cpu")
    assert str(missing) in str(info.value)


def test_failing_batch_raises_with_range(tmp_path):
    model_dir = build_tiny_quality_classifier(tmp_path / "broken", remote_code=True)
    modeling = model_dir / "modeling_tiny_eurofilter.py"
    source = modeling.read_text()
    anchor = "        hidden = self.encoder(\n"
    assert anchor in source
    # Fail only on batches holding a document truncated to the full 512 tokens.
    modeling.write_text(source.replace(
        anchor, "        if input_ids.shape[1] >= 512:\n            raise ValueError('injected failure')\n" + anchor
    ))
    clf = HFQualityClassifier(str(model_dir), batch_size=2, device="cpu")
    assert len(clf.classify(TEXTS[:5])) == 5  # short documents still work
    with pytest.raises(RuntimeError, match=r"\[4, 6\)") as info:
        clf.classify(TEXTS)  # TEXTS[5] is the long one -> batch [4, 6)
    assert "injected failure" in str(info.value)
    assert str(model_dir) in str(info.value)


def test_nan_logits_raise(tmp_path):
    model_dir = build_tiny_quality_classifier(tmp_path / "nan_head", remote_code=True)
    modeling = model_dir / "modeling_tiny_eurofilter.py"
    source = modeling.read_text()
    anchor = "quality_logits=self.quality_head(cls),"
    assert anchor in source
    modeling.write_text(source.replace(anchor, "quality_logits=self.quality_head(cls) * float('nan'),"))
    clf = HFQualityClassifier(str(model_dir), batch_size=4, device="cpu")
    with pytest.raises(RuntimeError, match=r"non-finite logits.*\[0, 3\)"):
        clf.classify(TEXTS[:3])

"""Held-out perplexity (amalia_wf.evaluate.perplexity, amalia_wf.tables.heldout): the windowed
likelihood is the model's own loss, the bootstrap is paired and seeded, a tiny model taught pt-PT
finds the pt-PT side of parallel pages less surprising, and the table shows each value with its
standard error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from amalia_wf.evaluate import perplexity as ppl
from amalia_wf.evaluate.models import ModelSpec
from amalia_wf.tables import heldout
from tests.conftest import TINY_LLAMA

# (pt-PT, pt-BR) translations that differ in the words the varieties use.
SENTENCES = [
    ("Guarde o ficheiro antes de fechar o ecrã.", "Salve o arquivo antes de fechar a tela."),
    ("O utilizador escolhe o ficheiro no ecrã inicial.", "O usuário escolhe o arquivo na tela inicial."),
    ("Para guardar o ficheiro, o utilizador carrega no botão.", "Para salvar o arquivo, o usuário clica no botão."),
    ("O ecrã mostra o nome do utilizador e do ficheiro.", "A tela mostra o nome do usuário e do arquivo."),
]


def pages(n: int = 8) -> list[dict]:
    """Held-out pairs in pair_debian_pages' format, each page two of the sentences."""
    out = []
    for i in range(n):
        picked = [SENTENCES[i % 4], SENTENCES[(i + 1) % 4]]
        out.append({"key": f"page{i}", "source": "fixture"}
                   | {v: {"title": f"Página {i}", "blocks": [s[j] for s in picked]} for j, v in enumerate(ppl.VARIETIES)})
    return out


@pytest.fixture(scope="module")
def taught(tmp_path_factory) -> Path:
    """A tiny Llama (tokenizer trained on both varieties) taught 60 Adam steps of the pt-PT side only."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from amalia_wf.train.tokenizer import train_bpe

    out = tmp_path_factory.mktemp("taught")
    tok = train_bpe([s for pair in SENTENCES for s in pair] * 5, 400, out)
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**TINY_LLAMA, vocab_size=len(tok), pad_token_id=tok.pad_token_id))
    batch = tok([pt for pt, _ in SENTENCES], padding=True, return_tensors="pt")
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):
        loss = model(**batch, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.save_pretrained(out)
    return out


def test_windowed_nll_is_the_models_own_loss_and_predicts_every_token_once(taught):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok, model = AutoTokenizer.from_pretrained(taught), AutoModelForCausalLM.from_pretrained(taught).eval()
    text = " ".join(pt for pt, _ in SENTENCES)
    ids = tok(text, add_special_tokens=False)["input_ids"]
    nll, count = ppl.text_nll(model, tok, text, window=4096)
    import torch

    with torch.inference_mode():
        loss = float(model(input_ids=torch.tensor([ids]), labels=torch.tensor([ids])).loss)
    assert count == len(ids) - 1 and nll / count == pytest.approx(loss, rel=1e-5)
    for window in (2, 5, 16):  # consecutive windows: each token after the first is predicted once
        assert ppl.text_nll(model, tok, text, window)[1] == len(ids) - 1


def test_bootstrap_is_paired_and_seeded():
    rng = np.random.default_rng(1)
    tokens = np.repeat(rng.integers(50, 150, size=(40, 1)), 2, axis=1).astype(float)
    nll = tokens * rng.uniform(2.0, 3.0, size=(40, 1))  # both sides of each page alike: every resample's ratio is 1
    first = ppl.bootstrap_se(nll, tokens, 500, seed=3)
    assert first == ppl.bootstrap_se(nll, tokens, 500, seed=3)
    assert first["ratio"] == pytest.approx(1.0) and first["ratio_se"] < 1e-12 < first["pt_pt_se"]
    assert first["pt_pt"] == pytest.approx(np.exp(nll[:, 0].sum() / tokens[:, 0].sum()))


def test_a_model_taught_pt_pt_prefers_the_pt_pt_side_and_the_table_says_so(taught, tmp_path):
    result = ppl.heldout_perplexity(str(taught), pages(), window=64, samples=200, seed=0, device="cpu")
    assert result["pt_pt"] < result["pt_br"] and result["ratio"] > 1 + 3 * result["ratio_se"]
    assert result["pages"] == 8 and result["tokens"]["pt_pt"] > 0
    path = tmp_path / "heldout_perplexity.json"
    path.write_text(json.dumps({"model": "tiny", "model_source": str(taught), **result}))
    spec = ModelSpec(name="tiny", group="fully_open", chat_template=False, paper_row=None, path=str(taught))
    out = {ext: str(tmp_path / f"t.{ext}") for ext in ("csv", "md", "tex", "html")}
    heldout.build([spec], {"tiny": str(path)}, 0.5, out)
    md = Path(out["md"]).read_text()
    assert f"{result['pt_pt']:.2f} ±{result['pt_pt_se']:.2f} / –" in md and "Not in the paper" in md
    header = Path(out["csv"]).read_text().splitlines()[0].split(",")
    assert header[4:6] == ["reproduced", "stderr"]


def test_no_heldout_pages_is_an_error_naming_the_key(taught):
    with pytest.raises(ValueError, match="heldout_fraction"):
        ppl.heldout_perplexity(str(taught), [], window=64, samples=10, seed=0)

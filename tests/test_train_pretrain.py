"""Continued pretraining: token shards, packing with per-document attention, the longer context, resume."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from amalia_wf.io import read_json, write_jsonl_gz
from amalia_wf.train.models import init_tiny_llama
from amalia_wf.train.packing import PackedDataset, read_texts, tokenize_main, tokenize_source
from amalia_wf.train.pretrain import build_trainer, run_pretraining
from amalia_wf.train.pretrain import main as pretrain_main
from amalia_wf.train.tokenizer import EOS, train_bpe
from tests.conftest import TINY_LLAMA

WORDS = (
    "o comboio para o Porto parte da estação de Santa Apolónia às nove horas e a câmara municipal "
    "anunciou obras na avenida principal enquanto os alunos estudaram matemática história e ciências "
    "naturais na aldeia as pessoas reúnem-se na praça ao fim da tarde junto ao Tejo"
).split()
# lengths from 1 to 90 words: short documents share a block, long ones cross block boundaries
TEXTS = [" ".join(WORDS[(7 * i + 3 * j) % len(WORDS)] for j in range(1 + (37 * i) % 90)) + "." for i in range(150)]
SEQ_LEN = 64


@pytest.fixture(scope="module")
def tok_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tokenizer")
    train_bpe(TEXTS, 400, out)
    return out


@pytest.fixture(scope="module")
def shard(tok_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    prefix = tmp_path_factory.mktemp("shards") / "pt"
    tokenize_source(tok_dir, TEXTS, None, prefix, batch_size=16)  # several batches
    return prefix


def load_shard(prefix: Path) -> tuple[np.ndarray, np.ndarray]:
    return np.fromfile(f"{prefix}.bin", dtype=np.uint32), np.fromfile(f"{prefix}.idx", dtype=np.int64)


def test_tokenize_round_trips_documents_with_eos(tok_dir: Path, shard: Path) -> None:
    tok = AutoTokenizer.from_pretrained(tok_dir)
    tokens, starts = load_shard(shard)
    assert len(starts) == len(TEXTS) and starts[0] == 0
    for text, a, b in zip(TEXTS, starts, [*starts[1:], len(tokens)]):
        doc = tokens[a:b].tolist()
        assert doc[-1] == tok.convert_tokens_to_ids(EOS) and tok.eos_token_id not in doc[:-1]
        assert tok.backend_tokenizer.decode(doc[:-1]) == text


def test_tokenize_budget_is_a_maximum_and_keeps_a_prefix(tok_dir: Path, shard: Path, tmp_path: Path) -> None:
    tokens, starts = load_shard(shard)
    budget = int(starts[40]) + 5  # cuts document 40 after five tokens
    stats = tokenize_source(tok_dir, iter(TEXTS), budget, tmp_path / "cut", batch_size=16)
    cut_tokens, cut_starts = load_shard(tmp_path / "cut")
    assert stats == {"documents": 41, "tokens": budget}
    assert np.array_equal(cut_tokens, tokens[:budget]) and np.array_equal(cut_starts, starts[:41])


def test_tokenize_is_deterministic_across_batch_sizes(tok_dir: Path, shard: Path, tmp_path: Path) -> None:
    tokenize_source(tok_dir, TEXTS, None, tmp_path / "again", batch_size=1000)
    for suffix in (".bin", ".idx"):
        assert Path(f"{shard}{suffix}").read_bytes() == (tmp_path / f"again{suffix}").read_bytes()


def test_cli_reads_jsonl_gz_and_txt(tok_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    part = tmp_path / "part-00000.jsonl.gz"
    write_jsonl_gz(part, [{"id": str(i), "text": t, "metadata": {}} for i, t in enumerate(TEXTS[:3])])
    long_doc = tmp_path / "long.txt"
    long_doc.write_text("primeiro parágrafo\n\nsegundo parágrafo do mesmo documento\n", encoding="utf-8")
    assert list(read_texts([part, long_doc])) == [*TEXTS[:3], long_doc.read_text(encoding="utf-8")]
    tokenize_main(["--tokenizer", str(tok_dir), "--input", str(part), str(long_doc), "--out", str(tmp_path / "cli")])
    stats = json.loads(capsys.readouterr().out)
    assert stats["documents"] == 4 and stats["tokens"] == (tmp_path / "cli.bin").stat().st_size // 4


def test_blocks_restart_positions_exactly_at_document_starts(shard: Path) -> None:
    tokens, starts = load_shard(shard)
    ds = PackedDataset([(shard, 1.0)], SEQ_LEN)
    assert isinstance(ds.shards[0].tokens, np.memmap)
    assert len(ds) == len(tokens) // SEQ_LEN
    for i in range(len(ds)):
        item = ds[i]
        lo = i * SEQ_LEN
        assert all(v.dtype == torch.long and v.shape == (SEQ_LEN,) for v in item.values())
        assert np.array_equal(item["input_ids"].numpy(), tokens[lo : lo + SEQ_LEN])
        assert torch.equal(item["labels"], item["input_ids"])
        expected_zeros = {0} | {int(s) - lo for s in starts if lo <= s < lo + SEQ_LEN}
        positions = item["position_ids"].numpy()
        assert set(np.flatnonzero(positions == 0)) == expected_zeros
        assert np.all((np.diff(positions) == 1) | (positions[1:] == 0))


def test_weights_upsample_and_subsample(shard: Path) -> None:
    n = len(load_shard(shard)[0])
    once, twice, half = (PackedDataset([(shard, w)], SEQ_LEN) for w in (1.0, 2.0, 0.5))
    assert (len(twice), len(half)) == (2 * n // SEQ_LEN, round(n / 2) // SEQ_LEN)
    assert abs(len(twice) - 2 * len(once)) <= 1 and abs(2 * len(half) - len(once)) <= 1
    seam_block = n // SEQ_LEN  # holds the end of the first copy and the start of the second
    positions = twice[seam_block]["position_ids"].numpy()
    assert positions[n - seam_block * SEQ_LEN] == 0
    mixed = PackedDataset([(shard, 0.5), (shard, 1.0)], SEQ_LEN)
    assert len(mixed) == (round(n / 2) + n) // SEQ_LEN


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_packed_documents_do_not_attend_to_each_other(tok_dir: Path, shard: Path, tmp_path: Path, attn: str) -> None:
    init_tiny_llama(TINY_LLAMA, AutoTokenizer.from_pretrained(tok_dir), seed=0, out_dir=tmp_path)
    model = AutoModelForCausalLM.from_pretrained(tmp_path, attn_implementation=attn).eval()
    # the first block that holds a whole document after the start of another
    block = next(b for b in PackedDataset([(shard, 1.0)], SEQ_LEN) if (b["position_ids"] == 0).sum() >= 3)
    ids, positions = block["input_ids"][None], block["position_ids"][None]
    first, second = np.flatnonzero(positions[0].numpy() == 0)[1:3]
    alone = ids[:, first:second]
    with torch.no_grad():
        # use_cache=False as in training: a KV cache (the config default) turns the packed mask off
        packed = model(input_ids=ids, position_ids=positions, use_cache=False).logits[0, first:second]
        reference = model(input_ids=alone, use_cache=False).logits[0]
        leaky = model(input_ids=ids, position_ids=positions, attention_mask=torch.ones_like(ids)).logits
    leaky = leaky[0, first:second]
    torch.testing.assert_close(packed, reference, atol=1e-4, rtol=0)
    assert (leaky - reference).abs().max() > 1e-3  # the check can fail: plain causal attention differs


def cfg(max_steps: int) -> dict:
    return {
        "rope_theta": 1_000_000.0,
        "seq_len": 128,  # twice the base model's 64 positions
        "max_steps": max_steps,
        "per_device_train_batch_size": 2,
        "gradient_accumulation_steps": 1,
        "learning_rate": 1e-3,
        # the same schedule for 2 and 4 steps (warmup = ceil(0.25 * steps) = 1), so an interrupted
        # run and a straight one must agree step for step
        "lr_scheduler_type": "constant_with_warmup",
        "warmup_ratio": 0.25,
        "weight_decay": 0.01,
        "bf16": True,  # requested as on the cluster; use_bf16 turns it off on CPU
        "logging_steps": 1,
        "save_steps": 2,
        "seed": 3,
    }


def csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def assert_same_weights(a: Path, b: Path) -> None:
    ours, theirs = (AutoModelForCausalLM.from_pretrained(d).state_dict() for d in (a, b))
    for key, value in ours.items():
        torch.testing.assert_close(value, theirs[key], atol=1e-6, rtol=0)


@pytest.fixture(scope="module")
def runs(tok_dir: Path, shard: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One run stopped after 2 of 4 steps and resumed, and one straight 4-step run through the CLI."""
    root = tmp_path_factory.mktemp("cpt")
    tokenizer = AutoTokenizer.from_pretrained(tok_dir)
    init_tiny_llama({**TINY_LLAMA, "max_position_embeddings": 64}, tokenizer, seed=0, out_dir=root / "base")
    sources = [(shard, 2.0)]
    for steps in (2, 4):  # the first run stands for one killed at its step-2 checkpoint
        state = run_pretraining(root / "base", sources, cfg(steps), root / "resumed", root / "ck_resumed",
                                root / "resumed.csv")
    pretrain_main([
        "--base", str(root / "base"), "--source", str(shard), "2.0", "--out", str(root / "straight"),
        "--checkpoints", str(root / "ck_straight"), "--metrics", str(root / "straight.csv"),
        "--cfg-json", json.dumps(cfg(4)),
    ])  # fmt: skip
    return {"root": root, "resumed_state": state}


def test_trainer_feeds_the_packed_mask_no_attention_mask_or_cache(runs: dict, shard: Path, tmp_path: Path) -> None:
    # either would silently switch per-document attention back to plain causal attention
    trainer = build_trainer(runs["root"] / "base", [(shard, 1.0)], cfg(1), tmp_path / "ck", tmp_path / "m.csv")
    batch = next(iter(trainer.get_train_dataloader()))
    assert set(batch) == {"input_ids", "labels", "position_ids"}
    assert batch["input_ids"].shape == (2, 128) and trainer.model.config.use_cache is False


def test_output_model_has_the_longer_context(runs: dict) -> None:
    for name in ("resumed", "straight"):
        config = AutoConfig.from_pretrained(runs["root"] / name)
        assert config.rope_parameters["rope_theta"] == 1_000_000.0 and config.max_position_embeddings == 128
        assert AutoTokenizer.from_pretrained(runs["root"] / name).eos_token == EOS
    base = AutoConfig.from_pretrained(runs["root"] / "base")
    assert base.rope_parameters["rope_theta"] == 10000 and base.max_position_embeddings == 64


def test_metrics_and_provenance(runs: dict) -> None:
    rows = csv_rows(runs["root"] / "straight.csv")
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]
    assert all(np.isfinite(float(r["loss"])) and float(r["tokens_per_second"]) > 0 for r in rows)
    prov = read_json(runs["root"] / "straight" / "provenance.json")
    assert prov["stage"] == "cpt" and prov["steps"] == 4 and prov["hyperparameters"]["seq_len"] == 128
    # A base without base_model's provenance (not built by the workflow) is recorded by its path.
    assert prov["config"]["start_checkpoint"] == {"path": str(runs["root"] / "base")}
    assert any(p.endswith("pt.bin") for p in prov["inputs"]) and any(p.endswith("pt.idx") for p in prov["inputs"])


def test_resume_continues_from_the_checkpoint(runs: dict) -> None:
    state = runs["resumed_state"]
    assert state.global_step == 4 and state.num_input_tokens_seen == 4 * 2 * 128
    resumed, straight = csv_rows(runs["root"] / "resumed.csv"), csv_rows(runs["root"] / "straight.csv")
    # the second run logged only steps 3 and 4: a restart would have appended 1..4 again
    assert [int(r["step"]) for r in resumed] == [1, 2, 3, 4]
    # and it trained on the same batches with the restored optimizer as the uninterrupted run
    for a, b in zip(resumed, straight):
        assert float(a["loss"]) == pytest.approx(float(b["loss"]), rel=1e-5)
    assert_same_weights(runs["root"] / "resumed", runs["root"] / "straight")


def test_rerun_after_the_final_checkpoint_trains_no_extra_step(runs: dict, shard: Path, tmp_path: Path) -> None:
    """A job killed between its last checkpoint and keeping its output (Ctrl-C on Slurm) is rerun:
    it must end where the uninterrupted run did, not one optimizer step later."""
    root = runs["root"]
    shutil.copytree(root / "ck_straight", tmp_path / "ck")
    shutil.copy(root / "straight.csv", tmp_path / "metrics.csv")
    state = run_pretraining(root / "base", [(shard, 2.0)], cfg(4), tmp_path / "out", tmp_path / "ck", tmp_path / "metrics.csv")
    assert state.global_step == 4
    # redone from the step-2 checkpoint: steps 3 and 4 logged again, nothing after 4
    assert [int(r["step"]) for r in csv_rows(tmp_path / "metrics.csv")] == [1, 2, 3, 4, 3, 4]
    assert_same_weights(tmp_path / "out", root / "straight")

"""SFT and DPO on a tiny Llama with the real trl/transformers stack, in one process and under torchrun."""

from __future__ import annotations

import csv
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from amalia_wf.io import write_jsonl_gz
from amalia_wf.train.chat import ChatDataError, load_chat_file, split_validation
from amalia_wf.train.dpo import check_pairs, gradient_accumulation, run_dpo
from amalia_wf.train.dpo import main as dpo_main
from amalia_wf.train.models import init_tiny_llama
from amalia_wf.train.sft import main as sft_main
from amalia_wf.train.sft import make_sft_trainer, run_sft
from amalia_wf.train.sft_mixture import count_tokens
from amalia_wf.train.sft_mixture import main as mixture_main
from amalia_wf.train.tokenizer import train_bpe
from tests.conftest import TINY_LLAMA

REPO = Path(__file__).resolve().parents[1]
PT_CHAT, EN_CHAT = REPO / "data/sft/pt_pt_chat.jsonl", REPO / "data/sft/en_chat.jsonl"
TORCHRUN = str(Path(sys.executable).parent / "torchrun")
SFT_CFG = {
    "max_length": 256,
    "learning_rate": 1e-3,
    "lr_scheduler_type": "cosine",
    "warmup_ratio": 0.03,
    "weight_decay": 0.01,
    "bf16": True,  # as the paper; use_bf16 must turn it off on this CPU
    "per_device_train_batch_size": 2,
    "gradient_accumulation_steps": 1,
    "logging_steps": 1,
    "save_steps": 2,
    "eval_steps": 2,
    "seed": 0,
}
DPO_CFG = {
    "beta": 0.1,
    "learning_rate": 1e-3,
    "num_train_epochs": 1,
    "per_device_train_batch_size": 2,
    "effective_batch_size": 4,
    "max_length": 256,
    "precompute_ref_log_probs": True,
    "bf16": True,
    "logging_steps": 1,
    "save_steps": 1,
    "seed": 0,
}


def entry(name: str, path: Path, tokens: int, language: str) -> dict:
    return {
        "name": name, "task": "conversation", "language": language, "tokens": tokens,
        "license": "CC0", "source": "manual", "path": str(path),
    }


MIXTURE = [entry("pt", PT_CHAT, 600, "PT"), entry("en", EN_CHAT, 400, "EN")]


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def state_dict(model_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(model_dir / "model.safetensors")


def torchrun(module: str, *args: str, cwd: Path) -> None:
    # PYTHONPATH: the processes import this checkout's amalia_wf, not the one the environment was installed from.
    env = {**os.environ, "ACCELERATE_USE_CPU": "true", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [TORCHRUN, "--standalone", "--nproc_per_node", "2", "-m", module, *args]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]


@pytest.fixture(scope="module")
def chats() -> list[dict]:
    return load_chat_file(PT_CHAT)[0] + load_chat_file(EN_CHAT)[0]


@pytest.fixture(scope="module")
def base_model(tmp_path_factory: pytest.TempPathFactory, chats: list[dict]) -> Path:
    """A BPE tokenizer trained on the bundled chats and a randomly initialised tiny Llama."""
    root = tmp_path_factory.mktemp("base")
    tok = train_bpe((m["content"] for r in chats for m in r["messages"]), 600, root / "tok")
    init_tiny_llama(TINY_LLAMA, tok, 0, root / "model")
    return root / "model"


@pytest.fixture(scope="module")
def sft_run(tmp_path_factory: pytest.TempPathFactory, base_model: Path, chats: list[dict]) -> SimpleNamespace:
    """Two SFT steps, then a rerun into the same checkpoint directory that goes on to four."""
    root = tmp_path_factory.mktemp("sft")
    run = SimpleNamespace(out=root / "out", ckpt=root / "ckpt", csv=root / "metrics.csv")
    train, val = chats[:24], chats[24:28]
    run.first = run_sft(base_model, train, val, {**SFT_CFG, "max_steps": 2}, run.out, run.ckpt, run.csv)
    run.state = run_sft(base_model, train, val, {**SFT_CFG, "max_steps": 4}, run.out, run.ckpt, run.csv)
    return run


def write_pairs(path: Path, chats: list[dict], n: int) -> Path:
    """Chosen: the conversation's real answer; rejected: the answer to another conversation."""
    with open(path, "w", encoding="utf-8") as f:
        for i, record in enumerate(chats[:n]):
            other = chats[(i + 5) % len(chats)]["messages"][-1]
            *prompt, chosen = record["messages"]
            pair = {"prompt": prompt, "chosen": [chosen], "rejected": [other], "source": "test"}
            f.write(json.dumps(pair, ensure_ascii=False) + "\n")
    return path


# --- chat data ---------------------------------------------------------------------------------

def chat_line(*turns: tuple[str, str]) -> str:
    return json.dumps({"messages": [{"role": role, "content": content} for role, content in turns]})


GOOD = json.loads(chat_line(("user", "Olá"), ("assistant", "Olá! Em que posso ajudar?")))
BAD_LINES = {
    "unknown role": chat_line(("narrator", "x"), ("assistant", "y")),
    "empty user turn": chat_line(("user", "  \n"), ("assistant", "y")),
    "no assistant turn": chat_line(("system", "s"), ("user", "u")),
    "last turn is 'user'": chat_line(("assistant", "a"), ("user", "u")),
    "malformed JSON": '{"messages": [{"role": "user", "content": "sem fim"}',
    "no 'messages'": json.dumps({"text": "só texto"}),
}


def test_bundled_chat_sets_are_valid(chats: list[dict]) -> None:
    (pt, pt_skipped), (en, en_skipped) = load_chat_file(PT_CHAT), load_chat_file(EN_CHAT)
    assert (len(pt), pt_skipped, len(en), en_skipped) == (41, 0, 30, 0)
    assert any(m["role"] == "system" for r in chats for m in r["messages"])
    assert any(sum(m["role"] == "assistant" for m in r["messages"]) > 1 for r in chats)


def test_gzipped_chat_file(tmp_path: Path) -> None:
    write_jsonl_gz(tmp_path / "chat.jsonl.gz", [GOOD, {"messages": []}])
    assert load_chat_file(tmp_path / "chat.jsonl.gz", on_error="skip") == ([GOOD], 1)


@pytest.mark.parametrize("problem", sorted(BAD_LINES))
def test_bad_record_names_file_line_and_problem(tmp_path: Path, problem: str) -> None:
    path = tmp_path / "chat.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + BAD_LINES[problem] + "\n", encoding="utf-8")
    with pytest.raises(ChatDataError, match=rf"{re.escape(str(path))}:2: .*{re.escape(problem)}"):
        load_chat_file(path)


def test_skip_mode_counts_bad_records(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    path.write_text("\n".join([json.dumps(GOOD), *BAD_LINES.values(), json.dumps(GOOD)]) + "\n", encoding="utf-8")
    records, skipped = load_chat_file(path, on_error="skip")
    assert (records, skipped) == ([GOOD, GOOD], len(BAD_LINES))
    with pytest.raises(ValueError, match="on_error"):
        load_chat_file(path, on_error="ignore")


def test_split_validation_is_deterministic_and_disjoint(chats: list[dict]) -> None:
    train, val = split_validation(chats, 0.1, seed=1)
    assert len(val) == 7 and len(train) == len(chats) - 7
    assert {r["id"] for r in train}.isdisjoint(r["id"] for r in val)
    assert split_validation(chats, 0.1, seed=1) == (train, val)
    assert split_validation(chats, 0.1, seed=2) != (train, val)
    # Upsampled copies of one conversation stay on one side.
    upsampled = chats * 3 + chats[:10]
    train, val = split_validation(upsampled, 0.1, seed=1)
    assert len(train) + len(val) == len(upsampled) and len(val) >= 22
    assert {r["id"] for r in train}.isdisjoint(r["id"] for r in val)


# --- SFT ---------------------------------------------------------------------------------------


def test_assistant_only_loss_masks_everything_else(tmp_path: Path, base_model: Path, chats: list[dict]) -> None:
    multi = [r for r in chats if r["messages"][0]["role"] == "system" or len(r["messages"]) > 2][:6]
    cfg = {**SFT_CFG, "max_steps": 1}
    trainer = make_sft_trainer(base_model, multi, multi[:1], cfg, tmp_path / "c", tmp_path / "m.csv")
    tok = trainer.processing_class
    # The mixture's token budgets count what the trainer trains on.
    assert count_tokens(tok, multi) == [len(row["input_ids"]) for row in trainer.train_dataset]
    for record, row in zip(multi, trainer.train_dataset, strict=True):
        ids, labels = row["input_ids"], row["labels"]
        trained = [i for i, label in enumerate(labels) if label != -100]
        assert all(labels[i] == ids[i] for i in trained)
        spans: list[list[int]] = []
        for i in trained:
            if spans and spans[-1][-1] == i - 1:
                spans[-1].append(i)
            else:
                spans.append([i])
        decoded = [tok.decode([ids[i] for i in span]) for span in spans]
        assert decoded == [m["content"] + "<|im_end|>" for m in record["messages"] if m["role"] == "assistant"]


def test_sft_trains_saves_and_picks_best_checkpoint(sft_run: SimpleNamespace) -> None:
    state = sft_run.state
    assert state.global_step == 4
    losses = [h["loss"] for h in state.log_history if "loss" in h]
    assert len(losses) == 4 and all(math.isfinite(x) for x in losses)
    model = AutoModelForCausalLM.from_pretrained(sft_run.out)
    assert model.config.num_hidden_layers == 2
    assert "{% generation %}" in AutoTokenizer.from_pretrained(sft_run.out).chat_template
    rows = read_csv(sft_run.csv)
    assert all(float(r["tokens_per_second"]) > 0 and float(r["peak_memory_mb"]) > 0 for r in rows)
    # The saved model is the checkpoint with the lowest validation loss.
    evals = {h["step"]: h["eval_loss"] for h in state.log_history if "eval_loss" in h}
    best = min(evals, key=evals.get)
    assert state.best_model_checkpoint == str(sft_run.ckpt / f"checkpoint-{best}")
    saved, best_weights = state_dict(sft_run.out), state_dict(Path(state.best_model_checkpoint))
    assert all(torch.equal(saved[k], best_weights[k]) for k in best_weights)


def test_sft_rerun_resumes_from_checkpoint(sft_run: SimpleNamespace) -> None:
    assert sft_run.first.global_step == 2
    assert (sft_run.ckpt / "checkpoint-2").is_dir() and (sft_run.ckpt / "checkpoint-4").is_dir()
    # A restart would log steps 1 and 2 again; the resumed run logs only 3 and 4.
    assert [int(r["step"]) for r in read_csv(sft_run.csv)] == [1, 2, 3, 4]
    assert [h["step"] for h in sft_run.state.log_history if "loss" in h] == [1, 2, 3, 4]


# --- DPO ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("precompute", [True, False])
def test_dpo_starts_from_sft_weights_as_reference(
    tmp_path: Path, sft_run: SimpleNamespace, chats: list[dict], precompute: bool
) -> None:
    pairs = write_pairs(tmp_path / "pairs.jsonl", chats, 8)
    cfg = {**DPO_CFG, "precompute_ref_log_probs": precompute}
    state = run_dpo(sft_run.out, pairs, cfg, tmp_path / "out", tmp_path / "ckpt", tmp_path / "m.csv")
    assert state.global_step == 2  # one epoch of 8 pairs, 4 per optimizer step
    first = next(h for h in state.log_history if "loss" in h)
    # Before the first update the policy equals the reference exactly iff the reference is the SFT model.
    assert first["loss"] == pytest.approx(math.log(2), abs=1e-6)
    assert first["rewards/margins"] == pytest.approx(0.0, abs=1e-6)
    before, after = state_dict(sft_run.out), state_dict(tmp_path / "out")
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert AutoTokenizer.from_pretrained(tmp_path / "out").chat_template


def test_dpo_rejects_bad_batch_and_bad_pairs(tmp_path: Path, sft_run: SimpleNamespace, chats: list[dict]) -> None:
    assert gradient_accumulation({"per_device_train_batch_size": 2, "effective_batch_size": 128}, 4) == 16
    with pytest.raises(ValueError, match=r"train\.dpo\.effective_batch_size=128 .* 3 x 2"):
        gradient_accumulation({"per_device_train_batch_size": 3, "effective_batch_size": 128}, 2)
    pairs = write_pairs(tmp_path / "pairs.jsonl", chats, 4)
    with pytest.raises(ValueError, match=r"train\.dpo\.effective_batch_size=4 .* 3 x 1"):
        cfg = {**DPO_CFG, "per_device_train_batch_size": 3}
        run_dpo(sft_run.out, pairs, cfg, tmp_path / "o", tmp_path / "c", tmp_path / "m.csv")
    with open(pairs, "a", encoding="utf-8") as f:
        *prompt, chosen = chats[0]["messages"]
        f.write(json.dumps({"prompt": prompt, "chosen": [chosen], "rejected": []}) + "\n")
    problem = "'rejected' must be a list of exactly one message"
    with pytest.raises(ChatDataError, match=rf"{re.escape(str(pairs))}:5: {problem}"):
        check_pairs(pairs)


# --- two processes -------------------------------------------------------------------------------


def test_sft_two_processes_share_the_derived_batch(tmp_path: Path, base_model: Path) -> None:
    mixture_cfg = {"seed": 0, "on_bad_record": "fail", "total_tokens": 2200, "max_length": 256, "validation_fraction": 0.2}
    files = {k: tmp_path / f"{k}.jsonl.gz" for k in ("train", "validation")}
    mixture_main(["--tokenizer", str(base_model), "--mixture-json", json.dumps(MIXTURE), "--cfg-json",
                  json.dumps(mixture_cfg), "--stats", str(tmp_path / "mixture.json"),
                  *(a for k, p in files.items() for a in (f"--{k}", str(p)))])  # fmt: skip
    n_train = len(load_chat_file(files["train"])[0])
    cfg = {**SFT_CFG, "max_steps": 2, "target_epochs": 1.0}
    runs = {}
    for procs in (1, 2):
        out = tmp_path / f"out{procs}"
        args = ["--model", str(base_model), "--train", str(files["train"]), "--validation", str(files["validation"]),
                "--mixture-stats", str(tmp_path / "mixture.json"), "--out", str(out),
                "--checkpoints", str(tmp_path / f"ckpt{procs}"), "--metrics", str(tmp_path / f"m{procs}.csv"),
                "--cfg-json", json.dumps(cfg)]  # fmt: skip
        if procs == 1:
            sft_main(args)
        else:
            torchrun("amalia_wf.train.sft", *args, cwd=tmp_path)
        runs[procs] = json.loads((out / "provenance.json").read_text())
        assert {r["world_size"] for r in read_csv(tmp_path / f"m{procs}.csv")} == {str(procs)}
    # One epoch in two steps of 2 per process: the accumulation halves when two processes share each step.
    accumulation = {procs: r["hyperparameters"]["gradient_accumulation_steps"] for procs, r in runs.items()}
    assert accumulation == {1: round(n_train / 4), 2: round(n_train / 8)}
    assert (runs[1]["steps"], runs[2]["steps"]) == (2, 2)
    assert (runs[1]["world_size"], runs[2]["world_size"]) == (1, 2)
    sources = runs[2]["config"]["mixture"]["sources"]
    assert [s["name"] for s in sources] == ["pt", "en"] and [s["budget"] for s in sources] == [1320, 880]
    assert str(files["train"]) in runs[2]["inputs"]


def test_dpo_two_processes_share_the_effective_batch(
    tmp_path: Path, sft_run: SimpleNamespace, chats: list[dict]
) -> None:
    pairs = write_pairs(tmp_path / "pairs.jsonl", chats, 8)
    runs = {}
    for procs in (1, 2):
        out = tmp_path / f"out{procs}"
        args = ["--sft", str(sft_run.out), "--pairs", str(pairs), "--out", str(out),
                "--checkpoints", str(tmp_path / f"ckpt{procs}"), "--metrics", str(tmp_path / f"m{procs}.csv"),
                "--cfg-json", json.dumps(DPO_CFG)]
        if procs == 1:
            dpo_main(args)
        else:
            torchrun("amalia_wf.train.dpo", *args, cwd=tmp_path)
        runs[procs] = json.loads((out / "provenance.json").read_text())
    accumulation = {procs: r["hyperparameters"]["gradient_accumulation_steps"] for procs, r in runs.items()}
    assert (runs[1]["world_size"], runs[2]["world_size"], accumulation) == (1, 2, {1: 2, 2: 1})
    # Effective batch 4 = 2 per process x 2 processes: two steps per epoch; two independent runs would take four.
    assert runs[1]["steps"] == runs[2]["steps"] == 2
    # Same pairs in each optimizer step, gradients averaged across processes: the same losses.
    assert runs[2]["final_losses"] == pytest.approx(runs[1]["final_losses"], rel=1e-4)

"""Preference-pair construction on tiny, locally built models (random weights, real libraries).

The rewards of a random reward model are meaningless; what is tested is the path the paper's
200K x 32 run takes: sampling prompts, generating candidates, scoring, picking best/worst, the
domain strategies, extra datasets, and the CLI that writes pairs and statistics.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer, LlamaForCausalLM

from amalia_wf.generation import GenerationSettings, HFGenerator
from amalia_wf.train.models import init_tiny_llama
from amalia_wf.train.preferences import (
    PAPER_PAIRS,
    RewardScorer,
    best_worst_pairs,
    generate,
    load_preference_dataset,
    main,
    reference_pairs,
    sample_prompts,
    two_model_pairs,
)
from amalia_wf.train.reward_model import init_tiny_reward_model
from amalia_wf.train.tokenizer import train_bpe
from tests.conftest import TINY_LLAMA

REPO = Path(__file__).resolve().parents[1]


SENTENCES = [
    "O Tejo atravessa Lisboa antes de desaguar no oceano Atlântico.",
    "A Universidade de Coimbra é uma das mais antigas da Europa.",
    "O comboio para o Porto parte de Santa Apolónia às nove horas.",
    "Os pastéis de nata são um doce tradicional português.",
    "O fado é um género musical reconhecido pela UNESCO.",
    "O clima do Algarve é ameno durante grande parte do ano.",
    "A água ferve a cem graus Celsius ao nível do mar.",
    "O vinho do Porto é produzido na região demarcada do Douro.",
    "Os Açores e a Madeira são regiões autónomas de Portugal.",
    "Para resolver o problema, é preciso dividir o total por três.",
    "O autocarro chegou atrasado por causa do trânsito.",
    "Quantos quilómetros faltam até Braga? Ainda faltam cinquenta.",
    "Qual é a capital de Portugal? A capital é Lisboa.",
    "Quanto é sete vezes oito? Sete vezes oito são cinquenta e seis.",
    "Explica o que é a fotossíntese em poucas palavras.",
    "Escreve um poema curto sobre o mar.",
    "The river Tagus flows through Lisbon into the Atlantic Ocean.",
    "What is the capital of Portugal? The capital is Lisbon.",
    "How much is seven times eight? Seven times eight is fifty-six.",
    "Write a short poem about the sea and the wind.",
    "Photosynthesis turns light into chemical energy.",
    "The train to Porto leaves at nine in the morning.",
    "Please answer in European Portuguese.",
    "Thank you for your help, have a nice day.",
]


def chat(user: str, answer: str, system: str | None = None) -> dict:
    turns = [{"role": "system", "content": system}] if system else []
    return {"messages": [*turns, {"role": "user", "content": user}, {"role": "assistant", "content": answer}]}


CHATS = [
    chat(SENTENCES[i], SENTENCES[i + 1], "És um assistente útil." if i % 3 == 0 else None) for i in range(0, 20, 2)
]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models gain nothing from threads; spinning threads on a shared 2-core machine cost seconds."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pref_models")
    tok = train_bpe(SENTENCES * 4, 400, root / "tokenizer")
    init_tiny_llama(TINY_LLAMA, tok, 0, root / "policy")
    init_tiny_llama(TINY_LLAMA, tok, 1, root / "weak_policy")
    init_tiny_reward_model(root / "tokenizer", TINY_LLAMA, 0, root / "reward")
    return {"policy": root / "policy", "weak": root / "weak_policy", "reward": root / "reward"}


# --------------------------------------------------------------------------- prompts


def test_sample_prompts_is_deterministic_and_cuts_at_the_last_user_turn():
    multi = {
        "messages": [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "u1"},
            {"role": "assistant", "content": "a1"},
            {"role": "user", "content": "u2"},
            {"role": "assistant", "content": "a2"},
        ]
    }
    unanswered = {
        "messages": [
            {"role": "user", "content": "u"},
            {"role": "assistant", "content": "a"},
            {"role": "user", "content": "?"},
        ]
    }
    no_user = {"messages": [{"role": "system", "content": "s"}, {"role": "assistant", "content": "a"}]}
    records = [*CHATS, multi, unanswered, no_user]

    first, again = sample_prompts(records, 5, seed=3), sample_prompts(records, 5, seed=3)
    assert first == again and len(first) == 5
    for item in first:
        assert item["prompt"][-1]["role"] == "user"
        original = next(r["messages"] for r in records if r["messages"][: len(item["prompt"])] == item["prompt"])
        assert original[len(item["prompt"])] == {"role": "assistant", "content": item["reference"]}

    everything = sample_prompts(records, 100, seed=0)
    assert len(everything) == len(CHATS) + 1  # the unanswered and user-less records cannot be used
    cut = next(s for s in everything if s["reference"] == "a2")
    assert cut["prompt"] == multi["messages"][:4]
    # A source the SFT mixture repeats gives each prompt once.
    assert sorted(map(str, sample_prompts(CHATS * 3, 100, seed=0))) == sorted(map(str, sample_prompts(CHATS, 100, seed=0)))


def test_paper_yaml_preference_mixture_is_section_4_3():
    train = yaml.safe_load((REPO / "config/paper.yaml").read_text())["train"]
    prefs, strategies, dpo = train["preferences"], train["preferences"]["strategies"], train["dpo"]
    sft_path = {e["name"]: e.get("path") for e in train["sft"]["mixture"]}
    # On-policy: 200K prompts from the SFT mixture, 32 samples from the SFT model, ArmoRM best/worst.
    assert strategies["on_policy"] and (prefs["n_prompts"], prefs["n_candidates"]) == (200_000, 32)
    assert prefs["reward"]["hub"] == "RLHFlow/ArmoRM-Llama3-8B-v0.1"
    # Persona sets: the original answer chosen; AMALIA-SFT's rejected for Persona-PT, Qwen3-0.6B's for
    # 100K / 50K / 30K entries of Persona-Nemotron General / Math / Instruction Following.
    persona = {b["name"]: (b.get("model"), b.get("n"), b["paths"]) for b in strategies["persona"]}
    pt = ["Persona-PT General", "Persona-PT Math", "Persona-PT Instruction Following"]
    nemotron = {"General": 100_000, "Math": 50_000, "Instruction Following": 30_000}
    assert persona == {
        "persona-pt": (None, None, [sft_path[name] for name in pt]),
        **{
            f"persona-nemotron-{subset.lower().replace(' ', '-')}": ("Qwen/Qwen3-0.6B", n, [sft_path[f"Persona Nemotron {subset}"]])
            for subset, n in nemotron.items()
        },
    }
    # Math: Qwen3-32B chosen, Qwen3-0.6B rejected.
    assert (strategies["two_model"]["chosen_model"], strategies["two_model"]["rejected_model"]) == ("Qwen/Qwen3-32B", "Qwen/Qwen3-0.6B")
    # The public preference sets and the two safety sets of the paper's list.
    extra = {e["name"]: e["hub"]["dataset"] if "hub" in e else None for e in strategies["extra"]}
    assert extra == {
        "ultrafeedback": "HuggingFaceH4/ultrafeedback_binarized",
        "openassistant-2": None,
        "complex-instructions-dpo": "Abbey4799/Complex-Instructions-DPO",
        "math-dpo": "kira/math-dpo",
        "egida-dpo-llama-3.1-70b": None,
        "harmfulqa": None,
        "pt-safety": None,
    }
    # The counts the paper states (380K) within its 478K pairs; the rest are the sets it gives no count for.
    assert prefs["n_prompts"] + sum(n for _, n, _ in persona.values() if n) == 380_000 < PAPER_PAIRS == 478_000
    # One epoch, batch 128, lr 1e-6 under a linear schedule (amalia_wf.train.dpo), beta 0.1.
    assert (dpo["num_train_epochs"], dpo["effective_batch_size"], dpo["learning_rate"], dpo["beta"]) == (1, 128, 1e-6, 0.1)


# --------------------------------------------------------------------------- generation


def sampling(max_new_tokens: int, top_p: float, n: int) -> GenerationSettings:
    return GenerationSettings(
        max_new_tokens=max_new_tokens, temperature=1.0, top_p=top_p, batch_size=2, seed=0, num_return_sequences=n
    )


def test_hf_generator_samples_n_reproducible_candidates(models):
    prompts = [c["messages"][:-1] for c in CHATS[:3]]
    gen = HFGenerator(models["policy"], sampling(8, 0.95, 3))
    cands = gen.generate(prompts)
    assert len(cands) == 3 and all(len(c) == 3 and all(isinstance(a, str) for a in c) for c in cands)
    assert gen.generate(prompts) == cands
    assert HFGenerator(models["policy"], sampling(8, 0.95, 3)).generate(prompts) == cands
    assert len({a for c in cands for a in c}) > 1  # sampling, not one repeated answer

    # max_new_tokens checked exactly with 1: every answer is the text of one vocabulary entry (empty for a
    # special token). Re-encoding longer answers does not count tokens: a random model emits lone UTF-8
    # bytes, which decode to U+FFFD and re-encode as three.
    tok = AutoTokenizer.from_pretrained(models["policy"])
    one = HFGenerator(models["policy"], sampling(1, 1.0, 4)).generate(prompts)
    single_tokens = {tok.decode([i], skip_special_tokens=True) for i in range(len(tok))}
    assert all(a in single_tokens for c in one for a in c)


def test_candidates_stop_at_every_eos_id_of_the_generation_config(models, tmp_path):
    """A model may list several eos ids in its generation_config (Llama 3, Qwen): each one ends an answer.

    The model is made sure of its next token (a large untied head makes sampling pick the argmax), and that
    token is named as a second eos: every candidate must be that one token, not max_new_tokens of text.
    """
    tok = AutoTokenizer.from_pretrained(models["policy"])
    config = AutoConfig.from_pretrained(models["policy"])
    config.tie_word_embeddings = False
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        model.lm_head.weight.mul_(1000)
    prompt = CHATS[0]["messages"][:-1]
    text = tok.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)
    with torch.no_grad():
        first = int(model(**tok(text, add_special_tokens=False, return_tensors="pt")).logits[0, -1].argmax())
    assert first not in {tok.eos_token_id, tok.convert_tokens_to_ids("<|im_end|>")}  # else the test proves nothing
    model.generation_config.eos_token_id = [tok.eos_token_id, first]
    model.save_pretrained(tmp_path / "policy")
    tok.save_pretrained(tmp_path / "policy")

    cfg = {"n_prompts": 1, "n_candidates": 3, "max_new_tokens": 8, "temperature": 1.0, "top_p": 1.0, "batch_size": 2,
           "seed": 0, "backend": "hf", "strategies": {"on_policy": True}}  # fmt: skip
    [record] = generate(str(tmp_path / "policy"), [str(write_jsonl(tmp_path / "sft.jsonl", CHATS[:1]))], cfg)
    assert record["candidates"] == [tok.decode([first], skip_special_tokens=True)] * 3


# --------------------------------------------------------------------------- reward


PROMPTS = [c["messages"][:-1] for c in CHATS[:3]]
CANDIDATES = [
    ["A capital é Lisboa.", "Lisboa.", "The capital is Lisbon."],
    ["Cinquenta e seis.", "56", "Seven times eight is fifty-six."],
    ["O mar e o vento.", "Escreve um poema.", "Obrigado."],
]


def test_tiny_reward_model_is_a_seeded_scalar_head(models, tmp_path):
    def build(seed: int, name: str) -> AutoModelForSequenceClassification:
        return AutoModelForSequenceClassification.from_pretrained(
            init_tiny_reward_model(models["policy"], TINY_LLAMA, seed, tmp_path / name)
        )

    first = AutoModelForSequenceClassification.from_pretrained(models["reward"])
    again, other = build(0, "a"), build(1, "b")
    assert first.config.num_labels == 1
    assert first.config.pad_token_id == AutoTokenizer.from_pretrained(models["reward"]).pad_token_id
    assert all(torch.equal(x, y) for x, y in zip(first.state_dict().values(), again.state_dict().values(), strict=True))
    assert not torch.equal(first.score.weight, other.score.weight)


def test_reward_scorer_is_finite_deterministic_and_batch_independent(models):
    scorer = RewardScorer(models["reward"], batch_size=2, max_length=128)
    rewards = scorer.score(PROMPTS, CANDIDATES)
    assert [len(r) for r in rewards] == [3, 3, 3]
    flat = [x for r in rewards for x in r]
    assert all(isinstance(x, float) and math.isfinite(x) for x in flat)
    assert len(set(flat)) > 1  # the reward depends on the answer
    assert scorer.score(PROMPTS, CANDIDATES) == rewards
    whole = RewardScorer(models["reward"], batch_size=9, max_length=128).score(PROMPTS, CANDIDATES)
    single = RewardScorer(models["reward"], batch_size=1, max_length=128).score(PROMPTS, CANDIDATES)
    for other in (whole, single):
        assert torch.allclose(torch.tensor(other), torch.tensor(rewards), atol=1e-5)


def test_reward_scorer_fails_on_nan_naming_the_prompt(models, tmp_path):
    """A token only prompt 1 uses gets a NaN embedding: the NaN reward must be reported for prompt 1."""
    tok = AutoTokenizer.from_pretrained(models["reward"])
    texts = [
        [tok.apply_chat_template([*p, {"role": "assistant", "content": c}], tokenize=False) for c in cands]
        for p, cands in zip(PROMPTS, CANDIDATES)
    ]
    token_ids = [{i for text in group for i in tok(text, add_special_tokens=False)["input_ids"]} for group in texts]
    only_in_1 = sorted(token_ids[1] - token_ids[0] - token_ids[2])[0]
    model = AutoModelForSequenceClassification.from_pretrained(models["reward"])
    with torch.no_grad():
        model.get_input_embeddings().weight[only_in_1] = float("nan")
    broken = tmp_path / "nan_reward"
    model.save_pretrained(broken)
    tok.save_pretrained(broken)

    with pytest.raises(RuntimeError, match=r"nan_reward.*prompt 1"):
        RewardScorer(broken, batch_size=4, max_length=128).score(PROMPTS, CANDIDATES)


# --------------------------------------------------------------------------- pairs


def test_best_worst_pairs_pick_extremes_and_drop_ties():
    prompts = [[{"role": "user", "content": f"q{i}"}] for i in range(4)]
    candidates = [["a", "b", "c"], ["x", "y"], ["same", "same"], ["only"]]
    rewards = [[0.1, 0.9, -0.3], [0.5, 0.5], [1.0, 0.2], [2.0]]
    pairs, ties = best_worst_pairs(prompts, candidates, rewards)
    assert ties == 3  # equal rewards, identical texts, a single candidate
    assert pairs == [
        {
            "prompt": prompts[0],
            "chosen": [{"role": "assistant", "content": "b"}],
            "rejected": [{"role": "assistant", "content": "c"}],
            "source": "on_policy",
            "chosen_score": 0.9,
            "rejected_score": -0.3,
        }
    ]


def test_reference_and_two_model_pairs():
    items = [
        {"prompt": [{"role": "user", "content": "Olá"}], "reference": "Olá! Como posso ajudar?"},
        {"prompt": [{"role": "user", "content": "Adeus"}], "reference": "Até logo."},
    ]
    pairs = reference_pairs(items, ["oi", " Até logo.\n"], "persona")
    assert len(pairs) == 1  # the second answer equals the reference once stripped
    assert pairs[0]["chosen"] == [{"role": "assistant", "content": "Olá! Como posso ajudar?"}]
    assert pairs[0]["rejected"] == [{"role": "assistant", "content": "oi"}]
    assert pairs[0]["source"] == "persona" and pairs[0]["chosen_score"] is None

    prompts = [[{"role": "user", "content": "2+2?"}], [{"role": "user", "content": "3+3?"}]]
    math_pairs = two_model_pairs(prompts, ["4", "6"], ["5", "6 "], "math")
    assert [(p["chosen"][0]["content"], p["rejected"][0]["content"]) for p in math_pairs] == [("4", "5")]
    assert math_pairs[0]["prompt"] == prompts[0] and math_pairs[0]["source"] == "math"


# --------------------------------------------------------------------------- extra datasets


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_load_preference_dataset_from_local_files(tmp_path):
    user = {"role": "user", "content": "Qual é a capital?"}
    good, bad = {"role": "assistant", "content": "Lisboa."}, {"role": "assistant", "content": "Madrid."}
    conversational = write_jsonl(
        tmp_path / "conv.jsonl",
        [
            {"prompt": [user], "chosen": [good], "rejected": [bad]},
            # UltraFeedback style: a string prompt, and the prompt repeated inside chosen/rejected.
            {"prompt": user["content"], "chosen": [user, good], "rejected": [user, bad]},
        ],
    )
    pairs = load_preference_dataset({"name": "uf", "path": str(conversational), "format": "conversational"})
    expected = {
        "prompt": [user],
        "chosen": [good],
        "rejected": [bad],
        "source": "uf",
        "chosen_score": None,
        "rejected_score": None,
    }
    assert pairs == [expected, expected]

    strings = write_jsonl(
        tmp_path / "strings.jsonl",
        [{"prompt": f"p{i}", "chosen": f"c{i}", "rejected": f"r{i}", "extra": i} for i in range(5)],
    )
    spec = {"name": "math-dpo", "path": str(strings), "format": "prompt_chosen_rejected_strings", "limit": 2}
    pairs = load_preference_dataset(spec)
    assert [p["prompt"] for p in pairs] == [[{"role": "user", "content": "p0"}], [{"role": "user", "content": "p1"}]]
    assert pairs[1]["chosen"] == [{"role": "assistant", "content": "c1"}]
    assert pairs[1]["rejected"] == [{"role": "assistant", "content": "r1"}]

    with pytest.raises(ValueError, match="row 0"):
        load_preference_dataset({"name": "wrong", "path": str(strings), "format": "conversational"})


def test_load_preference_dataset_from_the_hub_offline_names_the_dataset():
    spec = {"name": "math-dpo", "hub": {"dataset": "kira/math-dpo", "split": "train"}, "format": "conversational"}
    with pytest.raises(RuntimeError, match=r"math-dpo.*kira/math-dpo"):
        load_preference_dataset(spec)


# --------------------------------------------------------------------------- CLI


def test_main_end_to_end(models, tmp_path):
    sft_data = write_jsonl(tmp_path / "sft.jsonl", CHATS)
    persona = write_jsonl(tmp_path / "persona.jsonl", CHATS[:3])
    extra = write_jsonl(tmp_path / "extra.jsonl", [{"prompt": "p", "chosen": "c", "rejected": "r"}] * 2)
    cfg = {
        "n_prompts": 4,
        "n_candidates": 3,
        "max_new_tokens": 8,
        "temperature": 1.0,
        "top_p": 0.95,
        "batch_size": 2,
        "seed": 0,
        "backend": "hf",
        "reward": {"trust_remote_code": False, "max_length": 128, "batch_size": 4},
        "strategies": {
            "on_policy": True,
            "persona": [
                {"name": "persona-sft", "paths": [str(persona)]},
                {"name": "persona-weak", "paths": [str(sft_data)], "model": str(models["weak"]), "n": 2},
            ],
            "two_model": {
                "chosen_model": str(models["policy"]),
                "rejected_model": str(models["weak"]),
                "paths": [str(persona)],
            },
            "extra": [{"name": "local-dpo", "path": str(extra), "format": "prompt_chosen_rejected_strings"}],
        },
    }

    def steps(out: Path) -> list[list[str]]:
        """The three jobs of the workflow: generate, score, pairs (each its own environment in the paper)."""
        common = ["--cfg-json", json.dumps(cfg)]
        return [
            ["generate", "--sft", str(models["policy"]), "--sft-data", str(sft_data), "--out", str(out / "generated.jsonl"), *common],
            ["score", "--reward", str(models["reward"]), "--generated", str(out / "generated.jsonl"), "--out", str(out / "scored.jsonl"), *common],
            ["pairs", "--scored", str(out / "scored.jsonl"), "--out", str(out / "pairs.jsonl"), "--stats", str(out / "stats.json"), *common],
        ]  # fmt: skip

    for step in steps(tmp_path / "a"):
        proc = subprocess.run(
            [sys.executable, "-m", "amalia_wf.train.preferences", *step],
            cwd=REPO,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr[-4000:]

    lines = (tmp_path / "a" / "pairs.jsonl").read_text(encoding="utf-8").splitlines()
    pairs = [json.loads(line) for line in lines]
    for p in pairs:
        assert set(p) == {"prompt", "chosen", "rejected", "source", "chosen_score", "rejected_score"}
        assert p["prompt"] and p["prompt"][-1]["role"] == "user"
        assert all(m["role"] in {"system", "user", "assistant"} and isinstance(m["content"], str) for m in p["prompt"])
        for side in ("chosen", "rejected"):
            assert len(p[side]) == 1 and p[side][0]["role"] == "assistant" and isinstance(p[side][0]["content"], str)
        scored = p["source"] == "on_policy"
        assert (p["chosen_score"] is not None) == scored and (p["rejected_score"] is not None) == scored
        if scored:
            assert p["chosen_score"] > p["rejected_score"]

    stats = json.loads((tmp_path / "a" / "stats.json").read_text())
    per_source = stats["pairs_per_source"]
    assert stats["prompts"] == 4 and stats["candidates"] == 12
    assert per_source["on_policy"] + stats["ties_dropped"] == 4
    assert sum(per_source.values()) == stats["pairs"] == len(pairs)
    assert per_source["local-dpo"] == 2 and 1 <= per_source["persona-sft"] <= 3 and 1 <= per_source["two_model"] <= 3
    assert 1 <= per_source["persona-weak"] <= 2 and stats["paper_pairs"] == 478_000
    generated = [json.loads(line) for line in (tmp_path / "a" / "generated.jsonl").read_text().splitlines()]
    assert [r.get("source") for r in generated if r["strategy"] == "persona"] == ["persona-sft"] * 3 + ["persona-weak"] * 2
    order = ["on_policy", "persona-sft", "persona-weak", "two_model", "local-dpo"]
    assert [p["source"] for p in pairs] == sorted((p["source"] for p in pairs), key=order.index)
    assert per_source["on_policy"] >= 1 and stats["mean_chosen_reward"] > stats["mean_rejected_reward"]

    # The same inputs give the same bytes: in-process this time, through the same entry point.
    for step in steps(tmp_path / "b"):
        main(step)
    assert (tmp_path / "b" / "pairs.jsonl").read_bytes() == (tmp_path / "a" / "pairs.jsonl").read_bytes()
    assert (tmp_path / "b" / "stats.json").read_bytes() == (tmp_path / "a" / "stats.json").read_bytes()

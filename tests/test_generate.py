"""Chat generation (amalia_wf.generation) on a tiny Llama with a ChatML template; P3B3's multi-turn loop on it."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import AutoTokenizer, GenerationConfig, LlamaForCausalLM

from amalia_wf import generation as gen
from amalia_wf.genbench import p3b3
from amalia_wf.generation import GenerationSettings
from amalia_wf.train.models import init_tiny_llama
from amalia_wf.train.tokenizer import train_bpe
from tests.conftest import TINY_LLAMA

TEXTS = [
    "O autocarro chegou atrasado por causa do trânsito.",
    "Que transportes posso usar como alternativa? O comboio, o metro e o elétrico.",
    "Comprei um frigorífico novo para a cozinha e uma máquina de lavar.",
] * 4


@pytest.fixture(scope="module")
def tiny_chat_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny_chat")
    tok = train_bpe(TEXTS, 300, out)
    model = init_tiny_llama(TINY_LLAMA, tok, seed=0, out_dir=out)
    # With tied random embeddings greedy decoding echoes the prompt's last token ("\n"), so every
    # answer would be whitespace; an untied random head writes varied tokens the history test can find.
    config = model.config
    config.tie_word_embeddings = False
    torch.manual_seed(1)
    LlamaForCausalLM(config).save_pretrained(out)
    return out


class Spy:
    """Wraps a generator and keeps every batch of conversations it was asked to answer."""

    def __init__(self, inner: gen.Generator) -> None:
        self.inner, self.calls = inner, []

    def generate(self, conversations: list[gen.Messages]) -> list[list[str]]:
        self.calls.append([list(c) for c in conversations])
        return self.inner.generate(conversations)


def test_generate_is_greedy_and_independent_of_batching(tiny_chat_model: Path) -> None:
    convs = [
        [{"role": "user", "content": "Olá"}],
        [{"role": "user", "content": "Que transportes posso usar como alternativa?"}],
        [{"role": "user", "content": "O comboio"}, {"role": "assistant", "content": "Sim."}, {"role": "user", "content": "E o metro?"}],
    ]
    a = gen.generate(str(tiny_chat_model), convs, GenerationSettings(max_new_tokens=8, batch_size=3, max_model_len=256))
    b = gen.generate(str(tiny_chat_model), convs, GenerationSettings(max_new_tokens=8, batch_size=1, max_model_len=256))
    assert a == b
    assert len(a) == 3 and all(len(answers) == 1 and answers[0] for answers in a)


def test_dialogue_history_holds_the_models_own_answers_and_prefix_only_first(tiny_chat_model: Path) -> None:
    settings = GenerationSettings(max_new_tokens=6, batch_size=4, max_model_len=256)
    spy = Spy(gen.load_generator(tiny_chat_model, settings))
    dialogues = [["Olá", "Que transportes?", "E o metro?"], ["O comboio"]]
    answers = p3b3.run_dialogues(spy, dialogues, ["Responde em pt-PT.", None])

    # One call per turn index, over the dialogues that still have a turn there.
    assert [len(c) for c in spy.calls] == [2, 1, 1]
    assert [len(a) for a in answers] == [3, 1]
    turn1, turn2, turn3 = spy.calls[0][0], spy.calls[1][0], spy.calls[2][0]
    assert turn1 == [{"role": "user", "content": "Responde em pt-PT.\nOlá"}]
    assert spy.calls[0][1] == [{"role": "user", "content": "O comboio"}]  # no prefix where None
    assert turn2 == [*turn1, {"role": "assistant", "content": answers[0][0]}, {"role": "user", "content": "Que transportes?"}]
    assert turn3[3:] == [{"role": "assistant", "content": answers[0][1]}, {"role": "user", "content": "E o metro?"}]
    assert sum("Responde em pt-PT." in m["content"] for m in turn3) == 1  # the instruction is on the first turn only

    # What the model actually reads at turn 2 (the template's token ids) contains its turn-1 answer.
    tok = AutoTokenizer.from_pretrained(tiny_chat_model)
    text = tok.apply_chat_template(turn2, tokenize=False, add_generation_prompt=True)
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert answers[0][0] and answers[0][0] in tok.decode(ids)
    assert text.endswith("<|im_start|>assistant\n")

    # A freshly loaded model gives the same answers (greedy, deterministic).
    same = p3b3.run_dialogues(gen.load_generator(tiny_chat_model, settings), dialogues[:1], ["Responde em pt-PT."])
    assert same == answers[:1]


def test_plain_join_without_chat_template(tiny_chat_model: Path) -> None:
    conv = [{"role": "user", "content": "Olá"}, {"role": "assistant", "content": "Bom dia."}, {"role": "user", "content": "Tudo bem?"}]
    assert gen.plain_prompt(conv) == "user: Olá\n\nassistant: Bom dia.\n\nuser: Tudo bem?\n\nassistant:"
    out = gen.generate(str(tiny_chat_model), [conv], GenerationSettings(max_new_tokens=4, chat_template=False))
    assert len(out) == 1 and len(out[0]) == 1


def test_missing_template_is_an_error_not_a_silent_plain_prompt(tiny_chat_model: Path) -> None:
    tok = AutoTokenizer.from_pretrained(tiny_chat_model)
    tok.chat_template = None
    with pytest.raises(ValueError, match="chat_template: false"):
        gen.render_prompts(tok, [[{"role": "user", "content": "Olá"}]], GenerationSettings(max_new_tokens=1))


def test_max_model_len_caps_answers_and_rejects_prompts_that_do_not_fit(tiny_chat_model: Path) -> None:
    assert gen.answer_budgets([10, 95, 99], max_new_tokens=8, max_model_len=100) == [8, 5, 1]
    with pytest.raises(gen.PromptTooLong, match="prompt 1 has 100 tokens"):
        gen.answer_budgets([10, 100], max_new_tokens=8, max_model_len=100)
    # Equal budgets share a batch; a capped row gets its own so it does not cut the others short.
    assert gen._batches([0, 1, 2, 3], [8, 8, 5, 8], batch_size=2) == [[0, 1], [2], [3]]

    tok = AutoTokenizer.from_pretrained(tiny_chat_model)
    conv = [{"role": "user", "content": "Que transportes posso usar como alternativa?"}]
    n = len(tok(tok.apply_chat_template(conv, tokenize=False, add_generation_prompt=True), add_special_tokens=False)["input_ids"])
    (capped,) = gen.generate(str(tiny_chat_model), [conv], GenerationSettings(max_new_tokens=50, max_model_len=n + 3))
    (free,) = gen.generate(str(tiny_chat_model), [conv], GenerationSettings(max_new_tokens=3, max_model_len=256))
    assert capped == free  # 3 tokens of room = max_new_tokens 3


def test_stop_tokens_include_the_chatml_end_of_turn_and_every_configured_eos(tiny_chat_model: Path) -> None:
    tok = AutoTokenizer.from_pretrained(tiny_chat_model)
    vocab = tok.get_vocab()
    assert gen.stop_token_ids(tok, None) == sorted({tok.eos_token_id, vocab["<|im_end|>"]})
    # A generation config may list several eos ids (Llama 3, Qwen): every one stops.
    listed = gen.stop_token_ids(tok, GenerationConfig(eos_token_id=[7, 11]))
    assert listed == sorted({7, 11, tok.eos_token_id, vocab["<|im_end|>"]})


def test_settings_reject_what_cannot_be_generated() -> None:
    with pytest.raises(ValueError, match="unknown generation backend"):
        GenerationSettings(max_new_tokens=1, backend="tgi")
    with pytest.raises(ValueError, match="need sampling"):
        GenerationSettings(max_new_tokens=1, num_return_sequences=2)
    with pytest.raises(ValueError, match="temperature"):
        GenerationSettings(max_new_tokens=1, temperature=-1.0)


def test_vllm_backend_calls(tiny_chat_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """vLLM is not installed here: a stand-in module records how the real one would be called."""
    seen: dict[str, Any] = {}
    tok = AutoTokenizer.from_pretrained(tiny_chat_model)

    class SamplingParams:
        def __init__(self, **kwargs: Any) -> None:
            self.kwargs = kwargs

    class LLM:
        def __init__(self, **kwargs: Any) -> None:
            seen["llm"] = kwargs

        def get_tokenizer(self) -> Any:
            return tok

        def generate(self, requests: list, sampling_params: list, use_tqdm: bool) -> list:
            seen["requests"], seen["sampling"] = requests, [p.kwargs for p in sampling_params]
            return [
                types.SimpleNamespace(outputs=[types.SimpleNamespace(text=f"resposta {i}.{j}") for j in range(p.kwargs["n"])])
                for i, p in enumerate(sampling_params)
            ]

    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(LLM=LLM, SamplingParams=SamplingParams))
    convs = [[{"role": "user", "content": "Olá"}], [{"role": "user", "content": "Adeus"}]]
    greedy = GenerationSettings(
        max_new_tokens=2048, backend="vllm", max_model_len=4096, chat_template_kwargs={"enable_thinking": False}
    )
    assert gen.generate(str(tiny_chat_model), convs, greedy) == [["resposta 0.0"], ["resposta 1.0"]]
    assert seen["llm"] == {"model": str(tiny_chat_model), "dtype": "bfloat16", "seed": 0, "max_model_len": 4096}
    # The prompts are the transformers path's token ids: the template with its generation prompt, no extra BOS.
    assert [r["prompt_token_ids"] for r in seen["requests"]] == gen.prompt_ids(tok, convs, greedy)
    assert tok.decode(seen["requests"][0]["prompt_token_ids"]) == "<|im_start|>user\nOlá<|im_end|>\n<|im_start|>assistant\n"
    for params in seen["sampling"]:
        assert params["temperature"] == 0 and params["max_tokens"] == 2048 and params["seed"] is None
        assert tok.get_vocab()["<|im_end|>"] in params["stop_token_ids"]

    # Sampled (the DPO candidates): n answers per prompt, every sample's seed distinct; no context bound given.
    sampled = GenerationSettings(max_new_tokens=8, backend="vllm", temperature=1.0, top_p=0.9, seed=5, num_return_sequences=3)
    assert gen.generate(str(tiny_chat_model), convs, sampled) == [[f"resposta {i}.{j}" for j in range(3)] for i in range(2)]
    assert seen["llm"] == {"model": str(tiny_chat_model), "dtype": "bfloat16", "seed": 5}
    assert [(p["n"], p["seed"], p["temperature"], p["top_p"]) for p in seen["sampling"]] == [(3, 5, 1.0, 0.9), (3, 8, 1.0, 0.9)]

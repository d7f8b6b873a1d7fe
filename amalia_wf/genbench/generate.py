"""Greedy chat generation for the generative benchmarks, with transformers (CPU/GPU) or vLLM (GPU).

Both backends see the same prompts: the model's own chat template with the generation prompt added
(`chat_template=True`), or, for a model without a template, the turns joined plainly (see
`plain_prompt`). Decoding is greedy and stops at the model's end-of-sequence or end-of-turn token.

`max_model_len` bounds prompt + answer, as vLLM's setting of the same name does: an answer is cut
when the two together reach it, and a prompt that alone does not fit is an error (`PromptTooLong`)
rather than a silent truncation, because dropping the start of a dialogue would drop the variety
instruction P3B3 measures.

Multi-turn benchmarks (P3B3) use `generate_dialogues`: every turn is answered with the model's OWN
earlier answers in the history, all dialogues advancing one turn index per batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

Messages = list[dict[str, str]]
BACKENDS = ("hf", "vllm")

# End-of-turn markers of common chat templates. A model's generation_config usually lists its own,
# but ChatML models trained here (and some hub models) only name the document-level eos there, and
# would otherwise write the next user turn themselves.
END_OF_TURN_TOKENS = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>")

# Separator between the variety instruction and the first user turn (one message, not two).
PREFIX_SEPARATOR = "\n"


class PromptTooLong(ValueError):
    """A rendered prompt leaves no room for an answer within max_model_len."""


class Generator(Protocol):
    def generate(self, conversations: Sequence[Messages]) -> list[str]: ...


# --------------------------------------------------------------------------- prompts


def plain_prompt(conversation: Messages) -> str:
    """The turns as `role: content` blocks separated by blank lines, ending with `assistant:`.

    Used with `chat_template=False`, for models that have no chat template (base models): the
    role names keep the multi-turn structure visible to the model.
    """
    blocks = [f"{m['role']}: {m['content']}" for m in conversation]
    return "\n\n".join([*blocks, "assistant:"])


def render_prompts(
    tokenizer: Any,
    conversations: Sequence[Messages],
    chat_template: bool,
    chat_template_kwargs: Mapping[str, Any] | None = None,
) -> list[str]:
    """Prompt texts as the model will see them."""
    if not chat_template:
        return [plain_prompt(c) for c in conversations]
    if not getattr(tokenizer, "chat_template", None):
        # Generating a chat model without its template is a known upstream bug (ALBA); never silent.
        raise ValueError(
            f"{getattr(tokenizer, 'name_or_path', 'the model')} has no chat template; "
            "set chat_template: false to join the turns plainly"
        )
    return [
        tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True, **(chat_template_kwargs or {}))
        for c in conversations
    ]


def encode_prompts(tokenizer: Any, texts: Sequence[str], chat_template: bool) -> list[list[int]]:
    # A chat template writes whatever BOS the model expects; adding special tokens would double it.
    return [tokenizer(t, add_special_tokens=not chat_template)["input_ids"] for t in texts]


def stop_token_ids(tokenizer: Any, generation_config: Any = None) -> list[int]:
    """eos from the generation config and the tokenizer, plus any known end-of-turn token in the vocabulary."""
    ids: set[int] = set()
    configured = getattr(generation_config, "eos_token_id", None)
    if isinstance(configured, int):
        ids.add(configured)
    elif configured is not None:
        ids.update(configured)
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    vocab = tokenizer.get_vocab()
    ids.update(vocab[t] for t in END_OF_TURN_TOKENS if t in vocab)
    return sorted(ids)


def answer_budgets(prompt_lengths: Sequence[int], max_new_tokens: int, max_model_len: int) -> list[int]:
    """New tokens each prompt may get: max_new_tokens, less where prompt + answer would pass max_model_len."""
    budgets = []
    for i, n in enumerate(prompt_lengths):
        if n >= max_model_len:
            raise PromptTooLong(
                f"prompt {i} has {n} tokens, max_model_len is {max_model_len}: raise max_model_len "
                "(the P3B3 authors use 16384) or lower max_new_tokens"
            )
        budgets.append(min(max_new_tokens, max_model_len - n))
    return budgets


def _batches(order: Sequence[int], budgets: Sequence[int], batch_size: int) -> list[list[int]]:
    """Consecutive runs of `order` with equal budget, cut every batch_size.

    One budget per batch keeps each answer independent of its batch-mates: a shared
    max_new_tokens would cut short rows at the longest row's limit.
    """
    batches: list[list[int]] = []
    for i in order:
        if batches and len(batches[-1]) < batch_size and budgets[batches[-1][0]] == budgets[i]:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


# --------------------------------------------------------------------------- backends


class HFGenerator:
    """transformers generate(): the offline path (CPU), also usable on one GPU (bf16 there, as in the paper)."""

    def __init__(
        self,
        model_path: str | Path,
        *,
        max_new_tokens: int,
        chat_template: bool = True,
        batch_size: int = 8,
        max_model_len: int = 4096,
        chat_template_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.tokenizer.padding_side = "left"  # every row continues from its right edge
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        cuda = torch.cuda.is_available()
        self.model = AutoModelForCausalLM.from_pretrained(
            model_path, dtype=torch.bfloat16 if cuda else torch.float32
        ).to("cuda" if cuda else "cpu")
        self.model.eval()
        self.max_new_tokens, self.batch_size, self.max_model_len = max_new_tokens, batch_size, max_model_len
        self.chat_template, self.chat_template_kwargs = chat_template, chat_template_kwargs
        self.stop_ids = stop_token_ids(self.tokenizer, self.model.generation_config)

    def generate(self, conversations: Sequence[Messages]) -> list[str]:
        import torch

        texts = render_prompts(self.tokenizer, conversations, self.chat_template, self.chat_template_kwargs)
        ids = encode_prompts(self.tokenizer, texts, self.chat_template)
        budgets = answer_budgets([len(x) for x in ids], self.max_new_tokens, self.max_model_len)
        # Longest first: similar lengths share a batch (little padding), and memory trouble shows at once.
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        answers: list[str] = [""] * len(ids)
        with torch.inference_mode():
            for batch in _batches(order, budgets, self.batch_size):
                enc = self.tokenizer.pad({"input_ids": [ids[i] for i in batch]}, return_tensors="pt").to(self.model.device)
                out = self.model.generate(
                    **enc,
                    do_sample=False,
                    temperature=None,
                    top_p=None,
                    top_k=None,
                    max_new_tokens=budgets[batch[0]],
                    eos_token_id=self.stop_ids,
                    pad_token_id=self.tokenizer.pad_token_id,
                )
                new = out[:, enc["input_ids"].shape[1] :]
                for i, text in zip(batch, self.tokenizer.batch_decode(new, skip_special_tokens=True), strict=True):
                    answers[i] = text
        return answers


def _generation_config(model_path: str | Path) -> Any:
    """The model's generation_config.json (its eos list), or None when it ships none."""
    from transformers import GenerationConfig

    try:
        return GenerationConfig.from_pretrained(model_path)
    except OSError:
        return None


class VLLMGenerator:
    """The paper's path: vLLM in bf16 (its own environment and a GPU), LLM.chat with greedy sampling."""

    def __init__(
        self,
        model_path: str | Path,
        *,
        max_new_tokens: int,
        chat_template: bool = True,
        batch_size: int = 8,
        max_model_len: int = 4096,
        chat_template_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        from vllm import LLM, SamplingParams  # only installed in the vLLM environment

        del batch_size  # vLLM schedules its own batches
        self.llm = LLM(model=str(model_path), dtype="bfloat16", max_model_len=max_model_len)
        self.tokenizer = self.llm.get_tokenizer()
        self.max_new_tokens, self.max_model_len = max_new_tokens, max_model_len
        self.chat_template, self.chat_template_kwargs = chat_template, chat_template_kwargs
        self.params = SamplingParams(
            temperature=0,
            max_tokens=max_new_tokens,
            stop_token_ids=stop_token_ids(self.tokenizer, _generation_config(model_path)),
        )

    def generate(self, conversations: Sequence[Messages]) -> list[str]:
        texts = render_prompts(self.tokenizer, conversations, self.chat_template, self.chat_template_kwargs)
        # Checked here so both backends fail the same way (vLLM's own error names no prompt).
        lengths = [len(x) for x in encode_prompts(self.tokenizer, texts, self.chat_template)]
        answer_budgets(lengths, self.max_new_tokens, self.max_model_len)
        if self.chat_template:
            outputs = self.llm.chat(
                [list(c) for c in conversations],
                sampling_params=self.params,
                add_generation_prompt=True,
                chat_template_kwargs=dict(self.chat_template_kwargs or {}),
                use_tqdm=False,
            )
        else:
            outputs = self.llm.generate(texts, sampling_params=self.params, use_tqdm=False)
        return [out.outputs[0].text for out in outputs]


def load_generator(
    model_path: str | Path,
    *,
    max_new_tokens: int,
    backend: str = "hf",
    chat_template: bool = True,
    batch_size: int = 8,
    max_model_len: int = 4096,
    chat_template_kwargs: Mapping[str, Any] | None = None,
) -> Generator:
    """Load the model once; call `.generate(conversations)` as often as needed."""
    classes = {"hf": HFGenerator, "vllm": VLLMGenerator}
    if backend not in classes:
        raise ValueError(f"unknown generation backend {backend!r} (expected one of {BACKENDS})")
    return classes[backend](
        model_path,
        max_new_tokens=max_new_tokens,
        chat_template=chat_template,
        batch_size=batch_size,
        max_model_len=max_model_len,
        chat_template_kwargs=chat_template_kwargs,
    )


def generate(
    model_path: str,
    conversations: list[list[dict]],
    *,
    max_new_tokens: int,
    backend: str = "hf",
    chat_template: bool = True,
    batch_size: int = 8,
    max_model_len: int = 4096,
    chat_template_kwargs: Mapping[str, Any] | None = None,
) -> list[str]:
    """One greedy answer per conversation (each a list of {role, content} messages), in order."""
    gen = load_generator(
        model_path,
        max_new_tokens=max_new_tokens,
        backend=backend,
        chat_template=chat_template,
        batch_size=batch_size,
        max_model_len=max_model_len,
        chat_template_kwargs=chat_template_kwargs,
    )
    return gen.generate(conversations)


# --------------------------------------------------------------------------- dialogues


def with_prefix(prefix: str | None, text: str) -> str:
    """The first user turn with an instruction in front of it (inside the same message)."""
    return text if not prefix else f"{prefix}{PREFIX_SEPARATOR}{text}"


def run_dialogues(
    generator: Generator, dialogues: Sequence[Sequence[str]], first_turn_prefixes: Sequence[str | None]
) -> list[list[str]]:
    """Answer every user turn of every dialogue, each with the model's own earlier answers as history.

    One generate() call per turn index over all dialogues that still have a turn there, so a
    batch mixes dialogues (and settings, when the caller passes several) rather than turns.
    `first_turn_prefixes[d]` goes in front of dialogue d's first user turn only.
    """
    if len(first_turn_prefixes) != len(dialogues):
        raise ValueError("one first-turn prefix per dialogue")
    histories: list[Messages] = [[] for _ in dialogues]
    answers: list[list[str]] = [[] for _ in dialogues]
    for turn in range(max((len(d) for d in dialogues), default=0)):
        active = [d for d, turns in enumerate(dialogues) if turn < len(turns)]
        for d in active:
            text = dialogues[d][turn]
            histories[d].append({"role": "user", "content": with_prefix(first_turn_prefixes[d], text) if turn == 0 else text})
        replies = generator.generate([list(histories[d]) for d in active])
        for d, reply in zip(active, replies, strict=True):
            histories[d].append({"role": "assistant", "content": reply})
            answers[d].append(reply)
    return answers


def generate_dialogues(
    model_path: str,
    dialogues: list[list[str]],
    *,
    first_turn_prefix: str | None,
    max_new_tokens: int,
    backend: str = "hf",
    chat_template: bool = True,
    batch_size: int = 8,
    max_model_len: int = 4096,
    chat_template_kwargs: Mapping[str, Any] | None = None,
) -> list[list[str]]:
    """The model's answer to every user turn of every dialogue (`dialogues[d][t]` -> `answers[d][t]`)."""
    gen = load_generator(
        model_path,
        max_new_tokens=max_new_tokens,
        backend=backend,
        chat_template=chat_template,
        batch_size=batch_size,
        max_model_len=max_model_len,
        chat_template_kwargs=chat_template_kwargs,
    )
    return run_dialogues(gen, dialogues, [first_turn_prefix] * len(dialogues))

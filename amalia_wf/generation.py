"""Chat generation with transformers (CPU/GPU) or vLLM (GPU), for every stage that lets a model answer.

Greedy for the generation benchmarks (`temperature` 0), sampled for the DPO candidates (`temperature`
above 0, several answers per prompt). One `GenerationSettings` says how; `load_generator` loads a model
once and its `generate(conversations)` gives `num_return_sequences` answers per conversation.

Both backends see the same prompts: the model's own chat template with the generation prompt added
(`chat_template=True`), or, for a model without a template, the turns joined plainly (see
`plain_prompt`). An answer stops at the first of the model's end-of-sequence ids (its generation
config may list several), the tokenizer's eos, and any known end-of-turn token in the vocabulary.

`max_model_len` bounds prompt + answer, as vLLM's setting of the same name does: an answer is cut
when the two together reach it, and a prompt that alone does not fit is an error (`PromptTooLong`)
rather than a silent truncation, because dropping the start of a dialogue would drop the variety
instruction P3B3 measures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol

Messages = list[dict[str, str]]
BACKENDS = ("hf", "vllm")

# End-of-turn markers of common chat templates. A model's generation_config usually lists its own,
# but ChatML models trained here (and some hub models) only name the document-level eos there, and
# would otherwise write the next user turn themselves.
END_OF_TURN_TOKENS = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>")


class PromptTooLong(ValueError):
    """A rendered prompt leaves no room for an answer within max_model_len."""


@dataclass(frozen=True)
class GenerationSettings:
    """How answers are generated; the defaults are greedy, one answer, the model's chat template."""

    max_new_tokens: int
    backend: str = "hf"
    batch_size: int = 8  # transformers only: vLLM schedules its own batches
    temperature: float = 0.0  # 0: greedy
    top_p: float = 1.0
    seed: int = 0  # of the sampled answers
    num_return_sequences: int = 1
    max_model_len: int | None = None  # prompt + answer; None: no bound (vLLM: the model's own context)
    chat_template: bool = True  # False: turns joined plainly (`plain_prompt`), for models without a template
    chat_template_kwargs: Mapping[str, Any] = field(default_factory=dict)
    # Used when the tokenizer has no template; None makes that an error (see render_prompts).
    fallback_chat_template: str | None = None

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown generation backend {self.backend!r} (expected one of {BACKENDS})")
        if self.max_new_tokens < 1 or self.batch_size < 1 or self.num_return_sequences < 1:
            raise ValueError(f"max_new_tokens, batch_size and num_return_sequences must be >= 1: {self}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0 (0 is greedy), got {self.temperature}")
        if self.num_return_sequences > 1 and not self.sampling:
            raise ValueError("several answers per prompt need sampling (temperature > 0): greedy gives one")

    @property
    def sampling(self) -> bool:
        return self.temperature > 0


class Generator(Protocol):
    def generate(self, conversations: Sequence[Messages]) -> list[list[str]]: ...


# --------------------------------------------------------------------------- prompts


def plain_prompt(conversation: Messages) -> str:
    """The turns as `role: content` blocks separated by blank lines, ending with `assistant:`.

    Used with `chat_template=False`, for models that have no chat template (base models): the
    role names keep the multi-turn structure visible to the model.
    """
    blocks = [f"{m['role']}: {m['content']}" for m in conversation]
    return "\n\n".join([*blocks, "assistant:"])


def render_prompts(tokenizer: Any, conversations: Sequence[Messages], settings: GenerationSettings) -> list[str]:
    """Prompt texts as the model will see them."""
    if not settings.chat_template:
        return [plain_prompt(c) for c in conversations]
    template = None
    if not getattr(tokenizer, "chat_template", None):
        if settings.fallback_chat_template is None:
            # Generating a chat model without its template is a known upstream bug (ALBA); never silent.
            raise ValueError(
                f"{getattr(tokenizer, 'name_or_path', 'the model')} has no chat template; "
                "set chat_template: false to join the turns plainly"
            )
        template = settings.fallback_chat_template
    return [
        tokenizer.apply_chat_template(
            c, tokenize=False, add_generation_prompt=True, chat_template=template, **settings.chat_template_kwargs
        )
        for c in conversations
    ]


def encode_prompts(tokenizer: Any, texts: Sequence[str], chat_template: bool) -> list[list[int]]:
    # A chat template writes whatever BOS the model expects; adding special tokens would double it.
    return [tokenizer(t, add_special_tokens=not chat_template)["input_ids"] for t in texts]


def prompt_ids(tokenizer: Any, conversations: Sequence[Messages], settings: GenerationSettings) -> list[list[int]]:
    return encode_prompts(tokenizer, render_prompts(tokenizer, conversations, settings), settings.chat_template)


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


def answer_budgets(prompt_lengths: Sequence[int], max_new_tokens: int, max_model_len: int | None) -> list[int]:
    """New tokens each prompt may get: max_new_tokens, less where prompt + answer would pass max_model_len."""
    if max_model_len is None:
        return [max_new_tokens] * len(prompt_lengths)
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

    def __init__(self, model_path: str | Path, settings: GenerationSettings) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.settings = settings
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.tokenizer.padding_side = "left"  # every row continues from its right edge
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        cuda = torch.cuda.is_available()
        self.model = AutoModelForCausalLM.from_pretrained(
            model_path, dtype=torch.bfloat16 if cuda else torch.float32
        ).to("cuda" if cuda else "cpu")
        self.model.eval()
        self.stop_ids = stop_token_ids(self.tokenizer, self.model.generation_config)

    def generate(self, conversations: Sequence[Messages]) -> list[list[str]]:
        return self.generate_ids(prompt_ids(self.tokenizer, conversations, self.settings))

    def generate_ids(self, ids: Sequence[Sequence[int]]) -> list[list[str]]:
        """Answers to prompts given as token ids, decoded without the prompt or special tokens."""
        import torch

        s = self.settings
        budgets = answer_budgets([len(x) for x in ids], s.max_new_tokens, s.max_model_len)
        if s.sampling:
            # A sampled answer depends on its batch (the batch's seed, its mates' draws): batches of
            # consecutive prompts make the candidates a function of the input order and the seed alone.
            order: Sequence[int] = range(len(ids))
            decoding = {"do_sample": True, "temperature": s.temperature, "top_p": s.top_p}
        else:
            # Longest first: similar lengths share a batch (little padding), and memory trouble shows at once.
            order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
            # None overrides sampling defaults a model's generation_config may carry.
            decoding = {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        n = s.num_return_sequences
        answers: list[list[str]] = [[] for _ in ids]
        with torch.inference_mode():
            for batch in _batches(order, budgets, s.batch_size):
                enc = self.tokenizer.pad({"input_ids": [ids[i] for i in batch]}, return_tensors="pt").to(self.model.device)
                if s.sampling:
                    # Seeded per batch, so a rerun draws the same answers whatever ran before it.
                    torch.manual_seed(s.seed + batch[0])
                out = self.model.generate(
                    **enc,
                    **decoding,
                    max_new_tokens=budgets[batch[0]],
                    num_return_sequences=n,
                    eos_token_id=self.stop_ids,
                    pad_token_id=self.tokenizer.pad_token_id,
                )
                texts = self.tokenizer.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
                # generate() returns the n answers of each prompt next to each other.
                for j, i in enumerate(batch):
                    answers[i] = texts[j * n : (j + 1) * n]
        return answers


def _generation_config(model_path: str | Path) -> Any:
    """The model's generation_config.json (its eos list), or None when it ships none."""
    from transformers import GenerationConfig

    try:
        return GenerationConfig.from_pretrained(model_path)
    except OSError:
        return None


class VLLMGenerator:
    """The paper's path: vLLM in bf16 (its own environment and a GPU)."""

    def __init__(self, model_path: str | Path, settings: GenerationSettings) -> None:
        from vllm import LLM, SamplingParams  # only installed in the vLLM environment

        self.settings = settings
        context = {} if settings.max_model_len is None else {"max_model_len": settings.max_model_len}
        self.llm = LLM(model=str(model_path), dtype="bfloat16", seed=settings.seed, **context)
        self.tokenizer = self.llm.get_tokenizer()
        self.params = partial(
            SamplingParams,
            n=settings.num_return_sequences,
            temperature=settings.temperature,
            top_p=settings.top_p,
            max_tokens=settings.max_new_tokens,
            stop_token_ids=stop_token_ids(self.tokenizer, _generation_config(model_path)),
        )

    def generate(self, conversations: Sequence[Messages]) -> list[list[str]]:
        s = self.settings
        # Token ids rather than text or LLM.chat: the prompts are exactly the transformers path's, and vLLM
        # cannot add a second BOS to a template that writes one.
        ids = prompt_ids(self.tokenizer, conversations, s)
        # Checked here so both backends fail the same way (vLLM's own error names no prompt).
        answer_budgets([len(x) for x in ids], s.max_new_tokens, s.max_model_len)
        # vLLM seeds the n samples of a request seed, seed+1, ...: stepping by n keeps every sample's seed distinct.
        seeds = [s.seed + i * s.num_return_sequences if s.sampling else None for i in range(len(ids))]
        outputs = self.llm.generate(
            [{"prompt_token_ids": x} for x in ids],
            sampling_params=[self.params(seed=seed) for seed in seeds],
            use_tqdm=False,
        )
        return [[c.text for c in out.outputs] for out in outputs]


def load_generator(model_path: str | Path, settings: GenerationSettings) -> Generator:
    """Load the model once; call `.generate(conversations)` as often as needed."""
    return {"hf": HFGenerator, "vllm": VLLMGenerator}[settings.backend](model_path, settings)


def generate(model_path: str | Path, conversations: Sequence[Messages], settings: GenerationSettings) -> list[list[str]]:
    """`settings.num_return_sequences` answers per conversation (each a list of {role, content} messages), in order."""
    return load_generator(model_path, settings).generate(conversations)

"""The tokenizer: the base model's (paper) or a BPE trained on the corpus (embedded default)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

EOS, PAD, IM_START, IM_END = "<|endoftext|>", "<|pad|>", "<|im_start|>", "<|im_end|>"

# ChatML with {% generation %} around what the assistant says, including its end-of-turn token,
# so trl's assistant-only loss trains exactly on assistant turns.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\\n' }}"
    "{% else %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def train_bpe(texts: Iterable[str], vocab_size: int, out_dir: str | Path) -> PreTrainedTokenizerFast:
    """Byte-level BPE on `texts`, saved as a transformers tokenizer with the chat template."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS, PAD, IM_START, IM_END],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token=EOS, pad_token=PAD, additional_special_tokens=[IM_START, IM_END]
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out_dir)
    return fast


def copy_base_tokenizer(name: str, out_dir: str | Path, revision: str | None = None) -> PreTrainedTokenizerBase:
    """The base model's own tokenizer (EuroLLM-9B in the paper), saved locally for every later job."""
    tok = AutoTokenizer.from_pretrained(name, revision=revision)
    tok.save_pretrained(out_dir)
    return tok


def chat_texts(tokenizer: PreTrainedTokenizerBase, conversations: Iterable[Sequence[Mapping[str, str]]]) -> list[str]:
    """Each conversation rendered by the tokenizer's chat template, as the SFT trainer renders it.

    A tokenizer without a template gets the policy's ChatML, the format every model here is trained on.
    """
    template = None if tokenizer.chat_template else CHAT_TEMPLATE
    return [tokenizer.apply_chat_template(list(c), tokenize=False, chat_template=template) for c in conversations]

"""The P3B3 encoder classifiers: P(pt-PT) of an answer from a BERT pt-PT/pt-BR classifier.

The paper uses liaad/PtVId ("VId") and bastao/PeroVaz_PT-BR_Classifier ("PV"). An answer longer
than the encoder's 512 tokens is scored as the authors do: split into k = ceil(tokens / 512)
equal, non-overlapping runs of words, k raised until every run fits, and the runs' P(pt-PT)
averaged (unweighted). Differences from the authors' script, both deliberate:
  * runs differ in length by at most one word (the script's batching by ceil(words / k) can give
    fewer than k runs and a short last one);
  * words are split on any whitespace, not only on " " (a list written with newlines would
    otherwise be one "word"); BERT tokenisers treat all whitespace alike, so tokens are unchanged.
A single word longer than the limit cannot be split: that run is truncated by the tokenizer.

Which output is pt-PT comes from the model's config (id2label), never from a fixed index; a config
with generic names (LABEL_0/LABEL_1) needs the `pt_pt_label` override.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from amalia_wf.genbench.p3b3 import answer_text, probability_rows

CLASSIFIERS = {"ptvid": "liaad/PtVId", "perovaz": "bastao/PeroVaz_PT-BR_Classifier"}
MAX_TOKENS = 512

# Label names meaning pt-PT, by preference (after upper-casing and "_" -> "-"): PtVId-style
# "PT-PT" first; a model whose labels are "PT"/"BR" calls pt-PT just "PT" (as the authors' script assumes).
PT_PT_NAMES = ("PT-PT", "PT", "EUROPEAN", "EUROPEAN-PORTUGUESE", "PT-EU")


def _norm(label: str) -> str:
    return str(label).strip().upper().replace("_", "-").replace(" ", "-")


def pt_pt_index(id2label: Mapping[Any, str], override: str | int | None = None) -> int:
    """The output index whose probability is P(pt-PT).

    `override` (config key `pt_pt_label`) is a label name or an index; otherwise the label is
    recognised by name, and a config that names no pt-PT label is an error, not a guess.
    """
    labels = {int(i): str(name) for i, name in id2label.items()}
    if isinstance(override, int) and not isinstance(override, bool):
        if override not in labels:
            raise ValueError(f"pt_pt_label {override} is not an output index ({sorted(labels)})")
        return override
    wanted = (_norm(override),) if override is not None else PT_PT_NAMES
    for name in wanted:
        hits = [i for i, label in labels.items() if _norm(label) == name]
        if len(hits) == 1:
            return hits[0]
    raise ValueError(f"no pt-PT label in id2label {labels}; set pt_pt_label to the label name or index")


def split_words(words: Sequence[str], k: int) -> list[str]:
    """k non-overlapping runs of consecutive words, lengths differing by at most one (longer runs first)."""
    q, r = divmod(len(words), k)
    runs, start = [], 0
    for i in range(k):
        end = start + q + (1 if i < r else 0)
        runs.append(" ".join(words[start:end]))
        start = end
    return runs


def chunk_text(text: str, count_tokens: Callable[[str], int], max_tokens: int = MAX_TOKENS) -> list[str]:
    """The text itself if it fits, else the fewest equal word runs (from ceil(tokens / max)) that all fit."""
    n = count_tokens(text)
    if n <= max_tokens:
        return [text]
    words = text.split()
    k = min(math.ceil(n / max_tokens), len(words))
    while True:
        runs = split_words(words, k)
        if k >= len(words) or all(count_tokens(run) <= max_tokens for run in runs):
            return runs
        k += 1


class VarietyClassifier:
    """A sequence classifier (transformers) giving P(pt-PT) per text, long texts chunked and averaged."""

    def __init__(
        self,
        model_path: str | Path,
        *,
        pt_pt_label: str | int | None = None,
        max_tokens: int = MAX_TOKENS,
        batch_size: int = 16,
        revision: str | None = None,
    ) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model_path, revision=revision)
        self.model = AutoModelForSequenceClassification.from_pretrained(model_path, revision=revision)
        self.model.to("cuda" if torch.cuda.is_available() else "cpu").eval()
        self.pt_index = pt_pt_index(self.model.config.id2label, pt_pt_label)
        # Never more than the tokenizer admits (a tokenizer without a limit reports a huge number).
        self.max_tokens = min(max_tokens, self.tokenizer.model_max_length)
        self.batch_size = batch_size

    def count_tokens(self, text: str) -> int:
        """Tokens the encoder would see, [CLS] and [SEP] included (the authors count the same way)."""
        # verbose=False: measuring a long answer is the point, not a mistake to warn about.
        return len(self.tokenizer(text, verbose=False)["input_ids"])

    def chunks(self, text: str) -> list[str]:
        return chunk_text(text, self.count_tokens, self.max_tokens)

    def chunk_probabilities(self, texts: Sequence[str]) -> list[float]:
        """P(pt-PT) of each text as one input (truncated at max_tokens)."""
        import torch

        out: list[float] = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                enc = self.tokenizer(
                    list(texts[start : start + self.batch_size]),
                    padding=True,
                    truncation=True,
                    max_length=self.max_tokens,
                    return_tensors="pt",
                ).to(self.model.device)
                probs = torch.softmax(self.model(**enc).logits.float(), dim=-1)[:, self.pt_index]
                out.extend(probs.tolist())
        return out

    def p_pt_pt(self, texts: Sequence[str]) -> list[float]:
        """P(pt-PT) per text: the mean over its chunks. All chunks of all texts go through one batched pass."""
        per_text = [self.chunks(t) for t in texts]
        flat = self.chunk_probabilities([c for chunks in per_text for c in chunks])
        means, start = [], 0
        for chunks in per_text:
            means.append(math.fsum(flat[start : start + len(chunks)]) / len(chunks))
            start += len(chunks)
        return means


def classifier_rows(
    records: Sequence[Mapping[str, Any]], classifier: VarietyClassifier, scorer: str, not_pt: Sequence[bool]
) -> list[dict[str, Any]]:
    """Scored rows (0-100) of one classifier over generation records; not_pt comes from the language check."""
    return probability_rows(records, scorer, classifier.p_pt_pt([answer_text(r["response"]) for r in records]), not_pt)

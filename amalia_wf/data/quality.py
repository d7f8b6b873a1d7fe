"""Document quality labelling (high / medium / low), as in the AMALIA data pipeline.

The paper labels every web document with EuroFilter (``utter-project/EuroFilter-v1``,
mdeberta-v3-base with custom modelling code): the document is truncated to its
first 512 tokens, the model's ``quality_logits`` [B, 3] are computed (bf16 on GPU,
batched) and the label is the argmax -- class 0=low, 1=medium, 2=high, no
thresholds. :class:`HFQualityClassifier` does exactly that. Unlike the published
script, which silently drops a batch that fails, a failing batch here raises: a
document must never disappear from the corpus without a trace.

:class:`HeuristicQuality` is an offline stand-in for when the model is not
available; it is deliberately simple and transparent (two measurements, two
thresholds per level) and makes no claim to reproduce EuroFilter's judgements.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

LABELS: tuple[str, str, str] = ("low", "medium", "high")  # index = class id

# A line "ends like prose" if its stripped text ends with one of these.
_LINE_END_PUNCT: tuple[str, ...] = tuple('.!?…:;"»)')
_HEURISTIC_KEYS: tuple[str, ...] = ("min_words", "min_line_punct_ratio")


@dataclass(frozen=True)
class QualityResult:
    label: str  # one of LABELS
    scores: dict[str, float]  # e.g. {"p_low":..,"p_medium":..,"p_high":..} or heuristic measurements


# --------------------------------------------------------------------------- heuristic


def _line_punct_ratio(text: str) -> float:
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return 0.0
    return sum(line.endswith(_LINE_END_PUNCT) for line in lines) / len(lines)


class HeuristicQuality:
    """Offline stand-in for EuroFilter, transparent by design: two measurements.

    * ``words`` -- ``len(text.split())``: very short pages are mostly navigation,
      cookie banners or stubs;
    * ``line_punct_ratio`` -- fraction of non-empty lines whose stripped text ends
      with one of ``.!?…:;"»)``: prose lines end in punctuation, menus, link
      lists and boilerplate do not.

    A document is "high" if it meets both ``high`` thresholds, else "medium" if it
    meets both ``medium`` thresholds, else "low". The measurements are returned
    as the scores so every decision can be checked by hand.
    """

    def __init__(self, high: dict[str, float], medium: dict[str, float]) -> None:
        self.high = self._check("high", high)
        self.medium = self._check("medium", medium)
        for key in _HEURISTIC_KEYS:
            if self.high[key] < self.medium[key]:
                raise ValueError(
                    f"heuristic quality threshold {key!r}: high ({self.high[key]}) must be >= medium "
                    f"({self.medium[key]}), otherwise 'high' would be easier to reach than 'medium'"
                )

    @staticmethod
    def _check(level: str, thresholds: dict[str, float]) -> dict[str, float]:
        if not isinstance(thresholds, dict):
            raise ValueError(f"heuristic quality thresholds {level!r} must be a mapping, got {thresholds!r}")
        unknown = sorted(set(thresholds) - set(_HEURISTIC_KEYS))
        if unknown:
            raise ValueError(
                f"heuristic quality thresholds {level!r}: unknown key(s) {unknown}; expected {list(_HEURISTIC_KEYS)}"
            )
        out: dict[str, float] = {}
        for key in _HEURISTIC_KEYS:
            if key not in thresholds:
                raise ValueError(f"heuristic quality thresholds {level!r}: missing key {key!r}")
            value = thresholds[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(
                    f"heuristic quality threshold {level}.{key} must be a finite number >= 0, got {value!r}"
                )
            out[key] = float(value)
        return out

    @staticmethod
    def _meets(words: int, ratio: float, thresholds: dict[str, float]) -> bool:
        return words >= thresholds["min_words"] and ratio >= thresholds["min_line_punct_ratio"]

    def classify(self, texts: list[str]) -> list[QualityResult]:
        _check_texts(texts)
        results = []
        for text in texts:
            words = len(text.split())
            ratio = _line_punct_ratio(text)
            if self._meets(words, ratio, self.high):
                label = "high"
            elif self._meets(words, ratio, self.medium):
                label = "medium"
            else:
                label = "low"
            results.append(QualityResult(label, {"words": float(words), "line_punct_ratio": round(ratio, 6)}))
        return results


# --------------------------------------------------------------------------- model


def _check_texts(texts: list[str]) -> None:
    if isinstance(texts, str):
        raise TypeError("classify() takes a list of documents, not a single string")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"document {i} is {type(text).__name__}, expected str")


_DTYPES = ("bfloat16", "float16", "float32")

# Output fields that are not per-document scores.
_NON_SCORE_FIELDS = frozenset({"quality_logits", "logits", "loss", "hidden_states", "attentions"})


class HFQualityClassifier:
    """EuroFilter-style classifier: a Hugging Face model with 3 quality classes.

    Uses ``out.quality_logits`` when the model output has it (EuroFilter's custom
    head), else ``out.logits`` (a plain ``*ForSequenceClassification``). Either
    must have exactly 3 columns (low, medium, high). The label is the argmax; the
    scores are the softmax probabilities ``p_low``/``p_medium``/``p_high`` plus any
    other per-document float the output carries (e.g. EuroFilter's educational
    score), rounded to 6 decimals so outputs are stable across runs.
    """

    def __init__(
        self,
        model: str,
        batch_size: int = 32,
        max_length: int = 512,
        device: str = "auto",
        dtype: str = "bfloat16",
        trust_remote_code: bool = True,
        revision: str | None = None,
    ) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 2:
            raise ValueError(f"max_length must be an integer >= 2, got {max_length!r}")
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {_DTYPES}, got {dtype!r}")

        self.model_name = str(model)
        self.batch_size = batch_size
        self.max_length = max_length
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        # bf16 is what the paper runs on GPU. On CPU we always use float32: bf16
        # matmuls there are slow on most CPUs (no native support -> emulation)
        # and some ops lack bf16 CPU kernels, and float32 only makes the CPU
        # result *closer* to the model's full-precision output.
        self.dtype = torch.float32 if self.device.type == "cpu" else getattr(torch, dtype)

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(
                self.model_name, trust_remote_code=trust_remote_code, revision=revision
            )
            self.model = AutoModelForSequenceClassification.from_pretrained(
                self.model_name, trust_remote_code=trust_remote_code, revision=revision, dtype=self.dtype
            )
        except Exception as e:  # re-raise with the model named: HF errors often omit it
            raise OSError(f"could not load quality model {self.model_name!r}: {type(e).__name__}: {e}") from e
        self.model.to(self.device)
        self.model.eval()

    def classify(self, texts: list[str]) -> list[QualityResult]:
        _check_texts(texts)
        results: list[QualityResult] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            results.extend(self._classify_batch(batch, start))
        assert len(results) == len(texts)  # never drop documents
        return results

    def _classify_batch(self, batch: list[str], start: int) -> list[QualityResult]:
        import torch

        end = start + len(batch)
        where = f"documents [{start}, {end}) with model {self.model_name!r}"
        try:
            with torch.inference_mode():
                enc = self.tokenizer(
                    batch, truncation=True, max_length=self.max_length, padding=True, return_tensors="pt"
                ).to(self.device)
                out = self.model(**enc)
        except Exception as e:
            raise RuntimeError(f"quality classification failed on batch {where}: {type(e).__name__}: {e}") from e

        logits = getattr(out, "quality_logits", None)
        if logits is None:
            logits = getattr(out, "logits", None)
        if logits is None:
            raise ValueError(
                f"quality model {self.model_name!r}: output {type(out).__name__} has neither "
                "'quality_logits' nor 'logits'"
            )
        if logits.ndim != 2 or logits.shape != (len(batch), len(LABELS)):
            raise ValueError(
                f"quality model {self.model_name!r} must output logits of shape [batch, 3] "
                f"(low, medium, high); got {tuple(logits.shape)}"
            )
        logits = logits.float()
        if not torch.isfinite(logits).all():
            raise RuntimeError(f"quality model produced non-finite logits on batch {where}")
        probs = torch.softmax(logits, dim=-1).cpu().tolist()
        extras = self._extra_scores(out, len(batch))

        results = []
        for i, p in enumerate(probs):
            scores = {f"p_{name}": round(v, 6) for name, v in zip(LABELS, p)}
            scores.update({name: values[i] for name, values in extras.items()})
            results.append(QualityResult(LABELS[max(range(len(LABELS)), key=p.__getitem__)], scores))
        return results

    @staticmethod
    def _extra_scores(out: Any, n: int) -> dict[str, list[float]]:
        """Other per-document floats on the output (e.g. EuroFilter's educational score)."""
        import torch

        if not hasattr(out, "items"):
            return {}
        extras: dict[str, list[float]] = {}
        for name, value in out.items():
            if (
                name in _NON_SCORE_FIELDS
                or not isinstance(value, torch.Tensor)
                or not value.is_floating_point()
                or value.numel() != n
                or value.ndim == 0
                or value.shape[0] != n
            ):
                continue
            values = value.float().reshape(n).cpu().tolist()
            extras[name] = [round(v, 6) if math.isfinite(v) else v for v in values]
        return extras


# --------------------------------------------------------------------------- config


_HF_KEYS = ("model", "batch_size", "max_length", "device", "dtype", "trust_remote_code", "revision")


def build_classifier(cfg: dict) -> HeuristicQuality | HFQualityClassifier:
    """Build the classifier described by the ``data.quality`` config section."""
    if not isinstance(cfg, dict):
        raise ValueError(f"data.quality must be a mapping, got {cfg!r}")
    method = cfg.get("method")
    if method == "heuristic":
        section = cfg.get("heuristic")
        if not isinstance(section, dict) or "high" not in section or "medium" not in section:
            raise ValueError("data.quality.heuristic must be a mapping with 'high' and 'medium' thresholds")
        unknown = sorted(set(section) - {"high", "medium"})
        if unknown:
            raise ValueError(f"data.quality.heuristic: unknown key(s) {unknown}")
        return HeuristicQuality(high=section["high"], medium=section["medium"])
    if method == "hf":
        section = cfg.get("hf")
        if not isinstance(section, dict) or not section.get("model"):
            raise ValueError("data.quality.hf must be a mapping with at least 'model'")
        unknown = sorted(set(section) - set(_HF_KEYS))
        if unknown:
            raise ValueError(f"data.quality.hf: unknown key(s) {unknown}; expected some of {list(_HF_KEYS)}")
        return HFQualityClassifier(**section)
    raise ValueError(f"data.quality.method must be 'heuristic' or 'hf', got {method!r}")

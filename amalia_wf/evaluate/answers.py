"""Scoring helpers the task suite needs beyond lm-eval's own filters and metrics.

* PT-E (PHEB) answer extraction and per-subject scores, as in the pinned PHEB evaluation
  (AMALIA-LLM/pheb@7e01ace, `evaluate_mcq_instruct.py`, format "boxed").
* Offline NLTK data for IFEval: lm-eval's IFEval checks count sentences and tokenise words with
  NLTK's English ``punkt_tab`` model, which NLTK downloads on first use (no network here).

FRMT needs nothing here: lm-eval's ``chrf`` aggregation is sacrebleu's corpus-level ``corpus_chrf``
with CHRF() defaults (char order 6, word order 0, beta 2), tested in tests/test_eval_answers.py.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

LETTERS = "ABCD"

# The six PHEB subjects, spelled as in the `subject` field of the PHEB files.
PHEB_SUBJECTS: tuple[str, ...] = ("Bio_Geo", "Geography", "History A", "Mathematics A", "Philosophy", "Portuguese")

# The three rules of the PHEB scorer, in its order. Kept exactly as upstream so numbers compare with
# the paper's, quirks included: \boxed is matched case-insensitively; the trailing-letter rule has
# no word boundary (a response ending in "ADN" or "DNA" reads as A); the last rule picks the last
# standalone capital A-D, which in Portuguese can be the article "A" ("A resposta ...").
_BOXED = re.compile(r"\\boxed\{([A-D])\}", re.IGNORECASE)
_TRAILING = re.compile(r"([A-D])\.?\s*$")
_STANDALONE = re.compile(r"\b([A-D])\b")


def extract_choice_letter(response: str) -> str | None:
    """The option letter a chain-of-thought response gives, or None when it gives none."""
    if m := _BOXED.search(response):
        return m.group(1).upper()
    if m := _TRAILING.search(response.strip()):
        return m.group(1)
    if found := _STANDALONE.findall(response):
        return found[-1]
    return None


def subject_key(subject: str) -> str:
    """The metric name of a PHEB subject: ``acc_`` + a lower-case identifier ("History A" -> acc_history_a)."""
    return "acc_" + re.sub(r"[^a-z0-9]+", "_", subject.lower()).strip("_")


def pheb_scores(subject: str, gold_letter: str, response: str) -> dict[str, float]:
    """Per-document metrics: overall ``acc`` and the subject's own ``acc_<subject>``; unanswered is wrong."""
    correct = float(extract_choice_letter(response) == gold_letter)
    return {"acc": correct, subject_key(subject): correct}


# English punkt_tab parameters (abbreviations, collocations, sentence starters, orthographic context)
# shipped with the package; see nltk_data/README.md for where they come from.
BUNDLED_NLTK_DATA = Path(__file__).parent / "nltk_data"


@functools.cache
def ensure_punkt_tab() -> str:
    """Make NLTK's English punkt_tab loadable without network; returns where it was found.

    An installed copy (``nltk.download('punkt_tab')``, NLTK_DATA) is used when there is one; otherwise
    the bundled copy is appended to NLTK's search path. Must run before ``lm_eval.tasks.ifeval`` is
    imported: that import calls ``nltk.download`` when punkt_tab is missing, which fails (and on a
    node with a silently dropping firewall, hangs) offline.
    """
    import nltk

    try:
        nltk.data.find("tokenizers/punkt_tab/english/")
        return "installed"
    except LookupError:
        nltk.data.path.append(str(BUNDLED_NLTK_DATA))
        nltk.data.find("tokenizers/punkt_tab/english/")
        return "bundled"

"""Offline pt-PT vs pt-BR variety scorer (markers + Debian word lists); see scorer.py."""

from amalia_wf.variety.scorer import (
    BR,
    PT,
    Evidence,
    VarietyScore,
    VarietyScorer,
    default_scorer,
    score_many,
    score_text,
)
from amalia_wf.variety.wordlists import WordLists, load_wordlists

__all__ = [
    "BR",
    "PT",
    "Evidence",
    "VarietyScore",
    "VarietyScorer",
    "WordLists",
    "default_scorer",
    "load_wordlists",
    "score_many",
    "score_text",
]

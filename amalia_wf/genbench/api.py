"""Generation through an OpenAI-compatible chat API, for the P3B3 paper's API-only models (Sabiá-4,
Gemini-3 Flash): the judge's client (amalia_wf.judge.client.JudgeClient) does the calls, so answers are
cached per call in results/judge_cache/ (a rerun after a kill pays only the calls not yet answered),
retried as the judge's are, and the key is read from the variable `api_key_env` names.

A call that still fails after its retries answers None: P3B3 records it as a missing answer (and ends
that dialogue, whose later turns would lack it in their history), never as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from amalia_wf.generation import Messages


class APIGenerator:
    """amalia_wf.generation's Generator protocol over a JudgeClient: greedy (temperature 0), one answer per conversation."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def generate(self, conversations: Sequence[Messages]) -> list[list[str | None]]:
        return [[result.text] for result in self.client.map(conversations)]


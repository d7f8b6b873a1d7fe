"""Per-stage document and character counts, merged across shards into funnel.csv."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Funnel:
    """Ordered stages, each with documents and characters going in and coming out."""

    rows: dict[str, list[int]] = field(default_factory=dict)  # stage -> [docs_in, docs_out, chars_in, chars_out]
    reasons: Counter[tuple[str, str]] = field(default_factory=Counter)

    def enter(self, stage: str, chars: int) -> None:
        row = self.rows.setdefault(stage, [0, 0, 0, 0])
        row[0] += 1
        row[2] += chars

    def leave(self, stage: str, chars: int) -> None:
        row = self.rows[stage]
        row[1] += 1
        row[3] += chars

    def drop(self, stage: str, reason: str) -> None:
        self.reasons[(stage, reason)] += 1

    def merge(self, other: Funnel) -> None:
        """Add another part's counts (a stage reached by any part keeps the stages' order: the
        stages are passed in one order, so each part's stages are a prefix of it)."""
        for stage, row in other.rows.items():
            mine = self.rows.setdefault(stage, [0, 0, 0, 0])
            mine[:] = [a + b for a, b in zip(mine, row, strict=True)]
        self.reasons.update(other.reasons)

    def to_json(self) -> dict[str, Any]:
        return {
            "stages": [{"stage": s, "docs_in": r[0], "docs_out": r[1], "chars_in": r[2], "chars_out": r[3]} for s, r in self.rows.items()],
            "reasons": [{"stage": s, "reason": r, "docs": n} for (s, r), n in sorted(self.reasons.items())],
        }

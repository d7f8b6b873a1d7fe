"""P3B3 tables and the turn-level plot from scored rows (see p3b3.scored_row).

Per model x setting x scorer (`summary`):
  score        mean of score (0-100) over scored rows NOT flagged not_pt: the headline number
  stderr       its standard error (sample sd / sqrt(n) of those rows; NaN below 2)
  n            rows in that mean
  n_total      all rows (records the scorer was asked about)
  n_missing    judge failures and unreadable judge answers: counted here, never averaged as a score
  n_abstain    rows the marker scorer abstained on (no pt-PT/pt-BR evidence)
  coverage     scored rows / n_total (the marker scorer's coverage; 1.0 for the classifiers)
  pct_not_pt   % of scored rows flagged not Portuguese (judge: its not_pt field; classifiers and the
               marker scorer: fastText LID, p3b3.not_portuguese)
  pct_invalid  % of scored rows the judge flagged invalid (degenerate, repetitive); NaN for scorers
               that have no such flag. Invalid answers stay in the headline mean (as in the paper).
`turns`: the same mean per turn index, for the turn-level analysis (the paper plots turns 1-3:
later turns have few dialogues).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from amalia_wf.genbench.p3b3 import ABSTAIN, OK, SETTINGS

GROUP = ["model", "setting", "scorer"]


def _true(series: pd.Series) -> pd.Series:
    """True only where the value is a real True: None/NaN (unknown) and False are not flagged."""
    return series.map(lambda v: isinstance(v, (bool, np.bool_)) and bool(v))


def _frame(rows: Sequence[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    df = pd.DataFrame(rows).copy() if not isinstance(rows, pd.DataFrame) else rows.copy()
    for col in ("not_pt", "invalid"):
        if col not in df:
            df[col] = None
    df["ok"] = df["status"] == OK
    df["flag_not_pt"] = df["ok"] & _true(df["not_pt"])
    df["flag_invalid"] = df["ok"] & _true(df["invalid"])
    df["has_invalid"] = df["ok"] & df["invalid"].map(lambda v: isinstance(v, (bool, np.bool_)))
    df["counted"] = df["ok"] & ~df["flag_not_pt"]
    # The headline mean sees only counted rows; everything else is NaN here and skipped by mean().
    df["headline"] = df["score"].where(df["counted"]).astype(float)
    df["setting"] = pd.Categorical(df["setting"], categories=_setting_order(df["setting"]), ordered=True)
    return df


def _setting_order(values: pd.Series) -> list[str]:
    """The paper's order (none, pt-PT, pt-BR), then any other setting alphabetically."""
    present = {str(v) for v in values}
    return [s for s in SETTINGS if s in present] + sorted(present - set(SETTINGS))


def summary(rows: Sequence[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """One row per model x setting x scorer (columns in the module docstring)."""
    df = _frame(rows)
    df["missing"] = ~df["ok"] & (df["status"] != ABSTAIN)
    df["abstain"] = df["status"] == ABSTAIN
    g = df.groupby(GROUP, observed=True, sort=True)
    out = g.agg(
        score=("headline", "mean"),
        stderr=("headline", "sem"),
        n=("counted", "sum"),
        n_total=("status", "size"),
        n_scored=("ok", "sum"),
        n_missing=("missing", "sum"),
        n_abstain=("abstain", "sum"),
        n_not_pt=("flag_not_pt", "sum"),
        n_invalid=("flag_invalid", "sum"),
        n_has_invalid=("has_invalid", "sum"),
    ).reset_index()
    scored = out["n_scored"].where(out["n_scored"] > 0)
    out["coverage"] = out["n_scored"] / out["n_total"]
    out["pct_not_pt"] = 100.0 * out["n_not_pt"] / scored
    out["pct_invalid"] = (100.0 * out["n_invalid"] / scored).where(out["n_has_invalid"] > 0)
    cols = [*GROUP, "score", "stderr", "n", "n_total", "n_missing", "n_abstain", "coverage", "pct_not_pt", "pct_invalid"]
    return out[cols].reset_index(drop=True)


def turns(rows: Sequence[Mapping[str, Any]] | pd.DataFrame, max_turn: int | None = None) -> pd.DataFrame:
    """Headline mean and n per model x scorer x setting x turn (turns up to max_turn)."""
    df = _frame(rows)
    if max_turn is not None:
        df = df[df["turn"] <= max_turn]
    g = df.groupby(["model", "scorer", "setting", "turn"], observed=True, sort=True)
    return g.agg(score=("headline", "mean"), n=("counted", "sum")).reset_index()


def wide(summary_frame: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table 2 layout: one row per model, one column per (setting, scorer)."""
    return summary_frame.pivot(index="model", columns=["setting", "scorer"], values="score").sort_index(axis=1)


def plot_turns(turn_frame: pd.DataFrame, path: str | os.PathLike[str], scorer: str, max_turn: int = 3) -> None:
    """One panel per setting: each model's headline score over turns 1..max_turn (the paper's Figures 3, 5, 6)."""
    import matplotlib.pyplot as plt

    from amalia_wf.figures import write_png

    df = turn_frame[(turn_frame["scorer"] == scorer) & (turn_frame["turn"] <= max_turn)]
    settings = _setting_order(df["setting"])  # also right for a table read back from CSV
    fig, axes = plt.subplots(1, max(len(settings), 1), figsize=(4.5 * max(len(settings), 1), 3.6), sharey=True,
                             squeeze=False)
    for ax, setting in zip(axes[0], settings, strict=False):
        for model, part in df[df["setting"] == setting].groupby("model", sort=True):
            ax.plot(part["turn"], part["score"], marker="o", label=str(model))
        ax.set_title(f"{setting} ({scorer})")
        ax.set_xlabel("turn")
        ax.set_xticks(range(1, max_turn + 1))
        ax.set_ylim(0, 100)
    axes[0][0].set_ylabel("score (0 = pt-BR, 100 = pt-PT)")
    if settings:
        axes[0][-1].legend(fontsize="small", loc="best")
    fig.tight_layout()
    write_png(fig, path)

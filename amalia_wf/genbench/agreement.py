"""Judge validation (the P3B3 paper's Table 1): automatic scores against human ratings.

Human ratings are 0 (pt-BR) .. 10 (pt-PT), with -1 for an invalid output. As in the authors'
analysis:
  * an item any annotator marked invalid (-1) or left blank is dropped (the paper keeps 88.5%);
  * the humans' reference is the mean of the annotators, rounded to an integer;
  * a scorer's value is put on the same 0..10 integer scale (judge 0-10 as is, a classifier's
    P(pt-PT) x 10, a 0-100 row score / 10) and rounded;
  * quadratic-weighted Cohen's kappa, Pearson's r and MAE are computed on those integers; the
    kappa's weights are (i - j)^2 on the 0..10 scale itself (sklearn `labels=range(11)`): without
    `labels` sklearn weighs by rank among the values that occur, so a scale value neither side
    used would shrink the distance between its neighbours (the authors' call omits it; the two
    agree whenever every value 0..10 occurs on one side or the other);
  * "Humans" is the agreement between annotators (each pair on the items both rated validly,
    averaged over pairs when there are more than two).
Rounding is half-to-even (numpy/pandas `round`, what the authors' pandas code does): a mean of
6.5 becomes 6, 7.5 becomes 8.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score

Rating = float | int | None
INVALID = -1
SCALE = tuple(range(11))


def _valid(value: Rating) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and value != INVALID


def to_scale(value: Rating, scale: float) -> int | None:
    """A score as an integer 0..10: value * 10 / scale, rounded half-to-even; None stays None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(np.round(float(value) * 10.0 / scale))


def human_reference(ratings: Sequence[Sequence[Rating]]) -> list[int | None]:
    """Per item: the annotators' mean, rounded; None where any annotator gave -1 or nothing.

    ratings[a][i] is annotator a's rating of item i.
    """
    if not ratings:
        raise ValueError("no annotators")
    n = {len(r) for r in ratings}
    if len(n) != 1:
        raise ValueError(f"annotators rated different numbers of items: {sorted(n)}")
    out: list[int | None] = []
    for item in zip(*ratings, strict=True):
        out.append(int(np.round(float(np.mean(item)))) if all(_valid(v) for v in item) else None)
    return out


def agreement(a: Sequence[int | None], b: Sequence[int | None]) -> dict[str, float]:
    """Quadratic-weighted kappa, Pearson r and MAE over the items both sides scored; n = those items."""
    if len(a) != len(b):
        raise ValueError(f"{len(a)} vs {len(b)} items")
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if _valid(x) and _valid(y)]
    if len(pairs) < 2:
        return {"kappa": math.nan, "pearson": math.nan, "mae": math.nan, "n": len(pairs)}
    x = np.array([p[0] for p in pairs], dtype=int)
    y = np.array([p[1] for p in pairs], dtype=int)
    outside = sorted({int(v) for v in np.concatenate([x, y]) if v not in SCALE})
    if outside:
        raise ValueError(f"ratings outside 0..10: {outside}")
    kappa = float(cohen_kappa_score(x, y, weights="quadratic", labels=list(SCALE)))
    # A constant side has no correlation (NaN), which np.corrcoef would also warn about.
    pearson = float(np.corrcoef(x, y)[0, 1]) if x.std() > 0 and y.std() > 0 else math.nan
    return {"kappa": kappa, "pearson": pearson, "mae": float(np.mean(np.abs(x - y))), "n": len(pairs)}


def between_annotators(ratings: Sequence[Sequence[Rating]]) -> dict[str, float]:
    """Agreement between annotators: each pair on its validly rated items, averaged over pairs."""
    if len(ratings) < 2:
        raise ValueError("agreement between annotators needs at least two")
    results = []
    for r1, r2 in itertools.combinations(ratings, 2):
        ints = [[None if not _valid(v) else int(v) for v in r] for r in (r1, r2)]
        results.append(agreement(*ints))
    return {k: float(np.mean([r[k] for r in results])) for k in ("kappa", "pearson", "mae", "n")}


def table1(
    human: Mapping[str, Sequence[Rating]],
    scorers: Mapping[str, Sequence[Rating]],
    scales: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Rows "Humans" then one per scorer: method, kappa, pearson, mae, n.

    `human`: annotator -> ratings; `scorers`: name -> scores on the same items (None = no score);
    `scales[name]`: the score that means 10 (10 for a judge, the default; 1 for a classifier's
    probability; 100 for a 0-100 row score).
    """
    ratings = list(human.values())
    reference = human_reference(ratings)
    rows = [{"method": "Humans", **between_annotators(ratings)}]
    for name, values in scorers.items():
        scale = (scales or {}).get(name, 10.0)
        rows.append({"method": name, **agreement(reference, [to_scale(v, scale) for v in values])})
    out = pd.DataFrame(rows)
    out["n"] = out["n"].astype(float)
    return out

"""Judge validation metrics (the P3B3 paper's Table 1) against values computed by hand.

The example: two annotators, six items, one item marked invalid (-1) by annotator 1.

    item          0     1     2     3     4     5
    annotator 1  10     8    -1     2     5     0
    annotator 2   9     8     7     3     6     0
    mean        9.5     8     -   2.5   5.5     0
    reference    10     8  drop     2     6     0     (half-to-even: 9.5 -> 10, 2.5 -> 2, 5.5 -> 6)

Quadratic-weighted kappa with weights (i - j)^2 on the 0..10 scale (the normalisation cancels):
kappa = 1 - sum_pairs (x - y)^2 / (sum_{a,b} (x_a - y_b)^2 / n).
"""

from __future__ import annotations

import math

import pytest

from amalia_wf.genbench import agreement as ag

A1 = [10, 8, -1, 2, 5, 0]
A2 = [9, 8, 7, 3, 6, 0]
REFERENCE = [10, 8, None, 2, 6, 0]


def test_reference_drops_invalid_and_rounds_half_to_even() -> None:
    assert ag.human_reference([A1, A2]) == REFERENCE
    assert ag.human_reference([[7, None], [8, 4]]) == [8, None]  # 7.5 -> 8; a blank is invalid too
    assert ag.human_reference([[6, 1], [7, 2], [7, 2]]) == [7, 2]  # 6.67 -> 7, 1.67 -> 2
    assert [ag.to_scale(v, 1) for v in (0.75, 0.25, 0.875, 0.0)] == [8, 2, 9, 0]
    assert ag.to_scale(65.0, 100) == 6 and ag.to_scale(7, 10) == 7 and ag.to_scale(None, 10) is None


def test_judge_against_humans_by_hand() -> None:
    # Judge [9, 8, 5, 4, 6, 1]; item 2 has no reference: pairs (10,9) (8,8) (2,4) (6,6) (0,1), n = 5.
    #   MAE = (1 + 0 + 2 + 0 + 1) / 5 = 0.8
    #   observed sum of squares = 1 + 0 + 4 + 0 + 1 = 6
    #   all pairs x_a vs y_b: x=10: 1+4+36+16+81 = 138; x=8: 1+0+16+4+49 = 70; x=2: 49+36+4+16+1 = 106;
    #   x=6: 9+4+4+0+25 = 42; x=0: 81+64+16+36+1 = 198; total 554, expected = 554 / 5 = 110.8
    #   kappa = 1 - 6 / 110.8 = 262 / 277
    #   Pearson: x - 5.2 = (4.8, 2.8, -3.2, 0.8, -5.2), y - 5.6 = (3.4, 2.4, -1.6, 0.4, -4.6);
    #   sum of products 52.4, sums of squares 68.8 and 41.2: r = 52.4 / sqrt(68.8 * 41.2)
    m = ag.agreement(REFERENCE, [9, 8, 5, 4, 6, 1])
    assert m["n"] == 5
    assert m["mae"] == pytest.approx(0.8)
    assert m["kappa"] == pytest.approx(262 / 277)
    assert m["pearson"] == pytest.approx(52.4 / math.sqrt(68.8 * 41.2))


def test_between_annotators_by_hand() -> None:
    # Items where both are valid: A1 (10, 8, 2, 5, 0) vs A2 (9, 8, 3, 6, 0), n = 5.
    #   MAE = (1 + 0 + 1 + 1 + 0) / 5 = 0.6; observed sum of squares 3
    #   all pairs: x=10: 1+4+49+16+100 = 170; x=8: 1+0+25+4+64 = 94; x=2: 49+36+1+16+4 = 106;
    #   x=5: 16+9+4+1+25 = 55; x=0: 81+64+9+36+0 = 190; total 615, expected 123: kappa = 1 - 3/123 = 40/41
    #   Pearson: x - 5 = (5, 3, -3, 0, -5), y - 5.2 = (3.8, 2.8, -2.2, 0.8, -5.2): 60 / sqrt(68 * 54.8)
    m = ag.between_annotators([A1, A2])
    assert m["n"] == 5 and m["mae"] == pytest.approx(0.6)
    assert m["kappa"] == pytest.approx(40 / 41)
    assert m["pearson"] == pytest.approx(60 / math.sqrt(68 * 54.8))


def test_table1_by_hand() -> None:
    # Classifier P(pt-PT) (0.875, 0.75, 0.5, 0.25, 0.625, 0.0) x 10 -> 8.75, 7.5, 5, 2.5, 6.25, 0
    # -> (9, 8, 5, 2, 6, 0). Pairs (10,9) (8,8) (2,2) (6,6) (0,0): MAE 1/5; observed sum 1;
    # all pairs: 185 + 105 + 105 + 65 + 185 = 645, expected 129: kappa = 128/129;
    # Pearson: (4.8, 2.8, -3.2, 0.8, -5.2) . (4, 3, -3, 1, -5) = 64, squares 68.8 and 60.
    # Judge rows on 0-100 with one missing (None): item 0 drops out, n = 4.
    table = ag.table1(
        {"a1": A1, "a2": A2},
        {"VId": [0.875, 0.75, 0.5, 0.25, 0.625, 0.0], "judge": [9, 8, 5, 4, 6, 1], "judge-rows": [None, 80.0, 50.0, 40.0, 60.0, 10.0]},
        scales={"VId": 1.0, "judge-rows": 100.0},
    )
    assert list(table["method"]) == ["Humans", "VId", "judge", "judge-rows"]
    vid = table.set_index("method").loc["VId"]
    assert vid["kappa"] == pytest.approx(128 / 129)
    assert vid["mae"] == pytest.approx(0.2)
    assert vid["pearson"] == pytest.approx(64 / math.sqrt(68.8 * 60))
    humans = table.set_index("method").loc["Humans"]
    assert humans["kappa"] == pytest.approx(40 / 41)
    judge = table.set_index("method").loc["judge"]
    assert judge["kappa"] == pytest.approx(262 / 277)
    rows = table.set_index("method").loc["judge-rows"]
    # Without item 0 the pairs are (8,8) (2,4) (6,6) (0,1): MAE 3/4.
    assert rows["n"] == 4 and rows["mae"] == pytest.approx(0.75)


def test_kappa_uses_the_whole_0_to_10_scale() -> None:
    # Only 0, 5 and 10 occur. On the scale, 0 vs 5 is a distance of 5 (weight 25) and 0 vs 10 of 10
    # (weight 100); ranked among the values that occur they would be 1 and 2.
    # Pairs (0,0) (10,10) (0,5): observed 25; all pairs x in (0,10,0) vs y in (0,10,5):
    # x=0: 0+100+25 = 125 (twice), x=10: 100+0+25 = 125; total 375, expected 125: kappa = 1 - 25/125 = 0.8
    m = ag.agreement([0, 10, 0], [0, 10, 5])
    assert m["kappa"] == pytest.approx(0.8)
    with pytest.raises(ValueError, match="outside 0..10"):
        ag.agreement([0, 11], [0, 10])


def test_more_annotators_average_the_pairs() -> None:
    a3 = [10, 7, 7, 2, 5, 1]
    pairs = [ag.between_annotators(p) for p in ([A1, A2], [A1, a3], [A2, a3])]
    m = ag.between_annotators([A1, A2, a3])
    assert m["mae"] == pytest.approx(sum(p["mae"] for p in pairs) / 3)
    assert m["kappa"] == pytest.approx(sum(p["kappa"] for p in pairs) / 3)


def test_degenerate_inputs() -> None:
    assert math.isnan(ag.agreement([5, None], [5, 6])["kappa"])  # one pair: nothing to measure
    assert math.isnan(ag.agreement([5, 6, 7], [4, 4, 4])["pearson"])  # constant side: no correlation
    with pytest.raises(ValueError, match="different numbers"):
        ag.human_reference([[1, 2], [1]])

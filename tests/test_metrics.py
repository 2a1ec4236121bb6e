"""Tests of mstl_lib.evaluation.metrics against confusion matrices counted by hand."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest

from mstl_lib.errors import DataError
from mstl_lib.evaluation.metrics import (
    METRIC_KEYS,
    UndefinedMetricWarning,
    binary_metrics,
    roc_curve,
    summarize_folds,
)

# Ten cases, threshold 0.5 (score >= 0.5 -> malignant):
#   index    0    1    2    3    4    5    6    7    8    9
#   true     1    1    1    1    0    0    0    0    0    0
#   score  .90  .80  .60  .30  .10  .20  .40  .70  .55  .05
#   pred     1    1    1    0    0    0    0    1    1    0
#   cell    TP   TP   TP   FN   TN   TN   TN   FP   FP   TN
# TP = 3, FN = 1, TN = 4, FP = 2.
Y_TRUE = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
Y_SCORE = [0.90, 0.80, 0.60, 0.30, 0.10, 0.20, 0.40, 0.70, 0.55, 0.05]


def test_hand_counted_confusion_matrix_and_ratios():
    m = binary_metrics(Y_TRUE, Y_SCORE)
    assert list(m) == list(METRIC_KEYS)
    assert (m["tp"], m["fn"], m["tn"], m["fp"]) == (3, 1, 4, 2)
    assert m["accuracy"] == pytest.approx(float(Fraction(3 + 4, 10)))  # eq. 3
    assert m["sensitivity"] == pytest.approx(float(Fraction(3, 3 + 1)))  # eq. 4
    assert m["specificity"] == pytest.approx(float(Fraction(4, 4 + 2)))  # eq. 5
    precision = Fraction(3, 3 + 2)
    recall = Fraction(3, 4)
    f1 = 2 * precision * recall / (precision + recall)
    assert f1 == Fraction(2 * 3, 2 * 3 + 2 + 1)  # 6/9
    assert m["f1"] == pytest.approx(float(f1))  # eq. 6
    # AUC by hand: of the 4 x 6 = 24 (malignant, benign) pairs, count those
    # with the malignant case scored higher (benign: .10 .20 .40 .70 .55 .05).
    pairs = sum(
        (s_pos > s_neg) + 0.5 * (s_pos == s_neg)
        for s_pos, t_pos in zip(Y_SCORE, Y_TRUE)
        if t_pos == 1
        for s_neg, t_neg in zip(Y_SCORE, Y_TRUE)
        if t_neg == 0
    )
    # .90 beats all 6, .80 all 6, .60 all but .70 -> 5, .30 beats .10 .20 .05 -> 3
    assert pairs == 6 + 6 + 5 + 3
    assert m["auc"] == pytest.approx(20 / 24)
    loss = -np.mean([math.log(s) if t == 1 else math.log(1 - s) for t, s in zip(Y_TRUE, Y_SCORE)])
    assert m["loss"] == pytest.approx(loss)
    assert all(isinstance(m[k], int) for k in ("tn", "fp", "fn", "tp"))


def test_threshold_moves_cells():
    # threshold 0.75: predicted malignant are .90 and .80 only
    # TP = 2 (.90, .80), FN = 2 (.60, .30), FP = 0, TN = 6
    m = binary_metrics(Y_TRUE, Y_SCORE, threshold=0.75)
    assert (m["tp"], m["fn"], m["tn"], m["fp"]) == (2, 2, 6, 0)
    assert m["sensitivity"] == pytest.approx(float(Fraction(2, 4)))
    assert m["specificity"] == 1.0
    assert m["f1"] == pytest.approx(float(Fraction(2 * 2, 2 * 2 + 0 + 2)))
    # score exactly at the threshold counts as malignant
    assert binary_metrics([1, 0], [0.5, 0.49])["tp"] == 1


def test_perfect_and_column_shaped_input():
    y = np.array([[0], [1], [1], [0]])
    s = np.array([[0.1], [0.9], [0.8], [0.3]], dtype="float32")  # Keras (n, 1) output
    m = binary_metrics(y, s)
    assert m["accuracy"] == m["sensitivity"] == m["specificity"] == m["f1"] == m["auc"] == 1.0
    m = binary_metrics(np.array([True, False]), [0.7, 0.2])
    assert m["tp"] == 1 and m["tn"] == 1


def test_single_class_gives_nan_auc_with_warning():
    with pytest.warns(UndefinedMetricWarning, match="AUC"):
        m = binary_metrics([0, 0, 0], [0.1, 0.7, 0.2])
    assert math.isnan(m["auc"])
    # no malignant case: TP + FN = 0 -> sensitivity undefined
    assert math.isnan(m["sensitivity"])
    assert m["specificity"] == pytest.approx(2 / 3)
    # TP = 0, FP = 1, FN = 0 -> F1 = 2*0 / (0 + 1 + 0) = 0, defined
    assert m["f1"] == 0.0
    assert np.isfinite(m["loss"])


def test_zero_denominators_are_nan():
    with pytest.warns(UndefinedMetricWarning):
        m = binary_metrics([0, 0], [0.1, 0.2])  # TN = 2 only
    assert math.isnan(m["sensitivity"]) and math.isnan(m["f1"]) and math.isnan(m["auc"])
    assert m["specificity"] == 1.0 and m["accuracy"] == 1.0
    with pytest.warns(UndefinedMetricWarning):
        m = binary_metrics([1, 1], [0.9, 0.2])  # TP = 1, FN = 1, no benign case
    assert math.isnan(m["specificity"])
    assert m["sensitivity"] == 0.5
    # benign cases present, nothing predicted malignant, no malignant case
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # two classes: no warning at all
        m = binary_metrics([1, 0], [0.2, 0.1])
    assert m["tp"] == 0 and m["f1"] == 0.0  # FN = 1 -> F1 = 0/(0+0+1) = 0


@pytest.mark.parametrize(
    "y_true, y_score, match",
    [
        ([0, 1, 1], [0.2, 0.8], "3 labels but y_score has 2"),
        ([0, 2], [0.2, 0.8], "only 0"),
        ([0, -1], [0.2, 0.8], "only 0"),
        (["b", "m"], [0.2, 0.8], "0 \\(benign\\)"),
        ([0, 1], [0.2, 1.3], "\\[0, 1\\]"),
        ([0, 1], [-0.1, 0.8], "logits"),
        ([0, 1], [0.2, np.nan], "nan"),
        ([], [], "empty"),
        (np.zeros((2, 2)), [0.2, 0.8], "1-D"),
    ],
)
def test_bad_input_raises_data_error(y_true, y_score, match):
    with pytest.raises(DataError, match=match):
        binary_metrics(y_true, y_score)


def test_bad_threshold():
    with pytest.raises(DataError, match="threshold"):
        binary_metrics([0, 1], [0.2, 0.8], threshold=1.5)


def test_roc_curve_points():
    fpr, tpr, thr = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    # thresholds inf, .8, .4, .35, .1 -> (0,0) (0,.5) (.5,.5) (.5,1) (1,1); sklearn drops
    # collinear points (drop_intermediate) but keeps the corners.
    assert fpr[0] == 0 and tpr[0] == 0 and fpr[-1] == 1 and tpr[-1] == 1
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert np.trapezoid(tpr, fpr) == pytest.approx(0.75)
    assert len(fpr) == len(tpr) == len(thr)
    with pytest.raises(DataError, match="only class"):
        roc_curve([1, 1], [0.2, 0.3])


def test_summarize_folds_sample_std():
    folds = [
        {"accuracy": 0.8, "auc": 0.9},
        {"accuracy": 0.9, "auc": 0.7},
        {"accuracy": 1.0, "auc": 0.8},
    ]
    s = summarize_folds(folds)
    # mean .9; deviations -.1, 0, .1; sample variance (.01 + 0 + .01) / (3 - 1) = .01
    assert s["accuracy"][0] == pytest.approx(0.9)
    assert s["accuracy"][1] == pytest.approx(0.1)
    assert s["auc"] == pytest.approx((0.8, 0.1))


def test_summarize_folds_nan_and_errors():
    s = summarize_folds([{"auc": float("nan")}, {"auc": 0.6}, {"auc": 0.8}])
    assert s["auc"][0] == pytest.approx(0.7)
    assert s["auc"][1] == pytest.approx(np.std([0.6, 0.8], ddof=1))
    one = summarize_folds([{"auc": 0.6}])
    assert one["auc"][0] == 0.6 and math.isnan(one["auc"][1])
    with pytest.raises(DataError, match="at least one"):
        summarize_folds([])
    with pytest.raises(DataError, match="keys"):
        summarize_folds([{"auc": 0.6}, {"acc": 0.6}])
    with pytest.raises(DataError, match="numeric"):
        summarize_folds([{"auc": "high"}])


def test_summarize_real_fold_metrics():
    rng = np.random.default_rng(0)
    folds = []
    for _ in range(5):
        y = np.r_[np.zeros(20, int), np.ones(20, int)]
        s = np.clip(y * 0.3 + rng.uniform(0, 0.7, size=40), 0, 1)
        folds.append(binary_metrics(y, s))
    summary = summarize_folds(folds)
    assert set(summary) == set(METRIC_KEYS)
    accs = [f["accuracy"] for f in folds]
    assert summary["accuracy"] == pytest.approx((np.mean(accs), np.std(accs, ddof=1)))

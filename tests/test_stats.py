"""Tests of mstl_lib.evaluation.stats: the paper's t-test, Nadeau-Bengio, bootstrap CIs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps
from sklearn.metrics import roc_auc_score

from mstl_lib.errors import DataError
from mstl_lib.evaluation.metrics import binary_metrics
from mstl_lib.evaluation.stats import BootstrapCI, bootstrap_ci, corrected_resampled_ttest, paper_ttest

# Five folds, model A and model B; differences d = a - b:
#   a   .80  .82  .85  .79  .84
#   b   .78  .80  .80  .78  .81
#   d   .02  .02  .05  .01  .03
# mean(d) = .13 / 5 = .026
# deviations -.006 -.006 .024 -.016 .004; squares (1e-6) 36 36 576 256 16 = 920
# var(d, ddof=1) = 920e-6 / 4 = 230e-6
A = [0.80, 0.82, 0.85, 0.79, 0.84]
B = [0.78, 0.80, 0.80, 0.78, 0.81]
MEAN_D = 0.026
VAR_D = 230e-6
K = 5


def test_corrected_ttest_hand_computed():
    # five-fold CV: n_test / n_train = 40 / 160 = 1/4; correction 1/5 + 1/4 = 0.45
    t, p = corrected_resampled_ttest(A, B, n_train=160, n_test=40)
    expected_t = MEAN_D / math.sqrt(0.45 * VAR_D)  # = 2.5557...
    assert t == pytest.approx(expected_t, rel=1e-9)
    assert t == pytest.approx(2.55566, abs=1e-5)
    assert p == pytest.approx(2 * sps.t.sf(expected_t, df=K - 1), rel=1e-9)
    assert 0 < p < 1


def test_corrected_ttest_reduces_to_paired_ttest():
    # standard paired t by hand: mean / sqrt(var / k) = .026 / sqrt(46e-6) = 3.8335...
    standard_t = MEAN_D / math.sqrt(VAR_D / K)
    ref = sps.ttest_rel(A, B)
    assert ref.statistic == pytest.approx(standard_t, rel=1e-9)
    # n_test / n_train -> 0: the correction term -> 1/k
    t, p = corrected_resampled_ttest(A, B, n_train=10**12, n_test=1)
    assert t == pytest.approx(ref.statistic, rel=1e-9)
    assert p == pytest.approx(ref.pvalue, rel=1e-6)
    # and in general t_corrected = t_standard * sqrt((1/k) / (1/k + r))
    t_c, p_c = corrected_resampled_ttest(A, B, n_train=160, n_test=40)
    assert t_c == pytest.approx(standard_t * math.sqrt(0.2 / 0.45), rel=1e-9)
    assert p_c > ref.pvalue  # the correction is more conservative


def test_corrected_ttest_sign_and_symmetry():
    t_ab, p_ab = corrected_resampled_ttest(A, B, 160, 40)
    t_ba, p_ba = corrected_resampled_ttest(B, A, 160, 40)
    assert t_ab > 0 and t_ba == pytest.approx(-t_ab) and p_ab == pytest.approx(p_ba)


def test_identical_and_constant_differences():
    assert corrected_resampled_ttest(A, A, 160, 40) == (0.0, 1.0)
    assert paper_ttest(A, A) == (0.0, 1.0)
    assert paper_ttest(A, A, paired=False) == (0.0, 1.0)
    t, p = corrected_resampled_ttest([2, 3, 4], [1, 2, 3], 80, 20)
    assert t == math.inf and p == 0.0
    t, p = paper_ttest([1, 2, 3], [2, 3, 4])
    assert t == -math.inf and p == 0.0


def test_pvalues_in_unit_interval_random():
    rng = np.random.default_rng(0)
    for _ in range(50):
        a = rng.uniform(0.7, 0.95, size=5)
        b = rng.uniform(0.7, 0.95, size=5)
        for t, p in (
            corrected_resampled_ttest(a, b, 160, 40),
            paper_ttest(a, b),
            paper_ttest(a, b, paired=False),
            paper_ttest(a, b, paired=False, equal_var=False),
        ):
            assert 0.0 <= p <= 1.0 and np.isfinite(t)


def test_paper_ttest_matches_scipy():
    # nine configurations (3 backbones x 3 optimizers), made-up accuracies
    mstl = [0.991, 0.989, 0.985, 0.978, 0.981, 0.975, 0.990, 0.984, 0.987]
    ctl = [0.982, 0.970, 0.979, 0.961, 0.975, 0.960, 0.985, 0.972, 0.980]
    paired = paper_ttest(mstl, ctl)
    ref = sps.ttest_rel(mstl, ctl)
    assert paired == (pytest.approx(ref.statistic), pytest.approx(ref.pvalue))
    unpaired = paper_ttest(mstl, ctl, paired=False)
    ref = sps.ttest_ind(mstl, ctl)
    assert unpaired == (pytest.approx(ref.statistic), pytest.approx(ref.pvalue))
    # pairing removes between-configuration variance: the paired test is sharper here
    assert paired.pvalue < unpaired.pvalue
    assert paired.statistic > 0


@pytest.mark.parametrize(
    "call",
    [
        lambda: paper_ttest([0.9, 0.8, 0.7], [0.9, 0.8]),
        lambda: paper_ttest([0.9], [0.8]),
        lambda: paper_ttest([0.9, np.nan], [0.8, 0.7]),
        lambda: paper_ttest([0.9], [0.8, 0.7], paired=False),
        lambda: corrected_resampled_ttest(A, B[:4], 160, 40),
        lambda: corrected_resampled_ttest(A, B, 0, 40),
        lambda: corrected_resampled_ttest(A, B, 160, 0.5),
    ],
)
def test_ttest_input_errors(call):
    with pytest.raises(DataError):
        call()


# ---------------------------------------------------------------- bootstrap


def _scores(n, seed=0, separation=1.0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    logits = separation * (2 * y - 1) + rng.normal(0, 1, size=n)
    return y, 1 / (1 + np.exp(-logits))


def test_bootstrap_estimates_match_point_metrics():
    y, s = _scores(60, seed=1)
    s = np.round(s, 1)  # ties, to check the rank-based AUC
    auc = bootstrap_ci(y, s, "auc", n_resamples=200, seed=0)
    assert auc.estimate == pytest.approx(roc_auc_score(y, s))
    acc = bootstrap_ci(y, s, "accuracy", n_resamples=200, seed=0)
    assert acc.estimate == pytest.approx(binary_metrics(y, s)["accuracy"])


@pytest.mark.parametrize("metric", ["auc", "accuracy"])
@pytest.mark.parametrize("method", ["percentile", "basic", "bca"])
def test_bootstrap_ci_contains_estimate(metric, method):
    y, s = _scores(80, seed=2)
    ci = bootstrap_ci(y, s, metric, method=method, n_resamples=1000, seed=3)
    assert isinstance(ci, BootstrapCI)
    assert ci.low <= ci.estimate <= ci.high
    assert 0 <= ci.low < ci.high <= 1
    assert ci.method == method and ci.n_skipped == 0
    low, high = ci
    assert (low, high) == (ci.low, ci.high)


@pytest.mark.parametrize("metric", ["auc", "accuracy"])
def test_bootstrap_ci_shrinks_with_more_data(metric):
    small = bootstrap_ci(*_scores(40, seed=4), metric, n_resamples=1000, seed=0)
    large = bootstrap_ci(*_scores(1000, seed=4), metric, n_resamples=1000, seed=0)
    assert large.width < small.width / 2  # ~ 1 / sqrt(25) = 1/5 in theory


def test_bootstrap_reproducible_with_seed():
    y, s = _scores(50, seed=5)
    a = bootstrap_ci(y, s, seed=42, n_resamples=500)
    b = bootstrap_ci(y, s, seed=42, n_resamples=500)
    c = bootstrap_ci(y, s, seed=43, n_resamples=500)
    assert a == b
    assert (a.low, a.high) != (c.low, c.high)
    g1 = bootstrap_ci(y, s, seed=np.random.default_rng(7), n_resamples=500)
    g2 = bootstrap_ci(y, s, seed=np.random.default_rng(7), n_resamples=500)
    assert g1 == g2


def test_bootstrap_skips_one_class_resamples():
    # one malignant case among eight: about (7/8)^8 = 34% of resamples lack it
    y = [1, 0, 0, 0, 0, 0, 0, 0]
    s = [0.9, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.95]
    with pytest.warns(RuntimeWarning, match="one class"):
        ci = bootstrap_ci(y, s, "auc", n_resamples=500, seed=0)
    assert 100 < ci.n_skipped < 300
    assert np.isfinite(ci.low) and np.isfinite(ci.high)
    assert ci.low <= ci.estimate <= ci.high
    with pytest.warns(RuntimeWarning) as record:
        ci = bootstrap_ci(y, s, "auc", method="bca", n_resamples=500, seed=0)
    messages = " ".join(str(w.message) for w in record)
    assert "one class" in messages and "percentile" in messages
    assert ci.method == "percentile" and np.isfinite(ci.low)


def test_bootstrap_perfect_separation():
    y = [0] * 10 + [1] * 10
    s = [0.1] * 10 + [0.9] * 10
    ci = bootstrap_ci(y, s, "auc", n_resamples=200, seed=0)
    assert (ci.low, ci.estimate, ci.high) == (1.0, 1.0, 1.0)
    with pytest.warns(RuntimeWarning, match="BCa"):
        ci = bootstrap_ci(y, s, "auc", method="bca", n_resamples=200, seed=0)
    assert (ci.low, ci.high) == (1.0, 1.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"y_true": [0, 0, 0], "y_score": [0.1, 0.2, 0.3]},  # AUC needs two classes
        {"y_true": [0, 1], "y_score": [0.1, 0.2], "metric": "f1"},
        {"y_true": [0, 1], "y_score": [0.1, 0.2], "method": "studentized"},
        {"y_true": [0, 1], "y_score": [0.1, 0.2], "confidence_level": 95},
        {"y_true": [0, 1], "y_score": [0.1, 0.2], "n_resamples": 0},
        {"y_true": [0, 1], "y_score": [0.1, 1.2]},
        {"y_true": [0, 1, 1], "y_score": [0.1, 0.2]},
    ],
)
def test_bootstrap_input_errors(kwargs):
    with pytest.raises(DataError):
        bootstrap_ci(**kwargs)

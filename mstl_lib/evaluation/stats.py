"""Significance tests and confidence intervals for MSTL vs CTL.

Three tools, from the one the paper used to the ones a careful reader would
add:

* :func:`paper_ttest`: the paper's t-test of MSTL against CTL over the mean
  accuracies of the backbone x optimizer configurations (Ayana et al. 2022,
  section 3.2, p = 0.01191). The paper does not name its test; a paired test
  on Table 1's test-accuracy column reproduces 0.01191 exactly
  (``tests/test_paper_facts.py``), so the default is paired, and
  ``paired=False`` gives Student's two-sample test for comparison (0.092 on
  the same numbers). Either way the nine configurations share one data set,
  so they are not independent samples and the p-value is optimistic.
* :func:`corrected_resampled_ttest`: the Nadeau-Bengio corrected resampled
  t-test for per-fold scores of two models evaluated on the same folds. The
  plain paired t-test over folds treats folds as independent although their
  training sets overlap, which makes it too liberal; the correction inflates
  the variance by ``n_test / n_train``.
* :func:`bootstrap_ci`: a bootstrap confidence interval of AUC or accuracy
  on one test set, resampling (label, score) pairs with
  ``scipy.stats.bootstrap``; the AUC of every resample is
  :func:`mstl_lib.evaluation.metrics.roc_auc`, the one AUC of the library.

Conventions
-----------
All t-tests are two-sided. When every paired difference is zero the tests
return ``t = 0, p = 1`` (no evidence of a difference; SciPy itself gives nan);
when the differences are constant and non-zero, ``t = +-inf, p = 0``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from mstl_lib.errors import DataError
from mstl_lib.evaluation.metrics import check_predictions, roc_auc
from mstl_lib.validation import as_rng, check_choice, check_integer, check_number

__all__ = [
    "TTestResult",
    "BootstrapCI",
    "paper_ttest",
    "corrected_resampled_ttest",
    "bootstrap_ci",
]


class TTestResult(NamedTuple):
    """A t statistic and its two-sided p-value; unpacks as ``t, p``."""

    statistic: float
    pvalue: float


@dataclass(frozen=True)
class BootstrapCI:
    """A bootstrap confidence interval.

    Attributes
    ----------
    metric : str
        ``"auc"`` or ``"accuracy"``.
    estimate : float
        The metric on the full sample.
    low, high : float
        Interval bounds.
    confidence_level : float
        E.g. 0.95.
    method : str
        The method actually used (``"percentile"``, ``"basic"`` or ``"bca"``;
        ``"percentile"`` when BCa fell back, see :func:`bootstrap_ci`).
    n_resamples : int
        Resamples drawn.
    n_skipped : int
        Resamples on which the metric was undefined (AUC of a resample
        holding one class) and that were left out.
    """

    metric: str
    estimate: float
    low: float
    high: float
    confidence_level: float
    method: str
    n_resamples: int
    n_skipped: int

    @property
    def width(self) -> float:
        """``high - low``."""
        return self.high - self.low

    def __iter__(self):
        """Unpacks as ``low, high``."""
        return iter((self.low, self.high))


def _paired_arrays(a, b, name_a="scores_a", name_b="scores_b"):
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    if a.shape != b.shape:
        raise DataError(
            f"{name_a} has {a.size} values and {name_b} has {b.size}; a paired test needs the same "
            "configurations (or folds) in the same order."
        )
    if a.size < 2:
        raise DataError(f"A t-test needs at least 2 paired values, got {a.size}.")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise DataError(f"{name_a} and {name_b} must be finite numbers (no nan).")
    return a, b


def _degenerate(d: np.ndarray) -> TTestResult | None:
    """Result for zero-variance differences, or None if the variance is positive."""
    if np.all(d == d[0]):
        if d[0] == 0:
            return TTestResult(0.0, 1.0)
        return TTestResult(math.copysign(math.inf, d[0]), 0.0)
    return None


def paper_ttest(mstl_accs, ctl_accs, paired: bool = True, equal_var: bool = True) -> TTestResult:
    """The paper's t-test of MSTL against CTL accuracies.

    Parameters
    ----------
    mstl_accs, ctl_accs : array-like of float
        Mean accuracy of each configuration (backbone x optimizer, nine in the
        paper's Table 1) under MSTL and CTL, in the same order.
    paired : bool, default True
        ``True``: paired t-test (``scipy.stats.ttest_rel``), pairing the two
        methods on each configuration. ``False``: two-sample t-test
        (``scipy.stats.ttest_ind``). The paper does not say which it used.
    equal_var : bool, default True
        For ``paired=False`` only: Student's test (True) or Welch's (False).

    Returns
    -------
    TTestResult
        ``(statistic, pvalue)``, two-sided; positive ``statistic`` means MSTL
        is higher. ``df`` is ``n - 1`` (paired) or ``2n - 2`` (Student).

    Raises
    ------
    DataError
        Fewer than 2 values, nan, or (paired) unequal lengths.

    References
    ----------
    Ayana et al. (2022), section 3.2 (MSTL vs CTL, p = 0.01191), Table 1.
    """
    from scipy import stats

    if paired:
        a, b = _paired_arrays(mstl_accs, ctl_accs, "mstl_accs", "ctl_accs")
        degenerate = _degenerate(a - b)
        if degenerate is not None:
            return degenerate
        res = stats.ttest_rel(a, b)
    else:
        a = np.asarray(mstl_accs, dtype=float).ravel()
        b = np.asarray(ctl_accs, dtype=float).ravel()
        if a.size < 2 or b.size < 2:
            raise DataError(f"A two-sample t-test needs at least 2 values per group, got {a.size} and {b.size}.")
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            raise DataError("mstl_accs and ctl_accs must be finite numbers (no nan).")
        if np.all(a == a[0]) and np.all(b == b[0]):
            if a[0] == b[0]:
                return TTestResult(0.0, 1.0)
            return TTestResult(math.copysign(math.inf, a[0] - b[0]), 0.0)
        res = stats.ttest_ind(a, b, equal_var=equal_var)
    return TTestResult(float(res.statistic), float(res.pvalue))


def corrected_resampled_ttest(scores_a, scores_b, n_train: int, n_test: int) -> TTestResult:
    """Nadeau-Bengio corrected resampled t-test for two models on the same folds.

    With ``d_j = a_j - b_j`` over the ``k`` folds::

        t = mean(d) / sqrt((1/k + n_test/n_train) * var(d, ddof=1)),  df = k - 1,

    and a two-sided p-value from Student's t distribution. With
    ``n_test / n_train -> 0`` this is the ordinary paired t-test
    (``scipy.stats.ttest_rel``); the extra term accounts for the overlap of
    the training sets, which makes fold scores correlated. For k-fold
    cross-validation ``n_test / n_train = 1 / (k - 1)`` (1/4 for the paper's
    five folds).

    Parameters
    ----------
    scores_a, scores_b : array-like of float
        Per-fold score (e.g. accuracy) of model A (MSTL) and model B (CTL),
        fold by fold in the same order.
    n_train, n_test : int
        Training and test set sizes of one fold (> 0).

    Returns
    -------
    TTestResult
        ``(statistic, pvalue)``, two-sided; positive ``statistic`` means A is
        higher.

    Raises
    ------
    DataError
        Fewer than 2 folds, unequal lengths, nan, or non-positive sizes.

    References
    ----------
    Nadeau, C. and Bengio, Y. (2003). Inference for the generalization error.
    Machine Learning 52, 239-281 (corrected resampled t-test).
    Bouckaert, R. R. and Frank, E. (2004). Evaluating the replicability of
    significance tests for comparing learning algorithms. PAKDD 2004.
    """
    from scipy import stats

    a, b = _paired_arrays(scores_a, scores_b)
    n_train = check_integer(n_train, "n_train", minimum=1)
    n_test = check_integer(n_test, "n_test", minimum=1)
    d = a - b
    degenerate = _degenerate(d)
    if degenerate is not None:
        return degenerate
    k = d.size
    variance = d.var(ddof=1)
    t = d.mean() / math.sqrt((1.0 / k + n_test / n_train) * variance)
    p = 2.0 * stats.t.sf(abs(t), df=k - 1)
    return TTestResult(float(t), float(min(1.0, p)))


def _auc_rows(y_true, y_score, axis=-1):
    """:func:`~mstl_lib.evaluation.metrics.roc_auc` of each row along ``axis``; nan where a row holds one class."""
    y_true = np.moveaxis(np.asarray(y_true), axis, -1)
    y_score = np.moveaxis(np.asarray(y_score), axis, -1)
    rows = zip(y_true.reshape(-1, y_true.shape[-1]), y_score.reshape(-1, y_score.shape[-1]))
    return np.array([roc_auc(t, s) for t, s in rows]).reshape(y_true.shape[:-1])


def _accuracy_rows(threshold):
    def accuracy(y_true, y_score, axis=-1):
        y_true = np.asarray(y_true)
        y_pred = (np.asarray(y_score) >= threshold).astype(y_true.dtype)
        return np.mean(y_pred == y_true, axis=axis)

    return accuracy


_METRICS = ("auc", "accuracy")
_METHODS = ("percentile", "basic", "bca")


def bootstrap_ci(
    y_true,
    y_score,
    metric: str = "auc",
    *,
    threshold: float = 0.5,
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    method: str = "percentile",
    seed=None,
) -> BootstrapCI:
    """Bootstrap confidence interval of AUC or accuracy on one test set.

    Resamples (label, score) pairs with replacement
    (``scipy.stats.bootstrap(..., paired=True)``) and recomputes the metric on
    each resample. A resample that holds only one class has no AUC: it is
    skipped (counted in ``n_skipped``, with a warning), and the interval is
    taken from the remaining resamples (percentile method; BCa cannot skip
    resamples, so it falls back to percentile in that case, also with a
    warning). BCa also falls back to percentile when SciPy cannot compute it
    (e.g. every resample gives AUC = 1).

    Parameters
    ----------
    y_true : array-like of shape (n,) or (n, 1)
        0 = benign, 1 = malignant.
    y_score : array-like of shape (n,) or (n, 1)
        Probability of malignant, in [0, 1].
    metric : {"auc", "accuracy"}, default "auc"
        Which metric.
    threshold : float, default 0.5
        Decision threshold for accuracy (``y_score >= threshold`` is
        malignant).
    confidence_level : float, default 0.95
        In (0, 1).
    n_resamples : int, default 2000
        Bootstrap resamples.
    method : {"percentile", "basic", "bca"}, default "percentile"
        SciPy's interval method. Percentile is the default because it stays
        defined for small test sets with near-perfect AUC.
    seed : int, numpy.random.Generator or None
        For reproducible intervals.

    Returns
    -------
    BootstrapCI
        ``estimate``, ``low``, ``high`` and details; unpacks as ``low, high``.

    Raises
    ------
    DataError
        Bad labels or scores (as :func:`mstl_lib.evaluation.metrics.check_predictions`),
        a single class in ``y_true`` for AUC, unknown metric or method, or
        bad ``confidence_level`` / ``n_resamples``.

    References
    ----------
    Efron, B. and Tibshirani, R. J. (1993). An Introduction to the Bootstrap.
    Chapman & Hall. ``scipy.stats.bootstrap``. Ayana et al. (2022) report
    AUC and accuracy without intervals (section 3.1, Table 1).
    """
    metric = check_choice(metric, "metric", _METRICS)
    method = check_choice(method, "method", _METHODS, lower=True)
    confidence_level = check_number(
        confidence_level, "confidence_level", minimum=0, maximum=1, include_minimum=False, include_maximum=False
    )
    n_resamples = check_integer(n_resamples, "n_resamples", minimum=10)
    threshold = check_number(threshold, "threshold", minimum=0.0, maximum=1.0)
    y_true, y_score = check_predictions(y_true, y_score)
    if metric == "auc" and len(np.unique(y_true)) < 2:
        raise DataError(f"y_true holds only class {int(y_true[0])}; AUC needs benign and malignant cases.")
    statistic = _auc_rows if metric == "auc" else _accuracy_rows(threshold)
    estimate = float(statistic(y_true, y_score))
    rng = np.random.default_rng() if seed is None else as_rng(seed)
    distribution, low, high = _scipy_bootstrap((y_true, y_score), statistic, n_resamples, confidence_level, method, rng)
    finite = distribution[np.isfinite(distribution)]
    n_skipped = int(distribution.size - finite.size)
    used = method
    if n_skipped:
        warnings.warn(
            f"{n_skipped} of {distribution.size} bootstrap resamples held one class only and were "
            f"skipped for {metric}.",
            RuntimeWarning,
            stacklevel=2,
        )
    if n_skipped or not (np.isfinite(low) and np.isfinite(high)):
        low, high, used = _fallback_interval(finite, estimate, confidence_level, method, metric)
    return BootstrapCI(
        metric=metric,
        estimate=estimate,
        low=float(low),
        high=float(high),
        confidence_level=confidence_level,
        method=used,
        n_resamples=n_resamples,
        n_skipped=n_skipped,
    )


def _scipy_bootstrap(data, statistic, n_resamples, confidence_level, method, rng):
    """``scipy.stats.bootstrap`` of paired samples: the bootstrap distribution and the interval's bounds.

    SciPy's warnings about degenerate distributions are silenced; the caller
    looks at nan bounds and undefined resamples itself.
    """
    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.bootstrap(
            data,
            statistic,
            n_resamples=n_resamples,
            vectorized=True,
            paired=True,
            confidence_level=confidence_level,
            method={"bca": "BCa"}.get(method, method),
            rng=rng,
        )
    distribution = np.asarray(res.bootstrap_distribution, dtype=float)
    return distribution, float(res.confidence_interval.low), float(res.confidence_interval.high)


def _fallback_interval(finite, estimate, confidence_level, method, metric):
    """The interval from the defined resamples only: ``(low, high, method used)``.

    Basic stays basic; percentile and BCa give the percentile interval (BCa
    cannot leave resamples out), with a warning for BCa.
    """
    if finite.size == 0:
        raise DataError(f"No bootstrap resample gave a defined {metric}; the test set is too small.")
    if method == "bca":
        warnings.warn(
            "BCa interval unavailable for these data; using the percentile interval.",
            RuntimeWarning,
            stacklevel=3,
        )
    alpha = (1.0 - confidence_level) / 2.0
    q_low, q_high = np.quantile(finite, [alpha, 1.0 - alpha])
    if method == "basic":
        return 2 * estimate - q_high, 2 * estimate - q_low, method
    return q_low, q_high, "percentile"

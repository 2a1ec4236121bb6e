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
* :func:`corrected_resampled_interval`: the same corrected variance for one
  series of per-fold values (one arm's AUCs, or the differences of two
  arms), over repeats x folds of repeated cross-validation (Bouckaert and
  Frank 2004): the mean, its interval, ``t`` and ``p``. The t-test above is
  this interval's test of the paired differences; there is one
  implementation.
* :func:`holm_adjust`: Holm's step-down adjustment of the p-values of a
  family of comparisons.
* :func:`repeats_needed`: how many repeats of the cross-validation would
  resolve a difference of the size observed, from the measured spread.
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
    "CorrectedInterval",
    "corrected_resampled_ttest",
    "corrected_resampled_interval",
    "holm_adjust",
    "repeats_needed",
    "smallest_resolvable_difference",
    "bootstrap_ci",
]


class TTestResult(NamedTuple):
    """A t statistic and its two-sided p-value; unpacks as ``t, p``."""

    statistic: float
    pvalue: float


@dataclass(frozen=True)
class CorrectedInterval:
    """A mean over resampled folds with its corrected interval and test against zero.

    Attributes
    ----------
    estimate : float
        Mean of the values.
    low, high : float
        Interval bounds at ``confidence_level``.
    statistic, pvalue : float
        ``t = estimate / standard_error`` and its two-sided p-value
        (the test of "the true mean is 0").
    df : int
        Degrees of freedom, ``J - 1`` for ``J`` values.
    standard_error : float
        ``sqrt((1/J + n_test/n_train) * sd**2)``.
    sd : float
        Sample standard deviation of the values (ddof=1).
    n : int
        ``J``, the number of values.
    confidence_level : float
        E.g. 0.95.
    """

    estimate: float
    low: float
    high: float
    statistic: float
    pvalue: float
    df: int
    standard_error: float
    sd: float
    n: int
    confidence_level: float

    def __iter__(self):
        """Unpacks as ``low, high``."""
        return iter((self.low, self.high))


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

    With ``d_j = a_j - b_j`` over the ``J`` folds::

        t = mean(d) / sqrt((1/J + n_test/n_train) * var(d, ddof=1)),  df = J - 1,

    and a two-sided p-value from Student's t distribution. With
    ``n_test / n_train -> 0`` this is the ordinary paired t-test
    (``scipy.stats.ttest_rel``); the extra term accounts for the overlap of
    the training sets, which makes fold scores correlated. For k-fold
    cross-validation ``n_test / n_train = 1 / (k - 1)`` (1/4 for the paper's
    five folds). For ``r`` repeats of k-fold cross-validation pass all
    ``J = k * r`` paired scores: ``1/(k r) + n_test/n_train`` and
    ``df = k r - 1`` (Bouckaert and Frank 2004). The test is that of
    :func:`corrected_resampled_interval` applied to the differences.

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
    a, b = _paired_arrays(scores_a, scores_b)
    n_train = check_integer(n_train, "n_train", minimum=1)
    n_test = check_integer(n_test, "n_test", minimum=1)
    result = corrected_resampled_interval(a - b, n_train=n_train, n_test=n_test)
    return TTestResult(result.statistic, result.pvalue)


def corrected_resampled_interval(
    values, n_train: float, n_test: float, confidence_level: float = 0.95
) -> CorrectedInterval:
    """Mean of per-fold values with the corrected resampled variance: interval and test against 0.

    For ``J`` values ``x_j`` from ``r`` repeats of ``k``-fold cross-validation
    (``J = k r``; ``r = 1`` for plain cross-validation)::

        se = sqrt((1/J + n_test/n_train) * var(x, ddof=1)),   df = J - 1,
        interval = mean(x) +- t_{df, (1 + confidence_level)/2} * se,
        t = mean(x) / se, two-sided p from Student's t with df.

    The naive ``var/J`` treats the folds as independent; they share training
    and (across repeats) test images, and ``n_test/n_train`` is the heuristic
    correlation term of Nadeau and Bengio (2003), kept for repeated
    cross-validation by Bouckaert and Frank (2004). It does not shrink with
    more repeats: repeats narrow the interval only down to
    ``sqrt(n_test/n_train) * sd``.

    With ``x`` the paired differences of two models this is the corrected
    resampled t-test (:func:`corrected_resampled_ttest`); with ``x`` one
    model's scores, the interval of its mean score.

    Parameters
    ----------
    values : array-like of float
        One value per (repeat, fold), at least 2, finite.
    n_train, n_test : float
        Training and test set sizes of one fold (> 0; a mean over folds is fine).
    confidence_level : float, default 0.95
        In (0, 1).

    Returns
    -------
    CorrectedInterval
        When every value is equal, the interval is that value and
        ``t = 0, p = 1`` (all zero) or ``t = +-inf, p = 0``.

    Raises
    ------
    DataError
        Fewer than 2 values, nan, non-positive sizes or a bad confidence level.

    References
    ----------
    Nadeau and Bengio (2003), section 5 (corrected resampled t); Bouckaert and
    Frank (2004), section 3 (corrected repeated k-fold cross-validation test).
    """
    from scipy import stats

    x = np.asarray(values, dtype=float).ravel()
    if x.size < 2 or not np.all(np.isfinite(x)):
        raise DataError(f"values must hold at least 2 finite numbers (one per repeat and fold), got {x.size}.")
    n_train = check_number(n_train, "n_train", minimum=0, include_minimum=False)
    n_test = check_number(n_test, "n_test", minimum=0, include_minimum=False)
    confidence_level = check_number(
        confidence_level, "confidence_level", minimum=0, maximum=1, include_minimum=False, include_maximum=False
    )
    n, mean = x.size, float(x.mean())
    sd = float(x.std(ddof=1)) if np.any(x != x[0]) else 0.0
    se = math.sqrt(1.0 / n + n_test / n_train) * sd
    df = n - 1
    degenerate = _degenerate(x)
    if degenerate is not None:
        t, p = degenerate
    else:
        t = mean / se
        p = min(1.0, float(2.0 * stats.t.sf(abs(t), df=df)))
    half = float(stats.t.ppf(0.5 + confidence_level / 2.0, df)) * se
    return CorrectedInterval(mean, mean - half, mean + half, float(t), p, df, se, sd, n, confidence_level)


def holm_adjust(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values for a family of comparisons.

    Sort the ``m`` p-values, ``p_(1) <= ... <= p_(m)``; the adjusted value of
    the ``i``-th smallest is ``max_{j <= i} min(1, (m - j + 1) p_(j))``.
    Rejecting where the adjusted value is below ``alpha`` keeps the chance of
    any false "difference" in the family at most ``alpha``, and rejects at
    least as often as Bonferroni's ``m p``.

    Parameters
    ----------
    pvalues : array-like of float
        In [0, 1]; nan (a comparison that could not be tested) stays nan and
        does not count in ``m``.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the input's order.

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure.
    Scandinavian Journal of Statistics 6, 65-70.
    """
    p = np.asarray(pvalues, dtype=float).ravel()
    tested = np.flatnonzero(np.isfinite(p))
    if np.any((p[tested] < 0) | (p[tested] > 1)):
        raise DataError("p-values must lie in [0, 1].")
    adjusted = np.full(p.shape, np.nan)
    order = tested[np.argsort(p[tested], kind="stable")]
    m = order.size
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    adjusted[order] = np.minimum(1.0, stepped)
    return adjusted


def repeats_needed(
    difference: float,
    sd: float,
    folds: int,
    test_train_ratio: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    max_repeats: int = 1000,
) -> int | None:
    """Repeats of k-fold cross-validation that would resolve a difference, from the measured spread.

    The smallest ``r`` for which the corrected resampled t-test
    (:func:`corrected_resampled_interval`) of ``J = k r`` paired differences
    with mean ``difference`` and standard deviation ``sd`` reaches the
    power ``power`` at the two-sided level ``alpha``, with the usual
    approximation of the power of a t-test::

        |difference| / (sd * sqrt(1/(k r) + n_test/n_train))
            >= t_{1 - alpha/2, k r - 1} + t_{power, k r - 1}.

    It assumes the spread of the differences stays what was measured and the
    true difference is the observed one. Because ``n_test/n_train`` does not
    shrink with repeats, no number of repeats suffices when
    ``|difference| / (sd * sqrt(n_test/n_train)) < z_{1 - alpha/2} + z_{power}``
    (2.80 for the defaults): then more test images per fold, not more repeats,
    are needed, and the answer is None. The level is that of one comparison;
    inside a Holm family the smallest p-value faces ``alpha / m``.

    Parameters
    ----------
    difference : float
        Observed mean difference.
    sd : float
        Standard deviation (ddof=1) of the paired differences over repeats x folds.
    folds : int
        ``k``.
    test_train_ratio : float
        ``n_test / n_train`` of one fold (>= 0).
    alpha, power : float
        Two-sided level and wanted power.
    max_repeats : int
        Search limit; None beyond it.

    Returns
    -------
    int or None
        Repeats (>= 1); 1 when ``sd`` is 0 and the difference is not; None
        when no number up to ``max_repeats`` (or none at all) resolves it, or
        when the difference is 0.
    """
    from scipy import stats

    difference = abs(check_number(difference, "difference"))
    sd = check_number(sd, "sd", minimum=0.0)
    alpha, power = _check_level(alpha, "alpha"), _check_level(power, "power")
    folds = check_integer(folds, "folds", minimum=2)
    ratio = check_number(test_train_ratio, "test_train_ratio", minimum=0.0)
    if difference == 0:
        return None
    if sd == 0:
        return 1
    if difference < _resolvable(sd, ratio, alpha, power):
        return None
    for r in range(1, check_integer(max_repeats, "max_repeats", minimum=1) + 1):
        df = folds * r - 1
        needed = stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(power, df)
        if difference / (sd * math.sqrt(1.0 / (folds * r) + ratio)) >= needed:
            return r
    return None


def smallest_resolvable_difference(
    sd: float, test_train_ratio: float, *, alpha: float = 0.05, power: float = 0.8
) -> float:
    """The smallest difference that any number of repeats could resolve, with this spread.

    As the repeats ``r`` grow, the corrected standard error of
    :func:`corrected_resampled_interval` falls to ``sd * sqrt(n_test/n_train)``
    (not to 0) and the t quantiles become normal ones, so
    :func:`repeats_needed` finds a number of repeats only for::

        |difference| >= (z_{1 - alpha/2} + z_{power}) * sd * sqrt(n_test/n_train)

    (2.80 x ... for the defaults). Below it, more test images per fold, not
    more repeats, are needed.
    """
    sd = check_number(sd, "sd", minimum=0.0)
    ratio = check_number(test_train_ratio, "test_train_ratio", minimum=0.0)
    alpha, power = _check_level(alpha, "alpha"), _check_level(power, "power")
    return _resolvable(sd, ratio, alpha, power)


def _resolvable(sd: float, ratio: float, alpha: float, power: float) -> float:
    """:func:`smallest_resolvable_difference` of arguments its public callers have checked."""
    from scipy import stats

    return float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * sd * math.sqrt(ratio))


def _check_level(value: float, name: str) -> float:
    return check_number(value, name, minimum=0, maximum=1, include_minimum=False, include_maximum=False)


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

"""Classification metrics of the paper, from labels and malignancy scores.

Ayana et al. (2022), section 2.4, eqs. 3-6, report accuracy, sensitivity,
specificity and F1 score, plus AUC and the test loss (Table 1; ROC curves in Fig. 4).
Everything here is computed with scikit-learn from

* ``y_true``: 0 = benign, 1 = malignant (malignant is the positive class);
* ``y_score``: the network's probability of malignant, in [0, 1];

with a decision threshold (default 0.5: ``y_pred = y_score >= threshold``).

Conventions
-----------
* A ratio whose denominator is zero (sensitivity with no malignant case,
  specificity with no benign case, F1 with no positive prediction and no
  positive case) is ``nan``, not 0: "undefined" is not "worst".
* AUC needs both classes; with only one class in ``y_true`` it is ``nan`` and
  a :class:`UndefinedMetricWarning` is issued (no exception).
* ``loss`` is the binary cross-entropy (log loss) of the scores, the loss the
  stage-2 network is trained with.
* :func:`summarize_folds` gives mean and **sample** standard deviation
  (``ddof=1``) over folds, the ``mean ± std`` of the paper's tables (five
  folds). The standard deviation of a single value is undefined: with one
  fold it is ``nan``, and :func:`format_mean_std` writes it as
  ``"0.912 (no SD)"``, never as ``± 0.000``.
* The ROC curve and its area come from scikit-learn
  (``sklearn.metrics.roc_curve`` and ``sklearn.metrics.auc``) through
  :func:`roc_curve`, :func:`roc_auc` and :func:`curve_auc`; the figures and
  the bootstrap intervals call these, so every AUC in the library is
  computed the same way.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from mstl_lib.errors import DataError
from mstl_lib.validation import check_number

__all__ = [
    "METRIC_KEYS",
    "UndefinedMetricWarning",
    "binary_metrics",
    "check_predictions",
    "curve_auc",
    "format_mean_std",
    "roc_auc",
    "roc_curve",
    "summarize_folds",
]

#: Keys of the dict returned by :func:`binary_metrics`, in order.
METRIC_KEYS = ("accuracy", "loss", "auc", "sensitivity", "specificity", "f1", "tn", "fp", "fn", "tp")


class UndefinedMetricWarning(UserWarning):
    """A metric is undefined for these labels and is reported as nan."""


def check_predictions(y_true, y_score) -> tuple[np.ndarray, np.ndarray]:
    """Labels and malignancy scores as two 1-D arrays of equal length.

    Parameters
    ----------
    y_true : array-like of shape (n,) or (n, 1)
        0 = benign, 1 = malignant (bool accepted).
    y_score : array-like of shape (n,) or (n, 1)
        Probability of malignant, in [0, 1] (Keras' ``(n, 1)`` sigmoid
        output accepted).

    Returns
    -------
    y_true : numpy.ndarray of int
    y_score : numpy.ndarray of float

    Raises
    ------
    DataError
        Other shapes, lengths that differ, no sample, labels other than 0/1,
        or scores that are not finite probabilities.
    """
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score)
    if y_true.ndim == 2 and y_true.shape[1] == 1:
        y_true = y_true[:, 0]
    if y_score.ndim == 2 and y_score.shape[1] == 1:  # Keras' (n, 1) sigmoid output
        y_score = y_score[:, 0]
    if y_true.ndim != 1 or y_score.ndim != 1:
        raise DataError(f"y_true and y_score must be 1-D (or (n, 1)), got shapes {y_true.shape} and {y_score.shape}.")
    if len(y_true) != len(y_score):
        raise DataError(f"y_true has {len(y_true)} labels but y_score has {len(y_score)} scores; they must match.")
    if len(y_true) == 0:
        raise DataError("y_true and y_score are empty; need at least one sample.")
    if y_true.dtype == bool:
        y_true = y_true.astype(int)
    if not np.issubdtype(y_true.dtype, np.number):
        raise DataError(f"y_true must hold 0 (benign) and 1 (malignant), got dtype {y_true.dtype}.")
    labels = set(np.unique(y_true).tolist())
    if not labels <= {0, 1}:
        raise DataError(f"y_true must hold only 0 (benign) and 1 (malignant), got values {sorted(labels)}.")
    try:
        y_score = y_score.astype(float)
    except (TypeError, ValueError):
        raise DataError(f"y_score must be numeric probabilities, got dtype {y_score.dtype}.") from None
    if not np.all(np.isfinite(y_score)):
        raise DataError("y_score contains nan or infinite values.")
    if y_score.min() < 0 or y_score.max() > 1:
        raise DataError(
            f"y_score must be probabilities of malignant in [0, 1], got range "
            f"[{y_score.min():g}, {y_score.max():g}]; pass sigmoid outputs, not logits."
        )
    return y_true.astype(int), y_score


def _ratio(num, den) -> float:
    return float(num) / float(den) if den else math.nan


def binary_metrics(y_true, y_score, threshold: float = 0.5) -> dict:
    """The paper's metrics for one set of predictions.

    Parameters
    ----------
    y_true : array-like of shape (n,) or (n, 1)
        True labels, 0 = benign, 1 = malignant (bool accepted).
    y_score : array-like of shape (n,) or (n, 1)
        Predicted probability of malignant, in [0, 1].
    threshold : float, default 0.5
        A sample is predicted malignant when ``y_score >= threshold``.

    Returns
    -------
    dict
        Keys :data:`METRIC_KEYS`:

        * ``accuracy`` = (TP + TN) / (TP + TN + FP + FN)  (eq. 3);
        * ``sensitivity`` = TP / (TP + FN), recall of malignant  (eq. 5);
        * ``specificity`` = TN / (TN + FP)  (eq. 4);
        * ``f1`` = 2 TP / (2 TP + FP + FN), the harmonic mean of precision
          and sensitivity  (eq. 6);
        * ``auc``: area under the ROC curve (:func:`roc_auc`);
        * ``loss``: binary cross-entropy of the scores
          (``sklearn.metrics.log_loss``);
        * ``tn``, ``fp``, ``fn``, ``tp``: the confusion matrix, as ints.

        Ratios with a zero denominator, and AUC with one class, are ``nan``.

    Raises
    ------
    DataError
        Lengths differ, empty input, labels other than 0/1, scores outside
        [0, 1] or not finite, or threshold outside [0, 1].

    Warns
    -----
    UndefinedMetricWarning
        When ``y_true`` holds a single class (AUC is nan).

    References
    ----------
    Ayana et al. (2022), section 2.4, eqs. 3-6.
    """
    from sklearn import metrics as skm

    threshold = check_number(threshold, "threshold", minimum=0.0, maximum=1.0)
    y_true, y_score = check_predictions(y_true, y_score)
    y_pred = (y_score >= threshold).astype(int)
    tn, fp, fn, tp = (int(v) for v in skm.confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel())

    if len(np.unique(y_true)) < 2:
        warnings.warn(
            f"y_true holds only class {int(y_true[0])}; AUC is undefined and reported as nan.",
            UndefinedMetricWarning,
            stacklevel=2,
        )
    auc = roc_auc(y_true, y_score)

    if tp + fp + fn == 0:
        f1 = math.nan
    else:
        f1 = float(skm.f1_score(y_true, y_pred, labels=[0, 1], pos_label=1, zero_division=np.nan))

    return {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "loss": float(skm.log_loss(y_true, y_score, labels=[0, 1])),
        "auc": auc,
        "sensitivity": _ratio(tp, tp + fn),
        "specificity": _ratio(tn, tn + fp),
        "f1": f1,
        "tn": tn,
        "fp": fp,
        "fn": fn,
        "tp": tp,
    }


def roc_curve(y_true, y_score, *, drop_intermediate: bool = True):
    """Points of the ROC curve (malignant = positive).

    Parameters
    ----------
    y_true : array-like of shape (n,) or (n, 1)
        True labels, 0 = benign, 1 = malignant.
    y_score : array-like of shape (n,) or (n, 1)
        Predicted probability of malignant, in [0, 1].
    drop_intermediate : bool, default True
        As scikit-learn: leave out points on a straight stretch of the curve
        (what is stored with each fold). False keeps one point per distinct
        score, tied scores making one diagonal step (what the figures draw).

    Returns
    -------
    fpr, tpr, thresholds : ndarray
        As ``sklearn.metrics.roc_curve(y_true, y_score, pos_label=1)``:
        false- and true-positive rates at decreasing thresholds, starting at
        (0, 0) with threshold ``inf``.

    Raises
    ------
    DataError
        As :func:`check_predictions`, or when ``y_true`` holds a single class
        (the curve is undefined).

    References
    ----------
    Ayana et al. (2022), section 3.2, Fig. 4 (ROC curves).
    """
    from sklearn import metrics as skm

    y_true, y_score = check_predictions(y_true, y_score)
    if len(np.unique(y_true)) < 2:
        raise DataError(
            f"y_true holds only class {int(y_true[0])}; a ROC curve needs both classes (benign and malignant)."
        )
    fpr, tpr, thresholds = skm.roc_curve(y_true, y_score, pos_label=1, drop_intermediate=drop_intermediate)
    return fpr, tpr, thresholds


def roc_auc(y_true, y_score) -> float:
    """Area under the ROC curve of :func:`roc_curve`; ``nan`` when ``y_true`` holds one class.

    Equals ``sklearn.metrics.roc_auc_score`` (ties count one half): the
    probability that a malignant case is scored above a benign one.

    Raises
    ------
    DataError
        As :func:`check_predictions`.

    References
    ----------
    Ayana et al. (2022), section 2.4 and Table 1 (AUC).
    """
    from sklearn import metrics as skm

    y_true, y_score = check_predictions(y_true, y_score)
    if len(np.unique(y_true)) < 2:
        return math.nan
    fpr, tpr, _ = skm.roc_curve(y_true, y_score, pos_label=1)
    return float(skm.auc(fpr, tpr))


def curve_auc(fpr, tpr) -> float:
    """Area under ROC points already computed (e.g. a fold's stored ``roc``), by ``sklearn.metrics.auc``."""
    from sklearn import metrics as skm

    return float(skm.auc(np.asarray(fpr, dtype=float), np.asarray(tpr, dtype=float)))


def summarize_folds(fold_metrics: Sequence[Mapping]) -> dict:
    """Mean and sample standard deviation of each metric over folds.

    Parameters
    ----------
    fold_metrics : sequence of dict
        One dict per fold, e.g. from :func:`binary_metrics`; all must have the
        same keys, with numeric values.

    Returns
    -------
    dict
        ``{key: (mean, std)}`` with ``std`` the sample standard deviation
        (``ddof=1``), as the paper's ``mean ± std`` over 5 folds. With one
        fold ``std`` is nan. Folds where a metric is nan are ignored for that
        metric (``nanmean``/``nanstd``); if all are nan, both are nan.

    Raises
    ------
    DataError
        Empty input, differing keys, or non-numeric values.

    References
    ----------
    Ayana et al. (2022), section 2.4 (five-fold cross-validation) and Table 1.
    """
    folds = list(fold_metrics)
    if not folds:
        raise DataError("summarize_folds needs at least one fold's metrics, got none.")
    keys = list(folds[0].keys())
    for i, fold in enumerate(folds):
        if set(fold.keys()) != set(keys):
            raise DataError(f"Fold {i} has keys {sorted(fold.keys())}, fold 0 has {sorted(keys)}; they must match.")
    summary = {}
    for key in keys:
        try:
            values = np.array([float(fold[key]) for fold in folds], dtype=float)
        except (TypeError, ValueError):
            raise DataError(f"Metric {key!r} is not numeric in every fold.") from None
        finite = values[~np.isnan(values)]
        mean = float(finite.mean()) if finite.size else math.nan
        std = float(finite.std(ddof=1)) if finite.size > 1 else math.nan
        summary[key] = (mean, std)
    return summary


def format_mean_std(mean: float, std: float, *, percent: bool = False) -> str:
    """``mean ± std`` as in the paper's tables, honest about what is undefined.

    Rates in percent with one decimal (``"91.2 ± 1.0"``) when ``percent``,
    otherwise three decimals (``"0.912 ± 0.010"``). A ``nan`` standard
    deviation (one fold, see :func:`summarize_folds`) gives
    ``"0.912 (no SD)"``; a ``nan`` mean gives ``"n/a"``.

    References
    ----------
    Ayana et al. (2022), Tables 1-3 (mean ± standard deviation over folds).
    """
    scale, digits = (100.0, 1) if percent else (1.0, 3)
    if math.isnan(mean):
        return "n/a"
    if math.isnan(std):
        return f"{scale * mean:.{digits}f} (no SD)"
    return f"{scale * mean:.{digits}f} ± {scale * std:.{digits}f}"

"""AUC against accuracy: what a decision threshold and calibration do to one fold's comparison.

AUC measures how well a model *ranks* malignant above benign images, over every threshold; accuracy,
sensitivity, specificity and F1 (Ayana et al. 2022, section 2.4, equations 3 to 6) count the errors at
one threshold, 0.5. Two models can therefore disagree: one ranks better but puts its scores on the wrong
side of 0.5 (badly calibrated), the other ranks worse but its scores fall on the right side more often.
:func:`auc_accuracy_table` lays one fold's arms side by side, and :func:`auc_accuracy_sentence` says
whether the two metrics name the same arm. No TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from mstl_lib.evaluation.metrics import binary_metrics, check_predictions

__all__ = ["auc_accuracy_table", "auc_accuracy_sentence", "threshold_summary"]


def threshold_summary(y_true, y_score, threshold: float = 0.5) -> dict:
    """One set of test predictions, read by ranking and by threshold.

    Parameters
    ----------
    y_true : array-like
        0 = benign, 1 = malignant.
    y_score : array-like
        Predicted probability of malignant, in [0, 1].
    threshold : float, default 0.5
        The decision threshold of accuracy, sensitivity and specificity.

    Returns
    -------
    dict
        ``auc``, ``accuracy``, ``sensitivity``, ``specificity``, ``fn``, ``fp`` (at ``threshold``);
        ``missed_cancer_scores``: the scores of the malignant images called benign, lowest first;
        ``best_accuracy`` and ``best_threshold``: the highest accuracy any threshold reaches on these
        very images (chosen on the test set itself, so an illustration of what the ranking allows, never
        an estimate); ``brier``: the mean squared distance of the scores from the labels (0 is perfect;
        it punishes badly calibrated scores that rank well).
    """
    y_true, y_score = check_predictions(y_true, y_score)
    metrics = binary_metrics(y_true, y_score, threshold)
    candidates = np.unique(np.r_[y_score, 1.0 + 1e-9])
    accuracies = [float(np.mean((y_score >= t) == (y_true == 1))) for t in candidates]
    best = int(np.argmax(accuracies))
    return {
        "auc": metrics["auc"],
        "accuracy": metrics["accuracy"],
        "sensitivity": metrics["sensitivity"],
        "specificity": metrics["specificity"],
        "fn": metrics["fn"],
        "fp": metrics["fp"],
        "missed_cancer_scores": sorted(float(s) for s in y_score[(y_true == 1) & (y_score < threshold)]),
        "best_accuracy": accuracies[best],
        "best_threshold": float(min(candidates[best], 1.0)),
        "brier": float(np.mean((y_score - y_true) ** 2)),
    }


def auc_accuracy_table(fold_results: Mapping[str, Mapping], labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The arms of one fold side by side: AUC (the primary metric) first, then the threshold metrics.

    Parameters
    ----------
    fold_results : mapping of arm -> result
        Each result holds ``y_true`` and ``y_score`` (a grid's fold result).
    labels : mapping of arm -> str, optional
        Display names (e.g. :data:`mstl_lib.profiles.ARM_LABELS`).

    Returns
    -------
    pandas.DataFrame
        One row per arm, indexed by its label: ``AUC``, ``accuracy at 0.5``, ``sensitivity``,
        ``specificity``, ``missed cancers``, ``benign called malignant``, ``scores of missed cancers``,
        ``best accuracy at any threshold`` (chosen on the test fold itself) and ``Brier score``.
    """
    rows = {}
    for arm, result in fold_results.items():
        s = threshold_summary(result["y_true"], result["y_score"])
        rows[(labels or {}).get(arm, arm)] = {
            "AUC": round(s["auc"], 3),
            "accuracy at 0.5": round(s["accuracy"], 3),
            "sensitivity": round(s["sensitivity"], 3),
            "specificity": round(s["specificity"], 3),
            "missed cancers": s["fn"],
            "benign called malignant": s["fp"],
            "scores of missed cancers": ", ".join(f"{v:.2f}" for v in s["missed_cancer_scores"]) or "none",
            "best accuracy at any threshold": round(s["best_accuracy"], 3),
            "Brier score": round(s["brier"], 3),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def auc_accuracy_sentence(table: pd.DataFrame) -> str:
    """Whether AUC and accuracy at 0.5 name the same arm of :func:`auc_accuracy_table`, in words."""
    if len(table) < 2:
        return "Only one arm: nothing to compare."
    by_auc, by_accuracy = table["AUC"].idxmax(), table["accuracy at 0.5"].idxmax()
    best_accuracy = table["accuracy at 0.5"].max()
    tied = table.index[table["accuracy at 0.5"] == best_accuracy]
    if len(tied) > 1:
        return (
            f"On this fold {len(tied)} arms tie at the highest accuracy at 0.5 ({best_accuracy:.1%}); by AUC, "
            f"{by_auc} ranks the images best ({table.at[by_auc, 'AUC']:.3f}): only the AUC separates them."
        )
    if by_auc == by_accuracy:
        return (
            f"On this fold the two metrics agree: {by_auc} has the highest AUC ({table.at[by_auc, 'AUC']:.3f}) "
            f"and the highest accuracy at 0.5 ({best_accuracy:.1%}). It need not be so on every fold."
        )
    row_auc, row_acc = table.loc[by_auc], table.loc[by_accuracy]
    return (
        f"On this fold the two metrics disagree: {by_auc} ranks the images best (AUC {row_auc['AUC']:.3f}, "
        f"against {row_acc['AUC']:.3f}), but {by_accuracy} has the higher accuracy at 0.5 "
        f"({row_acc['accuracy at 0.5']:.1%} against {row_auc['accuracy at 0.5']:.1%}). {by_auc} errs at 0.5 on "
        f"{row_auc['missed cancers']} missed cancer(s) and {row_auc['benign called malignant']} benign "
        f"lesion(s) called malignant, and at its best threshold it would reach "
        f"{row_auc['best accuracy at any threshold']:.1%}: its scores rank well but sit on the wrong side of 0.5."
    )

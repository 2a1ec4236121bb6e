"""Is a trained classifier usable? A check to run before reading its pictures.

A network that has *collapsed* gives (almost) the same score to every image
and so predicts one class only. Its accuracy then equals the share of that
class in the test set, its AUC says little, and its Grad-CAM maps explain a
constant, not a diagnosis. Short trainings from random weights (the `smoke`
profile) collapse often; so can a real training with too high a learning
rate. :func:`summarize_predictions` says whether it happened, from a fold's
test labels and scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PredictionSummary", "difference_verdict", "summarize_predictions"]

#: Scores spread over less than this (max - min) count as constant.
MIN_SPREAD = 0.01


@dataclass(frozen=True)
class PredictionSummary:
    """What a set of test predictions looks like."""

    n: int
    predicted_malignant: int
    predicted_benign: int
    score_min: float
    score_max: float
    accuracy: float
    majority_share: float
    threshold: float

    @property
    def one_class(self) -> bool:
        """Every image is predicted as the same class."""
        return self.predicted_malignant == 0 or self.predicted_benign == 0

    @property
    def constant(self) -> bool:
        """The scores hardly vary from image to image."""
        return self.score_max - self.score_min < MIN_SPREAD

    @property
    def collapsed(self) -> bool:
        """One class only, or (almost) the same score for every image."""
        return self.one_class or self.constant

    def sentence(self) -> str:
        """One sentence for the reader."""
        scores = f"scores {self.score_min:.3f} to {self.score_max:.3f}"
        if self.one_class:
            label = "malignant" if self.predicted_malignant else "benign"
            return (
                f"Collapsed: the model predicts '{label}' for all {self.n} test images ({scores}). "
                f"Its accuracy, {self.accuracy:.0%}, is the share of that class in the test set, "
                f"and its heat maps explain a constant, not a lesion."
            )
        if self.constant:
            return (
                f"Collapsed: the scores hardly vary ({scores}), although the threshold "
                f"{self.threshold:g} splits them into {self.predicted_malignant} malignant and "
                f"{self.predicted_benign} benign; the model does not tell the images apart."
            )
        head = (
            f"Not collapsed: the model predicts {self.predicted_malignant} of {self.n} test images "
            f"malignant and {self.predicted_benign} benign ({scores}); accuracy {self.accuracy:.0%} "
            f"against {self.majority_share:.0%} for always guessing the larger class"
        )
        if self.accuracy <= self.majority_share:
            return head + ", so it does not yet tell the classes apart."
        return head + "."


def summarize_predictions(y_true, y_score, threshold: float = 0.5) -> PredictionSummary:
    """Counts and spread of a fold's test predictions (1 = malignant).

    Parameters
    ----------
    y_true : array-like of int
        True labels, 0 = benign, 1 = malignant.
    y_score : array-like of float
        Predicted probabilities of malignant.
    threshold : float
        An image is predicted malignant when its score is at least this.
    """
    y_true = np.asarray(y_true).ravel().astype(int)
    y_score = np.asarray(y_score, dtype=float).ravel()
    if y_true.size == 0 or y_true.size != y_score.size:
        raise ValueError(f"need as many labels as scores (at least one), got {y_true.size} and {y_score.size}.")
    predicted = y_score >= threshold
    share = float(max(y_true.mean(), 1 - y_true.mean()))
    return PredictionSummary(
        n=int(y_true.size),
        predicted_malignant=int(predicted.sum()),
        predicted_benign=int((~predicted).sum()),
        score_min=float(y_score.min()),
        score_max=float(y_score.max()),
        accuracy=float((predicted == y_true.astype(bool)).mean()),
        majority_share=share,
        threshold=float(threshold),
    )


def difference_verdict(
    mean_a: float,
    sd_a: float,
    n_a: int,
    mean_b: float,
    sd_b: float,
    n_b: int,
    *,
    what_a: str = "A",
    what_b: str = "B",
    unit: float = 100.0,
    suffix: str = " points",
    test_train_ratio: float | None = None,
) -> str:
    """A measured difference of two means, its standard error, and whether it is resolved.

    The difference ``mean_a - mean_b`` is *resolved* when it is more than two
    standard errors from zero. For independent samples the standard error is
    sqrt(sd_a**2 / n_a + sd_b**2 / n_b). Folds of one dataset are not
    independent (their training sets overlap), and that error is too small for
    them: pass ``test_train_ratio`` (test over training images per fold) and
    each variance term is widened as in the corrected resampled t-test (Nadeau
    and Bengio 2003; Bouckaert and Frank 2004 for repeated cross-validation),
    sd**2 * (1/n + n_test/n_train). Where the error is zero the sentence says
    "no verdict".

    Returns
    -------
    str
        One sentence, e.g. "A is 12.4 ± 6.9 points above B (difference ±
        corrected standard error, 25 and 25 folds): no verdict, ..."
    """
    import math

    diff = mean_a - mean_b
    if test_train_ratio is None:
        se, kind = math.sqrt(sd_a**2 / n_a + sd_b**2 / n_b), "standard error"
    else:
        ratio = float(test_train_ratio)
        se = math.sqrt(sd_a**2 * (1 / n_a + ratio) + sd_b**2 * (1 / n_b + ratio))
        kind = "corrected standard error"
    direction = "above" if diff > 0 else "below"
    head = (
        f"{what_a} is {unit * abs(diff):.1f} ± {unit * se:.1f}{suffix} {direction} {what_b} "
        f"(difference ± {kind}, {n_a} and {n_b} folds)"
    )
    if se == 0 or not math.isfinite(se):
        return head + ": no verdict, the folds give no spread to measure it against."
    if abs(diff) > 2 * se:
        return head + f": more than two {kind}s, so the measurement resolves the difference."
    if test_train_ratio is not None:
        return head + f": no verdict, the difference is within two {kind}s of zero."
    return (
        head + ": within two standard errors of zero, so this measurement does not show a difference "
        "in either direction."
    )

"""Check cells for the lessons' exercises.

Every exercise in which a student writes code ends with a cell such as::

    from mstl_lib.teaching.exercises import check
    check("confusion_metrics", answer, tn=38, fp=2, fn=5, tp=35)

:func:`check` computes the reference answer with the library itself (the
same functions the lessons use), compares it with the student's value and
prints one sentence: ``✓ ...`` when they agree, ``✗ ...`` with what was
expected otherwise. It never raises for a wrong or missing answer, so a
notebook keeps running; :func:`evaluate` returns the verdict and the sentence.

The checks, by lesson:

* lesson 1: ``one_error`` (points of accuracy one error moves on a test
  fold), ``confusion_metrics`` (accuracy, sensitivity, specificity, F1: the
  paper's equations 3-6), ``cheaper_classifier`` (the classifier whose errors
  cost less when a missed cancer costs more than a needless biopsy);
* lesson 2: ``split_721`` (7:2:1 of the paper's 20,400 patches),
  ``cell_boxes`` (bounding boxes with width + height >= 100 from a mask);
* lesson 4: ``fold_shares`` (training / validation / test shares of the
  cross-validation), ``grouped_split`` (a split that keeps every group on one
  side);
* lesson 3: ``stage1_model`` (the stage-1 network written with Keras);
* lesson 5: ``stage2_head`` (the stage-2 head written with Keras);
* lesson 6: ``corrected_ttest`` (the corrected resampled t-test, as ``(t, p)``);
* lesson 7: ``last_map_size`` (side of a model's last feature map),
  ``grad_cam`` (a Grad-CAM heat map written with ``tf.GradientTape``);
* lesson 8: ``holm`` (Holm-adjusted p-values), ``corrected_interval`` (the
  corrected repeated cross-validation interval, as ``(low, high)``),
  ``repeats_needed`` (repeats that would resolve a difference).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

__all__ = ["CHECKS", "check", "evaluate", "reference"]

OK, WRONG = "✓", "✗"


class _Mismatch(Exception):
    """The answer does not match; the message says how."""


def _number(value, name="the answer") -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _Mismatch(f"{name} should be a number, got {value!r}.") from None
    if not math.isfinite(number):
        raise _Mismatch(f"{name} should be a finite number, got {value!r}.")
    return number


def _close(value, expected, name="the answer", rel=1e-3, abs_=1e-6) -> None:
    got = _number(value, name)
    if not math.isclose(got, expected, rel_tol=rel, abs_tol=abs_):
        raise _Mismatch(f"{name} is {got:g}, expected {expected:g}.")


# --- references -------------------------------------------------------------------------------


def _ref_one_error(fold_size: int = 40) -> float:
    return 100.0 / fold_size


def _ref_confusion_metrics(tn: int, fp: int, fn: int, tp: int) -> dict:
    from mstl_lib.evaluation.metrics import binary_metrics

    y_true = np.r_[np.zeros(tn + fp, int), np.ones(fn + tp, int)]
    y_score = np.r_[np.zeros(tn), np.ones(fp), np.zeros(fn), np.ones(tp)]
    metrics = binary_metrics(y_true, y_score)
    return {key: metrics[key] for key in ("accuracy", "sensitivity", "specificity", "f1")}


def _ref_cheaper_classifier(matrices: Mapping[str, Mapping[str, int]], cost_fn: float, cost_fp: float) -> str:
    costs = {name: cost_fn * m["fn"] + cost_fp * m["fp"] for name, m in matrices.items()}
    return min(costs, key=costs.get)


def _ref_split_721(total: int = 20_400, fractions=(0.7, 0.2, 0.1)) -> tuple:
    return tuple(int(round(total * f)) for f in fractions)


def _ref_cell_boxes(segmentation) -> set:
    return {box.as_tuple() for box in segmentation.boxes}


def _ref_fold_shares(n_folds: int = 5) -> tuple:
    test = 1 / n_folds
    val = (1 - test) / (n_folds - 1)
    return (1 - test - val, val, test)


def _ref_last_map_size(model, layer_name: str | None = None) -> int:
    from mstl_lib.models.features import detect_backbone
    from mstl_lib.models.networks import LAST_CONV_LAYER

    layer_name = layer_name or LAST_CONV_LAYER[detect_backbone(model)]
    return int(model.get_layer(layer_name).output.shape[1])


def _ref_grad_cam(model, image, layer_name: str | None = None) -> np.ndarray:
    from mstl_lib.models.features import grad_cam

    return grad_cam(model, image, layer_name=layer_name)


def _ref_stage1_model(backbone: str = "resnet10", n_classes: int = 3):
    from mstl_lib.models.networks import build_stage1_model

    model = build_stage1_model(backbone, n_classes=n_classes)
    return tuple(model.output.shape[1:]), model.count_params()


def _ref_stage2_head(stage1):
    from mstl_lib.models.networks import build_stage2_model

    model = build_stage2_model(stage1)
    return tuple(model.output.shape[1:]), model.count_params()


def _ref_corrected_ttest(scores_a, scores_b, n_train: int, n_test: int) -> tuple:
    from mstl_lib.evaluation.stats import corrected_resampled_ttest

    t, p = corrected_resampled_ttest(scores_a, scores_b, n_train=n_train, n_test=n_test)
    return float(t), float(p)


def _ref_holm(pvalues) -> tuple:
    from mstl_lib.evaluation.stats import holm_adjust

    return tuple(float(p) for p in holm_adjust(pvalues))


def _ref_corrected_interval(values, n_train: float, n_test: float, confidence_level: float = 0.95) -> tuple:
    from mstl_lib.evaluation.stats import corrected_resampled_interval

    ci = corrected_resampled_interval(values, n_train, n_test, confidence_level)
    return ci.low, ci.high


def _ref_repeats_needed(difference: float, sd: float, folds: int, test_train_ratio: float) -> float:
    from mstl_lib.evaluation.stats import repeats_needed

    needed = repeats_needed(difference, sd, folds, test_train_ratio)
    return math.inf if needed is None else float(needed)


# --- comparisons ------------------------------------------------------------------------------


def _cmp_model(value, expected, **_):
    shape, params = expected
    if not hasattr(value, "count_params") or not hasattr(value, "output"):
        raise _Mismatch(f"expected a keras.Model, got {type(value).__name__}.")
    got_shape = tuple(value.output.shape[1:])
    if got_shape != shape:
        raise _Mismatch(f"the output shape is {got_shape}, expected {shape}.")
    if value.count_params() != params:
        raise _Mismatch(
            f"the model has {value.count_params():,} parameters, the library's {params:,}: check the layers' sizes."
        )
    return f"output {shape} and {params:,} parameters, as the library's model"


def _cmp_scalar(value, expected, **_):
    _close(value, expected)
    return f"{_number(value):g}"


def _cmp_confusion_metrics(value, expected, **_):
    if not isinstance(value, Mapping):
        raise _Mismatch("the answer should be a dict with keys 'accuracy', 'sensitivity', 'specificity', 'f1'.")
    missing = [k for k in expected if k not in value]
    if missing:
        raise _Mismatch(f"the dict lacks {', '.join(map(repr, missing))}.")
    for key, want in expected.items():
        _close(value[key], want, name=key)
    return ", ".join(f"{k} {float(value[k]):.3f}" for k in expected)


def _cmp_choice(value, expected, **_):
    if str(value).strip().lower() != str(expected).lower():
        raise _Mismatch(f"you chose {value!r}; the lower cost belongs to {expected!r}.")
    return f"{expected!r} costs less"


def _cmp_tuple(value, expected, **_):
    try:
        got = tuple(value)
    except TypeError:
        raise _Mismatch(f"the answer should be {len(expected)} numbers, got {value!r}.") from None
    if len(got) != len(expected):
        raise _Mismatch(f"the answer should be {len(expected)} numbers, got {len(got)}.")
    for i, (g, e) in enumerate(zip(got, expected)):
        _close(g, e, name=f"number {i + 1}")
    return " / ".join(f"{float(g):g}" for g in got)


def _cmp_repeats(value, expected, **_):
    if math.isinf(expected):
        if isinstance(value, float) and math.isinf(value):
            return "no number of repeats would do (inf)"
        raise _Mismatch(f"no number of repeats resolves this difference (answer float('inf')), not {value!r}.")
    _close(value, expected)
    return f"{int(expected)} repeat{'s' if expected != 1 else ''}"


def _cmp_boxes(value, expected, **_):
    try:
        got = {tuple(int(v) for v in box) for box in value}
    except (TypeError, ValueError):
        raise _Mismatch("the answer should be a list of (x, y, w, h) boxes, as cv2.boundingRect returns.") from None
    small = sorted(b for b in got if b[2] + b[3] < 100)
    if small:
        raise _Mismatch(f"{len(small)} of your boxes have width + height below 100, e.g. {small[0]}: drop them.")
    if got != expected:
        extra, missing = len(got - expected), len(expected - got)
        raise _Mismatch(
            f"{len(got)} boxes against {len(expected)} expected ({extra} not expected, "
            f"{missing} missing): use the outer contours of `cleaned` (cv2.RETR_EXTERNAL)."
        )
    return f"the same {len(got)} boxes as segment_frame"


def _cmp_grouped_split(value, expected, *, groups, labels=None, test_share=0.2, tolerance=0.1, **_):
    from mstl_lib.data.splits import check_no_leak
    from mstl_lib.errors import DataError

    try:
        train, test = (np.asarray(part, dtype=np.int64).ravel() for part in value)
    except (TypeError, ValueError):
        raise _Mismatch("the answer should be a pair (train_indices, test_indices).") from None
    n = len(groups)
    covered = np.union1d(train, test)
    if len(covered) != n or len(train) + len(test) != n or covered.min() < 0 or covered.max() >= n:
        raise _Mismatch(
            f"train and test should hold every index 0..{n - 1} exactly once "
            f"(got {len(train)} + {len(test)} indices, {len(covered)} distinct)."
        )
    try:
        check_no_leak(groups, train, test)
    except DataError as error:
        raise _Mismatch(str(error)) from None
    share = len(test) / n
    if abs(share - test_share) > tolerance:
        raise _Mismatch(f"the test part holds {share:.0%} of the images; aim for about {test_share:.0%}.")
    text = f"no group on both sides, test share {share:.0%}"
    if labels is not None:
        labels = np.asarray(labels)
        missing = [c for c in np.unique(labels) if c not in set(labels[test].tolist())]
        if missing:
            raise _Mismatch(f"the test part has no image of class {missing[0]!r}: stratify by class too.")
    return text


def _cmp_grad_cam(value, expected, **_):
    import cv2

    heat = np.asarray(value, dtype=np.float32)
    heat = np.squeeze(heat)
    if heat.ndim != 2:
        raise _Mismatch(f"the heat map should be 2-D (H x W), got shape {np.shape(value)}.")
    if heat.shape != expected.shape:
        heat = cv2.resize(heat, expected.shape[::-1], interpolation=cv2.INTER_LINEAR)
    peak = float(heat.max())
    heat = np.clip(heat / peak, 0, 1) if peak > 0 else np.zeros_like(heat)
    if expected.max() == 0:
        if heat.max() > 0:
            raise _Mismatch("the library's map is all zero (no positive evidence after the ReLU); yours is not.")
        return "both maps are zero: no location has positive evidence for 'malignant'"
    diff = float(np.abs(heat - expected).max())
    if diff > 0.05:
        raise _Mismatch(
            f"your normalised map differs from mstl_lib.models.features.grad_cam by up to {diff:.2f} "
            f"(of 1). Did you average the gradients over space, apply the ReLU and use the "
            f"logit rather than the probability?"
        )
    return f"largest difference from mstl_lib.models.features.grad_cam {diff:.3f} (of 1)"


CHECKS: dict[str, tuple[Callable, Callable, str]] = {
    "one_error": (_ref_one_error, _cmp_scalar, "points of accuracy per error"),
    "confusion_metrics": (_ref_confusion_metrics, _cmp_confusion_metrics, "the metrics of equations 3-6"),
    "cheaper_classifier": (_ref_cheaper_classifier, _cmp_choice, "the cheaper classifier"),
    "split_721": (_ref_split_721, _cmp_tuple, "the 7:2:1 split"),
    "cell_boxes": (_ref_cell_boxes, _cmp_boxes, "the kept boxes"),
    "fold_shares": (_ref_fold_shares, _cmp_tuple, "the shares of each fold"),
    "grouped_split": (lambda **_: None, _cmp_grouped_split, "the grouped split"),
    "last_map_size": (_ref_last_map_size, _cmp_scalar, "the side of the last feature map"),
    "grad_cam": (_ref_grad_cam, _cmp_grad_cam, "your Grad-CAM"),
    "stage1_model": (_ref_stage1_model, _cmp_model, "the stage-1 network"),
    "stage2_head": (_ref_stage2_head, _cmp_model, "the stage-2 network"),
    "corrected_ttest": (_ref_corrected_ttest, _cmp_tuple, "the corrected resampled t-test"),
    "holm": (_ref_holm, _cmp_tuple, "the Holm-adjusted p-values"),
    "corrected_interval": (_ref_corrected_interval, _cmp_tuple, "the corrected interval"),
    "repeats_needed": (_ref_repeats_needed, _cmp_repeats, "the repeats needed"),
}
"""name -> (reference function, comparison, what is checked)."""


def reference(name: str, **context):
    """The library's answer to exercise ``name`` (see :data:`CHECKS`)."""
    if name not in CHECKS:
        raise KeyError(f"unknown exercise {name!r}; known: {', '.join(CHECKS)}.")
    return CHECKS[name][0](**context)


def evaluate(name: str, value, **context) -> tuple[bool, str]:
    """Whether a student's answer matches the library's, and the sentence that says so.

    Parameters
    ----------
    name : str
        The exercise, a key of :data:`CHECKS`.
    value
        The student's answer; ``None`` or ``...`` means "not answered yet".
    **context
        What the reference needs (e.g. ``tn, fp, fn, tp``; ``segmentation``;
        ``model, image``; ``groups, labels``).

    Returns
    -------
    (bool, str)
        Whether the answer matches, and a sentence starting with ✓ or ✗.
    """
    if name not in CHECKS:
        raise KeyError(f"unknown exercise {name!r}; known: {', '.join(CHECKS)}.")
    _, compare, _ = CHECKS[name]
    if value is None or value is Ellipsis:
        return (
            False,
            f"{WRONG} No answer yet: replace the ... in the cell above with your code, then run this cell again.",
        )
    expected = reference(name, **context)
    try:
        detail = compare(value, expected, **context)
    except _Mismatch as mismatch:
        return False, f"{WRONG} Not yet: {mismatch}"
    return True, f"{OK} Correct: {detail}."


def check(name: str, value, **context) -> None:
    """Print whether a student's answer matches the library's (see :func:`evaluate`).

    Returns nothing, so that a check cell shows only the sentence.
    """
    print(evaluate(name, value, **context)[1])

"""Check cells for the lessons' exercises.

A student writes the code an exercise asks for in its answer cell, usually a
function, and a separate check cell runs::

    from mstl_lib.teaching.exercises import check
    check("confusion_metrics", metrics_from_counts)

:func:`check` calls the student's code on data of its own (confusion
matrices, fold counts, masks, score lists the lesson never showed) and
compares each result with the library's answer, or tests the property the
exercise teaches (no group on both sides of a split; the stage-1 weights kept
in stage 2). It prints one sentence: ``✓ Correct: ...`` when every case
agrees, ``✗ Not yet: ...`` naming the input that failed and, where the result
matches a known slip (sensitivity and specificity swapped, rounding down, an
unpaired test), what the slip is. No message prints the expected value, so a
check cannot be answered by copying from it. ``None`` or ``...`` (also a
function that returns ``...``) is reported as ``✗ No answer yet``. A check
never raises for a wrong answer, so a notebook keeps running;
:func:`evaluate` returns the verdict and the sentence. The graded check cells
of the nbgrader edition (:mod:`mstl_lib.teaching.grading`) call
:func:`assert_correct` instead, which prints the same ✓ sentence and raises
``AssertionError`` with the ✗ sentence, the failure nbgrader's autograder scores as zero.

The checks, by lesson (the Keras ones live in
:mod:`mstl_lib.teaching.exercise_networks`):

* lesson 1: ``one_error`` (points of accuracy one error moves on a fold),
  ``confusion_metrics`` (the paper's equations 3-6), ``cheaper_classifier``
  (the classifier whose errors cost less);
* lesson 2: ``split_721`` (7:2:1 counts of section 2.1), ``cell_boxes``
  (bounding boxes with width + height >= a cut-off, steps 5-7 of section 2.1);
* lesson 3: ``stage1_model`` (the stage-1 network, section 2.2),
  ``recall_per_line`` (each class's recall from a confusion matrix);
* lesson 4: ``fold_shares`` (training / validation / test shares of nested
  cross-validation), ``grouped_split`` (a split that keeps every group on one
  side and both classes in the test part);
* lesson 5: ``stage2_head`` (the stage-2 network on the stage-1 weights);
* lesson 6: ``corrected_ttest`` (Nadeau and Bengio's corrected resampled t-test);
* lesson 7: ``last_map_size`` (side of ResNet50's last feature map),
  ``grad_cam`` (a Grad-CAM map written with ``tf.GradientTape``);
* lesson 8: ``holm`` (Holm's adjusted p-values), ``corrected_interval`` (the
  corrected repeated cross-validation interval), ``repeats_needed`` (the
  repeats that would resolve a difference).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from mstl_lib.teaching.answer_checks import Blank, Mismatch, is_blank, near, number, numbers, require_function, run

__all__ = ["CHECKS", "NO_ANSWER", "assert_correct", "check", "evaluate"]

OK, WRONG = "✓", "✗"
NO_ANSWER = (
    f"{WRONG} No answer yet: replace the ... in this exercise's answer cell with your code, "
    "run that cell, then run this check again."
)


def _args(**kwargs) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


# --- lesson 1 ---------------------------------------------------------------------------------

FOLD_SIZES = (40, 80, 25, 7, 123)


def _check_one_error(answer) -> str:
    """One error on a fold of n images moves its accuracy by 100 / n points (accuracy, equation 3)."""
    points = require_function(answer, "points_per_error(fold_size)")
    first = None
    for n in FOLD_SIZES:
        got = number(run(points, n), f"points_per_error({n})")
        if near(got, 100.0 / n):
            first = first if first is not None else (n, got)
            continue
        if first is not None and near(got, first[1]):
            raise Mismatch(
                f"points_per_error gives {got:g} for both {first[0]} and {n} images: compute it from fold_size."
            )
        if near(got, 1.0 / n):
            raise Mismatch(f"points_per_error({n}) is {got:g}, a fraction of 1: give percentage points.")
        if near(got, 100.0 / (n - 1)) or near(got, 100.0 / (n + 1)):
            raise Mismatch(f"points_per_error({n}) is {got:g}: one image off; the fold holds exactly {n} images.")
        raise Mismatch(
            f"points_per_error({n}) is {got:g}: not the points of accuracy one more error costs a fold of {n}."
        )
    return f"your function is right for {len(FOLD_SIZES)} fold sizes"


MATRICES = ((50, 10, 20, 30), (7, 3, 1, 9), (90, 5, 15, 40), (12, 1, 4, 20), (38, 2, 5, 35))
"""(tn, fp, fn, tp) on which ``confusion_metrics`` is checked; sensitivity and specificity differ in each."""
METRIC_KEYS = ("accuracy", "sensitivity", "specificity", "f1")


def _library_metrics(tn: int, fp: int, fn: int, tp: int) -> dict:
    from mstl_lib.evaluation.metrics import binary_metrics

    y_true = np.r_[np.zeros(tn + fp, int), np.ones(fn + tp, int)]
    y_score = np.r_[np.zeros(tn), np.ones(fp), np.zeros(fn), np.ones(tp)]
    metrics = binary_metrics(y_true, y_score)
    return {key: float(metrics[key]) for key in METRIC_KEYS}


def _check_confusion_metrics(answer) -> str:
    """The paper's equations 3-6 on confusion matrices the lesson did not show."""
    metrics = require_function(answer, "metrics_from_counts(tn, fp, fn, tp)")
    for tn, fp, fn, tp in MATRICES:
        counts = _args(tn=tn, fp=fp, fn=fn, tp=tp)
        got = run(metrics, tn=tn, fp=fp, fn=fn, tp=tp)
        if not isinstance(got, Mapping):
            raise Mismatch(f"your function should return a dict with keys {', '.join(METRIC_KEYS)}.")
        missing = [k for k in METRIC_KEYS if k not in got]
        if missing:
            raise Mismatch(f"the dict lacks {', '.join(map(repr, missing))}.")
        want = _library_metrics(tn, fp, fn, tp)
        values = {k: number(got[k], k) for k in METRIC_KEYS}
        if near(values["sensitivity"], want["specificity"]) and near(values["specificity"], want["sensitivity"]):
            raise Mismatch(
                f"for ({counts}) sensitivity and specificity are swapped: sensitivity is the share of "
                "malignant cases found (equation 4), specificity of benign ones (equation 5)."
            )
        for key in METRIC_KEYS:
            if not near(values[key], want[key]):
                hint = " (that is the precision, tp / (tp + fp))" if near(values[key], tp / (tp + fp)) else ""
                raise Mismatch(f"for ({counts}) your {key} is {values[key]:.4g}{hint}: compare with equations 3-6.")
    return f"all four metrics agree with the library on {len(MATRICES)} confusion matrices"


COST_CASES = (
    ({"A": {"fn": 8, "fp": 2}, "B": {"fn": 2, "fp": 10}}, 20, 1),
    ({"A": {"fn": 8, "fp": 2}, "B": {"fn": 2, "fp": 10}}, 1, 1),
    ({"X": {"fn": 5, "fp": 5}, "Y": {"fn": 1, "fp": 40}, "Z": {"fn": 3, "fp": 12}}, 10, 1),
    ({"P": {"fn": 0, "fp": 60}, "Q": {"fn": 4, "fp": 4}}, 2, 1),
    ({"A": {"fn": 3, "fp": 9}, "B": {"fn": 5, "fp": 1}}, 10, 5),
    ({"A": {"fn": 10, "fp": 1}, "B": {"fn": 3, "fp": 5}}, 3, 1),
)
"""(matrices, cost_fn, cost_fp) with one cheapest classifier each; the fewest errors is not always it."""


def _total_costs(matrices, cost_fn, cost_fp) -> dict:
    return {name: cost_fn * m["fn"] + cost_fp * m["fp"] for name, m in matrices.items()}


def _cheaper_slips() -> dict[str, Callable]:
    """Usual wrong rules for the cheaper classifier, with what each gets wrong."""

    def cheapest(costs):
        return min(costs, key=costs.get)

    return {
        "the one with the fewest errors: weigh misses and false alarms by their costs": lambda m, cfn, cfp: cheapest(
            {name: c["fn"] + c["fp"] for name, c in m.items()}
        ),
        "as if cost_fn were the price of a false alarm: it is the price of a missed cancer (fn)": (
            lambda m, cfn, cfp: cheapest(_total_costs(m, cfp, cfn))
        ),
        "the most expensive one: take the minimum cost": lambda m, cfn, cfp: max(
            (costs := _total_costs(m, cfn, cfp)), key=costs.get
        ),
    }


def _check_cheaper_classifier(answer) -> str:
    """The classifier with the lowest expected cost, cost_fn * FN + cost_fp * FP."""
    cheaper = require_function(answer, "cheaper(matrices, cost_fn, cost_fp)")
    choices = []
    for matrices, cost_fn, cost_fp in COST_CASES:
        got = run(cheaper, matrices, cost_fn=cost_fn, cost_fp=cost_fp)
        if not isinstance(got, str) or got not in matrices:
            raise Mismatch(f"your function returned {got!r}; it should return a key of matrices ({list(matrices)}).")
        choices.append(got)
    wrong = [
        (case, got)
        for case, got in zip(COST_CASES, choices)
        if _total_costs(*case)[got] != min(_total_costs(*case).values())
    ]
    if not wrong:
        return f"your function picks the cheaper classifier in {len(COST_CASES)} cases"
    for slip, rule in _cheaper_slips().items():
        if all(rule(*case) == got for case, got in zip(COST_CASES, choices)):
            raise Mismatch(f"your function picks {slip}.")
    (matrices, cost_fn, cost_fp), got = wrong[0]
    raise Mismatch(
        f"with cost_fn={cost_fn}, cost_fp={cost_fp} and {matrices}, your function chose {got!r}: "
        "its cost, cost_fn * fn + cost_fp * fp, is not the lowest."
    )


# --- lesson 2 ---------------------------------------------------------------------------------

SPLIT_TOTALS = (20_400, 1_000, 90, 30, 10)
PAPER_FRACTIONS = (0.7, 0.2, 0.1)


def _check_split_721(answer) -> str:
    """7:2:1 of ``total`` items as whole counts (section 2.1); the totals are multiples of 10."""
    split = require_function(answer, "split_721(total)")
    seen = {}
    for total in SPLIT_TOTALS:
        got = numbers(run(split, total), 3, f"split_721({total})")
        want = tuple(round(total * f) for f in PAPER_FRACTIONS)
        if got == want:
            seen[total] = got
            continue
        if any(g != round(g) for g in got):
            raise Mismatch(f"split_721({total}) gives {got}: patches come in whole numbers.")
        if seen and got == next(iter(seen.values())):
            raise Mismatch(f"split_721 gives the same counts for {next(iter(seen))} and {total}: use total.")
        if sum(got) != total:
            raise Mismatch(
                f"split_721({total}) gives {tuple(map(int, got))}, {int(sum(got))} in all, not {total}: "
                "int() rounds down, and 0.7 * 90 is 62.99999... in floating point; use round()."
            )
        if got == (want[0], want[2], want[1]):
            raise Mismatch(f"split_721({total}): validation and test are swapped; 7:2:1 is train:validation:test.")
        raise Mismatch(f"split_721({total}) gives {tuple(map(int, got))}, which is not 7:2:1 of {total}.")
    return f"your function splits {len(SPLIT_TOTALS)} totals 7:2:1"


def box_masks() -> list[np.ndarray]:
    """Binary masks with known boxes: one at exactly 100 px, one just below, a ring with a blob inside."""
    first = np.zeros((220, 320), np.uint8)
    first[10:80, 20:110] = 255  # 90 x 70: kept
    first[120:170, 20:70] = 255  # 50 x 50: width + height exactly 100, kept
    first[120:170, 120:169] = 255  # 49 x 50: 99, dropped
    first[200:205, 200:205] = 255  # a speck
    second = np.zeros((240, 240), np.uint8)
    second[20:180, 20:180] = 255  # a ring: 160 x 160 with a 110 x 110 hole
    second[45:155, 45:155] = 0
    second[70:130, 70:130] = 255  # a 60 x 60 blob inside the hole: its own outer contour
    second[200:230, 150:230] = 255  # 80 x 30: 110
    return [first, second]


def _library_boxes(mask: np.ndarray, min_sum: int) -> set:
    from mstl_lib.data import segmentation

    boxes = segmentation.bounding_boxes(segmentation.outer_contours(mask))
    return {b.as_tuple() for b in segmentation.size_cut(boxes, min_sum)[0]}


def _as_boxes(value) -> set:
    try:
        return {tuple(int(v) for v in box) for box in value}
    except (TypeError, ValueError):
        raise Mismatch("your function should return a list of (x, y, w, h) boxes, as cv2.boundingRect gives.") from None


def _check_cell_boxes(answer) -> str:
    """Steps 5-7 of section 2.1: outer contours, bounding boxes, width + height >= ``min_sum``."""
    kept_boxes = require_function(answer, "kept_boxes(mask, min_sum)")
    cases = [(mask, cut) for mask in box_masks() for cut in (100, 150)]
    for i, (mask, cut) in enumerate(cases):
        got = _as_boxes(run(kept_boxes, mask.copy(), min_sum=cut))
        want = _library_boxes(mask, cut)
        if got == want:
            continue
        where = f"on test mask {i // 2 + 1} with min_sum={cut}"
        small = sorted(b for b in got if b[2] + b[3] < cut)
        if small:
            raise Mismatch(f"{where} you kept {small[0]}, whose width + height is below min_sum.")
        edge = sorted(b for b in want - got if b[2] + b[3] == cut)
        if edge and got < want and len(edge) == len(want - got):
            raise Mismatch(f"{where} you dropped {edge[0]}, whose width + height is exactly min_sum: keep >=.")
        if len(got) > len(want):
            raise Mismatch(
                f"{where} you found {len(got) - len(want)} box(es) too many: inner contours (holes)? "
                "Use the outer contours only, cv2.RETR_EXTERNAL."
            )
        raise Mismatch(
            f"{where} {len(want - got)} box(es) are missing and {len(got - want)} not expected: "
            "give each box as (x, y, w, h), as cv2.boundingRect returns it."
        )
    return f"your boxes agree with segment_frame's steps 5-7 on {len(cases)} masks and cut-offs"


# --- lesson 3 ---------------------------------------------------------------------------------

RECALL_MATRICES = (
    ((50, 5, 10), (2, 30, 8), (20, 0, 40)),
    ((9, 1, 0, 2), (3, 12, 1, 0), (0, 4, 20, 6), (1, 0, 2, 7)),
    ((70, 30), (5, 95)),
)
"""Confusion matrices (rows: true class, columns: predicted) whose row and column sums differ."""


def _library_recall(matrix) -> np.ndarray:
    from sklearn.metrics import recall_score

    matrix = np.asarray(matrix)
    true, predicted = np.nonzero(matrix)
    counts = matrix[true, predicted]
    return recall_score(np.repeat(true, counts), np.repeat(predicted, counts), average=None)


def _check_recall_per_line(answer) -> str:
    """Recall of each class from a confusion matrix: the diagonal over the row sums."""
    recall_of = require_function(answer, "recall_per_line(matrix)")
    for i, matrix in enumerate(RECALL_MATRICES):
        array = np.array(matrix)
        got = run(recall_of, array.copy())
        try:
            got = np.asarray(got, dtype=float).ravel()
        except (TypeError, ValueError):
            raise Mismatch(f"your function should return one number per class, got {got!r}.") from None
        if got.shape != (len(array),):
            raise Mismatch(
                f"for a {len(array)}-class matrix your function returned {got.size} numbers, not one per class."
            )
        if near(got, _library_recall(array)):
            continue
        where = f"for test matrix {i + 1} ({len(array)} classes)"
        if near(got, array.diagonal() / array.sum(axis=0)):
            raise Mismatch(
                f"{where} you divided by the column sums (axis=0), which gives the precision: the rows of "
                "summary['confusion_matrix'] are the true lines, so divide by the row sums."
            )
        if near(got, array.diagonal() / array.sum()):
            raise Mismatch(f"{where} you divided by all patches: divide by the patches of that line (its row).")
        raise Mismatch(f"{where} your recalls are {np.round(got, 3).tolist()}: correct / all patches of that line.")
    return f"your recalls agree with scikit-learn's on {len(RECALL_MATRICES)} confusion matrices"


# --- lesson 4 ---------------------------------------------------------------------------------

FOLD_COUNTS = (5, 3, 4, 10)


def _library_fold_shares(n_folds: int) -> tuple[float, float, float]:
    """Shares of training, validation and test in fold 0 of :func:`cross_validation_folds` (section 2.2)."""
    from mstl_lib.data.splits import cross_validation_folds

    n = 6 * n_folds * (n_folds - 1)
    fold = cross_validation_folds(np.arange(n) % 2, None, n_folds=n_folds)[0]
    return tuple(len(part) / n for part in (fold.train, fold.val, fold.test))


def _check_fold_shares(answer) -> str:
    """Nested k-fold: the test part is one fold of k, the validation part one of the k - 1 inner folds."""
    shares = require_function(answer, "fold_shares(n_folds)")
    for k in FOLD_COUNTS:
        got = numbers(run(shares, k), 3, f"fold_shares({k})")
        if near(got, _library_fold_shares(k)):
            continue
        given = " / ".join(f"{g:.3g}" for g in got)
        if not near(sum(got), 1.0):
            raise Mismatch(
                f"fold_shares({k}) gives {given}, {sum(got):.3g} in all: every image is in exactly one part "
                "(is the test fold also used for validation?)."
            )
        if got[1] == 0:
            raise Mismatch(f"fold_shares({k}) has no validation part: each fold keeps one to choose the epoch.")
        raise Mismatch(
            f"fold_shares({k}) gives {given}: the test part is one of the {k} folds; the validation part is one "
            f"of the {k - 1} inner folds of the rest."
        )
    return f"your shares match the library's nested folds for {len(FOLD_COUNTS)} fold counts"


def split_layouts() -> list[tuple[np.ndarray, np.ndarray, float]]:
    """(groups, labels, test_share) cases for ``grouped_split``, each image's group and class known."""
    rng = np.random.default_rng(17)
    sizes = rng.integers(1, 4, size=40)
    alternating = (np.repeat(np.arange(40), sizes), np.repeat(np.arange(40) % 2, sizes), 0.2)
    sizes = rng.integers(1, 6, size=30)
    rare_last = (np.repeat(np.arange(30), sizes), np.repeat((np.arange(30) >= 24).astype(int), sizes), 0.2)
    sizes = rng.integers(1, 4, size=50)
    order = rng.permutation(sizes.sum())  # a group's images are not next to each other
    shuffled = (np.repeat(np.arange(50), sizes)[order], np.repeat(np.arange(50) % 2, sizes)[order], 0.3)
    return [alternating, rare_last, shuffled]


def _grouped_split_problem(value, groups, labels, test_share) -> str | None:
    from mstl_lib.data.splits import check_no_leak
    from mstl_lib.errors import DataError

    try:
        train, test = (np.asarray(part, dtype=np.int64).ravel() for part in value)
    except (TypeError, ValueError):
        return "your function should return a pair (train_indices, test_indices)."
    n = len(groups)
    covered = np.union1d(train, test)
    if len(covered) != n or len(train) + len(test) != n or covered.min() < 0 or covered.max() >= n:
        return (
            f"train and test should hold every index 0..{n - 1} exactly once "
            f"(got {len(train)} + {len(test)} indices, {len(covered)} distinct)."
        )
    try:
        check_no_leak(groups, train, test)
    except DataError as error:
        return f"{error} Split the groups, not the images."
    share = len(test) / n
    if abs(share - test_share) > 0.08:
        return f"the test part holds {share:.0%} of the images, with test_share={test_share}."
    missing = sorted(set(labels.tolist()) - set(labels[test].tolist()))
    if missing:
        return f"the test part has no image of class {missing[0]!r}: choose the test groups class by class."
    return None


def _check_grouped_split(answer) -> str:
    """A test part of about ``test_share`` that cuts no group and holds both classes."""
    split = require_function(answer, "grouped_split(groups, labels, test_share, seed)")
    layouts = split_layouts()
    for i, (groups, labels, share) in enumerate(layouts):
        value = run(split, groups.copy(), labels.copy(), test_share=share, seed=i)
        problem = _grouped_split_problem(value, groups, labels, share)
        if problem:
            raise Mismatch(
                f"on test layout {i + 1} ({len(set(groups.tolist()))} groups, {len(groups)} images) {problem}"
            )
    return f"no group on both sides and both classes tested in {len(layouts)} layouts"


# --- lesson 6 ---------------------------------------------------------------------------------


def ttest_cases() -> list[tuple[np.ndarray, np.ndarray, int, int]]:
    """(scores_a, scores_b, n_train, n_test) for ``corrected_ttest``: 3 to 10 folds, either sign."""
    rng = np.random.default_rng(6)
    five_a, five_b = np.array([0.9, 0.85, 0.8, 0.95, 0.9]), np.array([0.8, 0.85, 0.75, 0.9, 0.8])
    ten_a = 0.8 + 0.05 * rng.standard_normal(10)
    ten_b = ten_a - 0.02 + 0.03 * rng.standard_normal(10)
    three_a, three_b = np.array([0.7, 0.75, 0.72]), np.array([0.71, 0.69, 0.65])
    return [(five_a, five_b, 120, 40), (ten_a, ten_b, 180, 20), (five_b, five_a, 300, 100), (three_a, three_b, 60, 30)]


def _ttest_slips(a, b, n_train, n_test) -> dict:
    """(t, p) of the usual wrong versions of the corrected test, with what each gets wrong."""
    from scipy import stats

    d, k = a - b, len(a)

    def corrected(ratio, ddof, df):
        t = d.mean() / np.sqrt((1 / k + ratio) * d.var(ddof=ddof))
        return t, 2 * stats.t.sf(abs(t), df)

    t, p = corrected(n_test / n_train, 1, k - 1)
    return {
        "the plain paired t-test: the corrected one multiplies the variance by 1/k + n_test/n_train": tuple(
            stats.ttest_rel(a, b)
        ),
        "an unpaired test: both arms ran on the same folds, so test the fold-wise differences": tuple(
            stats.ttest_ind(a, b)
        ),
        "the ratio upside down: the correction adds n_test / n_train": corrected(n_train / n_test, 1, k - 1),
        "the variance with ddof=0: use the sample variance, ddof=1": corrected(n_test / n_train, 0, k - 1),
        "k degrees of freedom: Student's t has k - 1": corrected(n_test / n_train, 1, k),
        "a one-sided p-value: the test is two-sided": (t, p / 2),
        "t of b - a: the differences are a - b": (-t, p),
    }


def _check_corrected_ttest(answer) -> str:
    """Nadeau and Bengio's corrected resampled t-test, against :func:`corrected_resampled_ttest`."""
    from mstl_lib.evaluation.stats import corrected_resampled_ttest

    test = require_function(answer, "corrected_ttest(scores_a, scores_b, n_train, n_test)")
    cases = ttest_cases()
    for a, b, n_train, n_test in cases:
        got = numbers(run(test, a.copy(), b.copy(), n_train=n_train, n_test=n_test), 2, "(t, p)")
        want = corrected_resampled_ttest(a, b, n_train=n_train, n_test=n_test)
        if near(got, (float(want[0]), float(want[1]))):
            continue
        case = f"on {len(a)} folds with n_train={n_train}, n_test={n_test} your (t, p) is ({got[0]:.4g}, {got[1]:.4g})"
        for slip, value in _ttest_slips(a, b, n_train, n_test).items():
            if near(got, value):
                raise Mismatch(f"{case}: that is {slip}.")
        raise Mismatch(f"{case}, not the corrected resampled t-test's.")
    return f"your test agrees with the library's on {len(cases)} sets of fold scores"


# --- lesson 8 ---------------------------------------------------------------------------------


def holm_cases() -> list[np.ndarray]:
    """p-value families for ``holm``: unsorted, with ties, with values that the cap and the running maximum change."""
    return [
        np.array([0.01, 0.04, 0.03, 0.005]),
        np.array([0.2, 0.01, 0.011, 0.5, 0.02, 0.04]),
        np.array([0.03, 0.03, 0.6]),
        np.array([0.001, 0.3, 0.02, 0.02, 0.9, 0.04, 0.012]),
        np.array([0.6, 0.01, 0.8, 0.9]),
    ]


def _holm_slips(p: np.ndarray) -> dict:
    """Adjusted values of the usual wrong versions of Holm's procedure, with what each gets wrong."""
    m, order = len(p), np.argsort(p, kind="stable")

    def in_order(values):
        out = np.empty(m)
        out[order] = values
        return out

    steps = (m - np.arange(m)) * p[order]
    return {
        "Bonferroni's m * p: Holm multiplies the i-th smallest by m - i + 1": np.minimum(1.0, m * p),
        "no running maximum: an adjusted value may not fall below a smaller p-value's": in_order(
            np.minimum(1.0, steps)
        ),
        "values above 1: cap the adjusted p-values at 1": in_order(np.maximum.accumulate(steps)),
        "sorted order: put the adjusted values back in the order of the input": np.minimum(
            1.0, np.maximum.accumulate(steps)
        ),
        "the factor m - i: the smallest p-value is multiplied by m": in_order(
            np.minimum(1.0, np.maximum.accumulate((m - 1 - np.arange(m)) * p[order]))
        ),
    }


def _check_holm(answer) -> str:
    """Holm's step-down adjustment (Holm 1979), against :func:`mstl_lib.evaluation.stats.holm_adjust`."""
    from mstl_lib.evaluation.stats import holm_adjust

    holm = require_function(answer, "holm(pvalues)")
    cases = holm_cases()
    for p in cases:
        got = numbers(run(holm, p.copy()), len(p), "the adjusted p-values")
        if near(got, holm_adjust(p)):
            continue
        for slip, value in _holm_slips(p).items():
            if near(got, value):
                raise Mismatch(f"on a family of {len(p)} p-values your function gives {slip}.")
        raise Mismatch(f"on a family of {len(p)} p-values your values are not Holm's adjusted ones.")
    return f"your adjustment agrees with the library's on {len(cases)} families of p-values"


def interval_cases() -> list[tuple[np.ndarray, float, float]]:
    """(values, n_train, n_test) for ``corrected_interval``: 6 to 15 paired differences, either sign."""
    rng = np.random.default_rng(8)
    return [
        (0.03 + 0.04 * rng.standard_normal(15), 48.0, 12.0),
        (-0.02 + 0.05 * rng.standard_normal(9), 30.0, 20.0),
        (0.01 + 0.02 * rng.standard_normal(6), 200.0, 40.0),
    ]


def _interval_slips(values, n_train, n_test) -> dict:
    """(low, high) of the usual wrong versions of the corrected interval, with what each gets wrong."""
    from scipy import stats

    J, mean = len(values), float(np.mean(values))

    def interval(ratio, ddof, quantile):
        half = quantile * np.sqrt((1 / J + ratio) * np.var(values, ddof=ddof))
        return mean - half, mean + half

    t = stats.t.ppf(0.975, J - 1)
    return {
        "the naive interval: the corrected variance adds n_test / n_train to 1/J": interval(0.0, 1, t),
        "the ratio upside down: the correction adds n_test / n_train": interval(n_train / n_test, 1, t),
        "the variance with ddof=0: use the sample variance, ddof=1": interval(n_test / n_train, 0, t),
        "the normal quantile 1.96: with J values use Student's t with J - 1 degrees of freedom": interval(
            n_test / n_train, 1, stats.norm.ppf(0.975)
        ),
        "J degrees of freedom: Student's t has J - 1": interval(n_test / n_train, 1, stats.t.ppf(0.975, J)),
    }


def _check_corrected_interval(answer) -> str:
    """The corrected repeated cross-validation interval, against :func:`corrected_resampled_interval`."""
    from mstl_lib.evaluation.stats import corrected_resampled_interval

    interval = require_function(answer, "corrected_interval(values, n_train, n_test)")
    cases = interval_cases()
    for values, n_train, n_test in cases:
        got = numbers(run(interval, values.copy(), n_train, n_test), 2, "(low, high)")
        want = corrected_resampled_interval(values, n_train, n_test)
        if near(got, (want.low, want.high)):
            continue
        case = f"for {len(values)} differences with n_train={n_train:g}, n_test={n_test:g} your interval"
        for slip, value in _interval_slips(values, n_train, n_test).items():
            if near(got, value):
                raise Mismatch(f"{case} is {slip}.")
        raise Mismatch(f"{case} is not the corrected 95% interval.")
    return f"your interval agrees with the library's on {len(cases)} sets of differences"


def repeats_cases() -> list[dict]:
    """Arguments of ``repeats_needed``: differences a few repeats resolve, many repeats resolve, none resolve."""
    return [
        {"difference": 0.05, "sd": 0.05, "folds": 5, "test_train_ratio": 0.25},
        {"difference": 0.03, "sd": 0.04, "folds": 3, "test_train_ratio": 0.05},
        {"difference": -0.04, "sd": 0.06, "folds": 5, "test_train_ratio": 0.02},
        {"difference": 0.01, "sd": 0.08, "folds": 5, "test_train_ratio": 0.25},
    ]


def _repeats_slips(difference, sd, folds, test_train_ratio) -> dict:
    """Repeats found by the usual wrong versions of the search, with what each gets wrong."""
    from scipy import stats

    def search(ratio, quantile, start=1):
        for r in range(start, 1001):
            df = folds * r - 1
            if abs(difference) / (sd * np.sqrt(1 / (folds * r) + ratio)) >= quantile(df):
                return r
        return math.inf

    def two_sided(df):
        return stats.t.ppf(0.975, df) + stats.t.ppf(0.8, df)

    right = search(test_train_ratio, two_sided)
    return {
        "without the correction term: the variance keeps n_test / n_train, which repeats do not shrink": search(
            0.0, two_sided
        ),
        "a one-sided level: the test is two-sided, t at 0.975": search(
            test_train_ratio, lambda df: stats.t.ppf(0.95, df) + stats.t.ppf(0.8, df)
        ),
        "no power term: 80% power adds t at 0.8 to the critical value": search(
            test_train_ratio, lambda df: stats.t.ppf(0.975, df)
        ),
        "one repeat too many: the answer is the smallest r that meets the condition": right + 1,
    }


def _check_repeats_needed(answer) -> str:
    """Repeats that would resolve a difference, against :func:`mstl_lib.evaluation.stats.repeats_needed`."""
    from mstl_lib.evaluation.stats import repeats_needed

    search = require_function(answer, "repeats_needed(difference, sd, folds, test_train_ratio)")
    cases = repeats_cases()
    for case in cases:
        try:
            got = run(search, **case)
        except Mismatch as mismatch:
            if "returned None" in str(mismatch):
                raise Mismatch("your function returned None: return float('inf') when no r up to 1000 does.") from None
            raise
        got = math.inf if got == math.inf else number(got, "the number of repeats")
        want = repeats_needed(**case)
        want = math.inf if want is None else float(want)
        if got == want:
            continue
        where = f"for {_args(**case)} your answer"
        for slip, value in _repeats_slips(**case).items():
            if got == value:
                raise Mismatch(f"{where} comes from {slip}.")
        raise Mismatch(f"{where} is not the smallest number of repeats that meets the condition.")
    return f"your search agrees with the library's on {len(cases)} cases"


# --- lesson 7 ---------------------------------------------------------------------------------

INPUT_SIDES = (75, 224, 299, 100, 33)


def resnet50_last_side(side: int) -> int:
    """Side of ResNet50's last feature map: five halvings, each rounding up (Keras' ``"same"`` padding).

    ``tests/test_exercises.py`` checks this against ``keras.applications.ResNet50``.
    """
    for _ in range(5):
        side = -(-side // 2)
    return side


def _check_last_map_size(answer) -> str:
    """The side of ResNet50's last feature map for several input sides."""
    last_side = require_function(answer, "last_map_side(input_side)")
    first = None
    for side in INPUT_SIDES:
        got = number(run(last_side, side), f"last_map_side({side})")
        if got == resnet50_last_side(side):
            first = first or (side, got)
            continue
        if first and got == first[1]:
            raise Mismatch(f"last_map_side gives {got:g} for both {first[0]} and {side}: compute it from input_side.")
        if got != round(got):
            raise Mismatch(f"last_map_side({side}) is {got:g}: a feature map has a whole number of cells.")
        floor = side
        for _ in range(5):
            floor //= 2
        if got == floor:
            raise Mismatch(f"last_map_side({side}) is {got:g}: each halving rounds up, not down.")
        raise Mismatch(f"last_map_side({side}) is {got:g}: halve the side five times, rounding up each time.")
    return f"your function is right for {len(INPUT_SIDES)} input sides"


def _network_check(name: str) -> Callable:
    def checker(answer, **context):
        from mstl_lib.teaching import exercise_networks

        return getattr(exercise_networks, name)(answer, **context)

    return checker


CHECKS: dict[str, tuple[Callable, str]] = {
    "one_error": (_check_one_error, "points of accuracy per error"),
    "confusion_metrics": (_check_confusion_metrics, "the metrics of equations 3-6"),
    "cheaper_classifier": (_check_cheaper_classifier, "the cheaper classifier"),
    "split_721": (_check_split_721, "the 7:2:1 split"),
    "cell_boxes": (_check_cell_boxes, "the kept boxes"),
    "stage1_model": (_network_check("check_stage1_model"), "the stage-1 network"),
    "recall_per_line": (_check_recall_per_line, "the recall of each cell line"),
    "fold_shares": (_check_fold_shares, "the shares of each fold"),
    "grouped_split": (_check_grouped_split, "the grouped split"),
    "stage2_head": (_network_check("check_stage2_head"), "the stage-2 network"),
    "corrected_ttest": (_check_corrected_ttest, "the corrected resampled t-test"),
    "last_map_size": (_check_last_map_size, "the side of the last feature map"),
    "grad_cam": (_network_check("check_grad_cam"), "your Grad-CAM"),
    "holm": (_check_holm, "Holm's adjustment"),
    "corrected_interval": (_check_corrected_interval, "the corrected interval"),
    "repeats_needed": (_check_repeats_needed, "the repeats needed"),
}
"""name -> (checker, what is checked). A checker returns the ✓ sentence or raises :class:`Mismatch`."""


def evaluate(name: str, value, **context) -> tuple[bool, str]:
    """Whether a student's answer is right, and the sentence that says so.

    Parameters
    ----------
    name : str
        The exercise, a key of :data:`CHECKS`.
    value
        The student's answer (a function, or a Keras model for ``stage1_model``
        and ``stage2_head``); ``None`` or ``...`` means "not answered yet".
    **context
        What the check needs from the lesson (``backbone``; ``stage1``;
        ``model, images, layer_name``).

    Returns
    -------
    (bool, str)
        Whether the answer is right, and a sentence starting with ✓ or ✗ that
        never contains the expected value.
    """
    if name not in CHECKS:
        raise KeyError(f"unknown exercise {name!r}; known: {', '.join(CHECKS)}.")
    if is_blank(value):
        return False, NO_ANSWER
    checker, _ = CHECKS[name]
    try:
        detail = checker(value, **context)
    except Blank:
        return False, NO_ANSWER
    except Mismatch as mismatch:
        return False, f"{WRONG} Not yet: {mismatch}"
    return True, f"{OK} Correct: {detail}."


def check(name: str, value, **context) -> None:
    """Print whether a student's answer is right (see :func:`evaluate`).

    Returns nothing, so that a check cell shows only the sentence.
    """
    print(evaluate(name, value, **context)[1])


def assert_correct(name: str, value, **context) -> None:
    """Print the ✓ sentence of a right answer; raise ``AssertionError`` with the ✗ sentence otherwise.

    The check of the nbgrader edition's graded cells: nbgrader's autograder
    gives a test cell its points when it runs without an error and none when
    it raises, so a wrong answer and an answer cell left blank score zero.
    The plain edition and the book call :func:`check`, which never raises.
    """
    right, sentence = evaluate(name, value, **context)
    if not right:
        raise AssertionError(sentence)
    print(sentence)

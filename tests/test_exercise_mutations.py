"""Mutation test of every exercise check: plausible wrong answers fail with a message that helps.

For each check: the solution passes, the blank (``...``, ``None``, or a
function that still returns ``...``) says "No answer yet", and each wrong
answer fails with a sentence that names the slip, never the expected value.
The Keras checks use the lab network ``resnet10`` at its 75 x 75 input with
random weights; TensorFlow is imported once, by the module-scoped fixture.
"""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest
from scipy import stats

from mstl_lib.teaching.exercises import CHECKS, evaluate

# --- the students' answers --------------------------------------------------------------------


def metrics_solution(tn, fp, fn, tp):
    return {
        "accuracy": (tp + tn) / (tp + tn + fp + fn),
        "sensitivity": tp / (tp + fn),
        "specificity": tn / (tn + fp),
        "f1": 2 * tp / (2 * tp + fp + fn),
    }


def metrics_swapped(tn, fp, fn, tp):
    right = metrics_solution(tn, fp, fn, tp)
    return {**right, "sensitivity": right["specificity"], "specificity": right["sensitivity"]}


def metrics_f1_is_precision(tn, fp, fn, tp):
    return {**metrics_solution(tn, fp, fn, tp), "f1": tp / (tp + fp)}


def metrics_of_the_lesson_only(tn, fp, fn, tp):
    return metrics_solution(38, 2, 5, 35)  # the numbers of the lesson, whatever the input


def cheaper_solution(matrices, cost_fn, cost_fp):
    costs = {name: cost_fn * m["fn"] + cost_fp * m["fp"] for name, m in matrices.items()}
    return min(costs, key=costs.get)


def cheaper_by_accuracy(matrices, cost_fn, cost_fp):
    return min(matrices, key=lambda name: matrices[name]["fn"] + matrices[name]["fp"])


def cheaper_costs_swapped(matrices, cost_fn, cost_fp):
    return cheaper_solution(matrices, cost_fp, cost_fn)


def cheaper_max(matrices, cost_fn, cost_fp):
    costs = {name: cost_fn * m["fn"] + cost_fp * m["fp"] for name, m in matrices.items()}
    return max(costs, key=costs.get)


def boxes_solution(mask, min_sum):
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [b for b in map(cv2.boundingRect, contours) if b[2] + b[3] >= min_sum]


def boxes_strict(mask, min_sum):
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [b for b in map(cv2.boundingRect, contours) if b[2] + b[3] > min_sum]


def boxes_all_contours(mask, min_sum):
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    return [b for b in map(cv2.boundingRect, contours) if b[2] + b[3] >= min_sum]


def boxes_fixed_cut(mask, min_sum):
    return boxes_solution(mask, 100)


def boxes_corners(mask, min_sum):
    return [(x, y, x + w, y + h) for x, y, w, h in boxes_solution(mask, min_sum)]


def split_solution(groups, labels, test_share, seed):
    rng = np.random.default_rng(seed)
    test_groups = []
    for c in np.unique(labels):
        wanted, taken = test_share * (labels == c).sum(), 0
        for group in rng.permutation(np.unique(groups[labels == c])):
            if taken >= wanted:
                break
            test_groups.append(group)
            taken += (groups == group).sum()
    test = np.flatnonzero(np.isin(groups, test_groups))
    return np.setdiff1d(np.arange(len(groups)), test), test


def split_images(groups, labels, test_share, seed):
    order = np.random.default_rng(seed).permutation(len(groups))
    cut = round(test_share * len(groups))
    return order[cut:], order[:cut]


def split_first_groups(groups, labels, test_share, seed):
    test_groups = np.unique(groups)[: round(test_share * len(np.unique(groups)))]
    test = np.flatnonzero(np.isin(groups, test_groups))
    return np.setdiff1d(np.arange(len(groups)), test), test


def split_fixed_share(groups, labels, test_share, seed):
    return split_solution(groups, labels, 0.2, seed)


def split_test_also_trained(groups, labels, test_share, seed):
    return np.arange(len(groups)), split_solution(groups, labels, test_share, seed)[1]


def split_off_by_one(groups, labels, test_share, seed):
    train, test = split_solution(groups, labels, test_share, seed)
    return train[:-1], test


def ttest_solution(scores_a, scores_b, n_train, n_test):
    d = np.asarray(scores_a) - np.asarray(scores_b)
    k = len(d)
    t = d.mean() / np.sqrt((1 / k + n_test / n_train) * d.var(ddof=1))
    return t, 2 * stats.t.sf(abs(t), k - 1)


def ttest_variant(ratio=lambda n_train, n_test: n_test / n_train, ddof=1, extra_df=0, sides=2, sign=1):
    def test(scores_a, scores_b, n_train, n_test):
        d = sign * (np.asarray(scores_a) - np.asarray(scores_b))
        k = len(d)
        t = d.mean() / np.sqrt((1 / k + ratio(n_train, n_test)) * d.var(ddof=ddof))
        return t, sides * stats.t.sf(abs(t), k - 1 + extra_df)

    return test


def last_side_solution(input_side):
    side = input_side
    for _ in range(5):
        side = (side + 1) // 2
    return side


def last_side_floor(input_side):
    side = input_side
    for _ in range(5):
        side //= 2
    return side


def last_side_four_halvings(input_side):
    side = input_side
    for _ in range(4):
        side = (side + 1) // 2
    return side


def holm_solution(pvalues):
    p = np.asarray(pvalues, dtype=float)
    order, m = np.argsort(p), len(p)
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    return adjusted


def holm_variant(*, factor_offset=0, running_max=True, cap=True, reorder=True):
    def holm(pvalues):
        p = np.asarray(pvalues, dtype=float)
        order, m = np.argsort(p), len(p)
        steps = (m - factor_offset - np.arange(m)) * p[order]
        steps = np.maximum.accumulate(steps) if running_max else steps
        steps = np.minimum(1.0, steps) if cap else steps
        if not reorder:
            return steps
        adjusted = np.empty(m)
        adjusted[order] = steps
        return adjusted

    return holm


def interval_variant(*, ratio=lambda n_train, n_test: n_test / n_train, ddof=1, quantile=None, extra_df=0):
    def corrected_interval(values, n_train, n_test):
        d = np.asarray(values, dtype=float)
        J = len(d)
        q = quantile if quantile is not None else stats.t.ppf(0.975, J - 1 + extra_df)
        half = q * np.sqrt((1 / J + ratio(n_train, n_test)) * d.var(ddof=ddof))
        return d.mean() - half, d.mean() + half

    return corrected_interval


def repeats_variant(*, corrected=True, level=0.975, power=True, offset=0):
    def repeats_needed(difference, sd, folds, test_train_ratio):
        for r in range(1, 1001):
            df = folds * r - 1
            needed = stats.t.ppf(level, df) + (stats.t.ppf(0.8, df) if power else 0.0)
            ratio = test_train_ratio if corrected else 0.0
            if abs(difference) / (sd * np.sqrt(1 / (folds * r) + ratio)) >= needed:
                return r + offset
        return float("inf")

    return repeats_needed


def repeats_none_when_unresolved(difference, sd, folds, test_train_ratio):
    found = repeats_variant()(difference, sd, folds, test_train_ratio)
    return None if found == float("inf") else found


def blank_function(*args, **kwargs):
    return ...


# --- the exercises that need no TensorFlow ----------------------------------------------------

CASES = {
    "one_error": {
        "solution": lambda fold_size: 100 / fold_size,
        "hidden": ("1.25", "14.2857", "0.813008"),
        "wrong": {
            "a number, not a function": (2.5, "should be a function"),
            "the lesson's number, whatever the fold": (lambda fold_size: 2.5, "compute it from fold_size"),
            "a fraction, not points": (lambda fold_size: 1 / fold_size, "fraction of 1"),
            "one image off": (lambda fold_size: 100 / (fold_size - 1), "one image off"),
            "upside down": (lambda fold_size: fold_size / 100, "not the points of accuracy"),
            "a string": (lambda fold_size: "2.5 points", "should be a number"),
            "an error in the code": (lambda fold_size: 100 / fold_sizes, "raised NameError"),  # noqa: F821
            "no return": (lambda fold_size: None, "returned None"),
        },
    },
    "confusion_metrics": {
        "solution": metrics_solution,
        "hidden": ("0.7273", "0.8333", "0.6667"),
        "wrong": {
            "sensitivity and specificity swapped": (metrics_swapped, "swapped"),
            "F1 is the precision": (metrics_f1_is_precision, "precision"),
            "the lesson's matrix only": (metrics_of_the_lesson_only, "compare with equations 3-6"),
            "a tuple, not a dict": (lambda tn, fp, fn, tp: (0.9, 0.8, 0.7, 0.6), "return a dict"),
            "no F1": (
                lambda tn, fp, fn, tp: {k: v for k, v in metrics_solution(tn, fp, fn, tp).items() if k != "f1"},
                "lacks 'f1'",
            ),
            "accuracy over positives": (
                lambda tn, fp, fn, tp: {**metrics_solution(tn, fp, fn, tp), "accuracy": tp / (tp + fn + fp)},
                "your accuracy",
            ),
        },
    },
    "cheaper_classifier": {
        "solution": cheaper_solution,
        "hidden": (),
        "wrong": {
            "the letter, not a function": ("B", "should be a function"),
            "the fewest errors": (cheaper_by_accuracy, "fewest errors"),
            "costs swapped": (cheaper_costs_swapped, "price of a missed cancer (fn)"),
            "the most expensive": (cheaper_max, "most expensive"),
            "always B": (lambda matrices, cost_fn, cost_fp: "B", "key of matrices"),
            "the lesson's ratio, whatever the costs": (
                lambda matrices, cost_fn, cost_fp: cheaper_solution(matrices, 20, 1),
                "cost_fn=1",
            ),
            "the cost, not the name": (lambda matrices, cost_fn, cost_fp: 50, "a key of matrices"),
        },
    },
    "split_721": {
        "solution": lambda total: tuple(round(total * f) for f in (0.7, 0.2, 0.1)),
        "hidden": ("4080", "700, 200, 100", "63"),
        "wrong": {
            "int() rounds down": (lambda total: tuple(int(total * f) for f in (0.7, 0.2, 0.1)), "rounds down"),
            "the paper's printed counts": (lambda total: (14_280, 3_060, 3_060), "not 7:2:1"),
            "the paper's numbers for every total": (lambda total: (14_280, 4_080, 2_040), "use total"),
            "validation and test swapped": (lambda total: (0.7 * total, 0.1 * total, 0.2 * total), "swapped"),
            "fractions, not counts": (lambda total: (0.7, 0.2, 0.1), "whole numbers"),
            "two numbers": (lambda total: (round(0.7 * total), round(0.3 * total)), "a tuple of 3 numbers"),
        },
    },
    "cell_boxes": {
        "solution": boxes_solution,
        "hidden": (),
        "wrong": {
            "width + height > cut, not >=": (boxes_strict, "keep >="),
            "inner contours too (RETR_LIST)": (boxes_all_contours, "RETR_EXTERNAL"),
            "the cut-off fixed at 100": (boxes_fixed_cut, "below min_sum"),
            "no size cut": (lambda mask, min_sum: boxes_solution(mask, 0), "below min_sum"),
            "corners, not sizes": (boxes_corners, "(x, y, w, h)"),
            "not boxes": (lambda mask, min_sum: 3, "list of (x, y, w, h)"),
        },
    },
    "recall_per_line": {
        "solution": lambda m: np.diagonal(m) / np.sum(m, axis=1),
        "hidden": ("0.769", "0.75"),
        "wrong": {
            "the wrong axis (precision)": (lambda m: np.diagonal(m) / np.sum(m, axis=0), "axis=0"),
            "over all patches": (lambda m: np.diagonal(m) / np.sum(m), "all patches"),
            "the counts, not shares": (lambda m: np.diagonal(m), "correct / all patches"),
            "one number": (lambda m: np.trace(m) / np.sum(m), "one per class"),
            "the lesson's three lines only": (
                lambda m: np.diagonal(m)[:3] / np.sum(m, axis=1)[:3],
                "not one per class",
            ),
        },
    },
    "fold_shares": {
        "solution": lambda n_folds: ((n_folds - 2) / n_folds, 1 / n_folds, 1 / n_folds),
        "hidden": ("0.333", "0.25 / 0.25"),
        "wrong": {
            "the test fold used for validation": (lambda k: (1 - 1 / k, 1 / k, 1 / k), "also used for validation"),
            "no validation part": (lambda k: (1 - 1 / k, 0, 1 / k), "no validation part"),
            "the patches' 7:2:1": (lambda k: (0.7, 0.2, 0.1), "inner folds"),
            "validation a fifth of the rest": (lambda k: ((1 - 1 / k) * 0.8, (1 - 1 / k) * 0.2, 1 / k), "inner folds"),
            "off by one fold": (lambda k: (1 - 1 / k - (1 - 1 / k) / k, (1 - 1 / k) / k, 1 / k), "inner folds"),
            "the lesson's shares for every k": (lambda k: (0.6, 0.2, 0.2), "inner folds"),
        },
    },
    "grouped_split": {
        "solution": split_solution,
        "hidden": (),
        "wrong": {
            "images split, not groups": (split_images, "Split the groups"),
            "the first groups, not stratified": (split_first_groups, "no image of class"),
            "test share fixed at 0.2": (split_fixed_share, "test_share=0.3"),
            "test images also in training": (split_test_also_trained, "exactly once"),
            "one index lost": (split_off_by_one, "exactly once"),
            "one array": (lambda groups, labels, test_share, seed: np.arange(len(groups)), "a pair"),
        },
    },
    "corrected_ttest": {
        "solution": ttest_solution,
        "hidden": (),
        "wrong": {
            "plain paired t-test": (lambda a, b, n_train, n_test: tuple(stats.ttest_rel(a, b)), "plain paired"),
            "unpaired t-test": (lambda a, b, n_train, n_test: tuple(stats.ttest_ind(a, b)), "unpaired"),
            "ratio upside down": (ttest_variant(ratio=lambda n_train, n_test: n_train / n_test), "upside down"),
            "ddof=0": (ttest_variant(ddof=0), "ddof=1"),
            "k degrees of freedom": (ttest_variant(extra_df=1), "k - 1"),
            "one-sided p": (ttest_variant(sides=1), "two-sided"),
            "b - a": (ttest_variant(sign=-1), "a - b"),
            "p only": (lambda a, b, n_train, n_test: 0.05, "a tuple of 2 numbers"),
        },
    },
    "last_map_size": {
        "solution": last_side_solution,
        "hidden": (),
        "wrong": {
            "the number 3": (3, "should be a function"),
            "the lesson's 3 for every side": (lambda side: 3, "compute it from input_side"),
            "rounding down": (last_side_floor, "rounds up"),
            "a float": (lambda side: side / 32, "whole number"),
            "four halvings": (last_side_four_halvings, "halve the side five times"),
        },
    },
    "holm": {
        "solution": holm_solution,
        "hidden": (),
        "wrong": {
            "Bonferroni": (lambda p: np.minimum(1.0, len(p) * np.asarray(p)), "Bonferroni"),
            "no running maximum": (holm_variant(running_max=False), "running maximum"),
            "not capped at 1": (holm_variant(cap=False), "cap the adjusted p-values at 1"),
            "left in sorted order": (holm_variant(reorder=False), "order of the input"),
            "factor m - i": (holm_variant(factor_offset=1), "multiplied by m"),
            "the raw p-values": (lambda p: np.asarray(p), "not Holm's adjusted ones"),
            "one number": (lambda p: 0.05, "a tuple of"),
        },
    },
    "corrected_interval": {
        "solution": interval_variant(),
        "hidden": (),
        "wrong": {
            "naive interval": (interval_variant(ratio=lambda n_train, n_test: 0.0), "the naive interval"),
            "ratio upside down": (interval_variant(ratio=lambda n_train, n_test: n_train / n_test), "upside down"),
            "ddof=0": (interval_variant(ddof=0), "ddof=1"),
            "normal quantile": (interval_variant(quantile=1.959963984540054), "Student's t"),
            "J degrees of freedom": (interval_variant(extra_df=1), "J - 1"),
            "the mean only": (lambda values, n_train, n_test: np.mean(values), "a tuple of 2 numbers"),
        },
    },
    "repeats_needed": {
        "solution": repeats_variant(),
        "hidden": (),
        "wrong": {
            "no correction term": (repeats_variant(corrected=False), "without the correction term"),
            "one-sided level": (repeats_variant(level=0.95), "one-sided"),
            "no power term": (repeats_variant(power=False), "no power term"),
            "one repeat too many": (repeats_variant(offset=1), "smallest r"),
            "None when no r does": (repeats_none_when_unresolved, "float('inf')"),
        },
    },
}
PLAIN = sorted(CASES)
MODEL_ANSWERS = {"stage1_model", "stage2_head"}
"""Exercises whose answer is a Keras model, not a function."""
BLANKS = {"...": ..., "None": None, "a function still returning ...": blank_function}


GIVES_AWAY = re.compile(r"\b(?:expected|should be|the answer is|correct answer)\s*:?\s*[-+(\[]?\d", re.IGNORECASE)
"""The wording .ci/check_site.py refuses in a check message: a value the answer is compared with."""


def _assert_helpful(ok: bool, text: str, fragment: str, hidden=()) -> None:
    assert not ok
    assert text.startswith("✗ Not yet:"), text
    assert fragment in text, f"{fragment!r} not in {text!r}"
    assert not GIVES_AWAY.search(text), text
    for secret in hidden:
        assert not re.search(rf"(?<![\d.]){re.escape(secret)}(?![\d])", text), f"{secret!r} revealed: {text}"


@pytest.mark.parametrize("name", PLAIN)
def test_the_solution_passes(name):
    ok, text = evaluate(name, CASES[name]["solution"])
    assert ok and text.startswith("✓ Correct:") and not GIVES_AWAY.search(text), text
    for secret in CASES[name]["hidden"]:
        assert secret not in text


@pytest.mark.parametrize(("name", "label"), [(n, w) for n in PLAIN for w in CASES[n]["wrong"]])
def test_a_wrong_answer_fails_with_a_helpful_message(name, label):
    answer, fragment = CASES[name]["wrong"][label]
    _assert_helpful(*evaluate(name, answer), fragment, CASES[name]["hidden"])


@pytest.mark.parametrize(
    ("name", "blank"),
    [(n, b) for n in sorted(CHECKS) for b in BLANKS if not (n in MODEL_ANSWERS and b.startswith("a function"))],
)
def test_a_blank_says_no_answer_yet(name, blank):
    ok, text = evaluate(name, BLANKS[blank], **BLANK_CONTEXT.get(name, {}))
    assert not ok and text.startswith("✗ No answer yet"), text
    assert "cell above" not in text


BLANK_CONTEXT = {
    "stage1_model": {"backbone": "resnet10"},
    "stage2_head": {"stage1": None},
    "grad_cam": {"model": None, "images": [None], "layer_names": ["stage4_out"]},
}
"""Blanks are recognised before the context is used, so no model is built for them."""


def test_every_check_has_mutations():
    network = {"stage1_model", "stage2_head", "grad_cam"}
    assert set(CASES) | network == set(CHECKS)


# --- the Keras checks -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nets():
    import keras

    from mstl_lib.models.networks import build_backbone, build_stage1_model, build_stage2_model

    keras.utils.set_random_seed(3)
    stage1 = build_stage1_model("resnet10")
    return {
        "keras": keras,
        "build_backbone": build_backbone,
        "stage1": stage1,
        "stage2": build_stage2_model(stage1),
    }


def _stage1(nets, pooling="avg", activation="softmax", units=3, extra=None):
    keras = nets["keras"]
    trunk = nets["build_backbone"]("resnet10")
    layer = keras.layers.GlobalAveragePooling2D() if pooling == "avg" else keras.layers.GlobalMaxPooling2D()
    x = layer(trunk.output) if pooling != "flatten" else keras.layers.Flatten()(trunk.output)
    if extra:
        x = keras.layers.Dense(extra, activation="relu")(x)
    x = keras.layers.Dense(units, activation=activation)(x)
    return keras.Model(trunk.input, x)


STAGE1_WRONG = {
    "no softmax": (dict(activation=None), "softmax over the classes"),
    "global max pooling with ReLU": (dict(pooling="max", activation="relu"), "softmax over the classes"),
    "global max pooling with softmax": (dict(pooling="max"), "GlobalAveragePooling2D"),
    "sigmoid units": (dict(activation="sigmoid"), "softmax over the classes"),
    "two classes": (dict(units=2), "one unit per cell line"),
    "flattened, not pooled": (dict(pooling="flatten"), "straight into one Dense layer"),
    "an extra hidden layer": (dict(extra=32), "straight into one Dense layer"),
}


def test_stage1_solution_and_library_model_pass(nets):
    from mstl_lib.models.networks import build_stage1_model

    for model in (_stage1(nets), build_stage1_model("resnet10")):
        ok, text = evaluate("stage1_model", model, backbone="resnet10", n_classes=3)
        assert ok and text.startswith("✓ Correct:"), text


@pytest.mark.parametrize("label", STAGE1_WRONG)
def test_stage1_wrong_models_fail(nets, label):
    options, fragment = STAGE1_WRONG[label]
    _assert_helpful(*evaluate("stage1_model", _stage1(nets, **options), backbone="resnet10"), fragment)


def test_stage1_softmax_over_the_batch_fails(nets):
    keras = nets["keras"]
    trunk = nets["build_backbone"]("resnet10")
    logits = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(trunk.output))
    model = keras.Model(trunk.input, keras.layers.Softmax(axis=0)(logits))
    _assert_helpful(*evaluate("stage1_model", model, backbone="resnet10"), "softmax over the classes")


def test_stage1_wrong_backbone_fails(nets):
    keras = nets["keras"]
    stage1 = nets["stage1"]
    pooled = keras.layers.GlobalAveragePooling2D()(stage1.get_layer("stage3_out").output)
    model = keras.Model(stage1.input, keras.layers.Dense(3, activation="softmax")(pooled))
    _assert_helpful(*evaluate("stage1_model", model, backbone="resnet10"), "no layer 'stage4_out'")


def _head(nets, features, units=(256, 128, 64), activation="relu", output="sigmoid", dropout=0.5):
    keras = nets["keras"]
    x = features
    for i, n in enumerate(units):
        x = keras.layers.Dense(n, activation=activation)(x)
        if i == 0 and dropout:
            x = keras.layers.Dropout(dropout)(x)
    return keras.layers.Dense(1, activation=output)(x)


def _on_stage1(nets, **head):
    stage1 = nets["stage1"]
    return nets["keras"].Model(stage1.input, _head(nets, stage1.get_layer("global_avg_pool").output, **head))


def _on_fresh_backbone(nets, **head):
    keras = nets["keras"]
    trunk = nets["build_backbone"]("resnet10")
    pooled = keras.layers.GlobalAveragePooling2D(name="global_avg_pool")(trunk.output)
    return keras.Model(trunk.input, _head(nets, pooled, **head))


STAGE2_WRONG = {
    "a fresh random backbone": (lambda nets: _on_fresh_backbone(nets), "differ from stage 1's"),
    "a fresh backbone, no ReLU, no sigmoid (the issue's)": (
        lambda nets: _on_fresh_backbone(nets, activation=None, output=None),
        "differ from stage 1's",
    ),
    "another stage-1 model": (
        lambda nets: __import__("mstl_lib.models.networks", fromlist=["x"]).build_stage2_model(
            __import__("mstl_lib.models.networks", fromlist=["x"]).build_stage1_model("resnet10")
        ),
        "differ from stage 1's",
    ),
    "no ReLU": (lambda nets: _on_stage1(nets, activation=None), "no ReLU"),
    "no sigmoid": (lambda nets: _on_stage1(nets, output=None), "needs a sigmoid"),
    "softmax over one unit": (lambda nets: _on_stage1(nets, output="softmax"), "always 1"),
    "no dropout": (lambda nets: _on_stage1(nets, dropout=0), "Dropout layer of rate 0.5"),
    "dropout 0.2": (lambda nets: _on_stage1(nets, dropout=0.2), "Dropout layer of rate 0.5"),
    "other sizes": (lambda nets: _on_stage1(nets, units=(128, 64, 32)), "Dense layers have [128, 64, 32, 1]"),
    "on top of stage 1's softmax": (
        lambda nets: nets["keras"].Model(nets["stage1"].input, _head(nets, nets["stage1"].output)),
        "stage 1's softmax layer",
    ),
    "the stage-1 model itself": (lambda nets: nets["stage1"], "one unit"),
}


def test_stage2_solution_and_library_model_pass(nets):
    for model in (_on_stage1(nets), nets["stage2"]):
        ok, text = evaluate("stage2_head", model, stage1=nets["stage1"])
        assert ok and text.startswith("✓ Correct:"), text


@pytest.mark.filterwarnings("ignore:You are using a softmax over axis")  # Keras' own warning about the mutation
@pytest.mark.parametrize("label", STAGE2_WRONG)
def test_stage2_wrong_models_fail(nets, label):
    make, fragment = STAGE2_WRONG[label]
    _assert_helpful(*evaluate("stage2_head", make(nets), stage1=nets["stage1"]), fragment)


def grad_cam_variant(relu=True, normalise=True, average=True, channel_axis=-1, resize=False, sign=1):
    """The lesson's Grad-CAM solution with one step changed."""

    def my_grad_cam(model, image, layer_name):
        import keras
        import tensorflow as tf

        head = model.layers[-1]
        grad_model = keras.Model(model.inputs[0], [model.get_layer(layer_name).output, head.input])
        with tf.GradientTape() as tape:
            feature_map, hidden = grad_model(tf.convert_to_tensor(image[None].astype("float32")), training=False)
            score = sign * (tf.matmul(hidden, head.kernel) + head.bias)[:, 0]
        grads = tape.gradient(score, feature_map)
        weights = tf.reduce_mean(grads, axis=(0, 1, 2)) if average else grads[0]
        heat = tf.reduce_sum(feature_map[0] * weights, axis=channel_axis).numpy()
        heat = np.maximum(heat, 0) if relu else heat
        heat = heat / heat.max() if normalise and heat.max() > 0 else heat
        return cv2.resize(heat, image.shape[:2][::-1]) if resize else heat

    return my_grad_cam


GRAD_CAM_WRONG = {
    "no ReLU": (dict(relu=False), "apply the ReLU"),
    "no normalisation": (dict(normalise=False), "divide by the maximum"),
    "channels summed over the wrong axis": (dict(channel_axis=0), "has shape"),
    "gradients not averaged over space": (dict(average=False), "average the gradients"),
    "resized to the image": (dict(resize=True), "do not resize"),
    "the benign score": (dict(sign=-1), "differs from the library's"),
}


@pytest.fixture(scope="module")
def cam_context(nets):
    from mstl_lib.teaching.exercise_networks import probe_images

    model = nets["stage2"]
    images = probe_images(model, count=3, seed=1)
    images[0, 20:50, 20:50] = 255  # a bright square, so the maps differ between images
    return {"model": model, "images": images, "layer_names": ["stage4_out", "stage3_out"]}


def test_grad_cam_context_makes_the_relu_matter(cam_context):
    """Without the ReLU some map must go negative, or the 'no ReLU' mutation would prove nothing."""
    raw = grad_cam_variant(relu=False, normalise=False)
    maps = [raw(cam_context["model"], image, "stage4_out") for image in cam_context["images"]]
    maps += [raw(cam_context["model"], image, "stage3_out") for image in cam_context["images"]]
    assert any(m.min() < 0 < m.max() for m in maps)


def test_grad_cam_solution_passes(cam_context):
    ok, text = evaluate("grad_cam", grad_cam_variant(), **cam_context)
    assert ok and text.startswith("✓ Correct:"), text


@pytest.mark.parametrize("label", GRAD_CAM_WRONG)
def test_grad_cam_wrong_code_fails(cam_context, label):
    options, fragment = GRAD_CAM_WRONG[label]
    _assert_helpful(*evaluate("grad_cam", grad_cam_variant(**options), **cam_context), fragment)


def test_grad_cam_wants_a_function(cam_context):
    heat = grad_cam_variant()(cam_context["model"], cam_context["images"][0], "stage4_out")
    _assert_helpful(*evaluate("grad_cam", heat, **cam_context), "should be a function")

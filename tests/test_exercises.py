"""The exercise checks: right answers pass, wrong or missing ones fail with a sentence."""

import numpy as np
import pytest

from mstl_lib.evaluation.diagnostics import summarize_predictions
from mstl_lib.teaching.exercises import CHECKS, check, evaluate, reference


def test_confusion_metrics_reference_matches_the_equations():
    ref = reference("confusion_metrics", tn=38, fp=2, fn=5, tp=35)
    assert ref["sensitivity"] == pytest.approx(35 / 40)
    assert ref["specificity"] == pytest.approx(38 / 40)
    assert ref["accuracy"] == pytest.approx(73 / 80)
    assert ref["f1"] == pytest.approx(2 * 35 / (2 * 35 + 2 + 5))


def test_check_prints_tick_for_a_right_answer(capsys):
    answer = {"accuracy": 73 / 80, "sensitivity": 35 / 40, "specificity": 38 / 40, "f1": 70 / 77}
    assert evaluate("confusion_metrics", answer, tn=38, fp=2, fn=5, tp=35)[0]
    assert check("confusion_metrics", answer, tn=38, fp=2, fn=5, tp=35) is None  # a cell shows only the sentence
    assert capsys.readouterr().out.startswith("✓")


def test_check_explains_a_wrong_answer(capsys):
    answer = {"accuracy": 73 / 80, "sensitivity": 38 / 40, "specificity": 35 / 40, "f1": 70 / 77}
    assert not evaluate("confusion_metrics", answer, tn=38, fp=2, fn=5, tp=35)[0]
    check("confusion_metrics", answer, tn=38, fp=2, fn=5, tp=35)
    out = capsys.readouterr().out
    assert out.startswith("✗") and "sensitivity" in out


def test_missing_answer_is_not_an_error(capsys):
    assert not evaluate("one_error", None, fold_size=40)[0]
    check("one_error", ..., fold_size=40)
    assert "No answer yet" in capsys.readouterr().out


def test_scalar_and_tuple_checks():
    assert evaluate("one_error", 2.5, fold_size=40)[0]
    assert not evaluate("one_error", 1.0, fold_size=40)[0]
    assert evaluate("split_721", (14280, 4080, 2040))[0]
    assert not evaluate("split_721", (14280, 3060, 3060))[0]
    assert evaluate("fold_shares", (0.6, 0.2, 0.2), n_folds=5)[0]
    assert evaluate(
        "cheaper_classifier", "B", matrices={"A": {"fn": 4, "fp": 1}, "B": {"fn": 1, "fp": 10}}, cost_fn=20, cost_fp=1
    )[0]


def test_cell_boxes_check():
    from mstl_lib.data.segmentation import segment_frame

    frame = np.full((200, 300), 120, np.uint8)
    frame[50:120, 80:170] = 60
    frame[150:155, 20:25] = 60  # a speck: its box is below the cut-off
    seg = segment_frame(frame, return_intermediates=True)
    assert evaluate("cell_boxes", [b.as_tuple() for b in seg.boxes], segmentation=seg)[0]
    assert not evaluate("cell_boxes", [], segmentation=seg)[0]


def test_grouped_split_check():
    groups = np.repeat(np.arange(20), 2)
    labels = np.repeat(np.arange(20) % 2, 2)
    test = np.flatnonzero(np.isin(groups, [0, 1, 2, 3]))
    train = np.setdiff1d(np.arange(40), test)
    assert evaluate("grouped_split", (train, test), groups=groups, labels=labels)[0]
    leaky_test = np.arange(7)  # cuts group 3 in two
    assert not evaluate("grouped_split", (np.setdiff1d(np.arange(40), leaky_test), leaky_test), groups=groups)[0]


def test_every_check_is_listed():
    assert set(CHECKS) == {
        "one_error",
        "confusion_metrics",
        "cheaper_classifier",
        "split_721",
        "cell_boxes",
        "fold_shares",
        "grouped_split",
        "last_map_size",
        "grad_cam",
        "stage1_model",
        "stage2_head",
        "corrected_ttest",
        "holm",
        "corrected_interval",
        "repeats_needed",
    }


def test_collapse_is_recognised():
    y = np.array([0, 0, 1, 1])
    collapsed = summarize_predictions(y, [0.61, 0.62, 0.6, 0.63])
    assert collapsed.collapsed and collapsed.one_class and "Collapsed" in collapsed.sentence()
    assert collapsed.accuracy == 0.5
    flat = summarize_predictions(y, [0.499, 0.5, 0.501, 0.502])
    assert flat.collapsed and not flat.one_class
    fine = summarize_predictions(y, [0.1, 0.3, 0.8, 0.9])
    assert not fine.collapsed and "Not collapsed" in fine.sentence() and "does not yet" not in fine.sentence()
    guessing = summarize_predictions(y, [0.4, 0.6, 0.45, 0.7])
    assert not guessing.collapsed and "does not yet tell the classes apart" in guessing.sentence()


def test_smallest_fold_sd_behind_the_critical_reading_page():
    """book/paper_critical.md: 99.0 % over five folds of 40 is 2 errors; the smallest sample SD is 1.37."""
    accuracies = 100 * (1 - np.array([1, 1, 0, 0, 0]) / 40)
    assert accuracies.mean() == pytest.approx(99.0)
    assert accuracies.std(ddof=1) == pytest.approx(1.369, abs=1e-3)
    assert accuracies.std(ddof=1) / np.sqrt(5) == pytest.approx(0.612, abs=1e-3)
    # two errors in one fold give a larger SD
    assert (100 * (1 - np.array([2, 0, 0, 0, 0]) / 40)).std(ddof=1) > 1.369


def test_interval_quoted_in_honest_evaluation():
    """book/honest_evaluation.md: 99.0 % of 200 is 198 correct; exact 95 % interval 96.4 % to 99.9 %."""
    from scipy.stats import binomtest

    low, high = binomtest(198, 200).proportion_ci(0.95, "exact")
    assert round(100 * low, 1) == 96.4 and round(100 * high, 1) == 99.9


def test_difference_verdict():
    from mstl_lib.evaluation.diagnostics import difference_verdict

    unresolved = difference_verdict(0.700, 0.096, 25, 0.671, 0.101, 25, what_a="free", what_b="grouped")
    assert "does not show a difference" in unresolved and "2.9 ± 2.8 points above" in unresolved
    resolved = difference_verdict(0.792, 0.071, 25, 0.668, 0.105, 25)
    assert "resolves the difference" in resolved


def test_model_checks_compare_with_the_library():
    import keras

    from mstl_lib.models.networks import build_backbone, build_stage1_model

    trunk = build_backbone("resnet10")
    right = keras.Model(
        trunk.input, keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling2D()(trunk.output))
    )
    assert evaluate("stage1_model", right, backbone="resnet10", n_classes=3)[0]
    wrong = keras.Model(
        trunk.input, keras.layers.Dense(2, activation="softmax")(keras.layers.GlobalAveragePooling2D()(trunk.output))
    )
    ok, text = evaluate("stage1_model", wrong, backbone="resnet10", n_classes=3)
    assert not ok and "output shape" in text
    stage1 = build_stage1_model("resnet10")
    ok, text = evaluate("stage2_head", stage1, stage1=stage1)
    assert not ok and "(1,)" in text


def test_corrected_ttest_check():
    from mstl_lib.evaluation.stats import corrected_resampled_ttest

    a, b = [0.9, 0.85, 0.8, 0.95, 0.9], [0.8, 0.85, 0.75, 0.9, 0.8]
    t, p = corrected_resampled_ttest(a, b, n_train=120, n_test=40)
    context = dict(scores_a=a, scores_b=b, n_train=120, n_test=40)
    assert evaluate("corrected_ttest", (t, p), **context)[0]
    assert not evaluate("corrected_ttest", (t, p / 3), **context)[0]


def test_lesson8_checks():
    assert evaluate("holm", (0.03, 0.06, 0.06, 0.02), pvalues=[0.01, 0.04, 0.03, 0.005])[0]
    assert not evaluate("holm", (0.01, 0.04, 0.03, 0.005), pvalues=[0.01, 0.04, 0.03, 0.005])[0]
    d = [0.01, 0.05, 0.03, 0.02, 0.04, 0.03]
    half = 2.5706 * (((1 / 6) + 0.25) * 2e-4) ** 0.5  # t(0.975, 5) x corrected standard error
    context = dict(values=d, n_train=40, n_test=10)
    assert evaluate("corrected_interval", (0.03 - half, 0.03 + half), **context)[0]
    assert not evaluate("corrected_interval", (0.03 - half / 2, 0.03 + half / 2), **context)[0]
    assert evaluate("repeats_needed", float("inf"), difference=0.01, sd=0.05, folds=5, test_train_ratio=0.25)[0]
    assert not evaluate("repeats_needed", 3, difference=0.01, sd=0.05, folds=5, test_train_ratio=0.25)[0]
    from mstl_lib.evaluation.stats import repeats_needed

    r = repeats_needed(0.03, 0.03, 5, 0.05)
    assert evaluate("repeats_needed", r, difference=0.03, sd=0.03, folds=5, test_train_ratio=0.05)[0]
    assert not evaluate("repeats_needed", r + 3, difference=0.03, sd=0.03, folds=5, test_train_ratio=0.05)[0]

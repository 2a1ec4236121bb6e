"""The exercise checks: right answers pass, wrong or missing ones fail with a sentence."""

import numpy as np
import pytest

from mstl_lib.evaluation.diagnostics import summarize_predictions
from mstl_lib.teaching.exercises import (
    CHECKS,
    MATRICES,
    NO_ANSWER,
    assert_correct,
    box_masks,
    check,
    evaluate,
    resnet50_last_side,
)


def metrics_from_counts(tn, fp, fn, tp):
    return {
        "accuracy": (tp + tn) / (tp + tn + fp + fn),
        "sensitivity": tp / (tp + fn),
        "specificity": tn / (tn + fp),
        "f1": 2 * tp / (2 * tp + fp + fn),
    }


def test_check_prints_only_the_sentence(capsys):
    assert check("confusion_metrics", metrics_from_counts) is None  # a cell shows only the sentence
    assert capsys.readouterr().out.startswith("✓ Correct:")
    check("confusion_metrics", lambda tn, fp, fn, tp: {})
    assert capsys.readouterr().out.startswith("✗ Not yet:")


def test_assert_correct_raises_where_check_prints(capsys):
    """The nbgrader cells' check: the same ✓ sentence printed, a ✗ or blank answer raised, not printed."""
    assert_correct("confusion_metrics", metrics_from_counts)
    assert capsys.readouterr().out.startswith("✓ Correct:")
    with pytest.raises(AssertionError, match="^✗ Not yet: "):
        assert_correct("confusion_metrics", lambda tn, fp, fn, tp: {})
    with pytest.raises(AssertionError) as blank:
        assert_correct("one_error", ...)
    assert str(blank.value) == NO_ANSWER
    assert capsys.readouterr().out == ""  # nothing printed for a failure: the traceback says it
    check("one_error", None)  # the plain edition's check still prints and returns
    assert capsys.readouterr().out.strip() == NO_ANSWER


def test_unknown_exercise_is_an_error():
    with pytest.raises(KeyError, match="one_error"):
        evaluate("one_errors", 1.0)


def test_the_checks_matrices_are_not_the_lessons():
    """Each matrix has sensitivity != specificity, so a swap is seen; all but the last are new to the student."""
    assert all(tp / (tp + fn) != tn / (tn + fp) for tn, fp, fn, tp in MATRICES)
    assert (38, 2, 5, 35) not in MATRICES[:-1]


def test_resnet50_side_matches_keras():
    import keras

    for side in (75, 97):
        model = keras.applications.ResNet50(include_top=False, weights=None, input_shape=(side, side, 3))
        assert model.output.shape[1] == resnet50_last_side(side)


def test_fold_shares_reference_is_the_library_folds():
    from mstl_lib.teaching.exercises import _library_fold_shares

    for k in (3, 5, 10):
        assert _library_fold_shares(k) == pytest.approx(((k - 2) / k, 1 / k, 1 / k))


def test_box_masks_hold_a_box_exactly_at_the_cut():
    from mstl_lib.teaching.exercises import _library_boxes

    first, second = box_masks()
    assert (20, 120, 50, 50) in _library_boxes(first, 100)
    assert (20, 120, 50, 50) not in _library_boxes(first, 150)
    assert (120, 120, 49, 50) not in _library_boxes(first, 100)
    assert len(_library_boxes(second, 100)) == 2  # the ring and the bar; the blob in the hole is inside the ring


def test_grad_cam_without_upsampling_has_the_layers_size():
    from mstl_lib.models.features import grad_cam
    from mstl_lib.models.networks import build_stage1_model, build_stage2_model

    model = build_stage2_model(build_stage1_model("resnet10"))
    image = np.random.default_rng(0).uniform(0, 255, (75, 75, 3)).astype("float32")
    small = grad_cam(model, image, layer_name="stage3_out", upsample=False)
    assert small.shape == tuple(model.get_layer("stage3_out").output.shape[1:3])
    assert grad_cam(model, image, layer_name="stage3_out").shape == (75, 75)


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
        "recall_per_line",
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

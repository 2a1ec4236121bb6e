"""Comparisons of arms: one primary metric (AUC) tested fold by fold, accuracy beside it, labelled."""

import numpy as np

from mstl_lib.evaluation.report import PRIMARY_METRIC, grid_statistics
from mstl_lib.teaching.grid_text import comparison_sentence, format_report


def _fold(tl, fold, scores, labels):
    from mstl_lib.evaluation.metrics import binary_metrics

    metrics = binary_metrics(labels, scores)
    metrics["loss"] = 0.5
    return {
        "tl": tl,
        "backbone": "resnet10",
        "optimizer": "adam",
        "fold": fold,
        "metrics": metrics,
        "y_true": list(labels),
        "y_score": list(scores),
        "n_train": 120,
        "n_test": 40,
    }


def _results():
    rng = np.random.default_rng(0)
    labels = np.array([0] * 20 + [1] * 20)
    results = []
    for fold in range(5):
        # "ranker": ranks well but its scores all sit above 0.5 (bad accuracy at the fixed threshold);
        # "sharp": ranks worse but is calibrated around 0.5 (good accuracy)
        ranked = 0.6 + 0.3 * (labels + rng.uniform(0, 0.8, 40)) / 1.8
        sharp = np.clip(0.5 + (labels - 0.5) * 0.6 + rng.normal(0, 0.25, 40), 0, 1)
        results.append(_fold("mstl", fold, ranked, labels))
        results.append(_fold("ctl", fold, sharp, labels))
    return results


def test_comparisons_test_per_fold_auc_and_carry_accuracy_beside_it():
    stats = grid_statistics(_results(), n_resamples=50)
    (entry,) = [t for t in stats["corrected_tests"] if (t["a"], t["b"]) == ("mstl", "ctl")]
    assert PRIMARY_METRIC == "auc" and entry["metric"] == "auc" and entry["folds"] == 5
    # the AUC favours MSTL while the accuracy at 0.5 favours CTL: the test follows the AUC
    assert entry["mean_difference"] > 0 > entry["accuracy_difference"]
    sentence = comparison_sentence(entry)
    assert "mean test AUC +" in sentence and "accuracy -" in sentence and "not tested" in sentence
    assert "t-test on AUC p = " in sentence


def test_report_labels_each_test_with_its_metric():
    text = format_report(_results(), grid_statistics(_results(), n_resamples=50))
    assert "on AUC (the primary metric)" in text
    assert "Paper's t-test" in text and "on mean test accuracy" in text


def test_sentence_verdicts():
    entry = {"a": "mstl", "b": "ctl", "backbone": "r", "optimizer": "o", "folds": 5}
    assert "not testable" in comparison_sentence(entry)
    entry.update(mean_difference=0.05, accuracy_difference=0.02, p=0.01)
    assert comparison_sentence(entry).endswith("MSTL is higher.")
    entry.update(p=0.3)
    assert comparison_sentence(entry).endswith("no difference shown at this size.")


def _bootstrap(tl, estimate, low, high):
    auc = {"estimate": estimate, "low": low, "high": high}
    return {"tl": tl, "backbone": "resnet10", "optimizer": "adam", "auc": auc}


def test_best_arm_sentence_names_the_best_arm_and_its_place_beside_the_baseline():
    from mstl_lib.teaching.grid_text import best_arm_sentence

    baseline = _bootstrap("baseline", 0.70, 0.65, 0.75)
    above = {"bootstrap": [_bootstrap("ctl", 0.80, 0.76, 0.84), _bootstrap("mstl", 0.85, 0.80, 0.90), baseline]}
    sentence = best_arm_sentence(above)
    assert sentence.startswith("The best network arm is MSTL (resnet10, adam), pooled AUC 0.850")
    assert "lies wholly above the baseline's (0.700" in sentence
    overlapping = {"bootstrap": [_bootstrap("ctl", 0.72, 0.66, 0.78), baseline]}
    assert "overlaps" in best_arm_sentence(overlapping)
    assert best_arm_sentence({"bootstrap": above["bootstrap"][:2]}).endswith("this run has no baseline.")
    assert best_arm_sentence({"bootstrap": [baseline]}) == "No network arm has a defined AUC in this run."

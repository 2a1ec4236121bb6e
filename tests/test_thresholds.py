"""AUC against accuracy on one fold (mstl_lib.evaluation.thresholds)."""

import numpy as np
import pytest

from mstl_lib.evaluation.thresholds import auc_accuracy_sentence, auc_accuracy_table, threshold_summary

LABELS = np.array([0] * 10 + [1] * 10)


def test_a_perfect_ranking_with_scores_above_half_has_auc_1_and_poor_accuracy():
    scores = np.r_[np.linspace(0.55, 0.7, 10), np.linspace(0.8, 0.95, 10)]
    s = threshold_summary(LABELS, scores)
    assert s["auc"] == 1.0 and s["accuracy"] == 0.5 and s["fp"] == 10 and s["fn"] == 0
    assert s["best_accuracy"] == 1.0 and 0.7 < s["best_threshold"] <= 0.8
    assert s["brier"] == pytest.approx(np.mean((scores - LABELS) ** 2))


def test_missed_cancer_scores_are_listed():
    scores = np.r_[np.full(10, 0.1), 0.02, 0.3, np.full(8, 0.9)]
    s = threshold_summary(LABELS, scores)
    assert s["missed_cancer_scores"] == [0.02, 0.3] and s["fn"] == 2


def test_table_and_sentence_say_when_the_metrics_disagree():
    ranker = {"y_true": LABELS, "y_score": np.r_[np.linspace(0.55, 0.7, 10), np.linspace(0.8, 0.95, 10)]}
    sharp = {"y_true": LABELS, "y_score": np.r_[np.full(9, 0.2), 0.7, np.full(8, 0.8), 0.3, 0.1]}
    table = auc_accuracy_table({"mstl": ranker, "ctl": sharp}, {"mstl": "MSTL", "ctl": "CTL"})
    assert list(table.index) == ["MSTL", "CTL"] and table.columns[0] == "AUC"
    assert table.at["MSTL", "AUC"] > table.at["CTL", "AUC"]
    assert table.at["MSTL", "accuracy at 0.5"] < table.at["CTL", "accuracy at 0.5"]
    sentence = auc_accuracy_sentence(table)
    assert sentence.startswith("On this fold the two metrics disagree: MSTL ranks the images best")
    assert "CTL has the higher accuracy" in sentence


def test_sentence_when_they_agree():
    good = {"y_true": LABELS, "y_score": np.r_[np.full(10, 0.2), np.full(10, 0.8)]}
    poor = {"y_true": LABELS, "y_score": np.r_[np.full(10, 0.6), np.full(10, 0.4)]}
    table = auc_accuracy_table({"a": good, "b": poor})
    assert auc_accuracy_sentence(table).startswith("On this fold the two metrics agree: a")


def test_sentence_when_accuracies_tie():
    one = {"y_true": LABELS, "y_score": np.r_[np.full(10, 0.6), np.linspace(0.7, 0.9, 10)]}
    two = {"y_true": LABELS, "y_score": np.r_[np.linspace(0.6, 0.9, 10), np.linspace(0.6, 0.9, 10)]}
    sentence = auc_accuracy_sentence(auc_accuracy_table({"a": one, "b": two}))
    assert sentence.startswith("On this fold 2 arms tie at the highest accuracy at 0.5 (50.0%); by AUC, a")

"""The leakage demonstration measures what it claims."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest

from mstl_lib.data.synthetic import make_ultrasound_image
from mstl_lib.errors import DataError
from mstl_lib.evaluation.leakage import leakage_experiment
from mstl_lib.visualize.evaluation import plot_leakage


@pytest.fixture(scope="module")
def ultrasound():
    import cv2

    images, labels = [], []
    for label, name in enumerate(("benign", "malignant")):
        for i in range(40):
            gray = cv2.resize(make_ultrasound_image(name, np.random.default_rng(1000 * label + i)), (75, 75))
            images.append(np.repeat(gray[:, :, None], 3, axis=2))
            labels.append(label)
    return np.array(images), np.array(labels)


def test_leaky_protocols_score_higher_than_honest_ones(ultrasound):
    images, labels = ultrasound
    table = leakage_experiment(images, labels, repeats=3, seed=0).set_index("scenario")
    assert list(table.index) == ["honest", "augment_before_split", "duplicates_split", "duplicates_grouped"]
    assert table.loc["augment_before_split", "accuracy"] > table.loc["honest", "accuracy"] + 0.05
    assert table.loc["duplicates_split", "accuracy"] > table.loc["duplicates_grouped", "accuracy"]
    assert (table["folds"] == 15).all()


def test_bad_input(ultrasound):
    images, labels = ultrasound
    with pytest.raises(DataError, match="uint8"):
        leakage_experiment(images.astype(float), labels)
    with pytest.raises(DataError, match="duplicate_fraction"):
        leakage_experiment(images, labels, duplicate_fraction=0)


def test_plot_leakage_draws_one_bar_per_scenario(ultrasound):
    images, labels = ultrasound
    table = leakage_experiment(images[::2], labels[::2], repeats=1)
    fig = plot_leakage(table)
    bars = fig.axes[0].patches
    assert len(bars) == len(table)
    assert sorted(b.get_width() for b in bars) == pytest.approx(sorted(100 * table["accuracy"]))
    with pytest.raises(DataError):
        plot_leakage(table.drop(columns="std"))


def test_leak_verdicts_use_the_corrected_error_of_overlapping_folds():
    from mstl_lib.evaluation.diagnostics import difference_verdict

    # 25 folds of 5-fold cross-validation repeated 5 times: test/train = 1/4
    naive = difference_verdict(0.792, 0.071, 25, 0.668, 0.105, 25)
    corrected = difference_verdict(0.792, 0.071, 25, 0.668, 0.105, 25, test_train_ratio=0.25)
    assert "resolves" in naive and "± 2.5 points" in naive
    assert "corrected standard error" in corrected and "± 6.8 points" in corrected
    assert "no verdict" in corrected  # 12.4 points is within two corrected standard errors
    big = difference_verdict(0.95, 0.02, 25, 0.60, 0.02, 25, test_train_ratio=0.25)
    assert "resolves the difference" in big
    assert "no verdict" in difference_verdict(0.9, 0.0, 5, 0.8, 0.0, 5, test_train_ratio=0.25)

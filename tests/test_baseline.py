"""Tests of the HOG + LBP logistic-regression baseline (mstl_lib.training.baseline)."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from mstl_lib.data import synthetic as syn
from mstl_lib.data.datasets import load_dataset
from mstl_lib.data.splits import Fold, cross_validation_folds
from mstl_lib.errors import DataError
from mstl_lib.profiles import get_profile
from mstl_lib.training import baseline as bl


def _train_fold_keys() -> set[str]:
    """Keys of the dict literal that mstl_lib.training.stages.train_fold returns (read from its source)."""
    import mstl_lib

    tree = ast.parse((Path(mstl_lib.__file__).parent / "training" / "stages.py").read_text())
    func = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "train_fold")
    returns = [n for n in ast.walk(func) if isinstance(n, ast.Return) and isinstance(n.value, ast.Dict)]
    assert returns, "train_fold no longer returns a dict literal; update this test"
    return {k.value for k in returns[-1].value.keys}


@pytest.fixture(scope="module")
def easy(tmp_path_factory):
    """20 + 20 textbook lesions (difficulty 0) in the BUSI layout, with its 5 folds."""
    root = syn.write_ultrasound_set(
        tmp_path_factory.mktemp("us") / "us", 20, seed=3, size=96, difficulty=0.0, progress=False
    )
    dataset = load_dataset(root, "busi")
    return dataset, cross_validation_folds(dataset.labels, dataset.groups, n_folds=5, seed=0)


def test_features_shape_dtype_and_determinism():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 75, 75), dtype=np.uint8)
    features = bl.hog_lbp_features(images)
    # 8 x 8 HOG blocks of 2 x 2 cells x 9 bins, then LBP histograms of 8 + 2 and 16 + 2 codes
    assert features.shape == (3, 8 * 8 * 2 * 2 * 9 + 10 + 18) and features.dtype == np.float64
    assert np.array_equal(features, bl.hog_lbp_features(images))
    # one row per image, from that image only; RGB is read as its grayscale
    assert np.array_equal(features[1], bl.hog_lbp_features(images[1:2])[0])
    rgb = np.repeat(images[..., None], 3, axis=3)
    assert np.allclose(bl.hog_lbp_features(rgb), features)
    # the LBP histograms are normalised
    for start, points in ((2304, 8), (2304 + 10, 16)):
        assert np.isclose(features[:, start : start + points + 2].sum(axis=1), 1.0).all()
    assert not np.array_equal(features[0], features[1])


@pytest.mark.parametrize(
    "images",
    [
        np.zeros((2, 75, 75), np.float32),  # not uint8
        np.zeros((75, 75), np.uint8),  # a single image without the batch axis
        np.zeros((0, 75, 75), np.uint8),  # nothing
        np.zeros((2, 8, 8), np.uint8),  # smaller than one HOG block
    ],
)
def test_features_reject_bad_images(images):
    with pytest.raises(DataError, match="Fix"):
        bl.hog_lbp_features(images)


def test_result_has_train_fold_keys_and_tests_once(easy, monkeypatch):
    dataset, folds = easy
    fold = folds[0]
    loaded = []
    real_load = bl.load_image
    monkeypatch.setattr(bl, "load_image", lambda path, size: loaded.append(Path(path)) or real_load(path, size))
    result = bl.run_baseline_fold(dataset, fold, seed=0, profile=get_profile("lab"))

    assert set(result) == _train_fold_keys() | {"C"}
    assert (result["tl"], result["backbone"], result["optimizer"]) == ("baseline", "hog-lbp", "logistic-regression")
    assert result["profile"] == "lab" and result["best_epoch"] is None and result["history"] == {}
    assert result["n_train"] == result["n_train_augmented"] == len(fold.train)
    assert (result["n_val"], result["n_test"]) == (len(fold.val), len(fold.test))
    assert result["C"] in bl.C_GRID
    assert result["fold"] == 0 and len(result["y_score"]) == len(fold.test)

    # every image is read once; the test images are those of fold.test, read once, after the others
    paths = np.array(dataset.paths, dtype=object)
    test_paths = list(paths[fold.test])
    assert len(loaded) == len(set(loaded)) == len(fold.train) + len(fold.val) + len(fold.test)
    assert loaded[-len(fold.test) :] == test_paths
    assert result["test_images"] == [str(p.relative_to(dataset.root)) for p in test_paths]
    assert not set(result["test_images"]) & {
        str(p.relative_to(dataset.root)) for p in paths[np.r_[fold.train, fold.val]]
    }
    assert result["y_true"] == dataset.labels[fold.test].tolist()


def test_test_labels_never_used(easy):
    # flipping the labels of the test images changes nothing the model saw: same C, same scores
    dataset, folds = easy
    fold = folds[1]
    test_paths = {dataset.paths[i] for i in fold.test}
    flipped = dataclasses.replace(
        dataset,
        records=[
            dataclasses.replace(r, label={"benign": "malignant", "malignant": "benign"}[r.label])
            if r.path in test_paths
            else r
            for r in dataset.records
        ],
    )
    a = bl.run_baseline_fold(dataset, fold)
    b = bl.run_baseline_fold(flipped, fold)
    assert a["C"] == b["C"] and a["y_score"] == b["y_score"]
    assert a["y_true"] == [1 - v for v in b["y_true"]]


def test_beats_chance_on_textbook_lesions(easy):
    dataset, folds = easy
    aucs = [bl.run_baseline_fold(dataset, fold)["metrics"]["auc"] for fold in folds[:3]]
    assert np.mean(aucs) > 0.75, aucs


def test_bad_folds_and_datasets(easy):
    dataset, folds = easy
    fold = folds[0]
    with pytest.raises(DataError, match="share"):
        bl.run_baseline_fold(dataset, Fold(0, fold.train, fold.val, np.r_[fold.test, fold.train[:1]]))
    with pytest.raises(DataError, match="outside the dataset"):
        bl.run_baseline_fold(dataset, Fold(0, fold.train, fold.val, np.array([len(dataset)])))
    with pytest.raises(DataError, match="non-empty"):
        bl.run_baseline_fold(dataset, Fold(0, fold.train, np.array([], dtype=int), fold.test))
    one_class = fold.train[dataset.labels[fold.train] == 0]
    with pytest.raises(DataError, match="only class 'benign'"):
        bl.run_baseline_fold(dataset, Fold(0, one_class, fold.val, fold.test))
    with pytest.raises(DataError, match="C_grid"):
        bl.run_baseline_fold(dataset, fold, C_grid=(0.1, -1.0))
    three = dataclasses.replace(dataset, class_names=("benign", "malignant", "normal"))
    with pytest.raises(DataError, match="benign', 'malignant'"):
        bl.run_baseline_fold(three, fold)

"""The study's subsamplings and its design, without TensorFlow: sizes, fractions, repeats, the control's labels."""

from __future__ import annotations

import numpy as np
import pytest

from mstl_lib.data.splits import cross_validation_folds
from mstl_lib.data.subsample import largest_size, size_label, subsample_groups, subsample_training
from mstl_lib.errors import DataError
from mstl_lib.training.stage1_variants import Stage1Variant, control_variant, fraction_variant


def _dataset(per_class=30, pair_every=5):
    """Labels and groups of 2 x ``per_class`` images, every ``pair_every``-th image a duplicate of the one before."""
    labels = np.repeat([0, 1], per_class)
    groups = np.arange(2 * per_class).astype(object)
    for i in range(pair_every, 2 * per_class, pair_every):
        if labels[i] == labels[i - 1]:
            groups[i] = groups[i - 1]
    return labels, groups


def test_sizes_are_balanced_nested_and_keep_groups_whole():
    labels, groups = _dataset()
    fold = cross_validation_folds(labels, groups, n_folds=5, seed=3)[0]
    previous = None
    for size in (2, 4, 8, 16):
        part = subsample_training(labels, groups, fold.train, size, seed=11)
        assert set(part) <= set(fold.train)
        counts = np.bincount(labels[part], minlength=2)
        assert counts.max() <= size and counts.min() >= size - 1  # a duplicate pair may not fit at the end
        chosen = set(groups[part].tolist())
        left_out = set(groups[np.setdiff1d(fold.train, part)].tolist())
        assert not chosen & left_out  # no duplicate group cut
        if previous is not None:
            assert set(previous) <= set(part)  # nested
        previous = part
    assert np.array_equal(subsample_training(labels, groups, fold.train, "all", seed=11), fold.train)


def test_singletons_give_exactly_n_per_class_and_seeds_differ():
    labels, groups = _dataset(pair_every=10**6)
    fold = cross_validation_folds(labels, groups, n_folds=5, seed=0)[1]
    a = subsample_training(labels, groups, fold.train, 8, seed=1)
    b = subsample_training(labels, groups, fold.train, 8, seed=2)
    assert np.bincount(labels[a]).tolist() == [8, 8]
    assert not np.array_equal(a, b)


def test_size_larger_than_the_smallest_class_is_refused_with_the_fix():
    labels, groups = _dataset()
    fold = cross_validation_folds(labels, groups, n_folds=5, seed=0)[0]
    largest = largest_size(labels, [fold.train])
    with pytest.raises(
        DataError,
        match=rf"(?s)size {largest + 1}.*benign 18, malignant 18.*up to {largest}",
    ):
        subsample_training(labels, groups, fold.train, largest + 1, class_names=("benign", "malignant"))
    with pytest.raises(DataError, match="neither a whole number"):
        size_label("eight")
    assert size_label("16") == "16" and size_label(None) == "all" and size_label("ALL") == "all"


def test_repeats_differ_in_their_folds():
    from mstl_lib.training.study import repeat_folds

    class Data:
        labels, groups = _dataset()

    repeats = repeat_folds(Data, n_folds=5, repeats=3, seed=0)
    tests = [[tuple(f.test) for f in folds] for folds in repeats]
    for r in range(3):
        assert sorted(np.concatenate([f.test for f in repeats[r]])) == list(range(60))  # each repeat tests all once
        for s in range(r):
            assert set(tests[r]) != set(tests[s])  # another fold assignment


def test_patch_fraction_takes_whole_frames_of_every_class():
    labels = np.repeat([0, 1, 2], 40)
    groups = np.array([f"frame{i // 4}" for i in range(120)], dtype=object)  # 4 patches per frame
    part = subsample_groups(labels, groups, np.arange(120), 0.3, seed=0)
    kept = set(groups[part].tolist())
    assert all((groups == g).sum() == (groups[part] == g).sum() for g in kept)  # whole frames
    assert np.bincount(labels[part]).tolist() == [12, 12, 12]  # 3 of 10 frames per class
    assert np.array_equal(subsample_groups(labels, groups, np.arange(120), 1.0), np.arange(120))


def test_control_shuffles_labels_within_each_part_and_matches_the_real_runs_epochs():
    labels = np.repeat([0, 1, 2], 30)
    groups = np.array([f"f{i // 3}" for i in range(90)], dtype=object)
    parts = {"train": np.arange(0, 90, 2), "val": np.arange(1, 90, 4), "test": np.arange(3, 90, 4)}
    control = control_variant({"best_epoch": 7, "epochs_trained": 12}, seed=0)
    assert control.epochs == 7 and control.shuffle_labels
    shuffled, same_parts = control.apply(labels, groups, parts)
    assert {k: v.tolist() for k, v in same_parts.items()} == {k: v.tolist() for k, v in parts.items()}
    for part in parts.values():
        assert sorted(shuffled[part]) == sorted(labels[part])  # same class counts per part
    changed = (shuffled != labels).mean()
    assert changed > 0.4  # 3 classes: about two thirds change
    assert np.array_equal(control.apply(labels, groups, parts)[0], shuffled)  # seeded
    with pytest.raises(DataError, match="best epoch"):
        control_variant({})


def test_fraction_variant_changes_only_the_training_part():
    labels = np.repeat([0, 1], 40)
    groups = np.array([f"f{i // 4}" for i in range(80)], dtype=object)
    parts = {"train": np.arange(0, 56), "val": np.arange(56, 72), "test": np.arange(72, 80)}
    variant = fraction_variant(0.5)
    assert isinstance(variant, Stage1Variant) and variant.name == "fraction0.50"
    same_labels, smaller = variant.apply(labels, groups, parts)
    assert np.array_equal(same_labels, labels)
    assert set(smaller["train"]) < set(parts["train"]) and np.array_equal(smaller["val"], parts["val"])
    with pytest.raises(DataError, match="1.0 is the real stage 1"):
        fraction_variant(1.0)

"""Grouped, stratified splits: no group on two sides, classes balanced."""

from __future__ import annotations

import numpy as np
import pytest

from mstl_lib.data.splits import check_no_leak, cross_validation_folds, grouped_split
from mstl_lib.errors import DataError


def _grouped_data(n_per_class=60, classes=3, group_size=5, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(classes), n_per_class)
    sizes = rng.integers(1, group_size + 1, size=len(labels))
    groups, g, left = [], 0, 0
    for i, label in enumerate(labels):
        if left == 0 or labels[i - 1] != label:
            g, left = g + 1, sizes[i]
        groups.append(f"g{g}")
        left -= 1
    return labels, np.array(groups)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grouped_split_keeps_groups_and_fractions(seed):
    labels, groups = _grouped_data(seed=seed)
    parts = grouped_split(labels, groups, (0.7, 0.2, 0.1), seed=seed)
    check_no_leak(groups, *parts)
    assert sum(len(p) for p in parts) == len(labels)
    for c in range(3):
        n = (labels == c).sum()
        for part, share in zip(parts, (0.7, 0.2, 0.1)):
            assert abs((labels[part] == c).sum() - share * n) <= 5  # within one group of the target


def test_grouped_split_is_reproducible_and_seed_dependent():
    labels, groups = _grouped_data()
    a = grouped_split(labels, groups, seed=4)
    b = grouped_split(labels, groups, seed=4)
    c = grouped_split(labels, groups, seed=5)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_every_part_gets_each_class_even_when_small():
    labels = np.array([0, 0, 0, 1, 1, 1])
    parts = grouped_split(labels, None, (0.7, 0.2, 0.1))
    assert all(set(labels[p]) == {0, 1} for p in parts)


def test_nested_folds_paper_proportions_and_single_test_use():
    labels = np.repeat([0, 1], 100)
    folds = cross_validation_folds(labels, None, n_folds=5, seed=0)
    tested = np.concatenate([f.test for f in folds])
    assert sorted(tested.tolist()) == list(range(200))  # every image tested exactly once
    for fold in folds:
        check_no_leak(np.arange(200), fold.train, fold.val, fold.test)
        assert (len(fold.train), len(fold.val), len(fold.test)) == (120, 40, 40)  # 6:2:2
        assert np.bincount(labels[fold.test]).tolist() == [20, 20]


def test_nested_folds_respect_groups():
    labels, groups = _grouped_data(n_per_class=50, classes=2)
    for fold in cross_validation_folds(labels, groups, n_folds=5, seed=3):
        check_no_leak(groups, fold.train, fold.val, fold.test)
        assert set(labels[fold.test]) == {0, 1}


def test_too_few_groups_for_the_folds():
    labels = np.array([0] * 10 + [1] * 3)
    with pytest.raises(DataError, match=r"(?s)class 1 has 3 .*5-fold.*Fix: use fewer folds"):
        cross_validation_folds(labels, None, n_folds=5)
    groups = np.array(["a"] * 5 + ["b"] * 5 + ["c", "d", "e"])
    with pytest.raises(DataError, match=r"class 0 has 2 independent"):
        cross_validation_folds(labels, groups, n_folds=3)


def test_bad_split_arguments():
    labels = np.repeat([0, 1], 10)
    with pytest.raises(DataError, match="summing to 1"):
        grouped_split(labels, None, (0.5, 0.2))
    with pytest.raises(DataError, match="at least two classes"):
        grouped_split(np.zeros(10), None)
    with pytest.raises(DataError, match="at least 3 folds"):
        cross_validation_folds(labels, None, n_folds=2)
    with pytest.raises(DataError, match="differ in length"):
        cross_validation_folds(labels, np.arange(5), n_folds=3)


def test_check_no_leak_detects_a_split_group():
    groups = np.array(["a", "a", "b", "c"])
    with pytest.raises(DataError, match="group 'a'"):
        check_no_leak(groups, np.array([0, 2]), np.array([1, 3]))


def test_fold_table_counts_each_part():
    from mstl_lib.teaching.lesson_tables import fold_table

    labels = np.repeat([0, 1], 50)
    folds = cross_validation_folds(labels, None, n_folds=5)
    table = fold_table(labels, folds)
    assert table.shape == (5, 6)
    assert table[("images", "train")].tolist() == [len(f.train) for f in folds]
    assert (table[("images", "test")] == 20).all() and (table[("positive share", "test")] == 0.5).all()

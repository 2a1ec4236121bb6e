"""Splits that never cut a group and keep the classes balanced.

Two schemes from the paper:

- :func:`grouped_split`: one train/validation/test split with given fractions;
  the cell-line patches use 7:2:1 (Ayana et al. 2022, section 2.1), grouped by
  source frame so that patches of one frame never sit on both sides.
- :func:`cross_validation_folds`: k-fold cross-validation (k = 5 in the paper) where
  each outer fold is the test set, touched once, and the rest is split again
  into training and validation, giving the paper's 6:2:2 proportions
  (section 2.1). Folds are stratified by class and grouped by duplicate group
  (:func:`sklearn.model_selection.StratifiedGroupKFold`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from mstl_lib.errors import DataError
from mstl_lib.validation import check_integer, check_seed


@dataclass(frozen=True)
class Fold:
    """Indices of one cross-validation fold.

    Attributes
    ----------
    index : int
        Fold number, from 0.
    train, val, test : numpy.ndarray
        Sorted integer indices into the dataset; disjoint, and no group spans two.
    """

    index: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def _check_inputs(labels, groups) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels)
    groups = np.asarray(groups, dtype=object) if groups is not None else np.arange(len(labels)).astype(object)
    if labels.ndim != 1 or len(labels) == 0:
        raise DataError(f"labels must be a non-empty 1-D sequence, got shape {labels.shape}.")
    if len(groups) != len(labels):
        raise DataError(f"labels ({len(labels)}) and groups ({len(groups)}) differ in length.")
    if len(np.unique(labels)) < 2:
        raise DataError(f"all {len(labels)} images carry the label {labels[0]!r}; a split needs at least two classes.")
    return labels, groups


def group_labels(labels, groups) -> dict:
    """The label each group is stratified by: its most common label (ties: smallest)."""
    votes: dict = defaultdict(Counter)
    for label, group in zip(np.asarray(labels).tolist(), groups):
        votes[group][label] += 1
    return {g: sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] for g, c in votes.items()}


def _require_groups_per_class(labels, groups, needed: int, what: str) -> None:
    per_class = Counter(group_labels(labels, groups).values())
    for label, count in sorted(per_class.items(), key=lambda kv: str(kv[0])):
        if count < needed:
            raise DataError(
                f"class {label!r} has {count} independent image group(s), but {what} needs at least {needed} "
                "(duplicates and patches of one frame count as one group). "
                "Fix: use fewer folds, or add images of that class."
            )


def grouped_split(
    labels: Sequence,
    groups: Sequence | None = None,
    fractions: Sequence[float] = (0.7, 0.2, 0.1),
    seed: int = 0,
) -> list[np.ndarray]:
    """Split into parts of given fractions, stratified by class, never cutting a group.

    Groups of each class are shuffled with ``seed`` and dealt, one at a time,
    to the part that is furthest below its target number of images of that
    class. Each part's share of each class is thus within one group of its
    target.

    Parameters
    ----------
    labels : sequence
        Class of each item.
    groups : sequence, optional
        Group of each item (default: every item its own group).
    fractions : sequence of float
        Share of each part, e.g. (0.7, 0.2, 0.1) for the paper's 7:2:1; must sum to 1.
    seed : int
        Seed of the shuffle.

    Returns
    -------
    list of numpy.ndarray
        Sorted indices of each part, in the order of ``fractions``.

    Raises
    ------
    DataError
        If fractions are invalid or a class has fewer groups than parts.
    """
    labels, groups = _check_inputs(labels, groups)
    seed = check_seed(seed)
    fractions = np.asarray(fractions, dtype=float)
    if fractions.ndim != 1 or len(fractions) < 2 or np.any(fractions <= 0) or not np.isclose(fractions.sum(), 1.0):
        raise DataError(f"fractions must be two or more positive numbers summing to 1, got {fractions.tolist()}.")
    _require_groups_per_class(labels, groups, len(fractions), f"a {len(fractions)}-part split")
    stratum = group_labels(labels, groups)
    members: dict = defaultdict(list)
    for i, group in enumerate(groups):
        members[group].append(i)
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[] for _ in fractions]
    for label in sorted(set(stratum.values()), key=str):
        class_groups = sorted((g for g, lab in stratum.items() if lab == label), key=str)
        order = rng.permutation(len(class_groups))
        total = sum(len(members[g]) for g in class_groups)
        filled = np.zeros(len(fractions))
        for k, idx in enumerate(order):
            group = class_groups[idx]
            remaining_groups = len(order) - k
            empty = [p for p in range(len(fractions)) if filled[p] == 0]
            if len(empty) >= remaining_groups:
                part = empty[0]
            else:
                part = int(np.argmax(fractions * total - filled))
            parts[part].extend(members[group])
            filled[part] += len(members[group])
    return [np.array(sorted(p), dtype=np.int64) for p in parts]


def cross_validation_folds(
    labels: Sequence,
    groups: Sequence | None = None,
    n_folds: int = 5,
    seed: int = 0,
) -> list[Fold]:
    """k-fold cross-validation folds with a validation part (paper section 2.1: 6:2:2, five folds).

    Each outer fold of a :class:`~sklearn.model_selection.StratifiedGroupKFold`
    is a test set; the remaining data are split by a second
    ``StratifiedGroupKFold`` with ``n_folds - 1`` splits, whose first fold
    becomes the validation set. With five folds this gives 60% training, 20%
    validation and 20% test data, every image tested exactly once.

    Raises
    ------
    DataError
        If ``n_folds < 3`` or a class has fewer groups than ``n_folds``.
    """
    labels, groups = _check_inputs(labels, groups)
    seed = check_seed(seed)
    if check_integer(n_folds, "n_folds") < 3:
        raise DataError(f"nested cross-validation needs at least 3 folds (train/val/test), got {n_folds}.")
    _require_groups_per_class(labels, groups, n_folds, f"{n_folds}-fold cross-validation")
    group_ids = np.unique(groups.astype(str), return_inverse=True)[1]
    outer = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    folds = []
    for k, (rest, test) in enumerate(outer.split(np.zeros(len(labels)), labels, group_ids)):
        inner = StratifiedGroupKFold(n_splits=n_folds - 1, shuffle=True, random_state=seed + 1 + k)
        train_in, val_in = next(inner.split(np.zeros(len(rest)), labels[rest], group_ids[rest]))
        folds.append(Fold(k, np.sort(rest[train_in]), np.sort(rest[val_in]), np.sort(test)))
    return folds


def check_no_leak(groups: Sequence, *parts: np.ndarray) -> None:
    """Raise :class:`DataError` if parts overlap or one group appears in two parts."""
    groups = np.asarray(groups, dtype=object)
    seen: dict = {}
    for p, part in enumerate(parts):
        for i in part:
            if i in seen and seen[i] != p:
                raise DataError(f"item {i} appears in parts {seen[i]} and {p}.")
            seen[i] = p
    owner: dict = {}
    for p, part in enumerate(parts):
        for group in set(groups[part].tolist()):
            if group in owner and owner[group] != p:
                raise DataError(f"group {group!r} appears in parts {owner[group]} and {p}: its images would leak.")
            owner[group] = p

"""Smaller training sets for the study of when the intermediate stage helps.

Two subsamplings, both without TensorFlow:

- :func:`subsample_training`: the training part of a cross-validation fold cut
  to ``n`` images per class (the target-set size of the study). The subsets
  are balanced, nested (the 8-image subset lies inside the 16-image one) and
  never split a duplicate group; the fold's validation and test parts are not
  touched, so every size and every arm is tested on the same images and their
  differences are paired.
- :func:`subsample_groups`: a fraction of the cell-line patches, taken by
  whole source frames within one part of the 7:2:1 split (Ayana et al. 2022,
  section 2.1), for the paper's open question on the quantity of cell-line
  images (section 4).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from mstl_lib.data.splits import group_labels
from mstl_lib.errors import DataError
from mstl_lib.validation import check_integer, check_seed

ALL = "all"
"""The size label of the whole training part."""


def size_label(size) -> str:
    """``"8"``, ``"16"``, ... or ``"all"`` (for None or ``"all"``): how a size is named in folders and tables."""
    if size is None or (isinstance(size, str) and size.strip().lower() == ALL):
        return ALL
    if isinstance(size, str) and size.strip().isdigit():
        size = int(size.strip())
    if isinstance(size, str):
        raise DataError(f"size {size!r} is neither a whole number of images per class nor 'all'. Fix: e.g. 8 or all.")
    return str(check_integer(size, "size", minimum=1))


def parse_size(size) -> int | None:
    """A size as images per class, or None for the whole training part."""
    label = size_label(size)
    return None if label == ALL else int(label)


def _class_orders(labels: np.ndarray, groups: np.ndarray, indices: np.ndarray, seed: int) -> dict:
    """For each class, the groups among ``indices`` in one seeded random order, each with its members."""
    stratum = group_labels(labels[indices], groups[indices])
    members: dict = defaultdict(list)
    for i in indices.tolist():
        members[groups[i]].append(i)
    rng = np.random.default_rng(seed)
    orders = {}
    for label in sorted(set(stratum.values()), key=str):
        class_groups = sorted((g for g, lab in stratum.items() if lab == label), key=str)
        orders[label] = [members[class_groups[k]] for k in rng.permutation(len(class_groups))]
    return orders


def training_class_counts(labels, train: Sequence[int]) -> dict:
    """Images of each class in a training part."""
    values, counts = np.unique(np.asarray(labels)[np.asarray(train, dtype=np.int64)], return_counts=True)
    return {v.item(): int(c) for v, c in zip(values, counts)}


def subsample_training(labels, groups, train, size, *, seed: int = 0, class_names=None) -> np.ndarray:
    """The training part of a fold cut to ``size`` images per class.

    Each class's duplicate groups are put in one random order (``seed``) and
    the subset is the longest run of whole groups from the front of that
    order holding at most ``size`` images of the class. Every size thus takes
    a front run of the same order, so smaller subsets lie inside larger ones
    (nested), no group is cut, and with single images (or small groups) every
    class gets ``size`` images (balanced).

    Parameters
    ----------
    labels, groups : sequence
        Label and duplicate group of every image of the dataset.
    train : sequence of int
        The fold's training indices.
    size : int, "all" or None
        Images per class; "all" or None: the whole training part.
    seed : int
        Seed of the order; one per (repeat, fold) of the study.
    class_names : sequence of str, optional
        Names of the labels, for the error message.

    Returns
    -------
    numpy.ndarray
        Sorted indices, a subset of ``train``.

    Raises
    ------
    DataError
        If ``size`` exceeds the images of the smallest class in ``train``.
    """
    labels, groups = np.asarray(labels), np.asarray(groups, dtype=object)
    train = np.sort(np.asarray(train, dtype=np.int64))
    n = parse_size(size)
    if n is None:
        return train
    counts = training_class_counts(labels, train)
    smallest = min(counts, key=counts.get)
    if n > counts[smallest]:
        name = class_names[smallest] if class_names is not None else smallest
        raise DataError(
            f"size {n} images per class is larger than the training part of this fold, whose smallest class "
            f"{name!r} has {counts[smallest]} images ({len(counts)} classes: "
            + ", ".join(f"{class_names[k] if class_names is not None else k} {v}" for k, v in counts.items())
            + f"). Fix: use sizes up to {counts[smallest]} (or 'all'), or add images of class {name!r}."
        )
    chosen: list[int] = []
    for label, ordered_groups in _class_orders(labels, groups, train, check_seed(seed)).items():
        taken = 0
        for members in ordered_groups:
            of_class = sum(1 for i in members if labels[i] == label)
            if taken + of_class > n:
                break
            chosen += members
            taken += of_class
    return np.array(sorted(chosen), dtype=np.int64)


def largest_size(labels, train_parts: Sequence[Sequence[int]]) -> int:
    """The largest size every training part can give: its smallest class's images, at the smallest part."""
    return min(min(training_class_counts(labels, part).values()) for part in train_parts)


def subsample_groups(labels, groups, indices, fraction: float, *, seed: int = 0) -> np.ndarray:
    """A ``fraction`` of the groups of each class among ``indices``, whole groups, at least one per class.

    Used on each part of the patch split, so that patches of one source frame
    stay together and the split stays honest.

    Returns
    -------
    numpy.ndarray
        Sorted indices, a subset of ``indices``; all of them for ``fraction`` 1.
    """
    fraction = float(fraction)
    if not 0.0 < fraction <= 1.0:
        raise DataError(f"fraction must be in (0, 1], got {fraction}. Fix: e.g. 0.1, 0.33 or 1.0.")
    labels, groups = np.asarray(labels), np.asarray(groups, dtype=object)
    indices = np.sort(np.asarray(indices, dtype=np.int64))
    if fraction == 1.0:
        return indices
    chosen: list[int] = []
    for ordered_groups in _class_orders(labels, groups, indices, check_seed(seed)).values():
        keep = max(1, int(round(fraction * len(ordered_groups))))
        for members in ordered_groups[:keep]:
            chosen += members
    return np.array(sorted(chosen), dtype=np.int64)

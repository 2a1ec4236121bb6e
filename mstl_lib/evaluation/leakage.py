"""How leaks inflate accuracy: a fast demonstration on any image set.

Two mistakes that are easy to make with a few hundred images, measured with a
1-nearest-neighbour classifier on raw pixels (it memorises, as large networks
do, and runs in a second):

- **augmenting before splitting**: the paper triples its training images by
  flips and rotations (section 2.2). Done before the split, a test image's
  rotated twin sits in the training set;
- **ignoring duplicates**: public sets repeat images (about 19% of BUSI,
  Pawlowska et al. 2023). Split freely, a duplicate lands on both sides.

:func:`leakage_experiment` runs the honest protocol and each mistake on the
same images and folds, so the difference is the leak alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mstl_lib.errors import DataError
from mstl_lib.validation import check_image, check_integer, check_number, check_seed

SCENARIOS = {
    "honest": "augment inside each fold, duplicates kept together",
    "augment_before_split": "augment first, then split the copies",
    "duplicates_split": "duplicates split freely across folds",
    "duplicates_grouped": "the same duplicated set, duplicates kept together",
}


def _features(images: np.ndarray, side: int = 32) -> np.ndarray:
    import cv2

    gray = images.mean(axis=3).astype(np.float32)
    small = np.stack([cv2.resize(g, (side, side), interpolation=cv2.INTER_AREA) for g in gray])
    flat = small.reshape(len(small), -1)
    return (flat - flat.mean(axis=1, keepdims=True)) / (flat.std(axis=1, keepdims=True) + 1e-6)


def _augment(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A vertical flip or a small rotation of each image (the paper's stage-2 augmentation)."""
    import cv2

    out = np.empty_like(images)
    for i, image in enumerate(images):
        if rng.random() < 0.5:
            out[i] = image[::-1]
        else:
            size = image.shape[0]
            matrix = cv2.getRotationMatrix2D((size / 2, size / 2), rng.uniform(-20, 20), 1.0)
            out[i] = cv2.warpAffine(image, matrix, (size, size), borderMode=cv2.BORDER_REFLECT)
    return out


def _near_copies(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Copies as public sets hold them: the same image re-saved with other brightness and some noise."""
    noisy = images.astype(np.float32) * rng.uniform(0.9, 1.1) + rng.normal(0, 3, images.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def leakage_experiment(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    n_folds: int = 5,
    copies: int = 3,
    duplicate_fraction: float = 0.2,
    repeats: int = 5,
    seed: int = 0,
) -> pd.DataFrame:
    """Accuracy of the honest protocol and of two leaky ones, on the same images.

    Parameters
    ----------
    images : numpy.ndarray
        ``uint8`` (N, H, W, 3) images, e.g. from :meth:`ImageDataset.load_arrays`.
    labels : numpy.ndarray
        Integer labels.
    n_folds : int
        Cross-validation folds.
    copies : int
        Images per original after augmentation (paper: 3).
    duplicate_fraction : float
        Share of images given a near duplicate for the duplicate scenario
        (BUSI: about 0.19).
    repeats : int
        Cross-validation is repeated with this many fold seeds; the numbers
        are over all folds of all repeats (small sets are noisy).
    seed : int
        Seed of folds, augmentation and duplicates.

    Returns
    -------
    pandas.DataFrame
        One row per scenario: ``scenario``, ``description``, ``accuracy``
        (mean over folds), ``std``, ``folds`` and ``test_train_ratio``
        (test over training images per fold, ``1 / (n_folds - 1)``: the folds
        overlap, so compare scenarios with
        :func:`mstl_lib.evaluation.diagnostics.difference_verdict` given this
        ratio, which widens the standard error as the corrected resampled
        t-test does).

    Raises
    ------
    DataError
        Images that are not ``uint8`` (N, H, W, 3) with N labels, or bad
        ``n_folds`` (>= 2), ``copies`` (>= 2), ``duplicate_fraction`` (in
        (0, 1]), ``repeats`` (>= 1) or ``seed``.
    """
    images = check_image(
        images, "images", batch=True, channels=(3,), dtypes=(np.uint8,), fix="pass uint8 (N, H, W, 3) RGB images."
    )
    labels = np.asarray(labels)
    if labels.shape != (len(images),):
        raise DataError(f"labels has shape {labels.shape}; expected one label per image ({len(images)},).")
    n_folds = check_integer(n_folds, "n_folds", minimum=2)
    copies = check_integer(copies, "copies", minimum=2)
    duplicate_fraction = check_number(
        duplicate_fraction, "duplicate_fraction", minimum=0.0, maximum=1.0, include_minimum=False
    )
    repeats = check_integer(repeats, "repeats", minimum=1)
    seed = check_seed(seed)
    frames = [
        _one_experiment(
            images, labels, n_folds=n_folds, copies=copies, duplicate_fraction=duplicate_fraction, seed=seed + r
        )
        for r in range(repeats)
    ]
    merged = {}
    for frame in frames:
        for name, accs in frame:
            merged.setdefault(name, []).extend(accs)
    return pd.DataFrame(
        [
            {
                "scenario": name,
                "description": SCENARIOS[name],
                "accuracy": float(np.mean(a)),
                "std": float(np.std(a, ddof=1)),
                "folds": len(a),
                "test_train_ratio": 1 / (n_folds - 1),
            }
            for name, a in merged.items()
        ]
    )


def _one_experiment(images, labels, *, n_folds, copies, duplicate_fraction, seed) -> list:
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(seed)

    def score(train_x, train_y, test_x, test_y) -> float:
        model = KNeighborsClassifier(n_neighbors=1).fit(_features(train_x), train_y)
        return float((model.predict(_features(test_x)) == test_y).mean())

    rows = []
    # honest: split originals; augment training part only
    accs = []
    for train, test in StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(images, labels):
        extra = [_augment(images[train], rng) for _ in range(copies - 1)]
        accs.append(
            score(np.concatenate([images[train], *extra]), np.tile(labels[train], copies), images[test], labels[test])
        )
    rows.append(("honest", accs))
    # augment before splitting: the copies are split as if independent
    pool = np.concatenate([images] + [_augment(images, rng) for _ in range(copies - 1)])
    pool_y = np.tile(labels, copies)
    accs = [
        score(pool[tr], pool_y[tr], pool[te], pool_y[te])
        for tr, te in StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(pool, pool_y)
    ]
    rows.append(("augment_before_split", accs))
    # duplicates: add near copies of some images; split ignoring (leaky) or respecting (honest) the groups
    chosen = rng.choice(len(images), size=max(1, int(duplicate_fraction * len(images))), replace=False)
    dup_x = np.concatenate([images, _near_copies(images[chosen], rng)])
    dup_y = np.concatenate([labels, labels[chosen]])
    groups = np.concatenate([np.arange(len(images)), chosen])
    leaky = [
        score(dup_x[tr], dup_y[tr], dup_x[te], dup_y[te])
        for tr, te in StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(dup_x, dup_y)
    ]
    grouped = [
        score(dup_x[tr], dup_y[tr], dup_x[te], dup_y[te])
        for tr, te in StratifiedGroupKFold(n_folds, shuffle=True, random_state=seed).split(dup_x, dup_y, groups)
    ]
    rows.append(("duplicates_split", leaky))
    rows.append(("duplicates_grouped", grouped))
    return rows

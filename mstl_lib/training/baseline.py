"""A classical baseline: HOG + LBP features with logistic regression.

The paper (Ayana et al. 2022) compares deep transfer-learning pipelines
only. A classical, hand-crafted baseline answers a question the paper leaves
open: how much of the benign-versus-malignant signal at 75 x 75 pixels can a
linear model on fixed features already find? Breast-ultrasound CAD systems
built before deep learning used exactly such features (Cheng et al.,
"Automated breast cancer detection and classification using ultrasound
images: A survey", Pattern Recognition 43, 2010): gradient orientation
histograms for the margin and shape, local binary patterns for the echo
texture.

Recipe
------
* Input: every image read and resized exactly as the networks see it
  (:func:`mstl_lib.data.images.load_image`, 75 x 75, area interpolation), then
  converted to grayscale (ITU-R BT.601 weights, :func:`cv2.cvtColor`).
* Histogram of oriented gradients (Dalal & Triggs, CVPR 2005;
  :func:`skimage.feature.hog`): :data:`HOG_ORIENTATIONS` unsigned
  orientations, cells of :data:`HOG_PIXELS_PER_CELL` pixels, blocks of
  :data:`HOG_CELLS_PER_BLOCK` cells, L2-Hys block normalisation. At 75 x 75
  this is a 9 x 9 grid of cells, 8 x 8 blocks, 2,304 values, each tied to a
  fixed place in the image.
* Local binary patterns (Ojala, Pietikainen & Maenpaa, IEEE TPAMI 24, 2002;
  :func:`skimage.feature.local_binary_pattern`, ``method="uniform"``) at the
  radii and neighbour counts of :data:`LBP_SETTINGS`, each summarised by a
  normalised histogram of its ``P + 2`` codes (uniform patterns plus one bin
  for all non-uniform ones): 10 + 18 = 28 values that ignore position.
* Classifier: :class:`sklearn.preprocessing.StandardScaler` then
  :class:`sklearn.linear_model.LogisticRegression` (L2, class weights
  balanced) in one :class:`sklearn.pipeline.Pipeline`.

Evaluation uses the grid's cross-validation folds, each with a validation part (the paper's
6:2:2, section 2.1; :func:`mstl_lib.data.splits.cross_validation_folds`): the inverse regularisation ``C`` is
chosen from :data:`C_GRID` by the AUC on the fold's validation part (the
model fitted on the training part only), the pipeline is refitted on
training + validation with that ``C``, and the test part is predicted exactly
once. Features are computed per image, so nothing but the fitted pipeline
carries statistics from one image to another.
"""

from __future__ import annotations

import numpy as np

from mstl_lib.data.images import load_image
from mstl_lib.errors import DataError
from mstl_lib.profiles import BASELINE_CONFIG, INPUT_SIZE, check_profile
from mstl_lib.validation import check_image

HOG_ORIENTATIONS = 9
"""Orientation bins of the HOG histograms (unsigned gradients, 0-180 degrees)."""

HOG_PIXELS_PER_CELL = (8, 8)
"""HOG cell size in pixels."""

HOG_CELLS_PER_BLOCK = (2, 2)
"""HOG block size in cells (blocks overlap by one cell)."""

LBP_SETTINGS = ((8, 1.0), (16, 2.0))
"""``(P, R)`` pairs of the uniform LBP: neighbours and radius in pixels."""

C_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
"""Candidate inverse regularisation strengths of the logistic regression."""

MIN_SIDE = 16
"""Smallest image side that holds at least one HOG block."""


def _check_images(images) -> np.ndarray:
    """Grayscale float images (N, H, W) from uint8 (N, H, W) or (N, H, W, 3)."""
    import cv2

    array = check_image(
        images,
        "images",
        batch=True,
        dtypes=(np.uint8,),
        fix="stack at least one uint8 image (as read by mstl_lib.data.images.load_image) into one array; "
        "wrap a single image as images[None], convert others with np.clip(x, 0, 255).astype(np.uint8).",
    )
    if array.ndim == 4:
        array = np.stack([cv2.cvtColor(im, cv2.COLOR_RGB2GRAY) for im in array])
    if min(array.shape[1:]) < MIN_SIDE:
        raise DataError(
            f"images must be at least {MIN_SIDE} x {MIN_SIDE} pixels, got {array.shape[1]} x {array.shape[2]}. "
            "Fix: resize them to the network input, e.g. with mstl_lib.data.images.to_network_input."
        )
    return array


def hog_lbp_features(images) -> np.ndarray:
    """HOG + uniform-LBP feature vectors, one row per image.

    Parameters
    ----------
    images : array-like
        ``uint8`` images, shape ``(N, H, W)`` (grayscale) or ``(N, H, W, 3)``
        (RGB, converted to grayscale). All images share one size; the
        baseline uses the network input, 75 x 75.

    Returns
    -------
    numpy.ndarray
        ``float64`` array ``(N, F)``: the HOG descriptor (Dalal & Triggs
        2005; :data:`HOG_ORIENTATIONS` orientations, cells of
        :data:`HOG_PIXELS_PER_CELL` pixels, blocks of
        :data:`HOG_CELLS_PER_BLOCK` cells, L2-Hys) followed by one normalised
        histogram of ``P + 2`` uniform LBP codes per ``(P, R)`` in
        :data:`LBP_SETTINGS` (Ojala et al. 2002). ``F`` is 2,332 at 75 x 75.
        Each row depends on its own image only.

    Raises
    ------
    DataError
        For a non-uint8 array, a wrong number of dimensions, no images, or
        images smaller than :data:`MIN_SIDE` pixels.
    """
    from skimage.feature import hog, local_binary_pattern

    gray = _check_images(images)
    rows = []
    for image in gray:
        parts = [
            hog(
                image,
                orientations=HOG_ORIENTATIONS,
                pixels_per_cell=HOG_PIXELS_PER_CELL,
                cells_per_block=HOG_CELLS_PER_BLOCK,
                block_norm="L2-Hys",
                feature_vector=True,
            )
        ]
        for points, radius in LBP_SETTINGS:
            codes = local_binary_pattern(image, points, radius, method="uniform")
            hist, _ = np.histogram(codes, bins=points + 2, range=(0, points + 2))
            parts.append(hist / hist.sum())
        rows.append(np.concatenate(parts))
    return np.asarray(rows, dtype=np.float64)


def _pipeline(C: float, seed: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("logreg", LogisticRegression(C=C, class_weight="balanced", max_iter=5000, random_state=seed)),
        ]
    )


def _check_fold(dataset, fold) -> None:
    n = len(dataset)
    parts = {}
    for name in ("train", "val", "test"):
        part = np.asarray(getattr(fold, name, None) if fold is not None else None)
        if part.ndim != 1 or part.size == 0 or not np.issubdtype(part.dtype, np.integer):
            raise DataError(
                f"fold.{name} must be a non-empty 1-D array of integer indices, got {part!r}. "
                "Fix: build the folds with mstl_lib.data.splits.cross_validation_folds."
            )
        if part.min() < 0 or part.max() >= n:
            raise DataError(
                f"fold.{name} indexes outside the dataset of {n} images (min {part.min()}, max {part.max()}). "
                "Fix: build the folds from this dataset's labels."
            )
        parts[name] = set(part.tolist())
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        if parts[a] & parts[b]:
            raise DataError(
                f"fold {getattr(fold, 'index', '?')}: the {a} and {b} parts share "
                f"{len(parts[a] & parts[b])} images. "
                "Fix: build the folds with mstl_lib.data.splits.cross_validation_folds."
            )
    for name in ("train", "val"):
        labels = dataset.labels[np.asarray(getattr(fold, name))]
        if len(np.unique(labels)) < 2:
            raise DataError(
                f"fold.{name} holds only class {dataset.class_names[int(labels[0])]!r}; the baseline needs both. "
                "Fix: use stratified folds (mstl_lib.data.splits.cross_validation_folds)."
            )


def run_baseline_fold(
    dataset, fold, *, seed: int = 0, image_size: int = INPUT_SIZE, profile=None, C_grid=C_GRID, features=None
) -> dict:
    """Fit and test the HOG + LBP logistic-regression baseline on one fold.

    Parameters
    ----------
    dataset : ImageDataset
        Benign/malignant ultrasound images (label 1 = malignant), e.g. from
        ``load_dataset(root, "busi")``.
    fold : mstl_lib.data.splits.Fold
        Training, validation and test indices into ``dataset``.
    seed : int, optional
        Seed of the logistic regression's solver (recorded in the result).
    image_size : int, optional
        Side of the square input, 75 as in the paper (section 2.1).
    profile : Profile, optional
        Only recorded in the result (its name), for tables that mix the
        baseline with the grid; None by default.
    C_grid : sequence of float, optional
        Candidate values of ``C``; default :data:`C_GRID`.
    features : numpy.ndarray, optional
        :func:`hog_lbp_features` of every image of ``dataset`` at ``image_size``,
        computed once for many folds (the study); default: computed here for
        the fold's images.

    Returns
    -------
    dict
        The keys of :func:`mstl_lib.training.stages.train_fold`'s result, with
        ``tl="baseline"``, ``backbone="hog-lbp"``,
        ``optimizer="logistic-regression"``, ``weights=None``,
        ``n_train_augmented = n_train`` (no augmentation),
        ``best_epoch=None``, ``epochs_trained=None`` and ``history={}``, plus ``"C"``, the value
        chosen on the validation part.

    Raises
    ------
    DataError
        For classes other than (benign, malignant), a fold that does not fit
        the dataset, overlaps itself or lacks a class in training or
        validation, or a bad ``C_grid``.
    """
    from sklearn.metrics import roc_auc_score

    from mstl_lib.evaluation.metrics import binary_metrics, roc_curve

    if tuple(dataset.class_names) != ("benign", "malignant"):
        raise DataError(
            f"{dataset.root}: the baseline needs the classes ('benign', 'malignant'), got {dataset.class_names}. "
            "Fix: load the set with load_dataset(root, 'busi') (normal images left out)."
        )
    _check_fold(dataset, fold)
    grid = [float(c) for c in np.atleast_1d(np.asarray(C_grid, dtype=float))]
    if not grid or not all(np.isfinite(c) and c > 0 for c in grid):
        raise DataError(f"C_grid must hold positive finite numbers, got {C_grid!r}. Fix: e.g. C_grid=(0.01, 0.1, 1).")
    profile_name = None if profile is None else check_profile(profile).name

    paths, labels = np.array(dataset.paths, dtype=object), dataset.labels
    train, val, test = (np.asarray(getattr(fold, name)) for name in ("train", "val", "test"))

    def features_of(indices):
        if features is not None:
            return features[indices]
        return hog_lbp_features(np.stack([load_image(p, image_size) for p in paths[indices]]))

    x_train, x_val = features_of(train), features_of(val)
    val_auc = {}
    for c in grid:  # choose C on the validation part only
        model = _pipeline(c, seed).fit(x_train, labels[train])
        val_auc[c] = float(roc_auc_score(labels[val], model.predict_proba(x_val)[:, 1]))
    best_c = max(grid, key=lambda c: (val_auc[c], -c))  # ties: the stronger regularisation
    final = _pipeline(best_c, seed).fit(np.vstack([x_train, x_val]), np.concatenate([labels[train], labels[val]]))
    y_true = labels[test]
    y_score = final.predict_proba(features_of(test))[:, 1].astype(float)  # the one look at the test part
    fpr, tpr, _ = roc_curve(y_true, y_score)
    return {
        "tl": "baseline",
        "backbone": BASELINE_CONFIG[0],
        "optimizer": BASELINE_CONFIG[1],
        "fold": int(fold.index),
        "profile": profile_name,
        "seed": seed,
        "weights": None,
        "n_train": int(len(train)),
        "n_train_augmented": int(len(train)),
        "n_val": int(len(val)),
        "n_test": int(len(test)),
        "best_epoch": None,
        "epochs_trained": None,
        "metrics": binary_metrics(y_true, y_score),
        "roc": {"fpr": np.asarray(fpr).tolist(), "tpr": np.asarray(tpr).tolist()},
        "y_true": y_true.tolist(),
        "y_score": y_score.tolist(),
        "test_images": [str(p.relative_to(dataset.root)) for p in paths[test]],
        "history": {},
        "C": best_c,
    }

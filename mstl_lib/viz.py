"""Figures of the book and of the paper, drawn with matplotlib.

Each function draws one kind of figure of Ayana et al. (2022) or of the book
and returns the :class:`matplotlib.figure.Figure`:

========================================  ==========================================
:func:`plot_segmentation_steps`           Fig. 2, segmenting a cell-line frame
:func:`plot_image_grid`                   contact sheet of images or patches
:func:`plot_learning_curves`              loss and accuracy per epoch
:func:`plot_confusion_matrix`             counts or rates of a confusion matrix
:func:`plot_roc_curves`                   Fig. 4, ROC curves of the grid
:func:`plot_optimizer_backbone_effects`   Fig. 5, accuracy by optimizer and CNN
:func:`plot_feature_maps`                 Fig. 6, MSTL vs CTL feature maps
:func:`plot_gradcam`                      Grad-CAM heat map over an image
========================================  ==========================================

The figures are built with matplotlib's object API (``Figure()``, never
``pyplot``): nothing is drawn into a global "current figure", nothing is
shown, and the same call gives the same figure in a notebook, in the book and
in the tests. In a notebook the returned figure displays itself as the cell's
value (importing this module registers IPython's PNG formatter for
``Figure``, so no ``%matplotlib`` magic or pyplot import is needed); save it
with ``fig.savefig(path)``. Functions that draw one panel take
``ax=``, those that draw several take ``axes=``, to draw into an existing
figure.

Every function checks its input and raises :class:`mstl_lib.errors.DataError`
with a message naming what is wrong (an empty result list, a confusion matrix
that is not square, a segmentation without its intermediate images...).
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
from matplotlib.figure import Figure

from mstl_lib.errors import DataError

__all__ = [
    "TL_LABELS",
    "OPTIMIZER_COLORS",
    "plot_segmentation_steps",
    "plot_image_grid",
    "plot_learning_curves",
    "plot_confusion_matrix",
    "roc_points",
    "plot_roc_curves",
    "plot_optimizer_backbone_effects",
    "plot_feature_maps",
    "plot_gradcam",
]

#: Display names of the transfer-learning types.
TL_LABELS = {"mstl": "MSTL", "ctl": "CTL", "scratch": "Scratch", "baseline": "Baseline"}
#: Display names of the backbones.
BACKBONE_LABELS = {"resnet50": "ResNet50", "inceptionv3": "InceptionV3", "efficientnetb2": "EfficientNetB2",
                   "resnet10": "ResNet10", "hog-lbp": "HOG + LBP"}
#: Display names of the optimizers.
OPTIMIZER_LABELS = {"sgd": "SGD", "adam": "Adam", "adagrad": "Adagrad", "logistic-regression": "logistic regression"}
#: One colour per optimizer, the same in every figure.
OPTIMIZER_COLORS = {"sgd": "#1b9e77", "adam": "#d95f02", "adagrad": "#7570b3"}
#: Line style of each transfer type in ROC figures.
TL_LINESTYLES = {"mstl": "-", "ctl": "--", "scratch": ":", "baseline": "-."}

_TL_ORDER = ("mstl", "ctl", "scratch", "baseline")
_BACKBONE_ORDER = ("resnet50", "inceptionv3", "efficientnetb2", "resnet10", "hog-lbp")
_OPTIMIZER_ORDER = ("sgd", "adam", "adagrad")
_COMBO_COLORS = ("#1f77b4", "#aec7e8", "#17becf", "#d62728", "#ff9896", "#e377c2",
                 "#2ca02c", "#98df8a", "#bcbd22", "#9467bd", "#8c564b", "#7f7f7f")
_EXTRA_COLORS = ("#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666", "#1f78b4", "#b2df8a")


# --------------------------------------------------------------------------- helpers


def _register_ipython_display() -> bool:
    """Let a returned Figure show itself as a PNG in Jupyter (and in the book).

    IPython displays a Figure as an image only once pyplot's inline backend
    has been activated; figures built with the object API, as here, would
    otherwise show as ``<Figure size ...>``. This registers the same PNG
    formatter IPython itself uses (``IPython.core.pylabtools.print_figure``)
    for :class:`matplotlib.figure.Figure`. Outside IPython it does nothing.
    """
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure
    except ImportError:  # pragma: no cover - IPython is a dependency of the book
        return False
    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return False
    formatter = shell.display_formatter.formatters.get("image/png")
    if formatter is None:  # pragma: no cover
        return False
    formatter.for_type(Figure, lambda fig: print_figure(fig, "png", bbox_inches="tight"))
    return True


_register_ipython_display()



def _new_figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _root_figure(artist) -> Figure:
    """The top-level Figure of an Axes or SubFigure."""
    try:
        return artist.get_figure(root=True)
    except TypeError:  # matplotlib < 3.10
        figure = artist.figure
        while not isinstance(figure, Figure):
            figure = figure.figure
        return figure


def _label(mapping: dict, key) -> str:
    return mapping.get(key, str(key))


def _order(values, preferred) -> list:
    values = list(dict.fromkeys(values))
    known = [v for v in preferred if v in values]
    return known + sorted((v for v in values if v not in preferred), key=str)


def _optimizer_color(optimizer, index: int = 0) -> str:
    return OPTIMIZER_COLORS.get(optimizer, _EXTRA_COLORS[index % len(_EXTRA_COLORS)])


def _as_image(image, name: str = "image") -> np.ndarray:
    """An array ready for imshow: HxW, or HxWx3/4 uint8 or float in [0, 1]."""
    try:
        array = np.asarray(image)
    except Exception as exc:  # pragma: no cover - exotic input
        raise DataError(f"{name} must be an array, got {type(image).__name__}.") from exc
    if array.dtype == object or array.dtype.kind not in "biuf":
        raise DataError(f"{name} must hold numbers, got dtype {array.dtype}.")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)) or array.size == 0:
        raise DataError(f"{name} must be an HxW or HxWx3 image, got shape {array.shape}.")
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if array.dtype == np.uint16:
        lo, hi = float(array.min()), float(array.max())
        return ((array - lo) / (hi - lo) if hi > lo else np.zeros(array.shape)).astype(np.float32)
    if array.ndim == 3 and array.dtype.kind == "f":
        scaled = array / 255.0 if np.nanmax(array) > 1.0 else array
        return np.clip(scaled, 0.0, 1.0).astype(np.float32)
    if array.ndim == 3 and array.dtype != np.uint8:
        return np.clip(array, 0, 255).astype(np.uint8)
    return array


def _show(ax, image, *, title: str | None = None, cmap: str = "gray", fontsize: float = 9, **kwargs):
    """imshow without ticks; 8-bit grayscale keeps its true brightness."""
    if image.ndim == 2 and "vmin" not in kwargs and image.dtype == np.uint8:
        kwargs.update(vmin=0, vmax=255)
    artist = ax.imshow(image, cmap=cmap if image.ndim == 2 else None, interpolation="nearest", **kwargs)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=fontsize)
    return artist


def _check_axes(axes, n: int, name: str = "axes") -> list:
    if axes is None:
        return None
    axes = list(np.ravel(axes)) if not hasattr(axes, "plot") else [axes]
    if len(axes) != n:
        raise DataError(f"{name} must hold {n} Axes for this figure, got {len(axes)}.")
    return axes


def _check_results(results, required=("tl", "backbone", "optimizer")) -> list[dict]:
    if isinstance(results, dict):
        results = [results]
    try:
        results = list(results)
    except TypeError:
        raise DataError(f"results must be a list of per-fold result dicts, got {type(results).__name__}.") from None
    if not results:
        raise DataError("results is empty: nothing to plot. Run `mstl grid` (or train_fold) first.")
    for i, result in enumerate(results):
        if not isinstance(result, dict):
            raise DataError(f"results[{i}] must be a dict (as train_fold returns), got {type(result).__name__}.")
        missing = [k for k in required if k not in result]
        if missing:
            raise DataError(f"results[{i}] lacks the key(s) {', '.join(missing)}.")
    return results


# --------------------------------------------------------------------------- Fig. 2


def plot_segmentation_steps(frame, segmentation, *, n_patches: int = 8, title: str | None = None) -> Figure:
    """The segmentation of one cell-line frame, step by step (Ayana et al. 2022, Fig. 2).

    Panels: (a) the original frame, (b) the adaptive-threshold binary image,
    (c) the cleaned, segmented mask whose contours give the boxes, (d) the
    boxes on the frame (kept in green, rejected by the width + height
    cut-off in red), and (e) a strip of example patches.

    Parameters
    ----------
    frame : numpy.ndarray
        The frame that was segmented (``HxW`` or ``HxWx3``, ``uint8`` or
        ``uint16``).
    segmentation : mstl_lib.segmentation.Segmentation
        From ``segment_frame(frame, return_intermediates=True)``.
    n_patches : int, default 8
        Largest number of patches in the strip (evenly spread over the kept
        boxes, in reading order).
    title : str, optional
        Figure title; default states the counts.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    DataError
        If the segmentation was made without ``return_intermediates=True``,
        or its images do not match the frame.
    """
    from mstl_lib.segmentation import Segmentation, draw_boxes

    if not isinstance(segmentation, Segmentation):
        raise DataError(
            f"segmentation must be the Segmentation returned by segment_frame, got {type(segmentation).__name__}."
        )
    if segmentation.binary is None or segmentation.cleaned is None:
        raise DataError(
            "segmentation has no intermediate images; call "
            "segment_frame(frame, return_intermediates=True) to draw its steps."
        )
    frame_img = _as_image(frame, "frame")
    if frame_img.shape[:2] != segmentation.binary.shape[:2]:
        raise DataError(
            f"frame is {frame_img.shape[0]}x{frame_img.shape[1]} but the segmentation was made on a "
            f"{segmentation.binary.shape[0]}x{segmentation.binary.shape[1]} frame."
        )
    if isinstance(n_patches, bool) or not isinstance(n_patches, (int, np.integer)) or n_patches < 0:
        raise DataError(f"n_patches must be an integer >= 0, got {n_patches!r}.")

    height, width = frame_img.shape[:2]
    panel_w = 3.1
    panel_h = panel_w * height / width
    n_show = min(int(n_patches), len(segmentation.patches))
    fig = _new_figure(4 * panel_w, panel_h + (1.9 if n_show else 0) + 0.6)
    if n_show:
        top, bottom = fig.subfigures(2, 1, height_ratios=[panel_h + 0.4, 1.9])
    else:
        top, bottom = fig, None
    axes = top.subplots(1, 4)
    boxes_rgb = draw_boxes(frame, segmentation.boxes, segmentation.rejected,
                           color=(0, 200, 0), rejected_color=(230, 0, 0),
                           thickness=max(2, int(round(max(height, width) / 300))))
    _show(axes[0], frame_img, title="(a) original frame")
    _show(axes[1], segmentation.binary, title="(b) adaptive threshold")
    _show(axes[2], segmentation.cleaned, title="(c) cleaned mask")
    _show(axes[3], boxes_rgb,
          title=f"(d) boxes: {len(segmentation.boxes)} kept (green),\n"
                f"{len(segmentation.rejected)} rejected, w + h < "
                f"{segmentation.params.get('min_box_sum', '?')} px (red)")
    if bottom is not None:
        picks = np.unique(np.linspace(0, len(segmentation.patches) - 1, n_show).round().astype(int))
        strip = bottom.subplots(1, max(len(picks), 1), squeeze=False)[0]
        for ax, k in zip(strip, picks):
            box = segmentation.boxes[k]
            _show(ax, _as_image(segmentation.patches[k], "patch"), title=f"{box.w}x{box.h}", fontsize=8)
            ax.set_anchor("N")
        bottom.suptitle(f"(e) example patches ({len(picks)} of {len(segmentation.patches)}), "
                        "cropped from the original frame", fontsize=9)
    if title is None:
        title = (f"Segmentation of a cell-line frame into single-cell patches (Fig. 2): "
                 f"{len(segmentation.boxes)} patches")
    fig.suptitle(title, fontsize=11)
    return fig


# --------------------------------------------------------------------------- grids


def plot_image_grid(images, titles=None, ncols: int = 6, *, suptitle: str | None = None,
                    panel_size: float = 1.7, cmap: str = "gray") -> Figure:
    """A contact sheet of images: synthetic data, patches, ultrasound examples.

    Parameters
    ----------
    images : sequence of numpy.ndarray, or numpy.ndarray
        ``N`` images (a list of possibly differently sized arrays, or one
        ``N x H x W [x 3]`` array; a single ``H x W [x 3]`` array is one
        image); grayscale or RGB, ``uint8``, ``uint16``
        or float (in [0, 1] or [0, 255]).
    titles : sequence of str, optional
        One title per image (e.g. class names).
    ncols : int, default 6
        Columns of the grid (fewer when there are fewer images).
    suptitle : str, optional
        Figure title.
    panel_size : float, default 1.7
        Size of one panel in inches.
    cmap : str, default "gray"
        Colormap of grayscale images.

    Returns
    -------
    matplotlib.figure.Figure
        One Axes per grid cell; cells past the last image are hidden.

    Raises
    ------
    DataError
        No images, an image that is not 2-D or 3-channel, or a wrong number of
        titles.
    """
    if images is None:
        raise DataError("images is None; pass a list of images.")
    if isinstance(images, np.ndarray):
        # N x H x W x C and N x H x W are stacks; H x W and H x W x 3 one image.
        single = images.ndim == 2 or (images.ndim == 3 and images.shape[-1] in (3, 4))
        images = [images] if single else list(images)
    else:
        images = list(images)
    if not images:
        raise DataError("images is empty: nothing to show.")
    prepared = [_as_image(image, f"images[{i}]") for i, image in enumerate(images)]
    if titles is not None:
        titles = [str(t) for t in titles]
        if len(titles) != len(prepared):
            raise DataError(f"got {len(titles)} titles for {len(prepared)} images.")
    if isinstance(ncols, bool) or not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise DataError(f"ncols must be an integer >= 1, got {ncols!r}.")
    ncols = min(int(ncols), len(prepared))
    nrows = math.ceil(len(prepared) / ncols)
    extra = 0.25 if titles is not None else 0.0
    fig = _new_figure(ncols * panel_size, nrows * (panel_size + extra) + (0.4 if suptitle else 0.0))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for i, ax in enumerate(axes):
        if i >= len(prepared):
            ax.set_axis_off()
            continue
        _show(ax, prepared[i], title=titles[i] if titles is not None else None, cmap=cmap, fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    return fig


# --------------------------------------------------------------------------- training


def plot_learning_curves(history, best_epoch: int | None = None, title: str | None = None, *,
                         axes=None) -> Figure:
    """Loss and accuracy per epoch, training against validation.

    Parameters
    ----------
    history : dict
        ``{column: [values per epoch]}`` as read from Keras' ``CSVLogger``
        (:func:`mstl_lib.training.read_history`): ``loss``, ``val_loss``,
        ``accuracy``, ``val_accuracy``, and ``epoch`` counted from 0. A whole
        result dict of :func:`mstl_lib.stages.train_fold` is accepted too;
        its ``history`` and ``best_epoch`` are used.
    best_epoch : int, optional
        The epoch (counted from 1) whose weights were kept, marked with a
        dotted line.
    title : str, optional
        Figure title.
    axes : sequence of matplotlib.axes.Axes, optional
        Two Axes to draw loss and accuracy into (one when the history has no
        accuracy).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    DataError
        An empty history, no ``loss`` nor ``accuracy`` column, columns of
        different lengths, or a best epoch outside the history.
    """
    if isinstance(history, dict) and "history" in history and isinstance(history["history"], dict):
        result = history
        history = result["history"]
        if best_epoch is None:
            best_epoch = result.get("best_epoch")
        if title is None and "tl" in result:
            title = (f"{_label(TL_LABELS, result['tl'])} {_label(BACKBONE_LABELS, result.get('backbone'))} "
                     f"{_label(OPTIMIZER_LABELS, result.get('optimizer'))}, fold {result.get('fold', '?')}")
    if not isinstance(history, dict) or not history:
        raise DataError("history is empty: the run has no finished epoch yet.")
    panels = [(key, name) for key, name in (("loss", "Loss"), ("accuracy", "Accuracy"))
              if key in history or f"val_{key}" in history]
    if not panels:
        raise DataError(f"history has neither 'loss' nor 'accuracy' columns (it has {', '.join(history)}).")
    lengths = {k: len(v) for k, v in history.items()}
    n = max(lengths.values())
    if n == 0:
        raise DataError("history is empty: the run has no finished epoch yet.")
    if len(set(lengths.values())) > 1:
        raise DataError(f"history columns have different lengths: {lengths}.")
    epochs = (np.asarray(history["epoch"], dtype=float) + 1) if "epoch" in history else np.arange(1, n + 1)
    if best_epoch is not None:
        if isinstance(best_epoch, bool) or not isinstance(best_epoch, (int, np.integer)) or not (
            1 <= best_epoch <= epochs.max()
        ):
            raise DataError(f"best_epoch must be an epoch between 1 and {int(epochs.max())}, got {best_epoch!r}.")
    axes = _check_axes(axes, len(panels))
    if axes is None:
        fig = _new_figure(4.2 * len(panels), 3.3)
        axes = list(np.ravel(fig.subplots(1, len(panels))))
    else:
        fig = _root_figure(axes[0])
    for ax, (key, name) in zip(axes, panels):
        for column, label, style in ((key, "training", "-"), (f"val_{key}", "validation", "-")):
            if column in history:
                ax.plot(epochs, np.asarray(history[column], dtype=float), style, marker="o", markersize=3,
                        label=label, color="#1f77b4" if label == "training" else "#ff7f0e")
        if best_epoch is not None:
            ax.axvline(best_epoch, color="0.3", linestyle=":", linewidth=1.2, label=f"best epoch ({best_epoch})")
            val = history.get(f"val_{key}")
            if val is not None:
                index = int(np.argmin(np.abs(epochs - best_epoch)))
                ax.plot([epochs[index]], [val[index]], marker="*", markersize=11, color="#d62728",
                        linestyle="none", zorder=5)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name.lower())
        ax.set_title(name)
        if key == "accuracy":
            ax.set_ylim(-0.02, 1.02)
        if n <= 12:
            ax.set_xticks(epochs)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def plot_confusion_matrix(matrix, class_names, normalize: bool = False, *, ax=None,
                          title: str | None = None, cmap: str = "Blues") -> Figure:
    """A confusion matrix with the count (or row rate) in each cell.

    Parameters
    ----------
    matrix : array-like
        ``n x n`` counts, rows = true class, columns = predicted class.
    class_names : sequence of str
        ``n`` names, in the order of the rows.
    normalize : bool, default False
        Show each row divided by its sum (sensitivity / specificity on the
        diagonal of a binary matrix), with the counts in brackets.
    ax : matplotlib.axes.Axes, optional
        Where to draw.
    title : str, optional
        Axes title.
    cmap : str, default "Blues"

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    DataError
        A matrix that is not square, has negative or non-finite entries, or
        does not match ``class_names``.
    """
    try:
        counts = np.asarray(matrix, dtype=float)
    except (TypeError, ValueError):
        raise DataError("matrix must be a square array of counts.") from None
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] == 0:
        raise DataError(f"matrix must be a non-empty square n x n array, got shape {counts.shape}.")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise DataError("matrix must hold finite, non-negative counts.")
    class_names = [str(c) for c in class_names]
    if len(class_names) != counts.shape[0]:
        raise DataError(f"got {len(class_names)} class names for a {counts.shape[0]}x{counts.shape[0]} matrix.")
    if normalize:
        sums = counts.sum(axis=1, keepdims=True)
        values = np.divide(counts, sums, out=np.zeros_like(counts), where=sums > 0)
    else:
        values = counts
    n = counts.shape[0]
    if ax is None:
        # "compressed": constrained layout made for fixed-aspect axes with a colour bar
        fig = Figure(figsize=(1.9 + 1.3 * n, 1.2 + 1.2 * n), layout="compressed")
        ax = fig.subplots()
    else:
        fig = _root_figure(ax)
    vmax = 1.0 if normalize else max(values.max(), 1.0)
    image = ax.imshow(values, cmap=cmap, vmin=0, vmax=vmax)
    integer = np.allclose(counts, np.round(counts))
    for i in range(n):
        for j in range(n):
            count = f"{int(round(counts[i, j]))}" if integer else f"{counts[i, j]:.3g}"
            text = f"{values[i, j]:.2f}\n({count})" if normalize else count
            ax.text(j, i, text, ha="center", va="center", fontsize=10,
                    color="white" if values[i, j] > 0.55 * vmax else "black")
    ax.set_xticks(range(n), class_names)
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title)
    fig.colorbar(image, ax=ax, shrink=0.9, label="rate" if normalize else "count")
    return fig


# --------------------------------------------------------------------------- Fig. 4


def roc_points(y_true, y_score) -> tuple[np.ndarray, np.ndarray]:
    """Every point of the empirical ROC curve (no points dropped).

    Parameters
    ----------
    y_true : array-like of {0, 1}
        Labels, 1 = malignant (positive).
    y_score : array-like of float
        Scores, higher = more malignant.

    Returns
    -------
    fpr, tpr : numpy.ndarray
        From ``(0, 0)`` to ``(1, 1)``, one point per distinct score
        (descending), ties handled as one step.

    Raises
    ------
    DataError
        Lengths differ, labels are not 0/1, or one class is absent.
    """
    y_true = np.asarray(y_true, dtype=float).reshape(-1)
    y_score = np.asarray(y_score, dtype=float).reshape(-1)
    if y_true.shape != y_score.shape:
        raise DataError(f"y_true has {y_true.size} labels but y_score has {y_score.size} scores.")
    if not np.all(np.isin(y_true, (0, 1))):
        raise DataError("y_true must hold only 0 (benign) and 1 (malignant).")
    n_pos = int(y_true.sum())
    n_neg = int(y_true.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        raise DataError("a ROC curve needs both classes among the test labels; one class is absent.")
    if not np.all(np.isfinite(y_score)):
        raise DataError("y_score holds NaN or infinite values.")
    order = np.argsort(-y_score, kind="mergesort")
    scores, labels = y_score[order], y_true[order]
    last_of_tie = np.r_[np.nonzero(np.diff(scores))[0], scores.size - 1]
    tps = np.cumsum(labels)[last_of_tie]
    fps = (last_of_tie + 1) - tps
    return np.r_[0.0, fps / n_neg], np.r_[0.0, tps / n_pos]


def _trapezoid(y, x) -> float:
    """Area under a curve by the trapezoid rule (``np.trapz`` before NumPy 2)."""
    integrate = getattr(np, "trapezoid", None) or getattr(np, "trapz")
    return float(integrate(y, x))


def _group(results) -> "OrderedDict[tuple, list[dict]]":
    groups: OrderedDict = OrderedDict()
    tls = _order([r["tl"] for r in results], _TL_ORDER)
    backbones = _order([r["backbone"] for r in results], _BACKBONE_ORDER)
    optimizers = _order([r["optimizer"] for r in results], _OPTIMIZER_ORDER)
    for backbone in backbones:
        for tl in tls:
            for optimizer in optimizers:
                members = [r for r in results if (r["tl"], r["backbone"], r["optimizer"]) == (tl, backbone, optimizer)]
                if members:
                    groups[(tl, backbone, optimizer)] = sorted(members, key=lambda r: r.get("fold", 0))
    return groups


def plot_roc_curves(results, *, average: str = "pooled", panel_by: str | None = "backbone", axes=None,
                    band: bool = False, title: str | None = None) -> Figure:
    """ROC curves of the grid, one per (TL type, CNN, optimizer) (Ayana et al. 2022, Fig. 4).

    Parameters
    ----------
    results : list of dict
        Per-fold results of :func:`mstl_lib.stages.train_fold` (keys ``tl``,
        ``backbone``, ``optimizer``, ``fold``, ``y_true``, ``y_score``,
        ``roc``, ``metrics``).
    average : {"pooled", "mean"}, default "pooled"
        ``"pooled"``: one curve from the test predictions of all folds put
        together (:func:`roc_points`); the legend gives its AUC.
        ``"mean"``: each fold's stored ROC (``result["roc"]``) interpolated
        at 101 false-positive rates and averaged (vertical averaging); the
        legend gives the mean ± std of the folds' AUCs.
    panel_by : {"backbone", None}, default "backbone"
        One panel per CNN (colour = optimizer, solid = MSTL, dashed = CTL),
        or everything in one panel.
    axes : sequence of Axes, optional
        As many Axes as panels.
    band : bool, default False
        With ``average="mean"``, shade ± one standard deviation of the TPR.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        The chance diagonal is drawn dotted in every panel.

    Raises
    ------
    DataError
        No results, a result without predictions (``"pooled"``) or ROC
        (``"mean"``), or test labels of one class only.
    """
    if average not in ("pooled", "mean"):
        raise DataError(f"average must be 'pooled' or 'mean', got {average!r}.")
    if panel_by not in ("backbone", None):
        raise DataError(f"panel_by must be 'backbone' or None, got {panel_by!r}.")
    needed = ("y_true", "y_score") if average == "pooled" else ("roc",)
    results = _check_results(results, ("tl", "backbone", "optimizer") + needed)
    groups = _group(results)
    panels = _order([r["backbone"] for r in results], _BACKBONE_ORDER) if panel_by == "backbone" else [None]
    axes = _check_axes(axes, len(panels))
    n_curves = len(groups) if panel_by is None else max(
        sum(1 for key in groups if key[1] == panel) for panel in panels)
    outside = panel_by is None and n_curves > 6
    own_figure = axes is None
    if axes is None:
        # "compressed": constrained layout made for fixed-aspect (square) axes
        fig = Figure(figsize=(4.1 * len(panels) + (3.3 if outside else 0.0), 5.0), layout="compressed")
        axes = list(np.ravel(fig.subplots(1, len(panels), sharey=True)))
    else:
        fig = _root_figure(axes[0])
    optimizers = _order([r["optimizer"] for r in results], _OPTIMIZER_ORDER)
    combos = list(dict.fromkeys((b, o) for _, b, o in groups))
    grid = np.linspace(0.0, 1.0, 101)
    for ax, panel in zip(axes, panels):
        for (tl, backbone, optimizer), members in groups.items():
            if panel is not None and backbone != panel:
                continue
            if panel is None and len({b for b, _ in combos}) > 1:
                color = _COMBO_COLORS[combos.index((backbone, optimizer)) % len(_COMBO_COLORS)]
                name = f"{_label(TL_LABELS, tl)} {_label(BACKBONE_LABELS, backbone)} {_label(OPTIMIZER_LABELS, optimizer)}"
            else:
                color = _optimizer_color(optimizer, optimizers.index(optimizer))
                name = f"{_label(TL_LABELS, tl)} {_label(OPTIMIZER_LABELS, optimizer)}"
            style = TL_LINESTYLES.get(tl, "-.")
            if average == "pooled":
                y_true = np.concatenate([np.asarray(r["y_true"], float).reshape(-1) for r in members])
                y_score = np.concatenate([np.asarray(r["y_score"], float).reshape(-1) for r in members])
                fpr, tpr = roc_points(y_true, y_score)
                auc = _trapezoid(tpr, fpr)
                label = f"{name} (AUC {auc:.3f})"
                ax.plot(fpr, tpr, style, color=color, linewidth=1.6, label=label, drawstyle="default")
            else:
                curves, aucs = [], []
                for r in members:
                    roc = r["roc"]
                    fpr = np.asarray(roc.get("fpr", []), float) if isinstance(roc, dict) else np.array([])
                    tpr = np.asarray(roc.get("tpr", []), float) if isinstance(roc, dict) else np.array([])
                    if fpr.size < 2 or fpr.shape != tpr.shape:
                        raise DataError(
                            f"{tl} {backbone} {optimizer} fold {r.get('fold', '?')}: roc must hold equally long "
                            "'fpr' and 'tpr' lists of at least two points."
                        )
                    interp = np.interp(grid, fpr, tpr)
                    interp[0] = 0.0
                    curves.append(interp)
                    fold_auc = r.get("metrics", {}).get("auc") if isinstance(r.get("metrics"), dict) else None
                    aucs.append(float(fold_auc) if fold_auc is not None else _trapezoid(tpr, fpr))
                curves = np.asarray(curves)
                mean = curves.mean(axis=0)
                mean[-1] = 1.0
                std_auc = float(np.std(aucs, ddof=1)) if len(aucs) > 1 else 0.0
                label = f"{name} (AUC {np.mean(aucs):.3f} ± {std_auc:.3f})"
                ax.plot(grid, mean, style, color=color, linewidth=1.6, label=label)
                if band and len(curves) > 1:
                    spread = curves.std(axis=0, ddof=1)
                    ax.fill_between(grid, np.clip(mean - spread, 0, 1), np.clip(mean + spread, 0, 1),
                                    color=color, alpha=0.12, linewidth=0)
        ax.plot([0, 1], [0, 1], ":", color="0.5", linewidth=1, label="chance (AUC 0.5)")
        ax.set_xlim(-0.01, 1.01)
        ax.set_ylim(-0.01, 1.01)
        ax.set_box_aspect(1)
        ax.set_xlabel("false-positive rate (1 - specificity)")
        if ax is axes[0]:
            ax.set_ylabel("true-positive rate (sensitivity)")
        if panel is not None:
            ax.set_title(_label(BACKBONE_LABELS, panel))
        ax.grid(alpha=0.3)
        if outside and own_figure:
            fig.legend(*ax.get_legend_handles_labels(), loc="outside right center", fontsize=7)
        else:
            ax.legend(loc="lower right", fontsize=7 if not outside else 6)
    if title is None:
        n_folds = len({r.get("fold") for r in results})
        how = "pooled test predictions" if average == "pooled" else "mean over folds"
        title = f"ROC curves (Fig. 4), {how}, {n_folds} fold{'s' if n_folds != 1 else ''}"
    fig.suptitle(title, fontsize=11)
    return fig


# --------------------------------------------------------------------------- Fig. 5


def plot_optimizer_backbone_effects(results, *, metric: str = "accuracy", axes=None,
                                    title: str | None = None) -> Figure:
    """Mean test accuracy ± std by optimizer and CNN, MSTL beside CTL (Ayana et al. 2022, Fig. 5).

    Parameters
    ----------
    results : list of dict
        Per-fold results of :func:`mstl_lib.stages.train_fold`.
    metric : str, default "accuracy"
        Key of ``result["metrics"]``; rates (accuracy, AUC, F1, sensitivity,
        specificity) are shown in percent.
    axes : sequence of Axes, optional
        One Axes per transfer type present (MSTL first).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per transfer type; in each, groups of bars per CNN, one bar
        per optimizer, height = mean over folds, error bar = sample standard
        deviation (ddof=1, 0 for a single fold), as in Table 1.

    Raises
    ------
    DataError
        No results, or a result without ``metrics[metric]``.
    """
    results = _check_results(results, ("tl", "backbone", "optimizer", "metrics"))
    for i, r in enumerate(results):
        if not isinstance(r["metrics"], dict) or metric not in r["metrics"]:
            raise DataError(f"results[{i}]['metrics'] has no {metric!r}.")
    percent = metric in ("accuracy", "auc", "f1", "sensitivity", "specificity")
    scale = 100.0 if percent else 1.0
    tls = _order([r["tl"] for r in results], _TL_ORDER)
    backbones = _order([r["backbone"] for r in results], _BACKBONE_ORDER)
    optimizers = _order([r["optimizer"] for r in results], _OPTIMIZER_ORDER)
    axes = _check_axes(axes, len(tls))
    own_figure = axes is None
    if axes is None:
        fig = _new_figure(max(4.0, 1.4 + 1.5 * len(backbones)) * len(tls) + 0.9, 3.9)
        axes = list(np.ravel(fig.subplots(1, len(tls), sharey=True)))
    else:
        fig = _root_figure(axes[0])
    width = 0.8 / len(optimizers)
    top = 0.0
    for ax, tl in zip(axes, tls):
        x = np.arange(len(backbones), dtype=float)
        for k, optimizer in enumerate(optimizers):
            means, stds = [], []
            for backbone in backbones:
                values = [float(r["metrics"][metric]) * scale for r in results
                          if (r["tl"], r["backbone"], r["optimizer"]) == (tl, backbone, optimizer)]
                means.append(float(np.mean(values)) if values else np.nan)
                stds.append(float(np.std(values, ddof=1)) if len(values) > 1 else 0.0)
            means, stds = np.asarray(means), np.asarray(stds)
            top = max(top, float(np.nanmax(means + stds, initial=0.0)))
            bars = ax.bar(x + (k - (len(optimizers) - 1) / 2) * width, np.nan_to_num(means), width * 0.92,
                          yerr=stds, capsize=3, color=_optimizer_color(optimizer, k),
                          label=_label(OPTIMIZER_LABELS, optimizer), error_kw={"elinewidth": 1, "ecolor": "0.25"})
            ax.bar_label(bars, labels=["" if np.isnan(m) else f"{m:.1f}" if percent else f"{m:.3f}" for m in means],
                         padding=2, fontsize=7)
        ax.set_xticks(x, [_label(BACKBONE_LABELS, b) for b in backbones])
        ax.set_title(_label(TL_LABELS, tl))
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    name = {"accuracy": "test accuracy", "auc": "AUC", "f1": "F1 score"}.get(metric, metric)
    axes[0].set_ylabel(f"mean {name}" + (" (%)" if percent else ""))
    if percent:
        axes[0].set_ylim(0, max(100.0, top) * 1.12)
    else:
        axes[0].set_ylim(0, top * 1.15 if top > 0 else 1.0)
    handles, labels = axes[0].get_legend_handles_labels()
    if own_figure:
        fig.legend(handles, labels, title="optimizer", fontsize=8, title_fontsize=8, loc="outside right upper")
    else:
        axes[-1].legend(handles, labels, title="optimizer", fontsize=8, title_fontsize=8, loc="lower right")
    if title is None:
        n_folds = len({r.get("fold") for r in results})
        title = f"Effect of optimizer and CNN on {name} (Fig. 5): mean ± std over {n_folds} fold{'s' if n_folds != 1 else ''}"
    fig.suptitle(title, fontsize=11)
    return fig


# --------------------------------------------------------------------------- Fig. 6


def _check_maps(maps_by_model) -> "OrderedDict[str, list[tuple[str, np.ndarray]]]":
    if not isinstance(maps_by_model, dict) or not maps_by_model:
        raise DataError("maps_by_model must be a non-empty dict {model name: [(layer, HxWxC array), ...]}.")
    checked: OrderedDict = OrderedDict()
    for model_name, maps in maps_by_model.items():
        try:
            maps = list(maps)
        except TypeError:
            raise DataError(f"maps_by_model[{model_name!r}] must be a list of (layer, array) pairs.") from None
        if not maps:
            raise DataError(f"maps_by_model[{model_name!r}] is empty: no feature maps to show.")
        rows = []
        for item in maps:
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise DataError(f"maps_by_model[{model_name!r}] must hold (layer_name, array) pairs, got {item!r:.80}.")
            layer, array = item
            array = np.asarray(array, dtype=np.float32)
            if array.ndim == 4 and array.shape[0] == 1:
                array = array[0]
            if array.ndim == 2:
                array = array[:, :, None]
            if array.ndim != 3 or 0 in array.shape:
                raise DataError(
                    f"feature map {layer!r} of {model_name!r} must be HxWxC, got shape {array.shape}."
                )
            rows.append((str(layer), array))
        checked[str(model_name)] = rows
    return checked


def _channels(array: np.ndarray, n: int, select: str) -> list[int]:
    n = min(n, array.shape[2])
    if select == "strongest":
        return [int(c) for c in np.argsort(-array.mean(axis=(0, 1)), kind="stable")[:n]]
    return list(range(n))


def plot_feature_maps(maps_by_model, n_channels: int = 3, *, image=None, mode: str = "channels",
                      select: str = "first", cmap: str = "viridis", title: str | None = None) -> Figure:
    """Feature maps of several networks at their convolution stages (Ayana et al. 2022, Fig. 6).

    Parameters
    ----------
    maps_by_model : dict of str to list of (str, numpy.ndarray)
        For each network (e.g. ``{"MSTL": ..., "CTL": ...}``) its
        ``(layer_name, h x w x c activation)`` pairs, shallow to deep, as
        :func:`mstl_lib.features.feature_maps` returns them.
    n_channels : int, default 3
        Channels shown per stage (``mode="channels"``).
    image : numpy.ndarray, optional
        The input image, shown at the left.
    mode : {"channels", "mean"}, default "channels"
        ``"channels"``: the networks side by side, a row per stage, columns
        = the mean over channels, then ``n_channels`` single channels.
        ``"mean"``: compact, a row per network and a column per stage, each
        the mean over channels.
    select : {"first", "strongest"}, default "first"
        Which channels: the first ones (the same indices in every network,
        which is meaningful because MSTL and CTL start from the same ImageNet
        filters) or the ones with the largest mean activation.
    cmap : str, default "viridis"
        Colormap; every panel is scaled to its own range.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    DataError
        An empty dict or list, a map that is not ``h x w x c``, or bad
        ``n_channels`` / ``mode``.
    """
    maps = _check_maps(maps_by_model)
    if mode not in ("channels", "mean"):
        raise DataError(f"mode must be 'channels' or 'mean', got {mode!r}.")
    if select not in ("first", "strongest"):
        raise DataError(f"select must be 'first' or 'strongest', got {select!r}.")
    if isinstance(n_channels, bool) or not isinstance(n_channels, (int, np.integer)) or n_channels < 0:
        raise DataError(f"n_channels must be an integer >= 0, got {n_channels!r}.")
    input_image = _as_image(image, "image") if image is not None else None
    names = list(maps)
    if title is None:
        title = "Feature maps at the convolution stages (Fig. 6): " + " vs ".join(names)

    if mode == "mean":
        n_stages = max(len(rows) for rows in maps.values())
        ncols = n_stages + (1 if input_image is not None else 0)
        fig = _new_figure(1.55 * ncols + 0.3, 1.75 * len(names) + 0.5)
        axes = fig.subplots(len(names), ncols, squeeze=False)
        for r, model_name in enumerate(names):
            offset = 0
            if input_image is not None:
                _show(axes[r, 0], input_image, title="input" if r == 0 else None, fontsize=8)
                offset = 1
            for c in range(n_stages):
                ax = axes[r, offset + c]
                if c >= len(maps[model_name]):
                    ax.set_axis_off()
                    continue
                layer, array = maps[model_name][c]
                _show(ax, array.mean(axis=2), cmap=cmap, fontsize=7,
                      title=f"{layer}\n{array.shape[0]}x{array.shape[1]}x{array.shape[2]}")
            axes[r, 0].set_ylabel(model_name, fontsize=11, fontweight="bold")
        fig.suptitle(title + " (mean over channels)", fontsize=11)
        return fig

    n_stages = max(len(rows) for rows in maps.values())
    max_c = max(array.shape[2] for rows in maps.values() for _, array in rows)
    n_cols = 1 + min(int(n_channels), max_c)
    panel = 1.25
    widths = ([1.3] if input_image is not None else []) + [n_cols * panel] * len(names)
    fig = _new_figure(sum(widths) + 0.3 * len(names), n_stages * panel + 0.9)
    subfigs = np.ravel(fig.subfigures(1, len(widths), width_ratios=widths, wspace=0.02))
    if input_image is not None:
        left = subfigs[0]
        subfigs = subfigs[1:]
        grid = left.add_gridspec(3, 1, height_ratios=[1, 1.2, 1])
        ax = left.add_subplot(grid[1])
        _show(ax, input_image, title="input image", fontsize=9)
    for sub, model_name in zip(subfigs, names):
        rows = maps[model_name]
        axes = sub.subplots(n_stages, n_cols, squeeze=False)
        for r in range(n_stages):
            if r >= len(rows):
                for ax in axes[r]:
                    ax.set_axis_off()
                continue
            layer, array = rows[r]
            chosen = _channels(array, n_cols - 1, select)
            _show(axes[r, 0], array.mean(axis=2), cmap=cmap, title="mean of channels" if r == 0 else None,
                  fontsize=7)
            axes[r, 0].set_ylabel(f"{layer}\n{array.shape[0]}x{array.shape[1]}x{array.shape[2]}", fontsize=7)
            for c in range(1, n_cols):
                ax = axes[r, c]
                if c - 1 >= len(chosen):
                    ax.set_axis_off()
                    continue
                _show(ax, array[:, :, chosen[c - 1]], cmap=cmap, fontsize=7,
                      title=f"channel {chosen[c - 1]}" if (r == 0 or select == "strongest") else None)
        sub.suptitle(model_name, fontsize=11, fontweight="bold")
    fig.suptitle(title, fontsize=11)
    return fig


def plot_gradcam(image, heatmap, alpha: float = 0.4, *, axes=None, title: str | None = None,
                 cmap: str = "jet") -> Figure:
    """A Grad-CAM heat map next to and over its image.

    Panels: the image, the heat map (with a colour bar) and the overlay
    (:func:`mstl_lib.features.overlay_heatmap`). Grad-CAM is our addition to
    the paper's feature-map comparison (Fig. 6): a class-specific view of
    where the network looks.

    Parameters
    ----------
    image : numpy.ndarray
        ``H x W x 3`` RGB or ``H x W`` grayscale, ``uint8`` or float.
    heatmap : numpy.ndarray
        ``h x w`` in [0, 1] (:func:`mstl_lib.features.grad_cam`); resized to
        the image.
    alpha : float, default 0.4
        Weight of the heat map in the overlay.
    axes : Axes or sequence of 3 Axes, optional
        One Axes: only the overlay is drawn into it; three: all panels.
    title : str, optional
        Figure title (one Axes: the Axes title).
    cmap : str, default "jet"

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    DataError
        Bad image or heat map shapes, or ``alpha`` outside [0, 1].
    """
    from mstl_lib.features import _resize, overlay_heatmap

    image_arr = _as_image(image, "image")
    overlay = overlay_heatmap(np.asarray(image), heatmap, alpha=alpha, cmap=cmap)
    heat = _resize(np.clip(np.asarray(heatmap, dtype=np.float32), 0, 1), image_arr.shape[:2])
    if axes is not None and hasattr(axes, "plot"):
        fig = _root_figure(axes)
        _show(axes, overlay, title=title, fontsize=9)
        return fig
    axes = _check_axes(axes, 3)
    if axes is None:
        fig = _new_figure(8.4, 3.2)
        axes = list(fig.subplots(1, 3))
    else:
        fig = _root_figure(axes[0])
    _show(axes[0], image_arr, title="image")
    artist = _show(axes[1], heat, title="Grad-CAM heat map", cmap=cmap, vmin=0.0, vmax=1.0)
    fig.colorbar(artist, ax=axes[1], fraction=0.046, pad=0.04)
    _show(axes[2], overlay, title=f"overlay (alpha {alpha:g})")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def plot_leakage(leaks, *, ax=None, title: str | None = "How leaks inflate accuracy") -> Figure:
    """Bar chart of :func:`mstl_lib.leakage.leakage_experiment`: accuracy ± std per scenario.

    Honest protocols are drawn in one colour, leaky ones in another, with the
    scenario's description as the bar label.

    Parameters
    ----------
    leaks : pandas.DataFrame
        Columns ``scenario``, ``description``, ``accuracy``, ``std``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure.
    """
    required = {"scenario", "description", "accuracy", "std"}
    if not required <= set(getattr(leaks, "columns", [])) or len(leaks) == 0:
        raise DataError(f"expected a non-empty table with columns {sorted(required)}, as leakage_experiment returns.")
    if ax is None:
        fig = _new_figure(7.5, 0.6 + 0.55 * len(leaks))
        ax = fig.subplots()
    else:
        fig = _root_figure(ax)
    leaky = leaks["scenario"].isin(["augment_before_split", "duplicates_split"]).to_numpy()
    positions = np.arange(len(leaks))[::-1]
    colors = np.where(leaky, "#d62728", "#2ca02c")
    ax.barh(positions, 100 * leaks["accuracy"], xerr=100 * leaks["std"], color=colors, alpha=0.85, capsize=3)
    ax.set_yticks(positions, leaks["description"], fontsize=9)
    ax.set_xlabel("test accuracy (%), mean ± std over folds")
    ax.set_xlim(0, 100)
    for position, value in zip(positions, leaks["accuracy"]):
        ax.text(100 * value + 1, position + 0.22, f"{100 * value:.1f}%", fontsize=8)
    if title:
        ax.set_title(title)
    return fig

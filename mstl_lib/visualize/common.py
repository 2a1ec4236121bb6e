"""What every figure shares: display names, colours, a new figure, an image panel, input checks."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from mstl_lib.backbones import backbone_table
from mstl_lib.errors import DataError
from mstl_lib.profiles import ALL_BACKBONES, BASELINE_CONFIG, OPTIMIZERS
from mstl_lib.validation import check_image, stretch_to_uint8

#: Display names of the backbones (each :class:`mstl_lib.backbones.BackboneSpec`'s ``label``), and of the
#: classical baseline's features, under which its results are filed.
BACKBONE_LABELS = {**backbone_table("label"), BASELINE_CONFIG[0]: "HOG + LBP"}

#: Display names of the optimizers.
OPTIMIZER_LABELS = {"sgd": "SGD", "adam": "Adam", "adagrad": "Adagrad", "logistic-regression": "logistic regression"}

#: One colour per optimizer, the same in every figure.
OPTIMIZER_COLORS = {"sgd": "#1b9e77", "adam": "#d95f02", "adagrad": "#7570b3"}

#: Line style of each transfer type in ROC figures.
TL_LINESTYLES = {"mstl": "-", "ctl": "--", "scratch": ":", "baseline": "-."}

BACKBONE_ORDER = (*ALL_BACKBONES, BASELINE_CONFIG[0])

OPTIMIZER_ORDER = OPTIMIZERS

COMBO_COLORS = (
    "#1f77b4",
    "#aec7e8",
    "#17becf",
    "#d62728",
    "#ff9896",
    "#e377c2",
    "#2ca02c",
    "#98df8a",
    "#bcbd22",
    "#9467bd",
    "#8c564b",
    "#7f7f7f",
)

EXTRA_COLORS = ("#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666", "#1f78b4", "#b2df8a")


def register_ipython_display() -> bool:
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


def new_figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def root_figure(artist) -> Figure:
    """The top-level Figure of an Axes or SubFigure."""
    try:
        return artist.get_figure(root=True)
    except TypeError:  # matplotlib < 3.10
        figure = artist.figure
        while not isinstance(figure, Figure):
            figure = figure.figure
        return figure


def display_label(mapping: dict, key) -> str:
    return mapping.get(key, str(key))


def ordered(values, preferred) -> list:
    values = list(dict.fromkeys(values))
    known = [v for v in preferred if v in values]
    return known + sorted((v for v in values if v not in preferred), key=str)


def optimizer_color(optimizer, index: int = 0) -> str:
    return OPTIMIZER_COLORS.get(optimizer, EXTRA_COLORS[index % len(EXTRA_COLORS)])


def as_image(image, name: str = "image") -> np.ndarray:
    """An array ready for imshow: HxW, or HxWx3/4 uint8 or float in [0, 1].

    A ``uint16`` image goes through the 8-bit stretch of section 2.1
    (:func:`mstl_lib.validation.stretch_to_uint8`, as in
    :func:`mstl_lib.data.segmentation.to_gray8`): 256 gray levels from its min
    to its max, so a 16-bit frame is shown as it is segmented.
    """
    array = check_image(image, name, channels=(1, 3, 4), kinds="biuf", fix="pass a grayscale, RGB or RGBA image.")
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if array.dtype == np.uint16:
        # the 8-bit stretch of segmentation.to_gray8, so a 16-bit frame looks as it is segmented
        return stretch_to_uint8(array)
    if array.ndim == 3 and array.dtype.kind == "f":
        scaled = array / 255.0 if np.nanmax(array) > 1.0 else array
        return np.clip(scaled, 0.0, 1.0).astype(np.float32)
    if array.ndim == 3 and array.dtype != np.uint8:
        return np.clip(array, 0, 255).astype(np.uint8)
    return array


def show_image(ax, image, *, title: str | None = None, cmap: str = "gray", fontsize: float = 9, **kwargs):
    """imshow without ticks; 8-bit grayscale keeps its true brightness."""
    if image.ndim == 2 and "vmin" not in kwargs and image.dtype == np.uint8:
        kwargs.update(vmin=0, vmax=255)
    artist = ax.imshow(image, cmap=cmap if image.ndim == 2 else None, interpolation="nearest", **kwargs)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=fontsize)
    return artist


def check_axes(axes, n: int, name: str = "axes") -> list:
    if axes is None:
        return None
    axes = list(np.ravel(axes)) if not hasattr(axes, "plot") else [axes]
    if len(axes) != n:
        raise DataError(f"{name} must hold {n} Axes for this figure, got {len(axes)}.")
    return axes


def figure_with_axes(
    axes, n: int, figsize: tuple[float, float], *, sharey: bool = False, layout: str = "constrained"
) -> tuple[Figure, list]:
    """The figure and ``n`` Axes to draw into: the given ones (checked), or a new figure with a row of ``n``.

    ``figsize``, ``sharey`` and ``layout`` apply to the new figure only.
    """
    checked = check_axes(axes, n)
    if checked is not None:
        return root_figure(checked[0]), checked
    fig = Figure(figsize=figsize, layout=layout)
    return fig, list(np.ravel(fig.subplots(1, n, sharey=sharey)))


def check_results(results, required=("tl", "backbone", "optimizer")) -> list[dict]:
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


register_ipython_display()

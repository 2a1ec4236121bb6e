"""Learning curves: loss and accuracy per epoch."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from mstl_lib.errors import DataError
from mstl_lib.profiles import ARM_LABELS
from mstl_lib.validation import check_integer
from mstl_lib.visualize.common import (
    BACKBONE_LABELS,
    OPTIMIZER_LABELS,
    display_label,
    figure_with_axes,
)


def plot_learning_curves(
    history, best_epoch: int | None = None, title: str | None = None, *, monitor: str | None = None, axes=None
) -> Figure:
    """Loss, accuracy and (where recorded) AUC per epoch, training against validation.

    Parameters
    ----------
    history : dict
        ``{column: [values per epoch]}`` as read from Keras' ``CSVLogger``
        (:func:`mstl_lib.training.fit.read_history`): ``loss``, ``val_loss``,
        ``accuracy``, ``val_accuracy``, and ``epoch`` counted from 0. A whole
        result dict of :func:`mstl_lib.training.stages.train_fold` is accepted too;
        its ``history`` and ``best_epoch`` are used.
    best_epoch : int, optional
        The epoch (counted from 1) whose weights were kept, marked with a
        dotted line.
    title : str, optional
        Figure title; default, for a whole result, names its arm, CNN,
        optimizer and fold.
    monitor : str, optional
        The validation quantity that picked the epoch (a profile's
        ``monitor``, e.g. ``"val_auc"``); its panel's title says so, so that
        the reader sees the curve the star was chosen on.
    axes : sequence of matplotlib.axes.Axes, optional
        One Axes per panel to draw into.

    Returns
    -------
    matplotlib.figure.Figure
        A panel for each of loss, accuracy and AUC that the history holds,
        training against validation.

    Raises
    ------
    DataError
        An empty history, no ``loss`` nor ``accuracy`` column, columns of
        different lengths, a best epoch outside the history, or a
        ``monitor`` the history does not hold.
    """
    history, best_epoch, title = _unpack_result(history, best_epoch, title)
    panels, n = _check_history(history)
    if monitor is not None and monitor not in history:
        raise DataError(f"monitor={monitor!r} is not in the history (it has {', '.join(history)}).")
    epochs = (np.asarray(history["epoch"], dtype=float) + 1) if "epoch" in history else np.arange(1, n + 1)
    if best_epoch is not None:
        best_epoch = check_integer(best_epoch, "best_epoch", minimum=1, maximum=int(epochs.max()))
    fig, axes = figure_with_axes(axes, len(panels), (4.2 * len(panels), 3.3))
    for ax, (key, name) in zip(axes, panels):
        _draw_curve_panel(ax, history, key, epochs, best_epoch)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name.lower())
        picks = monitor in (key, f"val_{key}")
        ax.set_title(f"{name} (picks the epoch)" if picks else name, fontweight="bold" if picks else None)
        if key in ("accuracy", "auc"):
            ax.set_ylim(-0.02, 1.02)
        if n <= 12:
            ax.set_xticks(epochs)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def _unpack_result(history, best_epoch, title):
    """``(history, best_epoch, title)``, taken from a whole train_fold result where one is given."""
    if not (isinstance(history, dict) and "history" in history and isinstance(history["history"], dict)):
        return history, best_epoch, title
    result = history
    if best_epoch is None:
        best_epoch = result.get("best_epoch")
    if title is None and "tl" in result:
        title = (
            f"{display_label(ARM_LABELS, result['tl'])} {display_label(BACKBONE_LABELS, result.get('backbone'))} "
            f"{display_label(OPTIMIZER_LABELS, result.get('optimizer'))}, fold {result.get('fold', '?')}"
        )
    return result["history"], best_epoch, title


def _check_history(history) -> tuple[list[tuple[str, str]], int]:
    """The panels to draw (``(key, name)`` of loss, accuracy and AUC where present) and the number of epochs."""
    if not isinstance(history, dict) or not history:
        raise DataError("history is empty: the run has no finished epoch yet.")
    panels = [
        (key, name)
        for key, name in (("loss", "Loss"), ("accuracy", "Accuracy"), ("auc", "AUC"))
        if key in history or f"val_{key}" in history
    ]
    if not panels:
        raise DataError(f"history has neither 'loss' nor 'accuracy' columns (it has {', '.join(history)}).")
    lengths = {k: len(v) for k, v in history.items()}
    n = max(lengths.values())
    if n == 0:
        raise DataError("history is empty: the run has no finished epoch yet.")
    if len(set(lengths.values())) > 1:
        raise DataError(f"history columns have different lengths: {lengths}.")
    return panels, n


def _draw_curve_panel(ax, history: dict, key: str, epochs: np.ndarray, best_epoch: int | None) -> None:
    """Training and validation ``key`` per epoch; the kept epoch as a dotted line and a star on validation."""
    for column, label, color in ((key, "training", "#1f77b4"), (f"val_{key}", "validation", "#ff7f0e")):
        if column in history:
            values = np.asarray(history[column], dtype=float)
            ax.plot(epochs, values, "-", marker="o", markersize=3, label=label, color=color)
    if best_epoch is None:
        return
    ax.axvline(best_epoch, color="0.3", linestyle=":", linewidth=1.2, label=f"best epoch ({best_epoch})")
    val = history.get(f"val_{key}")
    if val is not None:
        index = int(np.argmin(np.abs(epochs - best_epoch)))
        ax.plot([epochs[index]], [val[index]], marker="*", markersize=11, color="#d62728", linestyle="none", zorder=5)

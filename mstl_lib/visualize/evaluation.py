"""Figures of results: confusion matrices, ROC curves (Fig. 4), optimizer and backbone effects (Fig. 5), leakage."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from matplotlib.figure import Figure

from mstl_lib.errors import DataError
from mstl_lib.evaluation.metrics import (
    check_predictions,
    curve_auc,
    format_mean_std,
    roc_auc,
    roc_curve,
    summarize_folds,
)
from mstl_lib.profiles import ARM_LABELS, FIGURE_ARMS
from mstl_lib.validation import check_choice, check_integer, check_number
from mstl_lib.visualize.common import (
    BACKBONE_LABELS,
    BACKBONE_ORDER,
    COMBO_COLORS,
    OPTIMIZER_LABELS,
    OPTIMIZER_ORDER,
    TL_LINESTYLES,
    check_results,
    display_label,
    figure_with_axes,
    new_figure,
    optimizer_color,
    ordered,
    root_figure,
)


def plot_confusion_matrix(
    matrix, class_names, normalize: bool = False, *, ax=None, title: str | None = None, cmap: str = "Blues"
) -> Figure:
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
        One Axes holding the matrix, and a colour bar.

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
        fig = root_figure(ax)
    vmax = 1.0 if normalize else max(values.max(), 1.0)
    image = ax.imshow(values, cmap=cmap, vmin=0, vmax=vmax)
    integer = np.allclose(counts, np.round(counts))
    for i in range(n):
        for j in range(n):
            count = f"{int(round(counts[i, j]))}" if integer else f"{counts[i, j]:.3g}"
            text = f"{values[i, j]:.2f}\n({count})" if normalize else count
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=10,
                color="white" if values[i, j] > 0.55 * vmax else "black",
            )
    ax.set_xticks(range(n), class_names)
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title)
    fig.colorbar(image, ax=ax, shrink=0.9, label="rate" if normalize else "count")
    return fig


def roc_points(y_true, y_score) -> tuple[np.ndarray, np.ndarray]:
    """Every point of the empirical ROC curve, as the figures draw it.

    :func:`mstl_lib.evaluation.metrics.roc_curve` with
    ``drop_intermediate=False``: no point dropped.

    Parameters
    ----------
    y_true : array-like of {0, 1}
        Labels, 1 = malignant (positive).
    y_score : array-like of float
        Probability of malignant, in [0, 1].

    Returns
    -------
    fpr, tpr : numpy.ndarray
        From ``(0, 0)`` to ``(1, 1)``, one point per distinct score
        (descending), ties handled as one step.

    Raises
    ------
    DataError
        As :func:`mstl_lib.evaluation.metrics.roc_curve`: lengths differ,
        labels are not 0/1, scores are not probabilities, or one class is
        absent.
    """
    fpr, tpr, _ = roc_curve(y_true, y_score, drop_intermediate=False)
    return fpr, tpr


def _group(results) -> OrderedDict[tuple, list[dict]]:
    groups: OrderedDict = OrderedDict()
    tls = ordered([r["tl"] for r in results], FIGURE_ARMS)
    backbones = ordered([r["backbone"] for r in results], BACKBONE_ORDER)
    optimizers = ordered([r["optimizer"] for r in results], OPTIMIZER_ORDER)
    for backbone in backbones:
        for tl in tls:
            for optimizer in optimizers:
                members = [r for r in results if (r["tl"], r["backbone"], r["optimizer"]) == (tl, backbone, optimizer)]
                if members:
                    groups[(tl, backbone, optimizer)] = sorted(members, key=lambda r: r.get("fold", 0))
    return groups


#: False-positive rates at which ``average="mean"`` interpolates each fold's ROC curve.
MEAN_ROC_GRID = np.linspace(0.0, 1.0, 101)


def plot_roc_curves(
    results,
    *,
    average: str = "pooled",
    panel_by: str | None = "backbone",
    axes=None,
    band: bool = False,
    title: str | None = None,
) -> Figure:
    """ROC curves of the grid, one per (TL type, CNN, optimizer) (Ayana et al. 2022, Fig. 4).

    Parameters
    ----------
    results : list of dict
        Per-fold results of :func:`mstl_lib.training.stages.train_fold` (keys ``tl``,
        ``backbone``, ``optimizer``, ``fold``, ``y_true``, ``y_score``,
        ``roc``, ``metrics``).
    average : {"pooled", "mean"}, default "pooled"
        ``"pooled"``: one curve from the test predictions of all folds put
        together (:func:`roc_points`); the legend gives its AUC
        (:func:`mstl_lib.evaluation.metrics.roc_auc`).
        ``"mean"``: each fold's stored ROC (``result["roc"]``) interpolated
        at 101 false-positive rates and averaged (vertical averaging); the
        legend gives the mean ± std of the folds' AUCs
        (:func:`mstl_lib.evaluation.metrics.summarize_folds`).
    panel_by : {"backbone", None}, default "backbone"
        One panel per CNN (colour = optimizer, solid = MSTL, dashed = CTL),
        or everything in one panel.
    axes : sequence of Axes, optional
        As many Axes as panels.
    band : bool, default False
        With ``average="mean"``, shade ± one standard deviation of the TPR.
    title : str, optional
        Figure title; default names the figure, the averaging and the number
        of folds.

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
    average = check_choice(average, "average", ("pooled", "mean"))
    panel_by = check_choice(panel_by, "panel_by", ("backbone", None))
    needed = ("y_true", "y_score") if average == "pooled" else ("roc",)
    results = check_results(results, ("tl", "backbone", "optimizer") + needed)
    groups = _group(results)
    panels = ordered([r["backbone"] for r in results], BACKBONE_ORDER) if panel_by == "backbone" else [None]
    n_curves = len(groups) if panel_by is None else max(sum(1 for key in groups if key[1] == panel) for panel in panels)
    outside = panel_by is None and n_curves > 6
    own_figure = axes is None
    # "compressed": constrained layout made for fixed-aspect (square) axes
    width = 4.1 * len(panels) + (3.3 if outside else 0.0)
    fig, axes = figure_with_axes(axes, len(panels), (width, 5.0), sharey=True, layout="compressed")
    optimizers = ordered([r["optimizer"] for r in results], OPTIMIZER_ORDER)
    colours_and_names = _curve_identities(groups, optimizers, one_panel=panel_by is None)
    for ax, panel in zip(axes, panels):
        for key, members in groups.items():
            if panel is not None and key[1] != panel:
                continue
            color, name = colours_and_names[key]
            style = TL_LINESTYLES.get(key[0], "-.")
            if average == "pooled":
                _draw_pooled_curve(ax, members, name, style, color)
            else:
                _draw_mean_curve(ax, key, members, name, style, color, band)
        _finish_roc_panel(ax, panel, first=ax is axes[0])
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


def _curve_identities(groups, optimizers: list, *, one_panel: bool) -> dict[tuple, tuple[str, str]]:
    """``{(tl, backbone, optimizer): (colour, legend name)}``.

    Where one panel (``one_panel``) mixes several CNNs, each (CNN, optimizer) gets its own
    colour and the name says all three; otherwise the colour is the
    optimizer's and the name leaves out the CNN (the panel title says it).
    """
    combos = list(dict.fromkeys((b, o) for _, b, o in groups))
    several_backbones = one_panel and len({b for b, _ in combos}) > 1
    identities = {}
    for tl, backbone, optimizer in groups:
        arm, opt = display_label(ARM_LABELS, tl), display_label(OPTIMIZER_LABELS, optimizer)
        if several_backbones:
            color = COMBO_COLORS[combos.index((backbone, optimizer)) % len(COMBO_COLORS)]
            name = f"{arm} {display_label(BACKBONE_LABELS, backbone)} {opt}"
        else:
            color = optimizer_color(optimizer, optimizers.index(optimizer))
            name = f"{arm} {opt}"
        identities[(tl, backbone, optimizer)] = (color, name)
    return identities


def _draw_pooled_curve(ax, members: list[dict], name: str, style: str, color: str) -> None:
    """One ROC curve from the test predictions of all folds together, its AUC in the legend."""
    y_true = np.concatenate([np.asarray(r["y_true"], float).reshape(-1) for r in members])
    y_score = np.concatenate([np.asarray(r["y_score"], float).reshape(-1) for r in members])
    fpr, tpr = roc_points(y_true, y_score)
    label = f"{name} (AUC {roc_auc(y_true, y_score):.3f})"
    ax.plot(fpr, tpr, style, color=color, linewidth=1.6, label=label, drawstyle="default")


def _draw_mean_curve(ax, key: tuple, members: list[dict], name: str, style: str, color: str, band: bool) -> None:
    """The folds' stored ROC curves averaged vertically on :data:`MEAN_ROC_GRID`, mean ± std AUC in the legend."""
    curves, aucs = [], []
    for r in members:
        fpr, tpr = _stored_roc(key, r)
        interp = np.interp(MEAN_ROC_GRID, fpr, tpr)
        interp[0] = 0.0
        curves.append(interp)
        fold_auc = r.get("metrics", {}).get("auc") if isinstance(r.get("metrics"), dict) else None
        aucs.append({"auc": float(fold_auc) if fold_auc is not None else curve_auc(fpr, tpr)})
    curves = np.asarray(curves)
    mean = curves.mean(axis=0)
    mean[-1] = 1.0
    label = f"{name} (AUC {format_mean_std(*summarize_folds(aucs)['auc'])})"
    ax.plot(MEAN_ROC_GRID, mean, style, color=color, linewidth=1.6, label=label)
    if band and len(curves) > 1:
        spread = curves.std(axis=0, ddof=1)
        low, high = np.clip(mean - spread, 0, 1), np.clip(mean + spread, 0, 1)
        ax.fill_between(MEAN_ROC_GRID, low, high, color=color, alpha=0.12, linewidth=0)


def _stored_roc(key: tuple, result: dict) -> tuple[np.ndarray, np.ndarray]:
    """A fold's stored ``roc`` as two arrays, checked."""
    roc = result["roc"]
    fpr = np.asarray(roc.get("fpr", []), float) if isinstance(roc, dict) else np.array([])
    tpr = np.asarray(roc.get("tpr", []), float) if isinstance(roc, dict) else np.array([])
    if fpr.size < 2 or fpr.shape != tpr.shape:
        tl, backbone, optimizer = key
        raise DataError(
            f"{tl} {backbone} {optimizer} fold {result.get('fold', '?')}: roc must hold equally long "
            "'fpr' and 'tpr' lists of at least two points."
        )
    return fpr, tpr


def _finish_roc_panel(ax, panel, *, first: bool) -> None:
    """Chance diagonal, square unit axes, labels, title and grid of one ROC panel."""
    ax.plot([0, 1], [0, 1], ":", color="0.5", linewidth=1, label="chance (AUC 0.5)")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_box_aspect(1)
    ax.set_xlabel("false-positive rate (1 - specificity)")
    if first:
        ax.set_ylabel("true-positive rate (sensitivity)")
    if panel is not None:
        ax.set_title(display_label(BACKBONE_LABELS, panel))
    ax.grid(alpha=0.3)


#: Metrics drawn in percent.
PERCENT_METRICS = ("accuracy", "auc", "f1", "sensitivity", "specificity")


def plot_optimizer_backbone_effects(
    results, *, metric: str = "accuracy", axes=None, title: str | None = None
) -> Figure:
    """Mean test accuracy ± std by optimizer and CNN, MSTL beside CTL (Ayana et al. 2022, Fig. 5).

    Parameters
    ----------
    results : list of dict
        Per-fold results of :func:`mstl_lib.training.stages.train_fold`.
    metric : str, default "accuracy"
        Key of ``result["metrics"]``; rates (accuracy, AUC, F1, sensitivity,
        specificity) are shown in percent.
    axes : sequence of Axes, optional
        One Axes per transfer type present (MSTL first).
    title : str, optional
        Figure title; default names the metric and the number of folds.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per transfer type; in each, groups of bars per CNN, one bar
        per optimizer, height = mean over folds, error bar = sample standard
        deviation (ddof=1), as in Table 1
        (:func:`mstl_lib.evaluation.metrics.summarize_folds`). A single fold
        has no standard deviation and gets no error bar.

    Raises
    ------
    DataError
        No results, or a result without ``metrics[metric]``.
    """
    results = check_results(results, ("tl", "backbone", "optimizer", "metrics"))
    for i, r in enumerate(results):
        if not isinstance(r["metrics"], dict) or metric not in r["metrics"]:
            raise DataError(f"results[{i}]['metrics'] has no {metric!r}.")
    percent = metric in PERCENT_METRICS
    tls = ordered([r["tl"] for r in results], FIGURE_ARMS)
    backbones = ordered([r["backbone"] for r in results], BACKBONE_ORDER)
    optimizers = ordered([r["optimizer"] for r in results], OPTIMIZER_ORDER)
    own_figure = axes is None
    width = max(4.0, 1.4 + 1.5 * len(backbones)) * len(tls) + 0.9
    fig, axes = figure_with_axes(axes, len(tls), (width, 3.9), sharey=True)
    top = 0.0
    for ax, tl in zip(axes, tls):
        for k, optimizer in enumerate(optimizers):
            means, stds = _fold_means(results, metric, tl, optimizer, backbones, percent)
            top = max(top, float(np.nanmax(means + np.nan_to_num(stds), initial=0.0)))
            _draw_bars(ax, means, stds, k, len(optimizers), optimizer, percent)
        ax.set_xticks(np.arange(len(backbones)), [display_label(BACKBONE_LABELS, b) for b in backbones])
        ax.set_title(display_label(ARM_LABELS, tl))
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
        folds = f"{n_folds} fold{'s' if n_folds != 1 else ''}"
        title = f"Effect of optimizer and CNN on {name} (Fig. 5): mean ± std over {folds}"
    fig.suptitle(title, fontsize=11)
    return fig


def _fold_means(results, metric: str, tl, optimizer, backbones, percent: bool) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample std over folds of ``metric`` per backbone (nan where undefined), in percent if asked."""
    scale = 100.0 if percent else 1.0
    means, stds = [], []
    for backbone in backbones:
        folds = [
            {metric: r["metrics"][metric]}
            for r in results
            if (r["tl"], r["backbone"], r["optimizer"]) == (tl, backbone, optimizer)
        ]
        mean, std = summarize_folds(folds)[metric] if folds else (np.nan, np.nan)
        means.append(scale * mean)
        stds.append(scale * std)
    return np.asarray(means), np.asarray(stds)


def _draw_bars(ax, means, stds, k: int, n_optimizers: int, optimizer, percent: bool) -> None:
    """The ``k``-th optimizer's bars, one per backbone, with error bars and value labels."""
    width = 0.8 / n_optimizers
    bars = ax.bar(
        np.arange(len(means)) + (k - (n_optimizers - 1) / 2) * width,
        np.nan_to_num(means),
        width * 0.92,
        yerr=stds,
        capsize=3,
        color=optimizer_color(optimizer, k),
        label=display_label(OPTIMIZER_LABELS, optimizer),
        error_kw={"elinewidth": 1, "ecolor": "0.25"},
    )
    ax.bar_label(
        bars,
        labels=["" if np.isnan(m) else f"{m:.1f}" if percent else f"{m:.3f}" for m in means],
        padding=2,
        fontsize=7,
    )


def plot_leakage(leaks, *, ax=None, title: str | None = "How leaks inflate accuracy") -> Figure:
    """Bar chart of :func:`mstl_lib.evaluation.leakage.leakage_experiment`: accuracy ± std per scenario.

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
        fig = new_figure(7.5, 0.6 + 0.55 * len(leaks))
        ax = fig.subplots()
    else:
        fig = root_figure(ax)
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


def plot_score_histograms(
    results: dict, *, title: str = "test scores", threshold: float = 0.5, bins: int = 40, axes=None
) -> Figure:
    """The test scores of each model, benign and malignant stacked, one panel per model.

    A model that separates the classes puts the two colours on either side of
    the decision threshold (dashed); a collapsed one piles every score on one
    side, whatever the class.

    Parameters
    ----------
    results : dict
        ``{name: result}``, each result holding ``y_true`` and ``y_score``
        (as :func:`mstl_lib.training.stages.train_fold` writes them).
    title : str
        Panel titles read ``"<name>: <title>"``.
    threshold : float, default 0.5
        The decision threshold, drawn as a dashed line.
    bins : int, default 40
        Bins over [0, 1].
    axes : sequence of Axes, optional
        One per model; default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        One histogram per model (counts of test images), sharing the y axis.
    """
    if not isinstance(results, dict) or not results:
        raise DataError("results must be a non-empty dict {name: result with y_true and y_score}.")
    threshold = check_number(threshold, "threshold", minimum=0, maximum=1)
    bins = check_integer(bins, "bins", minimum=1)
    fig, axes = figure_with_axes(axes, len(results), (5 * len(results), 3.8), sharey=True)
    edges = np.linspace(0, 1, bins + 1)
    for ax, (name, result) in zip(axes, results.items()):
        y_true, y_score = check_predictions(result["y_true"], result["y_score"])
        groups = [y_score[y_true == 0], y_score[y_true == 1]]
        ax.hist(groups, bins=edges, stacked=True, label=["benign", "malignant"])
        ax.axvline(threshold, color="black", linestyle="--")
        ax.set(title=f"{name}: {title}", xlabel="score (probability of malignant)")
        ax.set_ylabel("images")
    axes[-1].legend()
    return fig

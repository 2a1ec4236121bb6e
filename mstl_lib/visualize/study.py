"""Figures of the study (lesson 8): AUC against target-set size, paired differences, the quantity curve.

Each function takes a :class:`mstl_lib.evaluation.study.StudyReport` (or the
matching rows of its tidy table) and draws intervals that are the corrected
repeated cross-validation intervals of
:func:`mstl_lib.evaluation.study.study_table`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mstl_lib.errors import DataError
from mstl_lib.evaluation.study import STUDY_ARMS, StudyReport, size_order, size_text
from mstl_lib.profiles import ARM_LABELS
from mstl_lib.visualize.common import TL_LINESTYLES, display_label, figure_with_axes, ordered

__all__ = ["STUDY_ARM_COLORS", "plot_study_auc", "plot_study_differences", "plot_quantity_curve"]

STUDY_ARM_COLORS = {
    "mstl": "#d62728",
    "control": "#9467bd",
    "ctl": "#1f77b4",
    "scratch": "#7f7f7f",
    "baseline": "#8c564b",
}
"""One colour per arm, the same in every figure of the study."""
SIZE_AXIS_LABEL = "images per class in the training part"


def _rows(data, attribute: str, name: str) -> pd.DataFrame:
    rows = getattr(data, attribute) if isinstance(data, StudyReport) else data
    if not isinstance(rows, pd.DataFrame):
        raise DataError(f"{name} needs a StudyReport (mstl_lib.evaluation.study.study_report) or a DataFrame.")
    if rows.empty:
        raise DataError(f"{name}: nothing to plot; the study has no finished unit for it yet.")
    missing = [c for c in ("size_label", "estimate", "low", "high") if c not in rows.columns]
    if missing:
        raise DataError(f"{name}: the rows lack {', '.join(missing)}; pass rows of the study table.")
    return rows


def _error(rows: pd.DataFrame) -> np.ndarray:
    """Error bar lengths below and above each estimate (0 where no interval is defined)."""
    low = (rows["estimate"] - rows["low"]).fillna(0).to_numpy(float)
    high = (rows["high"] - rows["estimate"]).fillna(0).to_numpy(float)
    return np.vstack([low, high])


def _size_axis(ax, sizes: list[str]) -> dict:
    positions = {size: i for i, size in enumerate(sizes)}
    ax.set_xticks(range(len(sizes)), sizes)
    ax.set_xlim(-0.5, len(sizes) - 0.5)
    ax.set_xlabel(SIZE_AXIS_LABEL)
    return positions


def plot_study_auc(data, *, arms=None, ax=None, title: str | None = "Test AUC against target-set size") -> Figure:
    """Mean test AUC with 95% intervals against images per class, one line per arm.

    Parameters
    ----------
    data : StudyReport or pandas.DataFrame
        A study report (its :attr:`~mstl_lib.evaluation.study.StudyReport.arms`)
        or rows of the tidy table with ``kind == "auc"``.
    arms : sequence of str, optional
        Which arms, in legend order; default all, in :data:`STUDY_ARMS` order.
    ax : matplotlib.axes.Axes, optional
        Where to draw.
    title : str or None

    Returns
    -------
    matplotlib.figure.Figure
        One error-bar line per arm; x: sizes in order (``all`` last), evenly spaced.
    """
    rows = _rows(data, "arms", "plot_study_auc")
    fig, (ax,) = figure_with_axes(ax, 1, (6.5, 4.2))
    arms = ordered(rows["arm"], STUDY_ARMS) if arms is None else list(arms)
    positions = _size_axis(ax, size_order(rows["size_label"]))
    for i, arm in enumerate(arms):
        line = rows[rows["arm"] == arm].copy()
        if line.empty:
            raise DataError(f"plot_study_auc: no rows for arm {arm!r}; the study has {sorted(set(rows['arm']))}.")
        line = line.assign(x=line["size_label"].map(positions)).sort_values("x")
        offset = 0.06 * (i - (len(arms) - 1) / 2)
        ax.errorbar(
            line["x"] + offset,
            line["estimate"],
            yerr=_error(line),
            marker="o",
            capsize=3,
            color=STUDY_ARM_COLORS.get(arm),
            linestyle=TL_LINESTYLES.get(arm, "-"),
            label=display_label(ARM_LABELS, arm),
        )
    ax.set_ylabel("mean test AUC (95% interval)")
    ax.legend(loc="lower right", fontsize=8)
    if title:
        ax.set_title(title)
    return fig


def plot_study_differences(
    data, comparisons=(("mstl", "ctl"), ("mstl", "control")), *, axes=None, sharey: bool = True
) -> Figure:
    """Paired differences in test AUC against images per class, one panel per comparison, with a zero line.

    Filled markers: resolved after Holm's adjustment; open markers: not
    resolved (the interval is that comparison's own 95% interval).

    Parameters
    ----------
    data : StudyReport or pandas.DataFrame
        A study report (its differences) or rows with ``arm``, ``versus``,
        ``size_label``, ``estimate``, ``low``, ``high`` and ``resolved``.
    comparisons : sequence of (arm, versus)
        One panel each, ``arm - versus``.
    axes : sequence of Axes, optional
        One per comparison.
    sharey : bool
        For a new figure: one y scale for all panels.
    """
    rows = _rows(data, "differences", "plot_study_differences")
    comparisons = [tuple(c) for c in comparisons]
    fig, axes = figure_with_axes(axes, len(comparisons), (4.2 * len(comparisons), 3.8), sharey=sharey)
    sizes = size_order(rows["size_label"])
    for ax, (arm, versus) in zip(axes, comparisons):
        panel = rows[(rows["arm"] == arm) & (rows["versus"] == versus)]
        if panel.empty:
            raise DataError(f"plot_study_differences: the study has no comparison {arm} - {versus}.")
        positions = _size_axis(ax, sizes)
        panel = panel.assign(x=panel["size_label"].map(positions)).sort_values("x")
        color = STUDY_ARM_COLORS.get(versus)
        ax.axhline(0.0, color="black", linewidth=0.8, linestyle="--", label="no difference")
        ax.errorbar(
            panel["x"],
            panel["estimate"],
            yerr=_error(panel),
            marker="o",
            markerfacecolor="white",
            capsize=3,
            color=color,
            label="difference (95% interval)",
        )
        resolved = panel[panel["resolved"].fillna(False).astype(bool)]
        if not resolved.empty:
            ax.plot(resolved["x"], resolved["estimate"], "o", color=color, label="resolved after Holm")
        label = f"{display_label(ARM_LABELS, arm)} - {display_label(ARM_LABELS, versus)}"
        ax.set_title(label)
        ax.set_ylabel(f"{label}, test AUC")
        ax.legend(fontsize=7, loc="best")
    return fig


def plot_quantity_curve(report: StudyReport, *, references=("ctl", "control"), ax=None) -> Figure:
    """MSTL's test AUC against the fraction of stage-1 patches, at the quantity size, with reference arms.

    The paper's open question (Ayana et al. 2022, section 4): does the
    quantity of cell-line images matter? Each point is MSTL trained after a
    stage 1 on that fraction of the patches; the horizontal lines and bands
    are the reference arms at the same size (their mean AUC and 95% interval).

    Parameters
    ----------
    report : StudyReport
    references : sequence of str
        Arms drawn as horizontal references (those the study has at that size).
    ax : matplotlib.axes.Axes, optional
    """
    if not isinstance(report, StudyReport):
        raise DataError("plot_quantity_curve needs a StudyReport (mstl_lib.evaluation.study.study_report).")
    curve = report.quantity
    if curve.empty or curve["stage1_fraction"].nunique() < 2:
        raise DataError("plot_quantity_curve: the study has no quantity experiment (MSTL at fractions below 1).")
    fig, (ax,) = figure_with_axes(ax, 1, (6, 4))
    ax.errorbar(
        curve["stage1_fraction"],
        curve["estimate"],
        yerr=_error(curve),
        marker="o",
        capsize=3,
        color=STUDY_ARM_COLORS["mstl"],
        label=display_label(ARM_LABELS, "mstl"),
    )
    arms = report.arms
    for arm in references:
        row = arms[(arms["arm"] == arm) & (arms["size_label"] == report.quantity_size)]
        if row.empty:
            continue
        row = row.iloc[0]
        color = STUDY_ARM_COLORS.get(arm)
        ax.axhline(row["estimate"], color=color, linestyle="--", label=display_label(ARM_LABELS, arm))
        if pd.notna(row["low"]):
            ax.axhspan(row["low"], row["high"], color=color, alpha=0.12)
    ax.set_xscale("log")
    fractions = list(curve["stage1_fraction"])
    ax.set_xticks(fractions, [f"{f:.0%}" for f in fractions])
    ax.minorticks_off()
    ax.set_xlabel("fraction of the stage-1 patches")
    ax.set_ylabel("mean test AUC (95% interval)")
    ax.set_title(f"Quantity of cell-line images, {size_text(report.quantity_size)}")
    ax.legend(fontsize=8, loc="lower right")
    return fig

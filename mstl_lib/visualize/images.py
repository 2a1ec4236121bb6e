"""Figures of images: the segmentation steps (Fig. 2) and contact sheets."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

from mstl_lib.errors import DataError
from mstl_lib.validation import check_integer
from mstl_lib.visualize.common import as_image, new_figure, show_image

#: The steps of a segmentation that :func:`draw_segmentation_panels` can draw, in order.
SEGMENTATION_STEPS = ("frame", "binary", "cleaned", "boxes")


def draw_segmentation_panels(axes, frame, segmentation, titles: dict) -> None:
    """Draw steps of a frame's segmentation into ``axes``, one step per Axes (Ayana et al. 2022, Fig. 2).

    The panels shared by :func:`plot_segmentation_steps` and the
    segmentation explorer (:func:`mstl_lib.visualize.explorers.draw_segmentation`).

    Parameters
    ----------
    axes : sequence of matplotlib.axes.Axes
        One per entry of ``titles``.
    frame : numpy.ndarray
        The frame that was segmented.
    segmentation : mstl_lib.data.segmentation.Segmentation
        Made with ``return_intermediates=True``.
    titles : dict of str to str
        ``{step: panel title}`` for the steps to draw, in drawing order, each
        one of :data:`SEGMENTATION_STEPS`: ``"frame"`` the original frame,
        ``"binary"`` the adaptive-threshold image, ``"cleaned"`` the cleaned
        mask whose contours give the boxes, ``"boxes"`` the boxes on the
        frame (kept in green, rejected by the width + height cut-off in red).
    """
    from mstl_lib.data.segmentation import draw_boxes

    unknown = [step for step in titles if step not in SEGMENTATION_STEPS]
    if unknown or len(axes) != len(titles):
        raise DataError(f"need one Axes per step of {', '.join(SEGMENTATION_STEPS)}; got {list(titles)}.")
    height, width = segmentation.binary.shape[:2]
    images = {
        "frame": lambda: as_image(frame, "frame"),
        "binary": lambda: segmentation.binary,
        "cleaned": lambda: segmentation.cleaned,
        "boxes": lambda: draw_boxes(
            frame,
            segmentation.boxes,
            segmentation.rejected,
            color=(0, 200, 0),
            rejected_color=(230, 0, 0),
            thickness=max(2, int(round(max(height, width) / 300))),
        ),
    }
    for ax, (step, title) in zip(axes, titles.items()):
        show_image(ax, images[step](), title=title)


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
    segmentation : mstl_lib.data.segmentation.Segmentation
        From ``segment_frame(frame, return_intermediates=True)``.
    n_patches : int, default 8
        Largest number of patches in the strip (evenly spread over the kept
        boxes, in reading order).
    title : str, optional
        Figure title; default states the counts.

    Returns
    -------
    matplotlib.figure.Figure
        Panels (a) to (d) in a row, the strip of patches (e) below.

    Raises
    ------
    DataError
        If the segmentation was made without ``return_intermediates=True``,
        or its images do not match the frame.
    """
    frame_img = _check_segmentation(frame, segmentation)
    n_patches = check_integer(n_patches, "n_patches", minimum=0)
    height, width = frame_img.shape[:2]
    panel_w = 3.1
    panel_h = panel_w * height / width
    n_show = min(n_patches, len(segmentation.patches))
    fig = new_figure(4 * panel_w, panel_h + (1.9 if n_show else 0) + 0.6)
    if n_show:
        top, bottom = fig.subfigures(2, 1, height_ratios=[panel_h + 0.4, 1.9])
    else:
        top, bottom = fig, None
    titles = {
        "frame": "(a) original frame",
        "binary": "(b) adaptive threshold",
        "cleaned": "(c) cleaned mask",
        "boxes": f"(d) boxes: {len(segmentation.boxes)} kept (green),\n"
        f"{len(segmentation.rejected)} rejected, w + h < "
        f"{segmentation.params.get('min_box_sum', '?')} px (red)",
    }
    draw_segmentation_panels(top.subplots(1, 4), frame, segmentation, titles)
    if bottom is not None:
        _draw_patch_strip(bottom, segmentation, n_show)
    if title is None:
        title = (
            f"Segmentation of a cell-line frame into single-cell patches (Fig. 2): {len(segmentation.boxes)} patches"
        )
    fig.suptitle(title, fontsize=11)
    return fig


def _check_segmentation(frame, segmentation) -> np.ndarray:
    """The frame ready for imshow, once ``segmentation`` is known to hold its steps for this frame."""
    from mstl_lib.data.segmentation import Segmentation

    if not isinstance(segmentation, Segmentation):
        raise DataError(
            f"segmentation must be the Segmentation returned by segment_frame, got {type(segmentation).__name__}."
        )
    if segmentation.binary is None or segmentation.cleaned is None:
        raise DataError(
            "segmentation has no intermediate images; call "
            "segment_frame(frame, return_intermediates=True) to draw its steps."
        )
    frame_img = as_image(frame, "frame")
    if frame_img.shape[:2] != segmentation.binary.shape[:2]:
        raise DataError(
            f"frame is {frame_img.shape[0]}x{frame_img.shape[1]} but the segmentation was made on a "
            f"{segmentation.binary.shape[0]}x{segmentation.binary.shape[1]} frame."
        )
    return frame_img


def _draw_patch_strip(subfigure, segmentation, n_show: int) -> None:
    """Panel (e): up to ``n_show`` patches, evenly spread over the kept boxes, with their sizes."""
    picks = np.unique(np.linspace(0, len(segmentation.patches) - 1, n_show).round().astype(int))
    strip = subfigure.subplots(1, max(len(picks), 1), squeeze=False)[0]
    for ax, k in zip(strip, picks):
        box = segmentation.boxes[k]
        show_image(ax, as_image(segmentation.patches[k], "patch"), title=f"{box.w}x{box.h}", fontsize=8)
        ax.set_anchor("N")
    subfigure.suptitle(
        f"(e) example patches ({len(picks)} of {len(segmentation.patches)}), cropped from the original frame",
        fontsize=9,
    )


def plot_image_grid(
    images, titles=None, ncols: int = 6, *, suptitle: str | None = None, panel_size: float = 1.7, cmap: str = "gray"
) -> Figure:
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
    prepared = [as_image(image, f"images[{i}]") for i, image in enumerate(images)]
    if titles is not None:
        titles = [str(t) for t in titles]
        if len(titles) != len(prepared):
            raise DataError(f"got {len(titles)} titles for {len(prepared)} images.")
    ncols = min(check_integer(ncols, "ncols", minimum=1), len(prepared))
    nrows = math.ceil(len(prepared) / ncols)
    extra = 0.25 if titles is not None else 0.0
    fig = new_figure(ncols * panel_size, nrows * (panel_size + extra) + (0.4 if suptitle else 0.0))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for i, ax in enumerate(axes):
        if i >= len(prepared):
            ax.set_axis_off()
            continue
        show_image(ax, prepared[i], title=titles[i] if titles is not None else None, cmap=cmap, fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    return fig

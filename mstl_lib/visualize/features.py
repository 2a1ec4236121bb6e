"""What the networks look at, drawn: feature maps of five stages (Fig. 6) and Grad-CAM overlays."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from matplotlib.figure import Figure

from mstl_lib.data.images import resize_heatmap
from mstl_lib.errors import DataError
from mstl_lib.validation import check_choice, check_image, check_integer, check_number
from mstl_lib.visualize.common import as_image, figure_with_axes, new_figure, root_figure, show_image


def _check_maps(maps_by_model) -> OrderedDict[str, list[tuple[str, np.ndarray]]]:
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
                raise DataError(f"feature map {layer!r} of {model_name!r} must be HxWxC, got shape {array.shape}.")
            rows.append((str(layer), array))
        checked[str(model_name)] = rows
    return checked


def _channels(array: np.ndarray, n: int, select: str) -> list[int]:
    n = min(n, array.shape[2])
    if select == "strongest":
        return [int(c) for c in np.argsort(-array.mean(axis=(0, 1)), kind="stable")[:n]]
    return list(range(n))


def plot_feature_maps(
    maps_by_model,
    n_channels: int = 3,
    *,
    image=None,
    mode: str = "channels",
    select: str = "first",
    cmap: str = "viridis",
    title: str | None = None,
) -> Figure:
    """Feature maps of several networks at their convolution stages (Ayana et al. 2022, Fig. 6).

    Parameters
    ----------
    maps_by_model : dict of str to list of (str, numpy.ndarray)
        For each network (e.g. ``{"MSTL": ..., "CTL": ...}``) its
        ``(layer_name, h x w x c activation)`` pairs, shallow to deep, as
        :func:`mstl_lib.models.features.feature_maps` returns them.
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
        Figure title; default names the networks compared.

    Returns
    -------
    matplotlib.figure.Figure
        ``mode="channels"``: one sub-figure per network, a row per stage;
        ``mode="mean"``: one grid, a row per network.

    Raises
    ------
    DataError
        An empty dict or list, a map that is not ``h x w x c``, or bad
        ``n_channels`` / ``mode``.
    """
    maps = _check_maps(maps_by_model)
    mode = check_choice(mode, "mode", ("channels", "mean"))
    select = check_choice(select, "select", ("first", "strongest"))
    n_channels = check_integer(n_channels, "n_channels", minimum=0)
    input_image = as_image(image, "image") if image is not None else None
    if title is None:
        title = "Feature maps at the convolution stages (Fig. 6): " + " vs ".join(maps)
    if mode == "mean":
        fig = _plot_stage_means(maps, input_image, cmap)
        fig.suptitle(title + " (mean over channels)", fontsize=11)
        return fig
    fig = _plot_stage_channels(maps, input_image, n_channels, select, cmap)
    fig.suptitle(title, fontsize=11)
    return fig


def _shape_text(array: np.ndarray) -> str:
    return f"{array.shape[0]}x{array.shape[1]}x{array.shape[2]}"


def _plot_stage_means(maps, input_image, cmap: str) -> Figure:
    """Compact Fig. 6: a row per network, a column per stage, each panel the mean over channels."""
    names = list(maps)
    n_stages = max(len(rows) for rows in maps.values())
    offset = 1 if input_image is not None else 0
    fig = new_figure(1.55 * (n_stages + offset) + 0.3, 1.75 * len(names) + 0.5)
    axes = fig.subplots(len(names), n_stages + offset, squeeze=False)
    for r, model_name in enumerate(names):
        if input_image is not None:
            show_image(axes[r, 0], input_image, title="input" if r == 0 else None, fontsize=8)
        for c in range(n_stages):
            ax = axes[r, offset + c]
            if c >= len(maps[model_name]):
                ax.set_axis_off()
                continue
            layer, array = maps[model_name][c]
            show_image(ax, array.mean(axis=2), cmap=cmap, fontsize=7, title=f"{layer}\n{_shape_text(array)}")
        axes[r, 0].set_ylabel(model_name, fontsize=11, fontweight="bold")
    return fig


def _plot_stage_channels(maps, input_image, n_channels: int, select: str, cmap: str) -> Figure:
    """Full Fig. 6: the networks side by side, a row per stage: the channel mean, then single channels."""
    n_stages = max(len(rows) for rows in maps.values())
    max_c = max(array.shape[2] for rows in maps.values() for _, array in rows)
    n_cols = 1 + min(n_channels, max_c)
    panel = 1.25
    widths = ([1.3] if input_image is not None else []) + [n_cols * panel] * len(maps)
    fig = new_figure(sum(widths) + 0.3 * len(maps), n_stages * panel + 0.9)
    subfigs = np.ravel(fig.subfigures(1, len(widths), width_ratios=widths, wspace=0.02))
    if input_image is not None:
        left, subfigs = subfigs[0], subfigs[1:]
        grid = left.add_gridspec(3, 1, height_ratios=[1, 1.2, 1])
        show_image(left.add_subplot(grid[1]), input_image, title="input image", fontsize=9)
    for sub, (model_name, rows) in zip(subfigs, maps.items()):
        axes = sub.subplots(n_stages, n_cols, squeeze=False)
        for r in range(n_stages):
            if r >= len(rows):
                for ax in axes[r]:
                    ax.set_axis_off()
                continue
            _draw_stage_row(axes[r], rows[r], first_row=r == 0, select=select, cmap=cmap)
        sub.suptitle(model_name, fontsize=11, fontweight="bold")
    return fig


def _draw_stage_row(axes, stage: tuple[str, np.ndarray], *, first_row: bool, select: str, cmap: str) -> None:
    """One stage of one network: the mean over channels, then the chosen channels (:func:`_channels`)."""
    layer, array = stage
    chosen = _channels(array, len(axes) - 1, select)
    show_image(axes[0], array.mean(axis=2), cmap=cmap, title="mean of channels" if first_row else None, fontsize=7)
    axes[0].set_ylabel(f"{layer}\n{_shape_text(array)}", fontsize=7)
    for ax, c in zip(axes[1:], range(len(axes) - 1)):
        if c >= len(chosen):
            ax.set_axis_off()
            continue
        title = f"channel {chosen[c]}" if (first_row or select == "strongest") else None
        show_image(ax, array[:, :, chosen[c]], cmap=cmap, fontsize=7, title=title)


def plot_gradcam(
    image, heatmap, alpha: float = 0.4, *, axes=None, title: str | None = None, cmap: str = "jet"
) -> Figure:
    """A Grad-CAM heat map next to and over its image.

    Panels: the image, the heat map (with a colour bar) and the overlay
    (:func:`mstl_lib.visualize.features.overlay_heatmap`). Grad-CAM is our addition to
    the paper's feature-map comparison (Fig. 6): a class-specific view of
    where the network looks.

    Parameters
    ----------
    image : numpy.ndarray
        ``H x W x 3`` RGB or ``H x W`` grayscale, ``uint8`` or float.
    heatmap : numpy.ndarray
        ``h x w`` in [0, 1] (:func:`mstl_lib.models.features.grad_cam`); resized to
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
        Image, heat map and overlay, or the overlay alone when one Axes is
        given.

    Raises
    ------
    DataError
        Bad image or heat map shapes, or ``alpha`` outside [0, 1].
    """
    image_arr = as_image(image, "image")
    overlay = overlay_heatmap(np.asarray(image), heatmap, alpha=alpha, cmap=cmap)
    heat = resize_heatmap(np.clip(np.asarray(heatmap, dtype=np.float32), 0, 1), image_arr.shape[:2])
    if axes is not None and hasattr(axes, "plot"):
        fig = root_figure(axes)
        show_image(axes, overlay, title=title, fontsize=9)
        return fig
    fig, axes = figure_with_axes(axes, 3, (8.4, 3.2))
    show_image(axes[0], image_arr, title="image")
    artist = show_image(axes[1], heat, title="Grad-CAM heat map", cmap=cmap, vmin=0.0, vmax=1.0)
    fig.colorbar(artist, ax=axes[1], fraction=0.046, pad=0.04)
    show_image(axes[2], overlay, title=f"overlay (alpha {alpha:g})")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def overlay_heatmap(image, heatmap, alpha: float = 0.4, cmap: str = "jet") -> np.ndarray:
    """Blend a heat map, coloured with a colormap, onto an image.

    Parameters
    ----------
    image : numpy.ndarray
        ``H x W x 3`` RGB or ``H x W`` grayscale; ``uint8``, or float in
        [0, 255] (float in [0, 1] is scaled up).
    heatmap : numpy.ndarray
        ``h x w`` values in [0, 1] (e.g. from :func:`grad_cam`); resized to
        the image when its size differs.
    alpha : float, default 0.4
        Weight of the coloured heat map, in [0, 1]; the image gets
        ``1 - alpha``.
    cmap : str, default "jet"
        Matplotlib colormap (the keras-io example uses jet).

    Returns
    -------
    numpy.ndarray
        ``uint8`` ``H x W x 3`` RGB.

    Raises
    ------
    DataError
        Bad shapes, or ``alpha`` outside [0, 1].
    """
    import matplotlib

    image = check_image(image, "image", channels=(1, 3, 4))
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    heatmap = check_image(heatmap, "heatmap", channels=(1,)).astype(np.float32)
    if not np.all(np.isfinite(heatmap)):
        raise DataError("heatmap holds NaN or infinite values.")
    alpha = check_number(alpha, "alpha", minimum=0.0, maximum=1.0)
    rgb = image[:, :, :3].astype(np.float32)
    if image.dtype.kind == "f" and rgb.max(initial=0.0) <= 1.0:
        rgb = rgb * 255.0
    heat = resize_heatmap(np.clip(heatmap, 0.0, 1.0), rgb.shape[:2])
    colours = matplotlib.colormaps[cmap](heat)[:, :, :3] * 255.0
    blended = (1.0 - alpha) * rgb + alpha * colours
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)

"""The figures behind the book's two interactive explorers (:mod:`mstl_lib.teaching.widgets`).

* :func:`draw_segmentation`: adaptive threshold, cleaned mask and boxes of
  one cell-line frame for a block size, offset and debris cut-off
  (Ayana et al. 2022, section 2.1 and Fig. 2);
* :func:`draw_feature_explorer`: feature maps and Grad-CAM of several
  networks for one image and convolution stage (MSTL vs CTL, Fig. 6).

Each returns a :class:`matplotlib.figure.Figure` and needs no kernel; the
widgets only wire controls to them. The checks of their inputs
(:func:`check_segment_keywords`, :func:`check_models`, :func:`check_images`,
:func:`stage_layers`) are shared with the widgets, which refuse bad input
before drawing anything. Keras is imported only when a feature figure is drawn.
"""

from __future__ import annotations

import inspect

import numpy as np

from mstl_lib.errors import DataError
from mstl_lib.validation import check_image, check_integer
from mstl_lib.visualize.common import new_figure, show_image
from mstl_lib.visualize.features import overlay_heatmap
from mstl_lib.visualize.images import draw_segmentation_panels

__all__ = [
    "draw_segmentation",
    "draw_feature_explorer",
    "check_segment_keywords",
    "check_models",
    "check_images",
    "stage_layers",
]


def check_segment_keywords(keywords: dict) -> None:
    """Refuse keywords that :func:`~mstl_lib.data.segmentation.segment_frame` does not take."""
    from mstl_lib.data.segmentation import segment_frame

    known = {name for name in inspect.signature(segment_frame).parameters if name != "frame"}
    unknown = set(keywords) - known
    if unknown or "return_intermediates" in keywords:
        shown = ", ".join(sorted(unknown or {"return_intermediates"}))
        raise DataError(f"unknown segment_frame keyword(s): {shown}.")


def draw_segmentation(
    frame, block_size: int = 51, offset: float | None = None, min_box_sum: int = 100, **segment_kwargs
):
    """Segment a frame and draw threshold, mask and boxes (Ayana et al. 2022, Fig. 2).

    The drawing behind :func:`mstl_lib.teaching.widgets.segmentation_explorer`, usable on its own.

    Parameters
    ----------
    frame : numpy.ndarray
        Cell-line frame (``HxW`` or ``HxWx3``, ``uint8``/``uint16``).
    block_size : int, default 51
        Side of the adaptive threshold's neighbourhood, odd and >= 3.
    offset : float or None, default None
        Threshold offset ``C`` in gray levels; None chooses it from the
        frame (:func:`mstl_lib.data.segmentation.auto_offset`).
    min_box_sum : int, default 100
        Boxes with width + height below this are rejected (paper: 100 px).
    **segment_kwargs
        Any other keyword of :func:`mstl_lib.data.segmentation.segment_frame`.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels: adaptive threshold, cleaned mask, boxes (kept green,
        rejected red); the title gives the parameters and counts.

    Raises
    ------
    DataError
        Bad frame or parameters (from ``segment_frame``), or an unknown
        keyword.
    """
    from mstl_lib.data.segmentation import segment_frame

    check_segment_keywords(segment_kwargs)
    seg = segment_frame(
        frame,
        block_size=block_size,
        offset=offset,
        min_box_sum=min_box_sum,
        return_intermediates=True,
        **segment_kwargs,
    )
    height, width = seg.binary.shape[:2]
    panel_w = 3.6
    fig = new_figure(3 * panel_w, panel_w * height / width + 0.9)
    titles = {
        "binary": f"adaptive threshold (block {block_size} px)",
        "cleaned": "cleaned mask",
        "boxes": f"{len(seg.boxes)} kept (green), {len(seg.rejected)} rejected (red)",
    }
    draw_segmentation_panels(fig.subplots(1, 3), frame, seg, titles)
    how = "automatic" if offset is None else "given"
    n = len(seg.boxes)
    fig.suptitle(
        f"block size {block_size} px, offset C = {seg.offset:.1f} gray levels ({how}), "
        f"keep w + h >= {min_box_sum} px: {n} patch{'' if n == 1 else 'es'}",
        fontsize=10,
    )
    return fig


def check_models(models) -> dict:
    """``models`` as a dict of named Keras models, the networks compared in Fig. 6; a DataError otherwise."""
    import keras

    if not isinstance(models, dict) or not models:
        raise DataError("models must be a non-empty dict {name: keras.Model}, e.g. {'MSTL': m1, 'CTL': m2}.")
    for name, model in models.items():
        if not isinstance(model, keras.Model):
            raise DataError(f"models[{name!r}] must be a keras.Model, got {type(model).__name__}.")
    return dict(models)


def check_images(images) -> np.ndarray:
    """``images`` as an ``N x H x W x 3`` array (one ``H x W x 3`` image becomes ``N = 1``); a DataError otherwise."""
    images = np.asarray(images)
    if images.ndim == 3 and images.shape[-1] == 3:
        images = images[None]
    return check_image(
        images, "images", batch=True, channels=(3,), kinds="biuf", fix="stack RGB images into one array."
    )


def stage_layers(models: dict, layers) -> dict[str, list[str]]:
    """Per model, the layer shown at each stage index: ``layers`` if given, else its five convolution stages."""
    from mstl_lib.models.features import conv_stage_layers

    if layers is not None:
        layers = [layers] if isinstance(layers, str) else list(layers)
        if not layers:
            raise DataError("layers is empty; give at least one layer name.")
        per_model = {}
        for name, model in models.items():
            present = {layer.name for layer in model.layers}
            missing = [n for n in layers if n not in present]
            if missing:
                raise DataError(f"models[{name!r}] has no layer(s) {', '.join(missing)}.")
            per_model[name] = list(layers)
        return per_model
    per_model = {name: conv_stage_layers(model) for name, model in models.items()}
    if len({len(v) for v in per_model.values()}) > 1:  # pragma: no cover - all backbones give five
        raise DataError("the models have different numbers of stages; pass layers=[...] explicitly.")
    return per_model


def _prediction_text(model, image) -> str:
    """The model's output for one image, as the title of its input panel."""
    import keras

    output = np.asarray(keras.ops.convert_to_numpy(model(image[None].astype(np.float32), training=False)))[0]
    output = output.reshape(-1)
    if output.size == 1:
        return f"p(malignant) = {float(output[0]):.2f}"
    k = int(np.argmax(output))
    return f"class {k} (p = {float(output[k]):.2f})"


def draw_feature_explorer(
    models,
    images,
    index: int = 0,
    stage: int = 0,
    labels=None,
    *,
    layers=None,
    n_channels: int = 3,
    alpha: float = 0.4,
    class_names=("benign", "malignant"),
):
    """Feature maps and Grad-CAM of several networks for one image and stage (Ayana et al. 2022, Fig. 6).

    The drawing behind :func:`mstl_lib.teaching.widgets.feature_map_explorer`, usable on its own.

    Parameters
    ----------
    models : dict of str to keras.Model
        E.g. ``{"MSTL": mstl_model, "CTL": ctl_model}``.
    images : numpy.ndarray
        ``N x H x W x 3`` raw RGB images in [0, 255] at the models' input size.
    index : int, default 0
        Which image.
    stage : int, default 0
        Which convolution stage, counted from 0 (an index into ``layers``,
        or into each model's :func:`mstl_lib.models.features.conv_stage_layers`).
    labels : sequence of int, optional
        True labels, shown in the title (0 = benign, 1 = malignant).
    layers : sequence of str, optional
        Layer names to choose from, the same for every model; default the
        five convolution stages of each model's backbone.
    n_channels : int, default 3
        Single channels shown after the channel mean.
    alpha : float, default 0.4
        Heat-map weight of the Grad-CAM overlay.
    class_names : sequence of str
        Names of the labels.

    Returns
    -------
    matplotlib.figure.Figure
        A row per model: input image, Grad-CAM overlay at the stage's layer
        (for the model's output: malignant for a sigmoid model, the predicted
        class for a softmax one), channel mean, first channels.

    Raises
    ------
    DataError
        Bad models, images, index, stage or labels.
    """
    from mstl_lib.models.features import feature_maps, grad_cam

    models = check_models(models)
    images = check_images(images)
    per_model = stage_layers(models, layers)
    n_stages = len(next(iter(per_model.values())))
    index = check_integer(index, "index", minimum=0, maximum=len(images) - 1)
    stage = check_integer(stage, "stage", minimum=0, maximum=n_stages - 1)
    if labels is not None and len(labels) != len(images):
        raise DataError(f"got {len(labels)} labels for {len(images)} images.")
    n_channels = check_integer(n_channels, "n_channels", minimum=0)
    image = images[int(index)]
    ncols = 3 + int(n_channels)
    fig = new_figure(1.75 * ncols, 1.95 * len(models) + 0.5)
    axes = fig.subplots(len(models), ncols, squeeze=False)
    for row, (name, model) in enumerate(models.items()):
        layer = per_model[name][int(stage)]
        ((_, activation),) = feature_maps(model, image, [layer])
        heat = grad_cam(model, image, layer_name=layer)
        show_image(
            axes[row, 0],
            image.astype(np.uint8) if image.dtype != np.uint8 else image,
            title=_prediction_text(model, image),
            fontsize=8,
        )
        axes[row, 0].set_ylabel(name, fontsize=11, fontweight="bold")
        show_image(axes[row, 1], overlay_heatmap(image, heat, alpha=alpha), title="Grad-CAM", fontsize=8)
        show_image(
            axes[row, 2],
            activation.mean(axis=2),
            cmap="viridis",
            fontsize=8,
            title=f"{layer}\n{activation.shape[0]}x{activation.shape[1]}x{activation.shape[2]}, mean",
        )
        for c in range(int(n_channels)):
            ax = axes[row, 3 + c]
            if c >= activation.shape[2]:
                ax.set_axis_off()
                continue
            show_image(ax, activation[:, :, c], cmap="viridis", title=f"channel {c}", fontsize=8)
    label_text = ""
    if labels is not None:
        label = int(labels[int(index)])
        label_text = f", true class {class_names[label] if 0 <= label < len(class_names) else label}"
    fig.suptitle(f"Image {int(index)}{label_text}, stage {int(stage) + 1} of {n_stages}", fontsize=10)
    return fig

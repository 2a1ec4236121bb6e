"""Interactive explorers for the book (ipywidgets 8).

Two widgets let a reader turn the knobs the paper fixes:

* :func:`segmentation_explorer`: the adaptive-threshold block size and
  offset and the width + height cut-off of the cell-frame segmentation
  (Ayana et al. 2022, section 2.1 and Fig. 2);
* :func:`feature_map_explorer`: the feature maps and Grad-CAM heat maps of
  several networks (MSTL vs CTL, Fig. 6) for any image and convolution stage.

Each widget only wires controls to a plain drawing function that returns a
:class:`matplotlib.figure.Figure` (:func:`draw_segmentation`,
:func:`draw_feature_explorer`). Those functions work without a kernel: the
book shows their figure at the default values beside each widget (a static
page cannot run the widget), and the tests call them directly.

Controls update on release (``continuous_update=False``), because each
redraw re-runs the segmentation or a forward and a backward pass.

The figure goes into the widget's ``Output`` by setting its ``outputs``
(:meth:`ipywidgets.Output.append_display_data`), never by capturing output
with ``with output:`` as ``ipywidgets.interactive_output`` does. Captured
output makes a headless client (papermill, nbclient) act as a front end and
send comm messages back to the kernel on the shell channel while it waits
there for the cell's reply; that is the known deadlock of widget cells under
nbclient. Setting ``outputs`` sends nothing back, renders the same in
JupyterLab, and the executed notebook keeps the figure in the widget state.
"""

from __future__ import annotations

import inspect
import io

import numpy as np

from mstl_lib.errors import DataError
from mstl_lib.validation import check_integer, check_number

__all__ = [
    "draw_segmentation",
    "segmentation_explorer",
    "draw_feature_explorer",
    "feature_map_explorer",
]


def _render(output, draw, kwargs) -> None:
    """Draw into ``output``, replacing what it showed; a DataError becomes a message, not a traceback."""
    from IPython.core.formatters import format_display_data
    from IPython.display import Image

    try:
        fig = draw(**kwargs)
    except DataError as exc:
        output.outputs = (
            {"output_type": "stream", "name": "stdout", "text": f"Cannot draw with these settings: {exc}\n"},
        )
        return
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    data, metadata = format_display_data(Image(data=buffer.getvalue(), format="png"))
    output.outputs = ({"output_type": "display_data", "data": data, "metadata": metadata},)


def _explorer_output(controls: dict, show):
    """An ``Output`` redrawn by ``show(output, **values)`` now and whenever a control's value changes.

    Like ``ipywidgets.interactive_output``, but ``show`` fills the output's
    ``outputs`` instead of printing inside ``with output:`` (see the module
    docstring for why).
    """
    import ipywidgets as widgets

    output = widgets.Output()

    def redraw(change=None):
        show(output, **{name: control.value for name, control in controls.items()})

    for control in controls.values():
        control.observe(redraw, "value")
    redraw()
    return output


# --------------------------------------------------------------------------- segmentation


def _check_segment_keywords(keywords: dict) -> None:
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

    The drawing behind :func:`segmentation_explorer`, usable on its own.

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
    from mstl_lib.visualize.common import new_figure
    from mstl_lib.visualize.images import draw_segmentation_panels

    _check_segment_keywords(segment_kwargs)
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


def segmentation_explorer(frame, **defaults):
    """Sliders for the segmentation of one cell-line frame (Ayana et al. 2022, Fig. 2).

    Controls: the adaptive-threshold block size (odd values only), the
    threshold offset (with an "automatic" check box, the library's default)
    and the debris cut-off, the smallest width + height of a kept box.
    Every change redraws :func:`draw_segmentation`.

    Parameters
    ----------
    frame : numpy.ndarray
        Cell-line frame (``HxW`` or ``HxWx3``, ``uint8``/``uint16``).
    **defaults
        Starting values of ``block_size`` (default 51), ``offset`` (None =
        automatic) and ``min_box_sum`` (default 100), and any other keyword
        of :func:`mstl_lib.data.segmentation.segment_frame`, passed through
        unchanged (e.g. ``normalize=None``).

    Returns
    -------
    ipywidgets.VBox
        Controls above an ``Output`` holding the figure.

    Raises
    ------
    DataError
        A bad frame, an even block size, or an unknown keyword.
    """
    import ipywidgets as widgets

    from mstl_lib.data.segmentation import to_gray8

    gray = to_gray8(frame)  # validates the frame (DataError)
    _check_segment_keywords(defaults)
    block_size, offset, min_box_sum = _explorer_start(defaults)
    controls = _segmentation_controls(min(gray.shape), block_size, offset, min_box_sum)

    def _toggle(change):
        controls["offset"].disabled = bool(change["new"])

    controls["auto_offset"].observe(_toggle, "value")
    extra = dict(defaults)

    def show(output, block_size, auto_offset, offset, min_box_sum):
        # draw_segmentation is looked up at call time, so it can be wrapped.
        _render(
            output,
            draw_segmentation,
            dict(
                frame=frame,
                block_size=block_size,
                offset=None if auto_offset else offset,
                min_box_sum=min_box_sum,
                **extra,
            ),
        )

    output = _explorer_output(controls, show)
    box = widgets.VBox(
        [
            widgets.HBox([controls["block_size"], controls["min_box_sum"]]),
            widgets.HBox([controls["auto_offset"], controls["offset"]]),
            output,
        ]
    )
    box.controls = controls
    box.output = output
    return box


def _explorer_start(defaults: dict) -> tuple[int, float | None, int]:
    """The explorer's starting block size, offset and debris cut-off, checked; removed from ``defaults``."""
    from mstl_lib.data.segmentation import PAPER_MIN_BOX_SUM

    block_size = check_integer(defaults.pop("block_size", 51), "block_size", minimum=3)
    if block_size % 2 == 0:
        raise DataError(f"block_size must be an odd integer >= 3, got {block_size!r}.")
    offset = defaults.pop("offset", None)
    if offset is not None:
        offset = check_number(offset, "offset (None for automatic)", minimum=0)
    min_box_sum = check_integer(defaults.pop("min_box_sum", PAPER_MIN_BOX_SUM), "min_box_sum", minimum=0)
    return block_size, offset, min_box_sum


def _segmentation_controls(shortest_side: int, block_size: int, offset, min_box_sum: int) -> dict:
    """Sliders for block size (odd), offset C (with "automatic") and the w + h cut-off."""
    import ipywidgets as widgets

    largest = shortest_side if shortest_side % 2 else shortest_side - 1
    common = dict(continuous_update=False, style={"description_width": "initial"}, layout=widgets.Layout(width="340px"))
    return {
        "block_size": widgets.IntSlider(
            value=block_size,
            min=3,
            max=max(block_size, min(301, max(3, largest))),
            step=2,
            description="block size (px, odd)",
            **common,
        ),
        "auto_offset": widgets.Checkbox(value=offset is None, description="automatic offset", indent=False),
        "offset": widgets.FloatSlider(
            value=float(offset) if offset is not None else 5.0,
            min=0.0,
            max=max(40.0, float(offset or 0)),
            step=0.5,
            description="offset C",
            disabled=offset is None,
            **common,
        ),
        "min_box_sum": widgets.IntSlider(
            value=min_box_sum, min=0, max=max(400, min_box_sum), step=5, description="keep w + h >= (px)", **common
        ),
    }


# --------------------------------------------------------------------------- feature maps


def _check_models(models) -> dict:
    import keras

    if not isinstance(models, dict) or not models:
        raise DataError("models must be a non-empty dict {name: keras.Model}, e.g. {'MSTL': m1, 'CTL': m2}.")
    for name, model in models.items():
        if not isinstance(model, keras.Model):
            raise DataError(f"models[{name!r}] must be a keras.Model, got {type(model).__name__}.")
    return dict(models)


def _check_images(images) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim == 3 and images.shape[-1] == 3:
        images = images[None]
    if images.ndim != 4 or images.shape[-1] != 3 or images.shape[0] == 0:
        raise DataError(f"images must be an N x H x W x 3 array of RGB images, got shape {images.shape}.")
    return images


def _stage_layers(models: dict, layers) -> dict[str, list[str]]:
    """Per model, the layer shown at each stage index."""
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

    The drawing behind :func:`feature_map_explorer`, usable on its own.

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
    from mstl_lib.visualize.common import new_figure, show_image
    from mstl_lib.visualize.features import overlay_heatmap

    models = _check_models(models)
    images = _check_images(images)
    per_model = _stage_layers(models, layers)
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


def feature_map_explorer(
    models, images, labels=None, *, layers=None, n_channels: int = 3, class_names=("benign", "malignant")
):
    """Pick an image and a convolution stage; see each network's maps and Grad-CAM (Fig. 6).

    Parameters
    ----------
    models : dict of str to keras.Model
        E.g. ``{"MSTL": mstl_model, "CTL": ctl_model}``; models of different
        backbones can be compared stage by stage.
    images : numpy.ndarray
        ``N x H x W x 3`` raw RGB images in [0, 255] (e.g. ultrasound test
        images at 75 x 75).
    labels : sequence of int, optional
        True labels, shown in the title and in the image menu.
    layers : sequence of str, optional
        Layers to choose from (the same names in every model); default the
        five convolution stages of each backbone
        (:func:`mstl_lib.models.features.conv_stage_layers`).
    n_channels : int, default 3
        Single channels shown per model.
    class_names : sequence of str

    Returns
    -------
    ipywidgets.VBox
        An image slider, a stage menu and an ``Output`` with
        :func:`draw_feature_explorer`'s figure.

    Raises
    ------
    DataError
        Bad models, images or labels.
    """
    import ipywidgets as widgets

    models = _check_models(models)
    images = _check_images(images)
    per_model = _stage_layers(models, layers)
    if labels is not None and len(labels) != len(images):
        raise DataError(f"got {len(labels)} labels for {len(images)} images.")
    n_stages = len(next(iter(per_model.values())))
    options = []
    for k in range(n_stages):
        names = list(dict.fromkeys(v[k] for v in per_model.values()))
        options.append((f"stage {k + 1}: {' / '.join(names)}", k))
    style = {"description_width": "initial"}
    controls = {
        "index": widgets.IntSlider(
            value=0,
            min=0,
            max=len(images) - 1,
            step=1,
            description="image",
            continuous_update=False,
            style=style,
            layout=widgets.Layout(width="320px"),
        ),
        "stage": widgets.Dropdown(
            options=options, value=0, description="layer", style=style, layout=widgets.Layout(width="420px")
        ),
    }

    def show(output, index, stage):
        _render(
            output,
            draw_feature_explorer,
            dict(
                models=models,
                images=images,
                index=index,
                stage=stage,
                labels=labels,
                layers=layers,
                n_channels=n_channels,
                class_names=class_names,
            ),
        )

    output = _explorer_output(controls, show)
    box = widgets.VBox([widgets.HBox(list(controls.values())), output])
    box.controls = controls
    box.output = output
    return box

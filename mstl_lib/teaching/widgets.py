"""Interactive explorers for the book (ipywidgets 8).

Two widgets let a reader turn the knobs the paper fixes:

* :func:`segmentation_explorer`: the adaptive-threshold block size and
  offset and the width + height cut-off of the cell-frame segmentation
  (Ayana et al. 2022, section 2.1 and Fig. 2);
* :func:`feature_map_explorer`: the feature maps and Grad-CAM heat maps of
  several networks (MSTL vs CTL, Fig. 6) for any image and convolution stage.

Each widget only wires controls to a plain drawing function that returns a
:class:`matplotlib.figure.Figure`
(:func:`mstl_lib.visualize.explorers.draw_segmentation`,
:func:`mstl_lib.visualize.explorers.draw_feature_explorer`). Those functions
work without a kernel: the book shows their figure at the default values
beside each widget (a static page cannot run the widget), and the tests call
them directly. The widget looks its drawing function up in this module at
every redraw, so a test can wrap it.

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

import io

from mstl_lib.errors import DataError
from mstl_lib.validation import check_integer, check_number, check_odd_block_size
from mstl_lib.visualize.explorers import (
    check_images,
    check_models,
    check_segment_keywords,
    draw_feature_explorer,
    draw_segmentation,
    stage_layers,
)

__all__ = ["segmentation_explorer", "feature_map_explorer"]


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


def segmentation_explorer(frame, **defaults):
    """Sliders for the segmentation of one cell-line frame (Ayana et al. 2022, Fig. 2).

    Controls: the adaptive-threshold block size (odd values only), the
    threshold offset (with an "automatic" check box, the library's default)
    and the debris cut-off, the smallest width + height of a kept box.
    Every change redraws :func:`mstl_lib.visualize.explorers.draw_segmentation`.

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
    check_segment_keywords(defaults)
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

    block_size = check_odd_block_size(defaults.pop("block_size", 51))
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
        :func:`mstl_lib.visualize.explorers.draw_feature_explorer`'s figure.

    Raises
    ------
    DataError
        Bad models, images or labels.
    """
    import ipywidgets as widgets

    models = check_models(models)
    images = check_images(images)
    per_model = stage_layers(models, layers)
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

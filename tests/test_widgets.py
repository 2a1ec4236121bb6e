"""Widgets of mstl_lib.teaching.widgets and their figures (mstl_lib.visualize.explorers): built without a kernel,
redrawn on every change."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

ipywidgets = pytest.importorskip("ipywidgets")
keras = pytest.importorskip("keras")

from matplotlib.figure import Figure

from mstl_lib.errors import DataError
from mstl_lib.teaching import widgets
from mstl_lib.visualize import explorers

SIZE = 75


@pytest.fixture
def frame():
    import cv2

    rng = np.random.default_rng(0)
    frame = np.clip(rng.normal(170, 3, (200, 260)), 0, 255).astype(np.uint8)
    for (x, y), r in zip([(60, 60), (190, 70), (110, 150)], (30, 25, 35)):
        cv2.circle(frame, (x, y), r, 90, 3)
    return frame


@pytest.fixture
def spy(monkeypatch):
    """Record the keyword arguments of every call of a module-level draw function."""

    def install(name):
        calls = []
        original = getattr(widgets, name)

        def wrapper(*args, **kwargs):
            calls.append(kwargs)
            return original(*args, **kwargs)

        monkeypatch.setattr(widgets, name, wrapper)
        return calls

    return install


def tiny_model(name, seed):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv_a")(x)
    x = keras.layers.MaxPooling2D(4)(x)
    x = keras.layers.Conv2D(6, 3, activation="relu", name="conv_b")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(inputs, outputs, name=name)


def test_draw_segmentation_is_a_plain_function(frame):
    fig = explorers.draw_segmentation(frame, block_size=31, offset=None, min_box_sum=100)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3
    assert "block size 31 px" in fig.get_suptitle()
    assert "(automatic)" in fig.get_suptitle()
    fig = explorers.draw_segmentation(frame, block_size=31, offset=6.0, min_box_sum=1000)
    assert "offset C = 6.0" in fig.get_suptitle() and ": 0 patches" in fig.get_suptitle()
    with pytest.raises(DataError, match="odd"):
        explorers.draw_segmentation(frame, block_size=30)
    with pytest.raises(DataError, match="unknown"):
        explorers.draw_segmentation(frame, blocksize=31)


def test_the_widgets_draw_with_the_visualize_functions():
    assert widgets.draw_segmentation is explorers.draw_segmentation
    assert widgets.draw_feature_explorer is explorers.draw_feature_explorer
    assert "draw_segmentation" not in widgets.__all__


def test_segmentation_explorer_redraws_on_change(frame, spy):
    calls = spy("draw_segmentation")
    box = widgets.segmentation_explorer(frame, block_size=41, normalize=None)
    assert isinstance(box, ipywidgets.Widget) and isinstance(box, ipywidgets.VBox)
    assert len(calls) == 1  # drawn once at the defaults
    assert calls[0]["block_size"] == 41 and calls[0]["offset"] is None and calls[0]["min_box_sum"] == 100
    assert calls[0]["normalize"] is None  # other segment_frame keywords pass through
    block = box.controls["block_size"]
    assert block.min % 2 == 1 and block.step == 2 and block.value % 2 == 1
    assert box.controls["offset"].disabled
    block.value = 21
    assert calls[-1]["block_size"] == 21
    box.controls["min_box_sum"].value = 150
    assert calls[-1]["min_box_sum"] == 150
    box.controls["auto_offset"].value = False
    assert not box.controls["offset"].disabled
    box.controls["offset"].value = 7.5
    assert calls[-1]["offset"] == 7.5 and calls[-1]["block_size"] == 21
    assert len(calls) == 5


def test_explorer_fills_its_output_without_capturing(frame, monkeypatch):
    # Figures go into Output.outputs, not through `with output:` (which makes nbclient send comm
    # messages back on the shell channel while it waits for the cell's reply).
    box = widgets.segmentation_explorer(frame, block_size=41)
    assert box.output.msg_id == ""
    (first,) = box.output.outputs
    assert first["output_type"] == "display_data" and "image/png" in first["data"]
    box.controls["block_size"].value = 21
    (second,) = box.output.outputs
    assert second["data"]["image/png"] != first["data"]["image/png"]

    def refuse(**kwargs):
        raise DataError("no cells")

    monkeypatch.setattr(widgets, "draw_segmentation", refuse)
    box.controls["min_box_sum"].value = 150
    (message,) = box.output.outputs
    assert message["output_type"] == "stream" and "no cells" in message["text"]


def test_segmentation_explorer_bad_input(frame):
    with pytest.raises(DataError, match="odd"):
        widgets.segmentation_explorer(frame, block_size=20)
    with pytest.raises(DataError, match="unknown"):
        widgets.segmentation_explorer(frame, threshold=3)
    with pytest.raises(DataError):
        widgets.segmentation_explorer(np.zeros((10, 10), np.float64))


def test_feature_map_explorer(spy):
    models = {"MSTL": tiny_model("a", 0), "CTL": tiny_model("b", 1)}
    images = np.random.default_rng(0).integers(0, 256, (3, SIZE, SIZE, 3), dtype=np.uint8)
    fig = explorers.draw_feature_explorer(
        models, images, index=1, stage=1, labels=[0, 1, 0], layers=["conv_a", "conv_b"], n_channels=2
    )
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2 * (3 + 2)
    assert fig.axes[0].get_ylabel() == "MSTL" and fig.axes[5].get_ylabel() == "CTL"
    assert fig.axes[0].get_title().startswith("p(malignant) = ")
    assert fig.axes[2].get_title().startswith("conv_b")
    assert "true class malignant" in fig.get_suptitle()

    calls = spy("draw_feature_explorer")
    box = widgets.feature_map_explorer(models, images, labels=[0, 1, 0], layers=["conv_a", "conv_b"])
    assert isinstance(box, ipywidgets.Widget)
    assert calls[-1]["index"] == 0 and calls[-1]["stage"] == 0
    assert [value for _, value in box.controls["stage"].options] == [0, 1]
    assert "conv_b" in box.controls["stage"].options[1][0]
    box.controls["index"].value = 2
    assert calls[-1]["index"] == 2
    box.controls["stage"].value = 1
    assert calls[-1]["stage"] == 1 and calls[-1]["index"] == 2
    assert box.controls["index"].max == 2


def test_feature_map_explorer_bad_input():
    model = tiny_model("c", 2)
    images = np.zeros((2, SIZE, SIZE, 3), np.uint8)
    with pytest.raises(DataError, match="non-empty dict"):
        widgets.feature_map_explorer({}, images)
    with pytest.raises(DataError, match="N x H x W x 3"):
        widgets.feature_map_explorer({"m": model}, np.zeros((2, SIZE, SIZE)), layers=["conv_a"])
    with pytest.raises(DataError, match="labels"):
        widgets.feature_map_explorer({"m": model}, images, labels=[0], layers=["conv_a"])
    with pytest.raises(DataError, match="layers="):  # not a library backbone: layers must be given
        widgets.feature_map_explorer({"m": model}, images)
    with pytest.raises(DataError, match="index"):
        explorers.draw_feature_explorer({"m": model}, images, index=5, layers=["conv_a"])
    with pytest.raises(DataError, match="no layer"):
        explorers.draw_feature_explorer({"m": model}, images, layers=["conv_z"])

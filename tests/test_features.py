"""Feature maps and Grad-CAM (mstl_lib.models.features) on real and hand-made models."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from mstl_lib.errors import DataError
from mstl_lib.models import features
from mstl_lib.models.networks import FEATURE_LAYERS, build_ctl_model
from mstl_lib.visualize import overlay_heatmap

SIZE = 75


@pytest.fixture(scope="module")
def ctl_resnet():
    keras.utils.set_random_seed(0)
    return build_ctl_model("resnet50", weights=None)


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(0).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)


def left_half_model():
    """Output depends on the left half only: the right half is zeroed before the conv layer."""
    inputs = keras.Input((SIZE, SIZE, 3))
    half = SIZE // 2
    x = keras.layers.Cropping2D(((0, 0), (0, SIZE - half)))(inputs)
    x = keras.layers.ZeroPadding2D(((0, 0), (0, SIZE - half)))(x)
    x = keras.layers.Conv2D(
        4, 3, padding="same", activation="relu", name="conv", kernel_initializer="ones", bias_initializer="zeros"
    )(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(
        1, activation="sigmoid", kernel_initializer=keras.initializers.Constant(1e-3), name="out"
    )(x)
    return keras.Model(inputs, outputs, name="left_half")


def colour_model():
    """Softmax over two classes: class 0 = amount of red, class 1 = amount of green."""
    inputs = keras.Input((SIZE, SIZE, 3))
    kernel = np.zeros((1, 1, 3, 2), np.float32)
    kernel[0, 0, 0, 0] = 1.0  # channel 0 sees red
    kernel[0, 0, 1, 1] = 1.0  # channel 1 sees green
    conv = keras.layers.Conv2D(2, 1, activation="relu", name="conv", use_bias=False)
    x = conv(inputs)
    conv.set_weights([kernel])
    x = keras.layers.GlobalAveragePooling2D()(x)
    dense = keras.layers.Dense(2, activation="softmax", name="out")
    outputs = dense(x)
    dense.set_weights([np.eye(2, dtype=np.float32) * 0.05, np.zeros(2, np.float32)])
    return keras.Model(inputs, outputs, name="colours")


def test_conv_stage_layers_five_per_backbone(ctl_resnet):
    for backbone, stage_layers in FEATURE_LAYERS.items():
        names = features.conv_stage_layers(backbone)
        assert len(names) == 5
        assert set(stage_layers) <= set(names)
    assert features.conv_stage_layers(ctl_resnet) == features.conv_stage_layers("resnet50")
    assert features.conv_stage_layers(ctl_resnet)[-1] == FEATURE_LAYERS["resnet50"][-1]
    with pytest.raises(DataError, match="Unknown backbone"):
        features.conv_stage_layers("vgg16")
    with pytest.raises(DataError, match=r"layers=\["):
        features.conv_stage_layers(left_half_model())


def test_feature_maps_five_stages_shrinking(ctl_resnet, image):
    maps = features.feature_maps(ctl_resnet, image)
    assert [name for name, _ in maps] == features.conv_stage_layers("resnet50")
    sides = [array.shape[0] for _, array in maps]
    assert sides == sorted(sides, reverse=True) and len(set(sides)) == 5
    for name, array in maps:
        assert array.ndim == 3
        assert array.shape == tuple(ctl_resnet.get_layer(name).output.shape[1:])
    # same values as the model's own sub-graph, and float input gives the same maps
    ((_, last),) = features.feature_maps(ctl_resnet, image.astype(np.float32), ["conv5_block3_out"])
    np.testing.assert_allclose(last, maps[-1][1], rtol=1e-4, atol=1e-4)


def test_feature_maps_bad_input(ctl_resnet, image):
    with pytest.raises(DataError, match="takes 75x75"):
        features.feature_maps(ctl_resnet, np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(DataError, match=r"shape \(75, 75, 4\).*H x W x 3"):
        features.feature_maps(ctl_resnet, np.zeros((75, 75, 4), np.uint8))
    with pytest.raises(DataError, match="no layer 'nope'"):
        features.feature_maps(ctl_resnet, image, ["nope"])
    with pytest.raises(DataError, match="not a \\(batch, H, W, C\\) feature map"):
        features.feature_maps(ctl_resnet, image, ["head_dense_1"])


def test_grad_cam_on_the_ctl_model(ctl_resnet, image):
    heat = features.grad_cam(ctl_resnet, image, layer_name="conv4_block6_out")
    assert heat.shape == (SIZE, SIZE)
    assert heat.dtype == np.float32
    assert heat.min() >= 0.0 and heat.max() <= 1.0
    assert heat.max() == pytest.approx(1.0)
    assert heat.std() > 0.01
    benign = features.grad_cam(ctl_resnet, image, layer_name="conv4_block6_out", class_index=0)
    assert not np.allclose(heat, benign)
    default = features.grad_cam(ctl_resnet, image)  # last conv layer, 3 x 3
    assert default.shape == (SIZE, SIZE) and 0.0 <= default.min() <= default.max() <= 1.0
    with pytest.raises(DataError, match="class_index"):
        features.grad_cam(ctl_resnet, image, class_index=2)


def test_grad_cam_highlights_the_half_that_drives_the_output():
    model = left_half_model()
    weights_before = [w.copy() for w in model.get_weights()]
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    heat = features.grad_cam(model, image, layer_name="conv")
    left, right = heat[:, : SIZE // 2 - 2], heat[:, SIZE // 2 + 2 :]
    assert left.mean() > 0.3
    assert right.max() < 0.05
    assert features.grad_cam(model, image).shape == (SIZE, SIZE)  # default: last 4-D layer
    # the model is not modified (its sigmoid stays, its weights are unchanged)
    assert model.get_layer("out").activation.__name__ == "sigmoid"
    for before, after in zip(weights_before, model.get_weights()):
        np.testing.assert_array_equal(before, after)


def test_grad_cam_softmax_class_index_picks_the_region():
    model = colour_model()
    image = np.zeros((SIZE, SIZE, 3), np.uint8)
    image[5:35, 5:35, 0] = 255  # large red square, top left: class 0 wins
    image[50:70, 50:70, 1] = 255  # smaller green square, bottom right
    red = (slice(5, 35), slice(5, 35))
    green = (slice(50, 70), slice(50, 70))
    predicted = features.grad_cam(model, image)
    red_heat = features.grad_cam(model, image, class_index=0)
    green_heat = features.grad_cam(model, image, class_index=1)
    np.testing.assert_allclose(predicted, red_heat)
    assert red_heat[red].mean() > 0.9 and red_heat[green].max() < 0.05
    assert green_heat[green].mean() > 0.9 and green_heat[red].max() < 0.05
    with pytest.raises(DataError, match="class_index"):
        features.grad_cam(model, image, class_index=5)


def test_overlay_heatmap():
    image = np.full((10, 20, 3), 100, np.uint8)
    heat = np.linspace(0, 1, 200, dtype=np.float32).reshape(10, 20)
    out = overlay_heatmap(image, heat, alpha=0.4)
    assert out.dtype == np.uint8 and out.shape == (10, 20, 3)
    np.testing.assert_array_equal(overlay_heatmap(image, heat, alpha=0.0), image)
    jet = matplotlib.colormaps["jet"](heat)[:, :, :3] * 255
    np.testing.assert_allclose(overlay_heatmap(image, heat, alpha=1.0), np.rint(jet), atol=1)
    small = overlay_heatmap(image[:, :, 0], np.ones((2, 2)), alpha=0.5)  # gray, heat resized
    assert small.shape == (10, 20, 3)
    with pytest.raises(DataError, match="alpha"):
        overlay_heatmap(image, heat, alpha=1.5)
    with pytest.raises(DataError, match="heatmap"):
        overlay_heatmap(image, np.zeros(5))
    with pytest.raises(DataError, match="NaN"):
        overlay_heatmap(image, np.full((2, 2), np.nan))


def test_grad_cam_default_layer_skips_a_1x1_map():
    from mstl_lib.models.networks import build_backbone

    model = build_backbone("inceptionv3", weights=None)  # mixed10 is 1 x 1 at 75 x 75
    assert tuple(model.get_layer("mixed10").output.shape[1:3]) == (1, 1)
    assert features._default_gradcam_layer(model) == "mixed7"


def test_explained_score_is_the_logit_of_the_class_asked_for():
    import tensorflow as tf

    sigmoid = tf.constant([[2.0], [-1.0]])
    assert features.explained_score(sigmoid, None).numpy().tolist() == [2.0, -1.0]  # malignant
    assert features.explained_score(sigmoid, 0).numpy().tolist() == [-2.0, 1.0]  # benign: minus the logit
    softmax = tf.constant([[0.1, 3.0, 0.2], [5.0, 0.0, 1.0]])
    assert features.explained_score(softmax, None).numpy().tolist() == pytest.approx([3.0, 0.0])  # first image's class
    assert features.explained_score(softmax, 2).numpy().tolist() == pytest.approx([0.2, 1.0])
    with pytest.raises(DataError, match="class_index"):
        features.explained_score(sigmoid, 2)

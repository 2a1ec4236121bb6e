"""Tests of mstl_lib.models: backbones, stages, weight transfer, optimizers.

Nothing here downloads: every model uses ``weights=None`` and the ImageNet
test points Keras' cache at an empty folder with the download mocked out.
"""

from __future__ import annotations

import urllib.error
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from mstl_lib.errors import DataError, MSTLError  # noqa: E402
from mstl_lib.models.networks import (
    FEATURE_LAYERS,
    HEAD_DROPOUT,
    HEAD_UNITS,
    LAST_CONV_LAYER,
    build_backbone,
    build_ctl_model,
    build_stage1_model,
    build_stage2_model,
    load_model,
    set_batchnorm_momentum,
)
from mstl_lib.models.preprocessing import PREPROCESSING_MODES, BackbonePreprocessing
from mstl_lib.models.weights import (
    WeightsUnavailableError,
    ensure_imagenet_weights,
    imagenet_weights_info,
    keras_weights_dir,
)
from mstl_lib.profiles import BACKBONES
from mstl_lib.training.optimizers import make_optimizer

# Keras' TensorFlow backend calls np.array(x) on tensors, which NumPy 2 flags.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)


def _images(n=2, size=75, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, size=(n, size, size, 3)).astype("float32")


def _perturb(model, seed=0):
    """Scale every float weight by 1 +- 5% and add tiny noise (BN variances stay > 0)."""
    rng = np.random.default_rng(seed)
    new = []
    for w in model.get_weights():
        if np.issubdtype(w.dtype, np.floating):
            w = (w * rng.uniform(0.95, 1.05, size=w.shape) + rng.normal(0, 1e-4, size=w.shape)).astype(w.dtype)
        new.append(w)
    model.set_weights(new)
    # Like Keras' own loaders: Normalization (EfficientNet's stem) caches its
    # mean and variance, and set_weights alone does not refresh that cache.
    for layer in model.layers:
        if hasattr(layer, "finalize_state") and layer.weights:
            layer.finalize_state()


def _layers_after(model, layer_name):
    names = [layer.name for layer in model.layers]
    return model.layers[names.index(layer_name) + 1 :]


@pytest.fixture(scope="module", params=BACKBONES)
def built(request):
    """Stage-1 (perturbed weights), stage-2 and CTL models of one backbone."""
    backbone = request.param
    stage1 = build_stage1_model(backbone, n_classes=3, weights=None, image_size=75)
    _perturb(stage1)
    stage2 = build_stage2_model(stage1)
    ctl = build_ctl_model(backbone, weights=None, image_size=75)
    return backbone, stage1, stage2, ctl


# ---------------------------------------------------------------- preprocessing


@pytest.mark.parametrize(
    "backbone, module",
    [("resnet50", "resnet50"), ("inceptionv3", "inception_v3"), ("efficientnetb2", "efficientnet")],
)
def test_preprocessing_layer_matches_keras_preprocess_input(backbone, module):
    x = _images(3, size=8, seed=3)
    expected = getattr(keras.applications, module).preprocess_input(x.copy())
    layer = BackbonePreprocessing(PREPROCESSING_MODES[backbone])
    got = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-4)
    # uint8 input is cast, not wrapped around
    got_u8 = keras.ops.convert_to_numpy(layer(np.round(x).astype("uint8")))
    expected_u8 = getattr(keras.applications, module).preprocess_input(np.round(x).astype("float32"))
    np.testing.assert_allclose(got_u8, expected_u8, rtol=1e-6, atol=1e-4)


def test_preprocessing_layer_config_round_trip_and_bad_mode():
    layer = BackbonePreprocessing("tf", name="pre")
    config = layer.get_config()
    assert config["mode"] == "tf"
    again = BackbonePreprocessing.from_config(config)
    assert again.mode == "tf" and again.name == "pre"
    assert keras.saving.get_registered_name(BackbonePreprocessing) == "mstl>BackbonePreprocessing"
    with pytest.raises(DataError, match="mode"):
        BackbonePreprocessing("torch")


# ---------------------------------------------------------------- structure


def test_models_are_flat_and_stages_reachable(built):
    backbone, stage1, stage2, ctl = built
    for model in (stage1, stage2, ctl):
        assert not [layer.name for layer in model.layers if isinstance(layer, keras.Model)]
        assert isinstance(model.get_layer("preprocess"), BackbonePreprocessing)
        assert model.get_layer("preprocess").mode == PREPROCESSING_MODES[backbone]
        for name in FEATURE_LAYERS[backbone]:
            assert model.get_layer(name).output.shape[-1] > 0
        assert model.input.shape[1:] == (75, 75, 3)
        assert all(layer.trainable for layer in model.layers)
    assert LAST_CONV_LAYER[backbone] == FEATURE_LAYERS[backbone][-1]


def test_stage1_structure(built):
    backbone, stage1, _, _ = built
    assert stage1.name == f"{backbone}_stage1"
    assert isinstance(stage1.get_layer("global_avg_pool"), keras.layers.GlobalAveragePooling2D)
    head = _layers_after(stage1, "global_avg_pool")
    assert [layer.name for layer in head] == ["stage1_output"]
    out = stage1.get_layer("stage1_output")
    assert out.units == 3 and out.activation is keras.activations.softmax
    probs = keras.ops.convert_to_numpy(stage1(_images(), training=False))
    assert probs.shape == (2, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("which", ["stage2", "ctl"])
def test_binary_head_structure(built, which):
    backbone, _, stage2, ctl = built
    model = stage2 if which == "stage2" else ctl
    assert model.name == f"{backbone}_{'mstl' if which == 'stage2' else 'ctl'}"
    head = _layers_after(model, "global_avg_pool")
    dense = [layer for layer in head if isinstance(layer, keras.layers.Dense)]
    dropout = [layer for layer in head if isinstance(layer, keras.layers.Dropout)]
    assert [layer.name for layer in head] == [
        "head_dense_1",
        "head_dropout",
        "head_dense_2",
        "head_dense_3",
        "head_output",
    ]
    assert len(dense) == 4 and len(dropout) == 1
    assert [d.units for d in dense[:3]] == list(HEAD_UNITS)
    assert all(d.activation is keras.activations.relu for d in dense[:3])
    assert dense[-1].units == 1 and dense[-1].activation is keras.activations.sigmoid
    assert dropout[0].rate == HEAD_DROPOUT
    assert "stage1_output" not in [layer.name for layer in model.layers]
    p = keras.ops.convert_to_numpy(model(_images(), training=False))
    assert p.shape == (2, 1) and np.all((p >= 0) & (p <= 1))


def test_stage2_copies_stage1_weights_without_sharing(built):
    _, stage1, stage2, _ = built
    compared = 0
    for layer in stage2.layers:
        if layer.name == "global_avg_pool":
            break
        w2 = layer.get_weights()
        w1 = stage1.get_layer(layer.name).get_weights()
        assert len(w1) == len(w2), layer.name
        for a, b in zip(w1, w2):
            assert np.array_equal(a, b), layer.name
        compared += bool(w2)
    assert compared > 50  # every conv/BN layer of the backbone
    ids1 = {id(v) for v in stage1.weights}
    assert not ids1 & {id(v) for v in stage2.weights}
    # same features from both models: the copy is exact, preprocessing included
    x = _images(seed=5)
    f1 = keras.Model(stage1.input, stage1.get_layer("global_avg_pool").output)(x, training=False)
    f2 = keras.Model(stage2.input, stage2.get_layer("global_avg_pool").output)(x, training=False)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(f1), keras.ops.convert_to_numpy(f2))


def test_training_stage2_leaves_stage1_unchanged():
    stage1 = build_stage1_model("resnet50", weights=None)
    _perturb(stage1, seed=7)
    before = [w.copy() for w in stage1.get_weights()]
    stage2 = build_stage2_model(stage1)
    conv_before = stage2.get_layer("conv1_conv").get_weights()[0].copy()
    stage2.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="binary_crossentropy")
    stage2.train_on_batch(_images(4, seed=9), np.array([[0], [1], [0], [1]], dtype="float32"))
    assert not np.array_equal(stage2.get_layer("conv1_conv").get_weights()[0], conv_before)
    for a, b in zip(before, stage1.get_weights()):
        assert np.array_equal(a, b)


def test_stage2_rejects_non_stage1_model():
    with pytest.raises(DataError, match="global_avg_pool"):
        build_stage2_model(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]))
    with pytest.raises(DataError):
        build_stage2_model("not a model")


# ---------------------------------------------------------------- save / load


def test_save_load_round_trip_safe_mode(built, tmp_path):
    backbone, _, stage2, _ = built
    path = tmp_path / f"{backbone}.keras"
    stage2.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    x = _images(seed=11)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(stage2(x, training=False)),
        keras.ops.convert_to_numpy(loaded(x, training=False)),
    )
    assert loaded.get_layer("preprocess").mode == PREPROCESSING_MODES[backbone]
    assert not [layer for layer in loaded.layers if isinstance(layer, keras.Model)]
    again = load_model(path, compile=False)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(again(x, training=False)),
        keras.ops.convert_to_numpy(loaded(x, training=False)),
    )


def test_load_model_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_model(tmp_path / "missing.keras")
    with pytest.raises(DataError, match=".keras"):
        load_model(tmp_path / "model.h5")


# ---------------------------------------------------------------- input size


@pytest.mark.parametrize("backbone", BACKBONES)
@pytest.mark.parametrize("size", [64, 74, (75, 80), (75, 75, 1), (75, 75, 3, 1), "big"])
def test_bad_input_size_rejected(backbone, size):
    with pytest.raises(DataError):
        build_stage1_model(backbone, image_size=size)


def test_small_input_message_names_minimum():
    with pytest.raises(DataError, match="75x75"):
        build_ctl_model("resnet50", image_size=64)


def test_tuple_image_size_and_larger_size_accepted():
    model = build_stage1_model("resnet50", image_size=(96, 96, 3))
    assert model.input.shape[1:] == (96, 96, 3)


def test_unknown_backbone_and_bad_n_classes():
    with pytest.raises(DataError, match="backbone"):
        build_stage1_model("vgg16")
    with pytest.raises(DataError, match="n_classes"):
        build_stage1_model("resnet50", n_classes=1)


# ---------------------------------------------------------------- weights


def test_imagenet_weight_table_matches_installed_keras():
    from keras.src.applications import efficientnet, inception_v3, resnet

    info = imagenet_weights_info("resnet50")
    assert info.url == resnet.BASE_WEIGHTS_PATH + info.file_name
    assert info.file_hash == resnet.WEIGHTS_HASHES["resnet50"][1]
    info = imagenet_weights_info("inceptionv3")
    assert info.url == inception_v3.WEIGHTS_PATH_NO_TOP
    assert info.url.endswith("/" + info.file_name)
    info = imagenet_weights_info("efficientnetb2")
    assert info.url == efficientnet.BASE_WEIGHTS_PATH + info.file_name
    assert info.file_hash == efficientnet.WEIGHTS_HASHES["b2"][1]


@pytest.fixture
def empty_keras_cache(tmp_path, monkeypatch):
    """Point Keras' cache at an empty folder and make any download fail at once.

    Keras reads KERAS_HOME once, at import, into a private attribute, so the
    environment variable alone is not enough once Keras is imported.
    """
    from keras.src.backend import config
    from keras.src.utils import file_utils

    home = tmp_path / "keras_home"
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setattr(config, "_KERAS_DIR", str(home))

    def no_network(url, *args, **kwargs):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(file_utils, "urlretrieve", no_network)
    return home


@pytest.mark.parametrize("backbone", BACKBONES)
def test_missing_imagenet_weights_fail_fast_with_file_and_folder(backbone, empty_keras_cache):
    assert keras_weights_dir() == empty_keras_cache / "models"
    info = imagenet_weights_info(backbone)
    with pytest.raises(WeightsUnavailableError) as excinfo:
        build_stage1_model(backbone, weights="imagenet")
    err = excinfo.value
    assert isinstance(err, MSTLError)
    assert err.file_name == info.file_name
    assert info.file_name in str(err)
    assert str(empty_keras_cache / "models") in str(err)
    assert info.url in str(err)
    assert not (empty_keras_cache / "models" / info.file_name).exists()


def test_corrupt_cached_imagenet_file_is_reported(empty_keras_cache):
    info = imagenet_weights_info("resnet50")
    folder = empty_keras_cache / "models"
    folder.mkdir()
    (folder / info.file_name).write_bytes(b"truncated download")
    with pytest.raises(WeightsUnavailableError, match="MD5") as excinfo:
        ensure_imagenet_weights("resnet50")
    assert info.file_name in str(excinfo.value)


def test_bad_head_arguments_are_refused_before_any_network_is_built(empty_keras_cache):
    # checked first: the refusal names the argument, not the missing ImageNet file
    for bad in ((), (64, 0), "abc", 5):
        with pytest.raises(DataError, match="hidden_units"):
            build_ctl_model("resnet50", weights="imagenet", hidden_units=bad)
    with pytest.raises(DataError, match="dropout_rate"):
        build_ctl_model("resnet50", weights="imagenet", dropout_rate=1.0)
    assert not list((empty_keras_cache / "models").glob("*"))


def test_keras_weights_dir_falls_back_like_keras(tmp_path, monkeypatch):
    from keras.src.backend import config

    monkeypatch.setattr(config, "_KERAS_DIR", str(tmp_path / "does_not_exist"))
    assert keras_weights_dir() == Path("/tmp/.keras/models")


def test_weights_from_local_file(tmp_path):
    backbone = build_backbone("resnet50", weights=None)
    _perturb(backbone, seed=3)
    path = tmp_path / "resnet50_backbone.weights.h5"
    backbone.save_weights(path)
    model = build_stage1_model("resnet50", weights=path)
    for name in ("conv1_conv", "conv3_block2_2_bn", "conv5_block3_3_conv"):
        for a, b in zip(backbone.get_layer(name).get_weights(), model.get_layer(name).get_weights()):
            assert np.array_equal(a, b)


def test_weights_from_legacy_h5_file(tmp_path):
    """The format of Keras' ImageNet *_notop.h5 files, written offline here."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    plain = keras.applications.ResNet50(include_top=False, weights=None, input_shape=(75, 75, 3))
    _perturb(plain, seed=4)
    path = tmp_path / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, plain)
    model = build_ctl_model("resnet50", weights=str(path))
    for name in ("conv1_conv", "conv4_block6_3_bn"):
        for a, b in zip(plain.get_layer(name).get_weights(), model.get_layer(name).get_weights()):
            assert np.array_equal(a, b)


def test_bad_weights_arguments(tmp_path):
    with pytest.raises(DataError, match="no such weights file"):
        build_stage1_model("resnet50", weights=tmp_path / "missing.weights.h5")
    with pytest.raises(DataError, match="h5"):
        build_stage1_model("resnet50", weights="imagenet21k")
    with pytest.raises(DataError):
        build_stage1_model("resnet50", weights=3)
    with pytest.raises(DataError, match="ensure_generic_weights"):
        build_stage1_model("resnet50", weights="fractaldb")  # a run's setting, resolved before a network is built
    bad = tmp_path / "efficientnetb2_notop.h5"
    bad.write_bytes(b"")
    with pytest.raises(DataError, match="imagenet"):
        build_stage1_model("efficientnetb2", weights=bad)


# ---------------------------------------------------------------- optimizers


@pytest.mark.parametrize(
    "name, cls",
    [("sgd", keras.optimizers.SGD), ("adam", keras.optimizers.Adam), ("Adagrad", keras.optimizers.Adagrad)],
)
def test_make_optimizer_decays_once_per_epoch(name, cls):
    opt = make_optimizer(name, learning_rate=1e-3, decay_rate=0.96, steps_per_epoch=10)
    assert isinstance(opt, cls)
    schedule = keras.optimizers.schedules.deserialize(opt.get_config()["learning_rate"])
    assert isinstance(schedule, keras.optimizers.schedules.ExponentialDecay)
    lr = lambda step: float(keras.ops.convert_to_numpy(schedule(step)))  # noqa: E731
    assert lr(0) == pytest.approx(1e-3)
    assert lr(9) == pytest.approx(1e-3)  # staircase: constant within epoch 0
    assert lr(10) == pytest.approx(1e-3 * 0.96)
    assert lr(10 * 50) == pytest.approx(1e-3 * 0.96**50, rel=1e-5)  # float32


def test_make_optimizer_smooth_decay_and_errors():
    opt = make_optimizer("adam", steps_per_epoch=4, staircase=False)
    schedule = keras.optimizers.schedules.deserialize(opt.get_config()["learning_rate"])
    assert schedule.get_config()["decay_steps"] == 4
    lr = float(keras.ops.convert_to_numpy(schedule(2)))
    assert lr == pytest.approx(1e-3 * 0.96**0.5, rel=1e-5)
    with pytest.raises(DataError, match="optimizer"):
        make_optimizer("rmsprop", steps_per_epoch=1)
    with pytest.raises(DataError, match="steps_per_epoch"):
        make_optimizer("sgd", steps_per_epoch=0)
    with pytest.raises(DataError):
        make_optimizer("sgd", learning_rate=0, steps_per_epoch=1)
    with pytest.raises(DataError):
        make_optimizer("sgd", decay_rate=1.5, steps_per_epoch=1)
    with pytest.raises(TypeError):
        make_optimizer("sgd")  # steps_per_epoch is required


# ---------------------------------------------------------------- the lab network


def test_resnet10_is_small_flat_and_has_its_stage_layers():
    model = build_ctl_model("resnet10")
    assert model.count_params() < 500_000
    assert not any(isinstance(layer, keras.Model) for layer in model.layers)
    for name in FEATURE_LAYERS["resnet10"]:
        model.get_layer(name)
    assert model.get_layer("stage4_out").output.shape[1:3] == (5, 5)
    assert model.get_layer("preprocess").mode == "tf"


def test_resnet10_has_no_imagenet_weights():
    with pytest.raises(DataError, match="fractaldb"):
        build_ctl_model("resnet10", weights="imagenet")


def test_resnet10_weights_round_trip_through_a_weights_file(tmp_path):
    backbone = build_backbone("resnet10")
    path = tmp_path / "backbone.weights.h5"
    backbone.save_weights(str(path))
    model = build_stage1_model("resnet10", weights=path)
    np.testing.assert_array_equal(
        model.get_layer("stage2_conv1").get_weights()[0], backbone.get_layer("stage2_conv1").get_weights()[0]
    )


def test_set_batchnorm_momentum_reaches_every_batchnorm_layer():
    model = build_ctl_model("resnet10")
    count = set_batchnorm_momentum(model, 0.9)
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert count == len(norms) > 5 and all(layer.momentum == 0.9 for layer in norms)
    with pytest.raises(DataError, match="momentum"):
        set_batchnorm_momentum(model, 1.0)

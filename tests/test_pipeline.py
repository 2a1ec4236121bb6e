"""tf.data input: decoding once, augmentation only for training, the paper's tripling."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_image

from mstl_lib.errors import DataError
from mstl_lib.training.inputs import STAGE2_MULTIPLIER, augmentation_layers, make_tf_dataset


def _images(n=10, size=75, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def _collect(dataset):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in dataset])
    return np.concatenate(xs), np.concatenate(ys)


def test_evaluation_data_keep_order_and_pixels():
    images, labels = _images(7), np.arange(7) % 2
    x, y = _collect(make_tf_dataset(images, labels, batch_size=3))
    assert x.dtype == np.float32 and x.shape == (7, 75, 75, 3)
    assert np.array_equal(x, images.astype(np.float32)) and np.array_equal(y, labels)


def test_files_and_arrays_give_the_same_evaluation_batches(tmp_path):
    images = _images(5)
    paths = [write_image(tmp_path / f"{i}.png", images[i]) for i in range(5)]
    from_files, _ = _collect(make_tf_dataset(paths, np.zeros(5), batch_size=2))
    from_arrays, _ = _collect(make_tf_dataset(images, np.zeros(5), batch_size=2))
    assert np.array_equal(from_files, from_arrays)


def test_stage2_training_triples_the_images_and_augments_copies():
    images, labels = _images(8), np.arange(8) % 2
    data = make_tf_dataset(
        images, labels, batch_size=4, training=True, augmentation="stage2", repeat_augmented=STAGE2_MULTIPLIER, seed=1
    )
    x, y = _collect(data)
    assert len(x) == 8 * STAGE2_MULTIPLIER == 24
    assert sorted(y.tolist()) == sorted(np.tile(labels, 3).tolist())
    originals = {im.astype(np.float32).tobytes() for im in images}
    exact = sum(im.tobytes() in originals for im in x)
    assert 8 <= exact < 24  # every original once, the copies mostly transformed


def test_evaluation_is_never_augmented_even_if_asked():
    images = _images(4)
    x, _ = _collect(make_tf_dataset(images, np.zeros(4), augmentation="stage1", training=False))
    assert np.array_equal(x, images.astype(np.float32))


def test_stage1_one_hot_targets():
    _, y = _collect(
        make_tf_dataset(_images(6), np.array([0, 1, 2, 0, 1, 2]), one_hot=3, training=True, augmentation="stage1")
    )
    assert y.shape == (6, 3) and np.array_equal(y.sum(axis=1), np.ones(6))


def test_augmentation_schemes_follow_the_paper():
    stage1 = [type(layer).__name__ for layer in augmentation_layers("stage1").layers]
    stage2 = [type(layer).__name__ for layer in augmentation_layers("stage2").layers]
    assert stage1 == ["RandomRotation", "RandomTranslation", "RandomFlip"]
    assert stage2 == ["RandomFlip", "RandomRotation"]
    assert augmentation_layers("stage2").layers[0].mode == "vertical"
    assert augmentation_layers(None) is None
    with pytest.raises(DataError, match="augmentation must be one of"):
        augmentation_layers("mixup")


def test_bad_inputs():
    with pytest.raises(DataError, match="uint8"):
        make_tf_dataset(np.zeros((2, 75, 75, 3), np.float32), [0, 1])
    with pytest.raises(DataError, match="2 images but 3 labels"):
        make_tf_dataset(_images(2), [0, 1, 0])
    with pytest.raises(DataError, match="image files but"):
        make_tf_dataset(["a.png"], [0, 1])

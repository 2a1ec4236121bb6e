"""Input pipelines: ``tf.data`` from image files or arrays, with augmentation.

Images are decoded once (by :func:`mstl_lib.data.images.read_image`, so every
format and every error is handled as everywhere else), cached as ``uint8``,
shuffled, augmented on the fly (training data only), batched and prefetched.
Models take raw RGB in [0, 255] and preprocess inside their own graph, so the
pipeline never normalises.

Augmentation follows the paper (Ayana et al. 2022): stage 1 uses rotation,
width and height shifts and flips (sections 2.1 and 2.2 name vertical, then
horizontal and vertical flips); stage 2 uses vertical flips and rotation, and
triples the training images (120 -> 360 per fold, sections 2.1 and 2.2). The
paper makes fixed augmented sets; here copies are drawn afresh each epoch. Augmentation is applied inside each fold
to the training part only, never before splitting.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mstl_lib.data.images import read_image, to_network_input
from mstl_lib.errors import DataError
from mstl_lib.profiles import INPUT_SIZE
from mstl_lib.validation import check_choice, check_image, check_integer

AUGMENTATIONS = ("stage1", "stage2", None)
ROTATION_DEGREES = 20.0
"""Largest rotation either way. The paper names rotation without a range; 20 degrees is our choice."""
SHIFT_FRACTION = 0.1
"""Largest width/height shift, as a fraction of the side (our choice; the paper gives none)."""
STAGE2_MULTIPLIER = 3
"""Stage-2 training images per original per epoch: the original and two augmented copies (paper: 120 -> 360)."""


def augmentation_layers(kind: str | None, seed: int = 0):
    """The Keras preprocessing layers of one augmentation scheme.

    Parameters
    ----------
    kind : {"stage1", "stage2", None}
        ``stage1``: rotation, width/height shift, horizontal and vertical flip.
        ``stage2``: vertical flip and rotation. None: no augmentation.
    seed : int
        Seed of the random transformations.

    Returns
    -------
    keras.Sequential or None
    """
    import keras

    check_choice(kind, "augmentation", AUGMENTATIONS)
    if kind is None:
        return None
    rotation = ROTATION_DEGREES / 360.0
    if kind == "stage1":
        layers = [
            keras.layers.RandomRotation(rotation, fill_mode="reflect", seed=seed),
            keras.layers.RandomTranslation(SHIFT_FRACTION, SHIFT_FRACTION, fill_mode="reflect", seed=seed + 1),
            keras.layers.RandomFlip("horizontal_and_vertical", seed=seed + 2),
        ]
    else:
        layers = [
            keras.layers.RandomFlip("vertical", seed=seed),
            keras.layers.RandomRotation(rotation, fill_mode="reflect", seed=seed + 1),
        ]
    return keras.Sequential(layers, name=f"augment_{kind}")


def _decode_paths(paths: Sequence, image_size: int):
    import tensorflow as tf

    def load(path_bytes):
        return to_network_input(read_image(path_bytes.decode()), image_size)

    def decode(path):
        image = tf.numpy_function(load, [path], tf.uint8, stateful=False)
        image.set_shape((image_size, image_size, 3))
        return image

    return tf.data.Dataset.from_tensor_slices([str(p) for p in paths]).map(
        decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )


def make_tf_dataset(
    source,
    labels,
    *,
    batch_size: int = 16,
    training: bool = False,
    augmentation: str | None = None,
    seed: int = 0,
    image_size: int = INPUT_SIZE,
    one_hot: int | None = None,
    repeat_augmented: int = 1,
):
    """Build a batched ``tf.data.Dataset`` of (image, label) pairs.

    Parameters
    ----------
    source : sequence of paths, or numpy.ndarray
        Image files (decoded once, then cached in memory as uint8), or a
        ``uint8`` array (N, size, size, 3) already in memory.
    labels : array-like
        Integer class labels, one per image.
    batch_size : int
        Mini-batch size (paper: 16).
    training : bool
        Shuffle every epoch and apply ``augmentation``. Evaluation data
        (``training=False``) are never augmented or shuffled.
    augmentation : {"stage1", "stage2", None}
        See :func:`augmentation_layers`.
    seed : int
        Seed of shuffling and augmentation.
    image_size : int
        Side of the images read from files.
    one_hot : int, optional
        Number of classes to one-hot encode labels for (stage 1's softmax);
        None keeps them as float scalars (stage 2's sigmoid).
    repeat_augmented : int
        With augmentation, how many copies of each training image one epoch
        holds: the original plus ``repeat_augmented - 1`` augmented copies
        (stage 2 of the paper: 3).

    Returns
    -------
    tf.data.Dataset
    """
    import tensorflow as tf

    labels = np.asarray(labels)
    if isinstance(source, np.ndarray) and source.dtype.kind not in "OUS":
        source = check_image(
            source, "images", batch=True, channels=(3,), dtypes=(np.uint8,), fix="pass uint8 (N, H, W, 3) RGB images."
        )
        if len(source) != len(labels):
            raise DataError(f"{len(source)} images but {len(labels)} labels.")
        images = tf.data.Dataset.from_tensor_slices(source)
    else:
        paths = list(source)
        if len(paths) != len(labels):
            raise DataError(f"{len(paths)} image files but {len(labels)} labels.")
        images = _decode_paths(paths, image_size)
    if len(labels) == 0:
        raise DataError("no images to make a dataset from.")
    batch_size = check_integer(batch_size, "batch_size", minimum=1)
    if one_hot:
        targets = tf.one_hot(labels.astype(np.int32), one_hot)
    else:
        targets = labels.astype(np.float32)
    as_float = lambda image, target: (tf.cast(image, tf.float32), target)  # noqa: E731
    data = tf.data.Dataset.zip(images, tf.data.Dataset.from_tensor_slices(targets)).cache()
    if not training:
        return data.map(as_float).batch(batch_size).prefetch(tf.data.AUTOTUNE)

    augment = augmentation_layers(augmentation, seed)
    shuffled = data.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True).map(as_float)
    copies = max(int(repeat_augmented), 1)
    if augment is None:
        stream = shuffled
    else:

        def apply(image, target):
            return augment(image, training=True), target

        augmented = shuffled.map(apply, num_parallel_calls=tf.data.AUTOTUNE)
        if copies == 1:
            stream = augmented
        else:
            stream = shuffled
            for _ in range(copies - 1):
                stream = stream.concatenate(augmented)
            stream = stream.shuffle(min(len(labels) * copies, 8192), seed=seed + 1)
    return stream.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def split_loader(source, labels, *, batch_size: int, image_size: int, seed: int, augmentation: str | None, **options):
    """A function ``load(indices, training)`` giving the ``tf.data`` of one part of an image set.

    Every stage of the paper splits one set of images into training,
    validation and test parts; ``load(train, True)`` is the training part,
    shuffled and augmented with ``augmentation``, ``load(val, False)`` a part
    that is neither. ``source`` (paths or a uint8 array) and ``labels`` are
    indexed with ``indices``; ``options`` (``one_hot``, ``repeat_augmented``)
    and the rest go to :func:`make_tf_dataset`.
    """
    source = source if isinstance(source, np.ndarray) else np.array(list(source), dtype=object)
    labels = np.asarray(labels)

    def load(indices, training: bool):
        return make_tf_dataset(
            source[indices],
            labels[indices],
            batch_size=batch_size,
            training=training,
            augmentation=augmentation if training else None,
            seed=seed,
            image_size=image_size,
            **options,
        )

    return load

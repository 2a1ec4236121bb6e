"""The exercise checks that need Keras: the stage-1 network, the stage-2 head, Grad-CAM.

Called through :func:`mstl_lib.teaching.exercises.check`. Each check runs the
student's model or function on a few images of its own and compares the
result with what the architecture the exercise describes computes from the
same weights, so a model with the right size but the wrong activation,
pooling or starting weights fails. No message prints an expected value.
"""

from __future__ import annotations

import numpy as np

from mstl_lib.teaching.answer_checks import Mismatch, near, require_function, run

__all__ = ["check_grad_cam", "check_stage1_model", "check_stage2_head", "probe_images"]

N_PROBES = 4


def probe_images(model, count: int = N_PROBES, seed: int = 0) -> np.ndarray:
    """``count`` random RGB images in [0, 255] at the model's input size, the same for every call."""
    height, width, channels = (int(s) for s in model.inputs[0].shape[1:])
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, size=(count, height, width, channels)).astype("float32")


def _require_model(value):
    import keras

    if not isinstance(value, keras.Model):
        raise Mismatch(f"the answer should be a keras.Model, got {type(value).__name__}.")
    return value


def _output_at(model, layer, images) -> np.ndarray:
    import keras

    return np.asarray(keras.Model(model.inputs[0], layer.output)(images, training=False))


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def _last_dense(model):
    import keras

    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    return dense[-1] if dense else None


def check_stage1_model(model, *, backbone: str, n_classes: int = 3) -> str:
    """Stage 1 (section 2.2): the backbone, global average pooling, one softmax unit per cell line.

    The student's output on :func:`probe_images` must equal softmax(mean over
    space of the backbone's feature map @ W + b), with W and b the student's
    own last ``Dense`` layer, so no softmax, a softmax over the wrong axis, or
    max pooling all fail.
    """
    from mstl_lib.models.networks import LAST_CONV_LAYER, build_backbone

    model = _require_model(model)
    shape = tuple(model.outputs[0].shape[1:])
    if shape != (n_classes,):
        raise Mismatch(f"the output has shape {shape}: one unit per cell line, {n_classes} in all.")
    try:
        trunk = model.get_layer(LAST_CONV_LAYER[backbone])
    except ValueError:
        raise Mismatch(f"the model has no layer {LAST_CONV_LAYER[backbone]!r}: start from build_backbone.") from None
    import keras

    if keras.Model(model.inputs, trunk.output).count_params() != build_backbone(backbone).count_params():
        raise Mismatch(f"the layers up to {trunk.name!r} are not the {backbone} backbone of build_backbone.")
    head = _last_dense(model)
    channels = int(trunk.output.shape[-1])
    if head is None or tuple(head.kernel.shape) != (channels, n_classes):
        raise Mismatch("the pooled features should go straight into one Dense layer with a unit per cell line.")
    images = probe_images(model)
    features = _output_at(model, trunk, images)
    weights, bias = (np.asarray(w) for w in head.get_weights()[:2])
    got = np.asarray(model(images, training=False))
    if near(got, _softmax(features.mean(axis=(1, 2)) @ weights + bias), rel=1e-3, abs_=1e-5):
        return f"global average pooling and a softmax over the {n_classes} cell lines, on {len(images)} images"
    if not near(got.sum(axis=-1), 1.0, abs_=1e-4) or got.min() < 0:
        raise Mismatch(
            f"on random images your outputs do not form probabilities over the {n_classes} cell lines "
            "(each row should be positive and sum to 1): end with a softmax over the classes."
        )
    if near(got, _softmax(features.max(axis=(1, 2)) @ weights + bias), rel=1e-3, abs_=1e-5):
        raise Mismatch("your model takes the maximum over space: use GlobalAveragePooling2D.")
    raise Mismatch("your outputs differ from global average pooling -> Dense -> softmax on the same weights.")


def _check_kept_weights(model, stage1) -> None:
    """Every weight array of stage 1 up to the pooling layer, found in ``model`` under its name, unchanged."""
    from mstl_lib.models.networks import POOL_LAYER

    layers = {layer.name: layer for layer in model.layers}
    for layer in stage1.layers:
        if layer.name == POOL_LAYER:
            return
        if not layer.weights:
            continue
        if layer.name not in layers:
            raise Mismatch(f"your model lacks stage 1's layer {layer.name!r}: build the head on stage1's layers.")
        ours, theirs = layers[layer.name].get_weights(), layer.get_weights()
        same = len(ours) == len(theirs) and all(
            np.shape(a) == np.shape(b) and np.array_equal(a, b) for a, b in zip(ours, theirs)
        )
        if not same:
            raise Mismatch(
                f"the weights of layer {layer.name!r} differ from stage 1's: your backbone is not the "
                "stage-1 network (a new build_backbone starts from other weights). Build on "
                f"stage1.get_layer({POOL_LAYER!r}).output with stage1.input, so stage 2 starts from stage 1."
            )


def _head_layers(model, stage1):
    """The student's head: its Dense layers after the pooling layer, and its Dropout layers, in order."""
    import keras

    from mstl_lib.models.networks import HEAD_DROPOUT, HEAD_UNITS

    stage1_names = {layer.name for layer in stage1.layers}
    head = [layer for layer in model.layers if layer.name not in stage1_names]
    if _last_dense(stage1).name in {layer.name for layer in model.layers}:
        raise Mismatch("your model keeps stage 1's softmax layer: build the head on the pooling layer's output.")
    dense = [layer for layer in head if isinstance(layer, keras.layers.Dense)]
    units = [int(layer.units) for layer in dense]
    if units != [*HEAD_UNITS, 1]:
        raise Mismatch(f"your head's Dense layers have {units} units; read the exercise's sizes again.")
    dropout = [layer for layer in head if isinstance(layer, keras.layers.Dropout)]
    order = [layer.name for layer in head]
    if not any(
        np.isclose(d.rate, HEAD_DROPOUT)
        and order.index(dense[0].name) < order.index(d.name) < order.index(dense[1].name)
        for d in dropout
    ):
        raise Mismatch("the head needs a Dropout layer of rate 0.5 right after the first Dense layer.")
    return dense


def _head_forward(pooled: np.ndarray, dense, relu: bool = True, sigmoid: bool = True) -> np.ndarray:
    """The head's output from the pooled features and the student's own Dense weights (dropout off)."""
    x = pooled
    for layer in dense[:-1]:
        kernel, bias = layer.get_weights()
        x = x @ kernel + bias
        x = np.maximum(x, 0) if relu else x
    kernel, bias = dense[-1].get_weights()
    logit = x @ kernel + bias
    return 1 / (1 + np.exp(-logit)) if sigmoid else logit


def check_stage2_head(model, *, stage1) -> str:
    """Stage 2 of MSTL (section 2.2, Fig. 3c): stage 1's weights kept array by array, the ReLU head, one sigmoid.

    Compared with :func:`mstl_lib.models.networks.build_stage2_model`: the
    same layers and sizes, every stage-1 weight unchanged, and on
    :func:`probe_images` the output equals the ReLU-Dense-sigmoid head
    computed from the student's own head weights.
    """
    from mstl_lib.models.networks import POOL_LAYER, build_stage2_model

    model = _require_model(model)
    shape = tuple(model.outputs[0].shape[1:])
    if shape != (1,):
        raise Mismatch(f"the output has shape {shape}: stage 2 has one unit, the probability of malignant.")
    _check_kept_weights(model, stage1)
    try:
        pool = model.get_layer(POOL_LAYER)
    except ValueError:
        raise Mismatch(f"your model has no layer {POOL_LAYER!r}: build the head on stage 1's pooling layer.") from None
    dense = _head_layers(model, stage1)
    images = probe_images(model)
    pooled = _output_at(model, pool, images)
    got = np.asarray(model(images, training=False))
    if model.count_params() == build_stage2_model(stage1).count_params() and near(
        got, _head_forward(pooled, dense), rel=1e-3, abs_=1e-5
    ):
        return "stage 1's weights kept, and a ReLU head with one sigmoid unit, as build_stage2_model"
    if got.min() < 0 or got.max() > 1 or near(got, _head_forward(pooled, dense, sigmoid=False), abs_=1e-5):
        raise Mismatch("on random images your outputs are not probabilities: the output unit needs a sigmoid.")
    if np.allclose(got, 1.0):
        raise Mismatch("every output is 1: a softmax over one unit is always 1; use a sigmoid.")
    if near(got, _head_forward(pooled, dense, relu=False), rel=1e-3, abs_=1e-5):
        raise Mismatch("the hidden Dense layers have no ReLU: give each activation='relu'.")
    raise Mismatch("your outputs differ from the ReLU head with a sigmoid unit computed from your own weights.")


def check_grad_cam(function, *, model, images, layer_names) -> str:
    """Grad-CAM (Selvaraju et al. 2017) at the layer's resolution, against :func:`features.grad_cam`.

    The student's function runs on every image at every layer of
    ``layer_names`` (at the last convolution before global average pooling
    the gradients are the same everywhere, so an earlier layer is needed to
    test the average over space). Its map is used as returned, neither
    clipped nor rescaled: it must have the feature map's size, no negative
    values (the ReLU), a maximum of 1 (the normalisation), and the library's
    values.
    """
    from mstl_lib.models.features import grad_cam

    grad_cam_of = require_function(function, "my_grad_cam(model, image, layer_name)")
    layer_names = [layer_names] if isinstance(layer_names, str) else list(layer_names)
    for layer_name in layer_names:
        for i, image in enumerate(images):
            heat = np.asarray(run(grad_cam_of, model, image, layer_name), dtype=np.float64)
            want = grad_cam(model, image, layer_name=layer_name, upsample=False)
            _compare_heat(heat, want, f"for image {i} at {layer_name!r}")
    return (
        f"your maps agree with mstl_lib.models.features.grad_cam on {len(images)} images and {len(layer_names)} layers"
    )


def _compare_heat(heat: np.ndarray, want: np.ndarray, where: str) -> None:
    """The student's map against the library's; a mismatch names the step that is missing."""
    if heat.shape != want.shape:
        raise Mismatch(
            f"{where} your map has shape {heat.shape}; a Grad-CAM map has the feature map's height x width "
            "(sum the weighted channels over the last axis, and do not resize)."
        )
    if not np.all(np.isfinite(heat)):
        raise Mismatch(f"{where} your map has NaN or infinite values.")
    if heat.min() < -1e-6:
        raise Mismatch(f"{where} your map has negative values: apply the ReLU to the weighted sum of channels.")
    if want.max() == 0:
        if heat.max() > 1e-6:
            raise Mismatch(f"{where} no location has positive evidence, yet your map is not all zero.")
        return
    if abs(heat.max() - 1) > 1e-3:
        raise Mismatch(f"{where} your map's largest value is {heat.max():.3g}: divide by the maximum.")
    diff = float(np.abs(heat - want).max())
    if diff > 0.02:
        raise Mismatch(
            f"{where} your map differs from the library's by up to {diff:.2f} (of 1): average the gradients "
            "over the two spatial axes (one weight per channel), then weight and sum the channels."
        )

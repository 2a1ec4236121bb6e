"""What the networks look at: feature maps and Grad-CAM.

Ayana et al. (2022), Fig. 6, compare the feature maps of the MSTL and the CTL
network at five convolution stages for the same ultrasound image, and argue
that the network that saw cancer-cell microscopy first (MSTL) responds more
to the lesion. This module computes those maps, and Grad-CAM heat maps
(Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
Gradient-based Localization", ICCV 2017) as a second, class-specific view.
:mod:`mstl_lib.visualize` draws them (:func:`mstl_lib.visualize.features.plot_feature_maps`,
:func:`mstl_lib.visualize.features.plot_gradcam`).

Every model built by :mod:`mstl_lib.models` is a flat functional graph from
raw RGB pixels in [0, 255], so any backbone layer is
``model.get_layer(name)`` and images go in exactly as they are read
(``uint8`` ``75 x 75 x 3``), without any preprocessing here.

Which five stages
-----------------
:data:`mstl_lib.models.networks.FEATURE_LAYERS` names the layers that end the
backbone's convolutional stages; where it names fewer than five, the
shallowest stages are completed from :data:`EXTRA_STAGE_LAYERS` (layers with
fixed names, never Keras' auto-numbered ones), so that every backbone gives
five, shallow to deep. At a 75 x 75 input:

* ResNet50: ``conv1_relu`` 38 x 38, ``conv2_block3_out`` 19 x 19,
  ``conv3_block4_out`` 10 x 10, ``conv4_block6_out`` 5 x 5,
  ``conv5_block3_out`` 3 x 3;
* InceptionV3: ``mixed0`` 7 x 7, ``mixed2`` 7 x 7, ``mixed3`` 3 x 3,
  ``mixed7`` 3 x 3, ``mixed10`` 1 x 1 (its stem shrinks 75 px to 7 px before
  the first Inception block);
* EfficientNetB2: ``block2c_add`` 19 x 19, ``block3c_add`` 10 x 10,
  ``block5d_add`` 5 x 5, ``block7b_add`` 3 x 3, ``top_activation`` 3 x 3.
"""

from __future__ import annotations

import numpy as np

from mstl_lib.backbones import backbone_table, get_spec
from mstl_lib.data.images import resize_heatmap
from mstl_lib.errors import DataError
from mstl_lib.models.networks import FEATURE_LAYERS, LAST_CONV_LAYER
from mstl_lib.profiles import ALL_BACKBONES
from mstl_lib.validation import check_image, check_integer

__all__ = [
    "N_STAGES",
    "EXTRA_STAGE_LAYERS",
    "detect_backbone",
    "conv_stage_layers",
    "feature_maps",
    "grad_cam",
    "explained_score",
]

#: Number of convolution stages shown per network (Ayana et al. 2022, Fig. 6).
N_STAGES = 5

#: Fixed-name layers that complete :data:`mstl_lib.models.networks.FEATURE_LAYERS` to
#: :data:`N_STAGES` stages, shallowest first (each :class:`mstl_lib.backbones.BackboneSpec`'s
#: ``extra_stage_layers``).
EXTRA_STAGE_LAYERS = backbone_table("extra_stage_layers")

# A layer unique to each backbone, used to recognise it in a model.
_SIGNATURE_LAYERS = backbone_table("signature")


def detect_backbone(model) -> str:
    """The backbone of a model built by :mod:`mstl_lib.models`.

    Parameters
    ----------
    model : keras.Model
        A stage-1, stage-2 (MSTL), CTL or backbone model.

    Returns
    -------
    str
        ``"resnet50"``, ``"inceptionv3"``, ``"efficientnetb2"`` or
        ``"resnet10"`` (the small network of the ``smoke`` and ``lab`` profiles).

    Raises
    ------
    DataError
        If the model holds none of the backbones' characteristic layers.
    """
    layers = getattr(model, "layers", None)
    if layers is None:
        raise DataError(f"expected a keras.Model, got {type(model).__name__}.")
    names = {layer.name for layer in layers}
    for backbone, signature in _SIGNATURE_LAYERS.items():
        if signature in names:
            return backbone
    raise DataError(
        f"Model {getattr(model, 'name', '?')!r} is not built on one of the backbones "
        f"{', '.join(ALL_BACKBONES)} (none of the layers {', '.join(_SIGNATURE_LAYERS.values())} "
        "is in it). Fix: pass the layer names explicitly (layers=[...])."
    )


def conv_stage_layers(model_or_backbone) -> list[str]:
    """The five convolution-stage output layers of a backbone, shallow to deep.

    The layers whose feature maps Ayana et al. (2022) show in Fig. 6: those of
    :data:`mstl_lib.models.networks.FEATURE_LAYERS`, completed to :data:`N_STAGES` from
    :data:`EXTRA_STAGE_LAYERS` (see the module docstring for the list).

    Parameters
    ----------
    model_or_backbone : str or keras.Model
        A backbone name, or a model built by :mod:`mstl_lib.models` (the
        backbone is recognised from its layer names).

    Returns
    -------
    list of str
        Five layer names, each reachable with ``model.get_layer(name)``.

    Raises
    ------
    DataError
        Unknown backbone name, a model of no known backbone, or a model that
        lacks one of the layers.
    """
    if isinstance(model_or_backbone, str):
        backbone = model_or_backbone.lower()
        if backbone not in ALL_BACKBONES:
            raise DataError(f"Unknown backbone {model_or_backbone!r}; expected one of {', '.join(ALL_BACKBONES)}.")
        model = None
    else:
        model = model_or_backbone
        backbone = detect_backbone(model)
    names = list(FEATURE_LAYERS[backbone])
    for extra in EXTRA_STAGE_LAYERS[backbone]:
        if len(names) >= N_STAGES:
            break
        if extra not in names:
            names.append(extra)
    names = sorted(names, key=get_spec(backbone).layer_depth)[-N_STAGES:]
    if model is not None:
        present = {layer.name for layer in model.layers}
        missing = [n for n in names if n not in present]
        if missing:
            raise DataError(f"Model {model.name!r} has no layer(s) {', '.join(missing)}.")
    return names


def _check_model(model):
    import keras

    if not isinstance(model, keras.Model):
        raise DataError(f"model must be a keras.Model, got {type(model).__name__}.")
    if len(model.inputs) != 1:
        raise DataError(f"model {model.name!r} must have exactly one input, it has {len(model.inputs)}.")
    return model


def _check_image(image, model) -> np.ndarray:
    """One raw image as a float32 batch of 1, checked against the model's input."""
    image = np.asarray(image)
    if image.ndim == 4 and image.shape[0] == 1:
        image = image[0]
    image = check_image(image, "image", fix="pass one RGB image with values in [0, 255] (a batch of one is accepted).")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    expected = tuple(model.inputs[0].shape[1:3])
    if None not in expected and tuple(image.shape[:2]) != expected:
        raise DataError(
            f"image is {image.shape[0]}x{image.shape[1]} but model {model.name!r} takes "
            f"{expected[0]}x{expected[1]}; resize it first (e.g. mstl_lib.data.images)."
        )
    return image.astype(np.float32)[None]


def _check_layers(model, layers) -> list[str]:
    if layers is None:
        return conv_stage_layers(model)
    if isinstance(layers, str):
        layers = [layers]
    layers = list(layers)
    if not layers:
        raise DataError("layers is empty; give at least one layer name.")
    present = {layer.name for layer in model.layers}
    for name in layers:
        if name not in present:
            raise DataError(f"Model {model.name!r} has no layer {name!r}.")
        shape = model.get_layer(name).output.shape
        if len(shape) != 4:
            raise DataError(f"Layer {name!r} outputs shape {tuple(shape)}, not a (batch, H, W, C) feature map.")
    return layers


def feature_maps(model, image, layers=None) -> list[tuple[str, np.ndarray]]:
    """Feature maps of one image at several layers (Ayana et al. 2022, Fig. 6).

    One forward pass through ``keras.Model(model.input, [model.get_layer(n).output
    for n in layers])`` in inference mode.

    Parameters
    ----------
    model : keras.Model
        A (flat) model from :mod:`mstl_lib.models`, or any single-input
        functional model.
    image : numpy.ndarray
        One raw RGB image, ``H x W x 3`` with values in [0, 255] (``uint8``
        or float), the model's input size; a ``1 x H x W x 3`` batch and an
        ``H x W`` grayscale image are accepted too.
    layers : sequence of str, optional
        Layer names; default :func:`conv_stage_layers` of the model.

    Returns
    -------
    list of (str, numpy.ndarray)
        ``(layer_name, activation)`` per layer, in the order given, each
        activation ``float32`` ``h x w x c``.

    Raises
    ------
    DataError
        Bad image shape, unknown layer, or a layer that is not a feature map.
    """
    import keras

    model = _check_model(model)
    batch = _check_image(image, model)
    layers = _check_layers(model, layers)
    extractor = keras.Model(model.inputs[0], [model.get_layer(n).output for n in layers])
    outputs = extractor(batch, training=False)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return [(name, np.asarray(keras.ops.convert_to_numpy(out))[0]) for name, out in zip(layers, outputs)]


def _default_gradcam_layer(model) -> str:
    import keras

    try:
        backbone = detect_backbone(model)
    except DataError:
        backbone = None
    if backbone is not None:
        # A 1 x 1 map (InceptionV3's mixed10 at 75 x 75) has nothing to
        # localise; fall back to the deepest stage that is larger.
        candidates = [LAST_CONV_LAYER[backbone]] + conv_stage_layers(model)[::-1]
        for name in candidates:
            height, width = model.get_layer(name).output.shape[1:3]
            if height is None or width is None or height * width > 1:
                return name
        return LAST_CONV_LAYER[backbone]
    for layer in reversed(model.layers):
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):
            continue
        if len(shape) == 4 and not isinstance(layer, keras.layers.InputLayer):
            return layer.name
    raise DataError(f"Model {model.name!r} has no layer with a (batch, H, W, C) output for Grad-CAM.")


def _score_tensors(model):
    """The tensor whose entries are the class scores, before the final activation.

    Grad-CAM differentiates the class score y^c before softmax (Selvaraju et
    al. 2017, section 3; the keras-io example removes the last activation for
    the same reason). When the model ends in a ``Dense`` layer with a sigmoid
    or softmax, its input is returned together with that layer, so the
    logits can be recomputed without changing the model; otherwise the
    model's output itself is used.
    """
    import keras

    last = model.layers[-1]
    if isinstance(last, keras.layers.Dense):
        activation = getattr(last.activation, "__name__", "")
        if activation in ("sigmoid", "softmax"):
            return last.input, last
    return model.outputs[0], None


def explained_score(scores, class_index):
    """The score Grad-CAM explains, per image: one class's logit (Selvaraju et al. 2017, equation 1's ``y^c``).

    A one-unit sigmoid model explains "malignant" with its logit and "benign"
    (``class_index=0``) with minus the logit; a softmax model explains
    ``class_index``, by default its most likely class (for the first image).

    Parameters
    ----------
    scores : tensor
        The logits, ``(batch, 1)`` or ``(batch, n_classes)``.
    class_index : int or None
        The class to explain.

    Returns
    -------
    tensor
        ``(batch,)``: the explained score of each image.
    """
    import tensorflow as tf

    scores = tf.reshape(scores, (tf.shape(scores)[0], -1))
    n_outputs = int(scores.shape[-1])
    if n_outputs == 1:
        if class_index not in (None, 0, 1):
            raise DataError(
                f"class_index must be None, 0 (benign) or 1 (malignant) for a single-output model, got {class_index!r}."
            )
        return -scores[:, 0] if class_index == 0 else scores[:, 0]
    if class_index is None:
        class_index = int(tf.argmax(scores[0]))
    class_index = check_integer(class_index, "class_index", minimum=0, maximum=n_outputs - 1)
    return scores[:, class_index]


def grad_cam(
    model,
    image,
    layer_name: str | None = None,
    class_index: int | None = None,
    upsample: bool = True,
) -> np.ndarray:
    """Grad-CAM heat map of one image (Selvaraju et al., ICCV 2017).

    Follows the keras-io example "Grad-CAM class activation visualization":
    a model maps the input to ``[feature map of layer_name, class scores]``;
    the gradient of the chosen class score with respect to the feature map is
    averaged over space (one weight per channel); the channels are summed
    with these weights, passed through a ReLU, divided by their maximum and
    resized (bilinear) to the image.

    Parameters
    ----------
    model : keras.Model
        Stage-2 (MSTL) or CTL model (one sigmoid unit: probability of
        malignant), stage-1 model (softmax over cell lines), or any
        single-input functional model.
    image : numpy.ndarray
        One raw RGB image ``H x W x 3`` in [0, 255], the model's input size.
    layer_name : str, optional
        The feature map to explain; default the backbone's last convolutional
        layer (:data:`mstl_lib.models.networks.LAST_CONV_LAYER`), or for other models
        the last layer with a ``(batch, H, W, C)`` output. Where the last
        convolutional map is 1 x 1 (InceptionV3 at 75 x 75 ends in a 1 x 1
        ``mixed10``), the deepest of :func:`conv_stage_layers` that is larger
        (``mixed7``, 3 x 3), since a single cell localises nothing.
    class_index : int, optional
        Softmax models: the class to explain, default the predicted one.
        Single-unit sigmoid models: ``None`` or 1 explains "malignant" (the
        logit), 0 explains "benign" (minus the logit).
    upsample : bool, default True
        Resize the map to the image's size; ``False`` keeps the feature map's
        own ``h x w`` (what lesson 7's exercise computes by hand).

    Returns
    -------
    numpy.ndarray
        ``float32`` ``H x W`` heat map in [0, 1] at the image's size, or at
        the layer's size when ``upsample`` is false (all zeros when no location
        has positive evidence for the class).

    Raises
    ------
    DataError
        Bad image, unknown layer, or ``class_index`` out of range.

    Notes
    -----
    The score is the pre-activation logit of the final ``Dense`` layer,
    recomputed from its input and weights, as in the paper by Selvaraju et
    al.; the model itself is not modified. Dropout is off (inference mode).
    """
    import keras
    import tensorflow as tf

    model = _check_model(model)
    batch = _check_image(image, model)
    if layer_name is None:
        layer_name = _default_gradcam_layer(model)
    layer_name = _check_layers(model, [layer_name])[0]
    score_tensor, head = _score_tensors(model)
    explained = model.get_layer(layer_name).output
    grad_model = keras.Model(model.inputs[0], [explained, score_tensor])

    with tf.GradientTape() as tape:
        conv_out, scores = grad_model(tf.convert_to_tensor(batch), training=False)
        if head is not None:  # the logit, recomputed from the last layer's input
            scores = tf.matmul(scores, head.kernel)
            if head.use_bias:
                scores = scores + head.bias
        score = explained_score(scores, class_index)
    grads = tape.gradient(score, conv_out)
    if grads is None:
        raise DataError(
            f"The output of model {model.name!r} does not depend on layer "
            f"{layer_name!r}: choose a layer before the output."
        )
    pooled = tf.reduce_mean(grads, axis=(0, 1, 2))  # one weight per channel
    heat = tf.nn.relu(tf.reduce_sum(conv_out[0] * pooled, axis=-1))
    heat = heat.numpy().astype(np.float32)
    peak = float(heat.max()) if heat.size else 0.0
    heat = heat / peak if peak > 0 and np.isfinite(peak) else np.zeros_like(heat)
    return resize_heatmap(heat, batch.shape[1:3]) if upsample else heat

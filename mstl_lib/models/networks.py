"""The networks of the paper: backbones, the two transfer stages and CTL.

Ayana et al. (2022), section 2.2 and Fig. 3, transfer an ImageNet backbone
twice:

* **stage 1** (Fig. 3b): the backbone without its ImageNet classifier, global
  average pooling and one softmax layer over the cancer cell lines
  (:func:`build_stage1_model`);
* **stage 2** (Fig. 3c): the stage-1 network up to and including the pooling
  layer, with its softmax layer replaced by three dense layers (ReLU, our
  choice), one of them followed by dropout, and one sigmoid unit for benign (0) / malignant (1)
  ultrasound (:func:`build_stage2_model`);
* **conventional transfer learning (CTL)**, the paper's baseline: the same
  binary head put directly on the ImageNet backbone (:func:`build_ctl_model`).

Design decisions (documented here once, relied on by the rest of the library)
-------------------------------------------------------------------------------
Raw pixels in, preprocessing inside.
    Every model takes RGB images with values in [0, 255] (float32, or uint8,
    which the first layer casts). Each backbone's own ImageNet preprocessing is
    the model's first layer, :class:`BackbonePreprocessing`, a registered,
    serializable layer (not a ``Lambda``), so a saved ``.keras`` file is
    self-contained, loads with ``safe_mode=True``, and nobody preprocesses
    twice.

Flat graphs.
    The preprocessed tensor is handed to the Keras application as
    ``input_tensor``, so the application's layers become layers of our own
    functional graph. No layer of a model built here is itself a
    ``keras.Model``; every backbone layer (see :data:`FEATURE_LAYERS`) can be
    reached with ``model.get_layer(name)`` for feature maps and Grad-CAM.

75 x 75 for every backbone.
    The paper resizes the ultrasound images to 75 x 75 (section 2.1) for all
    three backbones.
    Keras' own minimum sides are 75 for InceptionV3 and 32 for ResNet50 and
    EfficientNetB2; the library asks for at least :data:`MIN_IMAGE_SIZE` = 75
    for all three, so that one input size serves the whole grid of Table 1
    and a configuration never silently works for two backbones and fails for
    the third. Inputs must be square with three channels.

Stage 2 copies, it does not share.
    :func:`build_stage2_model` clones the stage-1 network
    (``keras.models.clone_model``) and copies its weights, so the two models
    hold separate variables: training stage 2 leaves the stage-1 model exactly
    as it was (it can still be evaluated or saved afterwards).

Head sizes are our choice.
    The paper replaces the dense layer by "three dense layers, one along with
    drop out" (section 2.2) without sizes.
    We use 256, 128 and 64 ReLU units with dropout 0.5 after the first dense
    layer (:data:`HEAD_UNITS`, :data:`HEAD_DROPOUT`); both can be changed per
    call.

ImageNet weights come from Keras' own cache.
    ``weights="imagenet"`` uses the file Keras itself would download into
    ``$KERAS_HOME/models`` (default ``~/.keras/models``). When it is neither
    there nor downloadable, :class:`WeightsUnavailableError` is raised at once,
    naming the file, its URL and the folder to put it in
    (:func:`imagenet_weights_info`, :func:`keras_weights_dir`).
"""

from __future__ import annotations

import importlib
import numbers
from pathlib import Path

import keras

from mstl_lib.backbones import BackboneSpec, backbone_table, get_spec
from mstl_lib.errors import DataError
from mstl_lib.integrity import check_keras_archive
from mstl_lib.models.preprocessing import PREPROCESS_LAYER, BackbonePreprocessing
from mstl_lib.models.weights import check_backbone, check_weights_argument
from mstl_lib.profiles import ALL_BACKBONES, BACKBONES, INPUT_SIZE, LAB_BACKBONES
from mstl_lib.validation import check_integer, check_number

__all__ = [
    "BACKBONES",
    "LAB_BACKBONES",
    "ALL_BACKBONES",
    "RESNET10_WIDTHS",
    "MIN_IMAGE_SIZE",
    "HEAD_UNITS",
    "HEAD_DROPOUT",
    "FEATURE_LAYERS",
    "LAST_CONV_LAYER",
    "build_backbone",
    "build_stage1_model",
    "build_stage2_model",
    "build_ctl_model",
    "load_model",
    "set_batchnorm_momentum",
    "resnet10_trunk",
]

#: Smallest accepted side of the square input: the paper's size, which is also
#: InceptionV3's minimum in Keras.
MIN_IMAGE_SIZE = INPUT_SIZE

#: Units of the three ReLU dense layers of the binary head (our choice; the
#: paper gives no sizes).
HEAD_UNITS = (256, 128, 64)

#: Dropout rate of the head's one dropout layer, placed after the first dense
#: layer (our choice; the paper gives no rate).
HEAD_DROPOUT = 0.5


#: Channels of the four stages of the lab network ``resnet10`` (our choice).
RESNET10_WIDTHS = (16, 32, 64, 128)

#: Names of the layers that end each convolutional stage of each backbone,
#: shallow to deep; all reachable with ``model.get_layer`` on any model built
#: here (each :class:`mstl_lib.backbones.BackboneSpec`'s ``feature_layers``,
#: where their spatial sizes at 75 x 75 are given).
FEATURE_LAYERS = backbone_table("feature_layers")

#: The last convolutional feature map of each backbone (Grad-CAM's default).
LAST_CONV_LAYER = backbone_table("last_conv_layer")

POOL_LAYER = "global_avg_pool"
STAGE1_OUTPUT = "stage1_output"


# --------------------------------------------------------------------------
# Model building
# --------------------------------------------------------------------------


def _shape_of(image_size) -> tuple[int, ...]:
    """``image_size`` (a side, or (height, width[, channels])) as (height, width, channels)."""
    if isinstance(image_size, numbers.Number):
        side = check_integer(image_size, "image_size")
        return side, side, 3
    wrong = DataError(f"image_size must be an int or a (height, width[, 3]) tuple, got {image_size!r}.")
    try:
        if isinstance(image_size, (str, bytes)):
            raise TypeError
        shape = tuple(int(s) for s in image_size)
    except (TypeError, ValueError):
        raise wrong from None
    if len(shape) not in (2, 3):
        raise wrong
    return shape if len(shape) == 3 else (*shape, 3)


def _input_shape(image_size) -> tuple[int, int, int]:
    """The network's input shape: square, RGB, at least :data:`MIN_IMAGE_SIZE` on a side."""
    shape = _shape_of(image_size)
    height, width, channels = shape
    if channels != 3:
        raise DataError(
            f"Input must have 3 (RGB) channels, got {channels}; convert grayscale ultrasound "
            "to RGB by repeating the channel."
        )
    if height != width:
        raise DataError(f"Input must be square, got {height}x{width}; resize to e.g. 75x75.")
    if height < MIN_IMAGE_SIZE:
        raise DataError(
            f"Input size {height}x{width} is too small: the library needs at least "
            f"{MIN_IMAGE_SIZE}x{MIN_IMAGE_SIZE} for every backbone (the paper's size, and "
            "InceptionV3's minimum in Keras)."
        )
    return shape


def build_backbone(backbone: str, weights=None, image_size=INPUT_SIZE) -> keras.Model:
    """A backbone without its ImageNet classifier, taking raw [0, 255] RGB.

    The returned functional model goes from the raw ``keras.Input`` through
    :class:`BackbonePreprocessing` (layer ``"preprocess"``) and the Keras
    application's layers to the last convolutional feature map; it is flat (no
    nested models). It is the common trunk of :func:`build_stage1_model` and
    :func:`build_ctl_model`.

    Parameters
    ----------
    backbone : {"resnet50", "inceptionv3", "efficientnetb2", "resnet10"}
        Which network: one of the paper's three ``keras.applications``
        networks, or ``resnet10``, the small network of the ``smoke`` and
        ``lab`` profiles (:func:`resnet10_trunk`; no ImageNet weights).
    weights : "imagenet", None, or path-like, default None
        ``"imagenet"``: Keras' ImageNet weights from its cache (see
        :func:`ensure_imagenet_weights`). ``None``: random initialisation.
        A path: a weights file for this backbone, loaded with
        ``Model.load_weights``: a legacy ``.h5`` such as Keras' ImageNet
        ``*_notop.h5`` (ResNet50, InceptionV3), or a ``.weights.h5`` saved with
        ``build_backbone(...).save_weights``.
    image_size : int or tuple, default INPUT_SIZE (75)
        Side of the square input, or ``(height, width)`` /
        ``(height, width, 3)``; at least :data:`MIN_IMAGE_SIZE`.

    Returns
    -------
    keras.Model
        Raw images ``(batch, s, s, 3)`` -> feature map.

    Raises
    ------
    DataError
        Unknown backbone, bad input size (< 75, not square, not 3 channels),
        bad ``weights`` value or unreadable weights file.
    WeightsUnavailableError
        ``weights="imagenet"`` and the file is neither cached nor downloadable.

    References
    ----------
    Ayana et al. (2022), section 2.2 (backbones) and 2.1 (75 x 75 input).
    """
    spec = get_spec(check_backbone(backbone))
    shape = _input_shape(image_size)
    checked = check_weights_argument(weights, backbone)
    inputs = keras.Input(shape=shape, name="image")
    x = BackbonePreprocessing(spec.preprocessing, name=PREPROCESS_LAYER)(inputs)
    base = None
    if spec.trunk is not None:
        features = _library_trunk(spec)(x)
    else:
        application = getattr(keras.applications, spec.keras_application)
        base = application(
            include_top=False,
            weights="imagenet" if checked == "imagenet" else None,
            input_tensor=x,
            input_shape=shape,
            pooling=None,
        )
        features = base.output
    model = keras.Model(inputs, features, name=f"{backbone}_backbone")
    if isinstance(checked, Path):
        # a .weights.h5 was saved from a model built here; a legacy .h5 is Keras' own (ImageNet) file
        target = model if base is None or checked.name.endswith(".weights.h5") else base
        try:
            target.load_weights(str(checked))
        except Exception as exc:
            raise DataError(
                f"{checked}: cannot load these weights into {backbone} at {shape[0]}x{shape[1]}: {exc}"
            ) from exc
    return model


def _library_trunk(spec: BackboneSpec):
    """The library's own trunk of a backbone that is no Keras application (its spec's ``"module:function"``)."""
    module, _, function = spec.trunk.partition(":")
    return getattr(importlib.import_module(module), function)


def _basic_block(x, filters: int, stride: int, name: str):
    """A ResNet basic block: two 3x3 convolutions with BatchNorm and an identity (or 1x1) shortcut."""
    layers = keras.layers
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_proj")(x)
        shortcut = layers.BatchNormalization(name=f"{name}_proj_bn")(shortcut)
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv1")(x)
    y = layers.BatchNormalization(name=f"{name}_bn1")(y)
    y = layers.ReLU(name=f"{name}_relu1")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2")(y)
    y = layers.BatchNormalization(name=f"{name}_bn2")(y)
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    return layers.ReLU(name=f"{name}_out")(y)


def resnet10_trunk(x, widths=RESNET10_WIDTHS):
    """The convolutional trunk of ``resnet10``, the lab profiles' small network.

    A ResNet with one basic block per stage (He et al. 2016; 1 stem
    convolution + 4 x 2 block convolutions, hence "10" with the classifier):
    a 3x3 stride-2 stem, then four stages of ``widths`` channels, the last
    three halving the map. At 75 x 75 the maps are 38, 38, 19, 10 and 5 pixels
    wide. About 0.3 million parameters with the default widths, against
    ResNet50's 23.5 million; on a 2-core CPU it trains about 20 times as many
    images per second, so a classroom can run every stage in minutes. It is not one of the paper's
    networks (section 2.2).

    Parameters
    ----------
    x : keras tensor
        Preprocessed images (values in [-1, 1]).
    widths : tuple of int
        Channels of the four stages.
    """
    layers = keras.layers
    x = layers.Conv2D(widths[0], 3, strides=2, padding="same", use_bias=False, name="stem_conv")(x)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    for index, filters in enumerate(widths, start=1):
        x = _basic_block(x, filters, 1 if index == 1 else 2, name=f"stage{index}")
    return x


def _check_head(hidden_units, dropout_rate) -> tuple[tuple[int, ...], float]:
    """The head's arguments, checked before any network is built."""
    try:
        units = tuple(int(u) for u in hidden_units)
    except (TypeError, ValueError):
        units = ()
    if len(units) < 1 or any(u < 1 for u in units):
        raise DataError(f"hidden_units must be positive integers, e.g. (256, 128, 64), got {hidden_units!r}.")
    return units, check_number(dropout_rate, "dropout_rate", minimum=0.0, maximum=1.0, include_maximum=False)


def _binary_head(features, hidden_units: tuple[int, ...], dropout_rate: float):
    x = features
    for i, units in enumerate(hidden_units, start=1):
        x = keras.layers.Dense(units, activation="relu", name=f"head_dense_{i}")(x)
        if i == 1:
            x = keras.layers.Dropout(float(dropout_rate), name="head_dropout")(x)
    return keras.layers.Dense(1, activation="sigmoid", dtype="float32", name="head_output")(
        x
    )  # float32 under mixed precision


def build_stage1_model(backbone: str, n_classes: int = 3, weights=None, image_size=INPUT_SIZE) -> keras.Model:
    """Stage 1 of MSTL: backbone, global average pooling, softmax over cell lines.

    Parameters
    ----------
    backbone : {"resnet50", "inceptionv3", "efficientnetb2", "resnet10"}
        The backbone (see :func:`build_backbone`; ``resnet10``: the small
        network of the ``smoke`` and ``lab`` profiles).
    n_classes : int, default 3
        Number of cancer cell lines (paper: 3).
    weights : "imagenet", None, or path-like, default None
        See :func:`build_backbone`. The paper uses ``"imagenet"``.
    image_size : int or tuple, default INPUT_SIZE (75)
        See :func:`build_backbone`.

    Returns
    -------
    keras.Model
        Named ``"<backbone>_stage1"``: raw images -> ``(batch, n_classes)``
        probabilities. Layers ``"preprocess"``, the backbone's layers,
        ``"global_avg_pool"`` and ``"stage1_output"`` (Dense, softmax). All
        layers trainable. Not compiled.

    Raises
    ------
    DataError
        As :func:`build_backbone`, or ``n_classes`` < 2.
    WeightsUnavailableError
        As :func:`build_backbone`.

    References
    ----------
    Ayana et al. (2022), section 2.2, Fig. 3b.
    """
    check_integer(n_classes, "n_classes", minimum=2)
    base = build_backbone(backbone, weights=weights, image_size=image_size)
    x = keras.layers.GlobalAveragePooling2D(name=POOL_LAYER)(base.output)
    outputs = keras.layers.Dense(n_classes, activation="softmax", dtype="float32", name=STAGE1_OUTPUT)(
        x
    )  # float32 under mixed precision
    model = keras.Model(base.input, outputs, name=f"{backbone}_stage1")
    model.trainable = True
    return model


def build_stage2_model(
    stage1_model: keras.Model,
    hidden_units=HEAD_UNITS,
    dropout_rate: float = HEAD_DROPOUT,
    name: str | None = None,
) -> keras.Model:
    """Stage 2 of MSTL: the stage-1 network with a binary ultrasound head.

    The stage-1 model is cloned (``keras.models.clone_model``) and its weights
    copied, so stage 2 starts from exactly the stage-1 weights but owns its
    own variables: training stage 2 does not change ``stage1_model``.
    Everything up to and including ``"global_avg_pool"`` is kept; the softmax
    layer is dropped and replaced by ``"head_dense_1"`` (ReLU),
    ``"head_dropout"``, ``"head_dense_2"``, ``"head_dense_3"`` (ReLU) and
    ``"head_output"`` (one sigmoid unit: probability of malignant).

    Parameters
    ----------
    stage1_model : keras.Model
        A model from :func:`build_stage1_model` (trained or not, or loaded
        from a ``.keras`` file).
    hidden_units : sequence of int, default (256, 128, 64)
        Units of the ReLU dense layers (our choice; the paper gives three dense
        layers without sizes, section 2.2).
    dropout_rate : float, default 0.5
        Rate of the one dropout layer, after the first dense layer (our
        choice).
    name : str, optional
        Model name; default ``"<backbone>_mstl"``.

    Returns
    -------
    keras.Model
        Raw images -> ``(batch, 1)`` probability of malignant. All layers
        trainable. Not compiled.

    Raises
    ------
    DataError
        If ``stage1_model`` has no ``"global_avg_pool"`` layer (not a stage-1
        model), or bad head parameters.

    References
    ----------
    Ayana et al. (2022), section 2.2, Fig. 3c.
    """
    if not isinstance(stage1_model, keras.Model):
        raise DataError(f"stage1_model must be a keras.Model, got {type(stage1_model).__name__}.")
    hidden_units, dropout_rate = _check_head(hidden_units, dropout_rate)
    layer_names = {layer.name for layer in stage1_model.layers}
    if POOL_LAYER not in layer_names:
        raise DataError(
            f"Model {stage1_model.name!r} has no {POOL_LAYER!r} layer; pass a model made by "
            "build_stage1_model (or loaded from its .keras file)."
        )
    clone = keras.models.clone_model(stage1_model)
    clone.set_weights(stage1_model.get_weights())
    # Normalization (EfficientNet's stem) computes its mean and variance from
    # its variables once, when built or loaded; set_weights does not redo it,
    # so without this the copy would normalise with the initial 0 / 1.
    for layer in clone.layers:
        if hasattr(layer, "finalize_state") and layer.weights:
            layer.finalize_state()
    features = clone.get_layer(POOL_LAYER).output
    outputs = _binary_head(features, hidden_units, dropout_rate)
    if name is None:
        base_name = stage1_model.name
        base_name = base_name[: -len("_stage1")] if base_name.endswith("_stage1") else base_name
        name = f"{base_name}_mstl"
    model = keras.Model(clone.input, outputs, name=name)
    model.trainable = True
    return model


def build_ctl_model(
    backbone: str,
    weights=None,
    image_size=INPUT_SIZE,
    hidden_units=HEAD_UNITS,
    dropout_rate: float = HEAD_DROPOUT,
) -> keras.Model:
    """Conventional transfer learning, or training from scratch: the binary head directly on the backbone.

    The paper's baseline (CTL): ImageNet backbone, global average pooling and
    the same head as stage 2 of MSTL (:func:`build_stage2_model`), so the two
    differ only in the intermediate cancer-cell stage. With ``weights=None``
    the same network starts from random weights: the ``scratch`` arm of the
    grid and the study (:mod:`mstl_lib.training.stages`,
    :mod:`mstl_lib.training.study_units`).

    Parameters
    ----------
    backbone : {"resnet50", "inceptionv3", "efficientnetb2", "resnet10"}
        The backbone (see :func:`build_backbone`).
    weights : "imagenet", None, or path-like, default None
        See :func:`build_backbone`. The paper uses ``"imagenet"``; None (the
        default, so that nothing downloads unless asked) trains from scratch.
    image_size : int or tuple, default INPUT_SIZE (75)
        See :func:`build_backbone`.
    hidden_units : sequence of int, default (256, 128, 64)
        As in :func:`build_stage2_model`.
    dropout_rate : float, default 0.5
        As in :func:`build_stage2_model`.

    Returns
    -------
    keras.Model
        Named ``"<backbone>_ctl"``: raw images -> ``(batch, 1)`` probability
        of malignant. All layers trainable. Not compiled.

    Raises
    ------
    DataError
        As :func:`build_backbone`, or bad head parameters.
    WeightsUnavailableError
        As :func:`build_backbone`.

    References
    ----------
    Ayana et al. (2022), sections 2.2 and 3 (CTL baseline, Table 1).
    """
    hidden_units, dropout_rate = _check_head(hidden_units, dropout_rate)
    base = build_backbone(backbone, weights=weights, image_size=image_size)
    x = keras.layers.GlobalAveragePooling2D(name=POOL_LAYER)(base.output)
    outputs = _binary_head(x, hidden_units, dropout_rate)
    model = keras.Model(base.input, outputs, name=f"{backbone}_ctl")
    model.trainable = True
    return model


def load_model(path, compile: bool = True) -> keras.Model:
    """Load a ``.keras`` model saved from this module, in safe mode.

    Importing this module registers :class:`BackbonePreprocessing`, which
    ``keras.models.load_model`` needs; this helper makes sure of that and
    never enables unsafe (Lambda) deserialisation.

    Parameters
    ----------
    path : path-like
        A ``.keras`` file written by ``model.save``.
    compile : bool, default True
        Passed to ``keras.models.load_model``.

    Returns
    -------
    keras.Model
        The model, predicting exactly as the saved one.

    Raises
    ------
    DataError
        If the file does not exist or is not a ``.keras`` file.
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise DataError(f"{path}: expected a '.keras' file written by model.save().")
    if not path.is_file():
        raise DataError(f"{path}: model file not found. Fix: check the path.")
    check_keras_archive(path, fix="make it again (for a stage-1 model: `mstl pretrain ... --overwrite`).")
    return keras.models.load_model(path, compile=compile, safe_mode=True)


def set_batchnorm_momentum(model, momentum: float) -> int:
    """Set the moving-average momentum of every BatchNormalization layer; return how many.

    Keras' default, 0.99, lets a layer's moving mean and variance (the
    statistics used at validation and test time) forget their start only
    after several hundred updates. A stage-2 fold trains for about 23 updates
    per epoch, so after a few epochs the statistics would still be mostly
    those of the previous stage (or of the random start) and validation would
    see another network than training. 0.9 forgets within a few dozen updates.
    Set before compiling (the value is read when the training step is traced).
    """
    momentum = check_number(momentum, "momentum", minimum=0.0, maximum=1.0, include_maximum=False)
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in layers:
        layer.momentum = float(momentum)
    return len(layers)

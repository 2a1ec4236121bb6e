"""One description per backbone: everything the library knows about a network, in one place.

Ayana et al. (2022), section 2.2, run the same protocol on three ImageNet
CNNs, EfficientNetB2, InceptionV3 and ResNet50 (Keras applications, weights
pre-trained on ImageNet, Fig. 3a), and show the feature maps of five
convolution stages in Fig. 6 (section 4). ``resnet10`` is not in the paper: it
is the library's small network for CPU classrooms (the ``smoke`` and ``lab``
profiles, :func:`mstl_lib.models.networks.resnet10_trunk`).

Each network is one :class:`BackboneSpec` in :data:`BACKBONE_SPECS`: its name
and label for figures, how it is built (a Keras application, or the library's
own trunk), its ImageNet preprocessing, the layers that end its convolution
stages, the layer that recognises it in a model, how deep each stage layer
is, and where Keras keeps its ImageNet weights, if it has any. Every other
table of the library is computed from these entries:

=============================================================  ==========================================
:data:`mstl_lib.profiles.BACKBONES`, ``LAB_BACKBONES``,         names (``in_paper``)
``ALL_BACKBONES``
:data:`mstl_lib.models.networks.FEATURE_LAYERS`,               ``feature_layers``, their last one
``LAST_CONV_LAYER``
:data:`mstl_lib.models.preprocessing.PREPROCESSING_MODES`      ``preprocessing``
:func:`mstl_lib.models.weights.imagenet_weights_info`          ``imagenet``
:data:`mstl_lib.models.features.EXTRA_STAGE_LAYERS`            ``extra_stage_layers``
:func:`mstl_lib.models.features.detect_backbone`               ``signature_layer``
:func:`mstl_lib.models.features.conv_stage_layers` (order)     :meth:`BackboneSpec.layer_depth`
:data:`mstl_lib.visualize.common.BACKBONE_LABELS`              ``label``
=============================================================  ==========================================

so adding a backbone is one more entry in :data:`BACKBONE_SPECS`.

This module imports neither TensorFlow nor Keras: the profiles and the figures
read it without loading them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mstl_lib.errors import DataError
from mstl_lib.validation import check_choice

__all__ = [
    "PREPROCESSING_CHOICES",
    "ImageNetWeights",
    "BackboneSpec",
    "BACKBONE_SPECS",
    "backbone_names",
    "backbone_table",
    "get_spec",
]

#: The preprocessings of ``keras.applications.<module>.preprocess_input``
#: (:class:`mstl_lib.models.preprocessing.BackbonePreprocessing`): "caffe" =
#: RGB->BGR and ImageNet mean subtraction, "tf" = scale to [-1, 1], "none" =
#: identity (EfficientNet rescales and normalises inside its own graph).
PREPROCESSING_CHOICES = ("caffe", "tf", "none")


@dataclass(frozen=True)
class ImageNetWeights:
    """Where Keras keeps one backbone's ImageNet weights (no top).

    Attributes
    ----------
    file_name : str
        File name inside Keras' cache folder.
    url : str
        Download address Keras uses.
    file_hash : str
        MD5 hash Keras verifies.
    loads_from_path : bool, default True
        Whether the file can be passed as a path (``weights=<file>``). Keras
        builds EfficientNet's ImageNet input normalisation only for
        ``weights="imagenet"``, so its file must be loaded from the cache.
    """

    file_name: str
    url: str
    file_hash: str
    loads_from_path: bool = True


@dataclass(frozen=True)
class BackboneSpec:
    """Everything the library knows about one backbone.

    Attributes
    ----------
    name : str
        The name used everywhere (``--backbone``, result files): lower case.
    label : str
        How figures and tables name it.
    in_paper : bool
        One of the paper's three networks (section 2.2); otherwise a small
        network for CPU classrooms.
    preprocessing : {"caffe", "tf", "none"}
        Its ImageNet preprocessing (:data:`PREPROCESSING_CHOICES`).
    feature_layers : tuple of str
        The layers that end its convolution stages, shallow to deep; the last
        one is its last convolutional feature map (Grad-CAM's default).
    extra_stage_layers : tuple of str
        Fixed-name layers that complete ``feature_layers`` to the five stages
        of Fig. 6, shallowest first (never Keras' auto-numbered names).
    depth_pattern : str
        A regular expression matched at the start of a stage layer's name:
        group 1 is the stage number, an optional group 2 the block within it
        (digits, or a letter ``a``, ``b``...); orders the stages, see
        :meth:`layer_depth`.
    keras_application : str or None
        The ``keras.applications`` constructor (``"ResNet50"``), or None for a
        network the library builds itself (``trunk``).
    trunk : str or None
        ``"module:function"`` of the library's own trunk, called on the
        preprocessed tensor; None for a Keras application.
    imagenet : ImageNetWeights or None
        Its ImageNet weights in Keras' cache; None if it has none.
    signature_layer : str or None
        A layer name found in this backbone only, to recognise it in a model;
        None: the last of ``feature_layers``.
    depth_prefixes : tuple of (str, float)
        Depths of layers named outside ``depth_pattern``, by name prefix
        (EfficientNet's ``stem`` first, ``top`` last).
    """

    name: str
    label: str
    in_paper: bool
    preprocessing: str
    feature_layers: tuple[str, ...]
    extra_stage_layers: tuple[str, ...]
    depth_pattern: str
    keras_application: str | None = None
    trunk: str | None = None
    imagenet: ImageNetWeights | None = None
    signature_layer: str | None = None
    depth_prefixes: tuple[tuple[str, float], ...] = ()

    def __post_init__(self):
        where = f"backbone {self.name!r}"
        if self.name != self.name.lower() or not self.name:
            raise DataError(f"{where}: the name must be lower case and not empty.")
        check_choice(self.preprocessing, f"preprocessing of {where}", PREPROCESSING_CHOICES)
        if (self.keras_application is None) == (self.trunk is None):
            raise DataError(f"{where}: give exactly one of keras_application and trunk.")
        if self.trunk is not None and ":" not in self.trunk:
            raise DataError(f"{where}: trunk must read 'module:function', got {self.trunk!r}.")
        if not self.feature_layers:
            raise DataError(f"{where}: feature_layers is empty; name the layers that end its stages.")
        if re.compile(self.depth_pattern).groups < 1:
            raise DataError(f"{where}: depth_pattern needs a group for the stage number.")

    @property
    def last_conv_layer(self) -> str:
        """The last convolutional feature map: the last of ``feature_layers``."""
        return self.feature_layers[-1]

    @property
    def signature(self) -> str:
        """The layer that recognises this backbone in a model."""
        return self.signature_layer or self.last_conv_layer

    @property
    def has_imagenet_weights(self) -> bool:
        """Whether Keras has ImageNet weights for it."""
        return self.imagenet is not None

    def layer_depth(self, name: str) -> float:
        """Position of one of its stage layers, for ordering them shallow to deep.

        ``depth_prefixes`` first; then ``depth_pattern``: the stage number plus
        a hundredth per block (``conv3_block4_out``: 3.04; ``block5d_add``:
        5.03); 0 for a name that matches neither.
        """
        for prefix, depth in self.depth_prefixes:
            if name.startswith(prefix):
                return float(depth)
        match = re.match(self.depth_pattern, name)
        if not match:
            return 0.0
        block = match.group(2) if match.re.groups > 1 else None
        if not block:
            return float(match.group(1))
        minor = int(block) if block.isdigit() else ord(block) - ord("a")
        return int(match.group(1)) + minor / 100


# Spatial sizes of the stage layers at the paper's 75 x 75 input are given in
# the comments. ImageNet files copied from keras/src/applications/{resnet,
# inception_v3,efficientnet}.py (Keras 3.15); tests/test_models.py checks them
# against the installed Keras.
_SPECS = (
    BackboneSpec(
        name="resnet50",
        label="ResNet50",
        in_paper=True,
        preprocessing="caffe",
        # 19x19, 10x10, 5x5, 3x3 (conv1_relu: 38x38)
        feature_layers=("conv2_block3_out", "conv3_block4_out", "conv4_block6_out", "conv5_block3_out"),
        extra_stage_layers=("conv1_relu",),
        depth_pattern=r"conv(\d+)_(?:block(\d+))?",
        keras_application="ResNet50",
        imagenet=ImageNetWeights(
            "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
            "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
            "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
            "4d473c1dd8becc155b73f8504c6f6626",
        ),
    ),
    BackboneSpec(
        name="inceptionv3",
        label="InceptionV3",
        in_paper=True,
        preprocessing="tf",
        # 7x7 (35x35 grid at 299), 3x3, 1x1 (mixed0: 7x7, mixed3: 3x3)
        feature_layers=("mixed2", "mixed7", "mixed10"),
        extra_stage_layers=("mixed0", "mixed3"),
        depth_pattern=r"mixed(\d+)",
        keras_application="InceptionV3",
        imagenet=ImageNetWeights(
            "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
            "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
            "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
            "bcbd6486424b2319ff4ef7d526e38f63",
        ),
    ),
    BackboneSpec(
        name="efficientnetb2",
        label="EfficientNetB2",
        in_paper=True,
        preprocessing="none",
        # 19x19, 10x10, 5x5, 3x3, 3x3
        feature_layers=("block2c_add", "block3c_add", "block5d_add", "block7b_add", "top_activation"),
        extra_stage_layers=("block1b_add", "stem_activation"),
        depth_pattern=r"block(\d+)([a-z])",
        depth_prefixes=(("stem", 0.0), ("top", 100.0)),
        keras_application="EfficientNetB2",
        imagenet=ImageNetWeights(
            "efficientnetb2_notop.h5",
            "https://storage.googleapis.com/keras-applications/efficientnetb2_notop.h5",
            "111f8e2ac8aa800a7a99e3239f7bfb39",
            loads_from_path=False,
        ),
    ),
    BackboneSpec(
        name="resnet10",
        label="ResNet10",
        in_paper=False,
        preprocessing="tf",
        # 38x38, 19x19, 10x10, 5x5 (stem_relu: 38x38)
        feature_layers=("stage1_out", "stage2_out", "stage3_out", "stage4_out"),
        extra_stage_layers=("stem_relu",),
        depth_pattern=r"stage(\d+)",
        trunk="mstl_lib.models.networks:resnet10_trunk",
    ),
)

#: Every backbone's :class:`BackboneSpec`, by name: the one registry the
#: library's backbone tables are computed from.
BACKBONE_SPECS: dict[str, BackboneSpec] = {spec.name: spec for spec in _SPECS}


def backbone_names(in_paper: bool | None = None) -> tuple[str, ...]:
    """The backbones' names in registry order: all, or only those (not) in the paper."""
    return tuple(name for name, spec in BACKBONE_SPECS.items() if in_paper is None or spec.in_paper == in_paper)


def backbone_table(attribute: str, *, skip_none: bool = False) -> dict:
    """``{name: spec.<attribute>}`` over :data:`BACKBONE_SPECS`; ``skip_none`` leaves out None values."""
    table = {name: getattr(spec, attribute) for name, spec in BACKBONE_SPECS.items()}
    return {name: value for name, value in table.items() if not (skip_none and value is None)}


def get_spec(backbone) -> BackboneSpec:
    """The :class:`BackboneSpec` of ``backbone``; a DataError naming the known ones otherwise."""
    return BACKBONE_SPECS[check_choice(backbone, "backbone", BACKBONE_SPECS)]

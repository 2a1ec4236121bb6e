"""The networks of the paper (section 2.2, Fig. 3) and what they start from.

=======================  =======================================================
:mod:`.networks`         backbones, the stage-1 and stage-2 networks, CTL, loading
:mod:`.preprocessing`    each backbone's ImageNet preprocessing as a saved layer
:mod:`.weights`          ImageNet weights from Keras' cache, and the ``weights`` argument
:mod:`.features`         feature maps of the convolution stages and Grad-CAM (Fig. 6)
=======================  =======================================================

What each backbone is (its layers, preprocessing and ImageNet file) is
written once, in :mod:`mstl_lib.backbones`; the tables here are computed from
it. This package imports Keras.
"""

from mstl_lib.models.features import conv_stage_layers, detect_backbone, feature_maps, grad_cam
from mstl_lib.models.networks import (
    FEATURE_LAYERS,
    HEAD_DROPOUT,
    HEAD_UNITS,
    LAST_CONV_LAYER,
    MIN_IMAGE_SIZE,
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

__all__ = [
    "FEATURE_LAYERS",
    "HEAD_DROPOUT",
    "HEAD_UNITS",
    "LAST_CONV_LAYER",
    "MIN_IMAGE_SIZE",
    "build_backbone",
    "build_ctl_model",
    "build_stage1_model",
    "build_stage2_model",
    "load_model",
    "set_batchnorm_momentum",
    "PREPROCESSING_MODES",
    "BackbonePreprocessing",
    "WeightsUnavailableError",
    "ensure_imagenet_weights",
    "imagenet_weights_info",
    "keras_weights_dir",
    "conv_stage_layers",
    "detect_backbone",
    "feature_maps",
    "grad_cam",
]

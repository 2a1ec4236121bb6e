"""Each backbone's ImageNet preprocessing as a serializable layer, the first layer of every model."""

from __future__ import annotations

import keras

from mstl_lib.backbones import PREPROCESSING_CHOICES, backbone_table
from mstl_lib.errors import DataError

#: Preprocessing mode of each backbone (``keras.applications.<module>.
#: preprocess_input``; each :class:`mstl_lib.backbones.BackboneSpec`'s
#: ``preprocessing``): "caffe" = RGB->BGR and ImageNet mean subtraction,
#: "tf" = scale to [-1, 1], "none" = identity (EfficientNet rescales and
#: normalises inside its own graph).
PREPROCESSING_MODES = backbone_table("preprocessing")


PREPROCESS_LAYER = "preprocess"


@keras.saving.register_keras_serializable(package="mstl")
class BackbonePreprocessing(keras.layers.Layer):
    """A backbone's ImageNet preprocessing, as a layer of the model.

    Numerically the same as ``keras.applications.<module>.preprocess_input``
    for channels-last RGB input in [0, 255]:

    * ``"caffe"`` (ResNet50): RGB -> BGR, then subtract the ImageNet channel
      means (103.939, 116.779, 123.68) in BGR order, no scaling;
    * ``"tf"`` (InceptionV3): ``x / 127.5 - 1``, into [-1, 1];
    * ``"none"`` (EfficientNet): identity, because Keras' EfficientNet
      rescales and normalises inside its own graph.

    Parameters
    ----------
    mode : {"caffe", "tf", "none"}
        Which preprocessing.
    **kwargs
        Passed to ``keras.layers.Layer`` (``name``, ``dtype``...).

    Raises
    ------
    DataError
        If ``mode`` is unknown.

    References
    ----------
    Keras applications, ``imagenet_utils.preprocess_input``.
    """

    MODES = PREPROCESSING_CHOICES
    CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)

    def __init__(self, mode: str = "caffe", **kwargs):
        super().__init__(**kwargs)
        if mode not in self.MODES:
            raise DataError(f"Unknown preprocessing mode {mode!r}; expected one of {', '.join(self.MODES)}.")
        self.mode = mode

    def call(self, inputs):
        x = keras.ops.cast(inputs, self.compute_dtype)
        if self.mode == "caffe":
            x = keras.ops.flip(x, axis=-1)
            mean = keras.ops.convert_to_tensor(self.CAFFE_MEAN_BGR, dtype=self.compute_dtype)
            return x - mean
        if self.mode == "tf":
            return x / 127.5 - 1.0
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode})
        return config

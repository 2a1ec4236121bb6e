"""Starting weights: ImageNet from Keras' own cache, or a weights file; the weights argument resolved once."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import keras

from mstl_lib.backbones import ImageNetWeights, backbone_table, get_spec
from mstl_lib.errors import DataError, MSTLError
from mstl_lib.profiles import BACKBONES
from mstl_lib.validation import WEIGHTS_NAMES, check_weights_setting


class WeightsUnavailableError(MSTLError, FileNotFoundError):
    """ImageNet weights are neither in Keras' cache nor downloadable.

    Attributes
    ----------
    backbone : str
        The backbone that asked for them.
    file_name : str
        The file name Keras expects.
    url : str
        Where Keras downloads it from.
    folder : pathlib.Path
        The folder Keras looks in (``$KERAS_HOME/models``).
    """

    def __init__(self, backbone: str, file_name: str, url: str, folder: Path, reason: str = ""):
        self.backbone = backbone
        self.file_name = file_name
        self.url = url
        self.folder = Path(folder)
        message = (
            f"ImageNet weights for {backbone} are not available: {self.folder / file_name} "
            f"is not in Keras' cache and could not be downloaded"
            + (f" ({reason})" if reason else "")
            + f". Fix: on a machine with internet, download {url} and copy it, named "
            f"exactly {file_name}, into {self.folder} (Keras' cache: $KERAS_HOME/models, "
            "default ~/.keras/models); or pass weights=None to start from random weights."
        )
        super().__init__(message)


# Each backbone's ImageNet file: its :class:`mstl_lib.backbones.BackboneSpec`'s ``imagenet``.
_IMAGENET_WEIGHTS = backbone_table("imagenet", skip_none=True)


def check_backbone(backbone) -> str:
    """``backbone`` if it is one of :data:`mstl_lib.profiles.ALL_BACKBONES`; a DataError otherwise."""
    return get_spec(backbone).name


def imagenet_weights_info(backbone: str) -> ImageNetWeights:
    """The file name, URL and hash of one backbone's ImageNet weights (no top).

    Parameters
    ----------
    backbone : {"resnet50", "inceptionv3", "efficientnetb2"}
        The backbone.

    Returns
    -------
    ImageNetWeights
        ``file_name`` (e.g. ``resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5``),
        ``url`` and ``file_hash`` (MD5), as Keras' application code uses them.

    Raises
    ------
    DataError
        If the backbone is unknown, or one without ImageNet weights (``resnet10``).
    """
    if not get_spec(backbone).has_imagenet_weights:
        raise DataError(
            f"{backbone} has no ImageNet weights (it is a small network for CPU classrooms, not one of the "
            f"paper's {', '.join(BACKBONES)}). Fix: use weights='fractaldb' (generic pretraining made "
            "locally) or None, or one of the paper's backbones with 'imagenet'."
        )
    return _IMAGENET_WEIGHTS[backbone]


def keras_weights_dir() -> Path:
    """The folder in which Keras looks for (and downloads) ImageNet weights.

    Follows the rule of ``keras.utils.get_file`` exactly: the Keras home
    (``$KERAS_HOME`` if that variable was set **when Keras was imported**,
    else ``~/.keras``; Keras reads the variable once, at import), falling back
    to ``/tmp/.keras`` when that folder is not writable (or does not exist),
    then the ``models`` subfolder.

    Returns
    -------
    pathlib.Path
        E.g. ``~/.keras/models`` expanded.

    Notes
    -----
    Keras keeps the home in a private module attribute
    (``keras.src.backend.config._KERAS_DIR``, read by ``keras_home()``);
    changing ``KERAS_HOME`` after ``import keras`` has no effect on Keras, and
    none on this function either.
    """
    try:
        from keras.src.backend import config as _config

        home = _config.keras_home()
    except Exception:  # pragma: no cover - private API moved
        home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    base = os.path.expanduser(home)
    if not os.access(base, os.W_OK):
        base = os.path.join("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir(), ".keras")
    return Path(base) / "models"


def ensure_imagenet_weights(backbone: str) -> Path:
    """Make sure a backbone's ImageNet weights are in Keras' cache.

    Looks in :func:`keras_weights_dir` first; if the file is missing (or its
    hash is wrong), tries Keras' own download (``keras.utils.get_file``, the
    same file, URL and hash the Keras application uses). Any failure becomes a
    :class:`WeightsUnavailableError` that names the file and the folder.

    Parameters
    ----------
    backbone : str
        One of the paper's backbones (:data:`mstl_lib.profiles.BACKBONES`);
        any other raises a DataError, as in :func:`imagenet_weights_info`.

    Returns
    -------
    pathlib.Path
        The weights file in Keras' cache.

    Raises
    ------
    WeightsUnavailableError
        If the file is not cached and cannot be downloaded.
    """
    info = imagenet_weights_info(backbone)
    folder = keras_weights_dir()
    was_cached = (folder / info.file_name).is_file()
    try:
        # get_file returns the cached file when it is present and its hash
        # matches; otherwise it downloads (and removes partial downloads).
        path = keras.utils.get_file(info.file_name, info.url, cache_subdir="models", file_hash=info.file_hash)
    except Exception as exc:  # Keras raises a bare Exception on URL failures
        reason = str(exc)
        if was_cached:
            # get_file re-downloads a file that fails its hash check and, when
            # that fails, deletes it.
            reason = (
                f"the cached file failed Keras' MD5 check ({info.file_hash}), so Keras tried to "
                f"download it again and removed it when that failed: {reason}"
            )
        raise WeightsUnavailableError(backbone, info.file_name, info.url, folder, reason) from exc
    return Path(path)


def check_weights_argument(weights, backbone: str):
    """The ``weights`` argument of a network builder, checked: ``"imagenet"``, None or a ``Path``.

    ``"imagenet"`` makes sure the file is in Keras' cache
    (:func:`ensure_imagenet_weights`); a path must name a readable HDF5
    (``.h5``) file (:func:`mstl_lib.validation.check_weights_setting`, the
    check the command line makes of ``--weights``). A run's named settings
    (``"fractaldb"``, ``"profile"``, ``"none"``) are resolved before a network
    is built and are refused here.

    Raises
    ------
    DataError
        Anything else, a missing or unreadable file, or ImageNet weights for a backbone that has none.
    WeightsUnavailableError
        As :func:`ensure_imagenet_weights`.
    """
    if weights is None:
        return None
    if isinstance(weights, str) and weights == "imagenet":
        ensure_imagenet_weights(backbone)  # refuses a backbone without ImageNet weights first
        return "imagenet"
    if isinstance(weights, str) and weights in WEIGHTS_NAMES:
        raise DataError(
            f"weights={weights!r} is a run's setting, not weights a network can load. Fix: pass 'imagenet', None "
            "or a weights file (mstl_lib.training.generic.ensure_generic_weights makes the 'fractaldb' file)."
        )
    spec = get_spec(backbone)
    name = Path(weights).name if isinstance(weights, (str, os.PathLike)) else None
    if spec.imagenet is not None and not spec.imagenet.loads_from_path and name == spec.imagenet.file_name:
        raise DataError(
            f"{weights}: Keras builds {spec.label}'s ImageNet input normalisation only for "
            "weights='imagenet', so its ImageNet file cannot be loaded from a path. Fix: copy "
            f"it into {keras_weights_dir()} and pass weights='imagenet'."
        )
    return check_weights_setting(weights, "weights", names=("imagenet",))

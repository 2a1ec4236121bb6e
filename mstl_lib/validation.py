"""Argument checks shared by the whole library, in the spirit of scikit-learn's ``check_scalar``.

Every check returns the value in its canonical type (``int``, ``float``,
lower-case choice, ``pathlib.Path``...) or raises
:class:`mstl_lib.errors.DataError` with one message that names the argument,
what it must be and what it got. ``bool`` is never accepted as a number, though
Python counts it as one.

Pixels too are checked here once: :func:`check_image` is the one image check
(frames, network inputs, figures) and :func:`stretch_to_uint8` the one 8-bit
intensity stretch (Ayana et al. 2022, section 2.1).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from mstl_lib.errors import DataError

__all__ = [
    "check_integer",
    "check_number",
    "check_choice",
    "check_choices",
    "check_seed",
    "as_rng",
    "check_existing_path",
    "check_output_folder",
    "check_weights_setting",
    "check_odd_block_size",
    "check_image",
    "stretch_to_uint8",
    "MAX_SEED",
]

MAX_SEED = 2**32 - 1
"""The largest seed NumPy's global generator (which ``keras.utils.set_random_seed`` seeds) accepts."""
WEIGHTS_NAMES = ("profile", "imagenet", "fractaldb", "none", "None")
"""The named starting weights (:meth:`mstl_lib.profiles.Profile.with_overrides`); anything else a weights file."""
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _bounds_text(minimum, maximum, include_minimum: bool, include_maximum: bool) -> str:
    if minimum is not None and maximum is not None:
        return f"in {'[' if include_minimum else '('}{minimum}, {maximum}{']' if include_maximum else ')'}"
    parts = []
    if minimum is not None:
        parts.append(f"{'>=' if include_minimum else '>'} {minimum}")
    if maximum is not None:
        parts.append(f"{'<=' if include_maximum else '<'} {maximum}")
    return " and ".join(parts)


def _check_bounds(value, name, minimum, maximum, include_minimum, include_maximum):
    too_small = minimum is not None and (value < minimum if include_minimum else value <= minimum)
    too_large = maximum is not None and (value > maximum if include_maximum else value >= maximum)
    if too_small or too_large:
        bounds = _bounds_text(minimum, maximum, include_minimum, include_maximum)
        raise DataError(f"{name} must be {bounds}, got {value!r}.")


def check_integer(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an ``int`` within ``[minimum, maximum]`` (either bound may be None).

    Raises
    ------
    DataError
        Not an integer (``bool`` and ``2.0`` included) or out of bounds.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        bounds = _bounds_text(minimum, maximum, True, True)
        raise DataError(f"{name} must be an integer{' ' + bounds if bounds else ''}, got {value!r}.")
    _check_bounds(int(value), name, minimum, maximum, True, True)
    return int(value)


def check_number(
    value,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    include_minimum: bool = True,
    include_maximum: bool = True,
) -> float:
    """``value`` as a finite ``float`` within the bounds (open or closed at each end).

    Raises
    ------
    DataError
        Not a real number, not finite, or out of bounds.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        bounds = _bounds_text(minimum, maximum, include_minimum, include_maximum)
        raise DataError(f"{name} must be a finite number{' ' + bounds if bounds else ''}, got {value!r}.")
    _check_bounds(float(value), name, minimum, maximum, include_minimum, include_maximum)
    return float(value)


def check_choice(value, name: str, choices: Iterable, *, lower: bool = False):
    """``value`` if it is one of ``choices`` (compared lower-cased when ``lower``).

    Raises
    ------
    DataError
        ``value`` is not among the choices; the message lists them.
    """
    choices = tuple(choices)
    key = value.lower() if lower and isinstance(value, str) else value
    if key not in choices:
        shown = ", ".join(str(c) for c in choices)
        raise DataError(f"unknown {name} {value!r}; {name} must be one of {shown}.")
    return key


def check_choices(values, name: str, choices: Iterable, *, lower: bool = True) -> tuple:
    """A non-empty tuple of ``values``, each one of ``choices``.

    Raises
    ------
    DataError
        No value given, or some values unknown (all of them are named).
    """
    choices = tuple(choices)
    values = tuple(v.lower() if lower and isinstance(v, str) else v for v in values)
    unknown = [v for v in values if v not in choices]
    if unknown or not values:
        shown = ", ".join(str(c) for c in choices)
        raise DataError(f"unknown {name} {unknown or '(none given)'}; choose from {shown}.")
    return values


def check_seed(seed, name: str = "seed") -> int:
    """A random seed: an integer in [0, 2**32 - 1] (:data:`MAX_SEED`)."""
    return check_integer(seed, name, minimum=0, maximum=MAX_SEED)


def as_rng(rng) -> np.random.Generator:
    """A NumPy ``Generator`` from a Generator or a non-negative integer seed."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(check_seed(rng))
    raise DataError(f"rng must be a numpy Generator or a non-negative int seed, got {rng!r}.")


def check_existing_path(path, name: str, *, kind: str = "folder", fix: str = "check the path.") -> Path:
    """``path`` as a ``Path`` that exists and is a ``"folder"`` or a ``"file"``.

    Raises
    ------
    DataError
        It does not exist, or is the other kind; the message names ``path``,
        says which (``no such folder``, ``is a file, not a folder``) and ends
        with ``Fix: <fix>``.
    """
    if path is None or (isinstance(path, str) and not path.strip()):
        raise DataError(f"{name} must be a path to a {kind}, got {path!r}.")
    path = Path(path).expanduser()
    exists = path.is_dir() if kind == "folder" else path.is_file()
    if not exists:
        other = "file" if path.is_file() else "folder" if path.is_dir() else None
        found = f"is a {other}, not a {kind}" if other else f"no such {kind}"
        raise DataError(f"{path}: {found} (the {name}). Fix: {fix}")
    return path


def check_weights_setting(weights, name: str = "weights", *, names: tuple = WEIGHTS_NAMES):
    """Starting weights: one of ``names`` (:data:`WEIGHTS_NAMES`), None, or an existing, readable HDF5 (``.h5``) file.

    Checked before any work, so that a typo does not surface after hours of
    other training. Whether ImageNet's files can be had is checked where they
    are loaded (:mod:`mstl_lib.models.weights`).

    Raises
    ------
    DataError
        An unknown name, or a path that is not a readable ``.h5`` file.
    """
    if weights is None or (isinstance(weights, str) and weights in names):
        return weights
    if not isinstance(weights, (str, Path)):
        raise DataError(f"{name} must be a name or a path to a weights file, got {weights!r}.")
    path = Path(weights).expanduser()
    names = ", ".join(repr(w) for w in names if w != "None")
    if not path.name.endswith(".h5"):
        raise DataError(f"unknown {name} {str(weights)!r}. Fix: give one of {names}, or a path to a '.h5' file.")
    if not path.is_file():
        raise DataError(f"{path}: no such weights file (the {name}). Fix: check the path, or give one of {names}.")
    try:
        with open(path, "rb") as handle:
            signature = handle.read(len(HDF5_SIGNATURE))
    except OSError as error:
        raise DataError(
            f"{path}: the weights file cannot be read ({error.strerror}). Fix: check its permissions."
        ) from None
    if signature != HDF5_SIGNATURE:
        raise DataError(f"{path}: not an HDF5 weights file (truncated, or another format). Fix: make or copy it again.")
    return path


def check_output_folder(path, name: str) -> Path:
    """``path`` as a ``Path`` that can be (or is) a folder this process can write in.

    A missing folder is fine (writers create it, and any missing parents);
    refused are a path that is a file, one below a file, and one whose nearest
    existing folder is read-only.

    Raises
    ------
    DataError
        Naming the path, what is wrong and the fix.
    """
    import os

    if path is None or (isinstance(path, str) and not path.strip()):
        raise DataError(f"{name} must be a path to a folder, got {path!r}.")
    path = Path(path).expanduser()
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "is a file" if existing == path else f"is below {existing}, which is a file"
        raise DataError(f"{path} {where}, not a folder (the {name}). Fix: choose a folder path.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise DataError(f"{existing} is read-only for this user (the {name} {path}). Fix: choose a writable folder.")
    return path


def check_odd_block_size(block_size, name: str = "block_size") -> int:
    """An odd integer ``>= 3``: the side of a neighbourhood centred on a pixel (Ayana et al. 2022, section 2.1)."""
    block_size = check_integer(block_size, name, minimum=3)
    if block_size % 2 == 0:
        raise DataError(
            f"{name} must be odd (the neighbourhood is centred on the pixel), got {block_size}; "
            f"use {block_size - 1} or {block_size + 1}."
        )
    return block_size


_KIND_NAMES = {"b": "bool", "i": "signed integer", "u": "unsigned integer", "f": "float"}


def _image_layout(batch: bool, channels: tuple) -> str:
    lead = "N x " if batch else ""
    forms = [f"{lead}H x W (grayscale)" if c == 1 else f"{lead}H x W x {c}" for c in channels]
    return ("an array of images " if batch else "one image ") + " or ".join(forms)


def check_image(
    image,
    name: str = "image",
    *,
    batch: bool = False,
    channels: tuple = (1, 3),
    kinds: str = "iuf",
    dtypes: tuple | None = None,
    fix: str = "",
) -> np.ndarray:
    """One image (``H x W [x C]``) or, with ``batch``, a stack (``N x H x W [x C]``) as a non-empty numeric array.

    The one image check of the library: every public function that takes
    pixels (the frames of section 2.1, the network inputs of section 2.3, the
    images the figures show) calls it, then converts what it needs.

    Parameters
    ----------
    image : array_like
        The pixels.
    name : str
        The argument's name, used in the message.
    batch : bool
        Whether a leading image axis ``N`` is expected.
    channels : tuple of int
        Accepted channel counts; ``1`` stands for a plain grayscale ``H x W``
        (an ``H x W x 1`` one is returned as ``H x W``).
    kinds : str
        Accepted NumPy dtype kinds (``"b"`` bool, ``"i"``, ``"u"``, ``"f"``).
    dtypes : tuple, optional
        Exact dtypes accepted instead of ``kinds``.
    fix : str
        How to convert a rejected image, appended to the message.

    Returns
    -------
    numpy.ndarray
        The image as an array (not copied where it already was one).

    Raises
    ------
    DataError
        Naming the argument, the shape or dtype expected, what was passed and ``fix``.
    """
    fix = f" Fix: {fix}" if fix else ""
    try:
        array = np.asarray(image)
    except Exception as exc:  # pragma: no cover - exotic input
        raise DataError(f"{name} must be a numpy array, got {type(image).__name__}.{fix}") from exc
    if dtypes is not None:
        if array.dtype not in tuple(np.dtype(d) for d in dtypes):
            wanted = " or ".join(np.dtype(d).name for d in dtypes)
            raise DataError(f"{name} has dtype {array.dtype}; expected {wanted} pixel values.{fix}")
    elif array.dtype.kind not in kinds:
        wanted = " or ".join(_KIND_NAMES[k] for k in kinds)
        raise DataError(f"{name} has dtype {array.dtype}; expected {wanted} pixel values.{fix}")
    lead = 1 if batch else 0
    if 1 in channels and array.ndim == lead + 3 and array.shape[-1] == 1:
        array = array[..., 0]
    plain = 1 in channels and array.ndim == lead + 2
    coloured = array.ndim == lead + 3 and array.shape[-1] in channels and array.shape[-1] != 1
    if not (plain or coloured):
        raise DataError(f"{name} has shape {array.shape}; expected {_image_layout(batch, channels)}.{fix}")
    if array.size == 0:
        raise DataError(f"{name} is empty (shape {array.shape}); expected {_image_layout(batch, channels)}.{fix}")
    return array


def stretch_to_uint8(array: np.ndarray, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """``array`` mapped linearly from ``lo..hi`` (default: its own min..max) to ``uint8`` 0..255.

    The one intensity stretch of the library (Ayana et al. 2022, section 2.1:
    12-bit camera data stored in 16 bits, and the percentile contrast stretch).
    Values are computed in float64, rounded to the nearest level and clipped;
    a constant image (``hi <= lo``) becomes all zeros. For whole-number
    ``lo``/``hi`` this gives the same levels as the float32 formula used
    before (tests/test_validation_images.py compares them).
    """
    array = np.asarray(array)
    lo = float(array.min()) if lo is None else float(lo)
    hi = float(array.max()) if hi is None else float(hi)
    if hi <= lo:
        return np.zeros(array.shape, np.uint8)
    scaled = (array.astype(np.float64) - lo) * (255.0 / (hi - lo))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)

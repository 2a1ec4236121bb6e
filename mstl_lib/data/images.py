"""Reading images from disk, whatever their format, with errors that say what to do.

Every image the library reads goes through :func:`read_image`, which returns an
8-bit RGB array or raises :class:`~mstl_lib.errors.ImageReadError` naming the
file. :func:`to_network_input` then brings it to the paper's network input:
75x75 pixels, grayscale replicated to three channels (Ayana et al. 2022,
section 2.1: the ultrasound images "were resized to be 75 × 75 pixels").
"""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from mstl_lib.errors import ImageReadError
from mstl_lib.profiles import INPUT_SIZE
from mstl_lib.validation import check_image, check_integer, stretch_to_uint8

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"})
"""File endings read as images (compared in lower case, so ``.PNG`` counts)."""

SYSTEM_FILES = frozenset({"thumbs.db", ".ds_store", "desktop.ini", "ehthumbs.db"})
"""Files that operating systems drop into folders; never data."""

MIN_SIDE = 16
"""Images smaller than this on either side hold too little to resize to 75x75."""


def is_system_file(path) -> bool:
    """True for OS clutter (``Thumbs.db``, ``.DS_Store``, hidden files)."""
    name = Path(path).name
    return name.lower() in SYSTEM_FILES or name.startswith(".")


def is_image_file(path) -> bool:
    """True when the file's ending is one of :data:`IMAGE_EXTENSIONS` (any case)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS and not is_system_file(path)


def read_image(path, *, min_side: int = MIN_SIDE) -> np.ndarray:
    """Read an image file as an 8-bit RGB array.

    Handles PNG, JPEG, BMP and TIFF in any of their common modes: 8- and
    16-bit grayscale, RGB, RGBA (composited over black), palette images,
    CMYK and floating point. 16-bit and float images are scaled linearly so
    that 0 stays black and the image's maximum becomes 255.

    Parameters
    ----------
    path : path-like
        The image file.
    min_side : int
        Smallest accepted height and width in pixels.

    Returns
    -------
    numpy.ndarray
        ``uint8`` array of shape (height, width, 3), RGB order.

    Raises
    ------
    ImageReadError
        If the file is missing, empty, truncated, not an image, or too small.
        The message names the file and says how to fix it.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(path, "no such file.", "check the path and the folder layout.")
    if path.stat().st_size == 0:
        raise ImageReadError(
            path,
            "the file is empty (0 bytes).",
            "copy or download it again, or delete it (or load with on_error='skip').",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.load()
                array = _to_rgb_uint8(image, path)
    except UnidentifiedImageError:
        raise ImageReadError(
            path,
            "not an image file that PNG/JPEG/BMP/TIFF readers recognise "
            "(it may be a text or HTML file with an image's name, or in another format).",
            "open it to see what it is; convert it to PNG or delete it.",
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageReadError(
            path,
            f"the image is too large to read safely (over {Image.MAX_IMAGE_PIXELS:,} pixels).",
            "downscale it first (the network uses 75x75 pixels).",
        ) from None
    except OSError as error:
        raise ImageReadError(
            path,
            f"the file is truncated or corrupt ({error}).",
            "copy or download it again, or delete it (or load with on_error='skip').",
        ) from None
    height, width = array.shape[:2]
    if min(height, width) < min_side:
        raise ImageReadError(
            path,
            f"the image is only {width}x{height} pixels; at least {min_side} on each side is needed.",
            "check that it is a real image and not a thumbnail or icon; delete it if not.",
        )
    return array


def _to_rgb_uint8(image: Image.Image, path: Path) -> np.ndarray:
    mode = image.mode
    if mode in ("RGB", "L"):
        array = np.asarray(image)
    elif mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        rgba = np.asarray(image.convert("RGBA")).astype(np.float32)
        alpha = rgba[..., 3:4] / 255.0
        array = np.round(rgba[..., :3] * alpha).astype(np.uint8)
    elif mode in ("P", "1", "CMYK", "YCbCr", "LAB", "HSV"):
        array = np.asarray(image.convert("RGB"))
    elif mode.startswith("I") or mode == "F":
        array = _scale_to_uint8(np.asarray(image), path)
    else:
        raise ImageReadError(path, f"unsupported image mode {mode!r}.", "convert it to 8-bit RGB or grayscale PNG.")
    if array.dtype != np.uint8:
        array = _scale_to_uint8(array, path)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    elif array.ndim == 3 and array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    return np.ascontiguousarray(array)


def _scale_to_uint8(array: np.ndarray, path: Path) -> np.ndarray:
    """Deeper-than-8-bit pixels from 0 (or a negative minimum) to their maximum, as 0..255."""
    if not np.all(np.isfinite(array)):
        raise ImageReadError(path, "the image holds NaN or infinite values.", "re-export it as an 8-bit PNG.")
    return stretch_to_uint8(array, lo=min(float(array.min()), 0.0))


def to_network_input(image: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """Resize an RGB image to the square network input (paper section 2.2).

    Uses area interpolation when shrinking (no aliasing of speckle) and
    bicubic when enlarging. The aspect ratio is not kept, as in the paper.

    Parameters
    ----------
    image : numpy.ndarray
        ``uint8`` array (H, W) or (H, W, 3).
    size : int
        Output side in pixels (default 75).

    Returns
    -------
    numpy.ndarray
        ``uint8`` array of shape (size, size, 3).
    """
    image = check_image(image, "image", dtypes=(np.uint8,), fix="read it with load_image, or stretch_to_uint8 it.")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    size = check_integer(size, "size", minimum=1)
    shrinking = image.shape[0] >= size and image.shape[1] >= size
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return cv2.resize(image, (size, size), interpolation=interpolation)


def load_image(path, size: int = INPUT_SIZE) -> np.ndarray:
    """:func:`read_image` followed by :func:`to_network_input`."""
    return to_network_input(read_image(path), size)


def resize_heatmap(heat: np.ndarray, size) -> np.ndarray:
    """A [0, 1] heat map resized bilinearly to ``size`` = (height, width), values kept in [0, 1]."""
    height, width = int(size[0]), int(size[1])
    if heat.shape == (height, width):
        return heat.astype(np.float32)
    resized = cv2.resize(heat.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(resized, 0.0, 1.0).astype(np.float32)

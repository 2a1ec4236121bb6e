"""Argument checks, constants and per-image random streams shared by the generators."""

from __future__ import annotations

import numbers

import numpy as np

from mstl_lib.errors import DataError

CELL_LINES = ("hela", "mcf7", "h1299")
"""Cell lines of the paper's section 2.1 (HeLa, MCF-7, NCI-H1299)."""

ULTRASOUND_CLASSES = ("benign", "malignant")
"""Classes of the breast ultrasound sets (section 2.2)."""

CELL_FRAME_SIZE = (904, 1224)
"""Default (height, width) of a microscopy frame, as in the real cell sample."""

# Codes that keep the random streams of the two generators apart.
_KIND_CELLS = 0
_KIND_ULTRASOUND = 1

# Label given to debris pixels in the optional label image.
DEBRIS_LABEL = -1

_BoxTuple = tuple[int, int, int, int]


# ---------------------------------------------------------------------------
# Argument checks and random streams
# ---------------------------------------------------------------------------


def _check_cell_line(cell_line) -> str:
    name = str(cell_line).lower()
    if name not in CELL_LINES:
        raise DataError(f"unknown cell line {cell_line!r}; choose one of {', '.join(CELL_LINES)}.")
    return name


def _check_label(label) -> str:
    name = str(label).lower()
    if name not in ULTRASOUND_CLASSES:
        raise DataError(f"unknown ultrasound class {label!r}; choose one of {', '.join(ULTRASOUND_CLASSES)}.")
    return name


def _check_difficulty(difficulty) -> float:
    try:
        value = float(difficulty)
    except (TypeError, ValueError):
        raise DataError(f"difficulty must be a number in [0, 1], got {difficulty!r}.") from None
    if not (0.0 <= value <= 1.0) or not np.isfinite(value):
        raise DataError(f"difficulty must be in [0, 1], got {difficulty!r}.")
    return value


def _check_count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise DataError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}.")
    return int(seed)


def _check_frame_size(size) -> tuple[int, int]:
    try:
        height, width = (int(v) for v in size)
    except (TypeError, ValueError):
        raise DataError(f"size must be (height, width), got {size!r}.") from None
    if height < 256 or width < 256:
        raise DataError(f"size must be at least (256, 256) so that whole cells fit, got {size!r}.")
    return height, width


def _check_us_size(size) -> int:
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 32:
        raise DataError(f"size must be an integer >= 32, got {size!r}.")
    return int(size)


def _as_rng(rng) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(_check_seed(rng))
    raise DataError(f"rng must be a numpy Generator or a non-negative int seed, got {rng!r}.")


def _image_rng(seed: int, kind: int, class_index: int, index: int) -> np.random.Generator:
    """The random stream of one image, a function of (seed, kind, class, index) only."""
    return np.random.default_rng([seed, kind, class_index, index])

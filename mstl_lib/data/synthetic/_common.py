"""Constants, domain checks and per-image random streams shared by the generators."""

from __future__ import annotations

import numpy as np

from mstl_lib.errors import DataError
from mstl_lib.validation import check_choice, check_number

CELL_LINES = ("hela", "mcf7", "h1299")
"""Cell lines of the paper's section 2.1 (HeLa, MCF-7, NCI-H1299)."""

ULTRASOUND_CLASSES = ("benign", "malignant")
"""Classes of the breast ultrasound sets (section 2.1)."""

CELL_FRAME_SIZE = (904, 1224)
"""Default (height, width) of a microscopy frame, as in the real cell sample."""

# Codes that keep the random streams of the two generators apart.
KIND_CELLS = 0
KIND_ULTRASOUND = 1

# Label given to debris pixels in the optional label image.
DEBRIS_LABEL = -1

_BoxTuple = tuple[int, int, int, int]


MIN_ULTRASOUND_SIZE = 32
"""Smallest side of a synthetic ultrasound image, in pixels."""


# ---------------------------------------------------------------------------
# Domain checks and random streams (generic checks: mstl_lib.validation)
# ---------------------------------------------------------------------------


def check_cell_line(cell_line) -> str:
    return check_choice(str(cell_line), "cell line", CELL_LINES, lower=True)


def check_label(label) -> str:
    return check_choice(str(label), "ultrasound class", ULTRASOUND_CLASSES, lower=True)


def check_difficulty(difficulty) -> float:
    return check_number(difficulty, "difficulty", minimum=0, maximum=1)


def check_frame_size(size) -> tuple[int, int]:
    try:
        height, width = (int(v) for v in size)
    except (TypeError, ValueError):
        raise DataError(f"size must be (height, width), got {size!r}.") from None
    if height < 256 or width < 256:
        raise DataError(f"size must be at least (256, 256) so that whole cells fit, got {size!r}.")
    return height, width


def image_rng(seed: int, kind: int, class_index: int, index: int) -> np.random.Generator:
    """The random stream of one image, a function of (seed, kind, class, index) only."""
    return np.random.default_rng([seed, kind, class_index, index])

"""Cell-line frame segmentation into single-cell patches.

Implements the segmentation of Ayana et al. 2022, section 2.1 ("A Novel
Multistage Transfer Learning for Ultrasound Breast Cancer Image
Classification", Diagnostics 12, 135): a full-field microscopy frame of a
cancer cell line is cut into patches, one per cell (or tight cluster), which
then feed the first transfer-learning stage. The paper's steps, in order:

1. convert the colour frame to grayscale;
2. binarise it with OpenCV's adaptive threshold;
3. dilate the binary image with a 2 x 2 kernel;
4. remove noise with scikit-image morphology;
5. find the contours (``cv2.findContours``);
6. take each contour's bounding rectangle (``cv2.boundingRect``);
7. drop every box whose width + height is below 100 pixels;
8. crop the remaining boxes from the frame.

The paper names the operations but not every parameter. Where it gives a
value (the 2 x 2 kernel, the 100 px cut-off) that value is the default here;
the others (threshold method, block size, offset, clean-up sizes) were chosen
by looking at the boxes on real frames (a dark, low-contrast bright-field
frame of NCI-H1299/HeLa cells, and a DIC frame of HeLa cells with reference
labels) and on the library's synthetic frames, and every one of them is a
keyword argument.

Two additions to the paper, both on by default and both optional, keep the
pipeline working on frames the paper did not show:

* **contrast normalisation** (CLAHE) between steps 1 and 2. Real
  bright-field frames are often dark and low in contrast (the sample frame
  spans 17 gray levels between its 1st and 99th percentiles); CLAHE spreads
  them and evens out the illumination. Without it, an offset that suits a
  normal frame finds only the few strongest edges of a dark one.
* **an automatic offset** for step 2 (:func:`auto_offset`). The offset ``C``
  that the adaptive threshold subtracts from the local mean is, unless given,
  the larger of (a) the robust spread of the frame's deviations from that
  local mean, so a low-contrast frame and a contrasty one are cut at the same
  relative depth, and (b) 1.8 times the pixel-noise sigma, so that on a noisy
  frame the noise stays out of the foreground. Any fixed ``C`` is wrong for
  one of the sample frames: ``C`` = 4 suits the clean bright-field frame, but
  on a noisy frame it lets so many noise pixels through that the 2 x 2
  dilation joins them into one component covering the whole frame.

Each step is a function of its own, which can be read and tried alone, and
:func:`segment_frame` calls them in order: :func:`check_frame` and
:func:`checked_settings` (the input), :func:`to_gray8` (step 1),
:func:`contrast_normalized` and :func:`threshold_offset` (the additions above),
:func:`adaptive_threshold` (2), :func:`dilate` (3), :func:`clean_up` (4),
:func:`outer_contours` (5), :func:`bounding_boxes` (6), :func:`size_cut` (7).

``normalize=None`` with a number for ``offset`` runs the paper's steps with
nothing added. Touching cells whose foreground joins give one box, as in the
paper, which has no step to split them; loosely outlined cells can give
several boxes (fragments), of which the cut-off drops the small ones.

Images are expected as the library reads them: RGB channel order for colour
(``HxWx3``), or single-channel grayscale (``HxW``). A frame read with
``cv2.imread`` is BGR and must be converted (``cv2.cvtColor(img,
cv2.COLOR_BGR2RGB)``) first; for the grayscale conversion the difference is
only in the channel weights.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

from mstl_lib.errors import DataError
from mstl_lib.validation import (
    check_choice,
    check_image,
    check_integer,
    check_number,
    check_odd_block_size,
    stretch_to_uint8,
)

__all__ = [
    "Box",
    "Segmentation",
    "SegmentationSettings",
    "segment_frame",
    "check_frame",
    "checked_settings",
    "contrast_normalized",
    "threshold_offset",
    "adaptive_threshold",
    "dilate",
    "clean_up",
    "outer_contours",
    "bounding_boxes",
    "size_cut",
    "draw_boxes",
    "to_gray8",
    "auto_offset",
    "estimate_noise",
    "gray_level_step",
    "PAPER_MIN_BOX_SUM",
    "PAPER_DILATION_KERNEL",
]

#: Boxes with width + height below this many pixels are dropped (Ayana et al. 2022, section 2.1).
PAPER_MIN_BOX_SUM = 100
#: Side of the square dilation kernel (Ayana et al. 2022, section 2.1).
PAPER_DILATION_KERNEL = 2

_NORMALIZE = (None, "none", "clahe", "stretch")
_METHODS = {"gaussian": cv2.ADAPTIVE_THRESH_GAUSSIAN_C, "mean": cv2.ADAPTIVE_THRESH_MEAN_C}
_POLARITY = ("dark", "bright", "both")


# --------------------------------------------------------------------------- boxes


@dataclass(frozen=True)
class Box:
    """An axis-aligned pixel box in frame coordinates.

    ``(x, y)`` is the top-left pixel (column, row), ``w`` and ``h`` the width
    and height in pixels, as returned by ``cv2.boundingRect``. The box covers
    columns ``x .. x + w - 1`` and rows ``y .. y + h - 1``, so the crop is
    ``image[y : y + h, x : x + w]``.
    """

    x: int
    y: int
    w: int
    h: int

    def __post_init__(self):
        for name in ("x", "y", "w", "h"):
            object.__setattr__(self, name, check_integer(getattr(self, name), f"Box.{name}"))
        if self.w < 0 or self.h < 0:
            raise DataError(f"Box width and height must be >= 0, got w={self.w}, h={self.h}.")

    @property
    def x2(self) -> int:
        """One past the last column (exclusive right edge)."""
        return self.x + self.w

    @property
    def y2(self) -> int:
        """One past the last row (exclusive bottom edge)."""
        return self.y + self.h

    @property
    def area(self) -> int:
        """Number of pixels in the box."""
        return self.w * self.h

    @property
    def size_sum(self) -> int:
        """Width + height, the quantity the paper's cut-off is applied to."""
        return self.w + self.h

    def as_tuple(self) -> tuple[int, int, int, int]:
        """``(x, y, w, h)``, the ``cv2.boundingRect`` convention."""
        return (self.x, self.y, self.w, self.h)

    @property
    def slices(self) -> tuple[slice, slice]:
        """``(rows, cols)`` slices, so that ``image[box.slices]`` is the crop."""
        return (slice(self.y, self.y2), slice(self.x, self.x2))

    def crop(self, image: np.ndarray) -> np.ndarray:
        """A copy of ``image[y : y + h, x : x + w]`` (all channels)."""
        return np.array(image[self.slices], copy=True)

    def intersection_area(self, other: Box) -> int:
        """Pixels shared with ``other``."""
        iw = min(self.x2, other.x2) - max(self.x, other.x)
        ih = min(self.y2, other.y2) - max(self.y, other.y)
        return max(0, iw) * max(0, ih)

    def iou(self, other: Box) -> float:
        """Intersection over union with ``other`` (0 when both are empty)."""
        inter = self.intersection_area(other)
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    @classmethod
    def from_tuple(cls, xywh) -> Box:
        """Build a box from ``(x, y, w, h)``."""
        x, y, w, h = (int(v) for v in xywh)
        return cls(x, y, w, h)


@dataclass
class Segmentation:
    """The result of :func:`segment_frame`.

    Attributes
    ----------
    boxes : list of Box
        Kept boxes (width + height >= ``min_box_sum``), in reading order
        (top to bottom, then left to right).
    patches : list of numpy.ndarray
        One crop of the *original* frame per kept box, with the frame's dtype
        and channels (copies, not views).
    gray : numpy.ndarray or None
        Step 1: the frame as 8-bit grayscale (before normalisation).
    normalized : numpy.ndarray or None
        The image that was thresholded: ``gray`` after contrast normalisation
        and smoothing (equal to ``gray`` when both are off).
    binary : numpy.ndarray or None
        Step 2: adaptive-threshold output, ``uint8`` with values 0 and 255
        (255 = foreground).
    dilated : numpy.ndarray or None
        Step 3: ``binary`` after dilation, ``uint8`` 0/255.
    cleaned : numpy.ndarray or None
        Step 4: ``dilated`` after the scikit-image clean-up, ``uint8`` 0/255;
        the mask whose contours give the boxes.
    rejected : list of Box
        Boxes dropped by the width + height cut-off (kept for figures).
    offset : float or None
        The threshold offset ``C`` actually used (given or automatic).
    params : dict
        Every parameter the segmentation ran with.

    The intermediates are filled only when ``return_intermediates=True``.
    """

    boxes: list[Box]
    patches: list[np.ndarray]
    gray: np.ndarray | None = None
    binary: np.ndarray | None = None
    dilated: np.ndarray | None = None
    cleaned: np.ndarray | None = None
    rejected: list[Box] = field(default_factory=list)
    normalized: np.ndarray | None = None
    offset: float | None = None
    params: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.boxes)


# --------------------------------------------------------------------------- checks


def check_frame(frame) -> np.ndarray:
    """The frame to segment, checked: a ``uint8`` or ``uint16`` array, ``HxW`` or ``HxWx3`` (``HxWx4``: RGBA).

    Returns the frame, an ``HxWx1`` one as ``HxW``. Raises
    :class:`~mstl_lib.errors.DataError` saying what is wrong with it and how
    to convert it.
    """
    if not isinstance(frame, np.ndarray):
        raise DataError(f"frame must be a numpy array (HxW grayscale or HxWx3 RGB), got {type(frame).__name__}.")
    return check_image(
        frame,
        "frame",
        channels=(1, 3, 4),
        dtypes=(np.uint8, np.uint16),
        fix="pass one grayscale or RGB frame (RGBA: alpha ignored); convert a float image in [0, 1] with "
        "(img * 255).round().astype(np.uint8) (a boolean mask is not an image to segment).",
    )


# --------------------------------------------------------------------------- steps


def to_gray8(frame: np.ndarray) -> np.ndarray:
    """Step 1 of Ayana et al. 2022, section 2.1: the frame as 8-bit grayscale.

    Parameters
    ----------
    frame : numpy.ndarray
        ``uint8`` or ``uint16``; ``HxW`` grayscale, ``HxWx1``, ``HxWx3`` RGB or
        ``HxWx4`` RGBA (alpha ignored).

    Returns
    -------
    numpy.ndarray
        ``uint8`` ``HxW``. Colour is converted with ``cv2.COLOR_RGB2GRAY``
        (ITU-R BT.601 weights). A ``uint16`` frame is stretched linearly from
        its own minimum and maximum to 0..255, so that 12-bit camera data
        stored in 16 bits is not squeezed into a few gray levels.

    Raises
    ------
    DataError
        For an empty array, a dtype other than uint8/uint16, or a shape that
        is not an image.
    """
    return _gray8(check_frame(frame))


def _gray8(frame: np.ndarray) -> np.ndarray:
    """:func:`to_gray8` of a frame :func:`check_frame` has passed."""
    if frame.ndim == 3:
        code = cv2.COLOR_RGBA2GRAY if frame.shape[2] == 4 else cv2.COLOR_RGB2GRAY
        gray = cv2.cvtColor(np.ascontiguousarray(frame), code)
    else:
        gray = frame
    if gray.dtype == np.uint16:
        gray = stretch_to_uint8(gray)
    return np.ascontiguousarray(gray)


def _normalize(gray: np.ndarray, mode, clip_limit: float, tile_grid: int) -> np.ndarray:
    if mode in (None, "none"):
        return gray
    if mode == "clahe":
        clahe = cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tile_grid, tile_grid))
        return clahe.apply(gray)
    # "stretch": 1st..99th percentile to 0..255
    lo, hi = np.percentile(gray, [1.0, 99.0])
    if hi <= lo:
        return gray.copy()
    return stretch_to_uint8(gray, lo, hi)


def _local_mean(image: np.ndarray, block_size: int, method: str) -> np.ndarray:
    """The local mean cv2.adaptiveThreshold compares each pixel with."""
    f = image.astype(np.float32)
    if method == "gaussian":
        # Same kernel as ADAPTIVE_THRESH_GAUSSIAN_C (sigma derived from the size).
        return cv2.GaussianBlur(f, (block_size, block_size), 0, borderType=cv2.BORDER_REPLICATE)
    return cv2.blur(f, (block_size, block_size), borderType=cv2.BORDER_REPLICATE)


def estimate_noise(image: np.ndarray) -> float:
    """Standard deviation of the pixel noise, by Immerkaer's method.

    The image is filtered with the 3 x 3 kernel ``[[1, -2, 1], [-2, 4, -2],
    [1, -2, 1]]``, which cancels smooth structure (up to second order), and
    the noise sigma is ``sqrt(pi / 2) * mean|response| / 6`` (J. Immerkaer,
    "Fast noise variance estimation", Computer Vision and Image
    Understanding 64(2), 300-302, 1996). Fine texture counts a little as
    noise, so this slightly overestimates on textured frames.
    """
    if image.shape[0] < 3 or image.shape[1] < 3:
        return 0.0
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    response = cv2.filter2D(image.astype(np.float32), -1, kernel)[1:-1, 1:-1]
    return float(math.sqrt(math.pi / 2.0) * np.abs(response).mean() / 6.0)


def gray_level_step(original: np.ndarray, transformed: np.ndarray) -> float:
    """How many gray levels of ``transformed`` one gray level of ``original`` became.

    The median of ``|transformed[i] - transformed[j]|`` over horizontally and
    vertically adjacent pixels ``i, j`` whose ``original`` values differ by
    exactly one level; 1.0 when there are no such pairs. CLAHE on a dark
    frame turns each input level into a step of several levels.
    """
    a = original.astype(np.int16)
    b = transformed.astype(np.int16)
    steps = []
    for axis in (0, 1):
        da = np.abs(np.diff(a, axis=axis))
        db = np.abs(np.diff(b, axis=axis))
        steps.append(db[da == 1])
    steps = np.concatenate(steps)
    return float(np.median(steps)) if steps.size else 1.0


def auto_offset(
    image: np.ndarray,
    block_size: int,
    method: str = "gaussian",
    factor: float = 1.0,
    noise_factor: float = 1.8,
    level_step: float = 1.0,
) -> float:
    """Automatic threshold offset ``C`` for the adaptive threshold.

    ``C = max(factor * spread, noise_factor * noise, level_step + 1)``, in gray
    levels of ``image``, rounded to a whole level, where

    * ``spread`` is the robust spread of the pixels' deviations from their
      local mean (the same mean the adaptive threshold uses): 1.4826 x their
      median absolute deviation, which equals the standard deviation for
      Gaussian deviations but is not pulled up by the strongest edges; it
      measures how much local contrast the frame has, so that a dark,
      low-contrast frame and a contrasty one are cut at the same relative
      depth;
    * ``noise`` is the pixel-noise sigma (:func:`estimate_noise`); the
      ``noise_factor`` floor keeps pure noise out of the foreground on a
      noisy frame with little texture (a one-sided cut at 1.8 sigma passes
      under 4% of noise pixels, too sparse to join into objects after the
      2 x 2 dilation, whereas a cut at 1 sigma passes 16%, which the dilation
      grows into a web that spans the frame);
    * ``level_step`` is the size in ``image`` of one gray level of the
      original frame (:func:`gray_level_step`; 1 without normalisation). A
      pixel one original level below its surroundings is a quantisation step
      of smooth shading, not structure: on a clean, dark frame that CLAHE has
      stretched, such steps would otherwise draw rings over the background.

    The result is rounded to a whole gray level, because OpenCV's adaptive
    threshold on 8-bit images only uses the integer part of ``C``.

    This is an addition to Ayana et al. 2022, section 2.1, which does not
    give its offset.
    """
    dev = image.astype(np.float32) - _local_mean(image, block_size, method)
    med = float(np.median(dev))
    spread = 1.4826 * float(np.median(np.abs(dev - med)))
    value = max(factor * spread, noise_factor * estimate_noise(image), level_step + 1.0)
    # cv2.adaptiveThreshold on 8-bit images compares whole gray levels (it
    # uses floor(C)); rounding here makes the effective offset the nearest one.
    return float(round(value))


def _remove_small_objects(mask: np.ndarray, max_size: int) -> np.ndarray:
    from skimage import morphology

    if max_size <= 0:
        return mask
    try:  # scikit-image >= 0.26: objects of max_size pixels or fewer go
        return morphology.remove_small_objects(mask, max_size=max_size, connectivity=1)
    except TypeError:  # older: objects strictly smaller than min_size go
        return morphology.remove_small_objects(mask, min_size=max_size + 1, connectivity=1)


def _fill_small_holes(mask: np.ndarray, max_size: int) -> np.ndarray:
    """Fill background regions of at most ``max_size`` pixels enclosed by foreground.

    Like ``skimage.morphology.remove_small_holes``, except that a background
    region touching the frame edge is never a hole (``remove_small_holes``
    would fill the whole background of a small, empty frame).
    """
    from skimage.measure import label

    if max_size <= 0 or mask.all():
        return mask
    regions = label(~mask, connectivity=1)
    sizes = np.bincount(regions.ravel())
    fill = sizes <= max_size
    fill[0] = False
    edge = np.concatenate([regions[0, :], regions[-1, :], regions[:, 0], regions[:, -1]])
    fill[np.unique(edge)] = False
    return mask | fill[regions]


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class SegmentationSettings:
    """The checked keyword arguments of :func:`segment_frame` (its ``params``)."""

    normalize: str | None
    clahe_clip_limit: float
    clahe_tile_grid: int
    smooth_sigma: float
    threshold_method: str
    block_size: int
    offset: float | None
    offset_factor: float
    noise_factor: float
    polarity: str
    dilation_kernel: int
    dilation_iterations: int
    min_object_size: int
    max_hole_size: int
    closing_radius: int
    clear_border: bool
    min_box_sum: int


def checked_settings(given: dict) -> SegmentationSettings:
    """Every keyword argument of :func:`segment_frame` (``given``: its ``locals()``), checked in one place."""
    block_size = check_odd_block_size(given["block_size"])
    if not isinstance(given["clear_border"], (bool, np.bool_)):
        raise DataError(f"clear_border must be True or False, got {given['clear_border']!r}.")
    offset = given["offset"]
    return SegmentationSettings(
        normalize=check_choice(given["normalize"], "normalize", _NORMALIZE),
        clahe_clip_limit=check_number(given["clahe_clip_limit"], "clahe_clip_limit", minimum=0, include_minimum=False),
        clahe_tile_grid=check_integer(given["clahe_tile_grid"], "clahe_tile_grid", minimum=1),
        smooth_sigma=check_number(given["smooth_sigma"], "smooth_sigma", minimum=0),
        threshold_method=check_choice(given["threshold_method"], "threshold_method", _METHODS),
        block_size=block_size,
        offset=None if offset is None else check_number(offset, "offset", minimum=0),
        offset_factor=check_number(given["offset_factor"], "offset_factor", minimum=0),
        noise_factor=check_number(given["noise_factor"], "noise_factor", minimum=0),
        polarity=check_choice(given["polarity"], "polarity", _POLARITY),
        dilation_kernel=check_integer(given["dilation_kernel"], "dilation_kernel", minimum=1),
        dilation_iterations=check_integer(given["dilation_iterations"], "dilation_iterations", minimum=0),
        min_object_size=check_integer(given["min_object_size"], "min_object_size", minimum=0),
        max_hole_size=check_integer(given["max_hole_size"], "max_hole_size", minimum=0),
        closing_radius=check_integer(given["closing_radius"], "closing_radius", minimum=0),
        clear_border=bool(given["clear_border"]),
        min_box_sum=check_integer(given["min_box_sum"], "min_box_sum", minimum=0),
    )


# --------------------------------------------------------------------------- the steps of section 2.1


def contrast_normalized(gray: np.ndarray, settings: SegmentationSettings) -> tuple[np.ndarray, float]:
    """Pre-step (not in the paper): contrast normalisation and smoothing.

    Returns the image to threshold and the size in it of one original gray
    level (:func:`gray_level_step`, 1 without normalisation).
    """
    work = _normalize(gray, settings.normalize, settings.clahe_clip_limit, settings.clahe_tile_grid)
    level_step = gray_level_step(gray, work) if work is not gray else 1.0
    if settings.smooth_sigma > 0:
        work = cv2.GaussianBlur(work, (0, 0), settings.smooth_sigma, borderType=cv2.BORDER_REPLICATE)
    return work, level_step


def threshold_offset(work: np.ndarray, level_step: float, settings: SegmentationSettings) -> float:
    """The offset ``C`` of step 2: the given one, or :func:`auto_offset`."""
    if settings.offset is not None:
        return settings.offset
    return auto_offset(
        work, settings.block_size, settings.threshold_method, settings.offset_factor, settings.noise_factor, level_step
    )


def adaptive_threshold(work: np.ndarray, offset: float, settings: SegmentationSettings) -> np.ndarray:
    """Step 2: OpenCV's adaptive threshold, ``uint8`` with 255 = foreground."""
    method = _METHODS[settings.threshold_method]
    binary = np.zeros_like(work)
    if settings.polarity in ("dark", "both"):
        binary |= cv2.adaptiveThreshold(work, 255, method, cv2.THRESH_BINARY_INV, settings.block_size, offset)
    if settings.polarity in ("bright", "both"):
        binary |= cv2.adaptiveThreshold(work, 255, method, cv2.THRESH_BINARY, settings.block_size, -offset)
    return binary


def dilate(binary: np.ndarray, settings: SegmentationSettings) -> np.ndarray:
    """Step 3: dilation with a k x k kernel (2 x 2 in the paper)."""
    if settings.dilation_kernel > 1 and settings.dilation_iterations > 0:
        kernel = np.ones((settings.dilation_kernel, settings.dilation_kernel), np.uint8)
        return cv2.dilate(binary, kernel, iterations=settings.dilation_iterations)
    return binary.copy()


def clean_up(dilated: np.ndarray, settings: SegmentationSettings) -> np.ndarray:
    """Step 4: scikit-image noise removal (small objects, closing, small holes, border), ``uint8`` 0/255."""
    mask = _remove_small_objects(dilated > 0, settings.min_object_size)
    if settings.closing_radius > 0:
        side = 2 * settings.closing_radius + 1
        disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
        mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, disk) > 0
    mask = _fill_small_holes(mask, settings.max_hole_size)
    if settings.clear_border:
        from skimage.segmentation import clear_border

        mask = clear_border(mask)
    return mask.astype(np.uint8) * 255


def outer_contours(mask: np.ndarray) -> tuple:
    """Step 5 of section 2.1: the outer contour of every blob (OpenCV's ``findContours``)."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return contours


def bounding_boxes(contours) -> list[Box]:
    """Step 6: the bounding rectangle of every contour, in reading order (top to bottom, left to right)."""
    boxes = (Box.from_tuple(cv2.boundingRect(contour)) for contour in contours)
    return sorted(boxes, key=lambda b: (b.y, b.x, b.h, b.w))


def size_cut(boxes: list[Box], min_box_sum: int) -> tuple[list[Box], list[Box]]:
    """Step 7: boxes with width + height of at least ``min_box_sum`` (100 px in the paper), and the others."""
    kept = [b for b in boxes if b.size_sum >= min_box_sum]
    rejected = [b for b in boxes if b.size_sum < min_box_sum]
    return kept, rejected


# --------------------------------------------------------------------------- main


def segment_frame(
    frame: np.ndarray,
    *,
    normalize: str | None = "clahe",
    clahe_clip_limit: float = 2.0,
    clahe_tile_grid: int = 8,
    smooth_sigma: float = 0.0,
    threshold_method: str = "gaussian",
    block_size: int = 51,
    offset: float | None = None,
    offset_factor: float = 1.0,
    noise_factor: float = 1.8,
    polarity: str = "dark",
    dilation_kernel: int = PAPER_DILATION_KERNEL,
    dilation_iterations: int = 1,
    min_object_size: int = 300,
    max_hole_size: int = 2000,
    closing_radius: int = 0,
    clear_border: bool = False,
    min_box_sum: int = PAPER_MIN_BOX_SUM,
    return_intermediates: bool = False,
) -> Segmentation:
    """Segment a cell-line frame into single-cell boxes and patches.

    Implements Ayana et al. 2022, section 2.1: grayscale, adaptive threshold,
    2 x 2 dilation, scikit-image noise removal, contours, bounding boxes, and
    the removal of boxes whose width + height is below 100 px. See the module
    docstring for the two optional pre-steps (CLAHE and the automatic offset)
    that are on by default.

    Parameters
    ----------
    frame : numpy.ndarray
        ``uint8`` or ``uint16`` image, ``HxW`` grayscale or ``HxWx3`` RGB (the
        library's channel order; convert ``cv2.imread`` output from BGR
        first). ``uint16`` is stretched from its min..max to 8 bits.
    normalize : {"clahe", "stretch", None}, optional
        Contrast normalisation before thresholding (not in the paper).
        ``"clahe"`` (default): contrast-limited adaptive histogram
        equalisation, which also evens out illumination; ``"stretch"``: the
        1st..99th percentiles mapped to 0..255; ``None``: none.
    clahe_clip_limit : float, optional
        CLAHE clip limit (``cv2.createCLAHE``), default 2.0.
    clahe_tile_grid : int, optional
        CLAHE tiles per side, default 8.
    smooth_sigma : float, optional
        Gaussian smoothing (sigma in pixels) before thresholding, default 0
        (off); about 1.0 damps strong pixel noise, at the cost of fine
        texture.
    threshold_method : {"gaussian", "mean"}, optional
        Local mean of ``cv2.adaptiveThreshold``: Gaussian-weighted (default)
        or box mean.
    block_size : int, optional
        Side of the local neighbourhood, odd and >= 3; default 51 px, about
        half a cell at 20x, so the local mean follows the illumination but is
        not dragged down to the level of the cell itself.
    offset : float or None, optional
        The constant ``C`` of ``cv2.adaptiveThreshold`` in gray levels: with
        ``polarity="dark"`` a pixel is foreground when it is more than ``C``
        below its local mean. ``None`` (default) chooses it from the frame,
        see :func:`auto_offset`.
    offset_factor : float, optional
        Automatic offset = ``offset_factor`` x the robust spread of local
        deviations (at least ``noise_factor`` x the noise sigma); default
        1.0. Ignored when ``offset`` is given. Larger keeps less foreground.
    noise_factor : float, optional
        Noise floor of the automatic offset in noise sigmas, default 1.8.
    polarity : {"dark", "bright", "both"}, optional
        Whether cells show as darker than their surroundings (default;
        membranes, granules and relief edges in bright-field), brighter, or
        either (the union of the two thresholds).
    dilation_kernel : int, optional
        Side of the square dilation kernel; 2 as in the paper. 1 disables
        dilation.
    dilation_iterations : int, optional
        Number of dilations, default 1.
    min_object_size : int, optional
        Foreground components (4-connected, scikit-image's default) of this
        many pixels or fewer are removed as noise
        (``skimage.morphology.remove_small_objects``);
        default 300 px, well below a cell (the paper's smallest kept box,
        50 x 50 px, holds 2500 px) and above the debris and noise clusters.
        0 disables.
    max_hole_size : int, optional
        Holes (background regions enclosed by foreground, not touching the
        frame edge) of this many pixels or fewer are filled, as
        ``skimage.morphology.remove_small_holes`` does; default 2000 px, so
        a cell whose outline closes becomes one solid object. 0 disables.
    closing_radius : int, optional
        Morphological closing with a disk of this radius after the noise
        removal (not in the paper), default 0 (off). It joins the fragments
        of loosely outlined cells but also joins touching cells.
    clear_border : bool, optional
        Remove components touching the frame edge (cut cells), with
        ``skimage.segmentation.clear_border``; default False.
    min_box_sum : int, optional
        Boxes with ``w + h < min_box_sum`` are rejected; 100 as in the paper.
        A box with ``w + h == min_box_sum`` is kept.
    return_intermediates : bool, optional
        Also return the images of every step (for figures).

    Returns
    -------
    Segmentation
        Kept boxes and patches, rejected boxes, the offset used and, on
        request, the intermediate images.

    Raises
    ------
    DataError
        For a frame that is not a non-empty uint8/uint16 HxW or HxWx3 array,
        and for parameters out of range (an even or < 3 block size, a
        negative cut-off, an unknown method, ...).

    Notes
    -----
    Touching cells whose foreground joins give one box for the group, as in
    the paper (its procedure has no splitting step).

    The defaults expect camera frames, which always carry some noise. On a
    noise-free rendered image with smooth shading over the full gray range,
    CLAHE turns the shading into terraces whose edges can pass the automatic
    offset and form frame-wide rings; use ``normalize=None`` and an explicit
    ``offset`` there.

    Examples
    --------
    >>> import numpy as np
    >>> frame = np.full((200, 300), 120, np.uint8)
    >>> frame[50:120, 80:170] = 60             # one dark 90 x 70 object
    >>> seg = segment_frame(frame)
    >>> [b.as_tuple() for b in seg.boxes]      # 2 x 2 dilation adds 1 px
    [(80, 50, 91, 71)]
    >>> seg.patches[0].shape
    (71, 91)
    """
    frame = check_frame(frame)
    settings = checked_settings(locals())
    try:
        gray = _gray8(frame)  # step 1
        work, level_step = contrast_normalized(gray, settings)  # added: CLAHE
        offset = threshold_offset(work, level_step, settings)  # added: automatic C
        binary = adaptive_threshold(work, offset, settings)  # step 2
        dilated = dilate(binary, settings)  # step 3
        cleaned = clean_up(dilated, settings)  # step 4
        contours = outer_contours(cleaned)  # step 5
        found = bounding_boxes(contours)  # step 6
    except cv2.error as exc:  # not expected after the checks; never raised raw
        raise DataError(
            f"OpenCV could not segment a frame of shape {frame.shape} and dtype "
            f"{frame.dtype} with {asdict(settings)}: {exc}"
        ) from exc
    boxes, rejected = size_cut(found, settings.min_box_sum)  # step 7
    patches = [box.crop(frame) for box in boxes]  # step 8
    steps = dict(gray=gray, normalized=work, binary=binary, dilated=dilated)
    steps.update(cleaned=cleaned)
    return Segmentation(
        boxes=boxes,
        patches=patches,
        rejected=rejected,
        offset=float(offset),
        params=asdict(settings),
        **(steps if return_intermediates else {}),
    )


# --------------------------------------------------------------------------- drawing


def draw_boxes(
    frame: np.ndarray,
    boxes,
    rejected=None,
    *,
    color: tuple[int, int, int] = (255, 40, 0),
    rejected_color: tuple[int, int, int] = (0, 200, 255),
    thickness: int = 2,
) -> np.ndarray:
    """Draw boxes on an RGB copy of a frame (panel "boxes" of the paper's Figure 2).

    Parameters
    ----------
    frame : numpy.ndarray
        ``uint8``/``uint16``, ``HxW`` or ``HxWx3`` RGB; not modified.
    boxes : iterable of Box or (x, y, w, h)
        Kept boxes, drawn in ``color``.
    rejected : iterable of Box or (x, y, w, h), optional
        Boxes dropped by the size cut-off, drawn in ``rejected_color`` with a
        1 px line.
    color, rejected_color : tuple of int
        RGB colours (default orange-red for kept, cyan for rejected).
    thickness : int
        Line width of kept boxes in pixels, default 2.

    Returns
    -------
    numpy.ndarray
        ``uint8`` ``HxWx3`` RGB image. A grayscale frame is shown as gray; a
        ``uint16`` one is stretched to 8 bits as in :func:`to_gray8`.
    """
    frame = check_frame(frame)
    thickness = check_integer(thickness, "thickness", minimum=1)
    colors = {}
    for name, value in (("color", color), ("rejected_color", rejected_color)):
        try:
            rgb_value = tuple(int(c) for c in value)
        except (TypeError, ValueError):
            rgb_value = ()
        if len(rgb_value) != 3 or not all(0 <= c <= 255 for c in rgb_value):
            raise DataError(f"{name} must be an (R, G, B) triple of integers 0..255, got {value!r}.")
        colors[name] = rgb_value
    if frame.ndim == 2 or frame.dtype == np.uint16:
        if frame.ndim == 3 and frame.dtype == np.uint16:
            rgb = stretch_to_uint8(frame[:, :, :3], frame.min(), frame.max())
        else:
            rgb = cv2.cvtColor(_gray8(frame), cv2.COLOR_GRAY2RGB)
    else:
        rgb = frame[:, :, :3].copy()
    rgb = np.ascontiguousarray(rgb)

    def _boxes(items, name):
        out = []
        for item in items or ():
            if isinstance(item, Box):
                out.append(item)
            else:
                try:
                    out.append(Box.from_tuple(item))
                except (TypeError, ValueError) as exc:
                    raise DataError(f"{name} must hold Box objects or (x, y, w, h) tuples, got {item!r}.") from exc
        return out

    for b in _boxes(rejected, "rejected"):
        if b.w > 0 and b.h > 0:
            cv2.rectangle(rgb, (b.x, b.y), (b.x2 - 1, b.y2 - 1), colors["rejected_color"], 1)
    for b in _boxes(boxes, "boxes"):
        if b.w > 0 and b.h > 0:
            cv2.rectangle(rgb, (b.x, b.y), (b.x2 - 1, b.y2 - 1), colors["color"], thickness)
    return rgb

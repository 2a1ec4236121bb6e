"""Synthetic stand-ins for the paper's two kinds of data, generated locally.

The project runs end to end without downloading anything: its default data are
drawn here from a seed and written to disk in the same folder layouts as the
real datasets, so that the same loaders read either.

Two generators imitate the two sources of Ayana et al. (2022):

* **Full-field bright-field microscopy frames of three cancer cell lines**
  (section 2.1 of the paper: HeLa cervical, MCF-7 breast and NCI-H1299 lung
  cancer cells, cultured and photographed under a bright-field microscope,
  then segmented into single-cell patches for the first transfer stage).
  Each frame has a mid-gray background with uneven illumination (a smooth
  gradient and vignetting), out-of-focus background mottle, shot and read
  noise, small debris specks, and cells drawn as textured regions with a dark
  membrane line, a bright halo, a relief (shadow-cast) edge, a nucleus with
  nucleoli and dark perinuclear granules. The three lines differ the way the
  real ones do at a glance: HeLa-like cells are spread, polygonal and
  irregular; MCF-7-like cells are small, rounded and packed into tight
  clusters; NCI-H1299-like cells are elongated spindles. Cells and clusters
  are mostly 50-200 px across and kept apart, so that the paper's
  segmentation (boxes with width + height < 100 px dropped) keeps them and
  rejects the debris. The default frame size, 904 x 1224 pixels, is that of a
  real frame of the cell sample.

* **B-mode breast ultrasound images, benign versus malignant** (section 2.2:
  the Mendeley breast ultrasound set and the MT-Small set). Each image is a
  smoothed tissue echogenicity map (skin line, subcutaneous fat lobules,
  fibroglandular tissue with Cooper's ligaments, pectoral muscle band) times
  fully developed speckle (the magnitude of a complex Gaussian field blurred
  by an anisotropic point-spread function, so Rayleigh distributed), with
  depth attenuation and log compression. A hypoechoic lesion follows the
  BI-RADS ultrasound lexicon (ACR BI-RADS Atlas, 5th edition, 2013): benign
  lesions are oval with a circumscribed margin, parallel orientation (wider
  than tall) and posterior acoustic enhancement; malignant lesions have an
  irregular shape, a spiculated or indistinct margin (often with an
  echogenic halo), non-parallel orientation (taller than wide) and posterior
  acoustic shadowing. A ``difficulty`` knob in [0, 1] blends the descriptors
  of the two classes towards each other, flips single descriptors to the
  other class's value (a benign lesion that is slightly irregular, a
  malignant one without shadowing) and adds distractors (a second small cyst,
  shadows from ligaments), so the task is learnable but not trivial.

Every image is derived from ``(seed, kind, class, index)`` alone, so writing
10 or 100 images gives the same first 10, and the same seed gives
byte-identical files.

Folder layouts written:

* cells: ``OUT/<cell_line>/<cell_line>_<NNNN>.png`` (e.g. ``hela/hela_0001.png``);
* ultrasound (BUSI layout): ``OUT/benign/benign (1).png``,
  ``OUT/malignant/malignant (1).png``;
* each with a ``synthetic.json`` record of the generator, seed, parameters
  and library version; the cell folder also holds ``ground_truth.json``, the
  true box of every cell or cluster per frame.
"""

from __future__ import annotations

import json
import numbers
from pathlib import Path

import cv2
import numpy as np

from mstl_lib.errors import DataError
from mstl_lib.outputs import prepare_output_dir

__all__ = [
    "CELL_LINES",
    "ULTRASOUND_CLASSES",
    "CELL_FRAME_SIZE",
    "DEBRIS_LABEL",
    "RECORD_NAME",
    "GROUND_TRUTH_NAME",
    "make_cell_frame",
    "make_ultrasound_image",
    "write_cell_frames",
    "write_ultrasound_set",
    "write_synthetic",
    "cell_frame_name",
    "ultrasound_name",
]

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
        raise DataError(
            f"unknown cell line {cell_line!r}; choose one of {', '.join(CELL_LINES)}."
        )
    return name


def _check_label(label) -> str:
    name = str(label).lower()
    if name not in ULTRASOUND_CLASSES:
        raise DataError(
            f"unknown ultrasound class {label!r}; choose one of "
            f"{', '.join(ULTRASOUND_CLASSES)}."
        )
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
        raise DataError(
            f"size must be at least (256, 256) so that whole cells fit, got {size!r}."
        )
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


# ---------------------------------------------------------------------------
# Cell frames: shapes
# ---------------------------------------------------------------------------


def _chaikin(points: np.ndarray, iterations: int = 2) -> np.ndarray:
    """Round the corners of a closed polygon (Chaikin's corner cutting)."""
    for _ in range(iterations):
        nxt = np.roll(points, -1, axis=0)
        points = np.stack([0.75 * points + 0.25 * nxt, 0.25 * points + 0.75 * nxt], axis=1)
        points = points.reshape(-1, 2)
    return points


def _rotate(points: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return points @ np.array([[c, s], [-s, c]], dtype=np.float64)


def _radial_blob(rng, radius: float, harmonics: float, n: int = 48) -> np.ndarray:
    """A closed, star-shaped outline r(theta) = R (1 + sum a_k cos(k theta + phi_k))."""
    theta = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 6):
        r += harmonics / k * rng.normal() * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    r = radius * np.clip(r, 0.6, 1.4)
    return np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)


def _process(rng, base: np.ndarray, direction: np.ndarray, length: float, width: float) -> np.ndarray:
    """A tapered cell process (lamellipodium or tail) leaving ``base`` along ``direction``."""
    direction = direction / (np.linalg.norm(direction) + 1e-9)
    normal = np.array([-direction[1], direction[0]])
    bend = rng.normal(0, 0.15)
    t = np.linspace(0, 1, 8)
    centre = base[None, :] + (t[:, None] * length) * direction[None, :]
    centre += (bend * length * t**2)[:, None] * normal[None, :]
    half = width / 2 * (1 - t) ** 0.8 + 0.8
    left = centre + half[:, None] * normal
    right = centre - half[:, None] * normal
    # Start a little inside the cell so the process joins the body.
    left[0] -= direction * width
    right[0] -= direction * width
    return np.concatenate([left, right[::-1]], axis=0)


def _hela_object(rng) -> list[dict]:
    """One HeLa-like cell: spread, polygonal, irregular, with lamellipodia."""
    radius = rng.uniform(38, 58)
    n_vert = int(rng.integers(5, 9))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n_vert))
    # keep vertices from bunching up
    angles = np.sort((np.linspace(0, 2 * np.pi, n_vert, endpoint=False) + angles) / 2 % (2 * np.pi))
    angles += rng.uniform(0, 2 * np.pi)
    radii = radius * rng.uniform(0.6, 1.25, n_vert)
    poly = np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)
    poly = _chaikin(poly, 2)
    aspect = rng.uniform(1.15, 1.75)
    rot = rng.uniform(0, np.pi)
    poly = _rotate(_rotate(poly, -rot) * [aspect, 1.0 / np.sqrt(aspect)], rot)
    outlines = [poly]
    for _ in range(int(rng.integers(0, 3))):
        i = int(rng.integers(len(poly)))
        base = poly[i]
        outlines.append(_process(rng, base, base, rng.uniform(10, 26), rng.uniform(8, 18)))
    nucleus_r = radius * rng.uniform(0.26, 0.34)
    centre = poly.mean(axis=0) + rng.normal(0, radius * 0.08, 2)
    return [
        dict(
            outlines=outlines,
            nucleus=(centre, (nucleus_r * rng.uniform(1.0, 1.3), nucleus_r), rng.uniform(0, 180)),
            granules=int(rng.integers(15, 45)),
            granule_spread=radius * 0.55,
            cyto=rng.uniform(-6, 2),
            texture=rng.uniform(5, 9),
        )
    ]


def _mcf7_object(rng) -> list[dict]:
    """One MCF-7-like cluster: compact rounded cells packed tightly (sometimes one)."""
    k = int(rng.choice([1, 2, 3, 4, 4, 5, 5, 6, 6, 7]))
    if k == 1:
        radii = [rng.uniform(27, 33)]
    else:
        radii = list(rng.uniform(19, 26, k))
    centres = [np.zeros(2)]
    for r in radii[1:]:
        for _ in range(50):
            j = int(rng.integers(len(centres)))
            ang = rng.uniform(0, 2 * np.pi)
            dist = (r + radii[j]) * rng.uniform(0.78, 0.9)
            c = centres[j] + dist * np.array([np.cos(ang), np.sin(ang)])
            ok = all(
                np.linalg.norm(c - cc) >= 0.78 * (r + rr)
                for cc, rr in zip(centres, radii[: len(centres)])
            )
            # keep the cluster compact: prefer spots near the cluster centre
            if ok and np.linalg.norm(c - np.mean(centres, axis=0)) < 1.3 * max(radii) + 3 * len(centres):
                centres.append(c)
                break
        else:
            break
    cells = []
    for c, r in zip(centres, radii):
        outline = _radial_blob(rng, r, 0.12) + c
        nucleus_r = r * rng.uniform(0.42, 0.52)
        cells.append(
            dict(
                centre=c,
                radius=r,
                outlines=[outline],
                nucleus=(c + rng.normal(0, r * 0.08, 2), (nucleus_r * rng.uniform(1.0, 1.15), nucleus_r), rng.uniform(0, 180)),
                granules=int(rng.integers(3, 12)),
                granule_spread=r * 0.6,
                cyto=rng.uniform(4, 12),
                texture=rng.uniform(3, 6),
            )
        )
    return cells


def _h1299_object(rng) -> list[dict]:
    """One NCI-H1299-like cell: an elongated, tapered spindle with tails."""
    length = rng.uniform(105, 175)
    width = rng.uniform(22, 36)
    t = np.linspace(-1, 1, 25)
    half = width / 2 * (1 - np.abs(t) ** rng.uniform(1.6, 2.4)) ** 0.9 + 1.0
    bend = rng.normal(0, 0.05) * length
    centre_y = bend * (t**2 - 1 / 3)
    x = t * length / 2
    top = np.stack([x, centre_y + half], axis=1)
    bottom = np.stack([x, centre_y - half], axis=1)[::-1]
    body = np.concatenate([top, bottom], axis=0)
    outlines = [body]
    for end in (-1, 1):
        if rng.random() < 0.55:
            base = np.array([end * length / 2 * 0.92, centre_y[0 if end < 0 else -1]])
            outlines.append(_process(rng, base, np.array([end, rng.normal(0, 0.2)]), rng.uniform(10, 28), rng.uniform(4, 7)))
    if rng.random() < 0.15:  # an occasional tripolar cell
        base = np.array([rng.uniform(-0.2, 0.2) * length, 0.0])
        outlines.append(_process(rng, base, np.array([rng.normal(0, 0.5), rng.choice([-1, 1])]), rng.uniform(15, 30), rng.uniform(6, 10)))
    rot = rng.uniform(0, np.pi)
    outlines = [_rotate(o, rot) for o in outlines]
    nucleus_len = rng.uniform(0.17, 0.24) * length
    shift = rng.uniform(-0.12, 0.12) * length
    centre = _rotate(np.array([[shift, bend * ((2 * shift / length) ** 2 - 1 / 3)]]), rot)[0]
    return [
        dict(
            outlines=outlines,
            nucleus=(centre, (nucleus_len, width * rng.uniform(0.28, 0.34)), np.degrees(rot)),
            granules=int(rng.integers(8, 25)),
            granule_spread=width * 0.35,
            granule_axis=(np.cos(rot), np.sin(rot)),
            granule_along=length * 0.3,
            cyto=rng.uniform(-4, 4),
            texture=rng.uniform(4, 7),
        )
    ]


_SHAPERS = {"hela": _hela_object, "mcf7": _mcf7_object, "h1299": _h1299_object}

# Optical style per line: halo (bright ring outside), membrane (dark line),
# relief (shadow-cast edge of a differential-interference-like image).
_STYLE = {
    "hela": dict(halo=14.0, membrane=30.0, relief=9.0),
    "mcf7": dict(halo=20.0, membrane=32.0, relief=10.0),
    "h1299": dict(halo=16.0, membrane=30.0, relief=9.0),
}


# ---------------------------------------------------------------------------
# Cell frames: rendering
# ---------------------------------------------------------------------------

_MARGIN = 8  # pixels of patch around an object, room for halo and blur
_GAP = 18  # minimum free pixels between neighbouring objects


def _render_object(rng, cells: list[dict], style: dict, relief_dir: np.ndarray):
    """Draw one cell or cluster into a small patch.

    Returns
    -------
    delta : float32 array
        Intensity change to add to the background.
    mask : uint8 array
        The object's footprint (1 inside).
    origin : ndarray
        Coordinates of the patch's top-left corner relative to the object frame.
    """
    pts = np.concatenate([o for c in cells for o in c["outlines"]], axis=0)
    lo = np.floor(pts.min(axis=0)) - _MARGIN
    hi = np.ceil(pts.max(axis=0)) + _MARGIN
    w, h = int(hi[0] - lo[0]) + 1, int(hi[1] - lo[1]) + 1
    shift = 4  # sub-pixel precision of cv2 drawing
    scale = 1 << shift

    owns = []
    for cell in cells:
        own = np.zeros((h, w), np.uint8)
        for outline in cell["outlines"]:
            p = np.round((outline - lo) * scale).astype(np.int32)
            cv2.fillPoly(own, [p], 1, lineType=cv2.LINE_AA, shift=shift)
        owns.append(own > 0)
    union = np.any(owns, axis=0).astype(np.uint8)
    if len(cells) > 1:
        # Cells of a cluster press against each other: split the union between
        # them by (radius-weighted) distance to their centres, so neighbours
        # share one membrane instead of overlapping.
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        dist = np.full((len(cells), h, w), np.inf, np.float32)
        for i, cell in enumerate(cells):
            cx, cy = cell["centre"] - lo
            d = np.hypot(xx - cx, yy - cy) / cell["radius"]
            dist[i][owns[i]] = d[owns[i]]
        nearest = np.argmin(dist, axis=0)
        owns = [(nearest == i) & (union > 0) for i in range(len(cells))]
    membrane = np.zeros((h, w), np.float32)
    for own in owns:
        soft = cv2.GaussianBlur(own.astype(np.float32), (0, 0), 0.9)
        membrane = np.maximum(membrane, 4.0 * soft * (1.0 - soft))
    m = cv2.GaussianBlur(union.astype(np.float32), (0, 0), 1.0)
    wide = cv2.GaussianBlur(union.astype(np.float32), (0, 0), 3.5)
    halo = np.clip(wide - m, 0, None)
    gx = cv2.Sobel(m, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(m, cv2.CV_32F, 0, 1, ksize=3)
    relief = relief_dir[0] * gx + relief_dir[1] * gy

    texture = rng.standard_normal((h, w), dtype=np.float32)
    texture = cv2.GaussianBlur(texture, (0, 0), 1.4) * 2.2

    cyto = np.zeros((h, w), np.float32)
    nuclei = np.zeros((h, w), np.float32)
    granules = np.zeros((h, w), np.float32)
    tex_amp = np.zeros((h, w), np.float32)
    for cell, own in zip(cells, owns):
        cyto[own] = cell["cyto"]
        tex_amp[own] = cell["texture"]
        (cx, cy), (ax, ay), ang = cell["nucleus"]
        centre = (int(round((cx - lo[0]) * scale)), int(round((cy - lo[1]) * scale)))
        axes = (int(round(ax * scale)), int(round(ay * scale)))
        nuc = np.zeros((h, w), np.float32)
        cv2.ellipse(nuc, centre, axes, float(ang), 0, 360, 1.0, -1, cv2.LINE_AA, shift)
        nuc_soft = cv2.GaussianBlur(nuc, (0, 0), 1.2)
        rim = 4.0 * nuc_soft * (1.0 - nuc_soft)
        nuclei += -12.0 * nuc_soft + 12.0 * rim
        for _ in range(int(rng.integers(1, 4))):  # nucleoli
            off = rng.normal(0, 0.35, 2) * np.array([ax, ay]) * 0.8
            cv2.circle(nuclei, (int(round(cx - lo[0] + off[0])), int(round(cy - lo[1] + off[1]))),
                       int(rng.integers(2, 4)), -14.0, -1, cv2.LINE_AA)
        n_gran = cell["granules"]
        if n_gran:
            if "granule_axis" in cell:
                axis = np.asarray(cell["granule_axis"])
                normal = np.array([-axis[1], axis[0]])
                along = rng.normal(0, cell["granule_along"], n_gran)
                across = rng.normal(0, cell["granule_spread"], n_gran)
                offs = along[:, None] * axis + across[:, None] * normal
            else:
                ang_g = rng.uniform(0, 2 * np.pi, n_gran)
                rad_g = np.abs(rng.normal(max(ax, ay) * 1.1, cell["granule_spread"] * 0.45, n_gran))
                offs = np.stack([rad_g * np.cos(ang_g), rad_g * np.sin(ang_g)], axis=1)
            for ox, oy in offs:
                gx_, gy_ = int(round(cx - lo[0] + ox)), int(round(cy - lo[1] + oy))
                if 0 <= gx_ < w and 0 <= gy_ < h and own[gy_, gx_]:
                    cv2.circle(granules, (gx_, gy_), int(rng.integers(1, 3)), float(rng.uniform(-40, -20)), -1)
    granules = cv2.GaussianBlur(granules, (0, 0), 0.7)

    inside = m
    delta = (
        style["halo"] * halo
        - style["membrane"] * membrane
        + style["relief"] * relief
        + inside * (cyto + tex_amp * texture)
        + inside * (nuclei + granules)
    )
    return delta.astype(np.float32), union, lo


def _smooth_field(rng, shape, cells: int, amplitude: float) -> np.ndarray:
    """Low-frequency noise: a coarse random grid upsampled to ``shape``."""
    h, w = shape
    gh = max(2, int(round(h / max(w, h) * cells)))
    gw = max(2, int(round(w / max(w, h) * cells)))
    grid = rng.standard_normal((gh, gw)).astype(np.float32) * amplitude
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)


def _illumination(rng, shape) -> np.ndarray:
    """Multiplicative uneven illumination: a tilted plane plus vignetting."""
    h, w = shape
    sh, sw = max(2, h // 16), max(2, w // 16)
    y = np.linspace(-1, 1, sh, dtype=np.float32)[:, None]
    x = np.linspace(-1, 1, sw, dtype=np.float32)[None, :]
    gx, gy = rng.uniform(-0.08, 0.08, 2)
    cx, cy = rng.uniform(-0.3, 0.3, 2)
    vignette = rng.uniform(0.06, 0.14)
    field = 1.0 + gx * x + gy * y - vignette * ((x - cx) ** 2 + (y - cy) ** 2) / 2
    return cv2.resize(field.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


def _draw_debris(rng, canvas: np.ndarray, labels: np.ndarray | None, occupied: np.ndarray) -> int:
    """Small dark specks and a few bright round particles, all far below 100 px (w + h)."""
    h, w = canvas.shape
    count = 0
    n_specks = int(rng.integers(25, 60))
    n_particles = int(rng.integers(3, 10))
    for i in range(n_specks + n_particles):
        x, y = int(rng.integers(4, w - 4)), int(rng.integers(4, h - 4))
        if occupied[y, x]:
            continue
        if i < n_specks:
            r = int(rng.integers(1, 4))
            cv2.circle(canvas, (x, y), r, float(rng.uniform(-60, -30)), -1, cv2.LINE_AA)
        else:
            r = int(rng.integers(3, 8))
            cv2.circle(canvas, (x, y), r + 1, -30.0, 2, cv2.LINE_AA)
            cv2.circle(canvas, (x, y), r - 1, float(rng.uniform(15, 35)), -1, cv2.LINE_AA)
        if labels is not None:
            cv2.circle(labels, (x, y), r + 1, DEBRIS_LABEL, -1)
        count += 1
    return count


def make_cell_frame(
    cell_line: str,
    rng: np.random.Generator | int,
    *,
    size: tuple[int, int] = CELL_FRAME_SIZE,
    return_labels: bool = False,
):
    """Generate one full-field bright-field frame of a cell culture.

    Parameters
    ----------
    cell_line : str
        ``"hela"`` (spread, polygonal cells), ``"mcf7"`` (compact rounded
        cells in tight clusters) or ``"h1299"`` (elongated spindles).
    rng : numpy.random.Generator or int
        Source of randomness; an int is used as a seed.
    size : tuple of int, optional
        ``(height, width)`` of the frame; default 904 x 1224 like the real
        sample frame.
    return_labels : bool, optional
        Also return a label image (int32): 0 background, ``k`` for the pixels
        of the object whose box is ``boxes[k - 1]``, and ``DEBRIS_LABEL``
        (-1) on debris.

    Returns
    -------
    frame : numpy.ndarray
        Grayscale ``uint8`` image of shape ``size``.
    boxes : list of tuple of int
        Ground-truth ``(x, y, w, h)`` of every cell or cluster (an MCF-7
        cluster is one object, as the segmentation sees it). Every box has
        ``w + h >= 100``; a frame holds about 34-46 of them.
    labels : numpy.ndarray
        Only when ``return_labels`` is True.

    Raises
    ------
    DataError
        For an unknown cell line or a bad size.
    """
    line = _check_cell_line(cell_line)
    h, w = _check_frame_size(size)
    rng = _as_rng(rng)
    style = _STYLE[line]
    shaper = _SHAPERS[line]

    # One light direction per frame for the relief edge.
    light = rng.uniform(0, 2 * np.pi)
    relief_dir = np.array([np.cos(light), np.sin(light)], np.float32)

    canvas = np.zeros((h, w), np.float32)
    occupied = np.zeros((h, w), np.uint8)
    labels = np.zeros((h, w), np.int32) if return_labels else None
    gap_kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * _GAP + 1, 2 * _GAP + 1))
    boxes: list[_BoxTuple] = []
    area_scale = (h * w) / float(CELL_FRAME_SIZE[0] * CELL_FRAME_SIZE[1])
    target = max(1, int(round(rng.integers(34, 47) * area_scale)))
    failures = 0
    while len(boxes) < target and failures < 6 * target:
        for _ in range(10):  # shapes whose box is too small for the segmentation
            cells = shaper(rng)
            pts = np.concatenate([o for c in cells for o in c["outlines"]], axis=0)
            ext = pts.max(axis=0) - pts.min(axis=0)
            if ext.sum() >= 104 and ext[0] < w - 20 and ext[1] < h - 20:
                break
        delta, mask, lo = _render_object(rng, cells, style, relief_dir)
        ph, pw = mask.shape
        halo = cv2.dilate(mask, gap_kernel)
        placed = False
        for _ in range(25):
            x0 = int(rng.integers(0, w - pw + 1))
            y0 = int(rng.integers(0, h - ph + 1))
            window = occupied[y0 : y0 + ph, x0 : x0 + pw]
            if not np.any(window & halo):
                placed = True
                break
        if not placed:
            failures += 1
            continue
        window |= mask
        canvas[y0 : y0 + ph, x0 : x0 + pw] += delta
        bx, by, bw, bh = cv2.boundingRect(mask)
        boxes.append((x0 + bx, y0 + by, bw, bh))
        if labels is not None:
            labels[y0 : y0 + ph, x0 : x0 + pw][mask > 0] = len(boxes)

    _draw_debris(rng, canvas, labels, cv2.dilate(occupied, gap_kernel))

    background = rng.uniform(112, 132)
    mottle = _smooth_field(rng, (h, w), 24, 2.5)
    image = (background + canvas + mottle) * _illumination(rng, (h, w))
    # Shot noise (Gaussian approximation of Poisson, gain ~0.2 e-/level) and read noise.
    sigma = np.sqrt(np.clip(image, 0, None) * 0.05 + 3.0**2)
    image += sigma * rng.standard_normal((h, w), dtype=np.float32)
    frame = np.clip(image + 0.5, 0, 255).astype(np.uint8)
    if return_labels:
        return frame, boxes, labels
    return frame, boxes


# ---------------------------------------------------------------------------
# Breast ultrasound
# ---------------------------------------------------------------------------

# Descriptors whose value, from 0 (typically benign) to 1 (typically
# malignant), is drawn per lesion (ACR BI-RADS Atlas, 5th ed., 2013):
# shape (oval -> irregular), margin (circumscribed -> spiculated/indistinct,
# echogenic halo), orientation (parallel -> not parallel), posterior features
# (enhancement -> shadowing) and echo pattern (homogeneous -> heterogeneous).
_DESCRIPTORS = ("shape", "margin", "orientation", "posterior", "echo")


def _descriptor_values(rng, malignant: bool, difficulty: float) -> dict[str, float]:
    """Draw the BI-RADS descriptor values of one lesion.

    ``difficulty`` moves the class centres towards 0.5, widens their spread
    and, with probability ``0.35 * difficulty`` per descriptor, swaps in a
    value typical of the other class.
    """
    centre_shift = 0.45 * difficulty
    spread = 0.05 + 0.25 * difficulty
    flip = 0.35 * difficulty
    values = {}
    for name in _DESCRIPTORS:
        cls = malignant
        if rng.random() < flip:
            cls = not cls
        centre = 1.0 - centre_shift if cls else centre_shift
        values[name] = float(np.clip(centre + rng.normal(0.0, spread), 0.0, 1.0))
    return values


def _smooth_noise(rng, shape, sigma_y: float, sigma_x: float) -> np.ndarray:
    """Zero-mean, unit-variance Gaussian noise smoothed anisotropically."""
    noise = rng.standard_normal(shape, dtype=np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), sigmaX=max(sigma_x, 0.3), sigmaY=max(sigma_y, 0.3))
    return noise / (noise.std() + 1e-6)


def _wavy_line(rng, n: int, base: float, amplitude: float) -> np.ndarray:
    """A smooth random curve y(x) across ``n`` columns (fractions of depth)."""
    knots = rng.normal(0.0, 1.0, 5)
    curve = np.interp(np.linspace(0, 4, n), np.arange(5), knots)
    curve = cv2.GaussianBlur(curve.reshape(1, -1).astype(np.float32), (0, 0), n / 12).ravel()
    return (base + amplitude * curve).astype(np.float32)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function without overflow warnings."""
    return (0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, np.float32)))).astype(np.float32)


def _soft_step(depth: np.ndarray, boundary: np.ndarray, width: float) -> np.ndarray:
    """0 above ``boundary`` (per column), 1 below, with a smooth transition."""
    return _sigmoid((depth - boundary[None, :]) / width)


def _tissue_map(rng, n: int) -> tuple[np.ndarray, dict]:
    """Echogenicity of the breast layers (0 = anechoic) on an ``n`` x ``n`` grid."""
    depth = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]
    skin = _wavy_line(rng, n, rng.uniform(0.03, 0.06), 0.006)
    fat_end = _wavy_line(rng, n, rng.uniform(0.18, 0.3), 0.03)
    gland_end = _wavy_line(rng, n, rng.uniform(0.68, 0.78), 0.03)
    muscle_end = _wavy_line(rng, n, rng.uniform(0.86, 0.95), 0.015)
    px = 1.0 / n

    lobules = _smooth_noise(rng, (n, n), 0.05 * n, 0.09 * n)
    fat = 0.30 + 0.07 * lobules
    gland_texture = _smooth_noise(rng, (n, n), 0.012 * n, 0.06 * n)
    gland = rng.uniform(0.55, 0.75) + 0.14 * gland_texture
    stripe_angle = rng.uniform(-0.25, 0.25)
    xx = np.linspace(0.0, 1.0, n, dtype=np.float32)[None, :]
    muscle = 0.40 + 0.12 * np.sin(2 * np.pi * (depth + stripe_angle * xx) * rng.uniform(14, 22))
    chest = np.full((n, n), 0.12, np.float32)

    tissue = np.full((n, n), 0.05, np.float32)  # coupling gel above the skin
    below_skin = _soft_step(depth, skin, 1.5 * px)
    tissue = tissue * (1 - below_skin) + fat * below_skin
    to_gland = _soft_step(depth, fat_end, 2 * px)
    tissue = tissue * (1 - to_gland) + gland * to_gland
    to_muscle = _soft_step(depth, gland_end, 2 * px)
    tissue = tissue * (1 - to_muscle) + muscle * to_muscle
    to_chest = _soft_step(depth, muscle_end, 2 * px)
    tissue = tissue * (1 - to_chest) + chest * to_chest
    # the skin line and the fascia over the muscle are bright specular lines
    tissue += 0.9 * np.exp(-(((depth - skin[None, :]) / (1.8 * px)) ** 2))
    tissue += 0.5 * np.exp(-(((depth - gland_end[None, :]) / (1.5 * px)) ** 2))
    # Cooper's ligaments: thin bright curves running obliquely through the fat
    for _ in range(int(rng.integers(2, 5))):
        x0 = rng.uniform(0, 1)
        slope = rng.uniform(-1.2, 1.2)
        curve = x0 + slope * (depth - 0.1) + 0.05 * np.sin(depth * rng.uniform(5, 10))
        line = np.exp(-(((xx - curve) / (1.2 * px)) ** 2))
        band = (depth > skin[None, :]) & (depth < fat_end[None, :] + 0.03)
        tissue += 0.35 * line * band
    layers = dict(skin=skin, fat_end=fat_end, gland_end=gland_end, muscle_end=muscle_end)
    return np.clip(tissue, 0.0, None).astype(np.float32), layers


def _lesion_mask(rng, n: int, centre, half_width: float, half_height: float, tilt: float,
                 shape: float, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """Soft mask (1 inside) of a lesion and its normalised radius field."""
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    dx, dy = xx - centre[0], yy - centre[1]
    c, s = np.cos(tilt), np.sin(tilt)
    u, v = c * dx + s * dy, -s * dx + c * dy
    rho = np.sqrt((u / half_width) ** 2 + (v / half_height) ** 2)
    theta = np.arctan2(v / half_height, u / half_width)
    bump = np.zeros_like(rho)
    # irregular shape: lobulation by low and middle harmonics
    for k in range(2, 8):
        bump += (0.13 * shape / k**0.5) * rng.normal() * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    # spiculated margin: narrow radial spikes
    n_spikes = int(round(max(margin - 0.35, 0.0) * 22 * rng.uniform(0.6, 1.2)))
    for _ in range(n_spikes):
        t0 = rng.uniform(-np.pi, np.pi)
        width = rng.uniform(0.04, 0.09)
        diff = np.angle(np.exp(1j * (theta - t0)))
        bump += rng.uniform(0.2, 0.55) * np.exp(-((diff / width) ** 2))
    rho_eff = rho / np.clip(1.0 + bump, 0.4, None)
    edge = 0.03 + 0.07 * margin  # circumscribed (sharp) -> indistinct (blurred)
    mask = _sigmoid((1.0 - rho_eff) / edge)
    return mask.astype(np.float32), rho_eff.astype(np.float32)


def _posterior_weight(mask: np.ndarray, centre_y: float, bottom: float, length: float) -> np.ndarray:
    """Where posterior features act: the columns under the lesion, fading with depth."""
    n = mask.shape[0]
    columns = cv2.GaussianBlur(mask.max(axis=0).reshape(1, -1), (0, 0), 1.5).ravel()
    depth = np.arange(n, dtype=np.float32)[:, None]
    start = _sigmoid((depth - centre_y) / 2.0)
    fade = np.exp(-np.clip(depth - bottom, 0, None) / length)
    return (columns[None, :] * start * fade).astype(np.float32)


def _speckle(rng, shape, sigma_axial: float, sigma_lateral: float) -> np.ndarray:
    """Fully developed speckle: envelope of a blurred complex Gaussian field (Rayleigh)."""
    re = rng.standard_normal(shape, dtype=np.float32)
    im = rng.standard_normal(shape, dtype=np.float32)
    re = cv2.GaussianBlur(re, (0, 0), sigmaX=sigma_lateral, sigmaY=sigma_axial)
    im = cv2.GaussianBlur(im, (0, 0), sigmaX=sigma_lateral, sigmaY=sigma_axial)
    envelope = np.sqrt(re * re + im * im)
    return envelope / np.sqrt(np.mean(envelope**2) + 1e-12)


def make_ultrasound_image(
    label: str,
    rng: np.random.Generator | int,
    *,
    size: int = 128,
    difficulty: float = 0.5,
    return_info: bool = False,
):
    """Generate one B-mode breast ultrasound image with a benign or malignant lesion.

    Parameters
    ----------
    label : str
        ``"benign"`` or ``"malignant"``.
    rng : numpy.random.Generator or int
        Source of randomness; an int is used as a seed.
    size : int, optional
        Side of the square image in pixels (default 128; loaders resize to 75).
    difficulty : float, optional
        In [0, 1]. 0 gives textbook lesions (benign: oval, circumscribed,
        parallel, posterior enhancement; malignant: irregular, spiculated,
        taller than wide, posterior shadowing). Larger values move the BI-RADS
        descriptors of the two classes towards each other, swap single
        descriptors to the other class's value more often and add
        distractors. Default 0.5.
    return_info : bool, optional
        Also return a dict with the lesion's descriptor values (0 benign-like,
        1 malignant-like), centre, half axes and the distractors drawn.

    Returns
    -------
    image : numpy.ndarray
        Grayscale ``uint8`` array of shape ``(size, size)``.
    info : dict
        Only when ``return_info`` is True.

    Raises
    ------
    DataError
        For an unknown label, a difficulty outside [0, 1] or a bad size.
    """
    label = _check_label(label)
    difficulty = _check_difficulty(difficulty)
    n = _check_us_size(size)
    rng = _as_rng(rng)
    malignant = label == "malignant"
    scale = n / 128.0

    tissue, layers = _tissue_map(rng, n)
    desc = _descriptor_values(rng, malignant, difficulty)

    # Size, position and contrast do not depend on the class.
    area_half = rng.uniform(11, 24) * scale  # geometric-mean half axis, pixels
    ratio = 0.5 + 0.85 * desc["orientation"]  # height / width: < 1 is parallel
    half_w = area_half / np.sqrt(ratio)
    half_h = area_half * np.sqrt(ratio)
    tilt = np.deg2rad(rng.normal(0, 6 + 22 * desc["orientation"]))
    cx = rng.uniform(0.3, 0.7) * n
    top = float(np.mean(layers["fat_end"])) * n + half_h * 0.6
    bottom = float(np.mean(layers["gland_end"])) * n - half_h * 0.9
    cy = rng.uniform(min(top, bottom), max(top, bottom))
    mask, rho = _lesion_mask(rng, n, (cx, cy), half_w, half_h, tilt, desc["shape"], desc["margin"])

    # Posterior features: enhancement (>0) for benign-like, shadowing (<0) otherwise.
    gain = 0.9 - 1.7 * desc["posterior"] + rng.normal(0, 0.08)
    length = rng.uniform(0.25, 0.5) * n
    post = _posterior_weight(mask, cy, cy + half_h, length)
    factor = np.clip(1.0 + gain * post * (1.0 - mask), 0.15, None)

    # Echogenic halo of malignant margins, inside echoes of the lesion.
    halo = np.exp(-(((rho - 1.15) / 0.12) ** 2)) * (1.0 - mask)
    tissue = tissue * (1.0 + 0.8 * max(desc["margin"] - 0.4, 0.0) * halo)
    level = rng.uniform(0.01, 0.10)
    hetero = _smooth_noise(rng, (n, n), 1.5 * scale, 1.5 * scale)
    inside = level * np.clip(1.0 + 0.45 * desc["echo"] * hetero, 0.2, None)
    # heterogeneous masses may hold echogenic foci (microcalcifications)
    for _ in range(int(rng.poisson(4.0 * max(desc["echo"] - 0.5, 0.0)))):
        ang, rad = rng.uniform(0, 2 * np.pi), rng.uniform(0, 0.6)
        fx = int(round(cx + rad * half_w * np.cos(ang)))
        fy = int(round(cy + rad * half_h * np.sin(ang)))
        if 0 <= fx < n and 0 <= fy < n:
            inside[fy, fx] += rng.uniform(0.4, 0.9)
    tissue = tissue * (1.0 - mask) + inside * mask
    tissue = tissue * factor

    distractors = []
    if rng.random() < 0.15 + 0.5 * difficulty:  # a small simple cyst elsewhere
        r = rng.uniform(3.5, 6.5) * scale
        dx = rng.choice([-1, 1]) * rng.uniform(half_w + 3 * r, half_w + 6 * r)
        ccx = float(np.clip(cx + dx, r, n - r))
        ccy = float(np.clip(cy + rng.normal(0, half_h), r, n - r))
        cyst, _ = _lesion_mask(rng, n, (ccx, ccy), r * 1.3, r, 0.0, 0.0, 0.0)
        tissue = tissue * (1 - cyst) + 0.03 * cyst
        tissue = tissue * (1.0 + 0.5 * _posterior_weight(cyst, ccy, ccy + r, 0.2 * n) * (1 - cyst))
        distractors.append("cyst")
    if rng.random() < 0.1 + 0.5 * difficulty:  # refraction / ligament shadow
        x0 = rng.uniform(0.05, 0.95) * n
        width = rng.uniform(1.5, 4.0) * scale
        xx = np.arange(n, dtype=np.float32)[None, :]
        yy = np.arange(n, dtype=np.float32)[:, None]
        start = rng.uniform(0.15, 0.45) * n
        shadow = np.exp(-(((xx - x0) / width) ** 2)) * _sigmoid((yy - start) / 2.0)
        tissue = tissue * (1.0 - rng.uniform(0.35, 0.7) * shadow)
        distractors.append("shadow")

    # Imaging chain: depth attenuation (imperfectly compensated), speckle, log compression.
    depth = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]
    attenuation = np.exp(-rng.uniform(0.4, 1.2) * depth) * (1 + rng.uniform(-0.15, 0.15) * depth)
    envelope = tissue * attenuation * _speckle(rng, (n, n), 0.8 * scale, 1.6 * scale)
    dynamic = rng.uniform(6, 12)
    image = np.log1p(dynamic * envelope) / np.log1p(dynamic * 1.6)
    gain_db = rng.uniform(0.85, 1.1)
    image = image * gain_db * 255.0
    image += rng.normal(0, 2.0, (n, n)).astype(np.float32)
    out = np.clip(image, 0, 255).astype(np.uint8)
    if return_info:
        info = dict(
            label=label,
            difficulty=difficulty,
            descriptors=desc,
            centre=(float(cx), float(cy)),
            half_axes=(float(half_w), float(half_h)),
            tilt_deg=float(np.rad2deg(tilt)),
            posterior_gain=float(gain),
            distractors=distractors,
        )
        return out, info
    return out


# ---------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------

RECORD_NAME = "synthetic.json"
"""Name of the JSON record written next to the synthetic data."""

GROUND_TRUTH_NAME = "ground_truth.json"
"""Name of the JSON file holding the cell frames' ground-truth boxes."""


def _write_png(path: Path, image: np.ndarray) -> None:
    ok, buffer = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - OpenCV failure
        raise DataError(f"{path}: OpenCV could not encode the image as PNG.")
    path.write_bytes(buffer.tobytes())


def _write_json(path: Path, data: dict, compact: bool = False) -> None:
    if compact:  # one entry per line: large but still diff- and grep-friendly
        lines = [f"  {json.dumps(k)}: {json.dumps(data[k], separators=(',', ':'))}" for k in sorted(data)]
        text = "{\n" + ",\n".join(lines) + "\n}"
    else:
        text = json.dumps(data, indent=2, sort_keys=True)
    path.write_text(text + "\n", encoding="utf-8")


def _record(generator: str, seed: int, parameters: dict, classes, counts: dict, layout: str) -> dict:
    from mstl_lib import __version__

    return {
        "generator": f"mstl_lib.synthetic.{generator}",
        "synthetic": True,
        "seed": seed,
        "parameters": parameters,
        "classes": list(classes),
        "counts": counts,
        "layout": layout,
        "mstl_lib_version": __version__,
        "imitates": (
            "Ayana et al., Diagnostics 2022, 12, 135: "
            + (
                "section 2.1, bright-field frames of HeLa, MCF-7 and NCI-H1299 cells"
                if generator == "write_cell_frames"
                else "section 2.2, breast ultrasound (Mendeley, MT-Small), BI-RADS descriptors"
            )
        ),
    }


def _progress(total: int, progress: bool, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not progress, desc=desc, unit="img")


def cell_frame_name(cell_line: str, number: int) -> str:
    """File name of frame ``number`` (from 1) of a cell line, e.g. ``hela_0001.png``."""
    return f"{_check_cell_line(cell_line)}_{int(number):04d}.png"


def ultrasound_name(label: str, number: int) -> str:
    """BUSI-style file name of image ``number`` (from 1), e.g. ``benign (1).png``."""
    return f"{_check_label(label)} ({int(number)}).png"


def write_cell_frames(
    out_dir,
    frames_per_class: int,
    *,
    seed: int = 0,
    size: tuple[int, int] = CELL_FRAME_SIZE,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Write synthetic microscopy frames of the three cell lines to disk.

    Layout: ``out_dir/<cell_line>/<cell_line>_<NNNN>.png`` (numbered from
    0001), plus ``synthetic.json`` (the record of how the data were made) and
    ``ground_truth.json`` (``{"hela/hela_0001.png": [[x, y, w, h], ...], ...}``).
    Frame ``k`` of a line depends only on ``(seed, line, k)``.

    Parameters
    ----------
    out_dir : path-like
        Folder to create; it must not hold files unless ``overwrite``.
    frames_per_class : int
        Frames per cell line (positive).
    seed : int, optional
        Non-negative seed; default 0.
    size : tuple of int, optional
        ``(height, width)`` of each frame; default 904 x 1224.
    overwrite : bool, optional
        Replace the contents of a non-empty ``out_dir`` (default False: refuse).
    progress : bool, optional
        Show a progress bar over images (default True).

    Returns
    -------
    pathlib.Path
        ``out_dir``.

    Raises
    ------
    DataError
        For a non-positive count, a bad seed or size.
    OutputExistsError
        If ``out_dir`` holds files and ``overwrite`` is False.
    """
    count = _check_count(frames_per_class, "frames_per_class")
    seed = _check_seed(seed)
    size = _check_frame_size(size)
    out = prepare_output_dir(out_dir, overwrite=overwrite)
    truth: dict[str, list[list[int]]] = {}
    with _progress(count * len(CELL_LINES), progress, "cell frames") as bar:
        for class_index, line in enumerate(CELL_LINES):
            folder = out / line
            folder.mkdir()
            for index in range(count):
                rng = _image_rng(seed, _KIND_CELLS, class_index, index)
                frame, boxes = make_cell_frame(line, rng, size=size)
                name = cell_frame_name(line, index + 1)
                _write_png(folder / name, frame)
                truth[f"{line}/{name}"] = [list(b) for b in boxes]
                bar.update(1)
    record = _record(
        "write_cell_frames",
        seed,
        {"frames_per_class": count, "size": list(size)},
        CELL_LINES,
        {line: count for line in CELL_LINES},
        "<cell_line>/<cell_line>_<NNNN>.png",
    )
    _write_json(out / RECORD_NAME, record)
    _write_json(out / GROUND_TRUTH_NAME, truth, compact=True)
    return out


def write_ultrasound_set(
    out_dir,
    per_class: int,
    *,
    seed: int = 0,
    size: int = 128,
    difficulty: float = 0.5,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Write a synthetic benign/malignant ultrasound set in the BUSI layout.

    Layout: ``out_dir/benign/benign (1).png``, ...,
    ``out_dir/malignant/malignant (1).png``, ... (numbered from 1), plus
    ``synthetic.json``. Image ``k`` of a class depends only on
    ``(seed, class, k)`` (and ``size``, ``difficulty``).

    Parameters
    ----------
    out_dir : path-like
        Folder to create; it must not hold files unless ``overwrite``.
    per_class : int
        Images per class (positive).
    seed : int, optional
        Non-negative seed; default 0.
    size : int, optional
        Side of the square images (default 128).
    difficulty : float, optional
        In [0, 1]; see :func:`make_ultrasound_image` (default 0.5).
    overwrite : bool, optional
        Replace the contents of a non-empty ``out_dir`` (default False: refuse).
    progress : bool, optional
        Show a progress bar over images (default True).

    Returns
    -------
    pathlib.Path
        ``out_dir``.

    Raises
    ------
    DataError
        For a non-positive count, a bad seed, size or difficulty.
    OutputExistsError
        If ``out_dir`` holds files and ``overwrite`` is False.
    """
    count = _check_count(per_class, "per_class")
    seed = _check_seed(seed)
    size = _check_us_size(size)
    difficulty = _check_difficulty(difficulty)
    out = prepare_output_dir(out_dir, overwrite=overwrite)
    with _progress(count * len(ULTRASOUND_CLASSES), progress, "ultrasound") as bar:
        for class_index, label in enumerate(ULTRASOUND_CLASSES):
            folder = out / label
            folder.mkdir()
            for index in range(count):
                rng = _image_rng(seed, _KIND_ULTRASOUND, class_index, index)
                image = make_ultrasound_image(label, rng, size=size, difficulty=difficulty)
                _write_png(folder / ultrasound_name(label, index + 1), image)
                bar.update(1)
    record = _record(
        "write_ultrasound_set",
        seed,
        {"per_class": count, "size": size, "difficulty": difficulty},
        ULTRASOUND_CLASSES,
        {label: count for label in ULTRASOUND_CLASSES},
        "<class>/<class> (<N>).png",
    )
    _write_json(out / RECORD_NAME, record)
    return out


def write_synthetic(
    out_dir,
    profile="smoke",
    *,
    seed: int = 0,
    overwrite: bool = False,
    progress: bool = True,
    difficulty: float = 0.5,
) -> dict:
    """Write both synthetic datasets with the sizes of a run profile.

    Writes ``out_dir/cells/`` (:func:`write_cell_frames`, the profile's
    ``cell_frames_per_class``) and ``out_dir/ultrasound/``
    (:func:`write_ultrasound_set`, the profile's ``ultrasound_per_class``).
    Both sub-folders are checked before anything is written, so a refusal
    leaves the disk unchanged.

    Parameters
    ----------
    out_dir : path-like
        Parent folder; created if needed.
    profile : str or Profile, optional
        ``"smoke"`` (default), ``"lab"`` or ``"paper"``.
    seed : int, optional
        Non-negative seed for both sets; default 0.
    overwrite : bool, optional
        Replace existing ``cells/`` and ``ultrasound/`` folders (default
        False: refuse if either holds files).
    progress : bool, optional
        Show progress bars (default True).
    difficulty : float, optional
        Ultrasound difficulty in [0, 1] (default 0.5).

    Returns
    -------
    dict
        ``{"cells": Path, "ultrasound": Path}``.

    Raises
    ------
    DataError
        For an unknown profile, a bad seed or difficulty.
    OutputExistsError
        If ``cells/`` or ``ultrasound/`` holds files and ``overwrite`` is False.
    """
    from mstl_lib.errors import OutputExistsError
    from mstl_lib.profiles import get_profile

    prof = get_profile(profile)
    seed = _check_seed(seed)
    difficulty = _check_difficulty(difficulty)
    root = Path(out_dir)
    paths = {"cells": root / "cells", "ultrasound": root / "ultrasound"}
    if not overwrite:
        for path in paths.values():
            if path.exists() and (not path.is_dir() or any(path.iterdir())):
                raise OutputExistsError(path)
    write_cell_frames(
        paths["cells"], prof.cell_frames_per_class, seed=seed, overwrite=overwrite, progress=progress
    )
    write_ultrasound_set(
        paths["ultrasound"],
        prof.ultrasound_per_class,
        seed=seed,
        difficulty=difficulty,
        overwrite=overwrite,
        progress=progress,
    )
    return paths

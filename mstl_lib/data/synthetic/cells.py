"""Synthetic bright-field frames of three cancer cell lines (paper section 2.1); see the package docstring."""

from __future__ import annotations

import cv2
import numpy as np

from mstl_lib.data.synthetic._common import (
    CELL_FRAME_SIZE,
    DEBRIS_LABEL,
    _BoxTuple,
    check_cell_line,
    check_frame_size,
)
from mstl_lib.validation import as_rng

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
            ok = all(np.linalg.norm(c - cc) >= 0.78 * (r + rr) for cc, rr in zip(centres, radii[: len(centres)]))
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
                nucleus=(
                    c + rng.normal(0, r * 0.08, 2),
                    (nucleus_r * rng.uniform(1.0, 1.15), nucleus_r),
                    rng.uniform(0, 180),
                ),
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
            outlines.append(
                _process(rng, base, np.array([end, rng.normal(0, 0.2)]), rng.uniform(10, 28), rng.uniform(4, 7))
            )
    if rng.random() < 0.15:  # an occasional tripolar cell
        base = np.array([rng.uniform(-0.2, 0.2) * length, 0.0])
        outlines.append(
            _process(
                rng, base, np.array([rng.normal(0, 0.5), rng.choice([-1, 1])]), rng.uniform(15, 30), rng.uniform(6, 10)
            )
        )
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
_SHIFT = 4  # sub-pixel precision (bits) of cv2 drawing
_SCALE = 1 << _SHIFT


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
    shape = (int(hi[1] - lo[1]) + 1, int(hi[0] - lo[0]) + 1)
    owns, union = _footprints(cells, lo, shape)
    membrane, inside, halo, relief = _optics(owns, union, relief_dir)
    texture = rng.standard_normal(shape, dtype=np.float32)
    texture = cv2.GaussianBlur(texture, (0, 0), 1.4) * 2.2
    cyto, tex_amp, nuclei, granules = _interiors(rng, cells, owns, lo, shape)
    delta = (
        style["halo"] * halo
        - style["membrane"] * membrane
        + style["relief"] * relief
        + inside * (cyto + tex_amp * texture)
        + inside * (nuclei + granules)
    )
    return delta.astype(np.float32), union, lo


def _footprints(cells: list[dict], lo: np.ndarray, shape) -> tuple[list[np.ndarray], np.ndarray]:
    """Each cell's footprint (boolean) in the patch, and their union (uint8)."""
    owns = []
    for cell in cells:
        own = np.zeros(shape, np.uint8)
        for outline in cell["outlines"]:
            p = np.round((outline - lo) * _SCALE).astype(np.int32)
            cv2.fillPoly(own, [p], 1, lineType=cv2.LINE_AA, shift=_SHIFT)
        owns.append(own > 0)
    union = np.any(owns, axis=0).astype(np.uint8)
    if len(cells) > 1:
        # Cells of a cluster press against each other: split the union between
        # them by (radius-weighted) distance to their centres, so neighbours
        # share one membrane instead of overlapping.
        yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
        dist = np.full((len(cells), *shape), np.inf, np.float32)
        for i, cell in enumerate(cells):
            cx, cy = cell["centre"] - lo
            d = np.hypot(xx - cx, yy - cy) / cell["radius"]
            dist[i][owns[i]] = d[owns[i]]
        nearest = np.argmin(dist, axis=0)
        owns = [(nearest == i) & (union > 0) for i in range(len(cells))]
    return owns, union


def _optics(owns: list[np.ndarray], union: np.ndarray, relief_dir: np.ndarray):
    """The membrane line of every cell, the soft inside, the halo and the relief edge of the object."""
    membrane = np.zeros(union.shape, np.float32)
    for own in owns:
        soft = cv2.GaussianBlur(own.astype(np.float32), (0, 0), 0.9)
        membrane = np.maximum(membrane, 4.0 * soft * (1.0 - soft))
    inside = cv2.GaussianBlur(union.astype(np.float32), (0, 0), 1.0)
    wide = cv2.GaussianBlur(union.astype(np.float32), (0, 0), 3.5)
    halo = np.clip(wide - inside, 0, None)
    gx = cv2.Sobel(inside, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(inside, cv2.CV_32F, 0, 1, ksize=3)
    relief = relief_dir[0] * gx + relief_dir[1] * gy
    return membrane, inside, halo, relief


def _interiors(rng, cells: list[dict], owns: list[np.ndarray], lo: np.ndarray, shape):
    """Cytoplasm level, texture amplitude, nuclei (with nucleoli) and granules of every cell."""
    cyto = np.zeros(shape, np.float32)
    tex_amp = np.zeros(shape, np.float32)
    nuclei = np.zeros(shape, np.float32)
    granules = np.zeros(shape, np.float32)
    for cell, own in zip(cells, owns):
        cyto[own] = cell["cyto"]
        tex_amp[own] = cell["texture"]
        _draw_nucleus(rng, nuclei, cell, lo)
        _draw_granules(rng, granules, cell, own, lo)
    return cyto, tex_amp, nuclei, cv2.GaussianBlur(granules, (0, 0), 0.7)


def _draw_nucleus(rng, nuclei: np.ndarray, cell: dict, lo: np.ndarray) -> None:
    """Add a cell's nucleus (dark, with a bright rim) and its 1-3 nucleoli to ``nuclei``."""
    (cx, cy), (ax, ay), ang = cell["nucleus"]
    centre = (int(round((cx - lo[0]) * _SCALE)), int(round((cy - lo[1]) * _SCALE)))
    axes = (int(round(ax * _SCALE)), int(round(ay * _SCALE)))
    nuc = np.zeros(nuclei.shape, np.float32)
    cv2.ellipse(nuc, centre, axes, float(ang), 0, 360, 1.0, -1, cv2.LINE_AA, _SHIFT)
    nuc_soft = cv2.GaussianBlur(nuc, (0, 0), 1.2)
    rim = 4.0 * nuc_soft * (1.0 - nuc_soft)
    nuclei += -12.0 * nuc_soft + 12.0 * rim
    for _ in range(int(rng.integers(1, 4))):
        off = rng.normal(0, 0.35, 2) * np.array([ax, ay]) * 0.8
        centre = (int(round(cx - lo[0] + off[0])), int(round(cy - lo[1] + off[1])))
        cv2.circle(nuclei, centre, int(rng.integers(2, 4)), -14.0, -1, cv2.LINE_AA)


def _draw_granules(rng, granules: np.ndarray, cell: dict, own: np.ndarray, lo: np.ndarray) -> None:
    """Draw a cell's dark granules, around the nucleus or along a spindle's axis, inside the cell."""
    n_gran = cell["granules"]
    if not n_gran:
        return
    (cx, cy), (ax, ay), _ = cell["nucleus"]
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
    h, w = granules.shape
    for ox, oy in offs:
        gx, gy = int(round(cx - lo[0] + ox)), int(round(cy - lo[1] + oy))
        if 0 <= gx < w and 0 <= gy < h and own[gy, gx]:
            cv2.circle(granules, (gx, gy), int(rng.integers(1, 3)), float(rng.uniform(-40, -20)), -1)


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
    line = check_cell_line(cell_line)
    h, w = check_frame_size(size)
    rng = as_rng(rng)
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

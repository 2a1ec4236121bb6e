"""Synthetic B-mode breast ultrasound, benign vs malignant (paper section 2.1); see the package docstring.

Calibration
-----------
The class signal lives in the lesion's BI-RADS descriptors (shape, margin,
orientation, posterior features, echo pattern); everything else varies
independently of the class, as it does between real scans: lesion size
(log-uniform, half axes of about 5-25% of the image), lateral position,
depth of the fat, gland and muscle layers, attenuation, a hand-set
time-gain-compensation curve, overall gain, speckle grain and the number of
compounded looks (1-3). A learner that finds the lesion wherever it is (a
convolutional network with global pooling) gains over one tied to a fixed
grid (:mod:`mstl_lib.training.baseline`, HOG + LBP + logistic regression).

At the lab profile (100 + 100 images of 128 px, read at 75 x 75) the
baseline's mean 5-fold test AUC, averaged over seeds 0-2, is about 0.94,
0.91, 0.77, 0.58 and 0.51 at ``difficulty`` 0, 0.25, 0.5, 0.75 and 1; on 41
real BUSI images (Al-Dhabyani et al. 2020) the same recipe gives about 0.75
(3-fold, noisy), and on the full BUSI about 0.78.
"""

from __future__ import annotations

import cv2
import numpy as np

from mstl_lib.data.synthetic._common import MIN_ULTRASOUND_SIZE, check_difficulty, check_label
from mstl_lib.validation import as_rng, check_integer

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

    ``difficulty`` moves the class centres towards 0.5 (by ``0.45 * d**2``),
    widens their spread (``0.05 + 0.2 * d**1.25``) and, with probability
    ``0.35 * d**2`` per descriptor, swaps in a value typical of the other
    class. The powers keep the ends of the scale where they were (0: textbook,
    1: centres 0.05 apart, a third of the descriptors contradicting the
    label) and leave few contradicting descriptors at the default 0.5, where
    real lesions, too, mostly show the descriptors of their class.
    """
    centre_shift = 0.45 * difficulty**2
    spread = 0.05 + 0.2 * difficulty**1.25
    flip = 0.35 * difficulty**2
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
    fat_end = _wavy_line(rng, n, rng.uniform(0.12, 0.34), 0.03)
    gland_end = _wavy_line(rng, n, rng.uniform(0.66, 0.82), 0.03)
    muscle_end = _wavy_line(rng, n, rng.uniform(0.86, 0.96), 0.015)
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


def _lesion_mask(
    rng, n: int, centre, half_width: float, half_height: float, tilt: float, shape: float, margin: float
) -> tuple[np.ndarray, np.ndarray]:
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


def _speckle(rng, shape, sigma_axial: float, sigma_lateral: float, looks: int = 1) -> np.ndarray:
    """Fully developed speckle: envelope of a blurred complex Gaussian field (Rayleigh).

    ``looks`` > 1 averages the envelopes of independent fields, as spatial
    compounding does on a scanner (speckle contrast falls as ``1/sqrt(looks)``;
    Entrekin et al., "Real-time spatial compound imaging", Semin. Ultrasound
    CT MRI 22, 2001).
    """
    envelope = np.zeros(shape, np.float32)
    for _ in range(looks):
        re = rng.standard_normal(shape, dtype=np.float32)
        im = rng.standard_normal(shape, dtype=np.float32)
        re = cv2.GaussianBlur(re, (0, 0), sigmaX=sigma_lateral, sigmaY=sigma_axial)
        im = cv2.GaussianBlur(im, (0, 0), sigmaX=sigma_lateral, sigmaY=sigma_axial)
        envelope += np.sqrt(re * re + im * im)
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
        descriptors of the two classes towards each other, widen their
        spread, swap single descriptors to the other class's value more often
        (all three grow faster than linearly, see ``_descriptor_values``) and
        add distractors. Default 0.5, calibrated so that the HOG + LBP
        baseline scores about as on real BUSI (see the module docstring).
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
    label = check_label(label)
    difficulty = check_difficulty(difficulty)
    n = check_integer(size, "size", minimum=MIN_ULTRASOUND_SIZE)
    rng = as_rng(rng)
    scale = n / 128.0
    tissue, layers = _tissue_map(rng, n)
    desc = _descriptor_values(rng, label == "malignant", difficulty)
    lesion = _lesion_geometry(rng, n, scale, desc, layers)
    cx, cy, half_w, half_h = lesion["cx"], lesion["cy"], lesion["half_w"], lesion["half_h"]
    mask, rho = _lesion_mask(rng, n, (cx, cy), half_w, half_h, lesion["tilt"], desc["shape"], desc["margin"])
    # Posterior features: enhancement (>0) for benign-like, shadowing (<0) otherwise.
    gain = 0.9 - 2.0 * desc["posterior"] + rng.normal(0, 0.08)
    length = rng.uniform(0.25, 0.5) * n
    post = _posterior_weight(mask, cy, cy + half_h, length)
    factor = np.clip(1.0 + gain * post * (1.0 - mask), 0.15, None)
    tissue = _with_lesion_echoes(rng, tissue, mask, rho, desc, lesion, scale) * factor
    tissue, distractors = _with_distractors(rng, tissue, difficulty, lesion, scale)
    out = _imaging_chain(rng, tissue, scale)
    if not return_info:
        return out
    info = dict(
        label=label,
        difficulty=difficulty,
        descriptors=desc,
        centre=(float(cx), float(cy)),
        half_axes=(float(half_w), float(half_h)),
        tilt_deg=float(np.rad2deg(lesion["tilt"])),
        posterior_gain=float(gain),
        distractors=distractors,
    )
    return out, info


def _lesion_geometry(rng, n: int, scale: float, desc: dict, layers: dict) -> dict:
    """Centre, half axes and tilt of the lesion, in the gland layer.

    Size and position do not depend on the class; the aspect ratio and the
    tilt follow the orientation descriptor (parallel: wider than tall).
    """
    # log-uniform, as real lesions range from a few millimetres to several centimetres
    area_half = float(np.exp(rng.uniform(np.log(7.0), np.log(34.0)))) * scale  # geometric-mean half axis
    ratio = 0.5 + 0.85 * desc["orientation"]  # height / width: < 1 is parallel
    half_w = area_half / np.sqrt(ratio)
    half_h = area_half * np.sqrt(ratio)
    tilt = np.deg2rad(rng.normal(0, 6 + 22 * desc["orientation"]))
    cx = rng.uniform(0.2, 0.8) * n
    top = float(np.mean(layers["fat_end"])) * n + half_h * 0.6
    bottom = float(np.mean(layers["gland_end"])) * n - half_h * 0.9
    cy = rng.uniform(min(top, bottom), max(top, bottom))
    return dict(cx=cx, cy=cy, half_w=half_w, half_h=half_h, tilt=tilt)


def _with_lesion_echoes(rng, tissue, mask, rho, desc: dict, lesion: dict, scale: float) -> np.ndarray:
    """The tissue with the lesion's inside echoes and the echogenic halo of malignant margins."""
    n = tissue.shape[0]
    halo = np.exp(-(((rho - 1.15) / 0.12) ** 2)) * (1.0 - mask)
    tissue = tissue * (1.0 + 0.8 * max(desc["margin"] - 0.4, 0.0) * halo)
    level = rng.uniform(0.01, 0.06)
    hetero = _smooth_noise(rng, (n, n), 1.5 * scale, 1.5 * scale)
    inside = level * np.clip(1.0 + 0.45 * desc["echo"] * hetero, 0.2, None)
    # heterogeneous masses may hold echogenic foci (microcalcifications)
    for _ in range(int(rng.poisson(4.0 * max(desc["echo"] - 0.5, 0.0)))):
        ang, rad = rng.uniform(0, 2 * np.pi), rng.uniform(0, 0.6)
        fx = int(round(lesion["cx"] + rad * lesion["half_w"] * np.cos(ang)))
        fy = int(round(lesion["cy"] + rad * lesion["half_h"] * np.sin(ang)))
        if 0 <= fx < n and 0 <= fy < n:
            inside[fy, fx] += rng.uniform(0.4, 0.9)
    return tissue * (1.0 - mask) + inside * mask


def _with_distractors(rng, tissue, difficulty: float, lesion: dict, scale: float) -> tuple[np.ndarray, list[str]]:
    """Maybe a small simple cyst beside the lesion and a refraction (ligament) shadow; more often when harder."""
    n = tissue.shape[0]
    cx, cy, half_w, half_h = (lesion[k] for k in ("cx", "cy", "half_w", "half_h"))
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
    return tissue, distractors


def _imaging_chain(rng, tissue: np.ndarray, scale: float) -> np.ndarray:
    """Depth attenuation (imperfectly compensated), speckle and log compression: the ``uint8`` B-mode image."""
    n = tissue.shape[0]
    depth = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]
    attenuation = np.exp(-rng.uniform(0.4, 1.2) * depth) * (1 + rng.uniform(-0.15, 0.15) * depth)
    # time-gain compensation set by hand: a smooth random gain curve over depth
    tgc = np.exp(0.25 * _wavy_line(rng, n, 0.0, 1.0)).reshape(-1, 1)
    grain = rng.uniform(0.7, 1.2) * scale
    looks = int(rng.integers(1, 4))
    envelope = tissue * attenuation * tgc * _speckle(rng, (n, n), 0.8 * grain, 1.6 * grain, looks)
    dynamic = rng.uniform(6, 12)
    image = np.log1p(dynamic * envelope) / np.log1p(dynamic * 1.6)
    gain_db = rng.uniform(0.75, 1.15)
    image = image * gain_db * 255.0
    image += rng.normal(0, 2.0, (n, n)).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)

"""Formula-driven pretraining images: fractals of random iterated function systems.

An offline stand-in for ImageNet pretraining, after Kataoka et al., "Pre-training
without Natural Images" (ACCV 2020, FractalDB). A category is one iterated
function system (IFS) of 2 to 8 affine maps ``(x, y) -> (a x + b y + e, c x + d y + f)``,
parameters uniform in [-1, 1], chosen with probability proportional to ``|a d - b c|``,
kept only if its attractor covers enough of the canvas (FractalDB's *filling
rate*), so that no category is a point or a line. Unlike FractalDB, every map
must also be a contraction (largest singular value < 1), the condition for a
bounded attractor (Hutchinson, 1981); without it the coarse filling grid used
here admits diffuse clouds. Images of a category vary as in FractalDB (one
parameter of one map times a weight near 1, a random flip) plus a small rotation
and a random colour or gray level, on a plain black background. Category ``k``
depends on ``(seed, k)`` only and its image ``i`` on ``(seed, k, i)`` only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mstl_lib.errors import DataError
from mstl_lib.profiles import INPUT_SIZE
from mstl_lib.validation import as_rng, check_integer, check_number, check_seed

KIND_FRACTALS = 2  # keeps these random streams apart from cells (0) and ultrasound (1)
_FILL_GRID = 32  # cells per side of the grid on which the filling rate is measured
_FILL_POINTS = 8192  # chaos-game points used to measure it
_MAX_DRAWS = 1000  # random systems tried per category before giving up
_BURN_IN = 12  # chaos-game steps discarded before points are recorded
_STEPS = 16  # recorded steps per walker; walkers = n_points / _STEPS
_MAX_MAPS = 8
_MIN_SIZE = 16  # smallest image side in pixels
_WEIGHTS = (0.8, 0.9, 1.0, 1.1, 1.2)  # factors of the perturbed parameter (FractalDB's intra-category variation)
_MAX_ROTATION = 15.0  # largest rotation in degrees


@dataclass(frozen=True, eq=False)
class IFSystem:
    """One fractal category: an iterated function system.

    Attributes
    ----------
    maps : numpy.ndarray
        ``(n, 6)`` rows ``(a, b, c, d, e, f)``: ``(x, y) -> (a x + b y + e, c x + d y + f)``.
    probabilities : numpy.ndarray
        ``(n,)`` probabilities of the maps, proportional to ``|a d - b c|``.
    filling_rate : float
        Fraction of a 32 x 32 grid that the attractor covers (see :func:`filling_rate`).
    """

    maps: np.ndarray
    probabilities: np.ndarray
    filling_rate: float


def _probabilities(maps: np.ndarray) -> np.ndarray:
    det = np.abs(maps[:, 0] * maps[:, 3] - maps[:, 1] * maps[:, 2])
    total = det.sum()
    return det / total if total > 0 else np.full(len(maps), 1.0 / len(maps))


def _spectral_norm(maps: np.ndarray) -> np.ndarray:
    """Largest singular value of the linear part of every map (closed form for 2 x 2)."""
    a, b, c, d = maps[:, 0], maps[:, 1], maps[:, 2], maps[:, 3]
    s = a * a + b * b + c * c + d * d
    det = a * d - b * c
    return np.sqrt((s + np.sqrt(np.maximum(s * s - 4 * det * det, 0.0))) / 2)


def _random_maps(rng, n: int) -> np.ndarray:
    """``n`` maps, parameters uniform in [-1, 1], conditioned on each being a contraction."""
    kept = np.empty((0, 6))
    while len(kept) < n:
        draw = rng.uniform(-1.0, 1.0, (4 * n, 6))
        kept = np.concatenate([kept, draw[_spectral_norm(draw) < 1.0]])
    return kept[:n]


def _chaos_game(maps: np.ndarray, probabilities: np.ndarray, n_points: int, rng) -> np.ndarray:
    """``(2, m)`` points (x row, y row), ``m >= n_points``, of the attractor of contractive ``maps``.

    Independent walkers run in parallel, each starting on the attractor (at the
    fixed point of one map); their first steps are discarded to decorrelate them.
    """
    walkers = -(-n_points // _STEPS)
    uniform = rng.random((_BURN_IN + _STEPS, walkers))
    choice = np.zeros(uniform.shape, np.intp)
    for threshold in np.cumsum(probabilities[:-1]) / probabilities.sum():
        choice += uniform >= threshold
    a, b, c, d, e, f = maps.T
    det = (1 - a) * (1 - d) - b * c  # non-zero for a contraction
    x = (((1 - d) * e + b * f) / det)[choice[0]]
    y = ((c * e + (1 - a) * f) / det)[choice[0]]
    out = np.empty((2, _STEPS, walkers))
    for step, k in enumerate(choice):
        x, y = a[k] * x + b[k] * y + e[k], c[k] * x + d[k] * y + f[k]
        if step >= _BURN_IN:
            out[0, step - _BURN_IN], out[1, step - _BURN_IN] = x, y
    return out.reshape(2, -1)


def _to_canvas(points: np.ndarray, size: int, margin: int) -> np.ndarray:
    """Flat pixel indices ``y * size + x`` of ``(2, m)`` points, centred, longer side ``size - 2 margin``.

    The box spans the 0.2 to 99.8 percentiles (of the first 4096 points, for
    speed), so that a few rare far points do not set the scale; points outside
    it are dropped.
    """
    lo, hi = np.quantile(points[:, :4096], [0.002, 0.998], axis=1)
    scale = (size - 1 - 2 * margin) / max(float(np.max(hi - lo)), 1e-12)
    pixels = np.rint((points - ((lo + hi) / 2)[:, None]) * scale + (size - 1) / 2).astype(np.intp)
    inside = np.all((pixels >= margin) & (pixels <= size - 1 - margin), axis=0)
    return pixels[1, inside] * size + pixels[0, inside]


def filling_rate(system: IFSystem, *, rng: np.random.Generator | int = 0) -> float:
    """Fraction of the cells of a 32 x 32 grid covered by the system's attractor.

    FractalDB's *filling rate* (Kataoka et al., ACCV 2020). The attractor is
    scaled, aspect ratio kept, to span the grid along its longer side: a line
    scores about 1/32, a filled square 1. ``rng`` (Generator or int seed)
    drives the chaos game of 8192 points.
    """
    maps, probabilities = _check_system(system)
    return _filling_rate(maps, probabilities, as_rng(rng))


def _filling_rate(maps: np.ndarray, probabilities: np.ndarray, rng: np.random.Generator) -> float:
    pixels = _to_canvas(_chaos_game(maps, probabilities, _FILL_POINTS, rng), _FILL_GRID, 0)
    return float(np.count_nonzero(np.bincount(pixels, minlength=_FILL_GRID**2))) / _FILL_GRID**2


def _check_system(system) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(system, IFSystem):
        raise DataError(f"system must be an IFSystem from fractal_categories(), got {type(system).__name__}.")
    maps = np.asarray(system.maps, dtype=float)
    probabilities = np.asarray(system.probabilities, dtype=float)
    if maps.ndim != 2 or maps.shape[1] != 6 or probabilities.shape != (len(maps),) or len(maps) == 0:
        raise DataError(
            f"system.maps must have shape (n, 6) and system.probabilities shape (n,), got "
            f"{maps.shape} and {probabilities.shape}; build systems with fractal_categories()."
        )
    if not (np.all(np.isfinite(maps)) and np.all(_spectral_norm(maps) < 1.0)):
        raise DataError(
            "every map of the system must be a finite contraction (largest singular value < 1), "
            f"got maps {maps.tolist()}; build systems with fractal_categories()."
        )
    if not (np.all(probabilities >= 0) and probabilities.sum() > 0):
        raise DataError(f"system.probabilities must be >= 0 with a positive sum, got {probabilities.tolist()}.")
    return maps, probabilities


def _check_n_maps(n_maps) -> tuple[int, int]:
    try:
        low, high = (int(v) for v in n_maps)
    except (TypeError, ValueError):
        raise DataError(f"n_maps must be a pair (low, high) of integers, got {n_maps!r}.") from None
    if not 2 <= low <= high <= _MAX_MAPS:
        raise DataError(f"n_maps must satisfy 2 <= low <= high <= {_MAX_MAPS}, got {n_maps!r}.")
    return low, high


def fractal_categories(
    n_categories: int, seed: int = 0, *, n_maps: tuple[int, int] = (2, 4), filling_threshold: float = 0.2
) -> list[IFSystem]:
    """Draw ``n_categories`` random iterated function systems, one per category.

    Follows FractalDB (Kataoka et al., "Pre-training without Natural Images",
    ACCV 2020): each system has between ``n_maps[0]`` and ``n_maps[1]``
    affine maps with all six parameters uniform in [-1, 1], map probabilities
    proportional to the absolute determinant, and is redrawn until its
    filling rate (see :func:`filling_rate`) reaches ``filling_threshold``.

    Parameters
    ----------
    n_categories : int
        Number of categories (systems).
    seed : int, optional
        Category ``k`` depends on ``(seed, k)`` only (the first ``k`` of ``n`` are those of ``k``).
    n_maps : tuple of int, optional
        Smallest and largest number of maps, within [2, 8].
    filling_threshold : float, optional
        Smallest accepted filling rate, in [0, 0.9].

    Returns
    -------
    list of IFSystem

    Raises
    ------
    DataError
        For a bad argument, or when no system reaches the threshold after 1000 draws.
    """
    n_categories = check_integer(n_categories, "n_categories", minimum=1)
    seed = check_seed(seed)
    low, high = _check_n_maps(n_maps)
    threshold = check_number(filling_threshold, "filling_threshold", minimum=0, maximum=0.9)
    systems = []
    for k in range(n_categories):
        rng = np.random.default_rng([seed, KIND_FRACTALS, 0, k])
        for _ in range(_MAX_DRAWS):
            maps = _random_maps(rng, int(rng.integers(low, high + 1)))
            probabilities = _probabilities(maps)
            rate = _filling_rate(maps, probabilities, rng)
            if rate >= threshold and rate > 0:
                systems.append(IFSystem(maps, probabilities, rate))
                break
        else:
            raise DataError(
                f"no system reached filling_threshold={threshold} in {_MAX_DRAWS} draws; "
                "lower filling_threshold (0.2 is usual)."
            )
    return systems


def _colour(rng) -> np.ndarray:
    """A random foreground colour: a gray level or a saturated-enough RGB, brightest channel 180-255."""
    if rng.random() < 0.3:
        rgb = np.ones(3)
    else:
        rgb = rng.uniform(0.15, 1.0, 3)
        rgb /= rgb.max()
    return rgb * rng.uniform(180, 255)


def render_fractal(
    system: IFSystem,
    *,
    size: int = INPUT_SIZE,
    rng: np.random.Generator | int = 0,
    n_points: int | None = None,
    weights=_WEIGHTS,
    max_rotation: float = _MAX_ROTATION,
) -> np.ndarray:
    """Draw one image of a fractal category by the chaos game.

    Intra-category variation follows FractalDB (Kataoka et al., ACCV 2020):
    one parameter of one map is multiplied by a weight drawn from ``weights``
    and the attractor flipped at random (none, left-right, up-down, both); it
    is also rotated by up to ``max_rotation`` degrees, centred, scaled to the
    canvas and drawn in a random colour or gray level, brighter where points
    are denser, on a plain black background (a 2-pixel border stays black).

    Parameters
    ----------
    system : IFSystem
        A category from :func:`fractal_categories`.
    size : int, optional
        Side of the square image, at least 16.
    rng : numpy.random.Generator or int, optional
        Source of randomness; an int is used as a seed.
    n_points : int, optional
        Chaos-game points; default ``4 * size**2`` (at least 4096).
    weights : sequence of float, optional
        Factors for the perturbed parameter; ``(1.0,)`` turns this off.
    max_rotation : float, optional
        Largest rotation in degrees, in [0, 180].

    Returns
    -------
    numpy.ndarray
        ``uint8`` array of shape ``(size, size, 3)``.

    Raises
    ------
    DataError
        For a bad argument.
    """
    maps, _ = _check_system(system)
    size = check_integer(size, "size", minimum=_MIN_SIZE)
    n_points = _default_points(size) if n_points is None else check_integer(n_points, "n_points", minimum=1)
    try:
        factors = np.asarray(weights, dtype=float).ravel()
    except (TypeError, ValueError):
        factors = np.empty(0)
    if factors.size == 0 or not np.all((factors > 0) & (factors < 2)):
        raise DataError(f"weights must be a non-empty sequence of factors in (0, 2), got {weights!r}.")
    max_rotation = check_number(max_rotation, "max_rotation", minimum=0, maximum=180)
    return _render(maps, size, as_rng(rng), n_points, factors, max_rotation)


def _default_points(size: int) -> int:
    """Chaos-game points of one image: four per pixel, at least 4096."""
    return max(4096, 4 * size * size)


def _render(maps, size: int, rng, n_points: int, factors: np.ndarray, max_rotation: float) -> np.ndarray:
    """:func:`render_fractal` on checked arguments (``maps`` a system's, as a float array)."""
    varied = maps.copy()
    varied[rng.integers(len(maps)), rng.integers(6)] *= rng.choice(factors)
    angle = np.radians(rng.uniform(-max_rotation, max_rotation))
    flip = np.where(rng.random(2) < 0.5, -1.0, 1.0)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) * flip[:, None]
    colour = _colour(rng)
    if not np.all(_spectral_norm(varied) < 1.0):  # a weight above 1 may break contraction: keep the original map
        varied = maps
    pixels = _to_canvas(rotation @ _chaos_game(varied, _probabilities(varied), n_points, rng), size, 2)
    density = np.bincount(pixels, minlength=size * size).astype(float)
    level = np.log1p(density) / np.log1p(max(density.max(), 1.0))
    level = np.where(density > 0, 0.35 + 0.65 * level, 0.0).reshape(size, size)
    return np.clip(level[:, :, None] * colour + 0.5, 0, 255).astype(np.uint8)


def make_fractal_dataset(
    n_categories: int,
    per_category: int,
    *,
    size: int = INPUT_SIZE,
    seed: int = 0,
    n_maps: tuple[int, int] = (2, 4),
    filling_threshold: float = 0.2,
) -> tuple[np.ndarray, np.ndarray]:
    """A labelled fractal dataset: ``per_category`` images of each of ``n_categories`` systems.

    Parameters
    ----------
    n_categories, per_category : int
        Number of categories and of images per category.
    size : int, optional
        Image side in pixels, at least 16.
    seed : int, optional
        Same arguments, identical arrays; image ``i`` of category ``k`` depends on ``(seed, k, i)`` only.
    n_maps, filling_threshold
        As in :func:`fractal_categories`.

    Returns
    -------
    images : numpy.ndarray
        ``uint8``, shape ``(n_categories * per_category, size, size, 3)``, grouped by category.
    labels : numpy.ndarray
        ``int64``, shape ``(n_categories * per_category,)``, the category index.

    Raises
    ------
    DataError
        For a bad argument.
    """
    per_category = check_integer(per_category, "per_category", minimum=1)
    size = check_integer(size, "size", minimum=_MIN_SIZE)
    systems = fractal_categories(n_categories, seed, n_maps=n_maps, filling_threshold=filling_threshold)
    n_points = _default_points(size)
    factors = np.asarray(_WEIGHTS, dtype=float)
    images = np.stack(
        [
            _render(
                np.asarray(system.maps, dtype=float),
                size,
                np.random.default_rng([seed, KIND_FRACTALS, 1, k, i]),
                n_points,
                factors,
                _MAX_ROTATION,
            )
            for k, system in enumerate(systems)
            for i in range(per_category)
        ]
    )
    return images, np.repeat(np.arange(len(systems), dtype=np.int64), per_category)

"""Tests of the fractal pretraining images (mstl_lib.data.synthetic.fractals)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mstl_lib.data import synthetic as syn
from mstl_lib.data.synthetic.fractals import IFSystem, _spectral_norm
from mstl_lib.errors import DataError

SIZE = 32


def _system(maps) -> IFSystem:
    maps = np.asarray(maps, dtype=float)
    det = np.abs(maps[:, 0] * maps[:, 3] - maps[:, 1] * maps[:, 2])
    probabilities = det / det.sum() if det.sum() > 0 else np.full(len(maps), 1.0 / len(maps))
    return IFSystem(maps, probabilities, 0.0)


@pytest.fixture(scope="module")
def dataset():
    return syn.make_fractal_dataset(8, 6, size=SIZE, seed=3)


# --------------------------------------------------------------------------- categories


def test_categories_follow_the_recipe():
    systems = syn.fractal_categories(12, seed=1, n_maps=(2, 4), filling_threshold=0.25)
    assert len(systems) == 12
    assert {len(s.maps) for s in systems} <= {2, 3, 4}
    assert len({len(s.maps) for s in systems}) > 1
    for s in systems:
        assert s.maps.shape[1] == 6
        assert np.all(np.abs(s.maps) <= 1.0)
        assert np.all(_spectral_norm(s.maps) < 1.0)
        det = np.abs(s.maps[:, 0] * s.maps[:, 3] - s.maps[:, 1] * s.maps[:, 2])
        np.testing.assert_allclose(s.probabilities, det / det.sum())
        assert s.filling_rate >= 0.25
        # The rate holds for a fresh chaos game too, not only for the one that accepted it.
        assert syn.filling_rate(s, rng=99) >= 0.25 - 0.03


def test_prefix_and_seed():
    six = syn.fractal_categories(6, seed=4)
    three = syn.fractal_categories(3, seed=4)
    for a, b in zip(six, three):
        np.testing.assert_array_equal(a.maps, b.maps)
        np.testing.assert_array_equal(a.probabilities, b.probabilities)
    other = syn.fractal_categories(3, seed=5)
    assert not any(np.array_equal(a.maps, b.maps) for a, b in zip(three, other) if a.maps.shape == b.maps.shape)
    # Categories are distinct systems.
    flat = [tuple(np.round(s.maps.ravel(), 6)) for s in six]
    assert len(set(flat)) == 6


def test_filling_rate_separates_degenerate_from_full_systems():
    quadrants = _system([[0.5, 0, 0, 0.5, ex, ey] for ex in (-0.5, 0.5) for ey in (-0.5, 0.5)])
    line = _system([[0.5, 0, 0, 0.0, -0.5, 0], [0.5, 0, 0, 0.0, 0.5, 0]])
    sierpinski = _system([[0.5, 0, 0, 0.5, 0, 0], [0.5, 0, 0, 0.5, 0.5, 0], [0.5, 0, 0, 0.5, 0.25, 0.5]])
    assert syn.filling_rate(quadrants) > 0.95
    assert syn.filling_rate(line) < 0.1
    assert 0.2 < syn.filling_rate(sierpinski) < 0.6
    assert syn.filling_rate(sierpinski, rng=1) == pytest.approx(syn.filling_rate(sierpinski, rng=2), abs=0.05)


def test_higher_threshold_gives_fuller_categories():
    low = syn.fractal_categories(10, seed=2, filling_threshold=0.0)
    high = syn.fractal_categories(10, seed=2, filling_threshold=0.4)
    assert min(s.filling_rate for s in high) >= 0.4
    assert np.mean([s.filling_rate for s in high]) > np.mean([s.filling_rate for s in low])


# --------------------------------------------------------------------------- images


def test_dataset_shapes_and_labels(dataset):
    images, labels = dataset
    assert images.shape == (48, SIZE, SIZE, 3) and images.dtype == np.uint8
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, np.repeat(np.arange(8), 6))
    gray = images.max(axis=3)
    for img in gray:
        # Plain black background around the figure, and a figure of some size.
        assert img[:2].max() == 0 and img[-2:].max() == 0 and img[:, :2].max() == 0 and img[:, -2:].max() == 0
        assert 0.05 < np.mean(img > 0) < 0.9
        assert img.max() >= 150
    # The figure spans the canvas along its longer side (centred and scaled).
    rows, cols = np.nonzero(gray[0])
    assert max(rows.max() - rows.min(), cols.max() - cols.min()) == SIZE - 5


def test_dataset_is_deterministic(dataset):
    images, labels = dataset
    again, labels_again = syn.make_fractal_dataset(8, 6, size=SIZE, seed=3)
    assert images.tobytes() == again.tobytes()
    np.testing.assert_array_equal(labels, labels_again)
    other, _ = syn.make_fractal_dataset(8, 6, size=SIZE, seed=4)
    assert images.tobytes() != other.tobytes()
    # Image i of category k does not depend on how many were asked for.
    fewer, _ = syn.make_fractal_dataset(3, 2, size=SIZE, seed=3)
    np.testing.assert_array_equal(fewer[2:4], images[6:8])


def test_render_varies_within_a_category():
    system = syn.fractal_categories(1, seed=0)[0]
    a = syn.render_fractal(system, size=48, rng=1)
    b = syn.render_fractal(system, size=48, rng=2)
    assert a.shape == (48, 48, 3) and a.dtype == np.uint8
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a, syn.render_fractal(system, size=48, rng=np.random.default_rng(1)))
    plain = syn.render_fractal(system, size=48, rng=1, weights=(1.0,), max_rotation=0.0)
    assert plain.shape == (48, 48, 3)


def _flip_invariant(images: np.ndarray) -> np.ndarray:
    """Downsampled gray images made invariant to the flips of the variation, unit norm."""
    gray = (images.max(axis=3) > 0).astype(np.float32)
    sym = gray + gray[:, ::-1] + gray[:, :, ::-1] + gray[:, ::-1, ::-1]
    small = np.stack([cv2.resize(g, (16, 16), interpolation=cv2.INTER_AREA) for g in sym]).reshape(len(images), -1)
    return small / np.linalg.norm(small, axis=1, keepdims=True)


def test_categories_are_distinct(dataset):
    images, labels = dataset
    features = _flip_invariant(images)
    dist = np.linalg.norm(features[:, None] - features[None], axis=2)
    same = labels[:, None] == labels[None]
    off_diagonal = ~np.eye(len(labels), dtype=bool)
    assert dist[same & off_diagonal].mean() < 0.7 * dist[~same].mean()
    # Leave-one-out nearest centroid beats chance (1/8) by a wide margin.
    correct = 0
    for i in range(len(labels)):
        keep = np.arange(len(labels)) != i
        centroids = np.stack([features[keep & (labels == k)].mean(axis=0) for k in range(8)])
        correct += int(np.argmin(np.linalg.norm(centroids - features[i], axis=1)) == labels[i])
    assert correct / len(labels) >= 0.6


# --------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda: syn.fractal_categories(0), "n_categories"),
        (lambda: syn.fractal_categories(2.5), "2.5"),
        (lambda: syn.fractal_categories(True), "True"),
        (lambda: syn.fractal_categories(2, seed=-1), "-1"),
        (lambda: syn.fractal_categories(2, n_maps=(1, 3)), "(1, 3)"),
        (lambda: syn.fractal_categories(2, n_maps=(4, 2)), "(4, 2)"),
        (lambda: syn.fractal_categories(2, n_maps=(2, 9)), "(2, 9)"),
        (lambda: syn.fractal_categories(2, n_maps="ab"), "'ab'"),
        (lambda: syn.fractal_categories(2, filling_threshold=1.5), "1.5"),
        (lambda: syn.make_fractal_dataset(2, 0), "per_category"),
        (lambda: syn.make_fractal_dataset(2, 2, size=8), "size"),
        (lambda: syn.render_fractal("not a system"), "IFSystem"),
        (lambda: syn.render_fractal(_system([[1.5, 0, 0, 0.5, 0, 0], [0.5, 0, 0, 0.5, 1, 0]])), "contraction"),
        (lambda: syn.render_fractal(syn.fractal_categories(1)[0], size=20.0), "20.0"),
        (lambda: syn.render_fractal(syn.fractal_categories(1)[0], n_points=0), "n_points"),
        (lambda: syn.render_fractal(syn.fractal_categories(1)[0], weights=()), "weights"),
        (lambda: syn.render_fractal(syn.fractal_categories(1)[0], weights=(0.8, 3.0)), "3.0"),
        (lambda: syn.render_fractal(syn.fractal_categories(1)[0], rng="x"), "'x'"),
        (lambda: syn.render_fractal(syn.fractal_categories(1)[0], max_rotation=-5), "-5"),
    ],
)
def test_bad_arguments(call, fragment):
    with pytest.raises(DataError) as info:
        call()
    assert fragment in str(info.value)


def test_unreachable_threshold_is_reported():
    with pytest.raises(DataError, match="lower filling_threshold"):
        syn.fractal_categories(1, seed=0, filling_threshold=0.9)

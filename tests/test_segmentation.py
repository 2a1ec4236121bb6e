"""Tests of the cell-line segmentation (Ayana et al. 2022, section 2.1).

Synthetic frames are drawn here, so that every object's true extent is known;
real frames come from ``../shared/data/cells_sample`` and are skipped where
that folder is absent.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from mstl_lib.data.segmentation import (
    Box,
    Segmentation,
    auto_offset,
    draw_boxes,
    gray_level_step,
    segment_frame,
    to_gray8,
)
from mstl_lib.errors import DataError

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CELLS = SHARED_DATA / "cells_sample"

H, W = 400, 600
# (cx, cy, semi-axis x, semi-axis y) of four textured "cells"; far apart.
CELL_SPECS = [(110, 100, 45, 35), (330, 110, 30, 55), (480, 290, 60, 40), (150, 300, 40, 40)]
# Small dark specks (debris), away from the cells.
SPECK_CENTRES = [
    (30, 30),
    (250, 40),
    (560, 40),
    (250, 230),
    (40, 200),
    (560, 150),
    (330, 370),
    (420, 200),
    (20, 380),
    (580, 380),
]


def _background(h: int, w: int) -> np.ndarray:
    """Uneven illumination: a left-right and top-bottom gradient and a vignette."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    bg = 95.0 + 70.0 * xx / w + 20.0 * yy / h
    bg -= 25.0 * (((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2)
    return bg


def _to_full_range_uint8(image: np.ndarray) -> np.ndarray:
    """Stretch to exactly 0..255 (so that a uint16 copy stretches back to the same frame)."""
    lo, hi = float(image.min()), float(image.max())
    return np.clip(np.rint((image - lo) * 255.0 / (hi - lo)), 0, 255).astype(np.uint8)


def make_cell_frame(seed: int = 0, noise: float = 2.0):
    """A bright-field-like frame: four textured cells, ten specks, uneven light.

    Returns the uint8 frame, the true boxes of the cells (drawn extent) and
    the speck centres.
    """
    rng = np.random.default_rng(seed)
    delta = np.zeros((H, W), np.float32)
    true_boxes = []
    for cx, cy, ax, ay in CELL_SPECS:
        body = np.zeros((H, W), np.uint8)
        cv2.ellipse(body, (cx, cy), (ax, ay), 0, 0, 360, 1, thickness=-1)
        delta[body > 0] = -8.0  # slightly darker cytoplasm
        ys, xs = np.nonzero(body)
        for i in rng.choice(len(xs), size=40, replace=False):  # dark granules
            cv2.circle(delta, (int(xs[i]), int(ys[i])), int(rng.integers(1, 4)), -35.0, thickness=-1)
        cv2.ellipse(delta, (cx, cy), (ax, ay), 0, 0, 360, -45.0, thickness=3)  # membrane
        outline = np.zeros((H, W), np.uint8)
        cv2.ellipse(outline, (cx, cy), (ax, ay), 0, 0, 360, 1, thickness=3)
        true_boxes.append(Box.from_tuple(cv2.boundingRect(outline)))
    for x, y in SPECK_CENTRES:
        cv2.circle(delta, (x, y), 2, -50.0, thickness=-1)
    image = _background(H, W) + delta + noise * rng.standard_normal((H, W)).astype(np.float32)
    return _to_full_range_uint8(image), true_boxes, SPECK_CENTRES


def make_outline_frame(rects, noise: float = 2.0, seed: int = 0):
    """Frame with hollow dark rectangles of exact extent (x, y, w, h), 3 px walls."""
    delta = np.zeros((H, W), np.float32)
    for x, y, w, h in rects:
        delta[y : y + h, x : x + w] = -40.0
        delta[y + 3 : y + h - 3, x + 3 : x + w - 3] = 0.0
    rng = np.random.default_rng(seed)
    image = _background(H, W) + delta + noise * rng.standard_normal((H, W)).astype(np.float32)
    return _to_full_range_uint8(image)


@pytest.fixture(scope="module")
def cell_frame():
    return make_cell_frame()


@pytest.fixture(scope="module")
def cell_seg(cell_frame):
    frame, _, _ = cell_frame
    return segment_frame(frame, return_intermediates=True)


# ----------------------------------------------------------------------------- Box


def test_box_helpers():
    a, b = Box(0, 0, 10, 10), Box(5, 5, 10, 10)
    assert a.area == 100 and a.size_sum == 20 and a.as_tuple() == (0, 0, 10, 10)
    assert a.intersection_area(b) == 25
    assert a.iou(b) == pytest.approx(25 / 175)
    assert a.iou(a) == 1.0 and a.iou(Box(20, 20, 5, 5)) == 0.0
    image = np.arange(400).reshape(20, 20)
    assert np.array_equal(b.crop(image), image[5:15, 5:15])
    with pytest.raises(DataError, match="width and height"):
        Box(0, 0, -1, 5)


# ----------------------------------------------------------------------------- synthetic frame


def test_every_cell_found_and_no_box_on_specks(cell_frame, cell_seg):
    _, true_boxes, specks = cell_frame
    assert len(cell_seg.boxes) == len(true_boxes), [b.as_tuple() for b in cell_seg.boxes]
    for truth in true_boxes:
        best = max(truth.iou(b) for b in cell_seg.boxes)
        assert best > 0.5, (truth, best)
    # The specks are removed as noise before the contours: no box at all, kept or rejected.
    for x, y in specks:
        for b in cell_seg.boxes + cell_seg.rejected:
            assert not (b.x <= x < b.x2 and b.y <= y < b.y2), ((x, y), b)


def test_boxes_are_tight(cell_frame, cell_seg):
    # Each box is the cell's drawn extent grown by the 2 x 2 dilation (1 px), within a pixel or two.
    _, true_boxes, _ = cell_frame
    for truth in true_boxes:
        b = max(cell_seg.boxes, key=truth.iou)
        assert abs(b.x - truth.x) <= 2 and abs(b.y - truth.y) <= 2
        assert abs(b.x2 - truth.x2) <= 3 and abs(b.y2 - truth.y2) <= 3


def test_noise_removal_is_what_drops_the_specks(cell_frame):
    frame, _, specks = cell_frame
    seg = segment_frame(frame, min_object_size=0)
    speck_boxes = [b for b in seg.rejected if any(b.x <= x < b.x2 and b.y <= y < b.y2 for x, y in specks)]
    assert len(speck_boxes) >= len(specks) // 2  # without the clean-up they reach the contour step


def test_size_cutoff_exactly_at_the_boundary():
    # Outlines of 48 x 48 and 51 x 51 px on a noise-free frame, segmented by the
    # paper's steps alone (no CLAHE, fixed offset), so the extents are exact.
    # The 2 x 2 dilation grows each box by 1 px to the right and bottom, so the
    # boxes measure 49 + 49 = 98 and 52 + 52 = 104.
    small, large = (100, 100, 48, 48), (350, 150, 51, 51)
    frame = make_outline_frame([small, large], noise=0.0)
    plain = dict(normalize=None, offset=10)
    seg = segment_frame(frame, **plain)
    assert [b.as_tuple() for b in seg.boxes] == [(350, 150, 52, 52)]
    assert [b.as_tuple() for b in seg.rejected] == [(100, 100, 49, 49)]
    assert seg.boxes[0].size_sum == 104 and seg.rejected[0].size_sum == 98
    # w + h == min_box_sum is kept, one less is not.
    assert len(segment_frame(frame, min_box_sum=98, **plain).boxes) == 2
    assert len(segment_frame(frame, min_box_sum=99, **plain).boxes) == 1
    assert len(segment_frame(frame, min_box_sum=104, **plain).boxes) == 1
    assert len(segment_frame(frame, min_box_sum=105, **plain).boxes) == 0
    # Without dilation the boxes are the drawn extents.
    seg1 = segment_frame(frame, dilation_kernel=1, min_box_sum=0, **plain)
    assert sorted(b.as_tuple() for b in seg1.boxes) == [small, large]


def test_size_cutoff_with_defaults_on_a_noisy_frame():
    # With camera noise a noise pixel touching an outline can widen its box by
    # a pixel or two, so the sizes here keep a margin: about 90 vs 114.
    small, large = (100, 100, 44, 44), (350, 150, 56, 56)
    seg = segment_frame(make_outline_frame([small, large], noise=2.0))
    assert len(seg.boxes) == 1 and seg.boxes[0].iou(Box(*large)) > 0.9
    assert any(b.iou(Box(*small)) > 0.9 for b in seg.rejected)
    assert all(b.size_sum >= 100 for b in seg.boxes) and all(b.size_sum < 100 for b in seg.rejected)


# ----------------------------------------------------------------------------- intermediates


def test_intermediates_shapes_and_values(cell_frame, cell_seg):
    frame, _, _ = cell_frame
    for name in ("gray", "normalized", "binary", "dilated", "cleaned"):
        image = getattr(cell_seg, name)
        assert image.shape == frame.shape and image.dtype == np.uint8, name
    for name in ("binary", "dilated", "cleaned"):
        assert set(np.unique(getattr(cell_seg, name))) <= {0, 255}, name
    assert np.array_equal(cell_seg.gray, frame)
    # Dilation only adds foreground, and does add some.
    binary, dilated = cell_seg.binary > 0, cell_seg.dilated > 0
    assert np.all(dilated[binary])
    assert dilated.sum() > binary.sum()
    # Every box is the bounding box of foreground in the cleaned mask.
    for b in cell_seg.boxes:
        sub = cell_seg.cleaned[b.slices] > 0
        assert sub[0, :].any() and sub[-1, :].any() and sub[:, 0].any() and sub[:, -1].any()
    assert cell_seg.offset >= 1.0
    assert cell_seg.params["dilation_kernel"] == 2 and cell_seg.params["min_box_sum"] == 100


def test_intermediates_only_on_request(cell_frame):
    seg = segment_frame(cell_frame[0])
    assert isinstance(seg, Segmentation)
    assert seg.gray is None and seg.binary is None and seg.dilated is None and seg.cleaned is None
    assert len(seg) == len(seg.boxes) > 0


def test_patches_are_crops_of_the_input(cell_frame, cell_seg):
    frame, _, _ = cell_frame
    assert len(cell_seg.patches) == len(cell_seg.boxes)
    for b, patch in zip(cell_seg.boxes, cell_seg.patches):
        assert np.array_equal(patch, frame[b.y : b.y + b.h, b.x : b.x + b.w])
        assert patch.shape == (b.h, b.w)
    cell_seg.patches[0][:] = 0  # a copy, not a view
    assert frame.max() > 0 and np.any(frame[cell_seg.boxes[0].slices] != 0)


def test_rgb_grayscale_and_uint16_give_the_same_boxes(cell_frame):
    frame, _, _ = cell_frame
    gray_boxes = segment_frame(frame).boxes
    rgb = np.stack([frame, frame + 0, frame + 0], axis=-1)
    rgb_seg = segment_frame(rgb)
    assert rgb_seg.boxes == gray_boxes
    for b, patch in zip(rgb_seg.boxes, rgb_seg.patches):
        assert patch.shape == (b.h, b.w, 3) and np.array_equal(patch, rgb[b.slices])
    assert segment_frame(frame[:, :, None]).boxes == gray_boxes
    wide = frame.astype(np.uint16) * 257  # spans 0..65535; stretched back to 0..255
    seg16 = segment_frame(wide)
    assert seg16.boxes == gray_boxes
    assert seg16.patches[0].dtype == np.uint16


def test_dark_low_contrast_frame_is_still_segmented():
    # The scene squeezed into 30 gray levels near black, like the real
    # bright-field frame, with so little noise (0.1 level) that the frame is
    # smooth shading in steps of one gray level. CLAHE stretches each step to
    # about 3 levels; the automatic offset stays above that, so the steps do not
    # draw rings of foreground over the background (with offset=2 they do).
    frame, true_boxes, specks = make_cell_frame(seed=0, noise=1.0)
    dark = (frame.astype(np.float32) * 30 / 255 + 25).round().astype(np.uint8)
    assert np.ptp(dark) == 30
    seg = segment_frame(dark, return_intermediates=True)
    assert seg.offset > gray_level_step(seg.gray, seg.normalized) >= 2
    assert len(seg.boxes) == len(true_boxes)
    assert all(max(t.iou(b) for b in seg.boxes) > 0.5 for t in true_boxes)
    assert len(segment_frame(dark, offset=2).boxes) > len(true_boxes)


def test_gray_level_step():
    ramp = np.tile(np.arange(60, dtype=np.uint8), (5, 1))
    assert gray_level_step(ramp, ramp) == 1.0
    assert gray_level_step(ramp, ramp * 3) == 3.0
    assert gray_level_step(np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8)) == 1.0


def test_noise_alone_gives_no_boxes():
    # A flat frame of strong pixel noise: the automatic offset's noise floor keeps it out.
    rng = np.random.default_rng(1)
    noise = np.clip(128 + 8 * rng.standard_normal((H, W)), 0, 255).astype(np.uint8)
    assert segment_frame(noise).boxes == []
    # Whereas a small fixed offset lets the noise join into frame-sized components.
    loose = segment_frame(noise, offset=2)
    assert loose.boxes and max(b.area for b in loose.boxes) > 0.5 * H * W


def test_auto_offset_scales_with_contrast(cell_frame):
    frame, _, _ = cell_frame
    high = auto_offset(frame, 51)
    low = auto_offset((frame // 4).astype(np.uint8), 51)
    assert high > low >= 1.0
    assert float(high).is_integer()


def test_to_gray8():
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 0] = 255  # pure red: BT.601 weight 0.299
    assert to_gray8(rgb)[0, 0] == 76
    assert to_gray8(rgb[..., ::-1].copy())[0, 0] == 29  # the same array read as BGR: blue weight
    assert to_gray8(np.full((3, 3), 7, np.uint16)).max() == 0  # constant uint16: nothing to stretch


def test_draw_boxes(cell_frame, cell_seg):
    frame, _, _ = cell_frame
    before = frame.copy()
    kept, rejected = Box(10, 10, 30, 20), Box(100, 100, 10, 10)
    out = draw_boxes(frame, [kept], [rejected.as_tuple()], color=(255, 0, 0), rejected_color=(0, 0, 255))
    assert out.shape == (H, W, 3) and out.dtype == np.uint8
    assert np.array_equal(frame, before)
    assert tuple(out[10, 20]) == (255, 0, 0) and tuple(out[29, 20]) == (255, 0, 0)
    assert tuple(out[100, 105]) == (0, 0, 255)
    assert np.array_equal(out[200:210, 200:210, 1], frame[200:210, 200:210])  # untouched elsewhere
    with pytest.raises(DataError, match=r"\(x, y, w, h\)"):
        draw_boxes(frame, ["nope"])
    with pytest.raises(DataError, match="color must be an"):
        draw_boxes(frame, [kept], color=(300, 0))
    rgb16 = np.stack([frame.astype(np.uint16) * 257] * 3, axis=-1)
    assert np.array_equal(draw_boxes(rgb16, [kept]), draw_boxes(np.stack([frame] * 3, axis=-1), [kept]))


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "frame, message",
    [
        (np.zeros((0, 10), np.uint8), "empty"),
        (np.zeros((20, 20), np.float64), "dtype float64.*uint8 or uint16"),
        (np.zeros((20, 20), bool), "dtype bool"),
        (np.zeros((2, 20, 20, 3), np.uint8), r"shape \(2, 20, 20, 3\).*H x W"),
        (np.zeros((20, 20, 2), np.uint8), r"shape \(20, 20, 2\)"),
        (np.zeros(20, np.uint8), r"shape \(20,\)"),
        ([[1, 2], [3, 4]], "numpy array"),
    ],
)
def test_bad_frames_raise_dataerror(frame, message):
    with pytest.raises(DataError, match=message):
        segment_frame(frame)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(block_size=50), "block_size must be odd.*49 or 51"),
        (dict(block_size=1), "block_size must be >= 3"),
        (dict(block_size=51.0), "block_size must be an integer"),
        (dict(min_box_sum=-1), "min_box_sum must be >= 0"),
        (dict(offset=-3), "offset must be >= 0"),
        (dict(offset=float("nan")), "offset must be a finite number"),
        (dict(dilation_kernel=0), "dilation_kernel must be >= 1"),
        (dict(min_object_size=-5), "min_object_size must be >= 0"),
        (dict(threshold_method="otsu"), "threshold_method must be one of"),
        (dict(normalize="histeq"), "normalize must be one of"),
        (dict(polarity="light"), "polarity must be one of"),
        (dict(clahe_clip_limit=0), "clahe_clip_limit must be > 0"),
    ],
)
def test_bad_parameters_raise_dataerror(kwargs, message):
    with pytest.raises(DataError, match=message):
        segment_frame(np.full((40, 40), 100, np.uint8), **kwargs)


@pytest.mark.parametrize("shape", [(1, 1), (2, 2), (1, 300), (300, 1), (5, 7, 3)])
def test_tiny_and_flat_frames_give_no_boxes_and_no_cv2_error(shape):
    seg = segment_frame(np.full(shape, 90, np.uint8), return_intermediates=True)
    assert seg.boxes == [] and seg.patches == []


# ----------------------------------------------------------------------------- real frames


def _read(name: str) -> np.ndarray:
    path = CELLS / name
    if not path.is_file():
        pytest.skip(f"real data sample not present at {path}")
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, path
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return image


@pytest.mark.realdata
def test_real_brightfield_frame():
    # 1224 x 904, 8-bit, gray levels 46..63 between the 1st and 99th percentiles.
    # Measured with the defaults (automatic offset 4): 47 kept boxes (64
    # rejected), the largest 5% of the frame, together covering 37% of it; the
    # mean local standard deviation inside the boxes is 1.85x that outside.
    frame = _read("brightfield_h1299_hela_008.jpeg")
    seg = segment_frame(frame)
    gray = to_gray8(frame)
    assert 20 <= len(seg.boxes) <= 120
    assert all(b.area <= 0.25 * gray.size for b in seg.boxes)
    assert all(b.size_sum >= 100 for b in seg.boxes) and all(b.size_sum < 100 for b in seg.rejected)
    # Cells are textured (granules, membranes), the background is smooth: the
    # local standard deviation (7 x 7) is clearly higher inside the boxes.
    f = gray.astype(np.float32)
    local_std = np.sqrt(np.maximum(cv2.blur(f * f, (7, 7)) - cv2.blur(f, (7, 7)) ** 2, 0))
    inside = np.zeros(gray.shape, bool)
    for b in seg.boxes:
        inside[b.slices] = True
    assert 0.1 < inside.mean() < 0.8
    assert local_std[inside].mean() > 1.5 * local_std[~inside].mean()
    # The paper's steps with nothing added (no CLAHE, a fixed offset of 4 gray
    # levels) find only the few strongest cells of this dark frame (11 boxes).
    plain = segment_frame(frame, normalize=None, offset=4)
    assert len(plain.boxes) < len(seg.boxes) / 2


def _reference_cells(labels: np.ndarray):
    cells = []
    for value in np.unique(labels):
        if value == 0:
            continue
        ys, xs = np.nonzero(labels == value)
        cells.append((Box(int(xs.min()), int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1), ys, xs))
    return cells


@pytest.mark.realdata
def test_real_dic_frame_against_reference_labels():
    # DIC HeLa, 512 x 512, 11 labelled cells, most of them touching. A cell is
    # "found" when one box holds at least half of its pixels and that box is at
    # most 4 times the cell's own bounding box (a frame-sized box finds nothing).
    # A box is "on a cell" when at least half of its pixels are labelled cell.
    # Measured with the defaults (automatic offset 17): 21 boxes, 9 of 11 cells
    # found (0.82), 16 of 21 boxes on cells (0.76; of the other five, one is on
    # an unlabelled cell cut by the top edge, one on filopodia between cells and
    # three are 38-48% cell), the largest box 14% of the frame.
    # Touching cells are sometimes boxed together and loosely outlined ones in
    # fragments: the paper's procedure has no step to split or merge them.
    frame = _read("dic_hela_t015.tif")
    labels = _read("dic_hela_t015_reference_seg.tif")
    cells = _reference_cells(labels)
    assert len(cells) == 11
    seg = segment_frame(frame)
    assert 5 <= len(seg.boxes) <= 40
    assert all(b.area <= 0.25 * frame.size for b in seg.boxes)

    found = 0
    for cell_box, ys, xs in cells:
        best = 0.0
        for b in seg.boxes:
            if b.area > 4 * cell_box.area:
                continue
            covered = ((xs >= b.x) & (xs < b.x2) & (ys >= b.y) & (ys < b.y2)).mean()
            best = max(best, covered)
        found += best > 0.5
    on_cell = sum((labels[b.slices] > 0).mean() >= 0.5 for b in seg.boxes)
    recall, precision = found / len(cells), on_cell / len(seg.boxes)
    assert recall >= 0.7, (found, len(cells))
    assert precision >= 0.7, (on_cell, len(seg.boxes))


# ----------------------------------------------------------------------------- regression


def test_synthetic_frame_gives_the_pinned_boxes_and_masks():
    # Output of segment_frame with its defaults on one synthetic HeLa frame,
    # recorded when its steps were split into named functions; any change to
    # a step or a default shows here.
    from mstl_lib.data.synthetic import make_cell_frame

    frame, _ = make_cell_frame("hela", 0, size=(300, 400))
    seg = segment_frame(frame, return_intermediates=True)
    assert [b.as_tuple() for b in seg.boxes] == [
        (38, 53, 60, 100),
        (253, 101, 113, 90),
        (113, 116, 115, 75),
        (232, 193, 60, 91),
    ]
    assert [b.as_tuple() for b in seg.rejected] == [(53, 89, 22, 26)]
    assert seg.offset == 19.0
    assert np.count_nonzero(seg.binary) == 8707 and np.count_nonzero(seg.cleaned) == 3974
    assert seg.params["block_size"] == 51 and seg.params["offset"] is None


@pytest.mark.realdata
def test_real_brightfield_frame_gives_the_pinned_boxes():
    seg = segment_frame(_read("brightfield_h1299_hela_008.jpeg"), return_intermediates=True)
    assert (len(seg.boxes), len(seg.rejected), seg.offset) == (47, 64, 4.0)
    assert [b.as_tuple() for b in seg.boxes[:3]] == [(172, 0, 71, 44), (382, 0, 36, 79), (780, 0, 121, 139)]
    assert np.count_nonzero(seg.cleaned) == 142672


def test_the_steps_one_by_one_are_segment_frame():
    """Lesson 2 reads segment_frame step by step: each step is a public function, and in order they give its boxes."""
    from mstl_lib.data.segmentation import (
        adaptive_threshold,
        bounding_boxes,
        check_frame,
        checked_settings,
        clean_up,
        contrast_normalized,
        dilate,
        outer_contours,
        size_cut,
        threshold_offset,
    )

    frame = make_outline_frame([(100, 100, 48, 48), (350, 150, 51, 51)], noise=3.0)
    given = dict(segment_frame.__kwdefaults__)
    settings = checked_settings(given)
    work, level_step = contrast_normalized(to_gray8(check_frame(frame)), settings)
    binary = adaptive_threshold(work, threshold_offset(work, level_step, settings), settings)
    cleaned = clean_up(dilate(binary, settings), settings)
    kept, rejected = size_cut(bounding_boxes(outer_contours(cleaned)), settings.min_box_sum)
    seg = segment_frame(frame)
    assert (kept, rejected) == (seg.boxes, seg.rejected) and len(kept) == 1 and len(rejected) == 1
    with pytest.raises(DataError, match="block_size must be odd"):
        checked_settings({**given, "block_size": 50})

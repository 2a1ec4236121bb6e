"""Tests of the synthetic data generators (mstl_lib.data.synthetic)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from mstl_lib import __version__
from mstl_lib.data import synthetic as syn
from mstl_lib.errors import DataError, OutputExistsError
from mstl_lib.profiles import get_profile

SMALL = (300, 400)  # a small frame for tests that write files


# --------------------------------------------------------------------------- helpers


def _elongation(labels: np.ndarray, k: int) -> float:
    """sqrt of the ratio of the second-moment eigenvalues of object ``k``."""
    m = cv2.moments((labels == k).astype(np.uint8), binaryImage=True)
    cov = np.array([[m["mu20"], m["mu11"]], [m["mu11"], m["mu02"]]]) / m["m00"]
    low, high = np.linalg.eigvalsh(cov)
    return float(np.sqrt(high / low))


def _us_set(n: int, difficulty: float, seed: int = 0):
    images, labels = [], []
    for c, label in enumerate(syn.ULTRASOUND_CLASSES):
        for i in range(n):
            rng = np.random.default_rng([seed, 1, c, i])
            images.append(syn.make_ultrasound_image(label, rng, difficulty=difficulty))
            labels.append(c)
    return np.array(images), np.array(labels)


def _lesion_features(image: np.ndarray) -> list[float]:
    """Hand-crafted BI-RADS-like measurements of the darkest blob of a 75x75 image.

    Height/width of its box (orientation), convexity defect (shape/margin),
    posterior/lateral brightness below it (posterior features), log area.
    """
    n = image.shape[0]
    g = cv2.GaussianBlur(image.astype(np.float32), (0, 0), n / 40)
    band = g.copy()
    band[: int(0.12 * n)] = 255
    band[int(0.8 * n) :] = 255
    heavy = cv2.GaussianBlur(image.astype(np.float32), (0, 0), n / 16)
    heavy[: int(0.15 * n)] = 1e9
    heavy[int(0.75 * n) :] = 1e9
    sy, sx = np.unravel_index(np.argmin(heavy), heavy.shape)
    mask = (band < 0.55 * np.median(g[int(0.12 * n) : int(0.8 * n)])).astype(np.uint8)
    count, lab, stats, centres = cv2.connectedComponentsWithStats(mask)
    k = lab[sy, sx]
    if k == 0:
        if count == 1:
            return [1.0, 1.0, 1.0, 0.0]
        k = 1 + int(np.argmin(np.hypot(centres[1:, 0] - sx, centres[1:, 1] - sy)))
    x, y, w, h, area = stats[k]
    contours, _ = cv2.findContours((lab == k).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    contour = max(contours, key=cv2.contourArea)
    hull = cv2.contourArea(cv2.convexHull(contour))
    convexity = cv2.contourArea(contour) / max(hull, 1.0)
    y0, y1 = min(y + h, n - 1), min(y + h + n // 5, n)
    below = g[y0:y1, x : x + w]
    side = np.concatenate([g[y0:y1, max(0, x - w) : x].ravel(), g[y0:y1, x + w : x + 2 * w].ravel()])
    posterior = (below.mean() + 1) / (side.mean() + 1) if below.size and side.size else 1.0
    return [h / w, convexity, posterior, np.log(area)]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def frames():
    """One default-size frame per cell line: {line: (frame, boxes, labels)}."""
    return {line: syn.make_cell_frame(line, 0, return_labels=True) for line in syn.CELL_LINES}


@pytest.fixture(scope="module")
def us_default():
    """60 + 60 ultrasound images at the default difficulty."""
    return _us_set(60, 0.5)


# --------------------------------------------------------------------------- cell frames


def test_cell_frame_shape_dtype_and_boxes(frames):
    for line, (frame, boxes, labels) in frames.items():
        assert frame.shape == syn.CELL_FRAME_SIZE == (904, 1224)
        assert frame.dtype == np.uint8 and frame.ndim == 2
        assert labels.shape == frame.shape and labels.dtype == np.int32
        assert 34 <= len(boxes) <= 46, (line, len(boxes))
        for x, y, w, h in boxes:
            assert all(isinstance(v, int) for v in (x, y, w, h))
            assert x >= 0 and y >= 0 and x + w <= frame.shape[1] and y + h <= frame.shape[0]
            assert w + h >= 100, (line, (x, y, w, h))  # kept by the paper's cut-off
            assert max(w, h) <= 260
        # the label image agrees with the boxes
        for k, (x, y, w, h) in enumerate(boxes, start=1):
            ys, xs = np.nonzero(labels == k)
            assert (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1) == (x, y, w, h)


def test_cell_frames_look_like_brightfield(frames):
    for line, (frame, _boxes, labels) in frames.items():
        background = np.median(frame[labels == 0])
        assert 90 <= background <= 160, line  # mid-gray background
        assert frame.std() > 5, line  # not blank
        # cells carry texture: far more local variance inside objects than outside
        lap = np.abs(cv2.Laplacian(cv2.GaussianBlur(frame, (0, 0), 1.0).astype(np.float32), cv2.CV_32F))
        assert lap[labels > 0].mean() > 1.5 * lap[labels == 0].mean(), line
        # uneven illumination: the smoothed background is not flat
        smooth = cv2.resize(cv2.GaussianBlur(frame, (0, 0), 60), (12, 9), interpolation=cv2.INTER_AREA)
        assert smooth.max() - smooth.min() >= 4, line


def test_cells_mostly_separate(frames):
    for line, (_, boxes, labels) in frames.items():
        grown = cv2.dilate((labels > 0).astype(np.uint8), np.ones((9, 9), np.uint8))
        count, _ = cv2.connectedComponents(grown)
        assert count - 1 == len(boxes), line  # no two objects within a few pixels


def test_morphology_differs_between_lines(frames):
    medians = {}
    for line, (_, boxes, labels) in frames.items():
        medians[line] = float(np.median([_elongation(labels, k) for k in range(1, len(boxes) + 1)]))
    assert medians["h1299"] > 3.0  # spindles
    assert medians["h1299"] > 1.8 * medians["hela"]
    assert medians["hela"] > medians["mcf7"] + 0.2  # spread cells vs compact clusters
    assert medians["mcf7"] < 1.45


def test_mcf7_clusters_and_sizes(frames):
    # MCF-7 objects are clusters: their boxes are compact (near square) and
    # their dark membranes split each cluster into several cells.
    frame, boxes, labels = frames["mcf7"]
    ratios = [max(w, h) / min(w, h) for (_, _, w, h) in boxes]
    assert np.median(ratios) < 1.4
    spindles = frames["h1299"][1]
    assert np.median([max(w, h) / min(w, h) for (_, _, w, h) in spindles]) > np.median(ratios)
    for line, (_, boxes, _) in frames.items():
        sizes = [(w + h) / 2 for (_, _, w, h) in boxes]
        assert 50 <= np.median(sizes) <= 130, line


def test_debris_present_and_small(frames):
    for line, (frame, _boxes, labels) in frames.items():
        debris = (labels == syn.DEBRIS_LABEL).astype(np.uint8)
        count, _, stats, _ = cv2.connectedComponentsWithStats(debris)
        assert count - 1 >= 15, line
        assert (stats[1:, 2] + stats[1:, 3]).max() < 40, line
        # and it shows in the image: small blobs that differ from the
        # background, away from every cell
        g = cv2.GaussianBlur(frame, (0, 0), 1.0).astype(np.float32)
        bg = cv2.medianBlur(frame, 31).astype(np.float32)
        spots = (np.abs(g - bg) > 18).astype(np.uint8)
        away = cv2.dilate((labels > 0).astype(np.uint8), np.ones((31, 31), np.uint8)) == 0
        n, lab, st, _ = cv2.connectedComponentsWithStats(spots * away.astype(np.uint8))
        small = [i for i in range(1, n) if st[i, 2] + st[i, 3] < 30]
        assert len(small) >= 10, line


def test_cell_frame_determinism():
    a, boxes_a = syn.make_cell_frame("hela", np.random.default_rng(3), size=SMALL)
    b, boxes_b = syn.make_cell_frame("hela", np.random.default_rng(3), size=SMALL)
    c, _ = syn.make_cell_frame("hela", np.random.default_rng(4), size=SMALL)
    assert np.array_equal(a, b) and boxes_a == boxes_b
    assert not np.array_equal(a, c)
    d, _ = syn.make_cell_frame("hela", 3, size=SMALL)  # an int seed works too
    assert np.array_equal(a, d)


def test_cell_frame_small_size_scales_count():
    frame, boxes = syn.make_cell_frame("mcf7", 0, size=SMALL)
    assert frame.shape == SMALL
    assert 1 <= len(boxes) <= 10


def test_segmentation_finds_the_ground_truth_cells(frames):
    segmentation = pytest.importorskip("mstl_lib.data.segmentation")
    for line, (frame, boxes, _) in frames.items():
        seg = segmentation.segment_frame(frame)
        truth = [segmentation.Box.from_tuple(b) for b in boxes]
        assert abs(len(seg.boxes) - len(truth)) <= max(3, 0.15 * len(truth)), (line, len(seg.boxes), len(truth))
        matched = sum(max((t.iou(p) for p in seg.boxes), default=0.0) >= 0.5 for t in truth)
        assert matched >= 0.8 * len(truth), (line, matched, len(truth))


# --------------------------------------------------------------------------- ultrasound


def test_ultrasound_shape_dtype_determinism():
    for label in syn.ULTRASOUND_CLASSES:
        a = syn.make_ultrasound_image(label, np.random.default_rng(5))
        b = syn.make_ultrasound_image(label, 5)
        c = syn.make_ultrasound_image(label, np.random.default_rng(6))
        assert a.shape == (128, 128) and a.dtype == np.uint8
        assert np.array_equal(a, b) and not np.array_equal(a, c)
        assert 20 < a.mean() < 200 and a.std() > 15  # speckled, not blank or saturated
    assert syn.make_ultrasound_image("benign", 0, size=64).shape == (64, 64)


def test_ultrasound_lesion_follows_birads_at_difficulty_zero():
    for i in range(6):
        _, ben = syn.make_ultrasound_image("benign", i, difficulty=0.0, return_info=True)
        _, mal = syn.make_ultrasound_image("malignant", i, difficulty=0.0, return_info=True)
        bw, bh = ben["half_axes"]
        mw, mh = mal["half_axes"]
        assert bw > bh and mh > mw  # parallel vs taller-than-wide
        assert ben["posterior_gain"] > 0 > mal["posterior_gain"]  # enhancement vs shadowing
        assert all(v < 0.3 for v in ben["descriptors"].values())
        assert all(v > 0.7 for v in mal["descriptors"].values())


def test_ultrasound_lesion_is_hypoechoic_with_posterior_features():
    # measured on the image: the lesion is darker than its surroundings, and
    # the tissue below it is brighter (benign) or darker (malignant) than beside it
    ratios = {}
    for _c, label in enumerate(syn.ULTRASOUND_CLASSES):
        values = []
        for i in range(10):
            image, info = syn.make_ultrasound_image(label, i, difficulty=0.0, return_info=True)
            g = cv2.GaussianBlur(image.astype(np.float32), (0, 0), 2.0)
            cx, cy = (int(round(v)) for v in info["centre"])
            hw, hh = (int(round(v)) for v in info["half_axes"])
            assert g[cy, cx] < 0.6 * np.median(g[20:100]), (label, i)
            y0, y1 = min(cy + hh + 3, 127), min(cy + hh + 25, 128)
            below = g[y0:y1, max(cx - hw // 2, 0) : cx + hw // 2 + 1].mean()
            side = np.concatenate(
                [
                    g[y0:y1, max(cx - 3 * hw, 0) : max(cx - 2 * hw, 1)].ravel(),
                    g[y0:y1, cx + 2 * hw : cx + 3 * hw].ravel(),
                ]
            )
            values.append(below / side.mean())
        ratios[label] = np.median(values)
    assert ratios["benign"] > 1.1 > 0.9 > ratios["malignant"]


def test_ultrasound_learnable_but_not_trivial(us_default):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    images, y = us_default
    small = np.array([cv2.resize(im, (75, 75), interpolation=cv2.INTER_AREA) for im in images])
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    raw = small.reshape(len(small), -1) / 255.0
    linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    raw_acc = cross_val_score(linear, raw, y, cv=cv).mean()
    assert raw_acc < 0.9, raw_acc  # a linear model on raw pixels is far from perfect
    features = np.array([_lesion_features(im) for im in small])
    feat_acc = cross_val_score(make_pipeline(StandardScaler(), LogisticRegression()), features, y, cv=cv).mean()
    assert feat_acc > 0.7, feat_acc  # BI-RADS-like measurements separate the classes
    assert feat_acc > raw_acc


def test_ultrasound_difficulty_controls_separability():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    acc = {}
    for d in (0.0, 1.0):
        images, y = _us_set(40, d)
        small = [cv2.resize(im, (75, 75), interpolation=cv2.INTER_AREA) for im in images]
        features = np.array([_lesion_features(im) for im in small])
        acc[d] = cross_val_score(make_pipeline(StandardScaler(), LogisticRegression()), features, y, cv=cv).mean()
    assert acc[0.0] > 0.9
    assert acc[1.0] < acc[0.0] - 0.2


def test_ultrasound_nuisances_vary_independently_of_class():
    # size and position vary widely and alike in both classes (as in real scans), so the class
    # signal is in the descriptors; at the default difficulty few descriptors contradict the label
    info = {
        label: [syn.make_ultrasound_image(label, i, size=64, return_info=True)[1] for i in range(40)]
        for label in syn.ULTRASOUND_CLASSES
    }
    for label, rows in info.items():
        radius = np.array([np.sqrt(r["half_axes"][0] * r["half_axes"][1]) for r in rows])
        cx = np.array([r["centre"][0] for r in rows])
        assert radius.max() / radius.min() > 3, label
        assert cx.max() - cx.min() > 0.45 * 64, label
    med = {
        label: np.median([np.sqrt(r["half_axes"][0] * r["half_axes"][1]) for r in rows]) for label, rows in info.items()
    }
    assert abs(med["benign"] - med["malignant"]) < 0.25 * min(med.values())

    def wrong_side(difficulty):
        wrong = []
        for c, label in enumerate(syn.ULTRASOUND_CLASSES):
            for i in range(60):
                _, row = syn.make_ultrasound_image(label, i, size=32, difficulty=difficulty, return_info=True)
                wrong += [(v > 0.5) != bool(c) for v in row["descriptors"].values()]
        return float(np.mean(wrong))

    assert wrong_side(0.0) == 0.0
    assert wrong_side(0.5) < 0.15 < 0.3 < wrong_side(1.0)


# --------------------------------------------------------------------------- writers


def test_write_ultrasound_set_layout_record_and_prefix(tmp_path):
    out = syn.write_ultrasound_set(tmp_path / "us", 3, seed=7, size=64, progress=False)
    assert out == tmp_path / "us"
    for label in syn.ULTRASOUND_CLASSES:
        names = sorted(p.name for p in (out / label).iterdir())
        assert names == sorted(f"{label} ({i}).png" for i in (1, 2, 3))
        image = cv2.imread(str(out / label / f"{label} (1).png"), cv2.IMREAD_UNCHANGED)
        assert image.shape == (64, 64) and image.dtype == np.uint8
    record = json.loads((out / "synthetic.json").read_text())
    assert record["generator"] == "mstl_lib.data.synthetic.write_ultrasound_set"
    assert record["seed"] == 7
    assert record["parameters"] == {"per_class": 3, "size": 64, "difficulty": 0.5}
    assert record["mstl_lib_version"] == __version__
    assert record["counts"] == {"benign": 3, "malignant": 3}
    # a longer set starts with the same images (each depends on seed, class, index)
    longer = syn.write_ultrasound_set(tmp_path / "us5", 5, seed=7, size=64, progress=False)
    for label in syn.ULTRASOUND_CLASSES:
        for i in (1, 2, 3):
            name = f"{label} ({i}).png"
            assert (out / label / name).read_bytes() == (longer / label / name).read_bytes()
    other = syn.write_ultrasound_set(tmp_path / "us_seed8", 1, seed=8, size=64, progress=False)
    assert (other / "benign" / "benign (1).png").read_bytes() != (out / "benign" / "benign (1).png").read_bytes()
    # and the written image is the array the function makes for that stream
    rng = syn.image_rng(7, syn.KIND_ULTRASOUND, 1, 1)
    expected = syn.make_ultrasound_image("malignant", rng, size=64)
    assert np.array_equal(cv2.imread(str(out / "malignant" / "malignant (2).png"), cv2.IMREAD_UNCHANGED), expected)


def test_write_cell_frames_layout_truth_and_prefix(tmp_path):
    out = syn.write_cell_frames(tmp_path / "cells", 2, seed=1, size=SMALL, progress=False)
    for line in syn.CELL_LINES:
        assert sorted(p.name for p in (out / line).iterdir()) == [f"{line}_0001.png", f"{line}_0002.png"]
        frame = cv2.imread(str(out / line / f"{line}_0001.png"), cv2.IMREAD_UNCHANGED)
        assert frame.shape == SMALL and frame.dtype == np.uint8
    record = json.loads((out / "synthetic.json").read_text())
    assert record["generator"] == "mstl_lib.data.synthetic.write_cell_frames"
    assert record["seed"] == 1 and record["mstl_lib_version"] == __version__
    assert record["parameters"] == {"frames_per_class": 2, "size": list(SMALL)}
    assert record["classes"] == list(syn.CELL_LINES)
    truth = json.loads((out / "ground_truth.json").read_text())
    assert sorted(truth) == sorted(f"{line}/{line}_{i:04d}.png" for line in syn.CELL_LINES for i in (1, 2))
    frame, boxes = syn.make_cell_frame("h1299", syn.image_rng(1, syn.KIND_CELLS, 2, 1), size=SMALL)
    assert truth["h1299/h1299_0002.png"] == [list(b) for b in boxes]
    assert np.array_equal(cv2.imread(str(out / "h1299" / "h1299_0002.png"), cv2.IMREAD_UNCHANGED), frame)
    one = syn.write_cell_frames(tmp_path / "cells1", 1, seed=1, size=SMALL, progress=False)
    for line in syn.CELL_LINES:
        name = f"{line}_0001.png"
        assert (one / line / name).read_bytes() == (out / line / name).read_bytes()


def test_writers_refuse_to_overwrite(tmp_path):
    target = tmp_path / "us"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(OutputExistsError):
        syn.write_ultrasound_set(target, 1, size=64, progress=False)
    with pytest.raises(OutputExistsError):
        syn.write_cell_frames(target, 1, size=SMALL, progress=False)
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]
    syn.write_ultrasound_set(target, 1, size=64, overwrite=True, progress=False)
    assert not (target / "keep.txt").exists()
    assert (target / "benign" / "benign (1).png").is_file()


def test_write_synthetic_smoke_profile(tmp_path, capsys):
    profile = get_profile("smoke")
    paths = syn.write_synthetic(tmp_path / "data", get_profile("smoke"), seed=2, progress=False)
    assert paths == {"cells": tmp_path / "data" / "cells", "ultrasound": tmp_path / "data" / "ultrasound"}
    for line in syn.CELL_LINES:
        assert len(list((paths["cells"] / line).glob("*.png"))) == profile.cell_frames_per_class
    for label in syn.ULTRASOUND_CLASSES:
        assert len(list((paths["ultrasound"] / label).glob("*.png"))) == profile.ultrasound_per_class
    assert json.loads((paths["cells"] / "synthetic.json").read_text())["seed"] == 2
    assert capsys.readouterr().err == ""  # progress=False: no bar
    # refuses a second time, before writing anything
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(OutputExistsError):
        syn.write_synthetic(tmp_path / "data", get_profile("smoke"), seed=3, progress=False)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_write_synthetic_checks_both_folders_first(tmp_path):
    (tmp_path / "ultrasound").mkdir()
    (tmp_path / "ultrasound" / "x.png").write_bytes(b"")
    with pytest.raises(OutputExistsError):
        syn.write_synthetic(tmp_path, get_profile("smoke"), progress=False)
    assert not (tmp_path / "cells").exists()


def test_progress_bar_shown(tmp_path, capsys):
    syn.write_ultrasound_set(tmp_path / "us", 2, size=32, progress=True)
    assert "ultrasound" in capsys.readouterr().err


# --------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    "call",
    [
        lambda: syn.make_cell_frame("hek293", 0),
        lambda: syn.make_cell_frame("hela", 0, size=(100, 100)),
        lambda: syn.make_cell_frame("hela", -1),
        lambda: syn.make_cell_frame("hela", "seed"),
        lambda: syn.make_ultrasound_image("normal", 0),
        lambda: syn.make_ultrasound_image("benign", 0, difficulty=-0.1),
        lambda: syn.make_ultrasound_image("benign", 0, difficulty=1.5),
        lambda: syn.make_ultrasound_image("benign", 0, difficulty=float("nan")),
        lambda: syn.make_ultrasound_image("benign", 0, size=8),
    ],
)
def test_bad_generator_arguments(call):
    with pytest.raises(DataError):
        call()


@pytest.mark.parametrize("count", [0, -2, 2.5, True, "3"])
def test_bad_counts(tmp_path, count):
    with pytest.raises(DataError):
        syn.write_ultrasound_set(tmp_path / "us", count, progress=False)
    with pytest.raises(DataError):
        syn.write_cell_frames(tmp_path / "cells", count, progress=False)
    assert not (tmp_path / "us").exists() and not (tmp_path / "cells").exists()


def test_bad_writer_arguments(tmp_path):
    with pytest.raises(DataError):
        syn.write_ultrasound_set(tmp_path / "a", 1, difficulty=2.0, progress=False)
    with pytest.raises(DataError):
        syn.write_ultrasound_set(tmp_path / "b", 1, seed=-1, progress=False)
    with pytest.raises(DataError):
        syn.write_synthetic(tmp_path / "c", "smoke", progress=False)  # a name, not a Profile
    assert not any(tmp_path.iterdir())


def test_error_messages_name_the_choices():
    with pytest.raises(DataError, match="hela, mcf7, h1299"):
        syn.make_cell_frame("HEK", 0)
    with pytest.raises(DataError, match="benign, malignant"):
        syn.make_ultrasound_image("normal", 0)
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        syn.make_ultrasound_image("benign", 0, difficulty=3)


def test_write_synthetic_goes_through_partial_folders(tmp_path):
    leftover = tmp_path / "data" / "cells.partial" / "hela"
    leftover.mkdir(parents=True)
    (leftover / "half.png").write_bytes(b"")  # left by an interrupted run
    paths = syn.write_synthetic(tmp_path / "data", get_profile("smoke"), seed=2, progress=False)
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["cells", "ultrasound"]
    assert not (paths["cells"] / "hela" / "half.png").exists()
    first = (paths["ultrasound"] / "benign" / "benign (1).png").read_bytes()
    syn.write_synthetic(tmp_path / "data", get_profile("smoke"), seed=3, overwrite=True, progress=False)
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["cells", "ultrasound"]
    assert (paths["ultrasound"] / "benign" / "benign (1).png").read_bytes() != first
    assert json.loads((paths["cells"] / "synthetic.json").read_text())["seed"] == 3

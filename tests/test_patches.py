"""From frames to a balanced patch dataset split by source frame (paper section 2.1)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from mstl_lib.data.patches import MANIFEST_FIELDS, build_patch_dataset, load_patch_dataset, patch_splits
from mstl_lib.data.synthetic import write_cell_frames
from mstl_lib.errors import DataError, ImageReadError, OutputExistsError


@pytest.fixture(scope="module")
def raw_frames(tmp_path_factory):
    root = tmp_path_factory.mktemp("frames") / "cells"
    write_cell_frames(root, frames_per_class=4, seed=1, size=(452, 612), progress=False)
    return root


def _rows(out):
    with (out / "manifest.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_balanced_patches_with_manifest_and_frame_grouped_split(raw_frames, tmp_path):
    out = tmp_path / "patches"
    summary = build_patch_dataset(raw_frames, out, per_class=20, seed=0, progress=False)
    rows = _rows(out)
    assert tuple(rows[0].keys()) == MANIFEST_FIELDS
    assert len(rows) == 60
    for _name, row in summary.per_class.items():
        assert row["kept"] == 20 and row["frames"] == 4 and row["found"] >= 20
        assert row["train"] + row["val"] + row["test"] == 20
    sides = {}
    for row in rows:
        sides.setdefault(row["source"], set()).add(row["split"])
        assert (out / row["patch"]).is_file()
    assert all(len(s) == 1 for s in sides.values())  # no frame on two sides
    assert {row["split"] for row in rows} == {"train", "val", "test"}


def test_patches_are_the_boxes_of_their_source_frame(raw_frames, tmp_path):
    from mstl_lib.data.images import read_image

    out = tmp_path / "patches"
    build_patch_dataset(raw_frames, out, per_class=5, seed=2, progress=False)
    for row in _rows(out)[:6]:
        frame = read_image(raw_frames / row["source"])
        x, y, w, h = (int(row[k]) for k in "xywh")
        assert w + h >= 100
        assert np.array_equal(read_image(out / row["patch"]), frame[y : y + h, x : x + w])


def test_sampling_is_reproducible(raw_frames, tmp_path):
    build_patch_dataset(raw_frames, tmp_path / "a", per_class=10, seed=5, progress=False)
    build_patch_dataset(raw_frames, tmp_path / "b", per_class=10, seed=5, progress=False)
    build_patch_dataset(raw_frames, tmp_path / "c", per_class=10, seed=6, progress=False)
    a, b, c = (_rows(tmp_path / n) for n in "abc")
    assert a == b and a != c


def test_default_balances_to_the_smallest_class(raw_frames, tmp_path):
    summary = build_patch_dataset(raw_frames, tmp_path / "p", progress=False)
    kept = {row["kept"] for row in summary.per_class.values()}
    assert kept == {min(row["found"] for row in summary.per_class.values())}


def test_too_few_patches_names_the_class_and_the_fix(raw_frames, tmp_path):
    with pytest.raises(DataError, match=r"too few patches for per_class=100000.*'h1299' has \d+.*--per-class"):
        build_patch_dataset(raw_frames, tmp_path / "p", per_class=100000, progress=False)
    assert not (tmp_path / "p").exists()  # nothing written


def test_refuses_to_overwrite(raw_frames, tmp_path):
    out = tmp_path / "p"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    with pytest.raises(OutputExistsError, match="already exists"):
        build_patch_dataset(raw_frames, out, per_class=5, progress=False)
    assert (out / "keep.txt").read_text() == "precious"


def test_broken_frame_raises_or_is_skipped(raw_frames, tmp_path):
    import shutil

    raw = tmp_path / "raw"
    shutil.copytree(raw_frames, raw)
    (raw / "hela" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ImageReadError, match=r"broken\.png"):
        build_patch_dataset(raw, tmp_path / "p1", per_class=5, progress=False)
    summary = build_patch_dataset(raw, tmp_path / "p2", per_class=5, on_error="skip", progress=False)
    assert any(s.path.name == "broken.png" for s in summary.skipped)
    assert "broken.png" in summary.format_text()


def test_output_inside_raw_folder_is_refused(raw_frames, tmp_path):
    import shutil

    raw = tmp_path / "raw"
    shutil.copytree(raw_frames, raw)
    with pytest.raises(DataError, match=rf"{raw / 'patches'}.*inside"):
        build_patch_dataset(raw, raw / "patches", per_class=5, progress=False)


def test_load_patch_dataset_groups_by_frame_and_filters_splits(raw_frames, tmp_path):
    out = tmp_path / "p"
    build_patch_dataset(raw_frames, out, per_class=12, progress=False)
    dataset = load_patch_dataset(out)
    assert dataset.class_names == ("h1299", "hela", "mcf7")
    assert len(dataset) == 36
    assert set(dataset.groups) == {row["source"] for row in _rows(out)}
    parts = patch_splits(out)
    assert sum(len(p) for p in parts.values()) == 36
    assert len(load_patch_dataset(out, split="test")) == len(parts["test"])
    with pytest.raises(DataError, match="split must be one of"):
        load_patch_dataset(out, split="holdout")
    with pytest.raises(DataError, match="no manifest.csv"):
        load_patch_dataset(tmp_path)


def test_frame_statistics_sees_the_spindles(raw_frames):
    from mstl_lib.data.datasets import load_folder_dataset
    from mstl_lib.teaching.lesson_tables import frame_statistics

    table = frame_statistics(load_folder_dataset(raw_frames, verify=False))
    assert len(table) == 12 and (table["cells"] > 0).all()
    elongation = table.groupby("line")["median elongation"].mean()
    assert elongation["h1299"] > elongation["hela"] > elongation["mcf7"]


def test_lesson_helpers_summarise_the_split_and_pick_patches(raw_frames, tmp_path):
    from mstl_lib.teaching.lesson_tables import most_elongated_patch, patch_examples, split_summary

    out = tmp_path / "p"
    build_patch_dataset(raw_frames, out, per_class=12, progress=False)
    summary = split_summary(out)
    assert list(summary.index) == ["h1299", "hela", "mcf7"]
    assert (summary[["train", "val", "test"]].sum(axis=1) == 12).all() and (summary.frames == 4).all()
    assert all("7:2:1" in verdict for verdict in summary.verdict)
    row = most_elongated_patch(out)
    ratios = [max(int(r["w"]), int(r["h"])) / min(int(r["w"]), int(r["h"])) for r in _rows(out)]
    assert row.elongation == pytest.approx(max(ratios))
    images, titles = patch_examples(out, per_class=2)
    assert titles == ["h1299", "h1299", "hela", "hela", "mcf7", "mcf7"]
    assert all(image.ndim == 3 and image.dtype == np.uint8 for image in images)

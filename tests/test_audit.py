"""Duplicate detection and the audit report."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import write_image
from PIL import Image

from mstl_lib.data.audit import audit_dataset, find_duplicate_groups, group_duplicates, load_audited_dataset
from mstl_lib.data.datasets import load_busi, load_folder_dataset
from mstl_lib.data.splits import check_no_leak, cross_validation_folds
from mstl_lib.errors import DataError


def _smooth_image(seed: int, size=96) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(6, 6), dtype=np.uint8)
    big = np.asarray(Image.fromarray(small).resize((size, size), Image.BICUBIC))
    return np.repeat(big[:, :, None], 3, axis=2)


def test_exact_and_near_duplicates_and_conflicts(tmp_path):
    root = tmp_path / "data"
    base = _smooth_image(1)
    write_image(root / "benign" / "a.png", base)
    write_image(root / "benign" / "a_copy.jpg", base)  # re-encoded copy
    write_image(root / "benign" / "a_exact.png", base)  # byte-for-byte pixel copy
    noisy = np.clip(base.astype(int) + np.random.default_rng(0).integers(-6, 7, base.shape), 0, 255).astype(np.uint8)
    write_image(root / "malignant" / "a_noisy.png", noisy)  # near duplicate under the other label
    for seed in range(2, 8):
        write_image(root / ("benign" if seed % 2 else "malignant") / f"other{seed}.png", _smooth_image(seed))
    dataset = load_folder_dataset(root)
    report = audit_dataset(dataset, progress=False)
    names = [[p.name for p in g] for g in report.duplicate_groups]
    assert names == [["a.png", "a_copy.jpg", "a_exact.png", "a_noisy.png"]]
    assert len(report.conflicts) == 1 and report.conflicts[0]["labels"] == ["benign", "malignant"]
    exact_only = audit_dataset(dataset, max_distance=0, progress=False)
    exact_names = [[p.name for p in g] for g in exact_only.duplicate_groups]
    assert ["a.png", "a_exact.png"] in exact_names or any({"a.png", "a_exact.png"} <= set(g) for g in exact_names)
    assert sum(len(g) for g in exact_names) < sum(len(g) for g in names)


def test_load_audited_dataset_groups_duplicates_and_leaves_out_conflicts(tmp_path):
    root = tmp_path / "data"
    base = _smooth_image(1)
    write_image(root / "benign" / "a.png", base)
    write_image(root / "benign" / "a_copy.png", base)
    write_image(root / "malignant" / "b.png", _smooth_image(2))
    write_image(root / "malignant" / "b_copy.png", _smooth_image(2))
    write_image(root / "benign" / "b_filed_twice.png", _smooth_image(2))
    for seed in range(3, 9):
        write_image(root / ("benign" if seed % 2 else "malignant") / f"other{seed}.png", _smooth_image(seed))
    dataset, report = load_audited_dataset(root, "folder", progress=False)
    names = sorted(p.name for p in dataset.paths)
    assert len(report.conflicts) == 1 and not any(name.startswith("b") for name in names)
    groups = dict(zip((p.name for p in dataset.paths), dataset.groups))
    assert groups["a.png"] == groups["a_copy.png"] and len(names) == 8
    kept, _ = load_audited_dataset(root, "folder", drop_conflicts=False, progress=False)
    assert len(kept.paths) == 11


def test_report_json_has_the_promised_keys(make_folder_dataset):
    root = make_folder_dataset({"a": 2, "b": 2})
    (root / "a" / "Thumbs.db").write_bytes(b"1")
    data = json.loads(audit_dataset(load_folder_dataset(root), progress=False).to_json())
    assert {"counts", "skipped", "duplicate_groups", "conflicts"} <= set(data)
    assert data["counts"] == {"a": 2, "b": 2}
    assert data["skipped"][0]["path"] == "a/Thumbs.db"


def test_find_duplicate_groups_validates_distance():
    with pytest.raises(DataError, match="0..64"):
        find_duplicate_groups([], np.zeros((0, 64), bool), max_distance=65)
    assert find_duplicate_groups([], np.zeros((0, 64), bool)) == []


@pytest.mark.realdata
def test_real_busi_sample_duplicate_pairs_are_found(busi_sample):
    dataset = load_busi(busi_sample, include_normal=True)
    report = audit_dataset(dataset, progress=False)
    groups = [{p.name for p in g} for g in report.duplicate_groups]
    assert {"benign (131).png", "malignant (51).png"} in groups
    assert {"benign (437).png", "normal (34).png"} in groups
    conflicts = [{p.name for p in c["paths"]} for c in report.conflicts]
    assert {"benign (131).png", "malignant (51).png"} in conflicts
    # no false alarms: different lesions of one class are not merged wholesale
    assert sum(len(g) for g in groups) < 0.3 * len(dataset)
    text = report.format_text()
    assert "benign/benign (131).png = malignant/malignant (51).png" in text


@pytest.mark.realdata
def test_grouped_folds_keep_real_duplicates_together(busi_sample):
    dataset = group_duplicates(load_busi(busi_sample), progress=False)
    folds = cross_validation_folds(dataset.labels, dataset.groups, n_folds=3, seed=0)
    paths = np.array([p.name for p in dataset.paths])
    for fold in folds:
        check_no_leak(dataset.groups, fold.train, fold.val, fold.test)
        for part in (fold.train, fold.val, fold.test):
            names = set(paths[part])
            assert ("benign (131).png" in names) == ("malignant (51).png" in names)

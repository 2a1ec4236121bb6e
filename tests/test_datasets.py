"""Loaders for folder-per-class, BUSI, Mendeley and MT-Small layouts, and bad folders."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_image

from mstl_lib.data.datasets import load_busi, load_dataset, load_folder_dataset, load_mendeley, load_mt_small
from mstl_lib.errors import DataError, ImageReadError


def test_folder_dataset_labels_groups_and_arrays(make_folder_dataset):
    root = make_folder_dataset({"benign": 3, "malignant": 4})
    dataset = load_folder_dataset(root)
    assert dataset.class_names == ("benign", "malignant")
    assert dataset.counts() == {"benign": 3, "malignant": 4}
    assert dataset.labels.tolist() == [0, 0, 0, 1, 1, 1, 1]
    assert len(set(dataset.groups)) == 7
    images, labels = dataset.load_arrays(progress=False)
    assert images.shape == (7, 75, 75, 3) and images.dtype == np.uint8
    assert np.array_equal(labels, dataset.labels)


def test_class_order_follows_the_classes_argument(make_folder_dataset):
    root = make_folder_dataset({"a": 2, "b": 2})
    dataset = load_folder_dataset(root, ["b", "a"])
    assert dataset.class_names == ("b", "a") and dataset.labels.tolist() == [0, 0, 1, 1]


def test_class_folders_match_case_insensitively(make_folder_dataset):
    root = make_folder_dataset({"Benign": 2, "MALIGNANT": 2})
    dataset = load_folder_dataset(root, ["benign", "malignant"])
    assert dataset.counts() == {"benign": 2, "malignant": 2}


def test_system_files_and_non_images_are_skipped_and_listed(make_folder_dataset):
    root = make_folder_dataset({"benign": 2, "malignant": 2})
    (root / "benign" / "Thumbs.db").write_bytes(b"\x00" * 10)
    (root / "malignant" / ".DS_Store").write_bytes(b"\x00" * 10)
    (root / "malignant" / "readme.txt").write_text("notes")
    dataset = load_folder_dataset(root)
    assert len(dataset) == 4
    reasons = {s.path.name: s.reason for s in dataset.skipped}
    assert "system file" in reasons["Thumbs.db"] and "system file" in reasons[".DS_Store"]
    assert "not an image" in reasons["readme.txt"]


def test_broken_image_raises_by_default_and_is_listed_when_skipping(make_folder_dataset):
    root = make_folder_dataset({"benign": 2, "malignant": 2})
    (root / "benign" / "broken.png").write_bytes(b"")
    with pytest.raises(ImageReadError, match=r"broken\.png"):
        load_folder_dataset(root)
    dataset = load_folder_dataset(root, on_error="skip")
    assert len(dataset) == 4
    assert [s.path.name for s in dataset.skipped] == ["broken.png"]
    assert "0 bytes" in dataset.skipped[0].reason


def test_missing_root_and_file_instead_of_folder(tmp_path):
    with pytest.raises(DataError, match=r"no such folder"):
        load_folder_dataset(tmp_path / "missing")
    (tmp_path / "file.png").write_text("x")
    with pytest.raises(DataError, match=r"is a file, not a folder"):
        load_folder_dataset(tmp_path / "file.png")


def test_single_class_is_refused(make_folder_dataset):
    root = make_folder_dataset({"benign": 3})
    with pytest.raises(DataError, match=r"at least two"):
        load_folder_dataset(root)


def test_missing_class_folder_lists_what_was_found(make_folder_dataset):
    root = make_folder_dataset({"benign": 2, "normal": 2})
    with pytest.raises(DataError, match=r"'malignant'.*\['benign', 'normal'\]"):
        load_folder_dataset(root, ["benign", "malignant"])


def test_empty_class_folder_is_named(make_folder_dataset):
    root = make_folder_dataset({"benign": 2})
    (root / "malignant").mkdir()
    (root / "malignant" / "Thumbs.db").write_bytes(b"1")
    with pytest.raises(DataError, match=r"malignant.*holds no usable image.*Thumbs\.db"):
        load_folder_dataset(root)


def test_unknown_on_error_and_kind(make_folder_dataset):
    root = make_folder_dataset({"a": 1, "b": 1})
    with pytest.raises(DataError, match="on_error"):
        load_folder_dataset(root, on_error="ignore")
    with pytest.raises(DataError, match="unknown dataset kind"):
        load_dataset(root, "imagenet")


def test_mixed_formats_load(tmp_path):
    root = tmp_path / "data"
    write_image(root / "benign" / "a.BMP")
    write_image(root / "benign" / "b.jpeg")
    write_image(root / "malignant" / "c.TIFF")
    write_image(root / "malignant" / "d.png", mode="P")
    images, _ = load_folder_dataset(root).load_arrays(progress=False)
    assert images.shape == (4, 75, 75, 3)


# --- BUSI ---------------------------------------------------------------------------


def test_busi_layout_excludes_masks_and_normal(tmp_path):
    root = tmp_path / "busi"
    for label in ("benign", "malignant", "normal"):
        for i in (1, 2):
            write_image(root / label / f"{label} ({i}).png", seed=i)
            write_image(root / label / f"{label} ({i})_mask.png", seed=10 + i)
    write_image(root / "benign" / "benign (1)_mask_1.png", seed=30)
    dataset = load_busi(root)
    assert dataset.class_names == ("benign", "malignant")
    assert sorted(p.name for p in dataset.paths) == [
        "benign (1).png",
        "benign (2).png",
        "malignant (1).png",
        "malignant (2).png",
    ]
    assert sum("mask" in s.reason for s in dataset.skipped) == 5
    with_normal = load_busi(root, include_normal=True)
    assert with_normal.counts() == {"benign": 2, "malignant": 2, "normal": 2}


@pytest.mark.realdata
def test_busi_real_sample(busi_sample):
    dataset = load_busi(busi_sample, include_normal=True)
    assert dataset.counts() == {"benign": 22, "malignant": 21, "normal": 9}
    assert dataset.skipped == []
    assert any(p.name == "benign (131).png" for p in dataset.paths)
    images, labels = load_busi(busi_sample).load_arrays(progress=False)
    assert images.shape == (43, 75, 75, 3)
    # B-mode ultrasound is gray: the RGB copies differ only by compression noise
    assert np.abs(images[..., 0].astype(int) - images[..., 2]).mean() < 3
    assert 20 < images.mean() < 200


# --- Mendeley ----------------------------------------------------------------------


def _mendeley(tmp_path, n_benign=100, n_malignant=150):
    root = tmp_path / "mendeley"
    for i in range(n_benign):
        write_image(root / "benign" / f"benign ({i + 1}).bmp", size=(20, 20), seed=i)
    for i in range(n_malignant):
        write_image(root / "malignant" / f"malignant ({i + 1}).bmp", size=(20, 20), seed=1000 + i)
    return root


def test_mendeley_is_balanced_reproducibly(tmp_path):
    root = _mendeley(tmp_path)
    first = load_mendeley(root, seed=3, verify=False)
    again = load_mendeley(root, seed=3, verify=False)
    other = load_mendeley(root, seed=4, verify=False)
    assert first.counts() == {"benign": 100, "malignant": 100}
    assert first.paths == again.paths and first.paths != other.paths
    assert sum("not drawn" in s.reason for s in first.skipped) == 50
    assert load_mendeley(root, balance=False, verify=False).counts() == {"benign": 100, "malignant": 150}


def test_mendeley_too_few_images_for_balancing(tmp_path):
    root = _mendeley(tmp_path, n_benign=5, n_malignant=8)
    with pytest.raises(DataError, match=r"'benign' has 5 .*per_class=100.*Fix"):
        load_mendeley(root, verify=False)


# --- MT-Small ----------------------------------------------------------------------


def _mt_small(tmp_path, n=4):
    root = tmp_path / "MT_Small_Dataset"
    for label in ("Benign", "Malignant"):
        for i in range(n):
            write_image(root / label / f"Original_{label}" / f"{i + 1}.png", seed=i)
            write_image(root / label / f"Fuzzy_{label}" / f"{i + 1}.png", seed=100 + i)
            write_image(root / label / f"Ground_Truth_{label}" / f"{i + 1}.png", seed=200 + i)
    return root


def test_mt_small_originals_only_by_default(tmp_path):
    dataset = load_mt_small(_mt_small(tmp_path))
    assert dataset.counts() == {"benign": 4, "malignant": 4}
    assert all("Original" in p.parent.name for p in dataset.paths)
    assert any("masks" in s.reason for s in dataset.skipped)


def test_mt_small_variants_share_a_group(tmp_path):
    dataset = load_mt_small(_mt_small(tmp_path), include_enhanced=True)
    assert dataset.counts() == {"benign": 8, "malignant": 8}
    groups = dataset.groups
    assert len(set(groups)) == 8
    for group in set(groups):
        members = [p for p, g in zip(dataset.paths, groups) if g == group]
        assert len(members) == 2 and members[0].name == members[1].name


def test_mt_small_wrong_layout(tmp_path):
    root = tmp_path / "flat"
    write_image(root / "benign" / "1.png")
    write_image(root / "malignant" / "1.png")
    with pytest.raises(DataError, match=r"no original image folder"):
        load_mt_small(root)


def test_regroup_merges_transitively(make_folder_dataset):
    dataset = load_folder_dataset(make_folder_dataset({"a": 3, "b": 3}))
    p = dataset.paths
    merged = dataset.regroup([[p[0], p[1]], [p[1], p[4]]])
    groups = merged.groups
    assert groups[0] == groups[1] == groups[4]
    assert len(set(groups)) == 4

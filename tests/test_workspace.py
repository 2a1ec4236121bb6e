"""Work folders: one per profile and initial weights, each step computed once."""

from __future__ import annotations

from pathlib import Path

import pytest

from mstl_lib.errors import DataError
from mstl_lib.profiles import get_profile
from mstl_lib.teaching.notebook import profile_with_weights, profiles_table, shown_path
from mstl_lib.teaching.paths import find_book_root
from mstl_lib.teaching.workspace import Workspace, work_folder_name


@pytest.mark.parametrize(
    "profile, weights, folder",
    [
        ("lab", "profile", "lab"),
        ("lab", "imagenet", "lab-imagenet"),
        ("paper", "none", "paper-random"),
        ("paper", "profile", "paper"),
        ("smoke", "none", "smoke-random"),
        ("lab", "none", "lab-random"),
    ],
)
def test_runs_with_other_weights_get_their_own_folder(profile, weights, folder):
    chosen = profile_with_weights(profile, weights)
    assert work_folder_name(chosen) == folder
    assert (
        chosen.weights
        == {"profile": {"lab": "fractaldb", "paper": "imagenet"}.get(profile), "imagenet": "imagenet", "none": None}[
            weights
        ]
    )


def test_synthetic_data_are_made_once_and_reused(tmp_path):
    workspace = Workspace(get_profile("smoke"), root=tmp_path / "work", progress=False)
    first = workspace.synthetic()
    stamp = (first / "ultrasound" / "benign" / "benign (1).png").stat().st_mtime_ns
    again = Workspace(get_profile("smoke"), root=tmp_path / "work", progress=False).synthetic()
    assert again == first and (again / "ultrasound" / "benign" / "benign (1).png").stat().st_mtime_ns == stamp
    assert not (tmp_path / "work" / "synthetic.partial").exists()


def test_a_half_written_step_is_redone(tmp_path):
    (tmp_path / "work" / "synthetic.partial" / "cells").mkdir(parents=True)
    workspace = Workspace(get_profile("smoke"), root=tmp_path / "work", progress=False)
    assert (workspace.synthetic() / "cells" / "hela").is_dir()
    assert not (tmp_path / "work" / "synthetic.partial").exists()


def _fake_fold_result(workspace, names, tl="mstl"):
    """A grid result of fold 0 listing ``names`` as its test images (no training)."""
    from mstl_lib.evaluation.results import result_path
    from mstl_lib.outputs import write_json

    backbone, optimizer = workspace.profile.backbones[0], workspace.profile.optimizers[0]
    path = result_path(workspace.grid_dir, tl, backbone, optimizer, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, {"tl": tl, "fold": 0, "test_images": names})


def test_fold_test_set_rebuilds_the_images_a_fold_was_tested_on(tmp_path):
    workspace = Workspace(get_profile("smoke"), root=tmp_path / "work", progress=False)
    names = ["malignant/malignant (2).png", "benign/benign (3).png", "benign/benign (1).png"]
    _fake_fold_result(workspace, names)
    images, labels, paths = workspace.fold_test_set(0, tl="mstl")
    root = workspace.ultrasound_root()
    assert [p.relative_to(root).as_posix() for p in paths] == names
    assert labels.tolist() == [1, 0, 0]
    assert images.shape == (3, workspace.profile.image_size, workspace.profile.image_size, 3)
    assert images.dtype.name == "uint8"


def test_fold_test_set_says_what_is_missing(tmp_path):
    workspace = Workspace(get_profile("smoke"), root=tmp_path / "work", progress=False)
    with pytest.raises(DataError, match=r"ws.run_grid\(\)"):
        workspace.fold_test_set(0)
    _fake_fold_result(workspace, ["benign/no such image.png"])
    with pytest.raises(DataError, match="not in the dataset"):
        workspace.fold_test_set(0)


def test_the_work_folder_is_shown_relative_to_the_book_the_current_folder_or_home(tmp_path, monkeypatch):
    root = find_book_root()
    monkeypatch.chdir(root / "notebooks")
    assert shown_path(root / "_build" / "work" / "smoke") == "_build/work/smoke"
    monkeypatch.chdir(tmp_path)
    assert shown_path(tmp_path / "work" / "lab") == "work/lab"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home" / "mstl_work").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "home" / "mstl_work")
    assert shown_path("~/mstl_work") == "."
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert shown_path(tmp_path / "home" / "mstl_work" / "smoke") == "~/mstl_work/smoke"
    outside = root.anchor + "opt/elsewhere"
    assert shown_path(outside) == outside


def test_profiles_table_has_one_column_per_profile():
    from mstl_lib.profiles import PROFILES

    table = profiles_table()
    assert list(table.columns) == list(PROFILES)
    assert table.loc["folds", "paper"] == PROFILES["paper"].folds
    assert table.loc["initial weights", "paper"] == "imagenet"
    assert all(isinstance(value, str) for value in table.loc["backbones"])


def test_pages_name_a_build_folder_outside_the_book_by_its_name(tmp_path, monkeypatch):
    """`mstl book --build-dir /elsewhere` must not print the build machine's absolute path."""
    build = tmp_path / "labbuild"
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MSTL_BUILD_DIR", str(build))
    assert shown_path(build / "work" / "lab") == "labbuild/work/lab"


def test_the_book_is_found_from_outside_the_repository(tmp_path, monkeypatch):
    """Without --root, `mstl book` run from another folder finds the book the library belongs to."""
    import mstl_lib
    from mstl_lib.teaching.paths import find_book_root

    monkeypatch.chdir(tmp_path)
    assert find_book_root() == Path(mstl_lib.__file__).resolve().parents[1]


def test_a_stage1_run_of_another_seed_is_refused_not_reused(tmp_path):
    """The notebooks' stage 1 compares settings as `mstl pretrain` does: another seed's run is not taken as its own."""
    from mstl_lib.outputs import write_json
    from mstl_lib.run_files import stage1_run_dir, stage1_summary_path

    workspace = Workspace(get_profile("smoke"), root=tmp_path / "work", seed=0, progress=False)
    backbone, optimizer = workspace.profile.backbones[0], workspace.profile.optimizers[0]
    stage1_run_dir(workspace.stage1_dir, backbone, optimizer).mkdir(parents=True)
    other_seed = {"backbone": backbone, "optimizer": optimizer, "seed": 7, "weights": "fractaldb"}
    write_json(stage1_summary_path(workspace.stage1_dir, backbone, optimizer), {"settings": other_seed})
    with pytest.raises(DataError, match="seed"):
        workspace.train_stage1()

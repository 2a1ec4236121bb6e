"""Profiles: overrides that are not given keep the profile's value, None means None where a field allows it."""

from __future__ import annotations

import pickle

import pytest

from mstl_lib.cli import _profile, build_parser
from mstl_lib.errors import DataError
from mstl_lib.profiles import NOT_SET, PROFILES, get_profile
from mstl_lib.teaching.notebook import profile_with_weights


def test_none_sets_a_field_that_allows_it_and_not_set_keeps_it():
    lab = PROFILES["lab"]
    assert lab.weights == "fractaldb" and lab.patience is not None  # the cases the old None-dropping hid
    changed = get_profile("lab", weights=None, patience=None)
    assert changed.weights is None and changed.patience is None
    kept = get_profile("lab", weights=NOT_SET, patience=NOT_SET, epochs_stage2=NOT_SET)
    assert kept == lab
    assert get_profile("lab", epochs_stage2=3).epochs_stage2 == 3


def test_none_for_a_field_that_needs_a_value_is_refused_by_name():
    with pytest.raises(DataError, match=r"\['epochs_stage2'\] cannot be None"):
        get_profile("smoke", epochs_stage2=None)
    with pytest.raises(DataError, match="unknown profile field"):
        get_profile("smoke", epoch=3)


def test_not_set_is_one_object_even_through_pickle():
    assert pickle.loads(pickle.dumps(NOT_SET)) is NOT_SET and repr(NOT_SET) == "NOT_SET"


@pytest.mark.parametrize(
    "options, weights, epochs",
    [
        ([], "fractaldb", PROFILES["lab"].epochs_stage2),
        (["--weights", "none"], None, PROFILES["lab"].epochs_stage2),
        (["--weights", "imagenet", "--epochs", "4"], "imagenet", 4),
        (["--weights", "profile"], "fractaldb", PROFILES["lab"].epochs_stage2),
    ],
)
def test_the_command_line_resolves_the_profile_once(tmp_path, options, weights, epochs):
    args = build_parser().parse_args(
        ["grid", str(tmp_path), "--out", str(tmp_path / "g"), "--profile", "lab", *options]
    )
    profile = _profile(args, "epochs_stage2")
    assert profile.name == "lab" and profile.weights == weights and profile.epochs_stage2 == epochs


@pytest.mark.parametrize(
    "weights, expected", [("profile", "fractaldb"), ("none", None), (None, None), ("imagenet", "imagenet")]
)
def test_a_lesson_s_weights_parameter(weights, expected):
    profile = profile_with_weights("lab", weights)
    assert profile.weights == expected
    assert profile.with_overrides(weights=PROFILES["lab"].weights) == PROFILES["lab"]


def test_stage1_defaults_to_the_profile_s_first_backbone_and_optimizer(tmp_path, monkeypatch):
    """``run_stage1`` without ``backbone``/``optimizer`` trains the profile's, into that run's folder."""
    from mstl_lib.data.patches import build_patch_dataset
    from mstl_lib.data.synthetic import write_cell_frames
    from mstl_lib.run_files import STAGE1_SUMMARY, stage1_run_dir
    from mstl_lib.training import stages

    write_cell_frames(tmp_path / "frames", 4, seed=0, size=(452, 612), progress=False)
    build_patch_dataset(tmp_path / "frames", tmp_path / "patches", per_class=10, progress=False)
    trained = []

    def fake_training(dataset, parts, run_dir, backbone, optimizer, profile, seed, setting, **options):
        trained.append((backbone, optimizer, profile.name, setting))
        return {"backbone": backbone, "optimizer": optimizer}

    monkeypatch.setattr(stages, "_train_stage1", fake_training)
    profile = get_profile("smoke", backbones=("resnet10",), optimizers=("sgd", "adam"))
    summary = stages.run_stage1(tmp_path / "patches", tmp_path / "stage1", profile=profile)
    assert trained == [("resnet10", "sgd", "smoke", profile.weights)]
    assert summary["settings"]["backbone"] == "resnet10" and summary["settings"]["optimizer"] == "sgd"
    assert (stage1_run_dir(tmp_path / "stage1", "resnet10", "sgd") / STAGE1_SUMMARY).is_file()

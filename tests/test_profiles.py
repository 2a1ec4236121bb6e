"""Profiles: overrides that are not given keep the profile's value, None means None where a field allows it."""

from __future__ import annotations

import ast
import pickle
from pathlib import Path

import pytest

import mstl_lib
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
    "weights, expected",
    [("profile", "fractaldb"), ("none", None), ("None", None), (None, None), ("imagenet", "imagenet")],
)
def test_weights_are_resolved_when_the_profile_is_made(weights, expected):
    """The spellings of ``weights`` are read in one place: a Profile's ``weights`` is what the run starts from."""
    assert get_profile("lab", weights=weights).weights == expected
    assert get_profile("paper", weights="profile").weights == "imagenet"


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


RESOLVERS = {"get_profile", "with_overrides", "PROFILES"}
"""What turns a name (or overrides) into a Profile."""
ENTRY_POINTS = {
    "profiles.py",
    "cli.py",
    "teaching/notebook.py",
    "teaching/book.py",
    "teaching/student_edition.py",
    "teaching/workspace.py",
}
"""Where a run starts and names are resolved: the command line, a lesson's set-up, the book's runner and the
student edition (which hand names to the lessons), and the work folder's name (the profile's own weights or
others)."""


def test_only_the_entry_points_resolve_a_profile_name():
    package = Path(mstl_lib.__file__).parent
    found = []
    for path in sorted(package.rglob("*.py")):
        module = path.relative_to(package).as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
            if isinstance(node, ast.alias):
                name = node.name
            if name in RESOLVERS and module not in ENTRY_POINTS:
                found.append(f"{module}:{node.lineno} {name}")
    assert not found, "resolved below the entry points; take a Profile instead: " + ", ".join(found)


@pytest.mark.parametrize("name", ["run_stage1", "train_fold", "run_grid", "run_study", "write_synthetic"])
def test_a_name_where_a_profile_is_needed_is_refused_with_the_fix(tmp_path, name):
    import inspect

    from mstl_lib.data.synthetic import write_synthetic
    from mstl_lib.training.grid import run_grid
    from mstl_lib.training.stages import run_stage1, train_fold
    from mstl_lib.training.study import run_study

    function = {f.__name__: f for f in (run_stage1, train_fold, run_grid, run_study, write_synthetic)}[name]
    assert inspect.signature(function).parameters["profile"].default is inspect.Parameter.empty
    arguments = {
        "run_stage1": lambda: run_stage1(tmp_path / "patches", tmp_path / "out", profile="lab"),
        "train_fold": lambda: train_fold(_two_class_set(tmp_path), None, tl="ctl", backbone="resnet10",
                                         optimizer="adam", run_dir=tmp_path / "out", profile="lab"),
        "run_grid": lambda: run_grid(_two_class_set(tmp_path), tmp_path / "out", profile="lab"),
        "run_study": lambda: run_study(_two_class_set(tmp_path), tmp_path / "out", profile="lab"),
        "write_synthetic": lambda: write_synthetic(tmp_path / "out", profile="lab"),
    }  # fmt: skip
    with pytest.raises(DataError, match=r"profile=get_profile\('lab'\)"):
        arguments[name]()
    assert not (tmp_path / "out").exists()


def _two_class_set(tmp_path):
    from mstl_lib.data.datasets import load_busi
    from mstl_lib.data.synthetic import write_ultrasound_set

    if not (tmp_path / "us").is_dir():
        write_ultrasound_set(tmp_path / "us", 4, seed=0, progress=False)
    return load_busi(tmp_path / "us")


@pytest.mark.slow
def test_from_the_command_line_to_a_fold_s_training_the_profile_is_resolved_once(tmp_path, monkeypatch):
    """``mstl grid`` resolves ``--profile`` once; the grid, its configuration and each fold take that Profile."""
    from mstl_lib import profiles
    from mstl_lib.cli import main
    from mstl_lib.data.synthetic import write_ultrasound_set
    from mstl_lib.training import grid, stages

    write_ultrasound_set(tmp_path / "us", 10, seed=0, progress=False)
    resolved, trained = [], []
    real_get_profile, real_train_fold = profiles.get_profile, stages.train_fold

    def counted(*args, **kwargs):
        resolved.append(args)
        return real_get_profile(*args, **kwargs)

    def recorded(*args, profile, **kwargs):
        trained.append(profile)
        return real_train_fold(*args, profile=profile, **kwargs)

    monkeypatch.setattr(profiles, "get_profile", counted)
    monkeypatch.setattr(grid, "train_fold", recorded)
    monkeypatch.setattr(grid, "run_in_child", lambda f, *a, log_path=None, on_wait=None, env=None, **k: f(*a, **k))
    options = ["--profile", "smoke", "--arms", "scratch", "--epochs", "1", "--quiet"]
    assert main(["grid", str(tmp_path / "us"), "--out", str(tmp_path / "g"), *options]) == 0
    assert resolved == [("smoke",)]
    assert len(trained) == 3 and all(p == real_get_profile("smoke", epochs_stage2=1) for p in trained)

"""The study end to end on tiny synthetic data: study stages, paired results, kill and resume, bad input."""

from __future__ import annotations

import json
import textwrap
from dataclasses import replace

import numpy as np
import pytest
from conftest import kill_when_written

from mstl_lib.cli import main
from mstl_lib.data.datasets import load_busi
from mstl_lib.data.synthetic import write_cell_frames, write_ultrasound_set
from mstl_lib.errors import DataError
from mstl_lib.profiles import get_profile
from mstl_lib.run_files import STUDY_MANIFEST, study_result_path
from mstl_lib.training.study import run_study

pytestmark = pytest.mark.slow
PROFILE = replace(
    get_profile("smoke"), epochs_stage1=2, epochs_stage2=1, folds=3, study_sizes=(2, "all"), study_fractions=(0.5,)
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    from mstl_lib.data.patches import build_patch_dataset

    root = tmp_path_factory.mktemp("study")
    write_cell_frames(root / "frames", 4, seed=0, size=(452, 612), progress=False)
    build_patch_dataset(root / "frames", root / "patches", per_class=12, progress=False)
    write_ultrasound_set(root / "us", 9, seed=0, progress=False)
    return root


@pytest.fixture(scope="module")
def stage1(workdir):
    from mstl_lib.training.study import train_study_stages

    summaries = train_study_stages(workdir / "patches", workdir / "stage1", profile=PROFILE, verbose=0)
    return summaries


def test_study_stages_control_matches_steps_and_fraction_is_smaller(workdir, stage1):
    real, control, half = stage1["real"], stage1["control"], stage1["fraction0.50"]
    assert control["variant"]["shuffle_labels"] and control["variant"]["epochs"] == real["best_epoch"]
    # same patches, same batches per epoch, as many steps as the real run took to the weights it kept
    assert control["n_train"] == real["n_train"] and control["steps_per_epoch"] == real["steps_per_epoch"]
    assert control["epochs_trained"] * control["steps_per_epoch"] == real["best_epoch"] * real["steps_per_epoch"]
    assert control["best_epoch"] == control["epochs_trained"]  # the last epoch is kept
    assert half["n_train"] < real["n_train"] and half["n_test"] == real["n_test"]
    for name in ("resnet10-adam-control", "resnet10-adam-fraction0.50"):
        assert (workdir / "stage1" / name / "model.keras").is_file()


def test_missing_control_stage_is_refused_naming_the_folder_and_command(workdir, tmp_path):
    only_real = tmp_path / "stage1"
    (only_real / "resnet10-adam").mkdir(parents=True)
    (only_real / "resnet10-adam" / "model.keras").write_bytes(b"")
    with pytest.raises(DataError, match=r"resnet10-adam-control.*mstl pretrain PATCHES .*--study-stages"):
        run_study(load_busi(workdir / "us"), tmp_path / "out", stage1_dir=only_real, profile=PROFILE, progress=False)


def test_explicit_size_too_large_is_refused(workdir, tmp_path):
    with pytest.raises(DataError, match=r"size\(s\) 50 images per class.*Fix: use sizes up to"):
        run_study(load_busi(workdir / "us"), tmp_path, arms=["baseline"], sizes=[2, 50], profile=PROFILE)


STUDY_SCRIPT = """
from dataclasses import replace
from mstl_lib.data.datasets import load_busi
from mstl_lib.profiles import get_profile
from mstl_lib.training.study import run_study
profile = replace(
    get_profile("smoke"), epochs_stage1=2, epochs_stage2=1, folds=3, study_sizes=(2, "all"), study_fractions=(0.5,)
)
run_study(load_busi({us!r}), {out!r}, arms=["scratch", "baseline"], repeats=1, profile=profile, progress=False)
"""


def test_killed_study_resumes_without_touching_finished_results(workdir):
    out = workdir / "killed"
    script = workdir / "study.py"
    script.write_text(textwrap.dedent(STUDY_SCRIPT.format(us=str(workdir / "us"), out=str(out))))
    kill_when_written(script, study_result_path(out, "scratch", None, 2, 0, 1))
    finished = {p: p.read_bytes() for p in (out / "results").rglob("*.json")}
    assert 1 <= len(finished) < 12

    results = run_study(
        load_busi(workdir / "us"), out, arms=["scratch", "baseline"], repeats=1, profile=PROFILE, progress=False
    )
    assert len(results) == 12  # 2 arms x 2 sizes x 3 folds
    for path, content in finished.items():
        assert path.read_bytes() == content
    assert not list((out / "results").rglob("*.tmp"))
    with pytest.raises(
        DataError, match=r"profile\.epochs_stage2: 1 there, 2 now; repeats: 1 there, 2 now.*--overwrite"
    ):
        other = replace(PROFILE, epochs_stage2=2)
        run_study(load_busi(workdir / "us"), out, arms=["scratch", "baseline"], repeats=2, profile=other)


def test_study_results_are_paired_and_follow_the_contract(workdir, stage1, tmp_path):
    out = tmp_path / "study"
    code = main(
        ["study", str(workdir / "us"), "--stage1", str(workdir / "stage1"), "--out", str(out), "-q"]
        + ["--profile", "smoke", "--epochs", "1", "--sizes", "2", "all", "--repeats", "1", "--seed", "0"]
        + ["--arms", "ctl", "mstl", "control"]
    )
    assert code == 0
    manifest = json.loads((out / STUDY_MANIFEST).read_text())
    assert manifest["kind"] == "study" and manifest["sizes"] == ["2", "all"] and manifest["repeats"] == 1
    results = [json.loads(p.read_text()) for p in sorted((out / "results").rglob("fold*.json"))]
    assert len(results) == 3 * 2 * 3 + 3  # arms x sizes x folds, then MSTL from half the patches at size 2
    for fold in range(3):
        mine = [r for r in results if r["fold"] == fold]
        assert len({tuple(r["test_images"]) for r in mine}) == 1 and len({tuple(r["val_images"]) for r in mine}) == 1
        small = [r for r in mine if r["size_label"] == "2"]
        assert all(r["n_per_class"] == 2 and r["train_counts"] == {"benign": 2, "malignant": 2} for r in small)
        full = next(r for r in mine if r["size_label"] == "all")
        assert set(small[0]["train_images"]) < set(full["train_images"])
        assert {r["n_train_part"] for r in mine} == {full["n_train"]}  # every size records the pool it drew from
    for r in results:
        assert set(r["metrics"]) >= {"auc", "accuracy", "loss", "sensitivity", "specificity", "f1"}
        assert len(r["y_score"]) == len(r["y_true"]) == r["n_test"] and np.isfinite(r["y_score"]).all()
        assert r["stage1_fraction"] == (None if r["arm"] == "ctl" else r["stage1_fraction"])
        assert r["seconds"]["fit"] > 0 and r["epochs_trained"] == 1
    assert {r["stage1_fraction"] for r in results if r["arm"] == "mstl"} == {0.5, 1.0}


def test_a_second_writer_of_a_study_folder_is_refused_naming_the_first(workdir, tmp_path):
    from mstl_lib.locks import writer_locks

    out = tmp_path / "busy"
    lock = out / ".locks" / "scratch-fnone-n2-r0-fold0.lock"
    with writer_locks([lock], output=out, fix="wait"):
        with pytest.raises(DataError, match=rf"(?s){out}.*process {__import__('os').getpid()}.*another --out"):
            run_study(load_busi(workdir / "us"), out, arms=["scratch"], repeats=1, profile=PROFILE, progress=False)
    assert not (out / STUDY_MANIFEST).exists() and not (out / "results").exists()

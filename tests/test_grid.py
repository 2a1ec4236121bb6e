"""The grid end to end on tiny synthetic data: generic stage, stage 1, the four arms, kill and resume, report."""

from __future__ import annotations

import copy
import json
import textwrap
from dataclasses import replace

import pytest
from conftest import kill_when_written

from mstl_lib.cli import main
from mstl_lib.data.datasets import load_busi
from mstl_lib.data.synthetic import write_cell_frames, write_ultrasound_set
from mstl_lib.errors import DataError
from mstl_lib.evaluation.report import grid_statistics, report_dict, table1
from mstl_lib.evaluation.results import load_results, result_path
from mstl_lib.profiles import get_profile
from mstl_lib.run_files import stage1_model_path
from mstl_lib.teaching.grid_text import format_report
from mstl_lib.training.fold_model import load_fold_model
from mstl_lib.training.grid import run_grid
from mstl_lib.training.manifest import write_grid_manifest
from mstl_lib.training.stages import run_stage1

pytestmark = pytest.mark.slow
PROFILE = replace(get_profile("smoke"), epochs_stage1=1, epochs_stage2=1, folds=3)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    from mstl_lib.data.patches import build_patch_dataset

    root = tmp_path_factory.mktemp("grid")
    write_cell_frames(root / "frames", 3, seed=0, size=(452, 612), progress=False)
    build_patch_dataset(root / "frames", root / "patches", per_class=10, progress=False)
    write_ultrasound_set(root / "us", 9, seed=0, progress=False)
    code = main(
        [
            "pretrain",
            str(root / "patches"),
            "--backbone",
            "resnet10",
            "--optimizer",
            "adam",
            "--out",
            str(root / "stage1"),
            "--profile",
            "smoke",
            "--epochs",
            "1",
            "-q",
        ]
    )
    assert code == 0 and stage1_model_path(root / "stage1", "resnet10", "adam").is_file()
    summary = json.loads((root / "stage1" / "resnet10-adam" / "stage1.json").read_text())
    assert summary["n_test"] > 0 and 0 <= summary["test_accuracy"] <= 1 and summary["weights"] == "fractaldb"
    assert sum(map(sum, summary["confusion_matrix"])) == summary["n_test"]
    again = run_stage1(
        root / "patches", root / "stage1", backbone="resnet10", optimizer="adam", profile=PROFILE, verbose=0
    )
    assert again["best_epoch"] == summary["best_epoch"]  # a finished stage 1 is loaded, not retrained
    return root


GRID_SCRIPT = """
from dataclasses import replace
from mstl_lib.cli import main
from mstl_lib.data.datasets import load_busi
from mstl_lib.training.grid import run_grid
from mstl_lib.profiles import get_profile
profile = replace(get_profile("smoke"), epochs_stage1=1, epochs_stage2=1, folds=3)
run_grid(load_busi({us!r}), {out!r}, stage1_dir={stage1!r}, profile=profile, progress=False)
"""


def test_killed_grid_resumes_and_report_has_every_column(workdir):
    out = workdir / "grid"
    script = workdir / "grid.py"
    script.write_text(
        textwrap.dedent(GRID_SCRIPT.format(us=str(workdir / "us"), out=str(out), stage1=str(workdir / "stage1")))
    )
    first = result_path(out, "scratch", "resnet10", "adam", 0)
    kill_when_written(script, first)
    finished = {p: p.read_bytes() for p in (out / "results").glob("*/*.json")}
    assert 1 <= len(finished) < 12

    results = run_grid(load_busi(workdir / "us"), out, stage1_dir=workdir / "stage1", profile=PROFILE, progress=False)
    assert len(results) == 12  # 3 folds x (scratch, CTL, MSTL, baseline)
    for path, content in finished.items():
        assert path.read_bytes() == content  # finished results untouched
    assert not list((out / "results").glob("*/*.tmp"))

    loaded = load_results(out)
    table = table1(loaded)
    assert list(table.columns) == [
        "TL type",
        "CNN",
        "Optimizer",
        "Folds",
        "AUC",
        "F1 score",
        "Specificity",
        "Sensitivity",
        "Loss",
        "Test accuracy",
        "Average",
    ]
    assert list(table["TL type"]) == ["Scratch", "CTL", "MSTL", "Baseline"] and set(table["Folds"]) == {3}
    text = format_report(loaded, manifest=json.loads((out / "manifest.json").read_text()))
    assert "corrected resampled t-test" in text and "Bootstrap" in text and "Profile: smoke" in text
    for result in loaded:
        network = result["tl"] != "baseline"
        assert result["n_train_augmented"] == (3 if network else 1) * result["n_train"]
        assert len(result["y_score"]) == result["n_test"]
    for arm in ("scratch", "ctl", "mstl", "baseline"):
        tested = sorted(i for r in loaded if r["tl"] == arm for i in r["test_images"])
        assert len(tested) == len(set(tested)) == 18  # every image tested exactly once per arm
    folds = {r["fold"]: sorted(r["test_images"]) for r in loaded if r["tl"] == "ctl"}
    assert all(sorted(r["test_images"]) == folds[r["fold"]] for r in loaded)  # the same folds for every arm

    model = load_fold_model(out, "mstl", "resnet10", "adam", 0, stage1_dir=workdir / "stage1")
    assert model.output.shape[-1] == 1


def test_grid_refuses_a_folder_of_another_configuration(workdir):
    out = workdir / "grid"
    if not (out / "manifest.json").is_file():
        pytest.skip("needs the grid of the previous test")
    other = replace(PROFILE, epochs_stage2=2)
    with pytest.raises(DataError, match=r"profile.epochs_stage2: 1 there, 2 now"):
        run_grid(load_busi(workdir / "us"), out, stage1_dir=workdir / "stage1", profile=other, progress=False)


def test_grid_folder_moved_with_its_data_is_accepted_and_other_data_refused(tmp_path):
    manifest = {
        "profile": PROFILE.to_dict(),
        "seed": 0,
        "n_folds": 3,
        "dataset": {"name": "busi", "root": "/course/work/lab/synthetic/ultrasound", "fingerprint": "abc"},
        "folds": [],
        "mixed_precision": False,
        "stage1": {},
    }
    write_grid_manifest(tmp_path, copy.deepcopy(manifest), ["ctl"], ["resnet10"], ["adam"])
    moved = copy.deepcopy(manifest)
    moved["dataset"]["root"] = "/home/student/mstl_work/lab/synthetic/ultrasound"
    write_grid_manifest(tmp_path, moved, ["ctl"], ["resnet10"], ["adam"])
    other = copy.deepcopy(moved)
    other["dataset"]["fingerprint"] = "def"
    with pytest.raises(DataError, match=r"dataset\.fingerprint: 'abc' there, 'def' now"):
        write_grid_manifest(tmp_path, other, ["ctl"], ["resnet10"], ["adam"])


def test_report_statistics_shape(workdir):
    out = workdir / "grid"
    if not (out / "manifest.json").is_file():
        pytest.skip("needs the grid of the previous test")
    stats = grid_statistics(load_results(out), n_resamples=200)
    assert stats["n_configurations"] == 1 and stats["paper_ttest"]["p"] is None
    assert 0 <= stats["corrected_tests"][0]["p"] <= 1
    pairs = {(t["a"], t["b"]) for t in stats["corrected_tests"]}
    assert {("mstl", "ctl"), ("mstl", "scratch"), ("ctl", "scratch"), ("mstl", "baseline")} <= pairs
    assert [b["tl"] for b in stats["bootstrap"]] == ["scratch", "ctl", "mstl", "baseline"]
    assert all(b["auc"]["low"] <= b["auc"]["estimate"] <= b["auc"]["high"] for b in stats["bootstrap"])
    assert isinstance(stats["collapsed"], list)
    data = report_dict(load_results(out), json.loads((out / "manifest.json").read_text()))
    assert {"table1", "folds", "statistics", "manifest"} <= set(data)
    assert data["manifest"]["versions"]["tensorflow"]


def test_report_command(workdir, capsys):
    out = workdir / "grid"
    if not (out / "manifest.json").is_file():
        pytest.skip("needs the grid of the first test")
    assert main(["report", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Table 1" in text and "MSTL" in text and "CTL" in text
    assert main(["report", str(out), "--json"]) == 0
    folds = json.loads(capsys.readouterr().out)["folds"]
    assert len(folds) == 12 and {f["tl"] for f in folds} == {"scratch", "ctl", "mstl", "baseline"}
    assert main(["report", str(workdir)]) == 2


def test_mstl_without_stage1_is_refused(workdir):
    with pytest.raises(DataError, match="mstl pretrain"):
        run_grid(
            load_busi(workdir / "us"), workdir / "g2", stage1_dir=workdir / "none", profile=PROFILE, progress=False
        )


def test_mixed_precision_mstl_trains_and_is_kept_apart_from_float32(workdir):
    out = workdir / "grid"
    if not (out / "manifest.json").is_file():
        pytest.skip("needs the grid of the first test")
    dataset = load_busi(workdir / "us")
    with pytest.raises(DataError, match="mixed_precision: False there, True now"):
        run_grid(dataset, out, stage1_dir=workdir / "stage1", profile=PROFILE, mixed_precision=True, progress=False)
    # the float32 stage-1 model is given the mixed policy; the loss-scaled optimizer's schedule is still logged
    results = run_grid(
        dataset,
        workdir / "mixed",
        stage1_dir=workdir / "stage1",
        profile=PROFILE,
        arms=("mstl",),
        mixed_precision=True,
        jit_compile=False,
        progress=False,
    )
    assert len(results) == 3
    for result in results:
        assert all(0.0 <= s <= 1.0 for s in result["y_score"]) and len(result["y_score"]) == result["n_test"]
        assert result["history"]["learning_rate"][0] == pytest.approx(PROFILE.learning_rate)
    assert json.loads((workdir / "mixed" / "manifest.json").read_text())["mixed_precision"] is True

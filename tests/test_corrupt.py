"""Corrupt files are named as corrupt, with the fix; a corrupt result is moved aside and its fold trained again."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mstl_lib.data.synthetic import write_ultrasound_set
from mstl_lib.errors import DataError
from mstl_lib.integrity import CorruptFileError, check_keras_archive, read_json, set_aside


def mstl(*argv) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mstl_lib", *map(str, argv)], capture_output=True, text=True)


def test_truncated_and_empty_json_are_named_as_corrupt(tmp_path):
    path = tmp_path / "fold0.json"
    path.write_text('{"tl": "ctl", "metr')
    with pytest.raises(CorruptFileError, match=rf"{path}.*Fix: retrain"):
        read_json(path, fix="retrain.")
    path.write_text("")
    with pytest.raises(CorruptFileError, match="empty file"):
        read_json(path, fix="retrain.")
    assert set_aside(path).name == "fold0.json.corrupt" and not path.exists()
    path.write_text("")
    assert set_aside(path).name == "fold0.json.corrupt2"


def test_a_corrupt_model_archive_is_named_not_missing(tmp_path):
    from mstl_lib.models.networks import load_model

    model = tmp_path / "model.keras"
    model.write_bytes(b"PK\x03\x04 cut short")
    with pytest.raises(CorruptFileError, match=r"model\.keras.*Fix: make it again"):
        check_keras_archive(model, fix="make it again.")
    with pytest.raises(CorruptFileError, match="is corrupt"):
        load_model(model)


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """A finished baseline-only grid (no network: seconds), made by the command line."""
    root = tmp_path_factory.mktemp("corrupt")
    us = write_ultrasound_set(root / "us", 9, seed=0, progress=False)
    done = mstl("grid", us, "--out", root / "grid", "--arms", "baseline", "-q")
    assert done.returncode == 0, done.stderr
    return root


def _results(out):
    return sorted((out / "results").glob("*/fold*.json"))


@pytest.mark.slow
def test_report_names_a_corrupt_result_and_skips_it(grid):
    out = grid / "grid"
    broken = _results(out)[0]
    original = broken.read_bytes()
    broken.write_bytes(original[: len(original) // 2])
    try:
        done = mstl("report", out)
        assert done.returncode == 0 and "Traceback" not in done.stderr
        assert "warning" in done.stderr and str(broken) in done.stderr and "Skipped" in done.stderr
        assert "Table 1" in done.stdout
    finally:
        broken.write_bytes(original)


@pytest.mark.slow
def test_grid_moves_a_corrupt_result_aside_and_trains_that_fold_again(grid):
    out = grid / "grid"
    truncated, empty, kept = _results(out)
    originals = {p: p.read_bytes() for p in (truncated, empty, kept)}
    truncated.write_bytes(originals[truncated][:100])
    empty.write_text("")
    done = mstl("grid", grid / "us", "--out", out, "--arms", "baseline", "-q")
    assert done.returncode == 0 and "Traceback" not in done.stderr
    for path in (truncated, empty):
        assert f"{path} is corrupt" in done.stderr and f"moved to {path.name}.corrupt" in done.stderr
        assert path.with_name(path.name + ".corrupt").is_file()
        assert path.read_bytes() == originals[path]  # trained again (the baseline is deterministic)
    assert kept.read_bytes() == originals[kept]


@pytest.mark.slow
def test_a_corrupt_manifest_is_named_with_the_fix(grid):
    manifest = grid / "grid" / "manifest.json"
    original = manifest.read_bytes()
    manifest.write_bytes(original[:50])
    try:
        for done in (
            mstl("report", grid / "grid"),
            mstl("grid", grid / "us", "--out", grid / "grid", "--arms", "baseline", "-q"),
        ):
            assert done.returncode == 2 and "Traceback" not in done.stderr
            assert f"{manifest} is corrupt" in done.stderr and "Fix:" in done.stderr
            assert "File not found" not in done.stderr
        assert manifest.read_bytes() == original[:50]  # nothing rewritten
    finally:
        manifest.write_bytes(original)


@pytest.mark.slow
def test_a_corrupt_stage1_model_stops_the_grid_before_any_training(tmp_path):
    us = write_ultrasound_set(tmp_path / "us", 3, seed=0, progress=False)
    model = tmp_path / "stage1" / "resnet10-adam" / "model.keras"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"truncated")
    done = mstl("grid", us, "--stage1", tmp_path / "stage1", "--out", tmp_path / "g", "--arms", "scratch", "mstl", "-q")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{model} is corrupt" in done.stderr and "--overwrite" in done.stderr
    assert not (tmp_path / "g").exists()  # found before the scratch arm trained anything


def test_library_reader_raises_for_a_corrupt_result(tmp_path):
    from mstl_lib.evaluation.results import load_results

    (tmp_path / "manifest.json").write_text("{}")
    (tmp_path / "results" / "ctl-a-b").mkdir(parents=True)
    (tmp_path / "results" / "ctl-a-b" / "fold0.json").write_text(json.dumps({"tl": "ctl"}))
    (tmp_path / "results" / "ctl-a-b" / "fold1.json").write_text("{")
    with pytest.raises(DataError, match="fold1.json is corrupt"):
        load_results(tmp_path)
    seen = []
    assert load_results(tmp_path, on_corrupt=seen.append) == [{"tl": "ctl"}]
    assert [error.path.name for error in seen] == ["fold1.json"]

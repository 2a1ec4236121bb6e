"""Provenance that cannot lie: a finished folder is reused only with every recorded setting equal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from mstl_lib.data.synthetic import write_ultrasound_set
from mstl_lib.errors import DataError
from mstl_lib.profiles import get_profile
from mstl_lib.provenance import ProvenanceError, check_reusable, differing_settings


def test_differences_are_found_field_by_field():
    recorded = {"seed": 0, "profile": {"epochs_stage1": 1, "image_size": 75}, "weights": "fractaldb"}
    wanted = {"seed": 5, "profile": {"epochs_stage1": 7, "image_size": 75}, "weights": None, "deterministic": True}
    assert differing_settings(recorded, wanted) == {
        "seed": (0, 5),
        "profile.epochs_stage1": (1, 7),
        "weights": ("fractaldb", None),
    }  # "deterministic" was not recorded: not compared
    assert differing_settings(recorded, wanted, defaults={"deterministic": False})["deterministic"] == (False, True)
    assert differing_settings({"grid": ("a", "b")}, {"grid": ["a", "b"]}) == {}


def test_the_refusal_names_each_field_both_values_and_the_fix(tmp_path):
    check_reusable(tmp_path, {"seed": 0}, {"seed": 0}, what="a stage-1 run")  # equal: no error
    with pytest.raises(ProvenanceError) as refusal:
        check_reusable(tmp_path, {"seed": 0, "weights": "fractaldb"}, {"seed": 5, "weights": None}, what="a grid run")
    message = str(refusal.value)
    assert str(tmp_path) in message and "grid run" in message
    assert "seed: 0 there, 5 now; weights: 'fractaldb' there, None now" in message
    assert "Nothing was written" in message and "new --out" in message and "--overwrite" in message
    assert refusal.value.differences == {"seed": (0, 5), "weights": ("fractaldb", None)}


@pytest.mark.slow
def test_grid_manifest_records_deterministic_and_refuses_the_other_setting(tmp_path):
    from mstl_lib.data.datasets import load_busi
    from mstl_lib.training.grid import run_grid

    dataset = load_busi(write_ultrasound_set(tmp_path / "us", 9, seed=0, progress=False))
    out = tmp_path / "grid"
    options = {"profile": get_profile("smoke"), "arms": ("baseline",), "progress": False}
    assert len(run_grid(dataset, out, **options)) == 3
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["deterministic"] is False and manifest["jit_compile"] == "auto" and "strategy" in manifest
    before = (out / "manifest.json").read_bytes()
    with pytest.raises(ProvenanceError, match="deterministic: False there, True now"):
        run_grid(dataset, out, deterministic=True, **options)
    with pytest.raises(ProvenanceError, match="seed: 0 there, 3 now"):
        run_grid(dataset, out, seed=3, **options)
    assert (out / "manifest.json").read_bytes() == before  # nothing rewritten
    assert len(run_grid(dataset, out, deterministic=True, overwrite=True, **options)) == 3
    assert json.loads((out / "manifest.json").read_text())["deterministic"] is True
    with pytest.raises(DataError, match=r"overwrite=True.*shard.*Fix"):
        run_grid(dataset, out, shard="1/2", overwrite=True, **options)


def mstl(*argv, **kwargs):
    return subprocess.run([sys.executable, "-m", "mstl_lib", *map(str, argv)], capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def patches(tmp_path_factory):
    from mstl_lib.data.patches import build_patch_dataset
    from mstl_lib.data.synthetic import write_cell_frames

    root = tmp_path_factory.mktemp("provenance")
    write_cell_frames(root / "frames", 3, seed=0, size=(452, 612), progress=False)
    build_patch_dataset(root / "frames", root / "patches", per_class=10, progress=False)
    return root


@pytest.mark.slow
def test_pretrain_reuses_only_its_own_settings_and_one_writer_at_a_time(patches):
    out = patches / "stage1"
    pretrain = ["pretrain", patches / "patches", "--out", out, "--epochs", "1", "-q"]
    first = subprocess.Popen(
        [sys.executable, "-m", "mstl_lib", *map(str, pretrain)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    lock = out / ".locks" / "resnet10-adam.lock"
    deadline = time.monotonic() + 240
    while not lock.is_file() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    second = mstl(*pretrain)  # while the first trains
    assert first.wait(timeout=600) == 0, first.stderr.read().decode()[-2000:]
    assert second.returncode == 2 and "Traceback" not in second.stderr
    assert f"is being written by process {first.pid} (`python -m mstl_lib pretrain {patches}" in second.stderr

    run = out / "resnet10-adam"
    files = {p: p.read_bytes() for p in (run / "stage1.json", run / "model.keras")}
    refused = mstl("pretrain", patches / "patches", "--out", out, "--epochs", "7", "--seed", "5", "--weights", "none")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    for field in (
        "profile.epochs_stage1: 1 there, 7 now",
        "seed: 0 there, 5 now",
        "weights: 'fractaldb' there, None now",
    ):
        assert field in refused.stderr
    assert "--overwrite" in refused.stderr and "new --out" in refused.stderr
    assert {p: p.read_bytes() for p in files} == files  # nothing rewritten

    again = mstl(*pretrain)
    assert again.returncode == 0 and "reusing it" in again.stdout
    assert {p: p.read_bytes() for p in files} == files
    assert not lock.exists()

    retrained = mstl(*pretrain, "--seed", "1", "--overwrite")
    assert retrained.returncode == 0, retrained.stderr
    summary = json.loads((run / "stage1.json").read_text())
    assert summary["seed"] == 1 and summary["settings"]["seed"] == 1 and summary["settings"]["data"]["fingerprint"]
    assert os.path.getsize(run / "model.keras") > 0

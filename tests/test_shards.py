"""Spreading the grid: shards of one grid in one folder, several workers on one machine, ``--shard auto``."""

from __future__ import annotations

import json
import os
import textwrap
from dataclasses import replace

import pytest
from conftest import kill_when_written

from mstl_lib.cli import build_parser, main
from mstl_lib.data.datasets import load_busi
from mstl_lib.data.synthetic import write_ultrasound_set
from mstl_lib.errors import DataError
from mstl_lib.evaluation.results import result_path
from mstl_lib.outputs import write_json
from mstl_lib.profiles import get_profile
from mstl_lib.training.grid import _grid_units, count_grid_units, run_grid
from mstl_lib.training.scheduling import GPU_MEMORY_GROWTH
from mstl_lib.training.shards import parse_shard, shard_summary, shard_units

# Pure functions first (no training)


@pytest.mark.parametrize(
    "spec, expected",
    [
        (None, None),
        ("1/1", (1, 1)),
        ("1/2", (1, 2)),
        ("2/2", (2, 2)),
        (" 3 / 8 ", (3, 8)),
        ((4, 8), (4, 8)),
    ],
)
def test_shard_specs(spec, expected):
    assert parse_shard(spec) == expected


@pytest.mark.parametrize("spec", ["3/2", "0/2", "a/b", "1/0", "-1/2", "1/2/3", "2", "", (0, 1), (1, 2, 3), (True, 2)])
def test_bad_shard_specs_are_refused_with_the_fix(spec):
    with pytest.raises(DataError, match="Fix"):
        parse_shard(spec)


@pytest.mark.parametrize(
    "environ, expected",
    [
        ({"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "0"}, (1, 4)),
        ({"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "0"}, (4, 4)),
        ({"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "1"}, (1, 4)),
        ({"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "1"}, (4, 4)),
        ({"SLURM_ARRAY_TASK_ID": "12", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "10"}, (3, 3)),
        (
            {
                "SLURM_ARRAY_TASK_ID": "14",
                "SLURM_ARRAY_TASK_COUNT": "3",
                "SLURM_ARRAY_TASK_MIN": "10",
                "SLURM_ARRAY_TASK_STEP": "2",
            },
            (3, 3),
        ),
        ({"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "5"}, (3, 5)),  # no MIN: the array starts at 0
        ({"JOB_COMPLETION_INDEX": "0", "MSTL_SHARD_COUNT": "6"}, (1, 6)),
        ({"JOB_COMPLETION_INDEX": "5", "MSTL_SHARD_COUNT": "6"}, (6, 6)),
    ],
)
def test_shard_auto_reads_slurm_and_kubernetes(environ, expected):
    assert parse_shard("auto", environ) == expected
    assert parse_shard("AUTO", environ) == expected


@pytest.mark.parametrize(
    "environ, message",
    [
        ({}, "no job array"),
        ({"SLURM_ARRAY_TASK_ID": "1"}, "SLURM_ARRAY_TASK_COUNT is not"),
        ({"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "0"}, "inconsistent"),
        ({"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "1"}, "inconsistent"),
        (
            {
                "SLURM_ARRAY_TASK_ID": "11",
                "SLURM_ARRAY_TASK_COUNT": "3",
                "SLURM_ARRAY_TASK_MIN": "10",
                "SLURM_ARRAY_TASK_STEP": "2",
            },
            "inconsistent",
        ),
        ({"SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "4"}, "not a whole number"),
        ({"JOB_COMPLETION_INDEX": "2"}, "MSTL_SHARD_COUNT"),
        ({"JOB_COMPLETION_INDEX": "6", "MSTL_SHARD_COUNT": "6"}, "between 1 and N"),
    ],
)
def test_shard_auto_refuses_missing_or_inconsistent_variables(environ, message):
    with pytest.raises(DataError, match=message):
        parse_shard("auto", environ)


def test_shard_auto_reads_this_process_environment(monkeypatch):
    monkeypatch.delenv("SLURM_ARRAY_TASK_ID", raising=False)
    monkeypatch.setenv("JOB_COMPLETION_INDEX", "1")
    monkeypatch.setenv("MSTL_SHARD_COUNT", "3")
    assert parse_shard("auto") == (2, 3)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 40])
def test_shards_are_disjoint_and_cover_the_grid(n):
    units = _grid_units(("scratch", "ctl", "mstl", "baseline"), ("resnet50", "inceptionv3"), ("sgd", "adam"), range(5))
    parts = [shard_units(units, (k, n)) for k in range(1, n + 1)]
    assert sorted(u for part in parts for u in part) == sorted(units)
    assert sum(map(len, parts)) == len(units)
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    assert shard_units(units, None) == units
    assert parts == [shard_units(units, (k, n)) for k in range(1, n + 1)]  # the same every time


def test_count_grid_units_applies_the_profile_defaults_as_run_grid_does():
    smoke = get_profile("smoke")
    expected = len(_grid_units(smoke.arms, smoke.backbones, smoke.optimizers, range(smoke.folds)))
    assert count_grid_units(get_profile("smoke")) == expected == 12  # 3 network arms x 3 folds, and the baseline's 3
    assert count_grid_units(get_profile("smoke"), optimizers=("adam", "sgd")) == 21
    assert count_grid_units(get_profile("smoke"), arms=("baseline",), n_folds=5) == 5
    assert count_grid_units(get_profile("paper")) == 90


def test_shard_summary_names_the_shard_its_units_and_the_report_to_run():
    line = shard_summary((2, 2), 6, 12, "runs/grid")
    assert line == "shard 2/2: 6 of 12 units trained; run `mstl report runs/grid` when all shards are done"


def test_a_shard_prints_what_it_did_and_an_unsharded_run_prints_table_1(tmp_path, capsys):
    write_ultrasound_set(tmp_path / "us", 6, seed=0, progress=False)
    grid = ["grid", str(tmp_path / "us"), "--arms", "baseline", "--folds", "3", "-q"]
    assert main([*grid, "--out", str(tmp_path / "sharded"), "--shard", "2/2"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1] == (
        f"shard 2/2: 1 of 3 units trained; run `mstl report {tmp_path / 'sharded'}` when all shards are done"
    )
    assert not any("Folds" in line for line in printed)  # no partial Table 1
    assert main([*grid, "--out", str(tmp_path / "whole")]) == 0
    assert "Folds" in capsys.readouterr().out  # the whole grid: Table 1 as before


def test_cli_takes_workers_shard_and_precision_flags():
    args = build_parser().parse_args(
        ["grid", "us", "--out", "g", "--workers", "3", "--shard", "auto", "--mixed-precision", "--no-xla"]
    )
    assert (args.workers, args.shard, args.mixed_precision, args.xla) == (3, "auto", True, False)
    args = build_parser().parse_args(["pretrain", "cells", "--out", "s1", "--xla"])
    assert (args.mixed_precision, args.xla) == (False, True)
    args = build_parser().parse_args(["grid", "us", "--out", "g"])
    assert (args.workers, args.shard, args.mixed_precision, args.xla) == (1, None, False, None)


def test_atomic_writes_leave_no_temporary_file_and_use_unique_names(tmp_path, monkeypatch):
    target = tmp_path / "a" / "fold0.json"
    names = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (names.append(os.path.basename(src)), real_replace(src, dst)))
    write_json(target, {"x": 1})
    write_json(target, {"x": 2})
    assert json.loads(target.read_text()) == {"x": 2}
    assert len(set(names)) == 2 and all(n.startswith(f"fold0.json.{os.getpid()}-") for n in names)
    assert [p.name for p in target.parent.iterdir()] == ["fold0.json"]


# Training: tiny grids (resnet10, one epoch, deterministic)

PROFILE = replace(get_profile("smoke"), epochs_stage2=1, folds=3)
GRID = dict(arms=("scratch", "baseline"), optimizers=("adam", "sgd"), deterministic=True, progress=False)
KILLED_SHARD = """
from dataclasses import replace
from mstl_lib.data.datasets import load_busi
from mstl_lib.training.grid import run_grid
from mstl_lib.profiles import get_profile
run_grid(load_busi({us!r}), {out!r}, profile=replace(get_profile("smoke"), epochs_stage2=1, folds=3),
         arms=("scratch", "baseline"), optimizers=("adam", "sgd"), deterministic=True, progress=False, shard="1/2")
"""


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """The grid in one run (workers=1, no shards): 2 configurations x 3 folds of resnet10, and the baseline."""
    root = tmp_path_factory.mktemp("shards")
    write_ultrasound_set(root / "us", 9, seed=0, progress=False)
    results = run_grid(load_busi(root / "us"), root / "whole", profile=PROFILE, **GRID)
    assert len(results) == 9
    return root


def _files(out):
    return {
        p.relative_to(out / "results").as_posix(): p.read_bytes() for p in sorted((out / "results").glob("*/*.json"))
    }


@pytest.mark.slow
def test_two_shards_in_one_folder_equal_one_run_and_survive_a_kill(whole):
    us, out = whole / "us", whole / "sharded"
    script = whole / "shard.py"
    script.write_text(textwrap.dedent(KILLED_SHARD.format(us=str(us), out=str(out))))
    first = result_path(out, "scratch", "resnet10", "adam", 0)  # unit 0: shard 1's first
    kill_when_written(script, first)
    finished = _files(out)
    assert 1 <= len(finished) < 5  # shard 1 of 2 holds units 0, 2, 4, 6, 8

    dataset = load_busi(us)
    one = run_grid(dataset, out, profile=PROFILE, shard="1/2", **GRID)
    two = run_grid(dataset, out, profile=PROFILE, shard=(2, 2), **GRID)
    assert (len(one), len(two)) == (5, 4)  # each run returns its own shard's results
    assert {(r["tl"], r["optimizer"], r["fold"]) for r in one}.isdisjoint(
        (r["tl"], r["optimizer"], r["fold"]) for r in two
    )
    merged = _files(out)
    for name, content in finished.items():
        assert merged[name] == content  # finished before the kill: untouched
    reference = _files(whole / "whole")
    assert sorted(merged) == sorted(reference) and len(merged) == 9
    for name in reference:
        a, b = json.loads(merged[name]), json.loads(reference[name])
        assert a["metrics"] == b["metrics"] and a["y_score"] == b["y_score"], name
    assert not list((out / "results").glob("*/*.tmp")) and not list(out.glob("*.tmp"))

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["mixed_precision"] is False and len(manifest["grid"]) == 4
    assert main(["report", str(out), "--json"]) == 0  # the report reads the merged folder


@pytest.mark.slow
def test_two_workers_write_the_same_results_as_one(whole, monkeypatch):
    import mstl_lib.training.grid as grid

    environments = []
    real = grid.run_in_child

    def spy(*args, env=None, **kwargs):
        environments.append(env)
        return real(*args, env=env, **kwargs)

    monkeypatch.setattr(grid, "run_in_child", spy)
    results = run_grid(load_busi(whole / "us"), whole / "workers", profile=PROFILE, workers=2, **GRID)
    assert len(results) == 9
    assert environments == [GPU_MEMORY_GROWTH, GPU_MEMORY_GROWTH]  # one child per network configuration
    assert _files(whole / "workers") == _files(whole / "whole")


def test_workers_and_shard_arguments_are_checked(tmp_path):
    write_ultrasound_set(tmp_path / "us", 3, seed=0, progress=False)
    dataset = load_busi(tmp_path / "us")
    for bad in (0, -1, 1.5, True):
        with pytest.raises(DataError, match="workers"):
            run_grid(dataset, tmp_path / "g", profile=PROFILE, arms=("baseline",), workers=bad, progress=False)
    with pytest.raises(DataError, match="isolate"):
        run_grid(dataset, tmp_path / "g", profile=PROFILE, arms=("baseline",), workers=2, isolate=False, progress=False)
    with pytest.raises(DataError, match="between 1 and N"):
        run_grid(dataset, tmp_path / "g", profile=PROFILE, arms=("baseline",), shard="3/2", progress=False)
    assert not (tmp_path / "g").exists()  # refused before anything was written
    assert (
        main(["grid", str(tmp_path / "us"), "--out", str(tmp_path / "g"), "--arms", "baseline", "-q", "--shard", "a/b"])
        == 2
    )

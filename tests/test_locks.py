"""One writer per output: a second run on the same folder is refused naming the first; shards still share one."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from mstl_lib.data.synthetic import write_ultrasound_set
from mstl_lib.locks import FolderBusyError, exclusive, writer_locks

HOLD = """
import sys, time
from pathlib import Path
from mstl_lib.locks import writer_locks
paths = [Path(p) for p in sys.argv[2:]]
with writer_locks(paths, output="held", fix="wait"):
    Path(sys.argv[1]).write_text("held")
    time.sleep(120)
"""


def hold(tmp_path, *lock_paths) -> subprocess.Popen:
    """A separate process holding ``lock_paths`` (as a run in progress does) until it is killed."""
    ready = tmp_path / "ready"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(ready), *map(str, lock_paths)])
    deadline = time.monotonic() + 60
    while not ready.is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ready.is_file()
    return holder


def test_a_held_lock_refuses_a_second_writer_naming_the_first(tmp_path):
    lock = tmp_path / "out" / ".locks" / "a.lock"
    holder = hold(tmp_path, lock)
    try:
        with pytest.raises(FolderBusyError) as busy:
            with writer_locks([tmp_path / "out" / ".locks" / "b.lock", lock], output=tmp_path / "out", fix="wait."):
                pass
        message = str(busy.value)
        assert f"process {holder.pid} (`-c " in message and "started 20" in message and "Fix: wait." in message
        assert not (tmp_path / "out" / ".locks" / "b.lock").exists()  # what it took before the refusal is let go
    finally:
        holder.kill()
        holder.wait()
    with writer_locks([lock], output="out", fix="-"):  # the system let go of the killed holder's lock
        assert lock.is_file()
    assert not lock.exists() and not lock.parent.exists()  # no lock file left behind


def test_exclusive_lock_is_shared_by_the_generic_stage():
    from mstl_lib.training import generic

    assert generic.exclusive is exclusive


def _grid(us: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "mstl_lib", "grid", str(us), "--out", str(out), "--arms", "baseline", "-q"]
    return subprocess.run([*command, *extra], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_shards_write_side_by_side_while_a_whole_grid_is_refused(tmp_path):
    from mstl_lib.data.datasets import load_busi
    from mstl_lib.data.splits import cross_validation_folds
    from mstl_lib.profiles import get_profile
    from mstl_lib.training.grid import _grid_units, _lock_paths
    from mstl_lib.training.shards import shard_units

    us = write_ultrasound_set(tmp_path / "us", 9, seed=0, progress=False)
    out = tmp_path / "grid"
    dataset = load_busi(us)
    folds = cross_validation_folds(dataset.labels, dataset.groups, n_folds=get_profile("smoke").folds, seed=0)
    units = _grid_units(("baseline",), ("resnet10",), ("adam",), folds)
    holder = hold(tmp_path, *_lock_paths(out, shard_units(units, (1, 2))))  # shard 1 of 2, mid-run
    try:
        second = _grid(us, out, "--shard", "2/2")
        assert second.returncode == 0, second.stderr
        assert sorted(p.name for p in (out / "results").glob("*/*.json")) == ["fold1.json"]
        whole = _grid(us, out)
        assert whole.returncode == 2 and "Traceback" not in whole.stderr
        assert f"is being written by process {holder.pid}" in whole.stderr and "--shard K/N" in whole.stderr
    finally:
        holder.kill()
        holder.wait()
    first = _grid(us, out, "--shard", "1/2")
    assert first.returncode == 0, first.stderr
    assert len(list((out / "results").glob("*/*.json"))) == 3
    assert not (out / ".locks").exists()


@pytest.mark.slow
def test_two_grids_started_together_never_break_each_other(tmp_path):
    us = write_ultrasound_set(tmp_path / "us", 9, seed=0, progress=False)
    out = tmp_path / "grid"
    command = [sys.executable, "-m", "mstl_lib", "grid", str(us), "--out", str(out), "--arms", "baseline", "-q"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outcomes = [(run.wait(timeout=300), run.stderr.read()) for run in runs]
    for code, err in outcomes:
        assert "Traceback" not in err
        # either it ran, or it found the other one writing and said so (who, once the holder has written it;
        # in the instant between taking the lock and writing its pid, "another process"), or found all done
        assert code == 0 or (code == 2 and "is being written by" in err and "Nothing was written" in err), err
    assert any(code == 0 for code, _ in outcomes)
    done = _grid(us, out)
    assert done.returncode == 0 and len(list((out / "results").glob("*/*.json"))) == 3

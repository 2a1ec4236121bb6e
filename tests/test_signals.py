"""Signals: the training children stop with their parent, nothing is written after it reports, no folder is left.

Real processes and real signals: ``kill -TERM`` / ``kill -INT`` to the parent
only (what a scheduler or supervisor does), SIGKILL of a child (the OOM
killer), SIGKILL of the parent, Ctrl-C in ``mstl book`` and in ``mstl synth``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from mstl_lib.errors import MSTLError
from mstl_lib.training.child import run_in_child

pytestmark = pytest.mark.slow
PARAMETERS = 'profile = "smoke"\nwork_dir = None\nseed = 0\nweights = "profile"\nprogress = False'


def default_sigint() -> None:
    """In the started process: SIGINT as in a terminal (a background job of a shell inherits it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def children_of(pid: int) -> list[int]:
    """The pids of the processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def gone(pid: int, timeout: float = 10.0) -> bool:
    """Whether process ``pid`` has ended (or become a zombie) within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":
            return True
        time.sleep(0.1)
    return False


def wait_for(condition, timeout: float = 240.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        if process is not None and process.poll() is not None:
            pytest.fail(f"the process ended first: {process.stderr.read()[-2000:]}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def us(tmp_path_factory):
    from mstl_lib.data.synthetic import write_ultrasound_set

    return write_ultrasound_set(tmp_path_factory.mktemp("signals") / "us", 9, seed=0, progress=False)


@pytest.mark.parametrize(
    "signum, code, said", [(signal.SIGTERM, 143, "terminated (SIGTERM)"), (signal.SIGINT, 130, "interrupted")]
)
def test_a_signal_to_the_grid_stops_its_child_and_writes_nothing_after(tmp_path, us, signum, code, said):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    out = tmp_path / "grid"
    grid = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mstl_lib",
            "grid",
            str(us),
            "--out",
            str(out),
            "--arms",
            "scratch",
            "--epochs",
            "3",
            "-q",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(temporary)},
        preexec_fn=default_sigint,
    )
    wait_for(
        lambda: (out / "runs" / "scratch-resnet10-adam" / "fold0").is_dir() and children_of(grid.pid), process=grid
    )
    children = children_of(grid.pid)
    assert list(temporary.glob("mstl-child-*"))
    os.kill(grid.pid, signum)  # the parent only, as a scheduler does
    err = grid.communicate(timeout=60)[1]
    assert grid.returncode == code
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("mstl grid:") and said in last and "rerun the same command" in last
    assert all(gone(child) for child in children)
    assert not list(temporary.glob("mstl-child-*"))  # the job's temporary folder is removed
    time.sleep(3)
    assert not list((out / "results").glob("*/*.json"))  # nothing written after the parent reported


def test_a_child_killed_like_the_oom_killer_does_is_reported_as_memory(tmp_path):
    log = tmp_path / "train.log"
    log.write_text("I0000 00:00:1.5 some TensorFlow line\n" * 20)
    with pytest.raises(MSTLError) as error:
        run_in_child(signal.raise_signal, signal.SIGKILL, log_path=log)
    message = str(error.value)
    assert "out of memory" in message
    assert "rerun the same command to resume" in message and str(log) in message
    assert "TensorFlow line" not in message  # no log dump


KILL_PARENT = """
import os, sys
from mstl_lib.training.child import run_in_child
run_in_child(os.system, "touch " + sys.argv[1] + "; sleep 30")
"""


def test_a_child_dies_with_its_killed_parent_and_its_folder_goes_with_the_next_job(tmp_path, monkeypatch):
    import tempfile

    from mstl_lib.profiles import get_profile

    temporary = tmp_path / "tmp"
    temporary.mkdir()
    running = tmp_path / "running"
    parent = subprocess.Popen(
        [sys.executable, "-c", KILL_PARENT, str(running)], env={**os.environ, "TMPDIR": str(temporary)}
    )
    wait_for(running.is_file)  # the job runs: the child has asked to die with its parent
    child = children_of(parent.pid)[0]
    parent.kill()
    parent.wait()
    assert gone(child, timeout=30)
    assert [p.name.split("-")[2] for p in temporary.glob("mstl-child-*")] == [str(parent.pid)]  # SIGKILL: no cleanup
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    assert run_in_child(get_profile, "smoke").name == "smoke"
    assert not list(temporary.glob("mstl-child-*"))  # the next job removed it


def _book_root(tmp_path: Path) -> Path:
    notebook = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell(PARAMETERS)
    parameters.metadata["tags"] = ["parameters"]
    started = tmp_path / "started"
    notebook.cells = [
        parameters,
        nbformat.v4.new_code_cell(f"import time, pathlib\npathlib.Path({str(started)!r}).touch()\ntime.sleep(120)"),
    ]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (tmp_path / "notebooks").mkdir()
    nbformat.write(notebook, tmp_path / "notebooks" / "01_probe.ipynb")
    (tmp_path / "_toc.yml").write_text("root: intro\n")
    return tmp_path


def test_ctrl_c_in_mstl_book_prints_one_line(tmp_path):
    root = _book_root(tmp_path)
    book = subprocess.Popen(
        [sys.executable, "-m", "mstl_lib", "book", "--root", str(root), "--only", "01"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=default_sigint,
    )
    wait_for(lambda: (tmp_path / "started").is_file(), process=book)
    kernels = children_of(book.pid)
    os.killpg(book.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole foreground group
    err = book.communicate(timeout=60)[1]
    assert book.returncode == 130
    assert err.strip() == "mstl book: interrupted"
    assert all(gone(kernel) for kernel in kernels)


def test_an_interrupted_synth_leaves_nothing_the_rerun_refuses(tmp_path):
    out = tmp_path / "synth"
    synth = subprocess.Popen(
        [sys.executable, "-m", "mstl_lib", "synth", str(out), "--size", "lab", "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=default_sigint,
    )
    wait_for(lambda: any((out / "cells.partial").glob("*/*.png")), process=synth)
    os.killpg(synth.pid, signal.SIGINT)
    err = synth.communicate(timeout=60)[1]
    assert synth.returncode == 130 and err.strip() == "mstl synth: interrupted"
    assert not (out / "cells").exists()  # only the .partial folder, which the rerun starts afresh
    rerun = subprocess.run([sys.executable, "-m", "mstl_lib", "synth", str(out), "-q"], capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(p.name for p in out.iterdir()) == ["cells", "ultrasound"]

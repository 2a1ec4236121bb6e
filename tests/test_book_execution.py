"""The book's notebook execution never waits forever: time limits, a kernel watchdog, one retry."""

from __future__ import annotations

import math
import time

import nbformat
import pytest

from mstl_lib.errors import DataError
from mstl_lib.teaching import book, execution

PARAMETERS = 'profile = "smoke"\nwork_dir = None\nseed = 0\nweights = "profile"\nprogress = True'
STOP_KERNEL = "import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)  # the kernel stops answering"
# After this cell the kernel takes no more requests: no "busy", no reply, no "idle" (a dropped request).
DROP_REQUESTS = """kernel = get_ipython().kernel
publish, statuses = kernel._publish_status, []

def publish_only_this_cells_idle(*args, **kwargs):
    statuses.append(args)
    if len(statuses) == 1:
        publish(*args, **kwargs)

kernel._publish_status = publish_only_this_cells_idle
kernel.shell_handlers["execute_request"] = lambda *args, **kwargs: None"""


def lesson_root(tmp_path, *sources):
    """A book root with one lesson, 01_probe.ipynb: a parameters cell, then ``sources``."""
    notebook = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell(PARAMETERS)
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [parameters, *(nbformat.v4.new_code_cell(source) for source in sources)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (tmp_path / "notebooks").mkdir()
    nbformat.write(notebook, tmp_path / "notebooks" / "01_probe.ipynb")
    return tmp_path


def run(root, **options):
    lines = []
    started = time.monotonic()
    try:
        book.execute_notebooks(root, root / "out", work_dir=root / "work", log=lines.append, **options)
    except DataError as error:
        return str(error), lines, time.monotonic() - started
    return None, lines, time.monotonic() - started


@pytest.mark.slow
def test_a_stopped_kernel_ends_the_run_with_the_fix(tmp_path):
    root = lesson_root(tmp_path, 'print("before")', STOP_KERNEL, 'print("never")')
    error, lines, wall = run(root, cell_timeout=5)
    assert wall < 60
    assert error is not None
    assert error.startswith("01_probe.ipynb, cell 3 of 4 (`import os, signal`): the cell was still running after")
    assert "(its time limit: 5 s)" in error
    assert "--only 01" in error and "--cell-timeout SECONDS` (now 5 s)" in error
    executed = nbformat.read(root / "out" / "01_probe.ipynb", as_version=4)  # written as far as it ran
    assert [o.get("text") for o in executed.cells[2].outputs] == ["before\n"]


@pytest.mark.slow
def test_a_silent_heartbeat_ends_a_cell_before_its_time_limit(tmp_path):
    root = lesson_root(tmp_path, STOP_KERNEL)
    started = time.monotonic()
    with pytest.raises(execution.CellStall) as stall:
        execution.execute_notebook(
            root / "notebooks" / "01_probe.ipynb",
            root / "out.ipynb",
            parameters={},
            cell_timeout=300,
            heartbeat_seconds=3,
            kernel_log=root / "kernel.log",
        )
    assert stall.value.kind == "silent" and stall.value.waited < 30
    assert time.monotonic() - started < 60
    assert "stopped answering" in stall.value.what()


@pytest.mark.slow
def test_a_dropped_request_is_retried_once_from_a_fresh_kernel(tmp_path, monkeypatch):
    monkeypatch.setattr(execution, "ACK_SECONDS", 2)
    root = lesson_root(tmp_path, DROP_REQUESTS, 'print("never")')
    error, lines, wall = run(root, cell_timeout=60)
    assert wall < 60
    retries = [line for line in lines if "retrying the lesson once from a fresh kernel" in line]
    assert len(retries) == 1 and 'cell 3 of 3 (`print("never")`)' in retries[0]
    assert "the kernel never took up the request" in error and "--only 01" in error


@pytest.mark.slow
def test_a_long_cell_the_kernel_took_up_is_not_a_dropped_request(tmp_path, monkeypatch):
    monkeypatch.setattr(execution, "ACK_SECONDS", 1)
    root = lesson_root(tmp_path, "import time\ntime.sleep(4)\nprint('slept')")
    error, lines, _ = run(root, cell_timeout=60)
    assert error is None and not any("retrying" in line for line in lines)
    executed = nbformat.read(root / "out" / "01_probe.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0]["text"] == "slept\n"


def test_every_profile_has_a_cell_time_limit():
    assert book.cell_timeout_for("smoke") < book.cell_timeout_for("lab") < book.cell_timeout_for("paper")


@pytest.mark.slow
def test_the_kernel_log_keeps_noise_off_the_terminal(tmp_path):
    noise = (
        "import sys\n"
        "print('I0000 00:00:1.5   12 port.cc:153] oneDNN custom operations are on.', file=sys.__stderr__)\n"
        "print('a real kernel message', file=sys.__stderr__, flush=True)"
    )
    root = lesson_root(tmp_path, noise)
    error, lines, _ = run(root, cell_timeout=60)
    assert error is None
    assert "  kernel: a real kernel message" in lines
    assert not any("oneDNN" in line for line in lines)
    assert "oneDNN" in (root / "out" / ".." / "logs" / "01_probe.kernel.log").resolve().read_text()


def test_mstl_book_takes_a_cell_timeout():
    from mstl_lib.cli import build_parser

    assert build_parser().parse_args(["book", "--cell-timeout", "42"]).cell_timeout == 42
    assert build_parser().parse_args(["book"]).cell_timeout is None  # the profile's default


@pytest.mark.slow
def test_progress_shows_the_running_cell_on_a_terminal_only(tmp_path, monkeypatch):
    import io

    root = lesson_root(tmp_path, "import time\ntime.sleep(2.5)\nprint('slept')")
    terminal = io.StringIO()
    monkeypatch.setattr("sys.stderr", terminal)
    error, lines, _ = run(root, cell_timeout=math.inf, progress=True)  # as with --no-timeout
    assert error is None
    shown = terminal.getvalue()
    # papermill's parameters cell comes after the lesson's: the sleeping cell is the third of three
    assert "\r\x1b[K  cell 3 of 3 (`import time`) 0 s, lesson" in shown
    assert "\r\x1b[K  cell 3 of 3 (`import time`) 2 s, lesson" in shown  # updated in place while it runs
    assert shown.endswith("\r\x1b[K")  # the line is cleared when the lesson ends
    assert not any("cell 3 of 3" in line for line in lines)  # the log gets nothing extra

    quiet = io.StringIO()
    monkeypatch.setattr("sys.stderr", quiet)
    assert run(root, cell_timeout=60)[0] is None
    assert "cell " not in quiet.getvalue()


def test_mstl_book_shows_progress_only_on_a_terminal(monkeypatch, tmp_path):
    from mstl_lib import cli
    from mstl_lib.teaching import book as book_module

    seen = {}
    monkeypatch.setattr(book_module, "build_book", lambda **options: seen.update(options))
    for terminal, expected in ((False, False), (True, True)):
        monkeypatch.setattr("sys.stderr.isatty", lambda terminal=terminal: terminal, raising=False)
        assert cli.main(["book", "--build-dir", str(tmp_path / "b")]) == 0
        assert seen["progress"] is expected

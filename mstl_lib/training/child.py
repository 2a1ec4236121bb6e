"""Run one library function in a fresh Python process.

The grid trains each configuration (all its folds, one after the other) this
way, and the study each group of its trainings: TensorFlow keeps part of every
model built in a process, so a fresh process per configuration keeps memory
flat. The job and its result travel as pickles in a private temporary folder
between two processes of this library; nothing pickled is stored.

Usage (by :func:`run_in_child`): ``python -m mstl_lib.training.child JOB RESULT``.

The child never outlives its parent's interest in it: if the parent is
interrupted (Ctrl-C, SIGTERM) or fails while the child runs, the child is
stopped (SIGTERM, then SIGKILL) before the parent goes on, so nothing is
written after the parent has reported the interruption; if the parent itself
is killed, Linux stops the child too (``PR_SET_PDEATHSIG``). The temporary
folder is removed on every way out; one left by a parent killed with SIGKILL
is removed by the next job.
"""

from __future__ import annotations

import importlib
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from mstl_lib.errors import DataError, MSTLError
from mstl_lib.quiet import quiet_environment

FOLDER_PREFIX = "mstl-child-"
"""Temporary folders of a job are named ``mstl-child-<parent pid>-<random>``."""
STOP_GRACE_SECONDS = 5.0
"""How long a child asked to stop (SIGTERM) may take before it is killed."""
_RUNNING: set[subprocess.Popen] = set()
"""Children started by :func:`run_in_child` and not yet ended (several at once with the grid's workers)."""
_RUNNING_LOCK = threading.Lock()
PARENT_VARIABLE = "MSTL_CHILD_PARENT"
"""The parent's pid, passed to the child so that it can tell whether its parent is already gone."""


def run_in_child(function, *args, log_path=None, on_wait=None, env=None, **kwargs):
    """Call ``function(*args, **kwargs)`` in a new Python process and return its result.

    Parameters
    ----------
    function : callable
        A module-level function of an importable module.
    log_path : path-like, optional
        File that receives the child's standard output and error (appended).
        The child gets TensorFlow's quiet log level
        (:func:`mstl_lib.quiet.quiet_environment`).
    on_wait : callable, optional
        Called about once a second while the child runs (e.g. to move a
        progress bar by the results the child has written so far).
    env : mapping of str to str, optional
        Environment variables set in the child on top of this process's
        (e.g. ``{"TF_FORCE_GPU_ALLOW_GROWTH": "true"}``, so that several
        children share one GPU's memory).

    Raises
    ------
    MSTLError
        With the child's message if it raised one of the library's errors, or
        if the child died (its last log lines are included).
    """
    _remove_orphaned_folders()
    with tempfile.TemporaryDirectory(prefix=f"{FOLDER_PREFIX}{os.getpid()}-") as folder:
        job, result = Path(folder) / "job.pkl", Path(folder) / "result.pkl"
        job.write_bytes(pickle.dumps((function.__module__, function.__qualname__, args, kwargs)))
        log = open(log_path, "a") if log_path else subprocess.DEVNULL
        try:
            child = subprocess.Popen(
                [sys.executable, "-m", "mstl_lib.training.child", str(job), str(result)],
                stdout=log,
                stderr=log,
                env={**quiet_environment(), **(env or {}), PARENT_VARIABLE: str(os.getpid())},
            )
            with _RUNNING_LOCK:
                _RUNNING.add(child)
            try:
                _wait(child, on_wait)
            finally:
                with _RUNNING_LOCK:
                    _RUNNING.discard(child)
        finally:
            if log_path:
                log.close()
        if not result.is_file():
            raise MSTLError(_death_message(child.returncode, log_path))
        status, kind, value = pickle.loads(result.read_bytes())
    if status == "ok":
        return value
    if kind == "DataError":
        raise DataError(value)
    raise MSTLError(f"{kind} in the training process: {value}")


def _remove_orphaned_folders() -> None:
    """Remove job folders whose parent process is gone (killed with SIGKILL, which no cleanup survives)."""
    import shutil

    for folder in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*-*"):
        pid = folder.name[len(FOLDER_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:  # alive, another user's
            pass


def _wait(child: subprocess.Popen, on_wait) -> None:
    """Wait for ``child``, calling ``on_wait`` about once a second; stop it if this process is interrupted."""
    try:
        while child.poll() is None:
            try:
                child.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                pass
            if on_wait is not None:
                on_wait()
    except BaseException:  # KeyboardInterrupt, SIGTERM (mstl_lib.errors.Terminated), an error in on_wait
        stop_child(child)
        raise


def stop_child(child: subprocess.Popen, grace: float = STOP_GRACE_SECONDS) -> None:
    """Ask ``child`` to end (SIGTERM), kill it after ``grace`` seconds, and wait until it is gone."""
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def stop_all_children() -> None:
    """Stop every child still running (the grid's other workers, when one thread is interrupted)."""
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for child in running:
        stop_child(child)


def _death_message(returncode: int, log_path) -> str:
    """Why a child ended without a result, and what to do: likely out of memory for SIGKILL."""
    resume = "Finished folds are kept: rerun the same command to resume."
    where = f" Its log: {log_path}." if log_path else ""
    if returncode == -signal.SIGKILL:
        return (
            "the training process was killed (SIGKILL), most likely by the system for running out of memory. "
            f"{resume} If it happens again, train fewer configurations at once (--workers), or use a smaller "
            f"backbone or batch, or a machine with more memory.{where}"
        )
    if returncode is not None and returncode < 0:
        name = signal.Signals(-returncode).name if -returncode in signal.valid_signals() else str(-returncode)
        return f"the training process was stopped by signal {name}. {resume}{where}"
    tail = ""
    if log_path and Path(log_path).is_file():
        tail = "\n".join(Path(log_path).read_text(errors="replace").splitlines()[-15:])
    return f"the training process ended with exit status {returncode} and no result" + (
        f"; the end of its log ({log_path}):\n{tail}" if tail else "."
    )


def _die_with_parent() -> None:
    """Have Linux send this process SIGKILL when its parent ends (a parent killed with SIGKILL cleans up nothing)."""
    parent = os.environ.get(PARENT_VARIABLE)
    if not sys.platform.startswith("linux") or parent is None:
        return
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != int(parent):  # the parent ended before the request above
        os._exit(1)


def main(job: str, result: str) -> int:
    _die_with_parent()
    module, name, args, kwargs = pickle.loads(Path(job).read_bytes())
    function = getattr(importlib.import_module(module), name)
    try:
        outcome = ("ok", None, function(*args, **kwargs))
    except Exception as error:  # reported to the parent, which raises it there
        import traceback

        traceback.print_exc()
        kind = "DataError" if isinstance(error, DataError) else type(error).__name__
        outcome = ("error", kind, str(error))
    Path(result).write_bytes(pickle.dumps(outcome))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))

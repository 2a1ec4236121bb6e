"""Run one library function in a fresh Python process.

The grid trains each (configuration, fold) this way: TensorFlow keeps part of
every model built in a process, so a fresh process per training keeps memory
flat. The job and its result travel as pickles in a private temporary folder
between two processes of this library; nothing pickled is stored.

Usage (by :func:`run_in_child`): ``python -m mstl_lib.training.child JOB RESULT``.
"""

from __future__ import annotations

import importlib
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

from mstl_lib.errors import DataError, MSTLError
from mstl_lib.quiet import quiet_environment


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
    with tempfile.TemporaryDirectory(prefix="mstl-child-") as folder:
        job, result = Path(folder) / "job.pkl", Path(folder) / "result.pkl"
        job.write_bytes(pickle.dumps((function.__module__, function.__qualname__, args, kwargs)))
        log = open(log_path, "a") if log_path else subprocess.DEVNULL
        try:
            done = subprocess.Popen(
                [sys.executable, "-m", "mstl_lib.training.child", str(job), str(result)],
                stdout=log,
                stderr=log,
                env={**quiet_environment(), **(env or {})},
            )
            while done.poll() is None:
                try:
                    done.wait(timeout=1.0)
                except subprocess.TimeoutExpired:
                    pass
                if on_wait is not None:
                    on_wait()
        finally:
            if log_path:
                log.close()
        if not result.is_file():
            tail = ""
            if log_path and Path(log_path).is_file():
                tail = "\n".join(Path(log_path).read_text(errors="replace").splitlines()[-15:])
            raise MSTLError(
                f"the training process ended with exit status {done.returncode} and no result"
                + (f"; the end of its log ({log_path}):\n{tail}" if tail else ".")
            )
        status, kind, value = pickle.loads(result.read_bytes())
    if status == "ok":
        return value
    if kind == "DataError":
        raise DataError(value)
    raise MSTLError(f"{kind} in the training process: {value}")


def main(job: str, result: str) -> int:
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

"""Advisory file locks: one writer per output, and one maker of a shared cache file.

Two kinds, both POSIX ``flock`` locks that the system releases when the
process holding them ends, however it ends (a killed run never leaves a folder
locked):

- :func:`exclusive` waits for the lock: several processes that need the same
  cached file (the generic stage's weights) make it once, the others wait and
  then read it.
- :func:`writer_locks` does not wait: a second run on the same output
  (a stage-1 run folder, a grid's units) is refused at once with a message
  naming the process that holds it (its pid, command line and start time).
  The grid locks each (arm, backbone, optimizer, fold) it will train, so the
  shards of one grid write side by side while two runs that would train the
  same fold cannot.

Where the system has no ``flock`` (not POSIX) both are no-ops.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from mstl_lib.errors import DataError
from mstl_lib.run_files import LOCK_DIR

try:
    import fcntl
except ImportError:  # not POSIX
    fcntl = None


@contextmanager
def exclusive(lock_path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` inside the block; other processes wait."""
    if fcntl is None:
        yield
        return
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class FolderBusyError(DataError):
    """Another process is writing the same output (:func:`writer_locks`)."""


def _holder(lock_path: Path) -> str:
    """Who holds ``lock_path``, from what it wrote into the file."""
    try:
        record = json.loads(lock_path.read_text())
        return f"process {record['pid']} (`{record['command']}`, started {record['started']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process (it has not yet written who it is)"


def _command() -> str:
    """This process's command line, as typed: ``mstl grid ...`` or ``python -m mstl_lib grid ...``."""
    if not sys.argv or not sys.argv[0]:
        return "python"
    program = Path(sys.argv[0])
    name = f"python -m {program.parent.name}" if program.name == "__main__.py" else program.name
    return " ".join([name, *sys.argv[1:]])


def _this_process() -> str:
    return json.dumps(
        {
            "pid": os.getpid(),
            "command": _command(),
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
    )


def _try_lock(lock_path: Path):
    """An open handle holding ``lock_path`` exclusively, or None if another process holds it.

    A holder removes the file when it lets go; a handle locked on a file
    already removed is dropped and the path opened again.
    """
    while True:
        try:
            handle = open(lock_path, "a+")
        except FileNotFoundError:  # another run removed the emptied lock folder in between
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            continue
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        try:
            same = os.stat(lock_path).st_ino == os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return handle
        handle.close()


def _release(handles: dict) -> None:
    for path, handle in handles.items():
        try:
            path.unlink()  # while still locked: whoever opens the path next makes a new file
        except FileNotFoundError:
            pass
        handle.close()
    for folder in {path.parent for path in handles}:
        try:
            folder.rmdir()  # only when empty: no other run holds a lock there
        except OSError:
            pass


@contextmanager
def writer_locks(lock_paths: Sequence, *, output, fix: str) -> Iterator[None]:
    """Hold every lock in ``lock_paths`` inside the block, or refuse at once.

    Parameters
    ----------
    lock_paths : sequence of path-like
        One file per part of the output this run writes (folders are created).
    output : path-like
        The output the locks protect, named in the refusal.
    fix : str
        What to do instead (e.g. "wait for it to end, or choose another --out").

    Raises
    ------
    FolderBusyError
        Another process holds one of the locks; the message names it. Locks
        taken before the refusal are let go (and their files removed).
    """
    if fcntl is None:
        yield
        return
    handles: dict[Path, object] = {}
    try:
        for path in map(Path, lock_paths):
            handle = _try_lock(path)
            if handle is None:
                raise FolderBusyError(
                    f"{output} is being written by {_holder(path)}; two runs writing one output would mix "
                    f"or break each other's files. Nothing was written. Fix: {fix}"
                )
            handle.seek(0)
            handle.truncate()
            handle.write(_this_process())
            handle.flush()
            handles[path] = handle
        yield
    finally:
        _release(handles)


def clear_except_locks(out_dir) -> None:
    """Delete everything in an output folder but its lock files (``--overwrite`` while the locks are held)."""
    out_dir = Path(out_dir)
    for path in out_dir.iterdir() if out_dir.is_dir() else ():
        if path.name == LOCK_DIR:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()

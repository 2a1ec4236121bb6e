"""The library's own exceptions.

Every error raised on bad input is one of these, and its message names the
file or folder at fault and says what to do about it.
"""

from __future__ import annotations

from pathlib import Path


class MSTLError(Exception):
    """Base class of every error the library raises on purpose."""


class DataError(MSTLError, ValueError):
    """A dataset, folder or parameter cannot be used as it is."""


class ImageReadError(DataError):
    """One image file cannot be read.

    Parameters
    ----------
    path : path-like
        The file at fault.
    reason : str
        What is wrong with it.
    fix : str
        What the user can do.
    """

    def __init__(self, path, reason: str, fix: str = ""):
        self.path = Path(path)
        self.reason = reason
        self.fix = fix
        message = f"{self.path}: {reason}"
        if fix:
            message += f" Fix: {fix}"
        super().__init__(message)


class Terminated(KeyboardInterrupt):
    """The process was asked to stop (SIGTERM, from a scheduler or ``kill``).

    Raised by the command line's signal handler so that, as for Ctrl-C, every
    ``finally`` runs: training children are stopped, temporary folders removed.
    """


class OutputExistsError(MSTLError, FileExistsError):
    """A writer was pointed at an output that already holds data."""

    def __init__(self, path):
        self.path = Path(path)
        super().__init__(
            f"{self.path} already exists and is not empty; nothing was written. "
            "Fix: choose a new output folder, or pass overwrite=True (CLI: --overwrite) "
            "to replace its contents."
        )

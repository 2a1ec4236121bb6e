"""Safe output folders: writers never overwrite existing data silently."""

from __future__ import annotations

import shutil
from pathlib import Path

from mstl_lib.errors import OutputExistsError


def prepare_output_dir(path, overwrite: bool = False) -> Path:
    """Create an output folder, refusing one that already holds files.

    Parameters
    ----------
    path : path-like
        The folder to write into.
    overwrite : bool
        If True, an existing folder is emptied first. If False (default), a
        non-empty folder raises :class:`OutputExistsError` and nothing changes.

    Returns
    -------
    pathlib.Path
        The (now existing, empty) folder.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputExistsError(path)
    if path.is_dir() and any(path.iterdir()):
        if not overwrite:
            raise OutputExistsError(path)
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    return path

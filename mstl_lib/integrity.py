"""Files a run reads back, checked whole: a truncated or empty one is named as corrupt, with the fix.

The library writes every file atomically (:mod:`mstl_lib.outputs`), but a
full disk, a copy cut short or a hand edit can still leave a truncated JSON
record or model. Readers here say which file is corrupt and what to do,
instead of a bare ``JSONDecodeError`` or Keras' "File not found" for a file
that exists; :func:`set_aside` moves a corrupt result out of the way so that
the run that wrote it can make it again.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from mstl_lib.errors import DataError

__all__ = ["CORRUPT_SUFFIX", "CorruptFileError", "check_keras_archive", "read_json", "set_aside"]

CORRUPT_SUFFIX = ".corrupt"
"""Added to the name of a corrupt file moved aside."""
KERAS_ARCHIVE_MEMBERS = ("config.json", "model.weights.h5")
"""What every ``.keras`` archive Keras 3 saves holds."""


class CorruptFileError(DataError):
    """A file exists but cannot be read whole (truncated, empty, not what its name says)."""

    def __init__(self, path, reason: str, fix: str):
        self.path = Path(path)
        super().__init__(f"{self.path} is corrupt ({reason}). Fix: {fix}")


def read_json(path, *, fix: str):
    """The JSON value in ``path``.

    Raises
    ------
    CorruptFileError
        The file is empty, truncated or not JSON; the message names it and
        ends with ``Fix: <fix>``. A missing file raises ``FileNotFoundError``
        as usual.
    """
    path = Path(path)
    text = path.read_bytes()
    if not text.strip():
        raise CorruptFileError(path, "empty file", fix)
    try:
        return json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:  # JSONDecodeError is a ValueError
        raise CorruptFileError(path, f"not valid JSON: {error}", fix) from None


def set_aside(path) -> Path:
    """Rename a corrupt file to ``<name>.corrupt`` (``.corrupt2``... if taken); return the new path."""
    path = Path(path)
    target = path.with_name(path.name + CORRUPT_SUFFIX)
    number = 1
    while target.exists():
        number += 1
        target = path.with_name(f"{path.name}{CORRUPT_SUFFIX}{number}")
    path.rename(target)
    return target


def check_keras_archive(path, *, fix: str) -> Path:
    """``path`` if it is a whole Keras 3 model archive (a zip with its config and weights).

    Cheap (no TensorFlow): it reads the zip's directory and checks each
    member's CRC, so a truncated or overwritten file is caught before any
    training starts.

    Raises
    ------
    CorruptFileError
        Not a zip archive, a damaged member, or a member missing.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
            names = set(archive.namelist())
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise CorruptFileError(path, f"not a readable Keras archive: {error}", fix) from None
    if damaged is not None:
        raise CorruptFileError(path, f"its member {damaged} is damaged", fix)
    missing = [name for name in KERAS_ARCHIVE_MEMBERS if name not in names]
    if missing:
        raise CorruptFileError(path, f"the archive lacks {', '.join(missing)}", fix)
    return path

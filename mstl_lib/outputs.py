"""Writing results: safe output folders, and the one JSON and one image writer of the library.

Writers never overwrite existing data silently; files appear whole or not at all.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path

import numpy as np

from mstl_lib.errors import DataError, OutputExistsError
from mstl_lib.validation import check_image


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
        raise DataError(f"{path} is a file, not a folder; nothing was written. Fix: choose a folder path.")
    if path.is_dir() and any(path.iterdir()):
        if not overwrite:
            raise OutputExistsError(path)
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _replace_atomically(path: Path, write) -> Path:
    """Call ``write(temporary)`` then rename the temporary file onto ``path``.

    The temporary name is unique to this process and call, so readers and
    other processes writing the same file (shards writing one manifest) see the
    old or the new file, never a mixture; a file left by a killed writer ends in
    ``.tmp`` and is never read.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    return path


def write_json(
    path, data, *, indent: int | None = 2, sort_keys: bool = False, one_entry_per_line: bool = False
) -> Path:
    """Write ``data`` as UTF-8 JSON, atomically; return the path.

    ``one_entry_per_line`` writes a large flat dict with one key per line
    (compact values), still readable by diff and grep.
    """
    if one_entry_per_line:
        lines = [f"  {json.dumps(k)}: {json.dumps(data[k], separators=(',', ':'))}" for k in sorted(data)]
        text = "{\n" + ",\n".join(lines) + "\n}"
    else:
        text = json.dumps(data, indent=indent, sort_keys=sort_keys)
    return _replace_atomically(path, lambda temporary: temporary.write_text(text + "\n", encoding="utf-8"))


def write_image(path, image) -> Path:
    """Write an 8-bit grayscale (HxW) or RGB (HxWx3) array as an image file, atomically.

    The format follows the suffix (``.png`` for everything the library writes);
    RGB stays RGB (no channel swap).
    """
    from PIL import Image

    array = check_image(image, f"the image for {path}", dtypes=(np.uint8,), fix="stretch_to_uint8 it first.")
    suffix = Path(path).suffix.lstrip(".").upper() or "PNG"
    image_format = "JPEG" if suffix == "JPG" else suffix
    return _replace_atomically(path, lambda temporary: Image.fromarray(array).save(temporary, format=image_format))

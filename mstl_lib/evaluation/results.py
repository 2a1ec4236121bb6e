"""A grid folder's results on disk, read back (their names: :mod:`mstl_lib.run_files`).

`mstl grid` (:mod:`mstl_lib.training.grid`) writes one JSON file per
(arm, backbone, optimizer, fold) and a manifest; reports, lessons and
benchmarks read them here without loading TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mstl_lib.errors import DataError
from mstl_lib.integrity import CorruptFileError, read_json
from mstl_lib.run_files import GRID_MANIFEST, grid_result_files, result_path

__all__ = ["GRID_MANIFEST", "result_path", "load_manifest", "load_results"]


def _check_grid_folder(out_dir) -> Path:
    out_dir = Path(out_dir)
    if not (out_dir / GRID_MANIFEST).is_file():
        raise DataError(f"{out_dir}: no {GRID_MANIFEST}; is this a grid folder written by `mstl grid`?")
    return out_dir


def load_manifest(out_dir) -> dict:
    """The grid folder's manifest (profile, seed, folds, data fingerprint, versions).

    Raises
    ------
    CorruptFileError
        The manifest is empty or truncated (named, with the fix).
    """
    out_dir = _check_grid_folder(out_dir)
    return read_json(
        out_dir / GRID_MANIFEST,
        fix=f"rerun the `mstl grid` command that made {out_dir} (same settings): it writes the manifest again "
        "and keeps the finished results.",
    )


CORRUPT_RESULT_FIX = (
    "rerun the `mstl grid` command that made this folder: it moves the file aside and retrains that fold."
)


def load_results(out_dir, *, on_corrupt: Callable[[CorruptFileError], None] | None = None) -> list[dict]:
    """Every per-fold result written under ``out_dir/results``, in a stable order.

    Parameters
    ----------
    on_corrupt : callable, optional
        Called with the error of each result file that cannot be read whole
        (truncated, empty), which is then left out. Default: raise it.
    """
    out_dir = _check_grid_folder(out_dir)
    results = []
    for path in grid_result_files(out_dir):
        try:
            results.append(read_json(path, fix=CORRUPT_RESULT_FIX))
        except CorruptFileError as error:
            if on_corrupt is None:
                raise
            on_corrupt(error)
    return results

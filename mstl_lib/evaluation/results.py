"""A grid folder's results on disk: where each run's result lies, and reading them back.

`mstl grid` (:mod:`mstl_lib.training.grid`) writes one JSON file per
(arm, backbone, optimizer, fold) and a manifest; reports, lessons and
benchmarks read them here without loading TensorFlow.
"""

from __future__ import annotations

import json
from pathlib import Path

from mstl_lib.errors import DataError

__all__ = ["GRID_MANIFEST", "result_path", "load_manifest", "load_results"]

GRID_MANIFEST = "manifest.json"
"""The grid folder's record of its profile, seed, data and folds."""


def result_path(out_dir, tl: str, backbone: str, optimizer: str, fold: int) -> Path:
    """Where the result of one (configuration, fold) is written."""
    return Path(out_dir) / "results" / f"{tl}-{backbone}-{optimizer}" / f"fold{fold}.json"


def _check_grid_folder(out_dir) -> Path:
    out_dir = Path(out_dir)
    if not (out_dir / GRID_MANIFEST).is_file():
        raise DataError(f"{out_dir}: no {GRID_MANIFEST}; is this a grid folder written by `mstl grid`?")
    return out_dir


def load_manifest(out_dir) -> dict:
    """The grid folder's manifest (profile, seed, folds, data fingerprint, versions)."""
    return json.loads((_check_grid_folder(out_dir) / GRID_MANIFEST).read_text())


def load_results(out_dir) -> list[dict]:
    """Every per-fold result written under ``out_dir/results``, in a stable order."""
    out_dir = _check_grid_folder(out_dir)
    return [json.loads(p.read_text()) for p in sorted((out_dir / "results").glob("*/fold*.json"))]

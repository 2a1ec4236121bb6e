"""A grid folder's ``manifest.json``: what the folder is made for, and the check before it is reused.

The manifest records everything the results of the paper's Table 1 depend on
(Ayana et al. 2022, sections 2.3-2.4): the profile's hyperparameters, the
seed, the folds, a fingerprint of the ultrasound data and of every stage-1
model MSTL starts from, precision and determinism, and the library versions.
:func:`write_grid_manifest` refuses a folder whose manifest records other
settings (:func:`mstl_lib.provenance.check_reusable`), so a rerun finishes a
grid instead of mixing two.

Nothing here loads TensorFlow.
"""

from __future__ import annotations

from datetime import datetime, timezone
from itertools import product
from pathlib import Path

from mstl_lib.data.datasets import ImageDataset
from mstl_lib.errors import DataError
from mstl_lib.integrity import check_keras_archive, read_json
from mstl_lib.outputs import write_json
from mstl_lib.profiles import Profile
from mstl_lib.provenance import check_reusable, data_fingerprint, file_fingerprint, library_versions
from mstl_lib.run_files import GRID_MANIFEST, stage1_model_path

JSON_INDENT = 1
"""Indentation of the manifest and the results (one-space: results hold long lists of scores)."""
MANIFEST_DEFAULTS = {"mixed_precision": False}
"""Values of settings that manifests written before the setting existed stand for."""
NOT_COMPARED = ("created", "grid", "versions")
"""Manifest entries that do not decide the results: when, which configurations so far, library versions."""


def check_stage1_models(stage1_dir, backbones, optimizers) -> dict:
    """The fingerprint of every stage-1 model MSTL starts from, each checked whole before any training.

    Returns ``{"<backbone>-<optimizer>": sha256}``, recorded in the manifest
    (MSTL's results depend on the model they start from).
    """
    if stage1_dir is None:
        raise DataError("MSTL needs stage-1 models: pass stage1_dir (CLI: --stage1), or leave MSTL out (--arms).")
    paths = {f"{b}-{o}": stage1_model_path(stage1_dir, b, o) for b in backbones for o in optimizers}
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise DataError(
            f"no stage-1 model at {', '.join(missing)}. Fix: run `mstl pretrain CELLS --backbone B "
            f"--optimizer O --out {stage1_dir}` for each, first (the paper trains stage 1 per CNN and "
            "optimizer)."
        )
    fix = f"train it again with `mstl pretrain CELLS --backbone B --optimizer O --out {stage1_dir} --overwrite`."
    return {name: file_fingerprint(check_keras_archive(path, fix=fix)) for name, path in paths.items()}


def compared_settings(manifest: dict) -> dict:
    """The manifest's entries that decide the results.

    Not the profile's description or its study settings (``study_*``, read by
    :mod:`mstl_lib.training.study` only), nor the data's folder.
    """
    compared = {k: v for k, v in manifest.items() if k not in NOT_COMPARED}
    compared["profile"] = {
        k: v for k, v in manifest["profile"].items() if k != "description" and not k.startswith("study_")
    }
    compared["dataset"] = {k: v for k, v in manifest["dataset"].items() if k != "root"}
    return compared


def write_grid_manifest(out_dir: Path, manifest: dict, arms, backbones, optimizers) -> None:
    """Write ``manifest.json``, refusing a folder made for other data or settings (:func:`check_reusable`)."""
    manifest_path = out_dir / GRID_MANIFEST
    configurations = set(product(arms, backbones, optimizers))
    if manifest_path.is_file():
        previous = read_json(
            manifest_path,
            fix=f"move it aside and rerun with the settings it was made with, or choose a new --out, or pass "
            f"--overwrite to delete {out_dir} and start again",
        )
        check_reusable(
            out_dir,
            previous,
            compared_settings(manifest),
            what="a grid run",
            defaults=MANIFEST_DEFAULTS,
            fix=f"choose a new --out for these settings, or rerun with the recorded ones to finish it, or pass "
            f"--overwrite to delete {out_dir} and start again (a lesson's work folder made by an older version "
            "of a profile, e.g. _build/work/lab: delete it, and the lessons recompute it)",
        )
        manifest["created"] = previous.get("created")
        configurations |= set(map(tuple, previous.get("grid", [])))
        manifest["stage1"] = {**previous.get("stage1", {}), **manifest["stage1"]}
        # shards write this file concurrently: whichever rename comes last leaves an equally valid manifest
    else:
        manifest["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    manifest["grid"] = sorted(configurations)
    manifest["versions"] = library_versions()
    write_json(manifest_path, manifest, indent=JSON_INDENT)


def grid_manifest(
    dataset: ImageDataset, profile: Profile, seed: int, n_folds: int, folds, mixed_precision: bool
) -> dict:
    """What a grid folder is made for: the settings, the data (with its fingerprint) and the folds."""
    return {
        "profile": profile.to_dict(),
        "seed": seed,
        "n_folds": n_folds,
        "dataset": {
            "name": dataset.name,
            "root": str(dataset.root),
            "classes": list(dataset.class_names),
            "counts": dataset.counts(),
            "fingerprint": data_fingerprint(dataset),
        },
        "folds": [{"train": f.train.tolist(), "val": f.val.tolist(), "test": f.test.tolist()} for f in folds],
        "mixed_precision": bool(mixed_precision),
    }

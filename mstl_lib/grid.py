"""The paper's experiment grid: backbones x optimizers x arms x folds.

The arms are the paper's two transfer types, CTL and MSTL, plus training from
scratch and a classical baseline where the profile asks for them
(:data:`mstl_lib.profiles.ARMS`).

:func:`run_grid` writes one JSON result per (configuration, fold) under
``OUT/results/`` and a ``manifest.json`` recording the profile, seed, folds,
library versions and a fingerprint of the data. Running it again skips every
result already written, so an interrupted grid loses nothing and redoes
nothing that finished; a run cut off mid-training resumes from its last epoch
(:func:`mstl_lib.training.fit_model`). A folder made for other data or
settings is refused instead of being mixed.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from datetime import datetime, timezone
from itertools import product
from pathlib import Path
from typing import Sequence

from mstl_lib import __version__
from mstl_lib.child import run_in_child
from mstl_lib.datasets import ImageDataset
from mstl_lib.errors import DataError
from mstl_lib.profiles import ALL_BACKBONES, ARMS, OPTIMIZERS, Profile, get_profile
from mstl_lib.splits import nested_cv_folds
from mstl_lib.stages import stage1_model_path, train_fold

MANIFEST = "manifest.json"


def data_fingerprint(dataset: ImageDataset) -> str:
    """SHA-256 over every image's relative path, label, group and bytes."""
    digest = hashlib.sha256()
    for record in sorted(dataset.records, key=lambda r: str(r.path)):
        digest.update(f"{record.path.relative_to(dataset.root).as_posix()}|{record.label}|{record.group}\n".encode())
        digest.update(hashlib.sha256(record.path.read_bytes()).digest())
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose behaviour the results depend on."""
    import cv2
    import keras
    import numpy
    import sklearn
    import tensorflow

    return {"mstl_lib": __version__, "python": platform.python_version(), "tensorflow": tensorflow.__version__,
            "keras": keras.__version__, "numpy": numpy.__version__, "scikit-learn": sklearn.__version__,
            "opencv": cv2.__version__, "platform": platform.platform()}


def result_path(out_dir, tl: str, backbone: str, optimizer: str, fold: int) -> Path:
    """Where the result of one (configuration, fold) is written."""
    return Path(out_dir) / "results" / f"{tl}-{backbone}-{optimizer}" / f"fold{fold}.json"


def _write_json_atomically(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, indent=1))
    os.replace(temporary, path)


def _check_choices(values, allowed, what) -> tuple[str, ...]:
    values = tuple(v.lower() for v in values)
    unknown = [v for v in values if v not in allowed]
    if unknown or not values:
        raise DataError(f"unknown {what} {unknown or '(none given)'}; choose from {', '.join(allowed)}.")
    return values


BASELINE_CONFIG = ("hog-lbp", "logistic-regression")
"""The (backbone, optimizer) names under which the classical baseline's results are filed."""


def _grid_units(arms, backbones, optimizers, folds) -> list[tuple]:
    """Every (arm, backbone, optimizer, fold) of the grid, networks first, the baseline last."""
    units = [(tl, b, o, f) for b, o, tl, f in product(backbones, optimizers, [a for a in arms if a != "baseline"], folds)]
    if "baseline" in arms:
        units += [("baseline", *BASELINE_CONFIG, f) for f in folds]
    return units


def _check_stage1(stage1_dir, backbones, optimizers) -> None:
    if stage1_dir is None:
        raise DataError("MSTL needs stage-1 models: pass stage1_dir (CLI: --stage1), or leave MSTL out (--arms).")
    missing = [str(stage1_model_path(stage1_dir, b, o)) for b in backbones for o in optimizers
               if not stage1_model_path(stage1_dir, b, o).is_file()]
    if missing:
        raise DataError(f"no stage-1 model at {', '.join(missing)}. Fix: run `mstl pretrain CELLS --backbone B "
                        f"--optimizer O --out {stage1_dir}` for each, first (the paper trains stage 1 per CNN and "
                        "optimizer).")


def _write_manifest(out_dir: Path, manifest: dict, arms, backbones, optimizers) -> None:
    """Write ``manifest.json``, refusing a folder made for other data or settings."""
    manifest_path = out_dir / MANIFEST
    configurations = set(product(arms, backbones, optimizers))
    if manifest_path.is_file():
        previous = json.loads(manifest_path.read_text())
        for key in ("profile", "seed", "n_folds", "dataset", "folds"):
            if previous.get(key) != manifest[key]:
                raise DataError(
                    f"{out_dir} holds a grid run with a different {key}; its results cannot be mixed with this one. "
                    "Fix: choose a new output folder, or rerun with the same data and settings to finish it."
                )
        manifest["created"] = previous.get("created")
        configurations |= set(map(tuple, previous.get("grid", [])))
    else:
        manifest["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    manifest["grid"] = sorted(configurations)
    manifest["versions"] = library_versions()
    _write_json_atomically(manifest_path, manifest)


def run_grid(
    dataset: ImageDataset,
    out_dir,
    *,
    stage1_dir=None,
    profile: str | Profile = "smoke",
    backbones: Sequence[str] | None = None,
    optimizers: Sequence[str] | None = None,
    arms: Sequence[str] | None = None,
    n_folds: int | None = None,
    seed: int = 0,
    deterministic: bool = False,
    strategy: str | None = None,
    progress: bool = True,
    isolate: bool = True,
    verbose: int | str = 0,
) -> list[dict]:
    """Run (or finish) the cross-validated grid of the paper's Table 1.

    Parameters
    ----------
    dataset : ImageDataset
        Benign/malignant ultrasound images, with duplicate groups merged
        (:func:`mstl_lib.audit.group_duplicates`).
    out_dir : path-like
        Grid folder (``manifest.json``, ``results/``, ``runs/``).
    stage1_dir : path-like, optional
        Folder of stage-1 runs (``<backbone>-<optimizer>/model.keras``); needed for MSTL.
    profile : str or Profile
        Sizes and hyperparameters; its ``backbones``, ``optimizers``,
        ``arms`` and ``folds`` are the defaults of the next four arguments.
    backbones, optimizers : sequence of str, optional
    arms : sequence of {"scratch", "ctl", "mstl", "baseline"}, optional
        The transfer types (:data:`mstl_lib.profiles.ARMS`). ``baseline`` is
        the classical HOG + LBP + logistic regression of
        :mod:`mstl_lib.baseline`, trained on the same folds.
    n_folds : int, optional
        Outer folds (paper: 5); each is tested once.
    seed : int
        Seed of the folds and of every training.
    progress : bool
        Show a progress bar over (configuration, fold) units.
    isolate : bool
        Train each (arm, backbone, optimizer) in a fresh child process, all its
        folds in turn (default). TensorFlow keeps part of every model it has
        built (about 0.35 GB per ResNet50 fold on CPU, even after
        ``keras.backend.clear_session()``), so the paper's 90 trainings in one
        process would exhaust memory; a child per configuration holds at most
        its five folds and returns it all, and starts TensorFlow once rather
        than per fold. False trains in this process (for debugging).

    Returns
    -------
    list of dict
        Every result of the grid, finished earlier or now.
    """
    from tqdm.auto import tqdm

    profile = get_profile(profile)
    backbones = _check_choices(backbones or profile.backbones, ALL_BACKBONES, "backbone(s)")
    optimizers = _check_choices(optimizers or profile.optimizers, OPTIMIZERS, "optimizer(s)")
    arms = _check_choices(arms or profile.arms, ARMS, "arm(s)")
    n_folds = int(n_folds or profile.folds)
    if "mstl" in arms:
        _check_stage1(stage1_dir, backbones, optimizers)
    folds = nested_cv_folds(dataset.labels, dataset.groups, n_folds=n_folds, seed=seed)
    out_dir = Path(out_dir)
    manifest = {
        "profile": profile.to_dict(), "seed": seed, "n_folds": n_folds,
        "dataset": {"name": dataset.name, "root": str(dataset.root), "classes": list(dataset.class_names),
                    "counts": dataset.counts(), "fingerprint": data_fingerprint(dataset)},
        "folds": [{"train": f.train.tolist(), "val": f.val.tolist(), "test": f.test.tolist()} for f in folds],
    }
    _write_manifest(out_dir, manifest, arms, backbones, optimizers)
    if "ctl" in arms:
        _prepare_initial_weights(profile, backbones, seed, isolate, out_dir)

    units = _grid_units(arms, backbones, optimizers, folds)
    bar = tqdm(total=len(units), desc="Grid", unit="fold", disable=not progress)
    configurations = list(dict.fromkeys((tl, b, o) for tl, b, o, _ in units))
    for tl, backbone, optimizer in configurations:
        pending = [f for t, b, o, f in units if (t, b, o) == (tl, backbone, optimizer)
                   and not result_path(out_dir, tl, backbone, optimizer, f.index).is_file()]
        bar.set_postfix_str(f"{tl} {backbone} {optimizer}")
        bar.update(sum(1 for t, b, o, _ in units if (t, b, o) == (tl, backbone, optimizer)) - len(pending))
        if not pending:
            continue
        options = dict(profile=profile, stage1_dir=stage1_dir, seed=seed, deterministic=deterministic,
                       strategy=strategy, verbose=verbose)
        if tl == "baseline" or not isolate:
            train_configuration(dataset, pending, out_dir, tl, backbone, optimizer, on_result=lambda: bar.update(1),
                                **options)
            continue
        done = [0]

        def advance(tl=tl, backbone=backbone, optimizer=optimizer, pending=pending, done=done):
            finished = sum(result_path(out_dir, tl, backbone, optimizer, f.index).is_file() for f in pending)
            bar.update(finished - done[0])
            done[0] = finished

        log_dir = out_dir / "runs" / f"{tl}-{backbone}-{optimizer}"
        log_dir.mkdir(parents=True, exist_ok=True)
        run_in_child(train_configuration, dataset, pending, out_dir, tl, backbone, optimizer,
                     log_path=log_dir / "train.log", on_wait=advance, **options)
        advance()
    bar.close()
    return [json.loads(result_path(out_dir, *unit[:3], unit[3].index).read_text()) for unit in units]


def train_configuration(dataset, folds, out_dir, tl: str, backbone: str, optimizer: str, *, profile, stage1_dir,
                        seed: int, deterministic: bool = False, strategy=None, verbose=0, on_result=None) -> int:
    """Train and test the given folds of one (arm, backbone, optimizer), writing each result as it finishes.

    The grid runs this in one child process per configuration: TensorFlow
    starts once for all its folds, and the process's memory is returned
    when it ends. Each finished fold is a file, so a killed run loses at
    most the fold in progress (which resumes from its last backup).
    """
    out_dir = Path(out_dir)
    for fold in folds:
        if tl == "baseline":
            from mstl_lib.baseline import run_baseline_fold

            result = run_baseline_fold(dataset, fold, seed=seed, image_size=get_profile(profile).image_size)
            result["profile"] = get_profile(profile).name
        else:
            import keras

            result = train_fold(
                dataset, fold, tl=tl, backbone=backbone, optimizer=optimizer,
                run_dir=out_dir / "runs" / f"{tl}-{backbone}-{optimizer}" / f"fold{fold.index}", profile=profile,
                stage1_model=stage1_model_path(stage1_dir, backbone, optimizer) if tl == "mstl" else None,
                seed=seed, deterministic=deterministic, strategy=strategy, verbose=verbose,
            )
            keras.backend.clear_session()
        _write_json_atomically(result_path(out_dir, tl, backbone, optimizer, fold.index), result)
        if on_result is not None:
            on_result()
    return len(folds)


def _prepare_initial_weights(profile: Profile, backbones, seed: int, isolate: bool, out_dir: Path) -> None:
    """Make the generic stage's weights (once, cached) before the folds that start from them."""
    from mstl_lib.generic import GENERIC_WEIGHTS, ensure_generic_weights, generic_weights_path

    if profile.weights != GENERIC_WEIGHTS:
        return
    for backbone in backbones:
        if generic_weights_path(backbone, profile, seed).is_file():
            continue
        if isolate:
            run_in_child(ensure_generic_weights, backbone, profile, seed=seed, log_path=out_dir / "generic.log")
        else:
            ensure_generic_weights(backbone, profile, seed=seed)


def load_results(out_dir) -> list[dict]:
    """Every per-fold result written under ``out_dir/results``."""
    out_dir = Path(out_dir)
    if not (out_dir / MANIFEST).is_file():
        raise DataError(f"{out_dir}: no {MANIFEST}; is this a grid folder written by `mstl grid`?")
    return [json.loads(p.read_text()) for p in sorted((out_dir / "results").glob("*/fold*.json"))]


def load_fold_model(grid_dir, tl: str, backbone: str, optimizer: str, fold: int = 0, *, stage1_dir=None,
                    image_size: int = 75):
    """Rebuild the trained model of one grid run from its best weights.

    Parameters
    ----------
    grid_dir : path-like
        Grid folder of :func:`run_grid`.
    tl, backbone, optimizer, fold
        Which run.
    stage1_dir : path-like, optional
        Stage-1 folder (the architecture of an MSTL model comes from its stage-1 model).
    image_size : int
        Input size the grid was trained at.
    """
    from mstl_lib.models import build_ctl_model, build_stage2_model, load_model

    weights = Path(grid_dir) / "runs" / f"{tl}-{backbone}-{optimizer}" / f"fold{fold}" / "best.weights.h5"
    if not weights.is_file():
        raise DataError(f"{weights}: no trained weights for {tl} {backbone} {optimizer} fold {fold}. Fix: run the grid first.")
    if tl == "mstl":
        if stage1_dir is None:
            raise DataError("an MSTL model is rebuilt from its stage-1 model: pass stage1_dir.")
        model = build_stage2_model(load_model(stage1_model_path(stage1_dir, backbone, optimizer), compile=False))
    else:
        model = build_ctl_model(backbone, weights=None, image_size=image_size)
    model.load_weights(str(weights))
    return model

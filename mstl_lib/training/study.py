"""The study of when the intermediate stage helps: arms x target-set sizes x repeated cross-validation.

The paper (Ayana et al. 2022) compares MSTL and CTL at one size of the
ultrasound set and leaves open (section 4) how the result depends on the
quantity of cell-line images. This study asks when the intermediate stage
helps, with the grid's machinery (shards, :mod:`mstl_lib.training.shards`;
parallel child processes, :mod:`mstl_lib.training.scheduling`):

- **Target-set size.** The training part of every fold is cut to ``n``
  images per class (:func:`mstl_lib.data.subsample.subsample_training`:
  balanced, nested, duplicate groups whole); the validation and test parts
  are the same for every size and every arm, so differences are paired.
- **Arms.** Training from scratch, CTL, MSTL, the HOG + LBP baseline, and
  ``control``: MSTL whose stage 1 saw the same patches with shuffled labels,
  for as many steps (:mod:`mstl_lib.training.stage1_variants`).
- **Quantity of cell-line images.** MSTL from stage-1 runs on fractions of
  the patches, at one size (``study_quantity_size``).
- **Repeats.** The whole cross-validation is repeated with other fold
  assignments (split seed ``seed + r``) and other initialisations (training
  seed ``seed + 1000 r + fold``), so that the run-to-run spread is measured.

:func:`run_study` writes ``OUT/study.json`` (the design, the data's
fingerprint, the stage-1 runs) and one JSON per training under
``OUT/results/<arm>/f<fraction>/n<size>/r<repeat>/fold<k>.json``; the
evaluation side (:mod:`mstl_lib.evaluation`) reads them without TensorFlow.
A rerun skips every finished result. The network trainings of one (arm,
stage-1 fraction) run in one child process that builds and traces one model
and trains it again and again (:mod:`mstl_lib.training.reuse`).

This module imports no TensorFlow; the trainings are in
:mod:`mstl_lib.training.study_units`, and what both need of one training
(:class:`StudyUnit`, its record and its result's path) in
:mod:`mstl_lib.training.study_records`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

import numpy as np

from mstl_lib.data.datasets import ImageDataset
from mstl_lib.data.splits import Fold, cross_validation_folds
from mstl_lib.data.subsample import ALL, largest_size, parse_size, size_label, subsample_training
from mstl_lib.errors import DataError
from mstl_lib.integrity import read_json
from mstl_lib.locks import clear_except_locks, writer_locks
from mstl_lib.outputs import write_json
from mstl_lib.profiles import STUDY_ARMS, Profile, check_profile
from mstl_lib.provenance import check_reusable, library_versions
from mstl_lib.run_files import (
    STAGE1_MODEL,
    STAGE1_SUMMARY,
    STUDY_MANIFEST,
    fraction_label,
    stage1_run_dir,
    stage1_summary_path,
    study_job_name,
    study_lock_path,
    study_log_path,
    study_stages_log,
)
from mstl_lib.training.scheduling import (
    GPU_MEMORY_GROWTH,
    check_workers,
    prepare_initial_weights,
    train_in_parallel,
)
from mstl_lib.training.shards import parse_shard, shard_units
from mstl_lib.training.stage1_variants import CONTROL, fraction_name, variant_for
from mstl_lib.training.study_records import StudyUnit, unit_record, unit_result_path
from mstl_lib.validation import check_choices, check_integer

REPEAT_SEED_STEP = 1000
"""Training seed of repeat r, fold k: ``seed + REPEAT_SEED_STEP * r + k``."""
NO_STAGE1_ARMS = ("scratch", "ctl", "baseline")
"""Arms with no stage 1, whose ``stage1_fraction`` is null."""
COMPARED_FIELDS = (
    "profile",
    "sizes",
    "repeats",
    "folds",
    "arms",
    "fractions",
    "quantity_size",
    "backbone",
    "optimizer",
    "seed",
    "deterministic",
    "data_fingerprint",
    "stage1",
)
"""Fields of ``study.json`` that must agree for a rerun to add to a study folder."""


def repeat_folds(dataset: ImageDataset, n_folds: int, repeats: int, seed: int = 0) -> list[list[Fold]]:
    """The folds of every repeat: repeat ``r`` is cross-validated with split seed ``seed + r``."""
    return [
        cross_validation_folds(dataset.labels, dataset.groups, n_folds=n_folds, seed=seed + r) for r in range(repeats)
    ]


def unit_seed(seed: int, repeat: int, fold: int) -> int:
    """The training seed of one (repeat, fold): the same for every arm and size, so they start alike."""
    return int(seed) + REPEAT_SEED_STEP * int(repeat) + int(fold)


@dataclass(frozen=True)
class StudyDesign:
    """What a study runs: sizes, repeats, folds, arms, stage-1 fractions, the quantity experiment's size."""

    sizes: tuple[str, ...]
    repeats: int
    folds: int
    arms: tuple[str, ...]
    fractions: tuple[float, ...]
    quantity_size: str
    backbone: str
    optimizer: str
    skipped_sizes: tuple[str, ...] = ()


def study_design(profile: Profile, *, sizes=None, repeats=None, arms=None, fractions=None, quantity_size=None):
    """The design from the profile's ``study_*`` fields, with any argument given instead."""
    sizes = tuple(dict.fromkeys(size_label(s) for s in (sizes if sizes is not None else profile.study_sizes)))
    repeats = check_integer(repeats if repeats is not None else profile.study_repeats, "repeats", minimum=1)
    arms = tuple(check_choices(arms or profile.study_arms, "arm(s)", STUDY_ARMS))
    fractions = tuple(sorted({round(float(f), 2) for f in (fractions or profile.study_fractions)} | {1.0}))
    if not all(0.0 < f <= 1.0 for f in fractions):
        raise DataError(f"stage-1 fractions must be in (0, 1], got {list(fractions)}. Fix: e.g. 0.1 0.33 1.0.")
    if not sizes:
        raise DataError("a study needs at least one size. Fix: give e.g. sizes 8 16 all.")
    quantity = quantity_size if quantity_size is not None else profile.study_quantity_size
    quantity = size_label(quantity) if quantity is not None else _smallest(sizes)
    return StudyDesign(
        sizes=sizes,
        repeats=repeats,
        folds=int(profile.study_folds or profile.folds),
        arms=arms,
        fractions=fractions,
        quantity_size=quantity,
        backbone=profile.backbones[0],
        optimizer=profile.optimizers[0],
    )


def _smallest(sizes) -> str:
    numbers = [int(s) for s in sizes if s != ALL]
    return str(min(numbers)) if numbers else ALL


def fit_sizes(design: StudyDesign, dataset: ImageDataset, folds, *, explicit: bool, log=print) -> StudyDesign:
    """The design with sizes the data can give: larger ones refused (``explicit``) or skipped with a note.

    A size is possible when every training part of every repeat holds that
    many images of each class. Sizes the user asked for are refused with
    :class:`DataError`; the profile's defaults are fitted to the data (a small
    folder of one's own images cannot give the lab's sizes), each skipped
    size printed and recorded in ``study.json`` (``skipped_sizes``).
    """
    largest = largest_size(dataset.labels, [f.train for repeat in folds for f in repeat])
    too_large = [s for s in design.sizes if s != ALL and int(s) > largest]
    if not too_large:
        return design
    counts = dataset.counts()
    message = (
        f"size(s) {', '.join(too_large)} images per class exceed the training part of the smallest fold, which "
        f"holds {largest} images of its smallest class ({dataset.root}: {len(counts)} classes, "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
        + f"; {design.folds} folds leave about {design.folds - 2}/{design.folds} of each class for training)."
    )
    if explicit:
        raise DataError(f"{message} Fix: use sizes up to {largest} (or 'all'), or add images.")
    kept = tuple(s for s in design.sizes if s not in too_large) or (ALL,)
    quantity = design.quantity_size if design.quantity_size not in too_large else _smallest(kept)
    log(f"Study: skipping {message} Kept sizes: {', '.join(kept)}; the quantity experiment runs at {quantity}.")
    return StudyDesign(
        **{**design.__dict__, "sizes": kept, "quantity_size": quantity, "skipped_sizes": tuple(too_large)}
    )


def study_units(design: StudyDesign, dataset: ImageDataset, folds, seed: int) -> list[StudyUnit]:
    """Every training of the study, in a fixed order (the same in every shard): the main design
    (arm x size x repeat x fold) then the quantity experiment (MSTL at fractions below 1)."""
    cells = []
    for arm in design.arms:
        fraction = None if arm in NO_STAGE1_ARMS else 1.0
        cells += [(arm, fraction, size) for size in design.sizes]
    if "mstl" in design.arms:
        cells += [("mstl", f, design.quantity_size) for f in design.fractions if f < 1.0]
    units = []
    for arm, fraction, size in cells:
        for r, repeat in enumerate(folds):
            for fold in repeat:
                s = unit_seed(seed, r, fold.index)
                train = subsample_training(
                    dataset.labels,
                    dataset.groups,
                    fold.train,
                    parse_size(size),
                    seed=s,
                    class_names=dataset.class_names,
                )
                units.append(StudyUnit(arm, fraction, size, r, fold, s, train))
    return units


def stage1_models(stage1_dir, design: StudyDesign, profile: Profile) -> dict:
    """``{(arm, fraction): model path}`` of every stage-1 run the design needs, each checked to exist."""
    needed = {}
    for arm in ("mstl", CONTROL):
        if arm not in design.arms:
            continue
        fractions = design.fractions if arm == "mstl" else (1.0,)
        for f in fractions:
            needed[(arm, f)] = stage1_run_dir(stage1_dir, design.backbone, design.optimizer, variant_for(arm, f))
    if needed and stage1_dir is None:
        raise DataError("MSTL and its control need stage-1 models: pass stage1_dir (CLI: --stage1).")
    missing = [str(d) for d in needed.values() if not (d / STAGE1_MODEL).is_file()]
    if missing:
        raise DataError(
            f"the stage-1 folder {stage1_dir} lacks the run(s) {', '.join(missing)} (the real stage 1, its "
            "shuffled-label control or a fraction of the patches). Fix: run `mstl pretrain PATCHES --out "
            f"{stage1_dir} --backbone {design.backbone} --optimizer {design.optimizer} --profile {profile.name} "
            "--study-stages` first (it trains the missing ones, and loads those already trained)."
        )
    return {key: d / STAGE1_MODEL for key, d in needed.items()}


def _stage1_record(models: dict) -> dict:
    """What the study records of its stage-1 runs: each one's summary and a hash of its model file."""
    record = {}
    for (arm, fraction), path in sorted(models.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        summary_path = path.parent / STAGE1_SUMMARY
        summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
        keep = ("test_accuracy", "best_epoch", "epochs_trained", "n_train", "steps_per_epoch", "variant")
        record[f"{arm}-{fraction_label(fraction)}"] = {
            "run": path.parent.name,
            "model_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            **{k: summary[k] for k in keep if k in summary},
        }
    return record


def study_manifest(
    dataset: ImageDataset, design: StudyDesign, profile: Profile, *, seed: int, deterministic: bool, stage1: dict
) -> dict:
    """The content of ``study.json`` (:data:`COMPARED_FIELDS` and a record of the data and versions)."""
    from mstl_lib.provenance import data_fingerprint

    return {
        "kind": "study",
        "profile": profile.to_dict(),
        "sizes": list(design.sizes),
        "skipped_sizes": list(design.skipped_sizes),
        "repeats": design.repeats,
        "folds": design.folds,
        "arms": list(design.arms),
        "fractions": list(design.fractions),
        "quantity_size": design.quantity_size,
        "backbone": design.backbone,
        "optimizer": design.optimizer,
        "seed": int(seed),
        "deterministic": bool(deterministic),
        "data_fingerprint": data_fingerprint(dataset),
        "dataset": {
            "name": dataset.name,
            "root": str(dataset.root),
            "classes": list(dataset.class_names),
            "counts": dataset.counts(),
        },
        "stage1": stage1,
    }


def write_study_manifest(out_dir: Path, manifest: dict) -> None:
    """Write ``study.json``, refusing a folder made with other settings (:func:`mstl_lib.provenance.check_reusable`)."""
    path = out_dir / STUDY_MANIFEST
    if path.is_file():
        fix = "choose a new --out folder, rerun with the same data, stage-1 folder and settings to finish it, or pass "
        previous = read_json(path, fix=fix + "--overwrite to delete it and start again")
        check_reusable(
            out_dir,
            {key: previous[key] for key in COMPARED_FIELDS if key in previous},
            {key: manifest[key] for key in COMPARED_FIELDS},
            what="a study",
            fix=fix + f"--overwrite to delete {out_dir} and start again",
        )
        manifest["created"] = previous.get("created")
    else:
        manifest["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    manifest["library_versions"] = library_versions()
    write_json(path, manifest, indent=1)


def run_baseline_units(dataset: ImageDataset, units, out_dir: Path, *, image_size: int, on_result=None) -> None:
    """The HOG + LBP baseline (:mod:`mstl_lib.training.baseline`) on each unit's subsampled fold, in this process."""
    import time

    from mstl_lib.data.images import load_image
    from mstl_lib.training.baseline import hog_lbp_features, run_baseline_fold

    start = time.perf_counter()
    features = hog_lbp_features(np.stack([load_image(p, image_size) for p in dataset.paths]))
    features_seconds = (time.perf_counter() - start) / max(len(units), 1)  # computed once, shared by the units
    for unit in units:
        start = time.perf_counter()
        fold = Fold(unit.fold.index, unit.train, unit.fold.val, unit.fold.test)
        result = run_baseline_fold(dataset, fold, seed=unit.seed, image_size=image_size, features=features)
        record = {
            **unit_record(dataset, unit),
            "metrics": result["metrics"],
            "y_true": result["y_true"],
            "y_score": result["y_score"],
            "epochs_trained": 0,
            "best_epoch": 0,
            "C": result["C"],
            "seconds": {
                "features": features_seconds,
                "fit": time.perf_counter() - start,
                "total": features_seconds + time.perf_counter() - start,
            },
        }
        write_json(unit_result_path(out_dir, unit), record, indent=1)
        if on_result is not None:
            on_result()


def run_study(
    dataset: ImageDataset,
    out_dir,
    *,
    profile: Profile,
    stage1_dir=None,
    seed: int = 0,
    sizes=None,
    repeats: int | None = None,
    arms=None,
    fractions=None,
    quantity_size=None,
    deterministic: bool = False,
    workers: int = 1,
    shard=None,
    isolate: bool = True,
    overwrite: bool = False,
    progress: bool = True,
    mixed_precision: bool = False,
    jit_compile: bool | str = "auto",
    log=print,
) -> list[dict]:
    """Run (or finish) the study; returns every result of this run's units (finished earlier or now).

    Parameters
    ----------
    dataset : ImageDataset
        Benign/malignant ultrasound images with duplicate groups merged
        (:func:`mstl_lib.data.audit.group_duplicates`).
    out_dir : path-like
        Study folder (``study.json``, ``results/``, ``runs/``).
    profile : Profile
        The ``study_*`` fields give the design; the rest the recipe
        (resolved once by the caller, :func:`mstl_lib.profiles.get_profile`).
    stage1_dir : path-like, optional
        Stage-1 folder with the real run, its control and its fractions
        (``mstl pretrain --study-stages``); needed for ``mstl`` and ``control``.
    seed : int
        Base of the split seeds (repeat r: ``seed + r``) and training seeds (:func:`unit_seed`).
    sizes, repeats, arms, fractions, quantity_size : optional
        Instead of the profile's. Sizes given here that the data cannot give
        are refused; the profile's are fitted to the data (:func:`fit_sizes`).
    deterministic, mixed_precision, jit_compile
        As :func:`mstl_lib.training.grid.run_grid`.
    workers, shard, isolate
        As :func:`mstl_lib.training.grid.run_grid`; a job is one (arm,
        stage-1 fraction), trained in one child process.
    overwrite : bool
        Delete ``out_dir`` first (its results are lost).
    log : callable
        Where notes (skipped sizes) go.
    """
    from tqdm.auto import tqdm

    profile = check_profile(profile)
    if profile.study_repeats < 3 and repeats is None:
        log(f"Study: the profile {profile.name!r} repeats the cross-validation only {profile.study_repeats} times.")
    design = study_design(
        profile, sizes=sizes, repeats=repeats, arms=arms, fractions=fractions, quantity_size=quantity_size
    )
    shard, workers = parse_shard(shard), check_workers(workers, isolate)
    models = stage1_models(stage1_dir, design, profile)
    folds = repeat_folds(dataset, design.folds, design.repeats, seed)
    design = fit_sizes(design, dataset, folds, explicit=sizes is not None, log=log)
    out_dir = Path(out_dir)
    manifest = study_manifest(
        dataset, design, profile, seed=seed, deterministic=deterministic, stage1=_stage1_record(models)
    )
    all_units = study_units(design, dataset, folds, seed)
    units = shard_units(all_units, shard)
    with writer_locks(
        [_lock_path(out_dir, unit) for unit in (all_units if overwrite else units)],
        output=out_dir,
        fix="wait for that run to end, or give it another --out (the shards of one study, --shard K/N, write "
        "one folder side by side).",
    ):
        if overwrite:
            clear_except_locks(out_dir)
        write_study_manifest(out_dir, manifest)
        pending = [u for u in units if not unit_result_path(out_dir, u).is_file()]
        bar = tqdm(
            total=len(units), initial=len(units) - len(pending), desc="Study", unit="training", disable=not progress
        )
        train = partial(
            _study_job,
            dataset=dataset,
            out_dir=out_dir,
            bar=bar,
            isolate=isolate,
            models=models,
            profile=profile,
            workers=workers,
            deterministic=deterministic,
            mixed_precision=mixed_precision,
            jit_compile=jit_compile,
            study_seed=seed,
        )
        try:
            _run_jobs(train, pending, profile, workers, isolate, out_dir, seed)
        finally:
            bar.close()
    return [json.loads(unit_result_path(out_dir, u).read_text()) for u in units]


def _lock_path(out_dir: Path, unit: StudyUnit) -> Path:
    """The lock file of one unit (:func:`mstl_lib.locks.writer_locks`): a second run training it is refused."""
    return study_lock_path(out_dir, unit_result_path(out_dir, unit))


def _run_jobs(train, pending, profile: Profile, workers: int, isolate: bool, out_dir: Path, seed: int) -> None:
    """The pending units, grouped by (arm, stage-1 fraction): the baseline in this process, the network arms
    in one child process one after another (TensorFlow starts once), or with ``workers`` > 1 each in its own."""
    groups = {}
    for unit in pending:
        groups.setdefault(unit.job, []).append(unit)
    if ("ctl", None) in groups:
        prepare_initial_weights(profile, [profile.backbones[0]], 0, isolate, out_dir)
    networks = [(key, units) for key, units in groups.items() if key[0] != "baseline"]
    jobs = [([(key, units)],) for key, units in groups.items() if key[0] == "baseline"]
    if workers == 1:
        jobs += [(networks,)] if networks else []
        for job in jobs:
            train(*job)
    else:
        train_in_parallel(train, jobs + [([group],) for group in networks], workers)


def _study_job(
    groups,
    *,
    dataset,
    out_dir: Path,
    bar,
    isolate: bool,
    models: dict,
    profile: Profile,
    workers: int,
    deterministic: bool,
    **training,
) -> None:
    """Train ``groups`` (``[((arm, fraction), units), ...]``): the baseline here, network arms in a child process."""
    import time

    from mstl_lib.training.child import run_in_child

    (arm, fraction), units = groups[0]
    bar.set_postfix_str(", ".join(f"{a} {fraction_label(f)}" for (a, f), _ in groups))
    if arm == "baseline":
        run_baseline_units(dataset, units, out_dir, image_size=profile.image_size, on_result=lambda: bar.update(1))
        return
    from mstl_lib.training.study_units import train_study_groups

    options = dict(profile=profile, deterministic=deterministic, launched=time.time(), **training)
    groups = [(key, units, models.get(key)) for key, units in groups]
    if not isolate:
        train_study_groups(dataset, groups, out_dir, on_result=lambda: bar.update(1), **options)
        return
    paths = [unit_result_path(out_dir, u) for _, us, _ in groups for u in us]
    done = [0]

    def advance():
        finished = sum(p.is_file() for p in paths)
        bar.update(finished - done[0])
        done[0] = finished

    name = "networks" if len(groups) > 1 else study_job_name(arm, fraction)
    log_path = study_log_path(out_dir, name)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    run_in_child(
        train_study_groups,
        dataset,
        groups,
        out_dir,
        log_path=log_path,
        on_wait=advance,
        env=GPU_MEMORY_GROWTH if workers > 1 else None,
        **options,
    )
    advance()


def train_study_stages(
    patch_dir,
    stage1_dir,
    *,
    profile: Profile,
    backbone: str | None = None,
    optimizer: str | None = None,
    seed: int = 0,
    fractions=None,
    control: bool = True,
    isolate: bool = False,
    **training,
) -> dict:
    """The stage-1 runs a study needs: the real one, its shuffled-label control and the fractions.

    Each run already in ``stage1_dir`` is loaded, not retrained. The control
    is made from the real run's record (its best epoch), so the real run
    comes first. ``isolate`` trains the missing runs in one child process
    (log: ``<stage1_dir>/<backbone>-<optimizer>-study-stages.log``).
    ``training`` goes to :func:`mstl_lib.training.stages.run_stage1`.

    Returns
    -------
    dict
        ``{"real": summary, "control": summary, "fraction0.10": summary, ...}``.
    """
    from mstl_lib.training.stage1_variants import control_variant, fraction_variant

    profile = check_profile(profile)
    backbone, optimizer = backbone or profile.backbones[0], optimizer or profile.optimizers[0]
    fractions = [float(f) for f in (fractions if fractions is not None else profile.study_fractions) if f < 1.0]
    names = [None] + ([CONTROL] if control else []) + [fraction_name(f) for f in fractions]
    missing = [n for n in names if not stage1_summary_path(stage1_dir, backbone, optimizer, n).is_file()]
    if isolate and missing:  # one child process trains every missing run: TensorFlow starts once
        from mstl_lib.training.child import run_in_child

        Path(stage1_dir).mkdir(parents=True, exist_ok=True)
        options = dict(profile=profile, backbone=backbone, optimizer=optimizer, seed=seed, fractions=fractions)
        log = study_stages_log(stage1_dir, backbone, optimizer)
        return run_in_child(
            train_study_stages, patch_dir, stage1_dir, control=control, log_path=log, **options, **training
        )
    run = partial(_stage1_once, patch_dir, stage1_dir, backbone, optimizer, profile, seed, training)
    summaries = {"real": run(None)}
    if control:
        summaries[CONTROL] = run(control_variant(summaries["real"], seed))
    for f in fractions:
        variant = fraction_variant(f, seed)
        summaries[variant.name] = run(variant)
    return summaries


def _stage1_once(patch_dir, stage1_dir, backbone, optimizer, profile, seed, training, variant):
    """One stage-1 run (``variant`` None: the real one), loaded if its ``stage1.json`` exists."""
    run_dir = stage1_run_dir(stage1_dir, backbone, optimizer, None if variant is None else variant.name)
    summary = run_dir / STAGE1_SUMMARY
    if summary.is_file() and (run_dir / STAGE1_MODEL).is_file():
        return json.loads(summary.read_text())
    from mstl_lib.training.stages import run_stage1

    return run_stage1(
        patch_dir, stage1_dir, backbone=backbone, optimizer=optimizer, profile=profile, seed=seed, variant=variant,
        **training,
    )  # fmt: skip

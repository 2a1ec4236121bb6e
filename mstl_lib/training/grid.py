"""The paper's experiment grid: backbones x optimizers x arms x folds.

The arms are the paper's two transfer types, CTL and MSTL, plus training from
scratch and a classical baseline where the profile asks for them
(:data:`mstl_lib.profiles.ARMS`).

:func:`run_grid` writes one JSON result per (configuration, fold) under
``OUT/results/`` and a ``manifest.json`` recording the profile, seed, folds,
library versions and a fingerprint of the data. Running it again skips every
result already written, so an interrupted grid loses nothing and redoes
nothing that finished; a run cut off mid-training resumes from its last epoch
(:func:`mstl_lib.training.fit.fit_model`). A folder made for other data or
settings is refused instead of being mixed.

Two ways to spread the grid (the book's chapter on clusters shows both):

- ``workers``: up to that many configurations train at once, each in its own
  child process, on this machine (e.g. several small trainings sharing one
  GPU).
- ``shard=(K, N)``: this process runs only the K-th of N disjoint parts of the
  grid, so that N jobs of a cluster array, each started with the same
  arguments and its own K, fill one shared output folder together
  (:mod:`mstl_lib.training.shards` reads K and N, also from a SLURM array or a
  Kubernetes Indexed Job). Every file is written under a name of its own and
  renamed into place, so concurrent shards never see half a file.

The manifest is written and checked by :mod:`mstl_lib.training.manifest`,
the parallel child processes are run by :mod:`mstl_lib.training.scheduling`
(which the study shares), the names of every file by :mod:`mstl_lib.run_files`,
and a trained fold's model is rebuilt by :mod:`mstl_lib.training.fold_model`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from functools import partial
from itertools import product
from pathlib import Path

from mstl_lib.data.datasets import ImageDataset
from mstl_lib.data.splits import cross_validation_folds
from mstl_lib.errors import DataError
from mstl_lib.integrity import CorruptFileError, read_json, set_aside
from mstl_lib.locks import clear_except_locks, writer_locks
from mstl_lib.outputs import write_json
from mstl_lib.profiles import ALL_BACKBONES, ARMS, BASELINE_CONFIG, OPTIMIZERS, Profile, check_profile
from mstl_lib.run_files import (
    TRAIN_LOG,
    configuration_run_dir,
    fold_run_dir,
    grid_lock_path,
    result_path,
    stage1_model_path,
)
from mstl_lib.training.child import run_in_child
from mstl_lib.training.manifest import (
    JSON_INDENT,
    check_stage1_models,
    grid_manifest,
    write_grid_manifest,
)
from mstl_lib.training.scheduling import (
    GPU_MEMORY_GROWTH,
    check_workers,
    prepare_initial_weights,
    train_in_parallel,
)
from mstl_lib.training.shards import parse_shard, shard_units
from mstl_lib.training.stages import train_fold
from mstl_lib.validation import check_choices, check_integer, check_output_folder, check_seed, check_weights_setting

CORRUPT_RESULT_FIX = "nothing to do: it is moved aside and that fold is trained again"


def _grid_units(arms, backbones, optimizers, folds) -> list[tuple]:
    """Every (arm, backbone, optimizer, fold) of the grid, networks first, the baseline last."""
    units = [
        (tl, b, o, f) for b, o, tl, f in product(backbones, optimizers, [a for a in arms if a != "baseline"], folds)
    ]
    if "baseline" in arms:
        units += [("baseline", *BASELINE_CONFIG, f) for f in folds]
    return units


def count_grid_units(profile: Profile, *, arms=None, backbones=None, optimizers=None, n_folds=None) -> int:
    """How many (arm, backbone, optimizer, fold) units :func:`run_grid` has with these arguments (same defaults)."""
    folds = range(int(n_folds or profile.folds))
    return len(
        _grid_units(arms or profile.arms, backbones or profile.backbones, optimizers or profile.optimizers, folds)
    )


def _lock_paths(out_dir: Path, units) -> list[Path]:
    return [grid_lock_path(out_dir, tl, b, o, f.index) for tl, b, o, f in units]


def run_grid(
    dataset: ImageDataset,
    out_dir,
    *,
    profile: Profile,
    stage1_dir=None,
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
    workers: int = 1,
    shard=None,
    mixed_precision: bool = False,
    jit_compile: bool | str = "auto",
    overwrite: bool = False,
) -> list[dict]:
    """Run (or finish) the cross-validated grid of the paper's Table 1.

    Parameters
    ----------
    dataset : ImageDataset
        Benign/malignant ultrasound images, with duplicate groups merged
        (:func:`mstl_lib.data.audit.group_duplicates`).
    out_dir : path-like
        Grid folder (``manifest.json``, ``results/``, ``runs/``).
    profile : Profile
        Sizes, hyperparameters and initial weights, resolved once by the caller
        (:func:`mstl_lib.profiles.get_profile`); its ``backbones``,
        ``optimizers``, ``arms`` and ``folds`` are the defaults of the
        arguments below.
    stage1_dir : path-like, optional
        Folder of stage-1 runs (``<backbone>-<optimizer>/model.keras``); needed for MSTL.
    backbones, optimizers : sequence of str, optional
    arms : sequence of {"scratch", "ctl", "mstl", "baseline"}, optional
        The transfer types (:data:`mstl_lib.profiles.ARMS`). ``baseline`` is
        the classical HOG + LBP + logistic regression of
        :mod:`mstl_lib.training.baseline`, trained on the same folds.
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
    workers : int
        Configurations trained at the same time, each in its own child
        process (default 1: one after the other). With more than one, every
        child gets ``TF_FORCE_GPU_ALLOW_GROWTH=true``
        (:data:`mstl_lib.training.scheduling.GPU_MEMORY_GROWTH`)
        so that they share one GPU's memory instead of the first taking it
        all. Each child still uses every CPU core, so on a CPU more workers
        mostly compete. If a configuration fails, those not yet started are
        dropped, those running finish, and the error is raised. Needs
        ``isolate=True``.
    shard : None, str or (int, int)
        Run only the K-th of N disjoint parts of the grid (K from 1), e.g.
        ``(2, 8)``, ``"2/8"`` or ``"auto"`` (from a SLURM array or a Kubernetes
        Indexed Job; see :mod:`mstl_lib.training.shards`). Start
        every shard with the same arguments and the same ``out_dir`` (on a
        shared file system, with the data at the same path on every machine);
        ``mstl report`` then reads the merged folder.
    mixed_precision, jit_compile
        Float16 computations and XLA, see :func:`mstl_lib.training.fit.fit_model`.
        Recorded in the manifest with ``deterministic`` and ``strategy``.
    overwrite : bool
        Delete what ``out_dir`` holds first and start again (not with
        ``shard``). Without it, a folder whose manifest records other settings
        (any field: profile, seed, folds, data fingerprint, stage-1 models,
        ``deterministic``, precision...) is refused, naming each differing
        field (:func:`mstl_lib.provenance.check_reusable`), before anything
        is written.

    Every argument is checked before any work. The run holds a lock on each
    (arm, backbone, optimizer, fold) it trains (:func:`mstl_lib.locks.writer_locks`):
    a second run that would train one of them is refused, naming this one,
    while shards of one grid write the same folder side by side. A result
    file that cannot be read whole (a truncated JSON) is reported, moved
    aside (``*.corrupt``) and its fold trained again.

    Returns
    -------
    list of dict
        Every result of this run's units (the whole grid, or this shard's
        part of it), finished earlier or now.
    """
    profile = check_profile(profile)
    backbones = check_choices(backbones or profile.backbones, "backbone(s)", ALL_BACKBONES)
    optimizers = check_choices(optimizers or profile.optimizers, "optimizer(s)", OPTIMIZERS)
    arms = check_choices(arms or profile.arms, "arm(s)", ARMS)
    n_folds = profile.folds if n_folds is None else check_integer(n_folds, "n_folds (CLI: --folds)", minimum=2)
    seed = check_seed(seed)
    check_integer(profile.epochs_stage2, "epochs_stage2 (CLI: --epochs)", minimum=1)
    shard = parse_shard(shard)
    workers = check_workers(workers, isolate)
    if overwrite and shard is not None:
        raise DataError(
            "overwrite=True (CLI: --overwrite) with a shard would delete the other shards' results. Fix: clear "
            "the folder once (e.g. run shard 1 alone with --overwrite and no other running), then start the shards."
        )
    _check_initial_weights(profile, backbones if "ctl" in arms else ())
    stage1 = check_stage1_models(stage1_dir, backbones, optimizers) if "mstl" in arms else {}
    out_dir = check_output_folder(out_dir, "out_dir (CLI: --out)")
    folds = cross_validation_folds(dataset.labels, dataset.groups, n_folds=n_folds, seed=seed)
    manifest = grid_manifest(dataset, profile, seed, n_folds, folds, mixed_precision)
    manifest.update(deterministic=bool(deterministic), strategy=strategy, jit_compile=jit_compile, stage1=stage1)
    all_units = _grid_units(arms, backbones, optimizers, folds)
    units = shard_units(all_units, shard)
    with writer_locks(
        _lock_paths(out_dir, all_units if overwrite else units),
        output=out_dir,
        fix="wait for that run to end, or give it another --out (the shards of one grid, --shard K/N, write "
        "one folder side by side).",
    ):
        if overwrite:
            clear_except_locks(out_dir)
        write_grid_manifest(out_dir, manifest, arms, backbones, optimizers)
        return _run_units(
            units,
            out_dir,
            progress=progress,
            desc="Grid" if shard is None else f"Grid shard {shard[0]}/{shard[1]}",
            workers=workers,
            dataset=dataset,
            isolate=isolate,
            env=GPU_MEMORY_GROWTH if workers > 1 else None,
            profile=profile,
            stage1_dir=stage1_dir,
            seed=seed,
            deterministic=deterministic,
            strategy=strategy,
            verbose=verbose,
            mixed_precision=mixed_precision,
            jit_compile=jit_compile,
        )


def _run_units(units, out_dir: Path, *, progress: bool, desc: str, workers: int, **train_options) -> list[dict]:
    """Train every unit without a (whole) result, ``workers`` configurations at a time; return all results."""
    from tqdm.auto import tqdm

    profile, seed, isolate = train_options["profile"], train_options["seed"], train_options["isolate"]
    if any(tl == "ctl" for tl, *_ in units):
        prepare_initial_weights(profile, sorted({b for tl, b, *_ in units if tl == "ctl"}), seed, isolate, out_dir)
    bar = tqdm(total=len(units), desc=desc, unit="fold", disable=not progress)
    train = partial(_train_job, out_dir=out_dir, bar=bar, **train_options)
    try:
        jobs = _pending_jobs(units, out_dir, bar)
        if workers == 1:
            for configuration, pending in jobs:
                train(configuration, pending)
        else:
            train_in_parallel(train, jobs, workers)
    finally:
        bar.close()
    return [read_json(result_path(out_dir, *unit[:3], unit[3].index), fix=CORRUPT_RESULT_FIX) for unit in units]


def _check_initial_weights(profile: Profile, ctl_backbones) -> None:
    """CTL's starting weights, checked before any training: a name or a readable file; ImageNet's files at hand."""
    check_weights_setting(profile.weights, "weights (CLI: --weights)")
    if profile.weights == "imagenet":
        from mstl_lib.models.weights import check_weights_argument

        for backbone in ctl_backbones:
            check_weights_argument("imagenet", backbone)


def _pending_jobs(units, out_dir: Path, bar) -> list[tuple]:
    """``(configuration, folds without a result)`` for every configuration of ``units`` that has such folds.

    The folds already done advance the progress bar.
    """
    jobs = []
    for configuration in dict.fromkeys((tl, b, o) for tl, b, o, _ in units):
        mine = [f for t, b, o, f in units if (t, b, o) == configuration]
        pending = [f for f in mine if not _whole_result(result_path(out_dir, *configuration, f.index))]
        bar.update(len(mine) - len(pending))
        if pending:
            jobs.append((configuration, pending))
    return jobs


def _whole_result(path: Path) -> bool:
    """Whether ``path`` holds a readable result; a corrupt one is reported and moved aside (to be trained again)."""
    if not path.is_file():
        return False
    try:
        read_json(path, fix=CORRUPT_RESULT_FIX)
    except CorruptFileError as error:
        moved = set_aside(path)
        print(f"warning: {error}; moved to {moved.name}, and this fold is trained again.", file=sys.stderr)
        return False
    return True


def _train_job(configuration, pending, *, dataset, out_dir: Path, bar, isolate: bool, env, **options) -> None:
    """Train the ``pending`` folds of one configuration, in a child process unless not ``isolate``d.

    The baseline trains in this process (no TensorFlow). ``options`` go to
    :func:`train_configuration`; ``env`` to the child's environment.
    """
    tl, backbone, optimizer = configuration
    bar.set_postfix_str(f"{tl} {backbone} {optimizer}")
    if tl == "baseline" or not isolate:
        train_configuration(
            dataset, pending, out_dir, tl, backbone, optimizer, on_result=lambda: bar.update(1), **options
        )
        return
    done = [0]

    def advance():
        finished = sum(result_path(out_dir, *configuration, f.index).is_file() for f in pending)
        bar.update(finished - done[0])
        done[0] = finished

    log_dir = configuration_run_dir(out_dir, tl, backbone, optimizer)
    log_dir.mkdir(parents=True, exist_ok=True)
    run_in_child(
        train_configuration,
        dataset,
        pending,
        out_dir,
        tl,
        backbone,
        optimizer,
        log_path=log_dir / TRAIN_LOG,
        on_wait=advance,
        env=env,
        **options,
    )
    advance()


def train_configuration(
    dataset,
    folds,
    out_dir,
    tl: str,
    backbone: str,
    optimizer: str,
    *,
    profile: Profile,
    stage1_dir,
    seed: int,
    on_result=None,
    **training,
) -> int:
    """Train and test the given folds of one (arm, backbone, optimizer), writing each result as it finishes.

    The grid runs this in one child process per configuration: TensorFlow
    starts once for all its folds, and the process's memory is returned
    when it ends. Each finished fold is a file, so a killed run loses at
    most the fold in progress (which resumes from its last backup).
    ``training`` (``deterministic``, ``strategy``, ``verbose``,
    ``mixed_precision``, ``jit_compile``) goes to :func:`mstl_lib.training.stages.train_fold`.
    """
    out_dir = Path(out_dir)
    for fold in folds:
        if tl == "baseline":
            from mstl_lib.training.baseline import run_baseline_fold

            result = run_baseline_fold(dataset, fold, seed=seed, image_size=profile.image_size, profile=profile)
        else:
            import keras

            result = train_fold(
                dataset,
                fold,
                tl=tl,
                backbone=backbone,
                optimizer=optimizer,
                run_dir=fold_run_dir(out_dir, tl, backbone, optimizer, fold.index),
                profile=profile,
                stage1_model=stage1_model_path(stage1_dir, backbone, optimizer) if tl == "mstl" else None,
                seed=seed,
                **training,
            )
            keras.backend.clear_session()
        write_json(result_path(out_dir, tl, backbone, optimizer, fold.index), result, indent=JSON_INDENT)
        if on_result is not None:
            on_result()
    return len(folds)

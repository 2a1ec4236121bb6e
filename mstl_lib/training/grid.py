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
  grid (:func:`shard_units`), so that N jobs of a cluster array, each started
  with the same arguments and its own K, fill one shared output folder
  together; :func:`parse_shard` reads K and N from a SLURM array or a
  Kubernetes Indexed Job. Every file is written under a name of its own and
  renamed into place, so concurrent shards never see half a file.
"""

from __future__ import annotations

import os
import platform
import re
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from datetime import datetime, timezone
from functools import partial
from itertools import product
from pathlib import Path

from mstl_lib import __version__
from mstl_lib.data.datasets import ImageDataset
from mstl_lib.data.splits import cross_validation_folds
from mstl_lib.errors import DataError
from mstl_lib.evaluation.results import GRID_MANIFEST, result_path
from mstl_lib.integrity import CorruptFileError, check_keras_archive, read_json, set_aside
from mstl_lib.locks import LOCK_DIR, clear_except_locks, writer_locks
from mstl_lib.outputs import write_json
from mstl_lib.profiles import ALL_BACKBONES, ARMS, BASELINE_CONFIG, INPUT_SIZE, OPTIMIZERS, Profile, get_profile
from mstl_lib.provenance import check_reusable, data_fingerprint, file_fingerprint
from mstl_lib.training.child import run_in_child, stop_all_children
from mstl_lib.training.stages import stage1_model_path, train_fold
from mstl_lib.validation import check_choices, check_integer, check_output_folder, check_seed, check_weights_setting

JSON_INDENT = 1
"""Indentation of the manifest and the results (one-space: results hold long lists of scores)."""
MANIFEST_DEFAULTS = {"mixed_precision": False}
"""Values of settings that manifests written before the setting existed stand for."""
NOT_COMPARED = ("created", "grid", "versions")
"""Manifest entries that do not decide the results: when, which configurations so far, library versions."""
CORRUPT_RESULT_FIX = "nothing to do: it is moved aside and that fold is trained again"


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose behaviour the results depend on."""
    import cv2
    import keras
    import numpy
    import sklearn
    import tensorflow

    return {
        "mstl_lib": __version__,
        "python": platform.python_version(),
        "tensorflow": tensorflow.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "scikit-learn": sklearn.__version__,
        "opencv": cv2.__version__,
        "platform": platform.platform(),
    }


def _grid_units(arms, backbones, optimizers, folds) -> list[tuple]:
    """Every (arm, backbone, optimizer, fold) of the grid, networks first, the baseline last."""
    units = [
        (tl, b, o, f) for b, o, tl, f in product(backbones, optimizers, [a for a in arms if a != "baseline"], folds)
    ]
    if "baseline" in arms:
        units += [("baseline", *BASELINE_CONFIG, f) for f in folds]
    return units


SHARD_COUNT_VARIABLE = "MSTL_SHARD_COUNT"
"""Number of shards for ``--shard auto`` under Kubernetes, which gives each pod its index but not the count."""
GPU_MEMORY_GROWTH = {"TF_FORCE_GPU_ALLOW_GROWTH": "true"}
"""Environment of the training processes when several run at once: each takes GPU memory as it needs it."""


def parse_shard(spec, environ: Mapping[str, str] | None = None) -> tuple[int, int] | None:
    """The (K, N) of ``--shard``: run the K-th of N parts of the grid, K counted from 1.

    Parameters
    ----------
    spec : None, str or (int, int)
        None: the whole grid. ``"K/N"`` with 1 <= K <= N, e.g. ``"2/8"``.
        ``"auto"``: from the environment of a cluster job array:

        - SLURM (``sbatch --array``): ``SLURM_ARRAY_TASK_ID``,
          ``SLURM_ARRAY_TASK_COUNT`` and, where set (SLURM sets it),
          ``SLURM_ARRAY_TASK_MIN`` and ``SLURM_ARRAY_TASK_STEP``:
          K = (ID - MIN) / STEP + 1, N = COUNT, so ``--array=0-7``,
          ``--array=1-8`` and ``--array=10-17`` all give shards 1/8 to 8/8.
          Without ``SLURM_ARRAY_TASK_MIN`` the array is taken to start at 0.
        - Kubernetes Indexed Job (``completionMode: Indexed``):
          ``JOB_COMPLETION_INDEX`` (from 0) gives K = index + 1, and
          ``MSTL_SHARD_COUNT`` (:data:`SHARD_COUNT_VARIABLE`; set it to the
          Job's ``completions``, which Kubernetes does not export) gives N.
    environ : mapping, optional
        Where ``"auto"`` looks (default ``os.environ``).

    Returns
    -------
    (int, int) or None
        ``(K, N)``; None for the whole grid.

    Raises
    ------
    DataError
        For a malformed spec, K outside 1..N, or ``"auto"`` without (or with
        inconsistent) array variables.
    """
    if spec is None:
        return None
    if isinstance(spec, (tuple, list)):
        if len(spec) != 2:
            raise DataError(f"shard {spec!r} is not (K, N). Fix: give e.g. (1, 4) or '1/4'.")
        return _checked_shard(*spec, shown=f"{spec!r}")
    text = str(spec).strip().lower()
    if text == "auto":
        return _shard_from_environment(os.environ if environ is None else environ)
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise DataError(
            f"shard {spec!r} is not K/N or 'auto'. Fix: give e.g. --shard 1/4 (the first of four parts, "
            "counted from 1), or --shard auto inside a SLURM array or Kubernetes Indexed Job."
        )
    return _checked_shard(int(match.group(1)), int(match.group(2)), shown=repr(spec))


def _checked_shard(k, n, *, shown: str) -> tuple[int, int]:
    try:
        k, n = check_integer(k, "K"), check_integer(n, "N")
    except DataError:
        raise DataError(f"shard {shown}: K and N must be whole numbers. Fix: give e.g. --shard 1/4.") from None
    if n < 1 or not 1 <= k <= n:
        raise DataError(
            f"shard {shown}: K must be between 1 and N (K counts from 1), and N at least 1. "
            f"Fix: give one of 1/{max(n, 1)} ... {max(n, 1)}/{max(n, 1)}."
        )
    return k, n


def _integer_variable(environ, name: str) -> int:
    value = environ.get(name, "")
    try:
        return int(value)
    except ValueError:
        raise DataError(
            f"--shard auto: {name}={value!r} is not a whole number. Fix: set it to one, or give --shard K/N explicitly."
        ) from None


def _shard_from_environment(environ: Mapping[str, str]) -> tuple[int, int]:
    """(K, N) from a SLURM job array or a Kubernetes Indexed Job (see :func:`parse_shard`)."""
    if "SLURM_ARRAY_TASK_ID" in environ:
        if "SLURM_ARRAY_TASK_COUNT" not in environ:
            raise DataError(
                "--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not. Fix: run "
                "inside an `sbatch --array` job, or give --shard K/N explicitly."
            )
        task = _integer_variable(environ, "SLURM_ARRAY_TASK_ID")
        count = _integer_variable(environ, "SLURM_ARRAY_TASK_COUNT")
        first = _integer_variable(environ, "SLURM_ARRAY_TASK_MIN") if "SLURM_ARRAY_TASK_MIN" in environ else 0
        step = _integer_variable(environ, "SLURM_ARRAY_TASK_STEP") if "SLURM_ARRAY_TASK_STEP" in environ else 1
        shown = (
            f"SLURM_ARRAY_TASK_ID={task}, SLURM_ARRAY_TASK_MIN={first}, SLURM_ARRAY_TASK_STEP={step}, "
            f"SLURM_ARRAY_TASK_COUNT={count}"
        )
        if step < 1 or (task - first) % step or not 0 <= (task - first) // step < count:
            raise DataError(
                f"--shard auto: the array variables are inconsistent ({shown}): task IDs must run "
                "from MIN in steps of STEP, COUNT of them. Fix: submit a range such as "
                "`sbatch --array=0-7`, or give --shard K/N explicitly."
            )
        return _checked_shard((task - first) // step + 1, count, shown=shown)
    if "JOB_COMPLETION_INDEX" in environ:
        index = _integer_variable(environ, "JOB_COMPLETION_INDEX")
        if SHARD_COUNT_VARIABLE not in environ:
            raise DataError(
                f"--shard auto: JOB_COMPLETION_INDEX={index} is set but {SHARD_COUNT_VARIABLE} is not "
                "(Kubernetes does not export the number of completions). Fix: set "
                f"{SHARD_COUNT_VARIABLE} in the pod template to the Job's `completions`."
            )
        count = _integer_variable(environ, SHARD_COUNT_VARIABLE)
        return _checked_shard(
            index + 1, count, shown=f"JOB_COMPLETION_INDEX={index} (shard {index + 1}), {SHARD_COUNT_VARIABLE}={count}"
        )
    raise DataError(
        "--shard auto found no job array: neither SLURM_ARRAY_TASK_ID (SLURM, `sbatch --array`) nor "
        "JOB_COMPLETION_INDEX (Kubernetes Indexed Job) is set. Fix: run inside one, or give --shard K/N."
    )


def shard_units(units: Sequence, shard: tuple[int, int] | None) -> list:
    """The units of shard ``(K, N)``: those whose position in the grid's full list, counted from 0, is K - 1 modulo N.

    The full list (:func:`_grid_units`) depends only on the arms, backbones,
    optimizers and folds, so every shard started with the same arguments
    computes the same list; the N shards are disjoint and together cover it.
    Consecutive units (the folds of one configuration) go to different
    shards, which balances shards of similar networks.
    """
    if shard is None:
        return list(units)
    k, n = shard
    return [unit for index, unit in enumerate(units) if index % n == k - 1]


def count_grid_units(profile="smoke", *, arms=None, backbones=None, optimizers=None, n_folds=None) -> int:
    """How many (arm, backbone, optimizer, fold) units :func:`run_grid` has with these arguments (same defaults)."""
    profile = get_profile(profile)
    folds = range(int(n_folds or profile.folds))
    return len(
        _grid_units(arms or profile.arms, backbones or profile.backbones, optimizers or profile.optimizers, folds)
    )


def shard_summary(shard: tuple[int, int], n_done: int, n_units: int, out_dir) -> str:
    """The last line of a shard's log: its part of the grid, and what to run once every shard is done.

    A shard holds only part of the folds, so its own Table 1 would read like a
    failed run; ``mstl report`` reads the merged folder.
    """
    k, n = shard
    return f"shard {k}/{n}: {n_done} of {n_units} units trained; run `mstl report {out_dir}` when all shards are done"


def _check_stage1(stage1_dir, backbones, optimizers) -> dict:
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


def _compared(manifest: dict) -> dict:
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


def _write_manifest(out_dir: Path, manifest: dict, arms, backbones, optimizers) -> None:
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
            _compared(manifest),
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


def _lock_paths(out_dir: Path, units) -> list[Path]:
    return [out_dir / LOCK_DIR / f"{tl}-{b}-{o}-fold{f.index}.lock" for tl, b, o, f in units]


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
    stage1_dir : path-like, optional
        Folder of stage-1 runs (``<backbone>-<optimizer>/model.keras``); needed for MSTL.
    profile : str or Profile
        Sizes and hyperparameters; its ``backbones``, ``optimizers``,
        ``arms`` and ``folds`` are the defaults of the next four arguments.
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
        child gets ``TF_FORCE_GPU_ALLOW_GROWTH=true`` (:data:`GPU_MEMORY_GROWTH`)
        so that they share one GPU's memory instead of the first taking it
        all. Each child still uses every CPU core, so on a CPU more workers
        mostly compete. If a configuration fails, those not yet started are
        dropped, those running finish, and the error is raised. Needs
        ``isolate=True``.
    shard : None, str or (int, int)
        Run only the K-th of N disjoint parts of the grid (K from 1), e.g.
        ``(2, 8)``, ``"2/8"`` or ``"auto"`` (from a SLURM array or a Kubernetes
        Indexed Job; see :func:`parse_shard` and :func:`shard_units`). Start
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
    profile = get_profile(profile)
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
    stage1 = _check_stage1(stage1_dir, backbones, optimizers) if "mstl" in arms else {}
    out_dir = check_output_folder(out_dir, "out_dir (CLI: --out)")
    folds = cross_validation_folds(dataset.labels, dataset.groups, n_folds=n_folds, seed=seed)
    manifest = _grid_manifest(dataset, profile, seed, n_folds, folds, mixed_precision)
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
        _write_manifest(out_dir, manifest, arms, backbones, optimizers)
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


def _grid_manifest(
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

    log_dir = out_dir / "runs" / f"{tl}-{backbone}-{optimizer}"
    log_dir.mkdir(parents=True, exist_ok=True)
    run_in_child(
        train_configuration,
        dataset,
        pending,
        out_dir,
        tl,
        backbone,
        optimizer,
        log_path=log_dir / "train.log",
        on_wait=advance,
        env=env,
        **options,
    )
    advance()


def check_workers(workers, isolate: bool) -> int:
    """``workers`` as a count of parallel training processes (>= 1; more than one needs child processes)."""
    workers = check_integer(workers, "workers", minimum=1)
    if workers > 1 and not isolate:
        raise DataError(
            f"workers={workers} trains configurations in child processes side by side; isolate=False "
            "trains in this process. Fix: leave isolate at True, or use workers=1."
        )
    return workers


def train_in_parallel(train, jobs, workers: int) -> None:
    """``train(configuration, pending)`` for every job, ``workers`` at a time.

    The first error is raised after the running ones end.
    """
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mstl-grid") as pool:
        futures = [pool.submit(train, *job) for job in jobs]
        try:
            finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
        except BaseException:  # KeyboardInterrupt, SIGTERM: start nothing more, stop what runs
            for future in futures:
                future.cancel()
            stop_all_children()
            raise
        failed = [f for f in futures if f in finished and f.exception() is not None]
        if failed:
            for future in futures:
                future.cancel()
            wait(futures)
            raise failed[0].exception()


def train_configuration(
    dataset,
    folds,
    out_dir,
    tl: str,
    backbone: str,
    optimizer: str,
    *,
    profile,
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

            result = run_baseline_fold(dataset, fold, seed=seed, image_size=get_profile(profile).image_size)
            result["profile"] = get_profile(profile).name
        else:
            import keras

            result = train_fold(
                dataset,
                fold,
                tl=tl,
                backbone=backbone,
                optimizer=optimizer,
                run_dir=out_dir / "runs" / f"{tl}-{backbone}-{optimizer}" / f"fold{fold.index}",
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


def prepare_initial_weights(profile: Profile, backbones, seed: int, isolate: bool, out_dir: Path) -> None:
    """Make the generic stage's weights (once, cached; :func:`mstl_lib.training.generic.ensure_generic_weights` lets
    one of several shards train them) before the folds that start from them."""
    from mstl_lib.training.generic import GENERIC_WEIGHTS, ensure_generic_weights, generic_weights_path

    if profile.weights != GENERIC_WEIGHTS:
        return
    for backbone in backbones:
        if generic_weights_path(backbone, profile, seed).is_file():
            continue
        if isolate:
            run_in_child(ensure_generic_weights, backbone, profile, seed=seed, log_path=out_dir / "generic.log")
        else:
            ensure_generic_weights(backbone, profile, seed=seed)


def load_fold_model(
    grid_dir, tl: str, backbone: str, optimizer: str, fold: int = 0, *, stage1_dir=None, image_size: int = INPUT_SIZE
):
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
    from mstl_lib.models.networks import build_ctl_model, build_stage2_model, load_model

    weights = Path(grid_dir) / "runs" / f"{tl}-{backbone}-{optimizer}" / f"fold{fold}" / "best.weights.h5"
    if not weights.is_file():
        raise DataError(
            f"{weights}: no trained weights for {tl} {backbone} {optimizer} fold {fold}. Fix: run the grid first."
        )
    if tl == "mstl":
        if stage1_dir is None:
            raise DataError("an MSTL model is rebuilt from its stage-1 model: pass stage1_dir.")
        model = build_stage2_model(load_model(stage1_model_path(stage1_dir, backbone, optimizer), compile=False))
    else:
        model = build_ctl_model(backbone, weights=None, image_size=image_size)
    model.load_weights(str(weights))
    return model

"""The names of every file and folder a run writes: one place, read by the writers and the readers alike.

Three kinds of output folder, each with a fixed layout:

- a **stage-1 folder** (``mstl pretrain``, MSTL's first stage on the cell-line
  patches, Ayana et al. 2022, section 2.2, Fig. 3b):
  ``<backbone>-<optimizer>[-<variant>]/`` with ``model.keras``,
  ``stage1.json``, ``settings.json`` and the training files below;
- a **grid folder** (``mstl grid``, the paper's Table 1): ``manifest.json``,
  ``results/<arm>-<backbone>-<optimizer>/fold<k>.json`` and
  ``runs/<arm>-<backbone>-<optimizer>/fold<k>/`` (with ``train.log`` beside
  the folds);
- a **study folder** (``mstl study``): ``study.json``,
  ``results/<arm>/f<fraction>/n<size>/r<repeat>/fold<k>.json`` and ``runs/``.

Every training folder (:func:`mstl_lib.training.fit.fit_model`) holds
``history.csv``, ``best.weights.h5`` (with ``best.json``), ``fit.json`` once
finished and ``backup/`` while it runs. Every output folder keeps its lock
files in ``.locks/`` (:mod:`mstl_lib.locks`).

Training, the grid, the study, the reports and the lessons' workspace all take
their paths from here, so a name changes in one place. Nothing here loads
TensorFlow (the evaluation side reads results without it).
"""

from __future__ import annotations

from pathlib import Path

LOCK_DIR = ".locks"
"""Folder, inside an output folder, of the lock files of the parts being written."""
LOCK_SUFFIX = ".lock"

# --- one training (fit_model) ------------------------------------------------------------
HISTORY = "history.csv"
"""Keras' CSV log of every epoch's losses and metrics."""
BEST_WEIGHTS = "best.weights.h5"
"""The weights of the epoch the validation part picked (its record: ``best.json``)."""
FIT_RECORD = "fit.json"
"""Written when a training has finished: a rerun loads the best weights instead of training."""
BACKUP_DIR = "backup"
"""Keras' backup of the training state, from which an interrupted training resumes."""

# --- stage-1 folder -----------------------------------------------------------------------
STAGE1_MODEL = "model.keras"
STAGE1_SUMMARY = "stage1.json"
STAGE1_SETTINGS = "settings.json"
"""Written when a stage-1 run starts, so that an interrupted run resumes only with the same settings."""

# --- grid folder --------------------------------------------------------------------------
GRID_MANIFEST = "manifest.json"
"""The grid folder's record of its profile, seed, data and folds."""
RESULTS_DIR = "results"
RUNS_DIR = "runs"
TRAIN_LOG = "train.log"
"""Output of the child process that trains one configuration's folds."""
GENERIC_LOG = "generic.log"
"""Output of the child process that trains the generic stage's weights for a grid."""

# --- study folder -------------------------------------------------------------------------
STUDY_MANIFEST = "study.json"
"""The study folder's record of its design, data and stage-1 runs."""
STUDY_TABLE = "study_table.csv"
TIMING = "timing.json"


def history_path(run_dir) -> Path:
    """``<run_dir>/history.csv``."""
    return Path(run_dir) / HISTORY


def best_weights_path(run_dir) -> Path:
    """``<run_dir>/best.weights.h5``."""
    return Path(run_dir) / BEST_WEIGHTS


def lock_path(out_dir, name: str) -> Path:
    """``<out_dir>/.locks/<name>.lock``: the lock of one part of an output folder."""
    return Path(out_dir) / LOCK_DIR / f"{name}{LOCK_SUFFIX}"


def stage1_run_dir(stage1_dir, backbone: str, optimizer: str, variant: str | None = None) -> Path:
    """``<stage1_dir>/<backbone>-<optimizer>[-<variant>]``: one stage-1 run, or one of the study's variants."""
    return Path(stage1_dir) / (f"{backbone}-{optimizer}" + (f"-{variant}" if variant else ""))


def stage1_model_path(stage1_dir, backbone: str, optimizer: str, variant: str | None = None) -> Path:
    """Where ``mstl pretrain`` saves the stage-1 model of ``(backbone, optimizer)`` under ``stage1_dir``."""
    return stage1_run_dir(stage1_dir, backbone, optimizer, variant) / STAGE1_MODEL


def stage1_summary_path(stage1_dir, backbone: str, optimizer: str, variant: str | None = None) -> Path:
    """The ``stage1.json`` of one stage-1 run (written when it has finished)."""
    return stage1_run_dir(stage1_dir, backbone, optimizer, variant) / STAGE1_SUMMARY


def study_stages_log(stage1_dir, backbone: str, optimizer: str) -> Path:
    """The log of the child process that trains a study's missing stage-1 runs."""
    return Path(stage1_dir) / f"{backbone}-{optimizer}-study-stages.log"


def configuration_name(tl: str, backbone: str, optimizer: str) -> str:
    """``"<arm>-<backbone>-<optimizer>"``: how one configuration of the grid is named on disk."""
    return f"{tl}-{backbone}-{optimizer}"


def result_path(out_dir, tl: str, backbone: str, optimizer: str, fold: int) -> Path:
    """Where the grid writes the result of one (configuration, fold)."""
    return Path(out_dir) / RESULTS_DIR / configuration_name(tl, backbone, optimizer) / f"fold{int(fold)}.json"


def grid_result_files(out_dir) -> list[Path]:
    """Every result file of a grid folder, in a stable order."""
    return sorted((Path(out_dir) / RESULTS_DIR).glob("*/fold*.json"))


def configuration_run_dir(out_dir, tl: str, backbone: str, optimizer: str) -> Path:
    """``<out_dir>/runs/<arm>-<backbone>-<optimizer>``: the training folders and log of one configuration."""
    return Path(out_dir) / RUNS_DIR / configuration_name(tl, backbone, optimizer)


def fold_run_dir(out_dir, tl: str, backbone: str, optimizer: str, fold: int) -> Path:
    """The training folder of one (configuration, fold) of the grid (:func:`mstl_lib.training.fit.fit_model`)."""
    return configuration_run_dir(out_dir, tl, backbone, optimizer) / f"fold{int(fold)}"


def grid_lock_path(out_dir, tl: str, backbone: str, optimizer: str, fold: int) -> Path:
    """The lock of one (configuration, fold) of the grid while a run trains it."""
    return lock_path(out_dir, f"{configuration_name(tl, backbone, optimizer)}-fold{int(fold)}")


def fraction_label(fraction: float | None) -> str:
    """``"f1.00"``, ``"f0.10"``, or ``"fnone"`` for the study's arms without a stage 1."""
    return "fnone" if fraction is None else f"f{float(fraction):.2f}"


def study_result_path(out_dir, arm: str, fraction: float | None, size, repeat: int, fold: int) -> Path:
    """Where the study writes the result of one training (``size``: images per class, or ``"all"``)."""
    from mstl_lib.data.subsample import size_label

    return (
        Path(out_dir)
        / RESULTS_DIR
        / arm
        / fraction_label(fraction)
        / f"n{size_label(size)}"
        / f"r{int(repeat)}"
        / f"fold{int(fold)}.json"
    )


def study_result_files(out_dir) -> list[Path]:
    """Every result file of a study folder, in a stable order."""
    return sorted((Path(out_dir) / RESULTS_DIR).rglob("fold*.json"))


def study_lock_path(out_dir, result: Path) -> Path:
    """The lock of the study training whose result is ``result`` (a path under ``out_dir/results``)."""
    return lock_path(out_dir, "-".join(Path(result).relative_to(Path(out_dir) / RESULTS_DIR).with_suffix("").parts))


def study_job_name(arm: str, fraction: float | None) -> str:
    """``"<arm>-f<fraction>"``: one job of the study (its child process's log and timing)."""
    return f"{arm}-{fraction_label(fraction)}"


def study_log_path(out_dir, name: str) -> Path:
    """``<out_dir>/runs/<name>.log``: the log of one child process of the study."""
    return Path(out_dir) / RUNS_DIR / f"{name}.log"


def study_timing_path(out_dir, arm: str, fraction: float | None) -> Path:
    """Where the study records the fixed costs (data, compilation) of one job."""
    return Path(out_dir) / RUNS_DIR / study_job_name(arm, fraction) / TIMING

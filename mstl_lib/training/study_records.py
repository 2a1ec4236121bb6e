"""One training of the study (:mod:`mstl_lib.training.study`) and where its result goes.

The study plans its trainings as :class:`StudyUnit` objects; the child
processes that train them (:mod:`mstl_lib.training.study_units`) write each
result, with :func:`unit_record`, to :func:`unit_result_path`. Both modules
need these, so they live here, and the study's imports lead one way: study ->
study_units -> study_records. No TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mstl_lib.data.datasets import ImageDataset
from mstl_lib.data.splits import Fold
from mstl_lib.run_files import study_result_path


@dataclass(frozen=True)
class StudyUnit:
    """One training of the study: an arm at one size on one fold of one repeat.

    ``train`` is the subsampled training part; ``fold`` holds the full fold
    (its validation and test parts are those of every size and arm).
    """

    arm: str
    fraction: float | None
    size: str
    repeat: int
    fold: Fold
    seed: int
    train: np.ndarray

    @property
    def job(self) -> tuple:
        """Units of one job share a child process: one (arm, stage-1 fraction)."""
        return (self.arm, self.fraction)


def unit_record(dataset: ImageDataset, unit: StudyUnit) -> dict:
    """The fields of a unit's result that describe the training, not its outcome."""
    names = np.array([p.relative_to(dataset.root).as_posix() for p in dataset.paths], dtype=object)
    labels = dataset.labels[unit.train]
    return {
        "arm": unit.arm,
        "stage1_fraction": unit.fraction,
        "size_label": unit.size,
        "n_per_class": int(min(np.bincount(labels, minlength=len(dataset.class_names)))),
        "train_counts": {c: int((labels == k).sum()) for k, c in enumerate(dataset.class_names)},
        "repeat": unit.repeat,
        "fold": int(unit.fold.index),
        "seed": unit.seed,
        "n_train": int(len(unit.train)),
        "n_train_part": int(len(unit.fold.train)),
        "n_val": int(len(unit.fold.val)),
        "n_test": int(len(unit.fold.test)),
        "train_images": names[unit.train].tolist(),
        "val_images": names[unit.fold.val].tolist(),
        "test_images": names[unit.fold.test].tolist(),
    }


def unit_result_path(out_dir, unit: StudyUnit) -> Path:
    """Where the result of one training of the study is written (:func:`mstl_lib.run_files.study_result_path`)."""
    return study_result_path(out_dir, unit.arm, unit.fraction, unit.size, unit.repeat, unit.fold.index)

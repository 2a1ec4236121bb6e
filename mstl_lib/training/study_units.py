"""The network trainings of the study, run in a child process per (arm, stage-1 fraction).

:func:`train_study_job` builds and compiles one network for its arm
(:class:`mstl_lib.training.reuse.ReusableModel`), reads the ultrasound images
once, and trains every unit given to it in turn, writing each unit's result
as soon as it is done. Each training follows stage 2's recipe (Ayana et al.
2022, section 2.3; :func:`mstl_lib.training.stages.train_fold`): the
paper's augmentation tripling the training images, the profile's optimizer,
learning rate and decay, the epoch picked on the validation part, the test
part predicted once.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from mstl_lib.outputs import write_json
from mstl_lib.profiles import Profile
from mstl_lib.run_files import study_timing_path
from mstl_lib.training.fit import set_seed
from mstl_lib.training.inputs import STAGE2_MULTIPLIER, split_loader
from mstl_lib.training.reuse import ReusableModel, Stopwatch
from mstl_lib.training.study_records import unit_record, unit_result_path


def arm_builder(arm: str, profile, *, backbone: str, stage1_model=None, seed: int = 0):
    """The function building a fresh network of one study arm (scratch, CTL, or MSTL/control from its stage 1)."""
    from mstl_lib.models.networks import build_ctl_model, build_stage2_model, load_model
    from mstl_lib.training.generic import resolve_initial_weights

    if arm == "scratch":
        return lambda: build_ctl_model(backbone, weights=None, image_size=profile.image_size)
    if arm == "ctl":
        initial = resolve_initial_weights(profile.weights, backbone, profile, seed=seed)
        return lambda: build_ctl_model(backbone, weights=initial, image_size=profile.image_size)
    stage1 = load_model(stage1_model, compile=False)
    return lambda: build_stage2_model(stage1)


def train_study_groups(dataset, groups, out_dir, *, launched: float | None = None, **options) -> int:
    """Train several (arm, stage-1 fraction) groups one after another in this process (TensorFlow started once).

    ``groups``: ``[((arm, fraction), units, stage-1 model or None), ...]``;
    ``options`` go to :func:`train_study_job`. Returns the number of trainings.
    """
    import keras

    trained = 0
    for (arm, fraction), units, stage1_model in groups:
        trained += train_study_job(
            dataset, units, out_dir, arm, fraction, stage1_model=stage1_model, launched=launched, **options
        )
        launched = None  # the process started once
        keras.backend.clear_session()
    return trained


def train_study_job(
    dataset,
    units,
    out_dir,
    arm: str,
    fraction,
    *,
    profile: Profile,
    stage1_model=None,
    deterministic: bool = False,
    mixed_precision: bool = False,
    jit_compile: bool | str = "auto",
    launched: float | None = None,
    on_result=None,
    study_seed: int = 0,
) -> int:
    """Train the network ``units`` of one (arm, stage-1 fraction), writing each result as it finishes.

    Units sharing a training seed (one repeat and fold, several sizes) run
    one after another, so the starting weights are built once for them.
    The process's fixed costs (``startup``: from ``launched`` to here,
    TensorFlow's import included; ``data``: reading the images; ``compile``:
    building and compiling the network) go to
    ``OUT/runs/<arm>-<fraction>/timing.json``. ``study_seed`` seeds
    TensorFlow once (every training also has its own seed, ``StudyUnit.seed``).
    """
    import keras

    fixed = {"startup": time.time() - launched if launched else None}
    watch = Stopwatch()
    units = sorted(units, key=lambda u: (u.seed, u.size))
    set_seed(study_seed, deterministic)  # the same in every process, so that a resumed study trains alike
    with watch("data"):
        images, labels = dataset.load_arrays(size=profile.image_size, progress=False)
    with watch("compile"):
        trainer = ReusableModel(
            arm_builder(arm, profile, backbone=profile.backbones[0], stage1_model=stage1_model, seed=0),
            optimizer=profile.optimizers[0],
            learning_rate=profile.learning_rate,
            decay_rate=profile.decay_rate,
            loss="binary_crossentropy",
            metrics=["accuracy", keras.metrics.AUC(name="auc")],
            monitor=profile.monitor,
            bn_momentum=profile.bn_momentum,
            mixed_precision=mixed_precision,
            jit_compile=jit_compile,
        )
    fixed.update(watch.seconds)
    for unit in units:
        _train_unit(trainer, dataset, images, labels, unit, Path(out_dir), profile)
        if on_result is not None:
            on_result()
    timing = study_timing_path(out_dir, arm, fraction)
    write_json(timing, {"fixed_seconds": fixed, "units": len(units)})
    return len(units)


def _train_unit(trainer: ReusableModel, dataset, images, labels, unit, out_dir: Path, profile) -> dict:
    """One training of the study: start, fit, predict the test part once, write the result."""
    from mstl_lib.evaluation.metrics import binary_metrics

    watch = Stopwatch()
    with watch("data"):
        load = split_loader(
            images,
            labels,
            batch_size=profile.batch_size,
            image_size=profile.image_size,
            seed=unit.seed,
            augmentation="stage2",
            repeat_augmented=STAGE2_MULTIPLIER,
        )
        train, val, test = load(unit.train, True), load(unit.fold.val, False), load(unit.fold.test, False)
    with watch("build"):
        trainer.start(unit.seed, math.ceil(len(unit.train) * STAGE2_MULTIPLIER / profile.batch_size))
    with watch("fit"):
        history, best_epoch = trainer.fit(
            train, val, epochs=profile.study_epochs or profile.epochs_stage2, patience=profile.patience
        )
    with watch("predict"):
        y_score = trainer.predict(test).reshape(-1).astype(float)
    y_true = labels[unit.fold.test]
    seconds = dict(watch.seconds)
    seconds["total"] = sum(seconds.values())
    result = {
        **unit_record(dataset, unit),
        "metrics": binary_metrics(y_true, np.clip(y_score, 0.0, 1.0)),
        "y_true": y_true.tolist(),
        "y_score": y_score.tolist(),
        "epochs_trained": len(history.get("loss", [])),
        "best_epoch": int(best_epoch),
        "history": history,
        "seconds": seconds,
    }
    write_json(unit_result_path(out_dir, unit), result, indent=1)
    return result

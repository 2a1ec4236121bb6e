"""Figure 8: the fixed cost of one study training, before and after it was cut.

A study (``mstl study``) is hundreds of small trainings: at 8 images per
class an epoch is 48 augmented images, a few hundredths of a second of
arithmetic for the lab's resnet10. This figure splits one study training
(the lab's CTL network, batch 16, 75 x 75, random in-memory images, a fixed
number of epochs without early stopping) into

* **start-up**: a fresh Python process importing TensorFlow and the library
  (timed from outside, as ``python -c "import mstl_lib.training.study_units"``);
* **build**: building and compiling the network (before), or putting a
  freshly initialised state into the one compiled network (after);
* **tracing**: the first epoch's and the first prediction's extra time over
  the later ones (TensorFlow tracing the steps into graphs);
* **epochs**: the epochs themselves (training and validation passes);
* **predict**: the test part's scores.

*Before* is the grid's way (one process per configuration, a new model and
new traced steps per training, as :func:`mstl_lib.training.stages.train_fold`
does): every training pays every line. *After* is the study's
(:class:`mstl_lib.training.reuse.ReusableModel`): the process, the compiled
model and its traced steps are paid once per arm and shared by all its
trainings. From the measured per-epoch costs it estimates the lab study's
training time. Timings on a shared machine are inflated by its other load.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import numpy as np
from common import QUIET_ENV, check, epoch_timer, fmt, median, quiet_tensorflow

from mstl_lib.profiles import get_profile

BATCH, IMAGE_SIZE, VAL, TEST = 16, 75, 40, 40
BUDGET_MIN = 15.0


def startup_seconds(repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", "import mstl_lib.training.study_units"],
            check=True,
            capture_output=True,
            env={**os.environ, **QUIET_ENV},
        )
        samples.append(time.perf_counter() - started)
    return samples


def _data(per_class: int):
    from mstl_lib.training.inputs import STAGE2_MULTIPLIER, split_loader

    n = 2 * per_class + VAL + TEST
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    labels = np.arange(n) % 2
    load = split_loader(
        images, labels, batch_size=BATCH, image_size=IMAGE_SIZE, seed=0, augmentation="stage2",
        repeat_augmented=STAGE2_MULTIPLIER,
    )  # fmt: skip
    train, val, test = np.arange(2 * per_class), np.arange(2 * per_class, n - TEST), np.arange(n - TEST, n)
    steps = -(-2 * per_class * STAGE2_MULTIPLIER // BATCH)
    return (lambda: (load(train, True), load(val, False), load(test, False))), steps


def _split(timer, first_predict: float, later_predict: float) -> dict:
    epochs = [e["epoch_s"] for e in timer.epochs]
    later = statistics.median(epochs[1:]) if len(epochs) > 1 else epochs[0]
    return {
        "tracing": max(epochs[0] - later, 0.0) + max(first_predict - later_predict, 0.0),
        "epochs": later * len(epochs),
        "predict": later_predict,
    }


def before(per_class: int, epochs: int, trainings: int) -> list[dict]:
    """A new network per training (the grid's way), timed in this process."""
    import keras

    from mstl_lib.models.networks import build_ctl_model
    from mstl_lib.training.fit import compiled_model, get_strategy
    from mstl_lib.training.optimizers import make_optimizer

    data, steps = _data(per_class)
    samples = []
    for _ in range(trainings):
        train, val, test = data()
        started = time.perf_counter()
        model = compiled_model(
            lambda: build_ctl_model("resnet10", weights=None), get_strategy(None), "float32", bn_momentum=0.9,
            new_optimizer=lambda: make_optimizer("adam", 1e-3, 0.96, steps_per_epoch=steps),
            loss="binary_crossentropy", metrics=["accuracy", keras.metrics.AUC(name="auc")], jit_compile="auto",
        )  # fmt: skip
        build = time.perf_counter() - started
        timer = epoch_timer()
        model.fit(train, validation_data=val, epochs=epochs, callbacks=[timer], verbose=0, shuffle=False)
        predicts = []
        for _ in range(2):
            started = time.perf_counter()
            model.predict(test, verbose=0)
            predicts.append(time.perf_counter() - started)
        samples.append({"build": build, **_split(timer, *predicts)})
        keras.backend.clear_session()
    return samples


def after(per_class: int, epochs: int, trainings: int) -> tuple[float, list[dict]]:
    """One compiled network, fresh weights per training (the study's way)."""
    import keras

    from mstl_lib.models.networks import build_ctl_model
    from mstl_lib.training.reuse import ReusableModel

    data, steps = _data(per_class)
    started = time.perf_counter()
    trainer = ReusableModel(
        lambda: build_ctl_model("resnet10", weights=None), optimizer="adam", learning_rate=1e-3, decay_rate=0.96,
        loss="binary_crossentropy", metrics=["accuracy", keras.metrics.AUC(name="auc")], monitor="val_auc",
        bn_momentum=0.9,
    )  # fmt: skip
    compile_s = time.perf_counter() - started
    samples = []
    for seed in range(trainings):
        train, val, test = data()
        started = time.perf_counter()
        trainer.start(seed, steps)
        build = time.perf_counter() - started
        timer = epoch_timer()
        trainer.model.fit(train, validation_data=val, epochs=epochs, callbacks=[timer], verbose=0, shuffle=False)
        started = time.perf_counter()
        trainer.predict(test)
        predict = time.perf_counter() - started
        samples.append({"build": build, **_split(timer, predict, predict), "epoch_s": timer.epochs[-1]["epoch_s"]})
    return compile_s, samples


def lab_estimate(startup: float, per_group: float, per_epoch: dict) -> dict:
    """Seconds of the lab study's network trainings from the measured per-epoch cost at each size, every
    training running all its epochs (early stopping only shortens it): one process, and per (arm, fraction)
    group one compiled network and its first, tracing training (``per_group``)."""

    profile = get_profile("lab")
    folds, repeats = profile.study_folds or profile.folds, profile.study_repeats
    epochs = profile.study_epochs or profile.epochs_stage2
    network_arms = [a for a in profile.study_arms if a != "baseline"]
    units = {size: len(network_arms) * folds * repeats for size in per_epoch}
    quantity = str(profile.study_quantity_size or min(int(s) for s in profile.study_sizes if s != "all"))
    units[quantity] = units.get(quantity, 0) + sum(f < 1.0 for f in profile.study_fractions) * folds * repeats
    groups = len(network_arms) + sum(f < 1.0 for f in profile.study_fractions)
    trainings = sum(units[s] * (per_epoch[s] * epochs + 0.5) for s in per_epoch)
    return {"units": units, "groups": groups, "seconds": trainings + startup + groups * per_group}


def run(quick: bool = False) -> dict:
    quiet_tensorflow()
    epochs, trainings = (3, 2) if quick else (6, 3)
    startup = startup_seconds(1 if quick else 3)
    old = before(8, epochs, trainings)
    compile_s, new = after(8, epochs, trainings + 1)
    lab = get_profile("lab")
    folds = lab.study_folds or lab.folds
    whole = lab.ultrasound_per_class * (folds - 2) // folds  # "all": the training part of a fold
    lab_sizes = {str(s): whole if s == "all" else int(s) for s in lab.study_sizes}
    per_epoch = {"8": median([s["epoch_s"] for s in new[1:]])}
    if not quick:
        for label, per_class in lab_sizes.items():
            if label != "8":
                per_epoch[label] = median([s["epoch_s"] for s in after(per_class, 3, 2)[1][1:]])
    estimate = None
    if not quick:
        from bench_lab import REFERENCE_RATE, plain_keras_rate

        rate = plain_keras_rate({**os.environ, **QUIET_ENV})
        estimate = lab_estimate(median(startup), compile_s + new[0]["tracing"], per_epoch)
        estimate.update(plain_keras_rate=rate, scaled_seconds=estimate["seconds"] * rate / REFERENCE_RATE)
    phases = ("build", "tracing", "epochs", "predict")
    before_row = {"start-up": median(startup), **{p: median([s[p] for s in old]) for p in phases}}
    after_row = {"start-up": median(startup) / max(len(new), 1), **{p: median([s[p] for s in new[1:]]) for p in phases}}
    after_row["tracing"] = (new[0]["tracing"] + compile_s) / len(new)
    total_before, total_after = sum(before_row.values()), sum(after_row.values())
    return {
        "title": "8. Study: the fixed cost of one small training",
        "what": __doc__.split("\n\n", 1)[1].strip(),
        "checks": [
            check(
                f"one study training at 8 images per class, {epochs} epochs: before / after",
                "—",
                total_before / total_after,
                "x",
                None,
            ),
            check(
                "lab study's trainings, estimated from the measured epochs (stage-1 variants not included)",
                f"≤ {BUDGET_MIN:g} min in all",
                None if estimate is None else estimate["seconds"] / 60,
                "min",
                None if estimate is None else estimate["seconds"] / 60 <= BUDGET_MIN,
            ),
        ],  # fmt: skip
        "tables": [
            {
                "caption": f"Seconds per training (8 images per class, {epochs} epochs; after: {len(new)} trainings "
                "in one process share the start-up, the compiled model and the traced steps)",
                "columns": ["phase", "before", "after"],
                "rows": [[p, fmt(before_row[p]), fmt(after_row[p])] for p in before_row]
                + [["total", fmt(total_before), fmt(total_after)]],
            }
        ],
        "raw": {
            "startup": startup,
            "before": old,
            "after": new,
            "compile": compile_s,
            "per_epoch": per_epoch,
            "lab_estimate": estimate,
            "lab_profile": get_profile("lab").to_dict(),
        },  # fmt: skip
    }


def explain(result: dict) -> list[str]:
    raw = result.get("raw", {})
    notes = [
        "Setting TensorFlow's global seed (keras.utils.set_random_seed) between trainings makes every traced "
        "step trace again (about a second each); the study seeds Python's and NumPy's generators instead, from "
        "which Keras draws its initialisers' and dropout's seeds, and sets TensorFlow's once per process.",
    ]
    if raw.get("lab_estimate"):
        notes.append(
            f"Per-epoch seconds by size: {raw['per_epoch']}; lab units by size: {raw['lab_estimate']['units']}."
        )
    return notes


if __name__ == "__main__":
    import json

    print(json.dumps(run("--quick" in sys.argv), indent=1, default=str))

"""Figure 3: training and inference throughput per backbone, and the library's training loop.

For ResNet50, InceptionV3 and EfficientNetB2 at 75 x 75, batch 16 (the CTL
network: backbone, pooling and the binary head; random weights, Adagrad with
the library's decay schedule):

* plain Keras training throughput: ``model.fit`` on in-memory tensors, the
  training phase of each epoch only;
* inference throughput: ``model.predict`` on in-memory tensors;
* the library's training loop: :func:`mstl_lib.training.fit.fit_model` (its
  resumable checkpoint, which keeps the best weights in memory and backs up
  at most every 60 s, the learning-rate and CSV loggers, and the validation
  pass) against plain ``model.fit`` with the same validation
  data, both over whole epochs of the paper's stage-2 size (360 training
  images, 40 validation images), in turn. Target: >= 0.95.

``fit_model`` builds and compiles a fresh model on every call, so each of
its calls runs two epochs and the second is timed (the first traces the
graph). To time it from inside, the model returned by ``build`` gets an
extra, last callback; ``fit_model`` itself is not changed.
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

import numpy as np
from common import Stopwatch, check, epoch_timer, fmt, median, pairwise_ratios, quiet_tensorflow, spread

from mstl_lib.backbones import BACKBONE_SPECS

TARGET = 0.95
BATCH = 16
IMAGE_SIZE = 75
BACKBONE_NAMES = {name: spec.label for name, spec in BACKBONE_SPECS.items() if spec.in_paper}


def _instrument(model, timer):
    """Make ``model.fit`` append ``timer`` as the last callback (an instance attribute, not tracked by Keras)."""
    original = model.fit

    def fit(*args, **kwargs):
        kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), timer]
        return original(*args, **kwargs)

    object.__setattr__(model, "fit", fit)
    return model


def _bench_backbone(backbone: str, quick: bool, tmp: Path) -> dict:
    import keras
    import tensorflow as tf

    from mstl_lib.models.networks import build_ctl_model
    from mstl_lib.run_files import history_path
    from mstl_lib.training.fit import fit_model, read_history, set_seed
    from mstl_lib.training.optimizers import make_optimizer

    n_train, n_val = (32, 16) if quick else (360, 40)
    repeats = 1 if quick else 5
    steps = math.ceil(n_train / BATCH)
    set_seed(0)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n_train, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8).astype(np.float32)
    y = rng.integers(0, 2, n_train).astype(np.float32)
    xv = rng.integers(0, 256, (n_val, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8).astype(np.float32)
    yv = rng.integers(0, 2, n_val).astype(np.float32)
    train_ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)
    val_ds = tf.data.Dataset.from_tensor_slices((xv, yv)).batch(BATCH)

    plain = build_ctl_model(backbone, weights=None, image_size=IMAGE_SIZE)
    plain.compile(
        optimizer=make_optimizer("adagrad", 1e-3, 0.96, steps_per_epoch=steps),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )

    def plain_epoch():
        timer = epoch_timer()
        plain.fit(
            x, y, batch_size=BATCH, validation_data=(xv, yv), epochs=1, verbose=0, shuffle=False, callbacks=[timer]
        )
        return timer.epochs[0]

    def library_run(index):
        timer = epoch_timer()
        run_dir = tmp / backbone / f"run{index}"
        with Stopwatch() as watch:
            fit_model(
                lambda: _instrument(build_ctl_model(backbone, weights=None, image_size=IMAGE_SIZE), timer),
                train_ds,
                val_ds,
                run_dir=run_dir,
                epochs=2,
                optimizer="adagrad",
                learning_rate=1e-3,
                decay_rate=0.96,
                steps_per_epoch=steps,
                verbose=0,
            )
        history = read_history(history_path(run_dir)).get("val_loss", [])
        improved = len(history) == 2 and history[1] < history[0]
        return timer.epochs, watch.seconds, improved

    plain_epoch()  # warm-up: traces the train and test steps
    lib_epoch_s, lib_train_s, plain_epoch_s, plain_train_s = [], [], [], []
    lib_fixed_s, lib_first_epoch_s, improved = [], [], []
    for r in range(repeats):
        epochs, total, better = library_run(r)
        lib_first_epoch_s.append(epochs[0]["epoch_s"])
        lib_epoch_s.append(epochs[1]["epoch_s"])
        lib_train_s.append(epochs[1]["train_s"])
        lib_fixed_s.append(total - sum(e["epoch_s"] for e in epochs))
        improved.append(bool(better))
        e = plain_epoch()
        plain_epoch_s.append(e["epoch_s"])
        plain_train_s.append(e["train_s"])

    # Inference: predict on in-memory tensors (warm-up excluded).
    plain.predict(x, batch_size=BATCH, verbose=0)
    predict_s = []
    for _ in range(repeats):
        with Stopwatch() as watch:
            plain.predict(x, batch_size=BATCH, verbose=0)
        predict_s.append(watch.seconds)

    # What one checkpoint write of this model costs (a backup for resumption writes one at most
    # every backup_interval seconds, and the best weights are written once at the end).
    save_s, size_mb = [], None
    for r in range(3 if not quick else 1):
        path = tmp / backbone / f"probe{r}.weights.h5"
        with Stopwatch() as watch:
            plain.save_weights(str(path))
        save_s.append(watch.seconds)
        size_mb = path.stat().st_size / 2**20
        path.unlink()

    lib_tp = [n_train / s for s in lib_epoch_s]
    plain_tp = [n_train / s for s in plain_epoch_s]
    ratio = median(lib_tp) / median(plain_tp)
    params = int(plain.count_params())
    plain = None  # frees the network before the library side runs
    keras.backend.clear_session()
    return {
        "backbone": backbone,
        "params": params,
        "n_train": n_train,
        "n_val": n_val,
        "repeats": repeats,
        "train_images_per_s": median([n_train / s for s in plain_train_s]),
        "train_images_per_s_range": spread([n_train / s for s in plain_train_s]),
        "inference_images_per_s": median([n_train / s for s in predict_s]),
        "inference_images_per_s_range": spread([n_train / s for s in predict_s]),
        "library_epoch_images_per_s": median(lib_tp),
        "plain_epoch_images_per_s": median(plain_tp),
        "library_train_phase_images_per_s": median([n_train / s for s in lib_train_s]),
        "ratio": ratio,
        "pairwise_ratios": pairwise_ratios(lib_tp, plain_tp),
        "library_epoch_s": lib_epoch_s,
        "plain_epoch_s": plain_epoch_s,
        "library_train_s": lib_train_s,
        "plain_train_s": plain_train_s,
        "library_callbacks_and_validation_s": [a - b for a, b in zip(lib_epoch_s, lib_train_s)],
        "plain_validation_s": [a - b for a, b in zip(plain_epoch_s, plain_train_s)],
        "library_first_epoch_s": lib_first_epoch_s,
        "library_fixed_overhead_s": lib_fixed_s,
        "checkpoint_written_in_timed_epoch": improved,
        "predict_s": predict_s,
        "save_weights_s": median(save_s),
        "weights_file_mb": size_mb,
    }


def run(quick: bool = False) -> dict:
    quiet_tensorflow()
    backbones = tuple(BACKBONE_NAMES)[:1] if quick else tuple(BACKBONE_NAMES)
    per = []
    with tempfile.TemporaryDirectory(prefix="mstl-bench-training-") as tmp:
        for backbone in backbones:
            started = time.perf_counter()
            result = _bench_backbone(backbone, quick, Path(tmp))
            result["wall_s"] = time.perf_counter() - started
            per.append(result)
    n_train, n_val = per[0]["n_train"], per[0]["n_val"]
    checks = [
        check(
            f"{BACKBONE_NAMES[p['backbone']]}: fit_model / plain model.fit",
            f"≥ {TARGET}",
            round(p["ratio"], 3),
            "",
            p["ratio"] >= TARGET,
        )
        for p in per
    ]
    throughput = {
        "caption": f"Throughput at {IMAGE_SIZE} x {IMAGE_SIZE}, batch {BATCH}, plain Keras on in-memory tensors "
        "(images/s, median; min–max)",
        "columns": ["backbone", "parameters", "training", "training min–max", "inference", "inference min–max"],
        "rows": [
            [
                BACKBONE_NAMES[p["backbone"]],
                fmt(p["params"]),
                fmt(p["train_images_per_s"], 1),
                "–".join(fmt(v, 1) for v in p["train_images_per_s_range"]),
                fmt(p["inference_images_per_s"], 1),
                "–".join(fmt(v, 1) for v in p["inference_images_per_s_range"]),
            ]
            for p in per
        ],
    }
    loop = {
        "caption": f"The library's training loop against plain model.fit: one epoch of {n_train} training and "
        f"{n_val} validation images (images/s = {n_train} / epoch wall time, median)",
        "columns": [
            "backbone",
            "fit_model",
            "plain model.fit",
            "ratio",
            "callbacks + validation, s (fit_model)",
            "validation, s (plain)",
            "one weights file: MB, write s",
        ],
        "rows": [
            [
                BACKBONE_NAMES[p["backbone"]],
                fmt(p["library_epoch_images_per_s"], 1),
                fmt(p["plain_epoch_images_per_s"], 1),
                fmt(p["ratio"], 3),
                fmt(median(p["library_callbacks_and_validation_s"]), 2),
                fmt(median(p["plain_validation_s"]), 2),
                f"{fmt(p['weights_file_mb'], 0)}, {fmt(p['save_weights_s'], 2)}",
            ]
            for p in per
        ],
    }
    return {
        "title": "3. Training throughput per backbone",
        "what": (
            f"The CTL network of each backbone (backbone, pooling, binary head; random weights; Adagrad with "
            f"the library's decay schedule; binary cross-entropy) at {IMAGE_SIZE} x {IMAGE_SIZE}, batch {BATCH}, "
            f"on random in-memory images. Plain Keras: model.fit on in-memory tensors (training phase of each "
            f"epoch) and model.predict. Library loop: fit_model against plain model.fit, both training whole "
            f"epochs of {n_train} images with a validation pass over {n_val}; each fit_model call builds a fresh "
            f"model and runs 2 epochs, of which the second is timed; calls alternate with plain one-epoch "
            f"calls on one model warmed up beforehand; {per[0]['repeats']} of each; medians."
        ),
        "checks": checks,
        "tables": [throughput, loop],
        "raw": {"backbones": per},
    }


def explain(result: dict) -> list[str]:
    per = result.get("raw", {}).get("backbones", [])
    notes = [
        "Earlier measurements on this kind of CPU gave about 19, 76 and 37 training images/s for ResNet50, "
        "InceptionV3 and EfficientNetB2; the first table is what this machine measured in this run.",
        "fit_model's epoch includes what its callbacks do at the end of every epoch: the checkpoint copies the "
        "weights in memory when the validation loss improves, writes a backup of weights and optimizer state "
        "for resumption at most every 60 s (backup_interval), and the CSV and learning-rate loggers add a line. "
        "The last column gives the size and write time of one weights file: the cost per epoch that backing "
        "up after every epoch would add.",
    ]
    for p in per:
        written = p.get("checkpoint_written_in_timed_epoch", [])
        if written:
            notes.append(
                f"{BACKBONE_NAMES[p['backbone']]}: a new best epoch (weights copied in memory) in "
                f"{sum(written)} of the {len(written)} timed epochs; fit_model's fixed cost per call outside "
                f"the epochs (building, compiling, writing the best weights) was "
                f"{fmt(median(p['library_fixed_overhead_s']), 1)} s (median), paid once per training run."
            )
    missed = [p for p, c in zip(per, result.get("checks", [])) if c["met"] is False]
    if missed:
        parts = []
        for p in missed:
            extra = median(p["library_epoch_s"]) - median(p["plain_epoch_s"])
            parts.append(
                f"{BACKBONE_NAMES[p['backbone']]} {fmt(extra, 2)} s per epoch "
                f"({100 * extra / median(p['library_epoch_s']):.0f} % of fit_model's epoch)"
            )
        notes.append(
            "Not met for " + ", ".join(parts) + ". The difference is a fixed cost per epoch (callbacks and "
            "the copy of the best weights), so it weighs most on short epochs such as stage 2's 360 images."
        )
    return notes


if __name__ == "__main__":  # python benchmarks/bench_training.py [--quick]
    import json
    import sys

    print(json.dumps(run("--quick" in sys.argv), indent=2, default=str))

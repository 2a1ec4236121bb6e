"""The generic stage: an offline stand-in for ImageNet pretraining.

The paper starts every network from ImageNet weights (Ayana et al. 2022,
section 2.2): conventional transfer learning (CTL) goes ImageNet -> ultrasound,
multistage transfer learning (MSTL) ImageNet -> cancer cells -> ultrasound.
Offline, and for the small ``resnet10`` that classrooms train on a CPU, there
are no ImageNet weights. The offline profiles (``weights="fractaldb"``) put a
generic stage in their place that exists without a download: supervised
pretraining on formula-driven fractal categories (Kataoka et al., "Pre-training
without Natural Images", ACCV 2020), generated locally from a seed by
:func:`mstl_lib.data.synthetic.make_fractal_dataset`. The lab then runs the paper's
structure: generic -> cells -> ultrasound (MSTL) against generic -> ultrasound
(CTL), with training from scratch as a third arm.

The trained backbone is written once into Keras' own weights cache (beside the
ImageNet files, :func:`mstl_lib.models.weights.keras_weights_dir`), under a name that
says what it is, e.g. ``mstl-fractaldb-64x60-resnet10-75px-e12-seed0.weights.h5``,
with a ``.json`` beside it recording the settings and the held-out accuracy.
Every later run, notebook or grid fold starts from that file at once.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import numpy as np

from mstl_lib.errors import DataError
from mstl_lib.locks import exclusive
from mstl_lib.outputs import write_json
from mstl_lib.profiles import Profile, check_profile

GENERIC_WEIGHTS = "fractaldb"
"""The value of a profile's ``weights`` that asks for this generic stage."""
GENERIC_OPTIMIZER = "adam"
"""Optimizer of the generic stage (not part of the paper; Adam at 0.001 learns fractal categories quickly)."""
GENERIC_LEARNING_RATE = 1e-3
VALIDATION_FRACTION = 0.1


def generic_weights_path(backbone: str, profile: Profile, seed: int = 0) -> Path:
    """Where the generic stage's backbone weights for these settings live in Keras' cache."""
    from mstl_lib.models.weights import keras_weights_dir

    p = check_profile(profile)
    name = (
        f"mstl-{GENERIC_WEIGHTS}-{p.generic_categories}x{p.generic_per_category}-{backbone}-"
        f"{p.image_size}px-e{p.epochs_generic}-seed{seed}.weights.h5"
    )
    return keras_weights_dir() / name


def generic_summary(path) -> dict:
    """The record written beside a generic weights file (settings, held-out accuracy)."""
    record = Path(str(path).replace(".weights.h5", ".json"))
    return json.loads(record.read_text()) if record.is_file() else {}


def ensure_generic_weights(
    backbone: str, profile: Profile, *, seed: int = 0, verbose: int | str = 0, log=print
) -> Path:
    """The generic stage's backbone weights, trained and cached on first use.

    Parameters
    ----------
    backbone : str
        The backbone to pretrain.
    profile : Profile
        ``generic_categories``, ``generic_per_category``, ``epochs_generic``,
        ``image_size``, ``batch_size``, ``bn_momentum``.
    seed : int
        Seed of the fractal categories, their images and the training.
    log : callable
        Receives one line when training starts and one when it ends.

    Returns
    -------
    pathlib.Path
        The ``.weights.h5`` file in Keras' cache, loadable with
        ``build_backbone(backbone, weights=path)``.
    """
    p = check_profile(profile)
    if p.generic_categories < 2 or p.generic_per_category < 2 or p.epochs_generic < 1:
        raise DataError(
            f"profile {p.name!r} defines no generic stage (generic_categories, generic_per_category, "
            "epochs_generic). Fix: use a profile with weights='fractaldb' settings, e.g. 'lab'."
        )
    path = generic_weights_path(backbone, p, seed)
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(path.with_name(path.name + ".lock")):  # parallel jobs (shards, pretrain arrays) train it once
        if path.is_file():
            return path
        log(
            f"Generic stage: pretraining {backbone} on {p.generic_categories} fractal categories x "
            f"{p.generic_per_category} images (once; cached as {path.name}) ..."
        )
        work = path.parent / (path.name + ".partial")
        shutil.rmtree(work, ignore_errors=True)
        summary = _train_generic(backbone, p, seed, work, verbose)
        write_json(Path(str(path).replace(".weights.h5", ".json")), summary)
        os.replace(work / path.name, path)  # last: the weights file appears only when everything is in place
        shutil.rmtree(work, ignore_errors=True)
    log(
        f"Generic stage done: held-out accuracy {summary['val_accuracy']:.2f} over "
        f"{p.generic_categories} categories (chance {1 / p.generic_categories:.2f})."
    )
    return path


def _split(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train / validation indices (every category on both sides)."""
    from sklearn.model_selection import train_test_split

    indices = np.arange(len(labels))
    return train_test_split(indices, test_size=VALIDATION_FRACTION, stratify=labels, random_state=seed)


def _train_generic(backbone: str, p: Profile, seed: int, work: Path, verbose) -> dict:
    """Train backbone + pooling + softmax on the fractal categories; save the backbone's weights in ``work``."""
    from mstl_lib.data.synthetic import make_fractal_dataset
    from mstl_lib.models.networks import build_backbone, build_stage1_model
    from mstl_lib.training.fit import fit_model, set_seed
    from mstl_lib.training.inputs import split_loader

    set_seed(seed)
    images, labels = make_fractal_dataset(p.generic_categories, p.generic_per_category, size=p.image_size, seed=seed)
    train, val = _split(labels, seed)
    load = split_loader(
        images,
        labels,
        batch_size=p.batch_size,
        image_size=p.image_size,
        seed=seed,
        augmentation="stage1",
        one_hot=p.generic_categories,
    )
    fit = fit_model(
        lambda: build_stage1_model(backbone, n_classes=p.generic_categories, weights=None, image_size=p.image_size),
        load(train, True),
        load(val, False),
        run_dir=work / "run",
        epochs=p.epochs_generic,
        optimizer=GENERIC_OPTIMIZER,
        learning_rate=GENERIC_LEARNING_RATE,
        decay_rate=p.decay_rate,
        steps_per_epoch=math.ceil(len(train) / p.batch_size),
        loss="categorical_crossentropy",
        metrics=("accuracy",),
        bn_momentum=p.bn_momentum,
        verbose=verbose,
    )
    backbone_model = build_backbone(backbone, weights=None, image_size=p.image_size)
    for layer in backbone_model.layers:
        if layer.weights:
            layer.set_weights(fit.model.get_layer(layer.name).get_weights())
    backbone_model.save_weights(str(work / generic_weights_path(backbone, p, seed).name))
    history = fit.history
    return {
        "what": "backbone weights after supervised pretraining on FractalDB-style fractal categories "
        "(Kataoka et al., ACCV 2020), generated locally",
        "backbone": backbone,
        "seed": seed,
        "categories": p.generic_categories,
        "images_per_category": p.generic_per_category,
        "image_size": p.image_size,
        "epochs": p.epochs_generic,
        "epochs_trained": len(history.get("loss", [])),
        "best_epoch": fit.best_epoch,
        "optimizer": GENERIC_OPTIMIZER,
        "learning_rate": GENERIC_LEARNING_RATE,
        "val_accuracy": float(history["val_accuracy"][fit.best_epoch - 1]) if history.get("val_accuracy") else None,
    }


def resolve_initial_weights(weights, backbone: str, profile: Profile, *, seed: int = 0, log=print):
    """Turn a weights setting into what :func:`mstl_lib.models.networks.build_backbone` takes.

    ``"fractaldb"`` becomes the cached generic weights file (trained on first
    use); ``"imagenet"``, None and paths pass through unchanged.
    """
    if weights == GENERIC_WEIGHTS:
        return ensure_generic_weights(backbone, profile, seed=seed, log=log)
    return weights

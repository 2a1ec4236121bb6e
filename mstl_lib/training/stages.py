"""The two transfer stages of the paper, as runnable steps.

- :func:`run_stage1`: ImageNet (or generic, :mod:`mstl_lib.training.generic`) backbone
  -> cancer-cell-line patches (Ayana et al. 2022, section 2.2, Fig. 3b), once
  per (backbone, optimizer), as the paper repeats its protocol at each stage. Trains on the 7:2:1 split written by
  :func:`mstl_lib.data.patches.build_patch_dataset`, picks the epoch on the
  validation part, evaluates once on the test part, saves ``model.keras``.
- :func:`train_fold`: stage 2 (MSTL, Fig. 3c), conventional transfer
  learning (CTL) or training from scratch on one cross-validation fold of an
  ultrasound dataset:
  trains on the fold's training part with the paper's augmentation (vertical
  flip and rotation, training images tripled), picks the epoch on the
  validation part, and predicts the test part exactly once.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np

from mstl_lib.data.datasets import ImageDataset
from mstl_lib.errors import DataError
from mstl_lib.integrity import check_keras_archive, read_json
from mstl_lib.locks import writer_locks
from mstl_lib.outputs import write_json
from mstl_lib.profiles import NETWORK_ARMS, Profile, check_profile
from mstl_lib.provenance import check_reusable, data_fingerprint
from mstl_lib.run_files import (
    STAGE1_MODEL,
    STAGE1_SETTINGS,
    STAGE1_SUMMARY,
    lock_path,
    stage1_run_dir,
)
from mstl_lib.training.fit import fit_model, get_strategy, set_seed
from mstl_lib.training.generic import resolve_initial_weights
from mstl_lib.training.inputs import STAGE2_MULTIPLIER, split_loader
from mstl_lib.validation import check_choice, check_integer, check_output_folder, check_seed, check_weights_setting

STAGE1_PROFILE_FIELDS = (
    "image_size",
    "batch_size",
    "learning_rate",
    "decay_rate",
    "epochs_stage1",
    "bn_momentum",
    "patience",
)
"""The profile's fields stage 1 depends on (the generic stage's too, when it starts from it)."""
GENERIC_PROFILE_FIELDS = ("generic_categories", "generic_per_category", "epochs_generic")


def run_stage1(
    patch_dir,
    out_dir,
    *,
    profile: Profile,
    backbone: str | None = None,
    optimizer: str | None = None,
    seed: int = 0,
    deterministic: bool = False,
    strategy: str | None = None,
    mixed_precision: bool = False,
    jit_compile: bool | str = "auto",
    overwrite: bool = False,
    verbose: int | str = "auto",
    variant=None,
) -> dict:
    """Fine-tune an ImageNet backbone on the cell-line patches (MSTL stage 1).

    Parameters
    ----------
    patch_dir : path-like
        Patch dataset with ``manifest.csv`` (from ``mstl segment``).
    out_dir : path-like
        Stage-1 folder; the run goes to ``out_dir/<backbone>-<optimizer>/``
        (``model.keras``, ``history.csv``, ``stage1.json``). A finished run
        made with the same settings is reused as it is (nothing is trained or
        written); one made with other settings (any of those
        ``stage1.json`` records: epochs and the other profile fields stage 1
        uses, seed, weights, ``deterministic``, precision, the patches'
        fingerprint) is refused, naming each differing field
        (:func:`mstl_lib.provenance.check_reusable`). One process at a time
        writes a run folder (:func:`mstl_lib.locks.writer_locks`).
    profile : Profile
        Epochs, batch size, learning rate, image size (``epochs_stage1``) and
        the initial weights (``weights``: ``"imagenet"``, ``"fractaldb"`` for
        the generic stage's, :mod:`mstl_lib.training.generic`, trained on
        first use; None for random; or a weights file), resolved once by the
        caller (:func:`mstl_lib.profiles.get_profile`).
    backbone, optimizer : str, optional
        See :mod:`mstl_lib.models`; default: the profile's first
        (``backbones[0]``, ``optimizers[0]``).
    seed : int
        Seed of initialisation, shuffling and augmentation.
    deterministic : bool
        See :func:`mstl_lib.training.fit.set_seed`.
    strategy : str, optional
        See :func:`mstl_lib.training.fit.get_strategy`.
    mixed_precision, jit_compile
        See :func:`mstl_lib.training.fit.fit_model` (float16 computations, XLA).
    variant : mstl_lib.training.stage1_variants.Stage1Variant, optional
        Train the study's control (shuffled labels) or a fraction of the
        patches instead, into ``out_dir/<backbone>-<optimizer>-<variant name>/``.
    overwrite : bool
        Delete a run of this backbone and optimizer already in ``out_dir`` and train it again.

    Returns
    -------
    dict
        Summary: paths, best epoch, test accuracy, confusion matrix, classes,
        the settings (and the variant, for one); ``"reused": True`` when a
        finished run was reused.
    """
    from mstl_lib.data.patches import load_patch_dataset

    profile = check_profile(profile)
    backbone, optimizer = backbone or profile.backbones[0], optimizer or profile.optimizers[0]
    seed = check_seed(seed)
    check_integer(profile.epochs_stage1, "epochs_stage1 (CLI: --epochs)", minimum=1)
    setting = check_weights_setting(profile.weights, "weights (CLI: --weights)")
    out_dir = check_output_folder(out_dir, "out_dir (CLI: --out)")
    dataset = load_patch_dataset(patch_dir)
    parts = _patch_parts(patch_dir)
    settings = _stage1_settings(backbone, optimizer, profile, seed, setting, dataset, deterministic, strategy)
    settings.update(mixed_precision=bool(mixed_precision), jit_compile=jit_compile)
    run_dir = stage1_run_dir(out_dir, backbone, optimizer, None if variant is None else variant.name)
    if variant is not None:
        settings["variant"] = variant.to_dict()
    with writer_locks(
        [lock_path(out_dir, run_dir.name)],
        output=run_dir,
        fix="wait for that run to end, or choose another --out.",
    ):
        if overwrite and run_dir.exists():
            shutil.rmtree(run_dir)
        finished = _reusable_stage1(run_dir, settings)
        if finished is not None:
            return finished
        write_json(run_dir / STAGE1_SETTINGS, settings)
        set_seed(seed, deterministic)
        summary = _train_stage1(
            dataset,
            parts,
            run_dir,
            backbone,
            optimizer,
            profile,
            seed,
            setting,
            variant=variant,
            strategy=strategy,
            verbose=verbose,
            mixed_precision=mixed_precision,
            jit_compile=jit_compile,
        )
        summary["settings"] = settings
        write_json(run_dir / STAGE1_SUMMARY, summary)
        return summary


def _stage1_settings(backbone, optimizer, profile: Profile, seed, weights, dataset, deterministic, strategy) -> dict:
    """Everything a stage-1 run's model depends on: what :func:`run_stage1` records and compares."""
    fields = STAGE1_PROFILE_FIELDS + (GENERIC_PROFILE_FIELDS if weights == "fractaldb" else ())
    return {
        "backbone": backbone,
        "optimizer": optimizer,
        "seed": seed,
        "weights": None if weights is None else str(weights),
        "deterministic": bool(deterministic),
        "strategy": strategy,
        "profile": {name: getattr(profile, name) for name in fields},
        "data": {"classes": list(dataset.class_names), "fingerprint": data_fingerprint(dataset)},
    }


def _reusable_stage1(run_dir: Path, settings: dict) -> dict | None:
    """The summary of a finished run made with ``settings`` (None if there is none); refuse other settings.

    An interrupted run (``settings.json`` but no summary yet) is checked the
    same way before it resumes.
    """
    fix = f"pass --overwrite to train {run_dir.name} again, or choose a new --out"
    summary_path, settings_path = run_dir / STAGE1_SUMMARY, run_dir / STAGE1_SETTINGS
    if summary_path.is_file():
        summary = read_json(summary_path, fix=fix)
        check_reusable(run_dir, summary.get("settings", summary), settings, what="a stage-1 run")
        model = run_dir / STAGE1_MODEL
        if model.is_file():
            check_keras_archive(model, fix=fix)
            return {**summary, "reused": True}
    if settings_path.is_file():
        check_reusable(run_dir, read_json(settings_path, fix=fix), settings, what="an interrupted stage-1 run")
    return None


def _train_stage1(
    dataset, parts, run_dir: Path, backbone, optimizer, profile: Profile, seed, setting, variant=None, **options
):
    """Train, pick the epoch on the validation part, test once, save the model; return the summary."""
    from sklearn.metrics import confusion_matrix

    from mstl_lib.models.networks import build_stage1_model

    initial = resolve_initial_weights(setting, backbone, profile, seed=seed)
    n_classes = len(dataset.class_names)
    labels = dataset.labels
    if variant is not None:
        labels, parts, profile = _apply_variant(variant, dataset, parts, profile)
    load = split_loader(
        dataset.paths,
        labels,
        batch_size=profile.batch_size,
        image_size=profile.image_size,
        seed=seed,
        augmentation="stage1",
        one_hot=n_classes,
    )
    fit = _fit_stage(
        lambda: build_stage1_model(backbone, n_classes=n_classes, weights=initial, image_size=profile.image_size),
        load(parts["train"], True),
        load(parts["val"], False),
        profile,
        n_train=len(parts["train"]),
        run_dir=run_dir,
        epochs=profile.epochs_stage1,
        optimizer=optimizer,
        loss="categorical_crossentropy",
        metrics=("accuracy",),
        keep_last=variant is not None and variant.epochs is not None,  # the control keeps its last epoch
        **options,
    )
    predicted = fit.model.predict(load(parts["test"], False), verbose=0).argmax(axis=1)
    truth = labels[parts["test"]]
    model_path = run_dir / STAGE1_MODEL
    fit.model.save(model_path)
    return {
        "backbone": backbone,
        "optimizer": optimizer,
        "profile": profile.name,
        "seed": seed,
        "weights": None if setting is None else str(setting),
        "classes": list(dataset.class_names),
        **{f"n_{name}": len(parts[name]) for name in ("train", "val", "test")},
        "best_epoch": fit.best_epoch,
        "epochs_trained": len(fit.history.get("loss", [])),
        "test_accuracy": float((predicted == truth).mean()),
        "confusion_matrix": confusion_matrix(truth, predicted, labels=np.arange(n_classes)).tolist(),
        "model": str(model_path),
        "steps_per_epoch": math.ceil(len(parts["train"]) / profile.batch_size),
        **({} if variant is None else {"variant": variant.to_dict()}),
    }


def _apply_variant(variant, dataset: ImageDataset, parts: dict, profile: Profile):
    """The labels, parts and profile of a study variant of stage 1
    (:mod:`mstl_lib.training.stage1_variants`): the control trains a fixed number of epochs without early stopping."""
    labels, parts = variant.apply(dataset.labels, dataset.groups, parts)
    if variant.epochs is not None:
        profile = replace(profile, epochs_stage1=variant.epochs, patience=None)  # None: no early stopping
    return labels, parts, profile


def train_fold(
    dataset: ImageDataset,
    fold,
    *,
    tl: str,
    backbone: str,
    optimizer: str,
    run_dir,
    profile: Profile,
    stage1_model=None,
    seed: int = 0,
    deterministic: bool = False,
    strategy: str | None = None,
    mixed_precision: bool = False,
    jit_compile: bool | str = "auto",
    verbose: int | str = 0,
) -> dict:
    """Train and test one (transfer type, backbone, optimizer, fold) of the paper's grid.

    Parameters
    ----------
    dataset : ImageDataset
        Benign/malignant ultrasound images (label 1 = malignant).
    fold : mstl_lib.data.splits.Fold
        Training, validation and test indices into ``dataset``.
    tl : {"scratch", "ctl", "mstl"}
        Training from random weights, conventional transfer learning (the
        profile's initial weights -> ultrasound) or the multistage one
        (stage-1 model -> ultrasound).
    backbone, optimizer : str
        See :mod:`mstl_lib.models`.
    run_dir : path-like
        Folder of this run's history, weights and backup.
    profile : Profile
        ``epochs_stage2``, batch size, learning rate, image size, and the
        initial weights of CTL (``weights``, see :func:`run_stage1`; scratch
        and MSTL ignore them).
    stage1_model : path-like, optional
        The stage-1 ``model.keras`` (required for ``tl="mstl"``).
    seed : int
        Seed of initialisation, shuffling and augmentation.
    deterministic, strategy
        See :func:`run_stage1`.
    mixed_precision, jit_compile
        See :func:`mstl_lib.training.fit.fit_model` (float16 computations, XLA).

    Returns
    -------
    dict
        The configuration, the test metrics (:func:`mstl_lib.evaluation.metrics.binary_metrics`),
        ROC points, test labels and scores, best epoch and history.
    """
    import keras

    from mstl_lib.evaluation.metrics import binary_metrics, roc_curve

    _check_fold_arguments(dataset, tl)
    profile = check_profile(profile)
    setting = None if tl == "scratch" else profile.weights
    initial = resolve_initial_weights(setting, backbone, profile, seed=seed) if tl == "ctl" else None
    build = _stage2_builder(tl, backbone, profile, initial, stage1_model)
    set_seed(seed, deterministic)
    paths = np.array(dataset.paths, dtype=object)
    load = split_loader(
        paths,
        dataset.labels,
        batch_size=profile.batch_size,
        image_size=profile.image_size,
        seed=seed,
        augmentation="stage2",
        repeat_augmented=STAGE2_MULTIPLIER,
    )
    fit = _fit_stage(
        build,
        load(fold.train, True),
        load(fold.val, False),
        profile,
        n_train=len(fold.train) * STAGE2_MULTIPLIER,
        monitor=profile.monitor,
        run_dir=run_dir,
        epochs=profile.epochs_stage2,
        optimizer=optimizer,
        loss="binary_crossentropy",
        metrics=("accuracy", keras.metrics.AUC(name="auc")),
        strategy=strategy,
        verbose=verbose,
        mixed_precision=mixed_precision,
        jit_compile=jit_compile,
    )
    y_true = dataset.labels[fold.test]
    y_score = fit.model.predict(load(fold.test, False), verbose=0).reshape(-1).astype(float)
    fpr, tpr, _ = roc_curve(y_true, y_score)
    return {
        "tl": tl,
        "backbone": backbone,
        "optimizer": optimizer,
        "fold": int(fold.index),
        "profile": profile.name,
        "seed": seed,
        "weights": None if setting is None else str(setting),
        "n_train": int(len(fold.train)),
        "n_train_augmented": int(len(fold.train) * STAGE2_MULTIPLIER),
        "n_val": int(len(fold.val)),
        "n_test": int(len(fold.test)),
        "best_epoch": fit.best_epoch,
        "epochs_trained": len(fit.history.get("loss", [])),
        "metrics": binary_metrics(y_true, y_score),
        "roc": {"fpr": np.asarray(fpr).tolist(), "tpr": np.asarray(tpr).tolist()},
        "y_true": y_true.tolist(),
        "y_score": y_score.tolist(),
        "test_images": [str(p.relative_to(dataset.root)) for p in paths[fold.test]],
        "history": fit.history,
    }


def _check_fold_arguments(dataset: ImageDataset, tl: str) -> None:
    """A fold trains one of the network arms on benign/malignant images (section 2.2)."""
    check_choice(tl, "tl", NETWORK_ARMS)
    if tuple(dataset.class_names) != ("benign", "malignant"):
        raise DataError(
            f"{dataset.root}: stage 2 needs the classes ('benign', 'malignant'), got {dataset.class_names}."
        )


def _patch_parts(patch_dir) -> dict:
    """The training, validation and test indices of the patch split (section 2.1), none of them empty."""
    from mstl_lib.data.patches import patch_splits

    parts = patch_splits(patch_dir)
    for name, part in parts.items():
        if len(part) == 0:
            raise DataError(f"{patch_dir}: the {name!r} part of the patch split is empty. Fix: segment more frames.")
    return parts


def _stage2_builder(tl: str, backbone: str, profile: Profile, weights, stage1_model):
    """The function that builds a fold's network: the stage-1 model with a new head (MSTL) or a new backbone."""
    from mstl_lib.models.networks import build_ctl_model, build_stage2_model, load_model

    if tl != "mstl":
        return lambda: build_ctl_model(backbone, weights=weights, image_size=profile.image_size)
    if stage1_model is None or not Path(stage1_model).is_file():
        raise DataError(
            f"MSTL needs a stage-1 model, and {stage1_model} does not exist. "
            "Fix: run `mstl pretrain` for this backbone and optimizer first, and pass its folder as --stage1."
        )
    return lambda: build_stage2_model(load_model(stage1_model, compile=False))


def _fit_stage(build, train_data, val_data, profile: Profile, *, n_train: int, strategy, **options):
    """:func:`mstl_lib.training.fit.fit_model` with the profile's hyperparameters (section 2.3).

    Learning rate, decay per epoch (``n_train`` images in batches of the
    profile's size make an epoch), early-stopping patience and BatchNorm
    momentum come from ``profile``; ``options`` pass through.
    """
    return fit_model(
        build,
        train_data,
        val_data,
        learning_rate=profile.learning_rate,
        decay_rate=profile.decay_rate,
        steps_per_epoch=math.ceil(n_train / profile.batch_size),
        strategy=get_strategy(strategy),
        patience=profile.patience,
        bn_momentum=profile.bn_momentum,
        **options,
    )

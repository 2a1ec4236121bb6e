"""Training one network: seeds, strategy, optimizer, callbacks, resumption.

:func:`fit_model` compiles and trains a model the way every stage of the
paper does (Ayana et al. 2022, section 2.3): one of SGD, Adam or Adagrad at
learning rate 0.001 with exponential decay 0.96 per epoch, batch 16, all
layers trainable. The validation data pick the epoch: the weights of the
epoch with the lowest validation loss are restored at the end.

A run directory holds everything a run writes: ``history.csv`` (one row per
epoch), ``best.weights.h5`` and, while training, ``backup/`` for
:class:`keras.callbacks.BackupAndRestore`, so that a run killed mid-training
resumes from its last finished epoch when started again with the same
directory.
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from mstl_lib.errors import DataError

STRATEGIES = (None, "default", "mirrored", "multiworker")


def set_seed(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and TensorFlow from one number.

    Parameters
    ----------
    seed : int
        The seed (``keras.utils.set_random_seed``).
    deterministic : bool
        Also turn on ``tf.config.experimental.enable_op_determinism()``, so
        that two runs on the same CPU give identical weights and metrics
        (slower; it cannot be turned off again within the process).
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(int(seed))
    if deterministic:
        os.environ["TF_DETERMINISTIC_OPS"] = "1"
        tf.config.experimental.enable_op_determinism()


def get_strategy(name: str | None = None):
    """A ``tf.distribute`` strategy by name.

    Parameters
    ----------
    name : {None, "default", "mirrored", "multiworker"}
        None/``"default"``: the default strategy (one device).
        ``"mirrored"``: :class:`tf.distribute.MirroredStrategy` over all local
        GPUs (or all logical CPUs when there is no GPU).
        ``"multiworker"``: :class:`tf.distribute.MultiWorkerMirroredStrategy`,
        configured from the ``TF_CONFIG`` environment variable.
    """
    import tensorflow as tf

    if name not in STRATEGIES:
        raise DataError(f"strategy must be one of {STRATEGIES}, got {name!r}.")
    if name in (None, "default"):
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        return tf.distribute.MirroredStrategy(devices=devices)
    if "TF_CONFIG" not in os.environ:
        raise DataError("strategy 'multiworker' needs the TF_CONFIG environment variable (cluster and task) on every machine.")
    return tf.distribute.MultiWorkerMirroredStrategy()


def _load_weights_quietly(model, path: Path) -> None:
    """Load saved weights; the optimizer's slots are not needed and Keras' warning about them is dropped."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model.load_weights(str(path))


@dataclass
class FitResult:
    """What :func:`fit_model` returns.

    Attributes
    ----------
    model : keras.Model
        The trained model, holding the weights of the best validation epoch.
    history : dict
        Per-epoch values (``loss``, ``val_loss``, metrics, ``lr``) from ``history.csv``.
    best_epoch : int
        Epoch (from 1) whose weights were kept.
    run_dir : pathlib.Path
        Where the run wrote its files.
    """

    model: object
    history: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int = 0
    run_dir: Path | None = None


def _learning_rate_logger():
    """A callback that adds the optimizer's current learning rate to each epoch's logs."""
    import keras

    class LearningRateLogger(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs is not None:
                # the rate the epoch was trained with (the schedule has already stepped past it)
                schedule = self.model.optimizer._learning_rate
                step = max(int(self.model.optimizer.iterations.numpy()) - 1, 0)
                logs["learning_rate"] = float(schedule(step) if callable(schedule) else self.model.optimizer.learning_rate)

    return LearningRateLogger()


def read_history(path) -> dict[str, list[float]]:
    """Read a Keras ``CSVLogger`` file into ``{column: [values]}``."""
    path = Path(path)
    if not path.is_file():
        return {}
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = rows[0].keys() if rows else []
    return {c: [float(r[c]) for r in rows] for c in columns}


def fit_model(
    build: Callable[[], object],
    train_data,
    val_data,
    *,
    run_dir,
    epochs: int,
    optimizer: str = "adagrad",
    learning_rate: float = 1e-3,
    decay_rate: float = 0.96,
    steps_per_epoch: int,
    loss: str = "binary_crossentropy",
    metrics: tuple = ("accuracy",),
    monitor: str = "val_loss",
    strategy=None,
    verbose: int | str = "auto",
) -> FitResult:
    """Compile and train a freshly built model; resume if the run was interrupted.

    A run directory whose training finished (``fit.json`` written) is not
    trained again: the model is built and its best weights loaded.

    Parameters
    ----------
    build : callable
        Returns the uncompiled model. It is called inside ``strategy.scope()``
        so that the variables are created on the strategy's devices.
    train_data, val_data : tf.data.Dataset
        Batched (image, target) datasets (see :func:`mstl_lib.pipeline.make_tf_dataset`).
    run_dir : path-like
        Folder for ``history.csv``, ``best.weights.h5`` and ``backup/``.
    epochs : int
        Number of epochs (paper: 50 per stage).
    optimizer : {"sgd", "adam", "adagrad"}
        See :func:`mstl_lib.models.make_optimizer`.
    learning_rate, decay_rate : float
        Initial rate and decay per epoch (paper: 0.001 and 0.96).
    steps_per_epoch : int
        Batches per training epoch; the decay schedule's ``decay_steps``.
    loss, metrics
        Passed to ``model.compile``.
    monitor : str
        Validation quantity that picks the best epoch (lower is better for losses).
    strategy : tf.distribute.Strategy, optional
        From :func:`get_strategy`; default: one device.
    verbose : int or "auto"
        Keras progress output.
    """
    import keras

    from mstl_lib.models import make_optimizer

    if epochs < 1:
        raise DataError(f"epochs must be at least 1, got {epochs}.")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    history_path = run_dir / "history.csv"
    best_path = run_dir / "best.weights.h5"
    strategy = strategy or get_strategy(None)
    with strategy.scope():
        model = build()
        model.compile(
            optimizer=make_optimizer(optimizer, learning_rate, decay_rate, steps_per_epoch=max(int(steps_per_epoch), 1)),
            loss=loss,
            metrics=list(metrics),
        )
    mode = "max" if any(k in monitor for k in ("acc", "auc")) else "min"
    done_path = run_dir / "fit.json"
    if done_path.is_file() and best_path.is_file():
        _load_weights_quietly(model, best_path)
        done = json.loads(done_path.read_text())
        return FitResult(model=model, history=read_history(history_path), best_epoch=done["best_epoch"], run_dir=run_dir)
    previous = read_history(history_path)
    best_so_far = None
    if previous.get(monitor):
        best_so_far = (max if mode == "max" else min)(previous[monitor])
    callbacks = [
        keras.callbacks.BackupAndRestore(str(run_dir / "backup"), delete_checkpoint=True),
        keras.callbacks.ModelCheckpoint(str(best_path), monitor=monitor, mode=mode, save_best_only=True,
                                        save_weights_only=True, initial_value_threshold=best_so_far),
        _learning_rate_logger(),
        keras.callbacks.CSVLogger(str(history_path), append=True),
    ]
    model.fit(train_data, validation_data=val_data, epochs=int(epochs), callbacks=callbacks, verbose=verbose,
              shuffle=False)
    history = read_history(history_path)
    if best_path.is_file():
        _load_weights_quietly(model, best_path)
    values = history.get(monitor, [])
    finite = [(v, i) for i, v in enumerate(values) if not math.isnan(v)]
    best_epoch = ((max if mode == "max" else min)(finite)[1] + 1) if finite else len(values)
    done_path.write_text(json.dumps({"epochs": epochs, "best_epoch": best_epoch, "monitor": monitor,
                                                  "optimizer": optimizer, "learning_rate": learning_rate,
                                                  "decay_rate": decay_rate, "steps_per_epoch": steps_per_epoch}, indent=2))
    return FitResult(model=model, history=history, best_epoch=best_epoch, run_dir=run_dir)

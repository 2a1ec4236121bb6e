"""Training one network: seeds, strategy, optimizer, callbacks, resumption.

:func:`fit_model` compiles and trains a model as every stage of the paper
does (Ayana et al. 2022, section 2.3): one of SGD, Adam or Adagrad at
learning rate 0.001 with exponential decay 0.96 (per epoch: the paper gives
no step), batch 16. Every layer is trainable (the paper fine-tunes "all the
weights ... except the last layer", sections 2.2 and 2.3). The validation
data pick the epoch, which the paper does not describe (it trains 50
epochs): the weights of the epoch with the best value of ``monitor`` are
restored at the end. That is the lowest validation loss (``val_loss``,
:func:`fit_model`'s default) in stage 1; in stage 2 it is the profile's
field ``monitor`` (:class:`mstl_lib.profiles.Profile`): the highest
validation AUC (``val_auc``) for ``smoke`` and ``lab``, the lowest
validation loss for ``paper``.

A run directory holds everything a run writes: ``history.csv`` (one row per
epoch), ``best.weights.h5`` with ``best.json`` (the best epoch's weights and
validation value) and, while training, ``backup/`` (:class:`ResumableCheckpoint`,
in the layout of :class:`keras.callbacks.BackupAndRestore`), so that a run
killed mid-training resumes, when started again with the same directory, from
the last epoch backed up (backups are written at most every
``backup_interval`` seconds; 0 backs up every epoch).
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import keras

from mstl_lib.errors import DataError
from mstl_lib.outputs import write_json
from mstl_lib.run_files import BACKUP_DIR, BEST_WEIGHTS, FIT_RECORD, HISTORY
from mstl_lib.training.optimizers import make_optimizer
from mstl_lib.validation import check_choice, check_integer

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

    check_choice(name, "strategy", STRATEGIES)
    if name in (None, "default"):
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        return tf.distribute.MirroredStrategy(devices=devices)
    if "TF_CONFIG" not in os.environ:
        raise DataError(
            "strategy 'multiworker' needs the TF_CONFIG environment variable (cluster and task) on every machine."
        )
    return tf.distribute.MultiWorkerMirroredStrategy()


MIXED_PRECISION_POLICY = "mixed_float16"
"""Keras' dtype policy of ``fit_model(mixed_precision=True)``: float16 computations, float32 variables."""


@contextmanager
def dtype_policy_scope(name: str):
    """Keras' global dtype policy set to ``name`` inside the block, the previous one restored after it."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _output_layers(model) -> list:
    """The layers whose outputs are the model's outputs (by a functional model's ``output_names``)."""
    return [model.get_layer(name) for name in model.output_names]


def with_dtype_policy(model, policy: str):
    """``model`` with every layer in ``policy`` and its output layers in float32.

    Layers keep the dtype policy they were built (or saved) with, so a stage-1
    model trained in float32 would stay float32 inside a mixed-precision stage
    2, and one saved under mixed precision would stay mixed in a float32 run.
    This returns the model itself when every layer already has the wanted
    policy (output layers: float32, which keeps the sigmoid and softmax and
    the loss in float32 as mixed precision requires), otherwise a clone
    (``keras.models.clone_model``) with the policies changed and the same
    weights. Call it with ``policy`` as Keras' global policy, so that the
    clone's own policy (which decides loss scaling at compile time) matches.

    Parameters
    ----------
    model : keras.Model
        A functional model.
    policy : {"float32", "mixed_float16"}
        The policy of every layer but the output layers.
    """
    outputs = {id(layer) for layer in _output_layers(model)}

    def wanted(layer) -> str:
        return "float32" if id(layer) in outputs else policy

    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if all(layer.dtype_policy.name == wanted(layer) for layer in layers):
        return model

    def clone_layer(layer):
        config = layer.get_config()
        config["dtype"] = wanted(layer)
        return layer.__class__.from_config(config)

    clone = keras.models.clone_model(model, clone_function=clone_layer)
    clone.set_weights(model.get_weights())
    for layer in clone.layers:  # Normalization layers recompute their mean and variance from the copied variables
        if hasattr(layer, "finalize_state") and layer.weights:
            layer.finalize_state()
    return clone


class ResumableCheckpoint(keras.callbacks.Callback):
    """Backup for resumption plus best-epoch weights, with few disk writes.

    The weights of the best validation epoch (the highest or lowest
    ``monitor``, by ``mode``) are kept in memory and put back into the model
    when training ends. They are written to disk (``best.weights.h5``, with
    ``best.json``) together with each backup of the training state, at most
    every ``min_interval`` seconds, and at the end.

    The backup is ``backup_dir/latest.weights.h5`` (the model's and the
    optimizer's variables) with ``training_metadata.json`` (the epochs done),
    the layout of :class:`keras.callbacks.BackupAndRestore`, written and read
    here with public Keras calls only (``save_weights``, ``load_weights``,
    ``optimizer.build``) because that callback backs up on a fixed count of
    epochs or batches, not of seconds. :meth:`on_train_begin` restores a
    backup; ``model.fit`` must then start at :func:`resume_epoch`
    (``initial_epoch``), as :func:`fit_model` does. A training that ends
    deletes the backup.
    """

    def __init__(self, backup_dir, best_path, *, monitor="val_loss", mode="min", min_interval=60.0, keep_last=False):
        super().__init__()
        self.backup_dir = Path(backup_dir)
        self.keep_last = bool(keep_last)
        self.best_path = Path(best_path)
        self.best_record = self.best_path.with_suffix("").with_suffix(".json")
        self.monitor, self.mode, self.min_interval = monitor, mode, float(min_interval)
        previous = json.loads(self.best_record.read_text()) if self.best_record.is_file() else {}
        self.best_value = previous.get("value")
        self.best_weights = None
        self._last_save = time.monotonic()

    def _improved(self, value) -> bool:
        if self.keep_last:
            return True
        if value is None or math.isnan(value):
            return False
        if self.best_value is None:
            return True
        return value > self.best_value if self.mode == "max" else value < self.best_value

    def on_train_begin(self, logs=None):
        weights = self.backup_dir / BACKUP_WEIGHTS
        if weights.is_file():
            if self.model.optimizer is not None and not self.model.optimizer.built:
                self.model.optimizer.build(self.model.trainable_variables)  # its slots are in the backup too
            self.model.load_weights(str(weights))

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if self._improved(value):
            self.best_value, self.best_epoch = float(value), epoch + 1
            self.best_weights = self.model.get_weights()
        last = epoch + 1 >= self.params.get("epochs", 0)
        if not last and time.monotonic() - self._last_save >= self.min_interval:
            self._back_up(epochs_done=epoch + 1)
            self._write_best()
            self._last_save = time.monotonic()

    def _back_up(self, epochs_done: int) -> None:
        """Write the training state: weights and optimizer first, then the epoch count that makes them a backup."""
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        self.model.save_weights(str(self.backup_dir / BACKUP_WEIGHTS), overwrite=True)
        write_json(self.backup_dir / BACKUP_RECORD, {"epoch": int(epochs_done)}, indent=None)

    def _save_best(self):
        """Write the best epoch's weights (the model must hold them) and its record."""
        self.model.save_weights(str(self.best_path), overwrite=True)
        write_json(self.best_record, {"epoch": self.best_epoch, "value": self.best_value}, indent=None)

    def _write_best(self):
        if self.best_weights is None:
            return
        current = self.model.get_weights()
        self.model.set_weights(self.best_weights)
        self._save_best()
        self.model.set_weights(current)

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
            self._save_best()
        if self.backup_dir.exists():
            shutil.rmtree(self.backup_dir)


BACKUP_WEIGHTS = "latest.weights.h5"
BACKUP_RECORD = "training_metadata.json"
"""The files of a backup (named as :class:`keras.callbacks.BackupAndRestore` names them)."""


def resume_epoch(backup_dir) -> int:
    """The epoch a backed-up run resumes from (0 without a backup): ``model.fit``'s ``initial_epoch``."""
    record = Path(backup_dir) / BACKUP_RECORD
    if not (record.is_file() and (Path(backup_dir) / BACKUP_WEIGHTS).is_file()):
        return 0
    return int(json.loads(record.read_text()).get("epoch", 0))


def _truncate_history(history_path: Path, epochs: int) -> None:
    """Keep the first ``epochs`` rows of a history: later ones will be trained again."""
    if not history_path.is_file():
        return
    lines = history_path.read_text().splitlines(keepends=True)
    keep = lines[: 1 + epochs] if epochs > 0 else []
    if len(keep) != len(lines):
        if keep:
            history_path.write_text("".join(keep))
        else:
            history_path.unlink()


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


class LearningRateLogger(keras.callbacks.Callback):
    """Adds the learning rate each epoch was trained with to that epoch's logs (column ``learning_rate``).

    The rate is read when the epoch begins (``optimizer.learning_rate``: the
    schedule at the optimizer's current step); with the per-epoch staircase
    decay of :func:`~mstl_lib.training.optimizers.make_optimizer` it holds for
    the whole epoch.
    """

    def on_epoch_begin(self, epoch, logs=None):
        self.rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self.rate


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
    backup_interval: float = 60.0,
    patience: int | None = None,
    bn_momentum: float | None = None,
    mixed_precision: bool = False,
    jit_compile: bool | str = "auto",
    verbose: int | str = "auto",
    keep_last: bool = False,
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
        Batched (image, target) datasets (see :func:`mstl_lib.training.inputs.make_tf_dataset`).
    run_dir : path-like
        Folder for ``history.csv``, ``best.weights.h5`` and ``backup/``.
    epochs : int
        Number of epochs (paper: 50 per stage).
    optimizer : {"sgd", "adam", "adagrad"}
        See :func:`mstl_lib.training.optimizers.make_optimizer`.
    learning_rate, decay_rate : float
        Initial rate and decay per epoch (paper: 0.001 and 0.96).
    steps_per_epoch : int
        Batches per training epoch; the decay schedule's ``decay_steps``.
    loss, metrics
        Passed to ``model.compile``.
    monitor : str
        Validation quantity that picks the best epoch: higher is better when
        its name holds ``acc`` or ``auc``, lower otherwise (losses). Stage 2
        passes the profile's ``monitor``.
    strategy : tf.distribute.Strategy, optional
        From :func:`get_strategy`; default: one device.
    backup_interval : float
        Least number of seconds between two backups of the training state
        (weights, optimizer, epoch) for resumption; 0 backs up after every
        epoch. Writing a ResNet50 backup takes about 0.3 s, so backing up every
        short epoch would slow training by 5-15%; a run killed mid-training
        loses at most this many seconds of work.
    patience : int, optional
        Stop when ``monitor`` has not improved for this many epochs (early
        stopping; the best epoch's weights are kept either way). None trains
        every epoch, as the paper does.
    bn_momentum : float, optional
        Momentum of every BatchNormalization layer's moving statistics
        (:func:`mstl_lib.models.networks.set_batchnorm_momentum`); None keeps Keras' 0.99.
    mixed_precision : bool
        Build and train the model under Keras' ``"mixed_float16"`` policy
        (float16 computations, float32 variables, output layers and loss in
        float32, dynamic loss scaling), which uses the tensor cores of recent
        NVIDIA GPUs; on a CPU it is slower. A loaded model (MSTL's stage-1
        network) is given the policy asked for here, whatever it was saved
        with (:func:`with_dtype_policy`). Default False: float32 throughout.
    jit_compile : bool or "auto"
        Passed to ``model.compile``: True compiles the training step with XLA,
        False does not, ``"auto"`` (Keras' default) uses XLA on a GPU when the
        model supports it and never on a CPU.
    verbose : int or "auto"
        Keras progress output.
    keep_last : bool
        Keep the last epoch's weights instead of the best validation epoch's
        (the study's control stage, :mod:`mstl_lib.training.stage1_variants`,
        whose validation labels are shuffled and pick nothing).
    """
    epochs = check_integer(epochs, "epochs", minimum=1)
    if not (isinstance(jit_compile, bool) or jit_compile == "auto"):
        raise DataError(f"jit_compile must be True, False or 'auto', got {jit_compile!r}.")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    history_path = run_dir / HISTORY
    best_path = run_dir / BEST_WEIGHTS
    model = compiled_model(
        build,
        strategy or get_strategy(None),
        MIXED_PRECISION_POLICY if mixed_precision else "float32",
        bn_momentum=bn_momentum,
        new_optimizer=lambda: make_optimizer(
            optimizer, learning_rate, decay_rate, steps_per_epoch=max(int(steps_per_epoch), 1)
        ),
        loss=loss,
        metrics=list(metrics),
        jit_compile=jit_compile,
    )
    mode = "max" if any(k in monitor for k in ("acc", "auc")) else "min"
    done_path = run_dir / FIT_RECORD
    if done_path.is_file() and best_path.is_file():
        _load_weights_quietly(model, best_path)
        done = json.loads(done_path.read_text())
        return FitResult(
            model=model, history=read_history(history_path), best_epoch=done["best_epoch"], run_dir=run_dir
        )
    backup_dir = run_dir / BACKUP_DIR
    resume_from = resume_epoch(backup_dir)
    _truncate_history(history_path, resume_from)
    checkpoint = ResumableCheckpoint(
        backup_dir, best_path, monitor=monitor, mode=mode, min_interval=backup_interval, keep_last=keep_last
    )
    callbacks = [checkpoint, LearningRateLogger(), keras.callbacks.CSVLogger(str(history_path), append=True)]
    if patience is not None:
        callbacks.append(keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=int(patience)))
    schedule = dict(epochs=epochs, initial_epoch=resume_from, callbacks=callbacks)  # resumes after the backup
    model.fit(train_data, validation_data=val_data, **schedule, verbose=verbose, shuffle=False)
    history = read_history(history_path)
    if checkpoint.best_weights is None and best_path.is_file():
        _load_weights_quietly(model, best_path)  # the best epoch came before a resumption and was not beaten
    values = history.get(monitor, [])
    best_epoch = len(values) if keep_last else _best_epoch(values, mode)
    write_json(
        done_path,
        {
            "epochs": epochs,
            "epochs_trained": len(values),
            "best_epoch": best_epoch,
            "monitor": monitor,
            "optimizer": optimizer,
            "learning_rate": learning_rate,
            "decay_rate": decay_rate,
            "steps_per_epoch": steps_per_epoch,
        },
    )
    return FitResult(model=model, history=history, best_epoch=best_epoch, run_dir=run_dir)


def compiled_model(build, strategy, policy: str, *, bn_momentum, new_optimizer, **compile_options):
    """``build()`` compiled with ``new_optimizer()`` and ``compile_options``, all inside the strategy's scope.

    The model and the optimizer are created there (and under the dtype
    ``policy``) so that their variables live on the strategy's devices.
    """
    from mstl_lib.models.networks import set_batchnorm_momentum

    with strategy.scope(), dtype_policy_scope(policy):
        model = with_dtype_policy(build(), policy)
        if bn_momentum is not None:
            set_batchnorm_momentum(model, bn_momentum)
        model.compile(optimizer=new_optimizer(), **compile_options)
    return model


def _best_epoch(values: list[float], mode: str) -> int:
    """The epoch (from 1) of the best finite value; the last epoch when none is finite."""
    finite = [(v, i) for i, v in enumerate(values) if not math.isnan(v)]
    return ((max if mode == "max" else min)(finite)[1] + 1) if finite else len(values)

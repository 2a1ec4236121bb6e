"""One compiled network trained many times: the study's cheap small trainings.

A study trains hundreds of small networks on a few dozen images each; what
such a training costs is mostly fixed: starting TensorFlow, building the
model, and tracing its training, validation and prediction steps into graphs.
:class:`ReusableModel` pays the last two once per process. It compiles one
model, and for every training puts fresh starting weights into it (those a
newly built model would have for that seed), resets the optimizer to its
initial state and the learning-rate schedule to the new epoch length, and
trains again: Keras keeps the traced steps of a model between ``fit`` calls,
so only the first training traces them.

The recipe is :func:`mstl_lib.training.fit.fit_model`'s (section 2.3 of
Ayana et al. 2022): the profile's optimizer, learning rate with exponential
decay per epoch, early stopping, and the weights of the best validation
epoch kept. There is no backup for resumption inside a training: a study's
training takes seconds, and a killed one is trained again from its start.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable

import keras
import numpy as np

from mstl_lib.training.fit import MIXED_PRECISION_POLICY, compiled_model, get_strategy
from mstl_lib.training.optimizers import make_optimizer


class KeepBestWeights(keras.callbacks.Callback):
    """Keeps the weights of the best epoch by ``monitor`` in memory and puts them back when training ends."""

    def __init__(self, monitor: str, mode: str):
        super().__init__()
        self.monitor, self.mode = monitor, mode

    def on_train_begin(self, logs=None):
        self.best_value, self.best_epoch, self.best_weights = None, 0, None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or math.isnan(value):
            return
        if self.best_value is None or (value > self.best_value if self.mode == "max" else value < self.best_value):
            self.best_value, self.best_epoch, self.best_weights = float(value), epoch + 1, self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class ReusableModel:
    """A compiled model that trains again from fresh starting weights without being traced again.

    Parameters
    ----------
    build : callable
        ``build()`` returns a new uncompiled model; called once for the
        compiled model and once per seed for its starting weights (building
        is cheap, tracing is not).
    optimizer : str
        ``sgd``, ``adam`` or ``adagrad`` (:func:`mstl_lib.training.optimizers.make_optimizer`).
    learning_rate, decay_rate : float
        Initial rate and decay per epoch (paper: 0.001, 0.96).
    loss, metrics, monitor
        As :func:`mstl_lib.training.fit.fit_model`.
    bn_momentum, mixed_precision, jit_compile, strategy
        As :func:`mstl_lib.training.fit.fit_model`.
    """

    def __init__(
        self,
        build: Callable[[], object],
        *,
        optimizer: str,
        learning_rate: float,
        decay_rate: float,
        loss: str,
        metrics,
        monitor: str = "val_loss",
        bn_momentum: float | None = None,
        mixed_precision: bool = False,
        jit_compile: bool | str = "auto",
        strategy=None,
    ):
        import tensorflow as tf

        self.build, self.monitor = build, monitor
        self.mode = "max" if any(k in monitor for k in ("acc", "auc")) else "min"
        self.policy = MIXED_PRECISION_POLICY if mixed_precision else "float32"
        self.strategy = strategy or get_strategy(None)
        # the schedule's epoch length is a variable, read by the traced step, so a new length needs no new trace
        self.steps_per_epoch = tf.Variable(1.0, trainable=False, dtype=tf.float32)
        self.model = compiled_model(
            build,
            self.strategy,
            self.policy,
            bn_momentum=bn_momentum,
            new_optimizer=lambda: make_optimizer(
                optimizer, learning_rate, decay_rate, steps_per_epoch=self.steps_per_epoch
            ),
            loss=loss,
            metrics=list(metrics),
            jit_compile=jit_compile,
        )
        self.model.optimizer.build(self.model.trainable_variables)
        self._optimizer_start = [v.numpy() for v in self.model.optimizer.variables]
        self._start = None

    def start(self, seed: int, steps_per_epoch: int) -> None:
        """Put in the starting state of a new training: the weights a model built with ``seed`` starts from,
        a fresh optimizer, and the learning-rate decay per ``steps_per_epoch`` batches.

        Keras draws the seeds of initialisers and dropout from Python's and
        NumPy's generators, which are seeded here; TensorFlow's global seed is
        not set again (that would make every traced step trace anew, about a
        second each time): set it once per process
        (:func:`mstl_lib.training.fit.set_seed`). The
        input pipeline's shuffling and augmentation take their own seeds.
        """
        from mstl_lib.training.fit import dtype_policy_scope, with_dtype_policy

        if self._start is None or self._start[0] != seed:  # trainings of one seed in a row build once
            random.seed(int(seed))
            np.random.seed(int(seed))
            with self.strategy.scope(), dtype_policy_scope(self.policy):
                fresh = with_dtype_policy(self.build(), self.policy)
            self._start = (seed, [v.numpy() for v in fresh.variables])
            del fresh
        for target, value in zip(self.model.variables, self._start[1], strict=True):
            target.assign(value)
        for variable, value in zip(self.model.optimizer.variables, self._optimizer_start, strict=True):
            variable.assign(value)
        self.steps_per_epoch.assign(float(max(int(steps_per_epoch), 1)))

    def fit(self, train_data, val_data, *, epochs: int, patience: int | None = None) -> tuple[dict, int]:
        """Train from the state :meth:`start` set; returns the history and the best epoch (from 1), whose
        weights the model then holds."""
        best = KeepBestWeights(self.monitor, self.mode)
        callbacks = [best]
        if patience is not None:
            callbacks.append(
                keras.callbacks.EarlyStopping(monitor=self.monitor, mode=self.mode, patience=int(patience))
            )
        history = self.model.fit(
            train_data, validation_data=val_data, epochs=int(epochs), callbacks=callbacks, verbose=0, shuffle=False
        ).history
        epochs_trained = len(history.get("loss", []))
        return {k: [float(v) for v in values] for k, values in history.items()}, best.best_epoch or epochs_trained

    def predict(self, data) -> np.ndarray:
        """Scores of the model on batched ``data`` (traced once for all trainings)."""
        return self.model.predict(data, verbose=0)


class Stopwatch:
    """Seconds spent per named phase: ``with watch("fit"): ...`` adds to ``watch.seconds["fit"]``."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str):
        watch = self

        class _Phase:
            def __enter__(self):
                self.start = time.perf_counter()

            def __exit__(self, *exc):
                watch.seconds[name] = watch.seconds.get(name, 0.0) + time.perf_counter() - self.start

        return _Phase()

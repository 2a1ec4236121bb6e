"""The paper's optimizers with exponential learning-rate decay (section 2.3)."""

from __future__ import annotations

import keras

from mstl_lib.errors import DataError
from mstl_lib.profiles import OPTIMIZERS


def make_optimizer(
    name: str,
    learning_rate: float = 1e-3,
    decay_rate: float = 0.96,
    *,
    steps_per_epoch: int,
    staircase: bool = True,
) -> keras.optimizers.Optimizer:
    """One of the paper's optimizers with exponential learning-rate decay.

    The learning rate decays once per epoch: ``decay_steps`` is the number of
    steps (mini-batches) per epoch, so at epoch ``e`` (counting from 0) the
    rate is ``learning_rate * decay_rate ** e``. With ``staircase=True`` (our
    default) it stays constant within an epoch; with ``False`` it decays
    smoothly, reaching the same value at each epoch boundary.

    Parameters
    ----------
    name : {"sgd", "adam", "adagrad"}
        Optimizer (case-insensitive). SGD without momentum; Keras defaults
        for everything else (the paper gives no other settings).
    learning_rate : float, default 1e-3
        Initial learning rate (paper: 0.001).
    decay_rate : float, default 0.96
        Factor per epoch (paper: 0.96), in (0, 1].
    steps_per_epoch : int
        Mini-batches per epoch, ``ceil(n_train / batch_size)``; keyword only.
    staircase : bool, default True
        Decay in whole epochs (True) or continuously (False).

    Returns
    -------
    keras.optimizers.Optimizer
        With a ``keras.optimizers.schedules.ExponentialDecay`` learning rate.

    Raises
    ------
    DataError
        Unknown name, or non-positive ``learning_rate`` / ``steps_per_epoch``,
        or ``decay_rate`` outside (0, 1].

    References
    ----------
    Ayana et al. (2022), section 2.3 (SGD, Adam, Adagrad; learning rate 0.001,
    exponential decay 0.96).
    """
    key = str(name).lower()
    if key not in OPTIMIZERS:
        raise DataError(f"Unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}.")
    if not learning_rate > 0:
        raise DataError(f"learning_rate must be > 0, got {learning_rate!r}.")
    if not 0 < decay_rate <= 1:
        raise DataError(f"decay_rate must be in (0, 1], got {decay_rate!r}.")
    if isinstance(steps_per_epoch, bool) or not isinstance(steps_per_epoch, int) or steps_per_epoch < 1:
        raise DataError(f"steps_per_epoch must be an integer >= 1, got {steps_per_epoch!r}.")
    schedule = keras.optimizers.schedules.ExponentialDecay(
        initial_learning_rate=float(learning_rate),
        decay_steps=steps_per_epoch,
        decay_rate=float(decay_rate),
        staircase=bool(staircase),
    )
    if key == "sgd":
        return keras.optimizers.SGD(learning_rate=schedule)
    if key == "adam":
        return keras.optimizers.Adam(learning_rate=schedule)
    return keras.optimizers.Adagrad(learning_rate=schedule)

"""The paper's optimizers with exponential learning-rate decay (section 2.3)."""

from __future__ import annotations

import keras

from mstl_lib.profiles import OPTIMIZERS
from mstl_lib.validation import check_choice, check_integer, check_number


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
    steps_per_epoch : int or tf.Variable
        Mini-batches per epoch, ``ceil(n_train / batch_size)``; keyword only.
        A (float) variable makes the epoch's length changeable later without a
        new optimizer (:class:`mstl_lib.training.reuse.ReusableModel`).
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
    key = check_choice(name, "optimizer", OPTIMIZERS, lower=True)
    learning_rate = check_number(learning_rate, "learning_rate", minimum=0.0, include_minimum=False)
    decay_rate = check_number(decay_rate, "decay_rate", minimum=0.0, maximum=1.0, include_minimum=False)
    if not hasattr(steps_per_epoch, "assign"):  # a variable is read at every step; a number is checked here
        steps_per_epoch = check_integer(steps_per_epoch, "steps_per_epoch", minimum=1)
    schedule = keras.optimizers.schedules.ExponentialDecay(
        initial_learning_rate=learning_rate,
        decay_steps=steps_per_epoch,
        decay_rate=decay_rate,
        staircase=bool(staircase),
    )
    if key == "sgd":
        return keras.optimizers.SGD(learning_rate=schedule)
    if key == "adam":
        return keras.optimizers.Adam(learning_rate=schedule)
    return keras.optimizers.Adagrad(learning_rate=schedule)

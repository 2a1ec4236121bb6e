"""The training loop: resumption, best-epoch restore, determinism, strategies.

A tiny CNN stands in for the backbones here (the loop is the same for any
model); tests/test_grid.py runs the real ResNet50 end to end.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from mstl_lib.errors import DataError
from mstl_lib.training.fit import fit_model, get_strategy, read_history, set_seed
from mstl_lib.training.inputs import make_tf_dataset


def _tiny_model():
    inputs = keras.Input((75, 75, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(4, 3, strides=4, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))


def _data(n=16, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    images = rng.integers(0, 120, (n, 75, 75, 3), dtype=np.uint8)
    images[labels == 1] += 100  # learnable: malignant brighter
    return make_tf_dataset(images, labels, batch_size=4, training=True), make_tf_dataset(images, labels, batch_size=4)


class StopAfter(keras.callbacks.Callback):
    """Simulates a run killed after ``epochs`` finished epochs."""

    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epochs:
            raise KeyboardInterrupt


def _die_after(monkeypatch, epochs: int):
    """Make the next Model.fit calls die after ``epochs`` epochs; returns the original fit."""
    original_fit = keras.Model.fit

    def fit_that_dies(self, *args, **kwargs):
        kwargs["callbacks"] = [*kwargs["callbacks"], StopAfter(epochs)]
        return original_fit(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", fit_that_dies)
    return original_fit


def test_interrupted_run_resumes_from_its_last_epoch(tmp_path, monkeypatch):
    train, val = _data()
    original_fit = _die_after(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        fit_model(_tiny_model, train, val, run_dir=tmp_path, epochs=4, steps_per_epoch=4, verbose=0, backup_interval=0)
    assert len(read_history(tmp_path / "history.csv")["epoch"]) == 2
    assert (tmp_path / "backup").is_dir() and (tmp_path / "best.weights.h5").is_file()
    monkeypatch.setattr(keras.Model, "fit", original_fit)
    trained = []
    monkeypatch.setattr(
        keras.callbacks.CSVLogger, "on_epoch_begin", lambda self, epoch, logs=None: trained.append(epoch)
    )
    result = fit_model(
        _tiny_model, train, val, run_dir=tmp_path, epochs=4, steps_per_epoch=4, verbose=0, backup_interval=0
    )
    assert trained == [2, 3]  # only the epochs after the backup were trained again
    assert result.history["epoch"] == [0.0, 1.0, 2.0, 3.0]
    assert not (tmp_path / "backup").exists()
    assert 1 <= result.best_epoch <= 4


def test_run_killed_before_any_backup_starts_over_without_duplicate_history(tmp_path, monkeypatch):
    train, val = _data()
    original_fit = _die_after(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        fit_model(
            _tiny_model, train, val, run_dir=tmp_path, epochs=3, steps_per_epoch=4, verbose=0, backup_interval=3600
        )
    assert not (tmp_path / "backup").exists()  # no backup written within the interval
    monkeypatch.setattr(keras.Model, "fit", original_fit)
    result = fit_model(_tiny_model, train, val, run_dir=tmp_path, epochs=3, steps_per_epoch=4, verbose=0)
    assert result.history["epoch"] == [0.0, 1.0, 2.0]


def test_best_validation_epoch_is_restored_and_finished_runs_are_loaded(tmp_path):
    train, val = _data()
    result = fit_model(_tiny_model, train, val, run_dir=tmp_path, epochs=3, steps_per_epoch=4, verbose=0)
    losses = result.history["val_loss"]
    assert result.best_epoch == int(np.argmin(losses)) + 1
    evaluated = result.model.evaluate(val, verbose=0, return_dict=True)["loss"]
    assert evaluated == pytest.approx(min(losses), rel=1e-4)
    again = fit_model(_tiny_model, train, val, run_dir=tmp_path, epochs=3, steps_per_epoch=4, verbose=0)
    assert again.history == result.history  # not retrained
    assert np.allclose(again.model.predict(val, verbose=0), result.model.predict(val, verbose=0))


def test_learning_rate_decays_per_epoch(tmp_path):
    train, val = _data()
    result = fit_model(
        _tiny_model,
        train,
        val,
        run_dir=tmp_path,
        epochs=3,
        steps_per_epoch=4,
        verbose=0,
        learning_rate=0.01,
        decay_rate=0.5,
    )
    assert result.history["learning_rate"] == pytest.approx([0.01, 0.005, 0.0025])


def test_bad_arguments(tmp_path):
    train, val = _data()
    with pytest.raises(DataError, match="epochs"):
        fit_model(_tiny_model, train, val, run_dir=tmp_path, epochs=0, steps_per_epoch=4)
    with pytest.raises(DataError, match="strategy"):
        get_strategy("tpu")
    with pytest.raises(DataError, match="TF_CONFIG"):
        get_strategy("multiworker")


def _run_script(body: str, tmp_path) -> str:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(body))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


TRAIN_TWICE = """
import sys, numpy as np
sys.path.insert(0, {tests!r})
from test_training import _tiny_model, _data
from mstl_lib.training.fit import fit_model, set_seed
out = []
for run in range(2):
    set_seed(7, deterministic=True)
    train, val = _data()
    result = fit_model(
        _tiny_model, train, val, run_dir={tmp!r} + f"/run{{run}}", epochs=2, steps_per_epoch=4, verbose=0
    )
    out.append(np.concatenate([w.ravel() for w in result.model.get_weights()]))
    print("val_loss", result.history["val_loss"])
print("IDENTICAL", np.array_equal(out[0], out[1]))
"""


@pytest.mark.slow
def test_two_deterministic_runs_agree(tmp_path):
    from pathlib import Path

    output = _run_script(TRAIN_TWICE.format(tests=str(Path(__file__).parent), tmp=str(tmp_path)), tmp_path)
    losses = [line for line in output.splitlines() if line.startswith("val_loss")]
    assert len(losses) == 2 and losses[0] == losses[1]
    assert "IDENTICAL True" in output


MIRRORED = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, {tests!r})
from test_training import _tiny_model, _data
from mstl_lib.training.fit import fit_model, get_strategy
strategy = get_strategy("mirrored")
print("REPLICAS", strategy.num_replicas_in_sync)
train, val = _data(n=32)
result = fit_model(_tiny_model, train, val, run_dir={tmp!r}, epochs=2, steps_per_epoch=8, strategy=strategy, verbose=0)
print("EPOCHS", len(result.history["loss"]))
"""


@pytest.mark.slow
def test_mirrored_strategy_trains_on_two_logical_cpus(tmp_path):
    from pathlib import Path

    output = _run_script(MIRRORED.format(tests=str(Path(__file__).parent), tmp=str(tmp_path / "run")), tmp_path)
    assert "REPLICAS 2" in output and "EPOCHS 2" in output


def test_set_seed_repeats_numpy_and_keras_draws():
    set_seed(3)
    first = np.random.rand(3), keras.random.uniform((3,)).numpy()
    set_seed(3)
    second = np.random.rand(3), keras.random.uniform((3,)).numpy()
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])


def test_mixed_precision_keeps_every_output_layer_in_float32():
    from mstl_lib.training.fit import dtype_policy_scope, with_dtype_policy

    inputs = keras.Input((8,))
    hidden = keras.layers.Dense(4, name="hidden")(inputs)
    outputs = [keras.layers.Dense(1, name="a")(hidden), keras.layers.Dense(2, name="b")(hidden)]
    model = keras.Model(inputs, outputs)
    with dtype_policy_scope("mixed_float16"):
        mixed = with_dtype_policy(model, "mixed_float16")
    policies = {layer.name: layer.dtype_policy.name for layer in mixed.layers if layer.name != inputs.name}
    assert policies == {"hidden": "mixed_float16", "a": "float32", "b": "float32"}
    assert with_dtype_policy(mixed, "mixed_float16") is mixed  # already right: not cloned again


def test_a_backup_restores_weights_optimizer_and_epoch(tmp_path):
    from mstl_lib.training.fit import ResumableCheckpoint, compiled_model, resume_epoch
    from mstl_lib.training.optimizers import make_optimizer

    train, val = _data()

    def model():
        return compiled_model(
            _tiny_model,
            get_strategy(None),
            "float32",
            bn_momentum=None,
            new_optimizer=lambda: make_optimizer("adam", steps_per_epoch=4),
            loss="binary_crossentropy",
        )

    trained = model()
    backup = ResumableCheckpoint(tmp_path / "backup", tmp_path / "best.weights.h5", min_interval=0)
    trained.fit(train, validation_data=val, epochs=2, callbacks=[backup], verbose=0, shuffle=False)
    assert resume_epoch(tmp_path / "backup") == 0  # a training that ends deletes its backup
    backup.set_model(trained)
    backup._back_up(epochs_done=2)
    assert resume_epoch(tmp_path / "backup") == 2
    fresh = model()
    restore = ResumableCheckpoint(tmp_path / "backup", tmp_path / "other.weights.h5")
    restore.set_model(fresh)
    restore.on_train_begin()
    assert all(np.array_equal(a, b) for a, b in zip(fresh.get_weights(), trained.get_weights()))
    assert int(fresh.optimizer.iterations.numpy()) == int(trained.optimizer.iterations.numpy()) == 8


def test_a_reused_model_decays_its_rate_per_epoch_of_each_training():
    from mstl_lib.training.reuse import ReusableModel

    train, val = _data()
    trainer = ReusableModel(
        _tiny_model, optimizer="sgd", learning_rate=0.01, decay_rate=0.5, loss="binary_crossentropy", metrics=[]
    )
    for steps_per_epoch in (4, 2):
        trainer.start(seed=0, steps_per_epoch=steps_per_epoch)
        trainer.fit(train, val, epochs=1)  # 4 batches: one epoch of 4, two epochs of 2
        assert float(trainer.model.optimizer.learning_rate) == pytest.approx(0.01 * 0.5 ** (4 // steps_per_epoch))

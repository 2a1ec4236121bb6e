"""Helpers shared by the benchmark modules: statistics, timers, machine description.

Nothing here asserts a time. Every benchmark module exposes ``run(quick) -> dict``
and ``explain(result) -> list[str]``; :mod:`run_all` runs each one in a fresh
process and renders the report.

A result dict holds:

``title``
    Heading of the figure in the report.
``what``
    One paragraph: what exactly was measured, and how.
``checks``
    The figure(s) the issue asks for, each ``{"figure", "target", "value",
    "unit", "met"}`` (``met`` is None where there is no target).
``tables``
    Further tables, each ``{"caption", "columns", "rows"}``.
``raw``
    Every sample, for whoever wants to recompute the medians.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent

# Keep TensorFlow's start-up chatter out of the logs of the child processes.
QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore"}
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DISTRIBUTIONS = (
    "mstl-lib",
    "tensorflow",
    "keras",
    "numpy",
    "opencv-python-headless",
    "scikit-image",
    "scipy",
    "pillow",
    "psutil",
    "papermill",
    "jupyter-book",
)


# --------------------------------------------------------------------------- statistics


def median(values) -> float | None:
    values = [float(v) for v in values if v is not None]
    return statistics.median(values) if values else None


def spread(values) -> tuple[float | None, float | None]:
    values = [float(v) for v in values if v is not None]
    return (min(values), max(values)) if values else (None, None)


def ratio_of_medians(numerators, denominators) -> float | None:
    top, bottom = median(numerators), median(denominators)
    if top is None or not bottom:
        return None
    return top / bottom


def pairwise_ratios(numerators, denominators) -> list[float]:
    """Ratios of the samples taken in turn (A_i / B_i); their median is robust to drift."""
    return [a / b for a, b in zip(numerators, denominators) if a is not None and b]


def check(figure: str, target: str, value, unit: str, met) -> dict:
    return {"figure": figure, "target": target, "value": value, "unit": unit, "met": None if met is None else bool(met)}


def fmt(value, digits: int = 2) -> str:
    """A number for the report (None -> em dash)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    return str(value)


# --------------------------------------------------------------------------- timing


class Stopwatch:
    """``with Stopwatch() as w: ...`` then ``w.seconds``."""

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        return False


def epoch_timer():
    """A Keras callback that records, per epoch, the start, the end of the training
    phase (the start of validation, if any) and the end (after every other
    callback's ``on_epoch_end``, when it is the last callback).

    No batch hooks, so that it does not make Keras synchronise every step.
    """
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epochs: list[dict] = []
            self._current = None

        def on_epoch_begin(self, epoch, logs=None):
            self._current = {"epoch": int(epoch), "begin": time.perf_counter(), "train_end": None}

        def on_test_begin(self, logs=None):
            if self._current is not None and self._current["train_end"] is None:
                self._current["train_end"] = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            now = time.perf_counter()
            current = self._current
            if current["train_end"] is None:
                current["train_end"] = now
            current["end"] = now
            current["train_s"] = current["train_end"] - current["begin"]
            current["epoch_s"] = now - current["begin"]
            self.epochs.append(current)
            self._current = None

    return EpochTimer()


EAGER_ENV = "MSTL_BENCH_EAGER"
"""Set (to 1) by ``run_all.py --quick``: TensorFlow functions run eagerly, so that a sanity run does not
spend most of its time tracing graphs. Its timings then mean nothing, which a quick run's never do."""


def quiet_tensorflow() -> None:
    """Silence TensorFlow's Python-side logging (the C++ side is set by QUIET_ENV); in a quick run, go eager."""
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:  # pragma: no cover
        pass
    if os.environ.get(EAGER_ENV) == "1":
        import tensorflow as tf

        tf.config.run_functions_eagerly(True)


# --------------------------------------------------------------------------- machine


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def nvidia_smi(fields: str) -> list[list[str]]:
    """``nvidia-smi --query-gpu=FIELDS`` as one list of values per card; empty without a driver or a GPU."""
    try:
        out = subprocess.run(
            ["nvidia-smi", f"--query-gpu={fields}", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    if out.returncode != 0:
        return []
    return [[part.strip() for part in line.split(",")] for line in out.stdout.splitlines() if line.strip()]


def _gpus() -> list[str]:
    """GPUs visible to the NVIDIA driver (empty when there is none or no driver)."""
    return [", ".join(card) for card in nvidia_smi("name,memory.total")]


def machine_info() -> dict:
    try:
        import psutil

        memory_gb = psutil.virtual_memory().total / 2**30
    except ImportError:  # pragma: no cover
        memory_gb = None
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        affinity = None
    try:
        load = [round(v, 2) for v in os.getloadavg()]
    except OSError:  # pragma: no cover
        load = None
    return {
        "cpu": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": affinity,
        "memory_gib": round(memory_gb, 1) if memory_gb else None,
        "gpus": _gpus(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": load,
    }


def versions() -> dict:
    found = {}
    for name in DISTRIBUTIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def git_revision() -> dict:
    def git(*args):
        try:
            out = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "--short", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "uncommitted_changes": bool(status) if status is not None else None}


def now_utc() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def python() -> str:
    return sys.executable


def book_run(profile: str, build_dir: Path, env: dict) -> dict:
    """Run ``mstl book --profile PROFILE --build-dir BUILD`` in a child process and time it.

    Returns the wall time, exit status, the whole log, and the seconds per
    lesson as ``mstl book`` logs them (``Executing NAME.ipynb`` ... ``done in N s``).
    """
    import re

    command = [sys.executable, "-m", "mstl_lib", "book", "--profile", profile, "--build-dir", str(build_dir)]
    started = time.perf_counter()
    out = subprocess.run(command, cwd=str(REPO_ROOT), capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    log = out.stdout + out.stderr
    per_notebook, current = [], None
    for line in log.splitlines():
        match = re.match(r"Executing (\S+\.ipynb)", line)
        if match:
            current = match.group(1)
        match = re.match(r"\s+done in (\d+) s", line)
        if match and current:
            per_notebook.append([current, int(match.group(1))])
            current = None
    return {"wall_s": wall, "returncode": out.returncode, "log": log, "per_notebook_s": per_notebook}

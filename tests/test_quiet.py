"""A quiet terminal: TensorFlow's start-up noise hidden, real lines kept."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mstl_lib import quiet

NOISE = """WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1795676137.719348   10823 port.cc:153] oneDNN custom operations are on. You may see slightly different numerical results.
I0000 00:00:1795676137.724950   10823 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
E0000 00:00:1795676148.161792   10823 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)
[IPKernelApp] WARNING | Kernel is running over TCP without encryption. All communication (including code and outputs) is sent in plain text.
"""


def test_noise_is_dropped_and_real_lines_kept(monkeypatch):
    monkeypatch.setattr(quiet, "has_nvidia_gpu", lambda: False)
    real = "E0000 00:00:1.0   10 op_kernel.cc:1] OUT_OF_RANGE: a real error\nUserWarning: something real"
    assert quiet.real_lines(NOISE + real) == real.splitlines()
    monkeypatch.setattr(quiet, "has_nvidia_gpu", lambda: True)  # with a GPU, its CUDA lines are real problems
    kept = quiet.real_lines(NOISE)
    assert len(kept) == 2 and "cudart_stub" in kept[0] and "cuInit" in kept[1]


def test_quiet_environment_keeps_the_users_level(monkeypatch):
    monkeypatch.setattr(quiet, "has_nvidia_gpu", lambda: False)
    assert quiet.quiet_environment({})["TF_CPP_MIN_LOG_LEVEL"] == "3"
    assert quiet.quiet_environment({"TF_CPP_MIN_LOG_LEVEL": "0"})["TF_CPP_MIN_LOG_LEVEL"] == "0"
    monkeypatch.setattr(quiet, "has_nvidia_gpu", lambda: True)
    assert quiet.quiet_environment({"PATH": "/bin"}) == {"PATH": "/bin", "TF_CPP_MIN_LOG_LEVEL": "2"}


@pytest.mark.slow
def test_tensorflow_starts_without_noise():
    code = (
        "from mstl_lib.quiet import import_tensorflow_quietly\n"
        "tf = import_tensorflow_quietly()\n"
        "print(len(tf.config.list_physical_devices('GPU')), float(tf.constant(1.0) + 1))\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "2.0"
    if not quiet.has_nvidia_gpu():
        assert done.stderr.strip() == ""

"""A quiet terminal: TensorFlow's start-up lines only where they say something.

On a machine without an NVIDIA GPU, TensorFlow writes lines such as
``I0000 ... oneDNN custom operations are on`` and ``E0000 ... failed call to
cuInit`` to the process's standard error, which a newcomer reads as failures.
Three things keep them off the terminal:

* :func:`quiet_environment` sets ``TF_CPP_MIN_LOG_LEVEL`` before TensorFlow
  loads (``3`` without an NVIDIA device or driver, which hides the CUDA probe;
  ``2`` with one, so that a real GPU problem is still shown). The command line,
  the notebook kernels and the per-fold training processes all get it; a value
  the user set is kept.
* :func:`import_tensorflow_quietly` imports TensorFlow with the process's
  standard error held in a temporary file and writes back only the lines that
  are not :data:`FRAMEWORK_NOISE` (absl prints a few before it reads the
  level above).
* The book sends each kernel's own standard error to a log file and shows only
  its real lines (:func:`real_lines`).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

_CPU_NOISE = (
    r"WARNING: All log messages before absl::InitializeLog"
    r"|[IW]\d{4} [\d:. ]+\d+ (port|cpu_feature_guard|cpu_allocator_impl)\.cc"
    r"|To enable the following instructions|This TensorFlow binary is optimized to use available CPU instructions"
    r"|.*Kernel is running over TCP without encryption"
    r"|(All communication|and is susceptible|Use IPC transport|CurveZMQ keys).*"
)
_GPU_PROBE = r"|[IWE]\d{4} [\d:. ]+\d+ (cudart_stub|cuda_platform|cuda_executor|cuda_diagnostics|gpu_device)\.cc"
FRAMEWORK_NOISE = re.compile(rf"^\s*(\[IPKernelApp\] WARNING \| )?({_CPU_NOISE}{_GPU_PROBE})")
"""Start-up lines of TensorFlow (absent GPU, CPU instructions) and of the kernel's transport.

Noise only on a machine without a GPU."""
GPU_MACHINE_NOISE = re.compile(rf"^\s*(\[IPKernelApp\] WARNING \| )?({_CPU_NOISE})")
"""The same on a machine with an NVIDIA GPU: its CUDA lines are kept, since there they report a real problem."""


def has_nvidia_gpu() -> bool:
    """Whether this machine has an NVIDIA device or driver (``/dev/nvidia0`` or ``nvidia-smi``)."""
    return Path("/dev/nvidia0").exists() or shutil.which("nvidia-smi") is not None


def noise_pattern() -> re.Pattern:
    """:data:`FRAMEWORK_NOISE`, or :data:`GPU_MACHINE_NOISE` on a machine with an NVIDIA GPU."""
    return GPU_MACHINE_NOISE if has_nvidia_gpu() else FRAMEWORK_NOISE


def quiet_environment(environ=None) -> dict[str, str]:
    """``environ`` (default ``os.environ``) with TensorFlow's log level added, unless it is already set."""
    environ = dict(os.environ if environ is None else environ)
    environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2" if has_nvidia_gpu() else "3")
    return environ


def quiet_this_process() -> None:
    """Apply :func:`quiet_environment` to this process (before TensorFlow loads)."""
    for name, value in quiet_environment().items():
        os.environ.setdefault(name, value)


def real_lines(text: str) -> list[str]:
    """The lines of ``text`` that are not start-up noise (:func:`noise_pattern`), nor blank."""
    pattern = noise_pattern()
    return [line for line in text.splitlines() if line.strip() and not pattern.match(line)]


def import_tensorflow_quietly():
    """Import TensorFlow, keeping its start-up noise off standard error; return the module.

    Standard error (file descriptor 2) is held in a temporary file during the
    import; afterwards its real lines (:func:`real_lines`) are written back.
    """
    quiet_this_process()
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as held:
        os.dup2(held.fileno(), 2)
        try:
            import tensorflow
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            kept = real_lines(held.read().decode(errors="replace"))
    if kept:
        print("\n".join(kept), file=sys.stderr)
    return tensorflow

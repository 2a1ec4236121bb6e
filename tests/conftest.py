"""Shared test fixtures.

Real data samples live in ``../shared/data`` beside the repository; tests that
need them are marked ``realdata`` and skip cleanly where that folder is absent.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Weights the tests make (the generic stage's) go to a private Keras cache, never the user's; set before
# Keras is imported, because Keras reads KERAS_HOME once, at import.
os.environ["KERAS_HOME"] = tempfile.mkdtemp(prefix="mstl-tests-keras-")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data``, or skip the test where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data samples not present at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def busi_sample(shared_data) -> Path:
    path = shared_data / "busi_sample"
    if not path.is_dir():
        pytest.skip(f"BUSI sample not present at {path}")
    return path


def write_image(
    path: Path, array: np.ndarray | None = None, *, size=(40, 48), seed: int = 0, mode: str | None = None
) -> Path:
    """Write a small random image (or ``array``) with Pillow; folders are created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if array is None:
        array = np.random.default_rng(seed).integers(0, 256, size=(*size, 3), dtype=np.uint8)
    image = Image.fromarray(array)
    if mode is not None:
        image = image.convert(mode)
    image.save(path)
    return path


@pytest.fixture
def make_folder_dataset(tmp_path):
    """Factory: a ROOT/<class>/<n>.png dataset of distinct random images."""

    def make(
        counts: dict[str, int], *, root: Path | None = None, ext: str = ".png", name_format: str = "{label}_{i}"
    ) -> Path:
        root = root or tmp_path / "data"
        seed = 0
        for label, n in counts.items():
            for i in range(n):
                seed += 1
                write_image(root / label / (name_format.format(label=label, i=i + 1) + ext), seed=seed)
        return root

    return make


def kill_when_written(script: Path, watched: Path, *, timeout: float = 240.0, poll: float = 0.2) -> None:
    """Run ``script`` in its own process group, SIGKILL the group as soon as ``watched`` exists.

    Fails the test (with the end of the script's stderr) if the script ends or
    the timeout passes before the file appears.
    """
    import signal
    import subprocess
    import sys
    import time

    process = subprocess.Popen(
        [sys.executable, str(script)], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + timeout
    while not watched.is_file() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(poll)
    assert watched.is_file(), (
        process.stderr.read().decode()[-2000:] if process.poll() is not None else "no result in time"
    )
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()

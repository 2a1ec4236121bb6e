"""What every lesson notebook does first: quiet logs, print versions, open the workspace."""

from __future__ import annotations

import logging
import warnings

from mstl_lib.profiles import PROFILES
from mstl_lib.quiet import quiet_this_process
from mstl_lib.teaching.workspace import Workspace


def setup_notebook(
    profile: str = "smoke",
    work_dir=None,
    seed: int = 0,
    *,
    progress: bool = True,
    weights: str | None = "profile",
    **data_options,
) -> Workspace:
    """Prepare a lesson: quiet TensorFlow, fix the seed, print versions and profile.

    Parameters
    ----------
    profile : {"smoke", "lab", "paper"}
        The run profile (the notebook's ``profile`` parameter).
    work_dir : path-like, optional
        Shared work folder; default ``$MSTL_WORK_DIR`` or ``~/mstl_work``, per profile.
    seed : int
        Seed of everything random.
    progress : bool
        Show progress bars during long steps.
    weights : "profile", "imagenet", "none" or a path
        Initial weights of the backbones; ``"profile"`` keeps the profile's
        (``smoke`` and ``lab``: the generic fractal stage, made locally, so that they run offline; ``paper``:
        ImageNet). ``"imagenet"`` needs Keras' cache or an internet connection.
    **data_options
        ``cells_dir``, ``ultrasound_dir``, ``ultrasound_kind`` for real data.

    Returns
    -------
    Workspace
    """
    quiet_this_process()
    warnings.filterwarnings("ignore", message=".*__array__ implementation doesn't accept a copy keyword.*")
    import keras
    import matplotlib
    import tensorflow as tf

    from mstl_lib import __version__
    from mstl_lib.training.grid import library_versions

    tf.get_logger().setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    matplotlib.rcParams.update({"figure.dpi": 100, "savefig.bbox": "tight"})
    import pandas as pd

    pd.set_option("display.max_colwidth", None)  # tables show whole cells, never "thr…"
    pd.set_option("display.max_columns", 50)
    pd.set_option("display.width", 250)
    keras.utils.set_random_seed(seed)
    workspace = Workspace(
        profile=profile_with_weights(profile, weights),
        root=work_dir,
        seed=seed,
        progress=progress,
        **{k: v for k, v in data_options.items() if v is not None},
    )
    versions = library_versions()
    print(
        f"mstl_lib {__version__} | TensorFlow {versions['tensorflow']} | Keras {versions['keras']} | "
        f"Python {versions['python']}"
    )
    print(f"Profile '{workspace.profile.name}': {PROFILES[workspace.profile.name].description}")
    print(f"Work folder: {_shown_path(workspace.root)}")
    return workspace


def _shown_path(path) -> str:
    """A folder as a reader should see it: relative to the book or to ``~``, never the machine's absolute path."""
    from pathlib import Path

    path = Path(path).resolve()
    for base, prefix in ((Path(__file__).resolve().parents[1], ""), (Path.home().resolve(), "~/")):
        try:
            return prefix + path.relative_to(base).as_posix()
        except ValueError:
            continue
    return f"{path.name} (set by the work_dir parameter or $MSTL_WORK_DIR)"


def profile_with_weights(profile, weights: str | None = "profile"):
    """The profile, with its initial weights replaced unless ``weights`` is ``"profile"``."""
    from dataclasses import replace

    from mstl_lib.profiles import get_profile

    profile = get_profile(profile)
    if weights == "profile":
        return profile
    return replace(profile, weights=None if weights in (None, "none", "None") else weights)


WEIGHT_NAMES = {"fractaldb": "generic fractal pretraining", "imagenet": "ImageNet"}


def profile_caption(workspace: Workspace) -> str:
    """A line to print under every result: which profile, seed and data produced it."""
    p = workspace.profile
    data = workspace.ultrasound_dir or "synthetic data"
    return (
        f"Profile '{p.name}' (epochs {p.epochs_stage1}/{p.epochs_stage2}, {p.folds} folds, "
        f"starting weights: {WEIGHT_NAMES.get(p.weights, p.weights) if p.weights else 'random'}), "
        f"seed {workspace.seed}, {data}."
    )

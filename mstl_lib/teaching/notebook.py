"""What every lesson notebook does first (quiet logs, print versions, open the workspace), and what lessons share."""

from __future__ import annotations

import inspect
import logging
import os
import re
import textwrap
import warnings
from pathlib import Path

from mstl_lib.errors import DataError
from mstl_lib.profiles import PROFILES
from mstl_lib.quiet import quiet_this_process
from mstl_lib.teaching.workspace import Workspace


def setup_notebook(
    profile: str = "smoke",
    work_dir=None,
    seed: int = 0,
    progress: bool = True,
    weights: str | None = "profile",
    ultrasound_dir=None,
    ultrasound_kind: str | None = "busi",
    cells_dir=None,
) -> Workspace:
    """Prepare a lesson: quiet TensorFlow, fix the seed, print versions and profile.

    The arguments are the lesson's parameters cell, in its order, so a lesson
    passes them positionally.

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
    ultrasound_dir, ultrasound_kind, cells_dir
        Real data (see :class:`~mstl_lib.teaching.workspace.Workspace`); None: synthetic.

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
    from mstl_lib.provenance import library_versions

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
        **_given(ultrasound_dir=ultrasound_dir, ultrasound_kind=ultrasound_kind, cells_dir=cells_dir),
    )
    versions = library_versions()
    print(
        f"mstl_lib {__version__} | TensorFlow {versions['tensorflow']} | Keras {versions['keras']} | "
        f"Python {versions['python']}"
    )
    print(f"Profile '{workspace.profile.name}': {PROFILES[workspace.profile.name].description}")
    print(f"Work folder: {shown_path(workspace.root)}")
    return workspace


def _given(**options) -> dict:
    """The options that are set (not None): the others keep the workspace's defaults."""
    return {name: value for name, value in options.items() if value is not None}


def shown_path(path) -> str:
    """A folder as a reader should see it, not the build machine's absolute path.

    Relative to the book's root (``_build/work/smoke``) when it lies in the
    book found from the current folder, else inside a book build folder given
    by ``$MSTL_BUILD_DIR`` as ``<its name>/...``, else relative to the current folder
    when it lies inside it, else under the home folder as ``~/...``, else
    the absolute path.
    """
    from mstl_lib.errors import DataError
    from mstl_lib.teaching.paths import BUILD_DIR_VARIABLE, find_book_root

    path = Path(path).expanduser().resolve()
    here = Path.cwd().resolve()
    try:
        bases = [(find_book_root(here), "")]
    except DataError:
        bases = []
    build_dir = os.environ.get(BUILD_DIR_VARIABLE)
    if build_dir:  # a book built into a folder outside the repository: shown by that folder's name
        bases.append((Path(build_dir).resolve(), f"{Path(build_dir).resolve().name}/"))
    if here != Path(here.anchor):  # every path lies in the file system's root: not a useful base
        bases.append((here, ""))
    bases.append((Path.home().resolve(), "~/"))
    for base, prefix in bases:
        if path == base:
            return prefix.rstrip("/") or "."
        if path.is_relative_to(base):
            return prefix + path.relative_to(base).as_posix()
    return str(path)


def profile_with_weights(profile, weights: str | None = "profile"):
    """The profile, with its initial weights set to ``weights`` (``"profile"`` keeps them, ``"none"`` or None
    is random initialisation, :meth:`mstl_lib.profiles.Profile.with_overrides`): the lesson's profile, resolved
    once and passed on."""
    from mstl_lib.profiles import get_profile

    return get_profile(profile, weights=weights)


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


GLUED: dict[str, str] = {}
"""Every value this kernel handed to :func:`glue_text`, by name, as text (read by :func:`show_glued`)."""


def glue_text(**values) -> None:
    """Hand each value to the prose of the page (``{glue:text}`name```), as text.

    The book's build reads them with MyST-NB; the student edition's
    :func:`show_glued` cells read them from :data:`GLUED`, so they work in a
    kernel without MyST-NB, such as Colab's.
    """
    texts = {name: value if isinstance(value, str) else str(value) for name, value in values.items()}
    GLUED.update(texts)
    try:
        from myst_nb import glue
    except ImportError:
        return
    for name, text in texts.items():
        glue(name, text, display=False)


def show_glued(template: str) -> None:
    """Show a paragraph of the lesson with the glued values in place (``{name}`` fields, ``str.format``).

    The student edition's stand-in for the book's ``{glue:text}`` placeholders:
    Markdown where the front end renders it, the plain text otherwise.
    """
    from IPython.display import display

    missing = sorted(set(re.findall(r"(?<!\{)\{([A-Za-z_]\w*)\}", template)) - set(GLUED))
    if missing:
        raise DataError(
            f"No value glued yet for {missing}. Fix: run the cells above this one first (they compute them)."
        )
    text = template.format(**GLUED)
    display({"text/markdown": text, "text/plain": text}, raw=True)


def print_source(function, *, start_at: str | None = None, end_at: str | None = None) -> None:
    """Print a library function's source as it runs, like the book's ``literalinclude`` with ``:pyobject:``.

    ``start_at`` and ``end_at`` keep the lines from the first one that holds
    the first string to the first one (after it) that holds the second.
    """
    lines = inspect.getsource(function).splitlines()
    if start_at is not None:
        lines = lines[next(i for i, line in enumerate(lines) if start_at in line) :]
    if end_at is not None:
        lines = lines[: next(i for i, line in enumerate(lines) if end_at in line) + 1]
    print(textwrap.dedent("\n".join(lines)))


PROFILE_FIELDS = {
    "description": "what it is for",
    "cell_frames_per_class": "cell frames per line",
    "patches_per_class": "patches per line",
    "ultrasound_per_class": "ultrasound images per class",
    "epochs_stage1": "epochs, stage 1",
    "epochs_stage2": "epochs, stage 2",
    "folds": "folds",
    "weights": "initial weights",
    "backbones": "backbones",
    "optimizers": "optimizers",
}
"""The settings :func:`profiles_table` shows, with their labels."""


def profiles_table():
    """The profiles side by side (a pandas DataFrame): one column per profile, one row per setting."""
    import pandas as pd

    table = pd.DataFrame(
        {name: {label: getattr(p, field) for field, label in PROFILE_FIELDS.items()} for name, p in PROFILES.items()}
    )
    table.loc["initial weights"] = table.loc["initial weights"].fillna("random (no download needed)")
    for row in ("backbones", "optimizers"):
        table.loc[row] = table.loc[row].map(", ".join)
    return table

"""Writing the synthetic data to disk in the real datasets' layouts."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

from mstl_lib.data.synthetic._common import (
    CELL_FRAME_SIZE,
    CELL_LINES,
    KIND_CELLS,
    KIND_ULTRASOUND,
    MIN_ULTRASOUND_SIZE,
    ULTRASOUND_CLASSES,
    check_cell_line,
    check_difficulty,
    check_frame_size,
    check_label,
    image_rng,
)
from mstl_lib.data.synthetic.cells import make_cell_frame
from mstl_lib.data.synthetic.ultrasound import make_ultrasound_image
from mstl_lib.outputs import prepare_output_dir, write_image, write_json
from mstl_lib.validation import check_integer, check_seed

# ---------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------

RECORD_NAME = "synthetic.json"
"""Name of the JSON record written next to the synthetic data."""

GROUND_TRUTH_NAME = "ground_truth.json"
"""Name of the JSON file holding the cell frames' ground-truth boxes."""


def _record(generator: str, seed: int, parameters: dict, classes, counts: dict, layout: str) -> dict:
    from mstl_lib import __version__

    return {
        "generator": f"mstl_lib.data.synthetic.{generator}",
        "synthetic": True,
        "seed": seed,
        "parameters": parameters,
        "classes": list(classes),
        "counts": counts,
        "layout": layout,
        "mstl_lib_version": __version__,
        "imitates": (
            "Ayana et al., Diagnostics 2022, 12, 135: "
            + (
                "section 2.1, bright-field frames of HeLa, MCF-7 and NCI-H1299 cells"
                if generator == "write_cell_frames"
                else "section 2.1, breast ultrasound (Mendeley, MT-Small), BI-RADS descriptors"
            )
        ),
    }


def _progress(total: int, progress: bool, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not progress, desc=desc, unit="img")


def _write_classes(out: Path, classes, stream: tuple[int, int], count: int, bar: tuple[bool, str], draw) -> dict:
    """Write images ``1..count`` of every class as ``out/<class>/<name>``.

    Image ``k`` of class ``c`` is drawn by ``draw(c, rng, k)`` from its own
    random stream (``stream`` = (seed, kind)) and returns ``(name, image,
    extra)``; the result maps ``"<class>/<name>"`` to each ``extra``.
    """
    extras = {}
    with _progress(count * len(classes), *bar) as shown:
        for class_index, label in enumerate(classes):
            for index in range(count):
                name, image, extra = draw(label, image_rng(*stream, class_index, index), index + 1)
                write_image(out / label / name, image)
                extras[f"{label}/{name}"] = extra
                shown.update(1)
    return extras


def cell_frame_name(cell_line: str, number: int) -> str:
    """File name of frame ``number`` (from 1) of a cell line, e.g. ``hela_0001.png``."""
    return f"{check_cell_line(cell_line)}_{int(number):04d}.png"


def ultrasound_name(label: str, number: int) -> str:
    """BUSI-style file name of image ``number`` (from 1), e.g. ``benign (1).png``."""
    return f"{check_label(label)} ({int(number)}).png"


def write_cell_frames(
    out_dir,
    frames_per_class: int,
    *,
    seed: int = 0,
    size: tuple[int, int] = CELL_FRAME_SIZE,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Write synthetic microscopy frames of the three cell lines to disk.

    Layout: ``out_dir/<cell_line>/<cell_line>_<NNNN>.png`` (numbered from
    0001), plus ``synthetic.json`` (the record of how the data were made) and
    ``ground_truth.json`` (``{"hela/hela_0001.png": [[x, y, w, h], ...], ...}``).
    Frame ``k`` of a line depends only on ``(seed, line, k)``.

    Parameters
    ----------
    out_dir : path-like
        Folder to create; it must not hold files unless ``overwrite``.
    frames_per_class : int
        Frames per cell line (positive).
    seed : int, optional
        Non-negative seed; default 0.
    size : tuple of int, optional
        ``(height, width)`` of each frame; default 904 x 1224.
    overwrite : bool, optional
        Replace the contents of a non-empty ``out_dir`` (default False: refuse).
    progress : bool, optional
        Show a progress bar over images (default True).

    Returns
    -------
    pathlib.Path
        ``out_dir``.

    Raises
    ------
    DataError
        For a non-positive count, a bad seed or size.
    OutputExistsError
        If ``out_dir`` holds files and ``overwrite`` is False.
    """
    count = check_integer(frames_per_class, "frames_per_class", minimum=1)
    seed = check_seed(seed)
    size = check_frame_size(size)
    out = prepare_output_dir(out_dir, overwrite=overwrite)

    def draw(line, rng, number):
        frame, boxes = make_cell_frame(line, rng, size=size)
        return cell_frame_name(line, number), frame, [list(b) for b in boxes]

    truth = _write_classes(out, CELL_LINES, (seed, KIND_CELLS), count, (progress, "cell frames"), draw)
    record = _record(
        "write_cell_frames",
        seed,
        {"frames_per_class": count, "size": list(size)},
        CELL_LINES,
        {line: count for line in CELL_LINES},
        "<cell_line>/<cell_line>_<NNNN>.png",
    )
    write_json(out / RECORD_NAME, record, sort_keys=True)
    write_json(out / GROUND_TRUTH_NAME, truth, one_entry_per_line=True)
    return out


def write_ultrasound_set(
    out_dir,
    per_class: int,
    *,
    seed: int = 0,
    size: int = 128,
    difficulty: float = 0.5,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Write a synthetic benign/malignant ultrasound set in the BUSI layout.

    Layout: ``out_dir/benign/benign (1).png``, ...,
    ``out_dir/malignant/malignant (1).png``, ... (numbered from 1), plus
    ``synthetic.json``. Image ``k`` of a class depends only on
    ``(seed, class, k)`` (and ``size``, ``difficulty``).

    Parameters
    ----------
    per_class : int
        Images per class (positive).
    size : int, optional
        Side of the square images (default 128).
    difficulty : float, optional
        In [0, 1]; see :func:`make_ultrasound_image` (default 0.5).
    out_dir, seed, overwrite, progress
        As in :func:`write_cell_frames`.

    Returns
    -------
    pathlib.Path
        ``out_dir``, holding ``benign/``, ``malignant/`` and ``synthetic.json``.

    Raises
    ------
    DataError
        For a non-positive count, a bad seed, size or difficulty.
    OutputExistsError
        If ``out_dir`` holds files and ``overwrite`` is False.
    """
    count = check_integer(per_class, "per_class", minimum=1)
    seed = check_seed(seed)
    size = check_integer(size, "size", minimum=MIN_ULTRASOUND_SIZE)
    difficulty = check_difficulty(difficulty)
    out = prepare_output_dir(out_dir, overwrite=overwrite)

    def draw(label, rng, number):
        image = make_ultrasound_image(label, rng, size=size, difficulty=difficulty)
        return ultrasound_name(label, number), image, None

    _write_classes(out, ULTRASOUND_CLASSES, (seed, KIND_ULTRASOUND), count, (progress, "ultrasound"), draw)
    record = _record(
        "write_ultrasound_set",
        seed,
        {"per_class": count, "size": size, "difficulty": difficulty},
        ULTRASOUND_CLASSES,
        {label: count for label in ULTRASOUND_CLASSES},
        "<class>/<class> (<N>).png",
    )
    write_json(out / RECORD_NAME, record, sort_keys=True)
    return out


def write_synthetic(
    out_dir,
    profile,
    *,
    seed: int = 0,
    overwrite: bool = False,
    progress: bool = True,
    difficulty: float = 0.5,
) -> dict:
    """Write both synthetic datasets with the sizes of a run profile.

    Writes ``out_dir/cells/`` (:func:`write_cell_frames`, the profile's
    ``cell_frames_per_class``) and ``out_dir/ultrasound/``
    (:func:`write_ultrasound_set`, the profile's ``ultrasound_per_class``).
    Both sub-folders are checked before anything is written, so a refusal
    leaves the disk unchanged. Each is written as ``<name>.partial`` and
    renamed into place when whole, so an interrupted run leaves no half
    folder for the rerun to refuse (it starts that part afresh).

    Parameters
    ----------
    out_dir : path-like
        Parent folder; created if needed.
    profile : Profile
        Its ``cell_frames_per_class`` and ``ultrasound_per_class``
        (``get_profile("smoke")``, ``"lab"`` or ``"paper"``).
    seed : int, optional
        Non-negative seed for both sets; default 0.
    overwrite : bool, optional
        Replace existing ``cells/`` and ``ultrasound/`` folders (default
        False: refuse if either holds files).
    progress : bool, optional
        Show progress bars (default True).
    difficulty : float, optional
        Ultrasound difficulty in [0, 1] (default 0.5).

    Returns
    -------
    dict
        ``{"cells": Path, "ultrasound": Path}``.

    Raises
    ------
    DataError
        For a profile that is not a Profile, a bad seed or difficulty.
    OutputExistsError
        If ``cells/`` or ``ultrasound/`` holds files and ``overwrite`` is False.
    """
    from mstl_lib.errors import OutputExistsError
    from mstl_lib.profiles import check_profile

    prof = check_profile(profile)
    seed = check_seed(seed)
    difficulty = check_difficulty(difficulty)
    root = Path(out_dir)
    paths = {"cells": root / "cells", "ultrasound": root / "ultrasound"}
    for path in paths.values():
        if path.exists() and not path.is_dir() or (not overwrite and path.is_dir() and any(path.iterdir())):
            raise OutputExistsError(path)
    with _written_whole(paths["cells"]) as partial:
        write_cell_frames(partial, prof.cell_frames_per_class, seed=seed, overwrite=True, progress=progress)
    with _written_whole(paths["ultrasound"]) as partial:
        write_ultrasound_set(
            partial, prof.ultrasound_per_class, seed=seed, difficulty=difficulty, overwrite=True, progress=progress
        )
    return paths


@contextmanager
def _written_whole(path: Path):
    """Yield ``<path>.partial`` to write into, then put it in ``path``'s place (replacing what was there)."""
    partial = path.with_name(path.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)  # left by an interrupted run
    yield partial
    if path.is_dir():
        shutil.rmtree(path)
    os.replace(partial, path)

"""Where the book lives: its root, its lessons, and the build folder the lessons' kernels are told about.

A small module of its own so that the lessons' set-up
(:mod:`mstl_lib.teaching.notebook`), the book's build
(:mod:`mstl_lib.teaching.book`) and the student edition find the same folders
without importing one another.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from mstl_lib.errors import DataError

BUILD_DIR_VARIABLE = "MSTL_BUILD_DIR"
"""Set for the lessons' kernels by :func:`mstl_lib.teaching.book.build_book`: the build folder, so pages show
paths inside it by its name (:func:`mstl_lib.teaching.notebook.shown_path`)."""

__all__ = ["BUILD_DIR_VARIABLE", "build_dir_for_kernels", "find_book_root", "list_notebooks"]


@contextlib.contextmanager
def build_dir_for_kernels(build_dir: Path):
    """Within the block, :data:`BUILD_DIR_VARIABLE` names ``build_dir`` (kernels started there inherit it)."""
    previous = os.environ.get(BUILD_DIR_VARIABLE)
    os.environ[BUILD_DIR_VARIABLE] = str(build_dir)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(BUILD_DIR_VARIABLE, None)
        else:
            os.environ[BUILD_DIR_VARIABLE] = previous


def find_book_root(start=None) -> Path:
    """The repository root: the nearest folder up from ``start`` holding ``_toc.yml`` and ``notebooks/``."""
    candidates = [Path(start).resolve()] if start else [Path.cwd().resolve(), Path(__file__).resolve().parents[2]]
    for candidate in candidates:
        for folder in (candidate, *candidate.parents):
            if (folder / "_toc.yml").is_file() and (folder / "notebooks").is_dir():
                return folder
    raise DataError(
        "no book found: run this inside the repository (the folder with _toc.yml and notebooks/), or pass --root."
    )


def list_notebooks(root: Path) -> list[Path]:
    """The lesson notebooks, in order (by file name)."""
    notebooks = sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise DataError(f"{root / 'notebooks'}: no lesson notebooks (named like 01_overview.ipynb).")
    return notebooks

"""The lesson notebooks' shape: a parameters cell, objectives, exercises with hidden solutions, logic in the library."""

from __future__ import annotations

import ast

import nbformat
import pytest

from mstl_lib.teaching.book import find_book_root, list_notebooks

NOTEBOOKS = list_notebooks(find_book_root())
PARAMETERS = {"profile", "work_dir", "seed", "weights", "progress", "ultrasound_dir", "ultrasound_kind", "cells_dir"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_skeleton(path):
    notebook = nbformat.read(path, as_version=4)
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    names = {t.id for node in ast.parse(tagged[0].source).body for t in getattr(node, "targets", [])}
    assert names == PARAMETERS
    text = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    for heading in ("## Overview", "**You will learn to**", "**Time**", "## Summary", "## Exercises"):
        assert heading in text, f"{path.name} lacks {heading!r}"
    exercises = text.count(":::{admonition} Exercise")
    solutions = [c for c in notebook.cells if "solution" in c.metadata.get("tags", [])]
    assert exercises >= 2 and len(solutions) == exercises
    assert all("hide-cell" in c.metadata["tags"] for c in solutions)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_are_committed_clean_and_short(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        assert not cell.outputs and cell.execution_count is None, "commit notebooks without outputs"
        tree = ast.parse(cell.source)
        defined = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        assert not defined, f"{path.name}: functions belong in mstl_lib, not in a notebook cell"
        assert len(cell.source.splitlines()) <= 15, f"{path.name}: a cell of {len(cell.source.splitlines())} lines"


def test_toc_lists_every_notebook():
    root = find_book_root()
    toc = (root / "_toc.yml").read_text()
    for path in NOTEBOOKS:
        assert f"notebooks/{path.stem}" in toc


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_imports_are_in_the_setup_cell(path):
    """A lesson imports everything in one place: the cell that calls setup_notebook (the install cell aside)."""
    notebook = nbformat.read(path, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code" and "find_spec" not in c.source]
    setup = [c for c in code if "setup_notebook(" in c.source]
    assert len(setup) == 1, f"{path.name}: one Setup cell calls setup_notebook"
    for cell in code:
        if cell is setup[0]:
            continue
        imports = [n for n in ast.walk(ast.parse(cell.source)) if isinstance(n, (ast.Import, ast.ImportFrom))]
        assert not imports, f"{path.name}: an import outside the Setup cell: {cell.source.splitlines()[0]!r}"

"""The lesson notebooks' shape: a parameters cell, objectives, exercises with hidden solutions, logic in the library.

Functions are defined in notebook cells only where an exercise asks the student to write one (its answer
cell, tagged ``answer``, and its folded solution, tagged ``solution``).
"""

from __future__ import annotations

import ast

import nbformat
import pytest

from mstl_lib.teaching.paths import find_book_root, list_notebooks

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
        exercise = {"answer", "solution"} & set(cell.metadata.get("tags", []))
        assert exercise or not defined, f"{path.name}: functions belong in mstl_lib, not in a notebook cell"
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


PARTS = {"checked": ["prompt", "answer", "solution", "check"], "open": ["prompt", "answer", "solution"]}
PARTS["discussion"] = ["prompt", "solution"]
TAGS = {"answer": ["answer"], "solution": ["solution", "hide-cell"], "check": ["check", "remove-output"]}


def _exercises(notebook) -> dict[str, list]:
    """Cells of each exercise, by the id in their ``exercise`` metadata, in notebook order."""
    found: dict[str, list] = {}
    for cell in notebook.cells:
        if "exercise" in cell.metadata:
            found.setdefault(cell.metadata["exercise"]["id"], []).append(cell)
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercises_have_answer_solution_and_check_cells_apart(path):
    """Answer, folded solution and check are separate cells with stable tags, so a student edition can use them.

    Every exercise has an answer cell with a ``...`` to replace, or is a discussion question with a
    model answer; a check cell holds only the check call, and its output is removed from the site.
    """
    from mstl_lib.teaching.exercises import CHECKS

    notebook = nbformat.read(path, as_version=4)
    prompts = [c for c in notebook.cells if c.source.startswith(":::{admonition} Exercise")]
    exercises = _exercises(notebook)
    assert len(exercises) == len(prompts) and prompts
    for exercise_id, cells in exercises.items():
        prompt = cells[0]
        kind = prompt.metadata["exercise"]["kind"]
        assert prompt in prompts and [c.metadata["exercise"]["part"] for c in cells] == PARTS[kind], exercise_id
        for cell in cells[1:]:
            part = cell.metadata["exercise"]["part"]
            assert cell.cell_type == "code" and cell.metadata["tags"] == TAGS[part], (exercise_id, part)
            assert ("check(" in cell.source) == (part == "check"), (exercise_id, part)
        answer = [c for c in cells if c.metadata["exercise"]["part"] == "answer"]
        assert kind == "discussion" or "..." in answer[0].source or "# your code here" in answer[0].source
        if kind == "discussion":
            assert "Discussion question" in prompt.source
        if kind == "checked":
            name = prompt.metadata["exercise"]["check"]
            call = ast.parse(cells[-1].source).body
            assert len(call) == 1 and name in CHECKS and cells[-1].source.startswith(f'check("{name}", ')


def test_every_check_is_used_by_a_lesson():
    from mstl_lib.teaching.exercises import CHECKS

    used = {
        c.metadata["exercise"].get("check")
        for path in NOTEBOOKS
        for c in nbformat.read(path, as_version=4).cells
        if "exercise" in c.metadata
    }
    assert set(CHECKS) <= used

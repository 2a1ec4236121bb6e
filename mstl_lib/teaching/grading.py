"""The nbgrader edition of the lessons: ``mstl student-edition OUT --format nbgrader``.

Courses that collect and grade notebooks use nbgrader. This edition is the
student edition (:mod:`mstl_lib.teaching.student_edition`) written as an
nbgrader course folder, ``OUT/source/<lesson>/<lesson>.ipynb``, one assignment
per lesson (a course hands out and grades lessons one at a time), with
``OUT/nbgrader_config.py``. ``nbgrader generate_assignment <lesson>`` makes the
hand-out from it and ``nbgrader autograde <lesson>`` scores the submissions.
The cells carry nbgrader's cell metadata (schema version 3):

- each exercise's answer cell becomes an *autograded answer* cell: the
  lesson's starting code (with its ``...``) followed by a solution region,
  ``### BEGIN SOLUTION`` ... ``### END SOLUTION``, that holds the lesson's
  worked solution, so ``generate_assignment`` removes the solution itself;
- each check cell becomes a read-only *autograded tests* cell worth
  :data:`CHECK_POINTS`, which calls
  :func:`~mstl_lib.teaching.exercises.assert_correct`: it raises for a wrong
  or missing answer, so the cell scores zero, where the plain ``check`` prints;
- each discussion question (``kind: discussion`` in the exercise metadata,
  answered in words) gets a *manually graded answer* Markdown cell worth
  :data:`DISCUSSION_POINTS`, whose solution region holds the model answer;
- the open exercises (``kind: open``, a small experiment without a check)
  keep an answer cell with the worked solution in its region and no points;
- the parameters cell is read-only, so that the autograder runs every
  submission with the profile and work folder the teacher chose.

``OUT/nbgrader_config.py`` replaces a solution region by an empty line
(nbgrader's default stub, ``raise NotImplementedError()``, would stop a
student's Run All at the first answer cell) and allows long cells (the lessons
train networks).
"""

from __future__ import annotations

import copy
import re

from mstl_lib.errors import DataError

__all__ = [
    "BEGIN_SOLUTION",
    "CHECK_POINTS",
    "DISCUSSION_POINTS",
    "END_SOLUTION",
    "NBGRADER_CONFIG",
    "grading_document",
]

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
CHECK_POINTS = 1
"""Points of one check cell: a check passes or fails, so one point per checked exercise."""
DISCUSSION_POINTS = 1
"""Points of one discussion answer, graded by hand."""
SCHEMA_VERSION = 3
CHECK_CALL = re.compile(r"^check\(", re.MULTILINE)
GRADED_CHECK_IMPORT = "from mstl_lib.teaching.exercises import assert_correct\n\n"

NBGRADER_CONFIG = '''\
"""nbgrader settings of this course folder (written by `mstl student-edition OUT --format nbgrader`).

    nbgrader generate_assignment 01_overview      # source/ -> release/ (solutions removed)
    nbgrader autograde 01_overview                # submitted/<student>/01_overview -> autograded/
    nbgrader export                               # grades.csv
"""

c = get_config()  # noqa: F821 - nbgrader defines get_config when it reads this file

# A solution region becomes an empty line: the answer cell keeps the lesson's own starting code,
# in which the student replaces the `...` (nbgrader's default stub raises NotImplementedError).
c.ClearSolutions.code_stub = {"python": ""}
# The lessons train networks: with the lab profile a cell may run for minutes.
c.Execute.timeout = 3600
'''


def nbgrader_metadata(role: str, grade_id: str, points: float | None = None) -> dict:
    """nbgrader's cell metadata (schema 3) for a cell ``role``.

    ``answer``: autograded answer; ``tests``: autograded tests (read-only, with
    points); ``manual``: manually graded answer (with points); ``readonly``.
    """
    grade, solution, locked = {
        "answer": (False, True, False),
        "tests": (True, False, True),
        "manual": (True, True, False),
        "readonly": (False, False, True),
    }[role]
    meta = {"grade": grade, "solution": solution, "locked": locked, "grade_id": grade_id}
    meta["schema_version"] = SCHEMA_VERSION
    if grade:
        meta["points"] = points
    return meta


def grade_id(exercise_id: str, part: str) -> str:
    """An nbgrader grade id (letters, digits, ``_``, ``-``): ``ex01_2_check`` for exercise 01.2's check."""
    return "ex" + re.sub(r"[^A-Za-z0-9]+", "_", exercise_id) + "_" + part


def solution_region(code: str) -> str:
    """``code`` between nbgrader's solution delimiters."""
    return f"{BEGIN_SOLUTION}\n{code.strip()}\n{END_SOLUTION}"


def graded_check_source(source: str, where: str) -> str:
    """A check cell's code with ``check(...)`` replaced by the raising ``assert_correct(...)``."""
    if not CHECK_CALL.search(source):
        raise DataError(
            f"The check cell of exercise {where} does not call check(...) at the start of a line: "
            f'{source!r}. Fix: write the check cell as `check("name", answer)`.'
        )
    return GRADED_CHECK_IMPORT + CHECK_CALL.sub("assert_correct(", source)


def model_answer_markdown(code: str) -> str:
    """A discussion's model answer (a code cell of comments) as Markdown text."""
    lines = code.strip().splitlines()
    if all(line.startswith("#") or not line.strip() for line in lines):
        return "\n".join(re.sub(r"^# ?", "", line) for line in lines)
    return f"```python\n{code.strip()}\n```"


def _exercise(cell) -> dict:
    return cell.metadata.get("exercise", {})


def _exercises(document, path: str) -> tuple[dict, dict]:
    """Each exercise's kind (from its prompt) and worked solution (its ``solution`` cell), by id."""
    kinds, solutions = {}, {}
    for cell in document.cells:
        exercise = _exercise(cell)
        if exercise.get("part") == "prompt":
            kinds[exercise["id"]] = exercise.get("kind", "open")
        if "solution" in cell.metadata.get("tags", []):
            if "id" not in exercise:
                raise DataError(
                    f"{path}: a cell tagged solution has no exercise id in its metadata. "
                    "Fix: give it `exercise: {id: ..., part: solution}` like the other exercise cells."
                )
            solutions[exercise["id"]] = cell.source
    return kinds, solutions


def grading_document(document, *, path: str = "lesson"):
    """The lesson with nbgrader's cells in place of its exercise cells (``document`` is left unchanged).

    Solution cells are folded into their answer cells' solution regions (a
    discussion's becomes a manually graded Markdown answer), check cells call
    :func:`~mstl_lib.teaching.exercises.assert_correct`, and the parameters
    cell is read-only. The result has no cell tagged ``solution``; the student
    edition (:func:`~mstl_lib.teaching.student_edition.student_notebook`)
    turns it into plain notebook cells, keeping each exercise cell's metadata.
    """
    import nbformat

    kinds, solutions = _exercises(document, path)
    cells = []
    for original in document.cells:
        cell, exercise = copy.deepcopy(original), _exercise(original)
        tags, ex_id = cell.metadata.get("tags", []), exercise.get("id", "")
        if "solution" in tags:
            if kinds.get(ex_id) == "discussion":
                text = solution_region(model_answer_markdown(cell.source))
                meta = {"exercise": {"id": ex_id, "part": "answer"}}
                meta["nbgrader"] = nbgrader_metadata("manual", grade_id(ex_id, "answer"), DISCUSSION_POINTS)
                cells.append(nbformat.v4.new_markdown_cell(text, metadata=meta))
            continue
        if "answer" in tags:
            if ex_id not in solutions:
                raise DataError(f"{path}: exercise {ex_id} has an answer cell but no solution cell. Fix: add one.")
            cell.source = cell.source.rstrip() + "\n" + solution_region(solutions[ex_id])
            cell.metadata["nbgrader"] = nbgrader_metadata("answer", grade_id(ex_id, "answer"))
        elif "check" in tags:
            cell.source = graded_check_source(cell.source, f"{ex_id} in {path}")
            cell.metadata["nbgrader"] = nbgrader_metadata("tests", grade_id(ex_id, "check"), CHECK_POINTS)
        elif "parameters" in tags:
            cell.metadata["nbgrader"] = nbgrader_metadata("readonly", "parameters")
        cells.append(cell)
    graded = copy.deepcopy(document)
    graded.cells = cells
    return graded

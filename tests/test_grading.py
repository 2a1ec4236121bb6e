"""The nbgrader edition (``mstl student-edition OUT --format nbgrader``).

The conversion tests read every lesson; the slow test runs nbgrader's own
commands on lesson 1 (the fastest in the smoke profile, with three checked
exercises) in a course folder of its own: ``generate_assignment``, then
``autograde`` of a blank submission (the hand-out as it is) and of a solved one
(the worked solutions pasted into the answer cells), and reads the scores with
``nbgrader export``.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mstl_lib.errors import DataError
from mstl_lib.teaching.book import find_book_root, list_notebooks
from mstl_lib.teaching.grading import (
    BEGIN_SOLUTION,
    CHECK_POINTS,
    END_SOLUTION,
    graded_check_source,
    grading_document,
)
from mstl_lib.teaching.student_edition import student_notebook, write_student_edition

ROOT = find_book_root()
LESSONS = list_notebooks(ROOT)
REGION = re.compile(rf"^{re.escape(BEGIN_SOLUTION)}\n(.*?)\n{re.escape(END_SOLUTION)}$", re.MULTILINE | re.DOTALL)
LESSON = "01_overview"


def _tags(cell) -> list[str]:
    return cell.metadata.get("tags", [])


def _exercise(cell) -> dict:
    return cell.metadata.get("exercise", {})


def _grading(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _edition(path, format):
    return student_notebook(nbformat.read(path, as_version=4), profile="smoke", format=format, name=path.name)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_answer_cells_hold_the_worked_solution_in_one_region(path):
    document = nbformat.read(path, as_version=4)
    solutions = {_exercise(c)["id"]: c.source.strip() for c in document.cells if "solution" in _tags(c)}
    edition = _edition(path, "nbgrader")
    assert not [c for c in edition.cells if "solution" in _tags(c)]
    answers = [c for c in edition.cells if "answer" in _tags(c)]
    assert len(answers) == len([c for c in document.cells if "answer" in _tags(c)]) > 0
    for cell in answers:
        ex_id = _exercise(cell)["id"]
        assert _grading(cell) == {
            "grade": False,
            "solution": True,
            "locked": False,
            "grade_id": f"ex{ex_id.replace('.', '_')}_answer",
            "schema_version": 3,
        }
        assert REGION.findall(cell.source) == [solutions[ex_id]]
        assert cell.source.count("BEGIN SOLUTION") == cell.source.count("END SOLUTION") == 1


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_check_cells_are_locked_tests_with_points_that_raise(path):
    document = nbformat.read(path, as_version=4)
    edition = _edition(path, "nbgrader")
    checks = [c for c in edition.cells if "check" in _tags(c)]
    assert len(checks) == len([c for c in document.cells if "check" in _tags(c)])
    for cell in checks:
        meta = _grading(cell)
        assert (meta["grade"], meta["solution"], meta["locked"], meta["points"]) == (True, False, True, CHECK_POINTS)
        assert meta["grade_id"].endswith("_check") and meta["schema_version"] == 3
        assert "assert_correct(" in cell.source and not re.search(r"^check\(", cell.source, re.MULTILINE)
    (parameters,) = [c for c in edition.cells if "parameters" in _tags(c)]
    assert _grading(parameters)["locked"] and not _grading(parameters)["grade"]
    ids = [_grading(c)["grade_id"] for c in edition.cells if _grading(c)]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[A-Za-z0-9_\-]+", i) for i in ids)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_without_its_solution_regions_the_edition_is_the_plain_one(path):
    """No solution text outside the markers: cut the regions and the plain edition's cells are left."""
    graded = _edition(path, "nbgrader")
    plain = _edition(path, "plain")

    def cells(edition):
        kept = [c for c in edition.cells if "check" not in _tags(c) and not _grading(c).get("grade")]
        return [(c.cell_type, REGION.sub("", c.source).rstrip()) for c in kept]

    assert cells(graded) == cells(plain)
    manual = [c for c in graded.cells if _grading(c).get("grade") and _grading(c).get("solution")]
    for cell in manual:  # a discussion question's answer: Markdown, graded by hand, model answer in the region
        assert cell.cell_type == "markdown" and _grading(cell)["points"] > 0
        (answer,) = REGION.fullmatch(cell.source).groups()
        assert not [line for line in answer.splitlines() if line.startswith("#")]  # comment marks dropped


def test_discussion_questions_get_a_manually_graded_answer():
    path = ROOT / "notebooks" / "04_ultrasound_data.ipynb"
    (cell,) = [c for c in _edition(path, "nbgrader").cells if _grading(c).get("grade_id") == "ex04_4_answer"]
    assert cell.cell_type == "markdown" and (_grading(cell)["grade"], _grading(cell)["solution"]) == (True, True)
    assert "Choosing the epoch by test accuracy" in REGION.findall(cell.source)[0]


def test_metadata_passes_nbgraders_validator():
    pytest.importorskip("nbgrader")
    from nbgrader.nbgraderformat import MetadataValidator

    for path in LESSONS:
        MetadataValidator().validate_nb(_edition(path, "nbgrader"))


def test_a_check_cell_without_a_check_call_is_named():
    with pytest.raises(DataError, match="01.9 in lesson.ipynb"):
        graded_check_source("print(1)", "01.9 in lesson.ipynb")
    assert graded_check_source('check("holm", holm)', "x").endswith('assert_correct("holm", holm)')


def test_the_plain_edition_is_unchanged():
    """The plain edition (the default) has no nbgrader metadata and keeps the printing check."""
    plain = student_notebook(nbformat.read(ROOT / "notebooks" / f"{LESSON}.ipynb", as_version=4))
    assert not [c for c in plain.cells if _grading(c)]
    assert [c.source for c in plain.cells if "check" in _tags(c)][0].startswith("check(")


def test_write_lays_out_an_nbgrader_course_folder(tmp_path):
    written = write_student_edition(tmp_path / "course", root=ROOT, profile="smoke", format="nbgrader")
    expected = [tmp_path / "course" / "source" / p.stem / p.name for p in LESSONS]
    assert written == [*expected, tmp_path / "course" / "nbgrader_config.py"]
    assert all(p.is_file() for p in written)
    config = (tmp_path / "course" / "nbgrader_config.py").read_text()
    assert 'c.ClearSolutions.code_stub = {"python": ""}' in config
    with pytest.raises(DataError, match="Unknown format"):
        write_student_edition(tmp_path / "other", root=ROOT, format="pdf")


def test_cli_writes_the_nbgrader_format(tmp_path, capsys):
    from mstl_lib.cli import main

    assert main(["student-edition", str(tmp_path / "course"), "--profile", "smoke", "--format", "nbgrader"]) == 0
    assert (tmp_path / "course" / "source" / LESSON / f"{LESSON}.ipynb").is_file()
    assert str(tmp_path / "course" / "nbgrader_config.py") in capsys.readouterr().out
    assert main(["student-edition", str(tmp_path / "plain"), "--profile", "smoke"]) == 0
    assert (tmp_path / "plain" / f"{LESSON}.ipynb").is_file()  # the default format is the plain one
    with pytest.raises(SystemExit):
        main(["student-edition", str(tmp_path / "other"), "--format", "pdf"])


def test_source_document_is_left_unchanged():
    document = nbformat.read(ROOT / "notebooks" / f"{LESSON}.ipynb", as_version=4)
    before = nbformat.writes(document)
    grading_document(document)
    assert nbformat.writes(document) == before


# --- nbgrader's own commands on one lesson ----------------------------------------------------


def _nbgrader(course: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


def _submit(course: Path, student: str, notebook) -> None:
    folder = course / "submitted" / student / LESSON
    folder.mkdir(parents=True)
    nbformat.write(notebook, folder / f"{LESSON}.ipynb")


def _solved(release, source):
    """The hand-out with each checked exercise's worked solution pasted under its answer cell's code."""
    solutions = {_grading(c)["grade_id"]: REGION.findall(c.source)[0] for c in source.cells if "answer" in _tags(c)}
    checked = {_exercise(c)["id"] for c in source.cells if "check" in _tags(c)}
    for cell in release.cells:
        if "answer" in _tags(cell) and _exercise(cell)["id"] in checked:
            cell.source = cell.source + "\n" + solutions[_grading(cell)["grade_id"]]
    return release


@pytest.mark.slow
def test_nbgrader_generates_and_autogrades_a_lesson(tmp_path):
    """generate_assignment removes the solutions; autograde gives 0 to the blank and full marks to the solved."""
    pytest.importorskip("nbgrader")
    course = tmp_path / "course"
    write_student_edition(course, root=ROOT, profile="smoke", work_dir=tmp_path / "work", format="nbgrader")
    (course / "nbgrader_config.py").write_text(
        (course / "nbgrader_config.py").read_text()
        + f"\nc.CourseDirectory.db_url = 'sqlite:///{course}/gradebook.db'\n"
    )
    _nbgrader(course, "generate_assignment", LESSON)
    source = nbformat.read(course / "source" / LESSON / f"{LESSON}.ipynb", as_version=4)
    release = nbformat.read(course / "release" / LESSON / f"{LESSON}.ipynb", as_version=4)
    assert not [c for c in release.cells if "SOLUTION" in c.source]
    handed_out = {_grading(c)["grade_id"]: c.source.rstrip() for c in release.cells if "answer" in _tags(c)}
    assert handed_out == {  # each answer cell is the lesson's starting code: the region became nothing
        _grading(c)["grade_id"]: REGION.sub("", c.source).rstrip() for c in source.cells if "answer" in _tags(c)
    }
    _submit(course, "blank", release)
    _submit(course, "solved", _solved(nbformat.read(course / "release" / LESSON / f"{LESSON}.ipynb", 4), source))
    _nbgrader(course, "autograde", LESSON)
    _nbgrader(course, "export", "--to", str(course / "grades.csv"))
    with open(course / "grades.csv", newline="") as handle:
        scores = {row["student_id"]: (float(row["score"]), float(row["max_score"])) for row in csv.DictReader(handle)}
    checks = sum(CHECK_POINTS for c in source.cells if "check" in _tags(c))
    assert checks == 3 * CHECK_POINTS
    assert scores == {"blank": (0.0, checks), "solved": (checks, checks)}

"""The student edition: plain Jupyter notebooks that run without the book's machinery.

The slow test executes every lesson's student edition with plain nbclient (a
fresh kernel, the smoke profile, a fresh work folder), once with the answer
cells blank and once with each checked exercise's solution pasted into its
answer cell.
"""

from __future__ import annotations

import nbformat
import pytest

from mstl_lib.teaching.exercises import NO_ANSWER, OK
from mstl_lib.teaching.notebook import GLUED, glue_text, print_source, show_glued
from mstl_lib.teaching.paths import find_book_root, list_notebooks
from mstl_lib.teaching.student_edition import plain_markdown, split_markdown, student_notebook, write_student_edition

BOOK_ONLY = ("{glue", "literalinclude", ":::", "{admonition", "{cite")
ROOT = find_book_root()


def _tags(cell) -> list[str]:
    return cell.metadata.get("tags", [])


def _exercise(cell) -> dict:
    return cell.metadata.get("exercise", {})


def test_admonition_becomes_a_bold_title_over_a_quote():
    text = ":::{admonition} Exercise 1 (check)\n:class: tip\n\nFirst line.\nSecond line.\n:::\n\nAfter {cite}`a, b`."
    assert plain_markdown(text) == "**Exercise 1 (check)**\n\n> First line.\n> Second line.\n\nAfter [a, b]."


def test_glue_paragraph_becomes_code_and_literalinclude_a_source_cell(capsys):
    text = (
        "Intro.\n\nThe score was {glue:text}`score` with {braces}.\n\n"
        "```{literalinclude} ../mstl_lib/teaching/notebook.py\n:language: python\n:pyobject: shown_path\n"
        ':end-at: "def shown_path"\n```\n\nOutro.'
    )
    kinds = [kind for kind, _ in split_markdown(text)]
    assert kinds == ["markdown", "code", "code", "markdown"]
    glue_code, source_code = (body for kind, body in split_markdown(text) if kind == "code")
    glue_text(score=0.5)
    shown = {}
    exec(glue_code.replace("show_glued(", "shown['text'] = ("), {"shown": shown})  # the template it builds
    assert shown["text"].format(**GLUED) == "The score was 0.5 with {braces}."
    exec(source_code, {})
    assert capsys.readouterr().out.strip() == "def shown_path(path) -> str:"


def test_show_glued_names_a_value_not_computed_yet():
    with pytest.raises(Exception, match="never_glued"):
        show_glued("{never_glued}")


def test_print_source_trims_like_literalinclude(capsys):
    print_source(show_glued, start_at="from IPython", end_at="from IPython")
    assert capsys.readouterr().out.strip() == "from IPython.display import display"


@pytest.mark.parametrize("path", list_notebooks(ROOT), ids=lambda p: p.stem)
def test_edition_has_no_solutions_outputs_or_book_syntax(path):
    document = nbformat.read(path, as_version=4)
    edition = student_notebook(document, profile="lab", work_dir="/course/work")
    assert not [c for c in edition.cells if "solution" in _tags(c)]
    assert all(not c.outputs for c in edition.cells if c.cell_type == "code")
    for cell in edition.cells:
        assert not [s for s in BOOK_ONLY if s in cell.source], cell.source[:200]
        assert "folded" not in cell.source and "cell after the solution" not in cell.source
    (parameters,) = [c for c in edition.cells if "parameters" in _tags(c)]
    assert 'profile = "lab"' in parameters.source and "work_dir = '/course/work'" in parameters.source
    answers = [c for c in edition.cells if "answer" in _tags(c)]
    assert len(answers) == len([c for c in document.cells if "answer" in _tags(c)]) > 0


def test_write_refuses_an_unknown_profile(tmp_path):
    with pytest.raises(Exception, match="Unknown profile"):
        write_student_edition(tmp_path / "out", root=ROOT, profile="huge")


def _solved(edition, source_document):
    """The edition with each checked exercise's solution pasted under its answer cell's code."""
    solutions = {_exercise(c)["id"]: c.source for c in source_document.cells if "solution" in _tags(c)}
    checked = {_exercise(c)["id"] for c in source_document.cells if _exercise(c).get("kind") == "checked"}
    for cell in edition.cells:
        if "answer" in _tags(cell) and _exercise(cell)["id"] in checked:
            cell.source = cell.source + "\n\n" + solutions[_exercise(cell)["id"]]
    return edition


def _text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts += [str(v) for v in output.get("data", {}).values()]
        parts += output.get("traceback", [])
    return "".join(parts)


@pytest.fixture(scope="module")
def edition_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("student-edition")
    write_student_edition(base / "notebooks", root=ROOT, profile="smoke", work_dir=base / "work")
    return base / "notebooks"


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["blank", "solved"])
def test_student_edition_runs_in_plain_nbclient(edition_dir, mode):
    """Every lesson runs; each check says 'No answer yet' (blank) or ✓ (solved); no book syntax is left."""
    from nbclient import NotebookClient

    for path in sorted(edition_dir.glob("*.ipynb")):
        edition = nbformat.read(path, as_version=4)
        if mode == "solved":
            edition = _solved(edition, nbformat.read(ROOT / "notebooks" / path.name, as_version=4))
        NotebookClient(
            edition, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(edition_dir)}}
        ).execute()
        checks = [c for c in edition.cells if "check" in _tags(c)]
        assert checks, f"{path.name} has no check cell"
        for cell in checks:
            expected = NO_ANSWER if mode == "blank" else OK
            assert _text(cell).strip().startswith(expected), f"{path.name} {cell.source!r}: {_text(cell)[:300]}"
        for cell in edition.cells:
            shown = cell.source + _text(cell)
            assert not [s for s in BOOK_ONLY if s in shown], f"{path.name}: {shown[:300]}"

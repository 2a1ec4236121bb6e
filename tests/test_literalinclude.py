"""Every ``{literalinclude}`` of the lessons and chapters finds its file, its object and its anchors.

A lesson shows library code as it runs (``:pyobject: segment_frame``, trimmed
with ``:start-at:`` or ``:end-at:``). Renaming the function, or editing the
line an anchor names, would break the page only in a full book build; these
checks read the directives and the Python files (no import, no build) and fail
in a second, naming the document, the directive and what is missing.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from mstl_lib.teaching.paths import find_book_root

ROOT = find_book_root()
DIRECTIVE = re.compile(
    r"^(?:`{3,}|:{3,})\{literalinclude\}[ \t]+(?P<path>\S+)[ \t]*\n(?P<options>(?:[ \t]*:[\w-]+:[^\n]*\n)*)",
    re.MULTILINE,
)
OPTION = re.compile(r"^[ \t]*:([\w-]+):[ \t]*(.*?)[ \t]*$", re.MULTILINE)
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
STARTS = ("start-at", "start-after")
ENDS = ("end-at", "end-before")
STUDENT_EDITION_OPTIONS = {"language", "pyobject", "start-at", "end-at"}
"""What :func:`mstl_lib.teaching.student_edition.source_cell_code` turns into a ``print_source`` call."""


def _unquoted(value: str) -> str:
    """An option's value as MyST passes it on: one pair of enclosing quotes removed."""
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'" else value


def _documents() -> list[tuple[Path, str]]:
    """(document, Markdown text) of every lesson notebook's Markdown cells and every chapter in ``book/``."""
    documents = []
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        text = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        documents.append((notebook, text + "\n"))
    documents += [(chapter, chapter.read_text()) for chapter in sorted((ROOT / "book").glob("*.md"))]
    return documents


def directives(document: Path, text: str) -> list[tuple[Path, dict, str]]:
    """Each ``{literalinclude}`` in ``text``: the file it names (relative to ``document``), its options, its head."""
    found = []
    for match in DIRECTIVE.finditer(text):
        name = match.group("path")
        path = ROOT / name.lstrip("/") if name.startswith("/") else document.parent / name
        options = {key: _unquoted(value) for key, value in OPTION.findall(match.group("options"))}
        found.append((path.resolve(), options, match.group(0).splitlines()[0]))
    return found


def _python_object(source: str, dotted: str) -> list[str] | None:
    """The lines of a top-level function or class (``Class.method`` too), as ``:pyobject:`` selects them."""
    body = ast.parse(source).body
    node = None
    for part in dotted.split("."):
        node = next(
            (
                n
                for n in body
                if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and n.name == part
            ),
            None,
        )
        if node is None:
            return None
        body = node.body
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return source.splitlines()[first - 1 : node.end_lineno]


def problems(path: Path, options: dict) -> list[str]:
    """What Sphinx's literalinclude would not find: the file, the ``:pyobject:``, an anchor (searched in order)."""
    if not path.is_file():
        return [f"no file {path}"]
    lines = path.read_text().splitlines()
    if "pyobject" in options:
        lines = _python_object(path.read_text(), options["pyobject"])
        if lines is None:
            return [f":pyobject: {options['pyobject']} is not a function or class of {path.name}"]
    for keys in (STARTS, ENDS):  # the end is searched after the start, as Sphinx does
        for key in keys:
            if key not in options:
                continue
            index = next((i for i, line in enumerate(lines) if options[key] in line), None)
            if index is None:
                return [f":{key}: {options[key]!r} is in no line of {path.name} (in what :pyobject: selects)"]
            lines = {"start-at": lines[index:], "start-after": lines[index + 1 :]}.get(key, lines)
    return []


ALL = [(document, *found) for document, text in _documents() for found in directives(document, text)]


def test_the_lessons_show_library_code():
    shown = [options.get("pyobject") for document, _, options, _ in ALL if document.suffix == ".ipynb"]
    assert len(shown) >= 3 and all(shown)  # the student edition needs a :pyobject: to show


@pytest.mark.parametrize(
    ("document", "path", "options", "head"), ALL, ids=[f"{d.name}:{o.get('pyobject', p.name)}" for d, p, o, _ in ALL]
)
def test_every_literalinclude_finds_its_code(document, path, options, head):
    assert problems(path, options) == [], f"{document.relative_to(ROOT)}: {head}"
    if document.suffix == ".ipynb":  # the student edition prints the same lines with print_source
        unknown = set(options) - STUDENT_EDITION_OPTIONS
        assert not unknown, f"{document.name}: {head} uses {sorted(unknown)}, which the student edition cannot trim"


def test_a_broken_anchor_or_name_is_reported(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        'def f(x):\n    """Doc."""\n    y = g(x)\n    return y\n\n\nclass C:\n    def m(self):\n        pass\n'
    )
    document = tmp_path / "page.md"
    text = (
        '```{literalinclude} m.py\n:pyobject: f\n:start-at: y = g(x)\n:end-at: "return y"\n```\n\n'
        "```{literalinclude} m.py\n:pyobject: C.m\n```\n"
        "```{literalinclude} m.py\n:pyobject: f\n:start-at: y = h(x)\n```\n"
        "```{literalinclude} m.py\n:pyobject: C\n:start-after: pass\n:end-before: def m\n```\n"
        "```{literalinclude} m.py\n:pyobject: gone\n```\n"
        "```{literalinclude} missing.py\n```\n"
    )
    found = [problems(path, options) for path, options, _ in directives(document, text)]
    assert found[:2] == [[], []]
    assert "'y = h(x)' is in no line" in found[2][0]
    assert "'def m' is in no line" in found[3][0]  # searched after the start, not before it
    assert ":pyobject: gone is not" in found[4][0]
    assert found[5][0].startswith("no file")

"""The student edition: the lessons as plain Jupyter notebooks, without solutions.

``mstl student-edition OUT --profile lab`` writes every lesson so that it runs
as it is in JupyterLab, the classic Notebook or Colab, where nothing renders
the book's MyST syntax:

- the cells tagged ``solution`` are removed, and every output is cleared;
- a paragraph with ``{glue:text}`name``` placeholders becomes a code cell
  that shows the sentence with the values the lesson computed
  (:func:`mstl_lib.teaching.notebook.show_glued`);
- a ``{literalinclude}`` of a library function (``:pyobject:``) becomes a
  code cell that prints its source (:func:`mstl_lib.teaching.notebook.print_source`);
- a ``:::{admonition}`` box becomes a bold title over a block quote, and a
  ``{cite}`` role the bibliography key in brackets;
- the parameters cell names the chosen profile (and work folder, if given);
- the sentence of each lesson's exercise introduction that speaks of folded
  solutions is dropped.

``--format nbgrader`` writes the same edition as an nbgrader course folder,
``OUT/source/<lesson>/<lesson>.ipynb`` with ``OUT/nbgrader_config.py``: the
solutions stay in nbgrader's solution regions and the check cells become
graded test cells (:mod:`mstl_lib.teaching.grading`).

The lessons make what they need in their work folder
(:class:`~mstl_lib.teaching.workspace.Workspace`), so a student edition runs
from an empty folder; a folder filled by ``mstl book --profile lab``
(``_build/work/lab``) and copied to the students' ``work_dir`` saves them the
training time, since the same profile, seed and weights find their results there.
"""

from __future__ import annotations

import re
from pathlib import Path

from mstl_lib.errors import DataError
from mstl_lib.outputs import prepare_output_dir
from mstl_lib.profiles import PROFILES

__all__ = ["FORMATS", "student_notebook", "write_student_edition"]

SOLUTION_TAG = "solution"
FORMATS = ("plain", "nbgrader")
"""The formats of the student edition: plain notebooks, or an nbgrader course folder."""
GLUE = re.compile(r"\{glue:text\}`([A-Za-z_][A-Za-z0-9_]*)`")
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
ADMONITION = re.compile(
    r"^:::\{admonition\}[ \t]*([^\n]*)\n((?::[a-z-]+:[^\n]*\n)*)(.*?)^:::[ \t]*$", re.MULTILINE | re.DOTALL
)
LITERALINCLUDE = re.compile(r"^```\{literalinclude\}[ \t]*(\S+)\n((?::[a-z-]+:.*\n)*)```[ \t]*$", re.MULTILINE)
OPTION = re.compile(r"^:([a-z-]+):[ \t]*(.*)$", re.MULTILINE)
BOOK_ONLY_SENTENCE = re.compile(r"[ \t]*In the book a worked solution is folded[^.]*\.")


def plain_markdown(text: str) -> str:
    """Markdown without the book's MyST syntax: admonitions become a bold title over a block quote."""

    def box(match: re.Match) -> str:
        title, body = match.group(1).strip(), match.group(3).strip("\n")
        quoted = "\n".join(f"> {line}".rstrip() for line in body.splitlines())
        return f"**{title}**\n\n{quoted}" if title else quoted

    text = ADMONITION.sub(box, text)
    text = CITE.sub(lambda m: "[" + ", ".join(k.strip() for k in m.group(1).split(",")) + "]", text)
    return BOOK_ONLY_SENTENCE.sub("", text)


def source_cell_code(path: str, options: str) -> str:
    """The code that prints what a ``{literalinclude}`` of ``path`` with ``:pyobject:`` shows."""
    settings = {option: value.strip().strip('"') for option, value in OPTION.findall(options)}
    if "pyobject" not in settings:
        raise DataError(
            f"literalinclude of {path} has no :pyobject:, so the student edition cannot show it from the "
            "library. Fix: include a function or class with :pyobject:."
        )
    module = Path(path).with_suffix("").as_posix().lstrip("./").replace("/", ".")
    name = settings["pyobject"]
    trims = "".join(
        f", {option.replace('-', '_')}={settings[option]!r}" for option in ("start-at", "end-at") if option in settings
    )
    imports = f"from {module} import {name}\nfrom mstl_lib.teaching.notebook import print_source"
    return f"{imports}\n\nprint_source({name}{trims})"


def glue_cell_code(paragraph: str) -> str:
    """The code that shows a paragraph with its ``{glue:text}`` placeholders filled in."""
    parts, last = [], 0
    for match in GLUE.finditer(paragraph):
        parts.append(paragraph[last : match.start()].replace("{", "{{").replace("}", "}}"))
        parts.append("{" + match.group(1) + "}")
        last = match.end()
    parts.append(paragraph[last:].replace("{", "{{").replace("}", "}}"))
    template = "".join(parts).strip()
    return f"from mstl_lib.teaching.notebook import show_glued\n\nshow_glued({template!r})"


def split_markdown(text: str) -> list[tuple[str, str]]:
    """A Markdown cell's text as (kind, text) pieces: ``markdown``, ``glue`` (a paragraph) or ``code``."""
    pieces: list[tuple[str, str]] = []
    last = 0
    for match in LITERALINCLUDE.finditer(text):
        pieces += _paragraphs(text[last : match.start()])
        pieces.append(("code", source_cell_code(match.group(1), match.group(2))))
        last = match.end()
    pieces += _paragraphs(text[last:])
    return [(kind, body) for kind, body in pieces if body.strip()]


def _paragraphs(text: str) -> list[tuple[str, str]]:
    """Runs of plain paragraphs as one ``markdown`` piece; each paragraph with a glue placeholder alone."""
    pieces: list[tuple[str, str]] = []
    for paragraph in re.split(r"\n[ \t]*\n", text):
        if GLUE.search(paragraph):
            pieces.append(("code", glue_cell_code(paragraph)))
        elif pieces and pieces[-1][0] == "markdown":
            pieces[-1] = ("markdown", pieces[-1][1] + "\n\n" + paragraph)
        else:
            pieces.append(("markdown", paragraph))
    return [(kind, plain_markdown(body.strip("\n")) if kind == "markdown" else body) for kind, body in pieces]


def _parameters_source(source: str, profile: str, work_dir) -> str:
    source = re.sub(r'^profile = "[a-z]+"', f'profile = "{profile}"', source, count=1, flags=re.MULTILINE)
    if work_dir is not None:
        source = re.sub(r"^work_dir = None", f"work_dir = {str(work_dir)!r}", source, count=1, flags=re.MULTILINE)
    return source


def student_notebook(document, *, profile: str = "lab", work_dir=None, format: str = "plain", name: str = "lesson"):
    """The student edition of one lesson (an nbformat notebook; ``document`` is left unchanged).

    ``format="nbgrader"``: the lesson's exercise cells become nbgrader's cells
    first (:func:`mstl_lib.teaching.grading.grading_document`; ``name``, the
    lesson's file, is named in its error messages).
    """
    import nbformat

    if format not in FORMATS:
        raise DataError(f"Unknown format {format!r} for the student edition. Fix: one of {list(FORMATS)}.")
    if format == "nbgrader":
        from mstl_lib.teaching.grading import grading_document

        document = grading_document(document, path=name)
    cells = []
    for cell in document.cells:
        tags = cell.metadata.get("tags", [])
        if SOLUTION_TAG in tags:
            continue
        if cell.cell_type == "markdown":
            pieces = split_markdown(cell.source)
            for kind, text in pieces:
                new = nbformat.v4.new_markdown_cell(text) if kind == "markdown" else nbformat.v4.new_code_cell(text)
                if len(pieces) == 1:  # the same cell in other words: it keeps its metadata (an exercise's)
                    new.metadata = dict(cell.metadata)
                cells.append(new)
            continue
        new = nbformat.v4.new_code_cell(cell.source, metadata=dict(cell.metadata))
        if "parameters" in tags:
            new.source = _parameters_source(cell.source, profile, work_dir)
        cells.append(new)
    edition = nbformat.v4.new_notebook(metadata=dict(document.metadata), cells=cells)
    edition.metadata.pop("papermill", None)
    return edition


def write_student_edition(
    out_dir, *, root=None, profile: str = "lab", work_dir=None, overwrite: bool = False, format: str = "plain"
):
    """Write every lesson's student edition (:func:`student_notebook`) to ``out_dir``; return the paths.

    Parameters
    ----------
    out_dir : path-like
        A new (or empty) folder; ``overwrite`` replaces a non-empty one.
    root : path-like, optional
        Repository root (found from the working folder by default).
    profile : str
        The profile the parameters cells name (``smoke``, ``lab``, ``paper``).
    work_dir : path-like, optional
        The work folder the parameters cells name (default: the lessons' own,
        ``$MSTL_WORK_DIR/<profile>`` or ``~/mstl_work/<profile>``).
    overwrite : bool
        Replace a non-empty ``out_dir``.
    format : str
        ``plain``: ``out_dir/<lesson>.ipynb``. ``nbgrader``: an nbgrader course
        folder, ``out_dir/source/<lesson>/<lesson>.ipynb`` (one assignment per
        lesson) and ``out_dir/nbgrader_config.py`` (:mod:`mstl_lib.teaching.grading`).
    """
    import nbformat

    from mstl_lib.teaching.paths import find_book_root, list_notebooks

    if profile not in PROFILES:
        raise DataError(f"Unknown profile {profile!r} for the student edition. Fix: one of {sorted(PROFILES)}.")
    if format not in FORMATS:
        raise DataError(f"Unknown format {format!r} for the student edition. Fix: one of {list(FORMATS)}.")
    root = find_book_root(root)
    out_dir = prepare_output_dir(out_dir, overwrite=overwrite)
    written = []
    for path in list_notebooks(root):
        document = nbformat.read(path, as_version=4)
        edition = student_notebook(document, profile=profile, work_dir=work_dir, format=format, name=path.name)
        target = out_dir / path.name
        if format == "nbgrader":
            target = out_dir / "source" / path.stem / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(edition, target)
        written.append(target)
    if format == "nbgrader":
        from mstl_lib.teaching.grading import NBGRADER_CONFIG

        (out_dir / "nbgrader_config.py").write_text(NBGRADER_CONFIG)
        written.append(out_dir / "nbgrader_config.py")
    return written

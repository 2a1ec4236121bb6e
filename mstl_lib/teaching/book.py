"""Executing the lessons and building the book.

``mstl book --profile smoke`` runs every notebook in ``notebooks/`` headlessly
with papermill (its ``parameters`` cell gets the profile, the work folder and
the seed), stages the executed notebooks beside the prose chapters, and
builds the HTML book with Jupyter Book 1.x, warnings as errors. The book
itself executes nothing (``execute_notebooks: "off"``): what it shows is what
the notebooks computed, for the profile printed on each page.

No run waits forever unless asked to. Every cell has a time limit
(``--cell-timeout``, by default :data:`CELL_TIMEOUTS` of the profile;
``--no-timeout`` lifts it explicitly), and a watchdog
(:mod:`mstl_lib.teaching.execution`) ends a lesson whose kernel died, stopped
answering its heartbeat, or never took up a request; this module turns that
into a message that names the lesson, the cell and the fix. On a terminal,
:class:`~mstl_lib.teaching.execution.CellProgress` shows the running cell and
the time. A request the kernel never took up (a known
Jupyter fault: the kernel sits idle and no reply comes) is retried once from
a fresh kernel. Each kernel's own standard error goes to
``BUILD/logs/<lesson>.kernel.log``; its real lines (not TensorFlow's start-up
noise) are printed after the lesson.

``mstl student-edition OUT`` (:mod:`mstl_lib.teaching.student_edition`) writes
the lessons for students, as plain Jupyter notebooks.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from mstl_lib.errors import DataError
from mstl_lib.profiles import get_profile
from mstl_lib.quiet import FRAMEWORK_NOISE, noise_pattern, real_lines
from mstl_lib.teaching.paths import build_dir_for_kernels, find_book_root, list_notebooks
from mstl_lib.validation import check_choice, check_number

if TYPE_CHECKING:
    from mstl_lib.teaching.execution import CellStall

BOOK_FILES = ("_config.yml", "_toc.yml", "references.bib")
BOOK_DIRS = ("book", "_static")
"""Folders staged beside the notebooks: the prose chapters and ``_static`` (the book's CSS, loaded by Jupyter Book)."""
LIBRARY_DIR = "mstl_lib"
"""The library's source, staged beside the notebooks so that a lesson can show a function as it runs
(``{literalinclude} ../mstl_lib/models/features.py`` with ``:pyobject: grad_cam``)."""
INJECTED_TAG = "injected-parameters"
CELL_TIMEOUTS = {"smoke": 300, "lab": 1800, "paper": 24 * 3600}
"""Default time limit of one cell, in seconds, per profile (``mstl book --cell-timeout`` overrides it).

The longest smoke cell takes under a minute on a 2-core CPU, the longest lab
cell a few minutes; a paper cell trains the whole grid on a GPU.
"""

__all__ = [
    "CELL_TIMEOUTS",
    "FRAMEWORK_NOISE",
    "build_book",
    "build_html",
    "cell_timeout_for",
    "execute_notebooks",
    "stage_sources",
    "strip_framework_noise",
]


def check_cell_timeout(seconds) -> float:
    """A cell time limit: more than 0 seconds (``math.inf``: none)."""
    if seconds == math.inf:
        return seconds
    return check_number(seconds, "cell_timeout (CLI: --cell-timeout)", minimum=0, include_minimum=False)


def cell_timeout_for(profile: str) -> int:
    """The default time limit of one cell for ``profile`` (:data:`CELL_TIMEOUTS`)."""
    return CELL_TIMEOUTS[check_choice(profile, "profile", CELL_TIMEOUTS, lower=True)]


def _lesson_key(notebook: Path) -> str:
    return notebook.name.split("_", 1)[0]


def execute_notebooks(
    root: Path,
    out_dir: Path,
    *,
    profile: str = "smoke",
    work_dir: Path,
    seed: int = 0,
    weights: str = "profile",
    only: list[str] | None = None,
    kernel_name: str = "python3",
    cell_timeout: float | None = None,
    log_dir: Path | None = None,
    log=print,
    progress: bool = False,
) -> list[Path]:
    """Execute the notebooks with papermill into ``out_dir``; return the executed paths.

    The cell papermill injects after the ``parameters`` cell is tagged
    ``remove-cell`` so that the book does not show it.

    Parameters
    ----------
    cell_timeout : float, optional
        Time limit of one cell in seconds, more than 0; default
        :func:`cell_timeout_for` the profile; ``math.inf`` for none (the
        watchdog still ends a lesson whose kernel dies or stops answering).
    progress : bool
        Show the cell being run and the time on standard error
        (:class:`~mstl_lib.teaching.execution.CellProgress`; for a terminal).
    log_dir : path-like, optional
        Folder of the kernels' logs (``<lesson>.kernel.log``); default
        ``out_dir/../logs``.

    Raises
    ------
    DataError
        A cell raised, ran past ``cell_timeout``, or its kernel died or
        stopped answering: the message names the lesson, the cell, the time
        waited and the fix. A request the kernel never took up is retried
        once from a fresh kernel first (and the log says so).
    """
    from mstl_lib.teaching.execution import CellProgress  # papermill: imported only when a lesson runs

    profile = get_profile(profile).name
    cell_timeout = cell_timeout_for(profile) if cell_timeout is None else check_cell_timeout(cell_timeout)
    out_dir.mkdir(parents=True, exist_ok=True)
    log_dir = Path(log_dir) if log_dir else out_dir.parent / "logs"
    parameters = {"profile": profile, "work_dir": str(work_dir), "seed": seed, "progress": False, "weights": weights}
    executed = []
    for notebook in list_notebooks(root):
        if only and not any(key in notebook.stem for key in only):
            continue
        target = out_dir / notebook.name
        kernel_log = log_dir / f"{notebook.stem}.kernel.log"
        started = time.perf_counter()
        log(f"Executing {notebook.name} (profile {profile}) ...")
        cells = CellProgress() if progress else None
        try:
            _run_lesson(notebook, target, parameters, kernel_name, cell_timeout, kernel_log, log, cells)
        except KeyboardInterrupt:
            _drop_interrupted_cell_reports()
            raise
        finally:
            if cells is not None:
                cells.close()
        _tidy_executed(target)
        for line in _kernel_messages(kernel_log):
            log(f"  kernel: {line}")
        log(f"  done in {time.perf_counter() - started:.0f} s")
        executed.append(target)
    return executed


def _run_lesson(
    notebook: Path, target: Path, parameters: dict, kernel_name, cell_timeout, kernel_log, log, on_cell=None
) -> None:
    """Execute one lesson, retrying once from a fresh kernel when a request was dropped; raise the fix."""
    from mstl_lib.teaching.execution import CellStall, execute_notebook

    for attempt in (1, 2):
        try:
            execute_notebook(
                notebook,
                target,
                parameters=parameters,
                kernel_name=kernel_name,
                cell_timeout=cell_timeout,
                kernel_log=kernel_log,
                on_cell=on_cell,
            )
            return
        except CellStall as stall:
            where = _where(notebook, stall)
            if stall.kind == "dropped" and attempt == 1:
                log(f"  {where}: {stall.what()}; retrying the lesson once from a fresh kernel ...")
                continue
            fix = _stall_fix(stall, notebook, parameters["profile"], cell_timeout)
            raise DataError(
                f"{where}: {stall.what()}. {fix} The notebook as far as it ran is {target}; the kernel's "
                f"log is {kernel_log}." + _log_tail(kernel_log)
            ) from None
        except _execution_error() as error:
            raise DataError(
                f"{notebook.name} failed in cell {error.exec_count}: "
                f"{error.ename}: {str(error.evalue).rstrip('.')}. "
                f"The executed notebook with the traceback is {target}."
            ) from None


def _drop_interrupted_cell_reports() -> None:
    """After Ctrl-C, keep the cell's own error (the kernel got the signal too) off the terminal.

    The cell's task ends with the kernel's ``KeyboardInterrupt`` after the run
    was abandoned; asyncio would print it, with the kernel's whole traceback,
    as "Task exception was never retrieved" when the task is collected.
    """
    import logging

    logging.getLogger("asyncio").setLevel(logging.CRITICAL + 1)
    logging.getLogger("papermill").setLevel(logging.CRITICAL + 1)


def _stall_fix(stall: CellStall, notebook: Path, profile: str, cell_timeout: float) -> str:
    """What to do about a cell that did not finish."""
    return f"Fix: rerun this lesson with `mstl book --profile {profile} --only {_lesson_key(notebook)}`" + (
        "; if the cell is just slow on this machine, raise the limit with "
        f"`--cell-timeout SECONDS` (now {cell_timeout:g} s)."
        if stall.kind == "timeout"
        else "; if it happens again, look at the kernel's log"
        + ("." if cell_timeout == math.inf else f" or raise `--cell-timeout` (now {cell_timeout:g} s).")
    )


def _tidy_executed(target: Path) -> None:
    """Hide papermill's injected cell in the book and drop TensorFlow's start-up noise from the outputs."""
    import nbformat

    document = nbformat.read(target, as_version=4)
    for cell in document.cells:
        tags = cell.metadata.get("tags", [])
        if INJECTED_TAG in tags and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
        if cell.cell_type == "code":
            cell.outputs = strip_framework_noise(cell.outputs)
    nbformat.write(document, target)


def _execution_error():
    import papermill

    return papermill.PapermillExecutionError


def _where(notebook: Path, stall: CellStall) -> str:
    """``02_x.ipynb, cell 13 (`first line`)``: the cell's position in the lesson file (papermill's cell not counted)."""
    import nbformat

    from mstl_lib.teaching.execution import first_line

    cells = nbformat.read(notebook, as_version=4).cells
    sources = [cell.source for cell in cells]
    # papermill inserts one cell after the parameters cell: find the stuck cell in the lesson file by its source.
    number = next((i + 1 for i, source in enumerate(sources) if source == stall.source), stall.cell_index + 1)
    return f"{notebook.name}, cell {number} of {len(cells)} (`{first_line(stall.source)}`)"


def _kernel_messages(kernel_log: Path) -> list[str]:
    """The real lines (not start-up noise) the kernel wrote to its own standard error."""
    if not kernel_log.is_file():
        return []
    return real_lines(kernel_log.read_text(errors="replace"))


def _log_tail(kernel_log: Path, lines: int = 12) -> str:
    tail = _kernel_messages(kernel_log)[-lines:]
    return ("\nThe end of the kernel's log:\n" + "\n".join(tail)) if tail else ""


def strip_framework_noise(outputs: list) -> list:
    """Drop TensorFlow's start-up log lines from a cell's stderr outputs (see :func:`mstl_lib.quiet.noise_pattern`)."""
    pattern = noise_pattern()
    kept = []
    for output in outputs:
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            lines = [line for line in output["text"].splitlines(keepends=True) if not pattern.match(line)]
            if not "".join(lines).strip():
                continue
            output["text"] = "".join(lines)
        kept.append(output)
    return kept


def stage_sources(root: Path, stage: Path) -> None:
    """Copy the prose, configuration, bibliography and library source next to the executed notebooks."""
    for name in BOOK_FILES:
        shutil.copy2(root / name, stage / name)
    for name in (*BOOK_DIRS, LIBRARY_DIR):
        if (stage / name).exists():
            shutil.rmtree(stage / name)
        shutil.copytree(root / name, stage / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def build_html(stage: Path, out_root: Path, *, warnings_as_errors: bool = True) -> Path:
    """Run ``jupyter-book build`` on the staged sources; return the HTML folder."""
    runner = "from jupyter_book.cli.main import main; import sys; sys.exit(main())"
    command = [
        sys.executable,
        "-c",
        runner,
        "build",
        str(stage),
        "--path-output",
        str(out_root),
        "--builder",
        "html",
        "--keep-going",
    ]
    if warnings_as_errors:
        command += ["-W", "-n"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
        raise DataError(f"the book build failed (jupyter-book exit {result.returncode}):\n{tail}")
    return out_root / "_build" / "html"


def build_book(
    *,
    root=None,
    profile: str = "smoke",
    build_dir=None,
    work_dir=None,
    seed: int = 0,
    weights: str = "profile",
    execute: bool = True,
    only: list[str] | None = None,
    cell_timeout: float | None = None,
    log=print,
    progress: bool = False,
) -> Path:
    """Execute every notebook and build the HTML book; return ``.../_build/html``.

    Parameters
    ----------
    root : path-like, optional
        Repository root (found from the working folder by default).
    profile : str
        Profile for every notebook (``smoke``, ``lab``, ``paper``).
    build_dir : path-like, optional
        Default ``ROOT/_build``; the HTML goes to ``BUILD/html``, executed
        notebooks to ``BUILD/src/notebooks``.
    work_dir : path-like, optional
        Shared work folder of the notebooks; default ``BUILD/work/<profile>`` (``<profile>-imagenet``
        with other weights than the profile's).
    weights : str
        ``"profile"`` (the profile's own), ``"imagenet"`` or ``"none"``; see
        :func:`mstl_lib.teaching.notebook.setup_notebook`.
    execute : bool
        False rebuilds the HTML from notebooks executed earlier.
    cell_timeout : float, optional
        Time limit of one cell in seconds (default: :data:`CELL_TIMEOUTS` of
        the profile; ``math.inf``: none); see :func:`execute_notebooks`.
    progress : bool
        Show each lesson's running cell and time (for a terminal); see :func:`execute_notebooks`.
    """
    root = find_book_root(root)
    build_dir = Path(build_dir) if build_dir else root / "_build"
    stage = build_dir / "src"
    if work_dir is None:
        from mstl_lib.teaching.notebook import profile_with_weights
        from mstl_lib.teaching.workspace import work_folder_name

        work_dir = build_dir / "work" / work_folder_name(profile_with_weights(profile, weights))
    work_dir = Path(work_dir)
    if execute:
        with build_dir_for_kernels(build_dir):
            execute_notebooks(
                root,
                stage / "notebooks",
                profile=profile,
                work_dir=work_dir,
                seed=seed,
                weights=weights,
                only=only,
                cell_timeout=cell_timeout,
                log_dir=build_dir / "logs",
                log=log,
                progress=progress,
            )
    missing = [nb.name for nb in list_notebooks(root) if not (stage / "notebooks" / nb.name).is_file()]
    if missing:
        raise DataError(
            f"{stage / 'notebooks'} lacks executed notebooks {missing}, so the book cannot be built. "
            "Fix: run `mstl book` once without --only or --no-execute (later runs with --only replace just "
            "those lessons)."
        )
    stage_sources(root, stage)
    log("Building the HTML book ...")
    html = build_html(stage, build_dir.parent if build_dir.name == "_build" else build_dir)
    log(f"Book written to {html / 'index.html'}")
    return html

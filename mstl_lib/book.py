"""Executing the lessons and building the book.

``mstl book --profile smoke`` runs every notebook in ``notebooks/`` headlessly
with papermill (its ``parameters`` cell gets the profile, the work folder and
the seed), stages the executed notebooks beside the prose chapters, and
builds the HTML book with Jupyter Book 1.x, warnings as errors. The book
itself executes nothing (``execute_notebooks: "off"``): what it shows is what
the notebooks computed, for the profile printed on each page.

``mstl student-edition OUT`` writes the notebooks without the cells tagged
``solution`` (and without outputs), for teachers to hand out.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from mstl_lib.errors import DataError
from mstl_lib.outputs import prepare_output_dir
from mstl_lib.profiles import get_profile

BOOK_FILES = ("_config.yml", "_toc.yml", "references.bib")
BOOK_DIRS = ("book",)
FRAMEWORK_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog|[IWE]\d{4} [\d:. ]+\d+ (cudart_stub|cpu_feature_guard|port|"
    r"cuda_platform|cuda_executor|cuda_diagnostics|gpu_device)\.cc|To enable the following instructions)"
)
"""TensorFlow's start-up lines about absent GPUs and CPU instructions, which say nothing about the lesson."""
SOLUTION_TAG = "solution"
INJECTED_TAG = "injected-parameters"


def find_book_root(start=None) -> Path:
    """The repository root: the nearest folder up from ``start`` holding ``_toc.yml`` and ``notebooks/``."""
    candidates = [Path(start).resolve()] if start else [Path.cwd().resolve(), Path(__file__).resolve().parents[1]]
    for candidate in candidates:
        for folder in (candidate, *candidate.parents):
            if (folder / "_toc.yml").is_file() and (folder / "notebooks").is_dir():
                return folder
    raise DataError("no book found: run this inside the repository (the folder with _toc.yml and notebooks/), or pass --root.")


def list_notebooks(root: Path) -> list[Path]:
    """The lesson notebooks, in order (by file name)."""
    notebooks = sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise DataError(f"{root / 'notebooks'}: no lesson notebooks (named like 01_overview.ipynb).")
    return notebooks


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
    log=print,
) -> list[Path]:
    """Execute the notebooks with papermill into ``out_dir``; return the executed paths.

    The cell papermill injects after the ``parameters`` cell is tagged
    ``remove-cell`` so that the book does not show it.
    """
    import nbformat
    import papermill

    profile = get_profile(profile).name
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = []
    for notebook in list_notebooks(root):
        if only and not any(key in notebook.stem for key in only):
            continue
        target = out_dir / notebook.name
        started = time.perf_counter()
        log(f"Executing {notebook.name} (profile {profile}) ...")
        try:
            papermill.execute_notebook(
                str(notebook), str(target), cwd=str(notebook.parent), kernel_name=kernel_name,
                parameters={"profile": profile, "work_dir": str(work_dir), "seed": seed, "progress": False,
                            "weights": weights},
                progress_bar=False, request_save_on_cell_execute=False,
            )
        except papermill.PapermillExecutionError as error:
            raise DataError(
                f"{notebook.name} failed in cell {error.exec_count}: {error.ename}: {error.evalue}. "
                f"The executed notebook with the traceback is {target}."
            ) from None
        document = nbformat.read(target, as_version=4)
        for cell in document.cells:
            tags = cell.metadata.get("tags", [])
            if INJECTED_TAG in tags and "remove-cell" not in tags:
                cell.metadata["tags"] = [*tags, "remove-cell"]
            if cell.cell_type == "code":
                cell.outputs = strip_framework_noise(cell.outputs)
        nbformat.write(document, target)
        log(f"  done in {time.perf_counter() - started:.0f} s")
        executed.append(target)
    return executed


def strip_framework_noise(outputs: list) -> list:
    """Drop TensorFlow's start-up log lines from a cell's stderr outputs (see :data:`FRAMEWORK_NOISE`)."""
    kept = []
    for output in outputs:
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            lines = [line for line in output["text"].splitlines(keepends=True) if not FRAMEWORK_NOISE.match(line)]
            if not "".join(lines).strip():
                continue
            output["text"] = "".join(lines)
        kept.append(output)
    return kept


def stage_sources(root: Path, stage: Path) -> None:
    """Copy the prose, configuration and bibliography next to the executed notebooks."""
    for name in BOOK_FILES:
        shutil.copy2(root / name, stage / name)
    for name in BOOK_DIRS:
        if (stage / name).exists():
            shutil.rmtree(stage / name)
        shutil.copytree(root / name, stage / name)


def build_html(stage: Path, out_root: Path, *, warnings_as_errors: bool = True) -> Path:
    """Run ``jupyter-book build`` on the staged sources; return the HTML folder."""
    runner = "from jupyter_book.cli.main import main; import sys; sys.exit(main())"
    command = [sys.executable, "-c", runner, "build", str(stage), "--path-output", str(out_root),
               "--builder", "html", "--keep-going"]
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
    log=print,
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
        :func:`mstl_lib.notebook.setup_notebook`.
    execute : bool
        False rebuilds the HTML from notebooks executed earlier.
    """
    root = find_book_root(root)
    build_dir = Path(build_dir) if build_dir else root / "_build"
    stage = build_dir / "src"
    if work_dir is None:
        from mstl_lib.notebook import profile_with_weights
        from mstl_lib.workspace import work_folder_name

        work_dir = build_dir / "work" / work_folder_name(profile_with_weights(profile, weights))
    work_dir = Path(work_dir)
    if execute:
        execute_notebooks(root, stage / "notebooks", profile=profile, work_dir=work_dir, seed=seed, weights=weights,
                          only=only, log=log)
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


def write_student_edition(out_dir, *, root=None, overwrite: bool = False) -> list[Path]:
    """Write the notebooks without solution cells and without outputs.

    Cells tagged ``solution`` are removed; every other cell is kept with its
    outputs cleared, so students start from a clean notebook.
    """
    import nbformat

    root = find_book_root(root)
    out_dir = prepare_output_dir(out_dir, overwrite=overwrite)
    written = []
    for notebook in list_notebooks(root):
        document = nbformat.read(notebook, as_version=4)
        document.cells = [c for c in document.cells if SOLUTION_TAG not in c.metadata.get("tags", [])]
        for cell in document.cells:
            if cell.cell_type == "code":
                cell.outputs = []
                cell.execution_count = None
        nbformat.write(document, out_dir / notebook.name)
        written.append(out_dir / notebook.name)
    return written

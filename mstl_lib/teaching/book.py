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
(:class:`CellStall`) ends a lesson whose kernel died, stopped answering its
heartbeat, or never took up a request, with a message that names the
lesson, the cell and the fix. On a terminal, :class:`CellProgress` shows
the running cell and the time. A request the kernel never took up (a known
Jupyter fault: the kernel sits idle and no reply comes) is retried once from
a fresh kernel. Each kernel's own standard error goes to
``BUILD/logs/<lesson>.kernel.log``; its real lines (not TensorFlow's start-up
noise) are printed after the lesson.

``mstl student-edition OUT`` (:mod:`mstl_lib.teaching.student_edition`) writes
the lessons for students, as plain Jupyter notebooks.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import subprocess
import sys
import time
import types
from pathlib import Path
from queue import Empty
from time import monotonic

from mstl_lib.errors import DataError
from mstl_lib.profiles import get_profile
from mstl_lib.quiet import FRAMEWORK_NOISE, noise_pattern, quiet_environment, real_lines
from mstl_lib.validation import check_number

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
ACK_SECONDS = 20
"""A request the kernel has not taken up (no ``busy`` status) after this long is nudged, then, after as
long again, treated as dropped."""
REPLY_GRACE_SECONDS = 10
"""How long after the kernel reported a cell done (``idle``) its reply may still come before it is taken as lost."""
HEARTBEAT_SECONDS = 30
"""A kernel whose heartbeat stays silent this long has stopped answering (stopped, hung in C code)."""
ENGINE_NAME = "mstl-watchdog"

__all__ = [
    "CELL_TIMEOUTS",
    "CellProgress",
    "CellStall",
    "FRAMEWORK_NOISE",
    "build_book",
    "build_html",
    "cell_timeout_for",
    "execute_notebook",
    "execute_notebooks",
    "find_book_root",
    "list_notebooks",
    "stage_sources",
    "strip_framework_noise",
]


class CellStall(Exception):
    """A cell that did not finish: ``kind`` is ``"timeout"``, ``"dropped"``, ``"silent"`` or ``"died"``.

    Raised by the watchdog of :func:`execute_notebook`; :func:`execute_notebooks`
    turns it into a :class:`~mstl_lib.errors.DataError` naming the lesson,
    the cell and the fix.
    """

    def __init__(self, kind: str, cell_index: int, source: str, waited: float, limit: float | None = None):
        self.kind, self.cell_index, self.source, self.waited, self.limit = kind, cell_index, source, waited, limit
        super().__init__(self.what())

    def what(self) -> str:
        """What happened, in words."""
        waited = f"{self.waited:.0f} s"
        limit = f"{self.limit:g} s" if self.limit else "none"
        return {
            "timeout": f"the cell was still running after {waited} (its time limit: {limit})",
            "dropped": f"the kernel never took up the request ({waited} idle, no reply)",
            "silent": f"the kernel stopped answering (no heartbeat for {HEARTBEAT_SECONDS} s; {waited} into the cell)",
            "died": f"the kernel died {waited} into the cell (out of memory, or a crash in native code)",
        }[self.kind]


BUILD_DIR_VARIABLE = "MSTL_BUILD_DIR"
"""Set for the lessons' kernels by :func:`build_book`: the build folder, so pages show paths inside it by its name."""


@contextlib.contextmanager
def _build_dir_for_kernels(build_dir: Path):
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


def check_cell_timeout(seconds) -> float:
    """A cell time limit: more than 0 seconds (``math.inf``: none)."""
    if seconds == math.inf:
        return seconds
    return check_number(seconds, "cell_timeout (CLI: --cell-timeout)", minimum=0, include_minimum=False)


def cell_timeout_for(profile: str) -> int:
    """The default time limit of one cell for ``profile`` (:data:`CELL_TIMEOUTS`)."""
    return CELL_TIMEOUTS[get_profile(profile).name]


def _first_line(source: str) -> str:
    lines = [line.strip() for line in source.splitlines() if line.strip() and not line.strip().startswith("#")]
    line = lines[0] if lines else source.strip()
    return line if len(line) <= 70 else line[:67] + "..."


class CellProgress:
    """The cell a lesson is running, on one terminal line rewritten in place.

    Called by the watchdog when a cell starts and about once a second while it
    runs: ``cell 5 of 23 (`first line`) 12 s, lesson 80 s``. :func:`build_book`
    uses it only when standard error is a terminal (``mstl book`` on a
    console); in a log file it would repeat line after line.
    """

    def __init__(self, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        self.started = monotonic()
        self.shown = False

    def __call__(self, index: int, count: int, source: str, elapsed: float) -> None:
        text = (
            f"  cell {index + 1} of {count} (`{_first_line(source)}`) {elapsed:.0f} s, "
            f"lesson {monotonic() - self.started:.0f} s"
        )
        width = shutil.get_terminal_size((100, 20)).columns - 1
        self.stream.write("\r\x1b[K" + text[:width])
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        """Clear the line (the lesson's own lines follow)."""
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


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
        (:class:`CellProgress`; for a terminal).
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

    cells = nbformat.read(notebook, as_version=4).cells
    sources = [cell.source for cell in cells]
    # papermill inserts one cell after the parameters cell: find the stuck cell in the lesson file by its source.
    number = next((i + 1 for i, source in enumerate(sources) if source == stall.source), stall.cell_index + 1)
    return f"{notebook.name}, cell {number} of {len(cells)} (`{_first_line(stall.source)}`)"


def _kernel_messages(kernel_log: Path) -> list[str]:
    """The real lines (not start-up noise) the kernel wrote to its own standard error."""
    if not kernel_log.is_file():
        return []
    return real_lines(kernel_log.read_text(errors="replace"))


def _log_tail(kernel_log: Path, lines: int = 12) -> str:
    tail = _kernel_messages(kernel_log)[-lines:]
    return ("\nThe end of the kernel's log:\n" + "\n".join(tail)) if tail else ""


def execute_notebook(
    notebook,
    target,
    *,
    parameters: dict,
    kernel_name: str = "python3",
    cell_timeout: float | None = None,
    kernel_log=None,
    ack_seconds: float | None = None,
    heartbeat_seconds: float | None = None,
    on_cell=None,
) -> None:
    """Execute one notebook with papermill, under the watchdog; write it to ``target``.

    ``on_cell(index, count, source, elapsed)`` is called when a cell starts
    and about once a second while it runs (:class:`CellProgress`).

    The kernel gets the quiet environment (:func:`mstl_lib.quiet.quiet_environment`)
    and writes its own standard output and error to ``kernel_log``.

    Raises
    ------
    CellStall
        A cell ran past ``cell_timeout`` seconds, its request was never taken
        up (no ``busy`` from the kernel after ``ack_seconds``, and again after
        a nudge), the kernel's heartbeat stayed silent ``heartbeat_seconds``,
        or the kernel died. The notebook as far as it ran is still written.
        ``ack_seconds`` and ``heartbeat_seconds`` default to
        :data:`ACK_SECONDS` and :data:`HEARTBEAT_SECONDS`.
    papermill.PapermillExecutionError
        A cell raised an exception.
    """
    import papermill

    _register_engine()
    log_file = None
    if kernel_log is not None:
        Path(kernel_log).parent.mkdir(parents=True, exist_ok=True)
        log_file = open(kernel_log, "w")
    try:
        papermill.execute_notebook(
            str(notebook),
            str(target),
            cwd=str(Path(notebook).parent),
            kernel_name=kernel_name,
            parameters=parameters,
            progress_bar=False,
            request_save_on_cell_execute=False,
            engine_name=ENGINE_NAME,
            execution_timeout=None if cell_timeout == math.inf else cell_timeout,
            kernel_log=log_file,
            on_cell=on_cell,
            partial_output=str(target),
            ack_seconds=ACK_SECONDS if ack_seconds is None else ack_seconds,
            heartbeat_seconds=HEARTBEAT_SECONDS if heartbeat_seconds is None else heartbeat_seconds,
        )
    finally:
        if log_file is not None:
            log_file.close()


class _WatchdogClient:
    """papermill's notebook client, waiting for each reply under the watchdog.

    Why a widget cell could hang papermill for good: nbclient waits for a
    cell's reply with ``shell_channel.get_msg(timeout=None)`` when no
    timeout is set, while its IOPub task, mimicking a front end for widgets
    that capture output, sends comm messages on that same shell socket; a
    reply whose wake-up is lost then is never read (nbclient issue 312), and
    a kernel that drops a request (ipykernel 7, issue 1554) never replies.
    Here the reply is read in one-second polls, each of which checks the
    kernel's process, its heartbeat, whether it took up the request, and
    the cell's time limit (:meth:`_watch`).

    papermill is imported only when a lesson runs, so this class holds the
    methods and :func:`_register_engine` mixes them into papermill's
    ``PapermillNotebookClient``.
    """

    def __init__(
        self,
        nb_man,
        *,
        kernel_log=None,
        ack_seconds=ACK_SECONDS,
        heartbeat_seconds=HEARTBEAT_SECONDS,
        on_cell=None,
        **kw,
    ):
        super().__init__(nb_man, **kw)
        self.on_cell = on_cell
        self.kernel_log = kernel_log
        self.ack_seconds = ack_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.acknowledged = False

    async def async_start_new_kernel(self, **kwargs):
        kwargs.setdefault("env", quiet_environment())
        if self.kernel_log is not None:
            kwargs.setdefault("stdout", self.kernel_log)
            kwargs.setdefault("stderr", self.kernel_log)
        return await super().async_start_new_kernel(**kwargs)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        from nbclient.exceptions import DeadKernelError

        self.acknowledged = False
        self.current_cell_index = cell_index
        self.cell_started = monotonic()
        self._report(cell)
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except DeadKernelError:
            self.shutdown_kernel = "immediate"
            waited = monotonic() - self.cell_started
            raise CellStall("died", cell_index, cell.source, waited) from None
        except CellStall:
            self.shutdown_kernel = "immediate"  # a stopped kernel cannot shut itself down
            raise

    def _report(self, cell) -> None:
        """Tell ``on_cell`` which cell runs and for how long (the hook of :class:`CellProgress`)."""
        if self.on_cell is not None and cell.cell_type == "code":
            self.on_cell(self.current_cell_index, len(self.nb.cells), cell.source, monotonic() - self.cell_started)

    async def async_wait_for_reply(self, msg_id, cell=None):
        if cell is not None:
            return await super().async_wait_for_reply(msg_id, cell)
        # papermill's last request (kernel_info, for the notebook's language_info): never wait long.
        deadline = monotonic() + 2 * self.ack_seconds
        while monotonic() < deadline:
            msg = await _next_message(self.kc.shell_channel)
            if msg is not None and msg["parent_header"].get("msg_id") == msg_id:
                return msg
        self.log.warning("No reply to kernel_info; the notebook gets Python's language_info.")
        return {"content": {"language_info": _PYTHON_LANGUAGE_INFO}}

    def process_message(self, msg, cell, cell_index):
        if msg.get("msg_type") == "status" and msg["content"].get("execution_state") == "busy":
            self.acknowledged = True
        return super().process_message(msg, cell, cell_index)

    async def _async_poll_for_reply(self, msg_id, cell, timeout, task_poll_output_msg, task_poll_kernel_alive):
        try:
            return await self._watch(msg_id, cell, timeout, task_poll_output_msg, task_poll_kernel_alive)
        except CellStall:
            task_poll_kernel_alive.cancel()
            raise

    async def _watch(self, msg_id, cell, timeout, task_poll_output_msg, task_poll_kernel_alive):
        """Poll for the cell's reply once a second; raise :class:`CellStall` when one of the checks fails."""
        from nbclient.util import ensure_async

        started = self.cell_started
        nudged_at = idle_at = silent_since = None
        while True:
            msg = await _next_message(self.kc.shell_channel)
            if msg is not None:
                if msg["parent_header"].get("msg_id") == msg_id:
                    return await self._finish(msg, cell, task_poll_output_msg, task_poll_kernel_alive)
                continue  # the reply to a nudge, or a late one to an earlier request
            now = monotonic()
            waited = now - started
            self._report(cell)
            if not await ensure_async(self.km.is_alive()):
                raise CellStall("died", self.current_cell_index, cell.source, waited)
            silent_since = None if self.kc.hb_channel.is_beating() else (silent_since or now)
            if silent_since is not None and now - silent_since > self.heartbeat_seconds:
                raise CellStall("silent", self.current_cell_index, cell.source, waited)
            if task_poll_output_msg.done():
                task_poll_output_msg.result()  # raises what the output task raised
                idle_at = idle_at or now
                if now - idle_at > REPLY_GRACE_SECONDS:
                    self.log.warning("The kernel finished the cell but its reply was lost; going on.")
                    task_poll_kernel_alive.cancel()
                    return self._reply_from_outputs(msg_id, cell)
            elif not self.acknowledged and waited > self.ack_seconds:
                nudged_at = self._nudge_or_give_up(nudged_at, now, cell, waited)
            if timeout and waited > timeout:
                raise CellStall("timeout", self.current_cell_index, cell.source, waited, timeout)

    def _nudge_or_give_up(self, nudged_at, now, cell, waited):
        """A request not taken up: send another message (it wakes a kernel that missed one), then give up."""
        if nudged_at is None:
            self.kc.kernel_info()
            return now
        if now - nudged_at > self.ack_seconds:
            raise CellStall("dropped", self.current_cell_index, cell.source, waited)
        return nudged_at

    async def _finish(self, msg, cell, task_poll_output_msg, task_poll_kernel_alive):
        """nbclient's end of a cell: wait for the outputs to end (``idle``), then return the reply."""
        import asyncio

        try:
            await asyncio.wait_for(asyncio.shield(task_poll_output_msg), self.iopub_timeout)
        except asyncio.TimeoutError:
            self.log.warning(
                f"The cell's reply came but its outputs did not end within {self.iopub_timeout} s; going on."
            )
            task_poll_output_msg.cancel()
        task_poll_kernel_alive.cancel()
        return msg

    @staticmethod
    def _reply_from_outputs(msg_id, cell):
        error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
        content = (
            {"status": "error", "ename": error.ename, "evalue": error.evalue, "traceback": error.traceback}
            if error
            else {"status": "ok"}
        )
        return {"parent_header": {"msg_id": msg_id}, "msg_type": "execute_reply", "content": content}


_PYTHON_LANGUAGE_INFO = {
    "name": "python",
    "version": sys.version.split()[0],
    "mimetype": "text/x-python",
    "file_extension": ".py",
    "pygments_lexer": "ipython3",
    "nbconvert_exporter": "python",
    "codemirror_mode": {"name": "ipython", "version": 3},
}


async def _next_message(channel, timeout: float = 1):
    """The next message on a kernel channel, or None after ``timeout`` seconds."""
    from nbclient.util import ensure_async

    try:
        return await ensure_async(channel.get_msg(timeout=timeout))
    except Empty:
        return None


class _WatchdogEngine:
    """papermill's nbclient engine with the watchdog client (mixed into ``NBClientEngine`` like the client)."""

    client_class = None  # set by _register_engine

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man,
        kernel_name,
        log_output=False,
        stdout_file=None,
        stderr_file=None,
        start_timeout=60,
        execution_timeout=None,
        partial_output=None,
        **kwargs,
    ):
        import nbformat
        from papermill.log import logger

        kwargs.pop("input_path", None)
        client = cls.client_class(
            nb_man,
            kernel_name=kernel_name,
            timeout=execution_timeout,
            startup_timeout=start_timeout,
            iopub_timeout=30,
            log=logger,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
            **kwargs,
        )
        try:
            return client.execute()
        except CellStall:
            if partial_output:  # papermill writes the notebook only when it ran to the end
                nbformat.write(nb_man.nb, partial_output)
            raise


_ENGINE = None


def _register_engine():
    """Register papermill's engine with the watchdog (once); see :class:`CellStall` and :class:`_WatchdogClient`."""
    global _ENGINE
    if _ENGINE is not None:
        return _ENGINE
    from nbclient.util import run_sync
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines

    # nbclient's synchronous names are bound to its own coroutines: bind them to the watchdog's.
    synchronous = {
        name: run_sync(getattr(_WatchdogClient, f"async_{name}"))
        for name in ("start_new_kernel", "execute_cell", "wait_for_reply")
    }
    client = types.new_class(
        "WatchdogClient", (_WatchdogClient, PapermillNotebookClient), exec_body=lambda ns: ns.update(synchronous)
    )
    engine = types.new_class(
        "WatchdogEngine", (_WatchdogEngine, NBClientEngine), exec_body=lambda ns: ns.update(client_class=client)
    )
    papermill_engines.register(ENGINE_NAME, engine)
    _ENGINE = engine
    return _ENGINE


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
        with _build_dir_for_kernels(build_dir):
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

"""Running one lesson under a watchdog: papermill's nbclient engine, with a reply wait that never hangs.

:func:`execute_notebook` runs a notebook with papermill and the engine
:data:`ENGINE_NAME` (:class:`WatchdogEngine`, whose client is
:class:`WatchdogClient`). Every cell has a time limit, and the watchdog ends
a lesson whose kernel died, stopped answering its heartbeat, or never took up
a request, by raising :class:`CellStall`; :func:`mstl_lib.teaching.book.execute_notebooks`
turns that into a message that names the lesson, the cell and the fix.
:class:`CellProgress` shows the running cell and the time on a terminal.

What the client takes from nbclient: its public hooks (``on_cell_execute``
marks a cell's start), ``process_message`` (sees the kernel take up a
request), ``async_wait_for_reply`` (papermill's last ``kernel_info``), the
kernel's start options passed through ``execute(env=..., stdout=..., stderr=...)``;
and one private method, ``NotebookClient._async_poll_for_reply``, the loop that
waits for a cell's reply, for which nbclient offers no hook.
``tests/test_execution.py`` fails when its name, its signature or its caller
changes.

This module imports papermill (about a second); :mod:`mstl_lib.teaching.book`
imports it only when a lesson runs.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path
from queue import Empty
from time import monotonic

import nbformat
from nbclient.exceptions import DeadKernelError
from nbclient.util import ensure_async, run_sync
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.log import logger

from mstl_lib.quiet import quiet_environment

ACK_SECONDS = 20
"""A request the kernel has not taken up (no ``busy`` status) after this long is nudged, then, after as
long again, treated as dropped."""
REPLY_GRACE_SECONDS = 10
"""How long after the kernel reported a cell done (``idle``) its reply may still come before it is taken as lost."""
HEARTBEAT_SECONDS = 30
"""A kernel whose heartbeat stays silent this long has stopped answering (stopped, hung in C code)."""
ENGINE_NAME = "mstl-watchdog"
"""The name :class:`WatchdogEngine` is registered under with papermill."""

__all__ = [
    "ACK_SECONDS",
    "HEARTBEAT_SECONDS",
    "CellProgress",
    "CellStall",
    "WatchdogClient",
    "WatchdogEngine",
    "execute_notebook",
    "first_line",
]


class CellStall(Exception):
    """A cell that did not finish: ``kind`` is ``"timeout"``, ``"dropped"``, ``"silent"`` or ``"died"``.

    Raised by the watchdog of :func:`execute_notebook`;
    :func:`mstl_lib.teaching.book.execute_notebooks` turns it into a
    :class:`~mstl_lib.errors.DataError` naming the lesson, the cell and the fix.
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


def first_line(source: str) -> str:
    """A cell's first line of code (comments skipped), cut to 70 characters: how messages name a cell."""
    lines = [line.strip() for line in source.splitlines() if line.strip() and not line.strip().startswith("#")]
    line = lines[0] if lines else source.strip()
    return line if len(line) <= 70 else line[:67] + "..."


class CellProgress:
    """The cell a lesson is running, on one terminal line rewritten in place.

    Called by the watchdog when a cell starts and about once a second while it
    runs: ``cell 5 of 23 (`first line`) 12 s, lesson 80 s``.
    :func:`mstl_lib.teaching.book.build_book` uses it only when standard error
    is a terminal (``mstl book`` on a console); in a log file it would repeat
    line after line.
    """

    def __init__(self, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        self.started = monotonic()
        self.shown = False

    def __call__(self, index: int, count: int, source: str, elapsed: float) -> None:
        text = (
            f"  cell {index + 1} of {count} (`{first_line(source)}`) {elapsed:.0f} s, "
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
        A cell ran past ``cell_timeout`` seconds (``None`` or ``math.inf``:
        no limit), its request was never taken up (no ``busy`` from the
        kernel after ``ack_seconds``, and again after a nudge), the kernel's
        heartbeat stayed silent ``heartbeat_seconds``, or the kernel died. The
        notebook as far as it ran is still written. ``ack_seconds`` and
        ``heartbeat_seconds`` default to :data:`ACK_SECONDS` and
        :data:`HEARTBEAT_SECONDS`.
    papermill.PapermillExecutionError
        A cell raised an exception.
    """
    import math

    import papermill

    papermill_engines.register(ENGINE_NAME, WatchdogEngine)
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


class WatchdogClient(PapermillNotebookClient):
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
    """

    def __init__(self, nb_man, *, ack_seconds=ACK_SECONDS, heartbeat_seconds=HEARTBEAT_SECONDS, on_cell=None, **kw):
        super().__init__(nb_man, **kw)
        self.on_cell = on_cell
        self.ack_seconds = ack_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.acknowledged = False
        self.current_cell_index = 0
        self.cell_started = monotonic()
        self.on_cell_execute = self._cell_starts  # nbclient's hook: just before a code cell is sent

    def _cell_starts(self, cell, cell_index) -> None:
        self.acknowledged = False
        self.current_cell_index = cell_index
        self.cell_started = monotonic()
        self._report(cell)

    def _report(self, cell) -> None:
        """Tell ``on_cell`` which cell runs and for how long (the hook of :class:`CellProgress`)."""
        if self.on_cell is not None:
            self.on_cell(self.current_cell_index, len(self.nb.cells), cell.source, monotonic() - self.cell_started)

    def _stall(self, kind: str, cell, limit: float | None = None) -> CellStall:
        """The :class:`CellStall` of the running cell; the kernel, stopped or dead, is then killed, not asked."""
        self.shutdown_kernel = "immediate"
        return CellStall(kind, self.current_cell_index, cell.source, monotonic() - self.cell_started, limit)

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

    wait_for_reply = run_sync(async_wait_for_reply)  # nbclient binds the synchronous name to its own coroutine

    def process_message(self, msg, cell, cell_index):
        if msg.get("msg_type") == "status" and msg["content"].get("execution_state") == "busy":
            self.acknowledged = True
        return super().process_message(msg, cell, cell_index)

    async def _async_poll_for_reply(self, msg_id, cell, timeout, task_poll_output_msg, task_poll_kernel_alive):
        """nbclient's wait for a cell's reply (private: no hook replaces it), under the watchdog (:meth:`_watch`)."""
        try:
            return await self._watch(msg_id, cell, timeout, task_poll_output_msg, task_poll_kernel_alive)
        except CellStall:
            task_poll_kernel_alive.cancel()
            raise
        except asyncio.CancelledError:  # nbclient's own check found the kernel dead: it raises DeadKernelError
            self.shutdown_kernel = "immediate"
            raise

    async def _watch(self, msg_id, cell, timeout, task_poll_output_msg, task_poll_kernel_alive):
        """Poll for the cell's reply once a second; raise :class:`CellStall` when one of the checks fails."""
        nudged_at = idle_at = silent_since = None
        while True:
            msg = await _next_message(self.kc.shell_channel)
            if msg is not None:
                if msg["parent_header"].get("msg_id") == msg_id:
                    return await self._finish(msg, task_poll_output_msg, task_poll_kernel_alive)
                continue  # the reply to a nudge, or a late one to an earlier request
            now = monotonic()
            waited = now - self.cell_started
            self._report(cell)
            if not await ensure_async(self.km.is_alive()):
                raise self._stall("died", cell)
            silent_since = None if self.kc.hb_channel.is_beating() else (silent_since or now)
            if silent_since is not None and now - silent_since > self.heartbeat_seconds:
                raise self._stall("silent", cell)
            if task_poll_output_msg.done():
                task_poll_output_msg.result()  # raises what the output task raised
                idle_at = idle_at or now
                if now - idle_at > REPLY_GRACE_SECONDS:
                    self.log.warning("The kernel finished the cell but its reply was lost; going on.")
                    task_poll_kernel_alive.cancel()
                    return _reply_from_outputs(msg_id, cell)
            elif not self.acknowledged and waited > self.ack_seconds:
                nudged_at = self._nudge_or_give_up(nudged_at, now, cell)
            if timeout and waited > timeout:
                raise self._stall("timeout", cell, timeout)

    def _nudge_or_give_up(self, nudged_at, now, cell):
        """A request not taken up: send another message (it wakes a kernel that missed one), then give up."""
        if nudged_at is None:
            self.kc.kernel_info()
            return now
        if now - nudged_at > self.ack_seconds:
            raise self._stall("dropped", cell)
        return nudged_at

    async def _finish(self, msg, task_poll_output_msg, task_poll_kernel_alive):
        """nbclient's end of a cell: wait for the outputs to end (``idle``), then return the reply."""
        try:
            await asyncio.wait_for(asyncio.shield(task_poll_output_msg), self.iopub_timeout)
        except asyncio.TimeoutError:
            self.log.warning(
                f"The cell's reply came but its outputs did not end within {self.iopub_timeout} s; going on."
            )
            task_poll_output_msg.cancel()
        task_poll_kernel_alive.cancel()
        return msg


def _reply_from_outputs(msg_id, cell) -> dict:
    """The reply a cell would have had, made from its outputs (when the kernel's own was lost)."""
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
    try:
        return await ensure_async(channel.get_msg(timeout=timeout))
    except Empty:
        return None


class WatchdogEngine(NBClientEngine):
    """papermill's nbclient engine with :class:`WatchdogClient`; registered as :data:`ENGINE_NAME`."""

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
        kernel_log=None,
        **kwargs,
    ):
        """Run the notebook; on a :class:`CellStall`, write it as far as it ran to ``partial_output`` first."""
        kwargs.pop("input_path", None)
        client = WatchdogClient(
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
        # The kernel's start options (nbclient passes them to the kernel manager's start_kernel).
        start = {"env": quiet_environment()}
        if kernel_log is not None:
            start.update(stdout=kernel_log, stderr=kernel_log)
        try:
            return client.execute(**start)
        except DeadKernelError:
            source = nb_man.nb.cells[client.current_cell_index].source
            _write_partial(nb_man, partial_output)
            raise CellStall("died", client.current_cell_index, source, monotonic() - client.cell_started) from None
        except CellStall:
            _write_partial(nb_man, partial_output)
            raise


def _write_partial(nb_man, partial_output) -> None:
    """papermill writes the notebook only when it ran to the end: write it as far as it ran."""
    if partial_output:
        nbformat.write(nb_man.nb, partial_output)

"""The watchdog's hold on nbclient and papermill: the one private method it overrides, and the public hooks it uses.

nbclient offers no hook for the wait on a cell's reply, so
:class:`~mstl_lib.teaching.execution.WatchdogClient` overrides
``NotebookClient._async_poll_for_reply``. These tests fail, in a second, when an
nbclient or papermill release renames it, changes its arguments or stops calling
it, instead of letting ``mstl book`` hang or wait without its checks.
"""

from __future__ import annotations

import inspect
import io

from nbclient import NotebookClient
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine

from mstl_lib.teaching import execution
from mstl_lib.teaching.execution import CellProgress, CellStall, WatchdogClient, WatchdogEngine, first_line


def _parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_nbclient_still_waits_for_a_cell_reply_in_the_method_the_watchdog_overrides():
    assert hasattr(NotebookClient, "_async_poll_for_reply"), "nbclient renamed _async_poll_for_reply"
    assert _parameters(NotebookClient._async_poll_for_reply) == _parameters(WatchdogClient._async_poll_for_reply)
    assert _parameters(WatchdogClient._async_poll_for_reply) == [
        "self",
        "msg_id",
        "cell",
        "timeout",
        "task_poll_output_msg",
        "task_poll_kernel_alive",
    ]
    caller = inspect.getsource(NotebookClient.async_execute_cell)
    assert "self._async_poll_for_reply(" in caller, "nbclient no longer waits for the reply there"
    # a cancelled wait (nbclient's own kernel check) becomes DeadKernelError: the engine turns it into "died"
    assert "except asyncio.CancelledError" in caller and "DeadKernelError" in caller


def test_the_public_hooks_and_names_the_watchdog_uses_are_there():
    assert "on_cell_execute" in NotebookClient.class_trait_names()
    assert "run_hook(self.on_cell_execute" in inspect.getsource(NotebookClient.async_execute_cell)
    # the kernel's start options travel from execute(**kwargs) to the kernel manager
    assert "self.setup_kernel(**kwargs)" in inspect.getsource(PapermillNotebookClient.execute)
    assert "self.start_new_kernel(**kwargs)" in inspect.getsource(NotebookClient.setup_kernel)
    # papermill calls the synchronous wait_for_reply: it must run the watchdog's coroutine, not nbclient's
    assert "self.wait_for_reply(" in inspect.getsource(PapermillNotebookClient.execute)
    assert WatchdogClient.wait_for_reply is not NotebookClient.wait_for_reply
    assert issubclass(WatchdogClient, PapermillNotebookClient) and issubclass(WatchdogEngine, NBClientEngine)
    assert _parameters(NBClientEngine.execute_managed_notebook)[:2] == ["nb_man", "kernel_name"]


def test_a_stall_says_what_happened():
    assert "time limit: 5 s" in CellStall("timeout", 2, "x = 1", 6.2, 5).what()
    assert "never took up the request" in CellStall("dropped", 2, "x = 1", 40).what()
    assert f"no heartbeat for {execution.HEARTBEAT_SECONDS} s" in CellStall("silent", 2, "x = 1", 40).what()
    assert "died 3 s into the cell" in str(CellStall("died", 2, "x = 1", 3.4))


def test_progress_rewrites_one_line_and_clears_it():
    stream = io.StringIO()
    progress = CellProgress(stream)
    progress.close()
    assert stream.getvalue() == ""  # nothing shown, nothing to clear
    progress(4, 23, "# a comment\nmodel.fit(x)\n", 12.4)
    assert stream.getvalue().startswith("\r\x1b[K  cell 5 of 23 (`model.fit(x)`) 12 s, lesson ")
    progress.close()
    assert stream.getvalue().endswith("\r\x1b[K")


def test_first_line_skips_comments_and_cuts_long_lines():
    assert first_line("# set up\n\nimport numpy as np\nx = 1") == "import numpy as np"
    assert first_line("y = " + "1 + " * 40) == ("y = " + "1 + " * 40)[:67] + "..."

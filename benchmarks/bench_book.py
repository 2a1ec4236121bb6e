"""Figure 4: the smoke book, end to end.

Wall time of ``mstl book --profile smoke --build-dir <fresh temporary folder>``:
papermill executes every notebook in the smoke profile (from generating the
synthetic data on), then Jupyter Book builds the HTML with warnings as
errors. Target: <= 10 minutes. One run (it takes minutes): a single
measurement, not a median. The run has the smoke profile's time limit per
cell and the kernel watchdog of ``mstl book`` (mstl_lib/book.py), so a stalled
kernel ends it with a message instead of hanging the benchmarks.

``--quick`` does not build the book (it cannot be made to take seconds); the
figure is then reported as not run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import QUIET_ENV, REPO_ROOT, check, fmt

TARGET_S = 600.0


def run(quick: bool = False) -> dict:
    title = "4. Smoke book"
    if quick:
        return {
            "title": title, "status": "skipped",
            "what": "Not run with --quick: executing the notebooks takes minutes.",
            "checks": [check("wall time of `mstl book --profile smoke`", "≤ 10 min", None, "min", None)],
            "tables": [], "raw": {"skipped": "quick"},
        }
    env = {**os.environ, **QUIET_ENV}
    with tempfile.TemporaryDirectory(prefix="mstl-bench-book-") as tmp:
        build_dir = Path(tmp) / "_build"
        command = [sys.executable, "-m", "mstl_lib", "book", "--profile", "smoke", "--build-dir", str(build_dir)]
        started = time.perf_counter()
        out = subprocess.run(command, cwd=str(REPO_ROOT), capture_output=True, text=True, env=env)
        wall = time.perf_counter() - started
        html_pages = len(list((build_dir / "html").rglob("*.html"))) if (build_dir / "html").is_dir() else 0
    log = out.stdout + out.stderr
    per_notebook = []
    current = None
    for line in log.splitlines():
        match = re.match(r"Executing (\S+\.ipynb)", line)
        if match:
            current = match.group(1)
        match = re.match(r"\s+done in (\d+) s", line)
        if match and current:
            per_notebook.append([current, int(match.group(1))])
            current = None
    ok = out.returncode == 0
    minutes = wall / 60.0
    rows = [[name, fmt(seconds)] for name, seconds in per_notebook]
    executed = sum(s for _, s in per_notebook)
    rows.append(["book build (Jupyter Book, warnings as errors) and start-up", fmt(round(wall - executed))])
    rows.append(["total", fmt(round(wall))])
    return {
        "title": title,
        "what": (
            "Wall time of `mstl book --profile smoke --build-dir <fresh temporary folder>` in a child process: "
            "every notebook executed by papermill in the smoke profile (synthetic data generated from scratch, "
            "the work folder empty), then the HTML book built with warnings as errors. One run: a single "
            "measurement, not a median of repeats."
        ),
        "checks": [check("wall time of `mstl book --profile smoke`", "≤ 10 min", round(minutes, 2), "min",
                         ok and wall <= TARGET_S)],
        "tables": [{"caption": "Where the time went (seconds, as logged by `mstl book`)",
                    "columns": ["step", "seconds"], "rows": rows}],
        "raw": {"wall_s": wall, "returncode": out.returncode, "html_pages": html_pages,
                "per_notebook_s": per_notebook, "log_tail": "\n".join(log.splitlines()[-40:])},
    }


def explain(result: dict) -> list[str]:
    raw = result.get("raw", {})
    if raw.get("skipped"):
        return ["Skipped in a --quick run."]
    notes = [f"Exit status {raw.get('returncode')}; {raw.get('html_pages')} HTML pages written."]
    if raw.get("returncode"):
        notes.append("The build failed, so the target counts as not met; the end of its log is in "
                     "report.json (raw.log_tail).")
    return notes


if __name__ == "__main__":  # python benchmarks/bench_book.py [--quick]
    import json

    print(json.dumps(run("--quick" in sys.argv), indent=2))

"""Figure 4: the smoke book, end to end.

Wall time of ``mstl book --profile smoke --build-dir <fresh temporary folder>``,
three cold runs in a row (empty work folder, empty Keras weights cache):
papermill executes every notebook in the smoke profile (from generating the
synthetic data on), then Jupyter Book builds the HTML with warnings as
errors. Target: each run <= 5 minutes, and a quiet terminal. The run has the smoke profile's time limit per
cell and the kernel watchdog of ``mstl book`` (mstl_lib/teaching/execution.py), so a stalled
kernel ends it with a message instead of hanging the benchmarks.

``--quick`` does not build the book (it cannot be made to take seconds); the
figure is then reported as not run.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

from common import QUIET_ENV, book_run, check, fmt

TARGET_S = 300.0
RUNS = 3
NOISE = re.compile(r"^(E0000|I0000|W0000)|IPKernelApp", re.MULTILINE)


def one_run(tmp: Path, index: int) -> dict:
    """One cold run: fresh build folder, fresh Keras cache (the generic stage is trained too)."""
    env = {**os.environ, **QUIET_ENV, "KERAS_HOME": str(tmp / f"keras{index}")}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # what a newcomer's shell has: mstl sets the level itself
    build_dir = tmp / f"run{index}" / "_build"
    run = book_run("smoke", build_dir, env)
    wall, log = run["wall_s"], run["log"]
    html_pages = len(list((build_dir / "html").rglob("*.html"))) if (build_dir / "html").is_dir() else 0
    return {
        "wall_s": wall,
        "returncode": run["returncode"],
        "html_pages": html_pages,
        "per_notebook_s": run["per_notebook_s"],
        "noise_lines": NOISE.findall(log),
        "log_tail": "\n".join(log.splitlines()[-40:]),
    }


def run(quick: bool = False) -> dict:
    title = "4. Smoke book"
    what = (
        f"Wall time of `mstl book --profile smoke --build-dir <fresh temporary folder>` in a child process, "
        f"{RUNS} runs in a row, each cold: an empty work folder and an empty Keras weights cache, so every "
        "notebook is executed by papermill from the synthetic data on, the generic stage is trained, and the "
        "HTML book is built with warnings as errors. Each run's terminal output is searched for TensorFlow "
        "start-up lines (E0000, I0000, W0000) and kernel transport warnings (IPKernelApp)."
    )
    if quick:
        return {
            "title": title,
            "status": "skipped",
            "what": "Not run with --quick: executing the notebooks takes minutes.",
            "checks": [check("slowest of 3 cold runs of `mstl book --profile smoke`", "≤ 5 min", None, "min", None)],
            "tables": [],
            "raw": {"skipped": "quick"},
        }
    with tempfile.TemporaryDirectory(prefix="mstl-bench-book-") as tmp:
        runs = [one_run(Path(tmp), i) for i in range(RUNS)]
    ok = all(r["returncode"] == 0 for r in runs)
    slowest = max(r["wall_s"] for r in runs)
    quiet = not any(r["noise_lines"] for r in runs)
    names = [name for name, _ in runs[0]["per_notebook_s"]]
    rows = [[name, *[fmt(dict(r["per_notebook_s"]).get(name)) for r in runs]] for name in names]
    rows.append(
        [
            "book build (Jupyter Book, warnings as errors) and start-up",
            *[fmt(round(r["wall_s"] - sum(s for _, s in r["per_notebook_s"]))) for r in runs],
        ]
    )
    rows.append(["total", *[fmt(round(r["wall_s"])) for r in runs]])
    return {
        "title": title,
        "what": what,
        "checks": [
            check(
                f"slowest of {RUNS} cold runs of `mstl book --profile smoke`",
                "≤ 5 min",
                round(slowest / 60, 2),
                "min",
                ok and slowest <= TARGET_S,
            ),
            check(
                "TensorFlow start-up or IPKernelApp lines on the terminal",
                "0",
                sum(len(r["noise_lines"]) for r in runs),
                "",
                quiet,
            ),
        ],
        "tables": [
            {
                "caption": "Where the time went (seconds, as logged by `mstl book`), run by run",
                "columns": ["step", *[f"run {i + 1}" for i in range(RUNS)]],
                "rows": rows,
            }
        ],
        "raw": {"runs": runs, "returncode": max(r["returncode"] for r in runs), "html_pages": runs[0]["html_pages"]},
    }


def explain(result: dict) -> list[str]:
    raw = result.get("raw", {})
    if raw.get("skipped"):
        return ["Skipped in a --quick run."]
    notes = [f"Exit status {raw.get('returncode')}; {raw.get('html_pages')} HTML pages written."]
    if raw.get("returncode"):
        notes.append(
            "The build failed, so the target counts as not met; the end of its log is in "
            "report.json (raw.runs[*].log_tail)."
        )
    return notes


if __name__ == "__main__":  # python benchmarks/bench_book.py [--quick]
    import json

    print(json.dumps(run("--quick" in sys.argv), indent=2))

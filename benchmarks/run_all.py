"""Run the benchmarks on this machine and write the report.

    python benchmarks/run_all.py                     # everything (about half an hour on a 2-core CPU)
    python benchmarks/run_all.py --quick             # a sanity run with tiny sizes (well under a minute)
    python benchmarks/run_all.py --only segmentation memory
    python benchmarks/run_all.py --render-only       # rewrite the page from report.json

Each figure runs in a fresh child process (``--child NAME``), one after the
other, so that no figure inherits another's threads, memory or warm caches.
The full run writes ``benchmarks/results/report.json`` and the book page
``book/benchmarks.md``. A ``--quick`` run writes both into a temporary folder
(printed at the end) unless ``--out``/``--page`` say otherwise, so that it
never overwrites the measured report. ``--only`` on a full run updates those
figures in the existing report and keeps the others.

These are benchmarks, not tests: they measure and report, and nothing fails
when a target is missed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, EAGER_ENV, QUIET_ENV, REPO_ROOT, fmt, git_revision, machine_info, now_utc, versions  # noqa: E402

FIGURES = {
    "pipeline": "bench_pipeline",
    "segmentation": "bench_segmentation",
    "training": "bench_training",
    "book": "bench_book",
    "memory": "bench_memory",
    "gpu": "bench_gpu",
    "lab": "bench_lab",
    "study": "bench_study",
}
DEFAULT_OUT = BENCH_DIR / "results"
DEFAULT_PAGE = REPO_ROOT / "book" / "benchmarks.md"
COMMAND = "python benchmarks/run_all.py"
SCHEMA = 1


# --------------------------------------------------------------------------- running


def run_child(name: str, quick: bool) -> dict:
    """Run one figure in a fresh process; return its result (or the error)."""
    with tempfile.TemporaryDirectory(prefix=f"mstl-bench-{name}-") as tmp:
        out_file = Path(tmp) / "result.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--child-out", str(out_file)]
        if quick:
            command.append("--quick")
        started_at = now_utc()
        started = time.perf_counter()
        process = subprocess.run(
            command, cwd=str(REPO_ROOT), capture_output=True, text=True, env={**os.environ, **QUIET_ENV}
        )
        wall = time.perf_counter() - started
        if process.returncode == 0 and out_file.is_file():
            result = json.loads(out_file.read_text())
            result["status"] = result.get("status", "ok")
        else:
            result = {
                "title": name,
                "status": "error",
                "checks": [],
                "tables": [],
                "error": (process.stdout + process.stderr)[-4000:],
            }
    result.update(name=name, quick=quick, measured_at=started_at, wall_s=round(wall, 1))
    return result


def child_main(name: str, out_file: str, quick: bool) -> int:
    if quick:
        os.environ[EAGER_ENV] = "1"  # inherited by the figures' own child processes
    module = importlib.import_module(FIGURES[name])
    result = module.run(quick)
    Path(out_file).write_text(json.dumps(result, indent=1, default=str))
    return 0


def summary_line(result: dict) -> str:
    parts = []
    for c in result.get("checks", []):
        state = {True: "met", False: "NOT met", None: "—"}[c.get("met")]
        parts.append(f"{c['figure']}: {_measured(c)} (target {c['target']}, {state})")
    if result.get("status") == "error":
        lines = (result.get("error") or "").strip().splitlines()
        parts.append("ERROR: " + (lines[-1] if lines else "see report.json"))
    return "; ".join(parts)


# --------------------------------------------------------------------------- rendering


def _cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(columns, rows) -> list[str]:
    lines = ["| " + " | ".join(_cell(c) for c in columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def _met(check: dict) -> str:
    return {True: "met", False: "**not met**", None: "—"}[check.get("met")]


def _number(value) -> str:
    """Three significant digits (1.84, 0.947, 16.6), whole numbers from 1,000 up."""
    if isinstance(value, float) and abs(value) < 1000:
        return f"{value:.3g}"
    return fmt(value)


def _measured(check: dict) -> str:
    if check.get("value") is None:
        return check.get("display", "not measured")
    return f"{_number(check['value'])} {check.get('unit', '')}".strip()


def notes_for(name: str, result: dict) -> list[str]:
    try:
        module = importlib.import_module(FIGURES[name])
        return module.explain(result)
    except Exception as error:  # a figure that failed may lack what explain() reads
        return [f"(no notes: {type(error).__name__}: {error})"]


def render(report: dict) -> str:
    figures = report["figures"]
    machine, versions_ = report["machine"], report["versions"]
    quick = any(f.get("quick") for f in figures.values())
    out = ["# Benchmarks", ""]
    out += [
        "How fast the library's pieces run on the machine that built this page, against the targets the "
        "project sets for them: the input pipeline and the training loop should cost no more than plain "
        "Keras, segmentation should handle at least ten frames a second on one core, the smoke book should "
        "build in under ten minutes and stage 1 at the paper's scale should fit in 3 GB. "
        "Every number below was written by "
        "`benchmarks/run_all.py`; none is typed by hand. "
        "Each figure is the median of several repeats with the warm-up left out, unless it "
        "says otherwise. Where a figure is a comparison, both sides ran in the same process, in turn "
        "(A, B, A, B, ...), and the page gives their ratio: these machines are shared, so absolute times "
        "drift from run to run while ratios of interleaved runs hold. These are benchmarks, not tests; "
        "no test asserts a time.",
        "",
    ]
    if quick:
        out += [
            "**This report comes from a `--quick` sanity run: its sizes are tiny and its numbers mean nothing.**",
            "",
        ]
    out += [
        "## How to rerun",
        "",
        "From the repository root, with the virtual environment active:",
        "",
        "```bash",
        f"{COMMAND}                          # all figures; writes benchmarks/results/report.json and this page",
        f"{COMMAND} --quick                  # tiny sizes, a sanity check in well under a minute",
        f"{COMMAND} --only segmentation      # rerun some figures, keep the others",
        f"{COMMAND} --render-only            # rewrite this page from report.json",
        "```",
        "",
        "Figures: " + ", ".join(f"`{n}`" for n in FIGURES) + ". A `--quick` run writes to a temporary "
        "folder, so it never replaces the measured report. Each figure runs in its own process, one after "
        "the other; close other heavy programs first.",
        "",
        "## Machine, versions, date",
        "",
    ]
    rows = [
        ["report written (UTC)", report["generated"]],
        ["CPU", machine.get("cpu")],
        ["logical CPUs (usable)", f"{machine.get('logical_cpus')} ({machine.get('usable_cpus')})"],
        ["memory", f"{fmt(machine.get('memory_gib'), 1)} GiB"],
        ["GPU", ", ".join(machine.get("gpus") or []) or "none found"],
        ["operating system", machine.get("os")],
        ["Python", machine.get("python")],
        ["load average at start (1, 5, 15 min)", ", ".join(str(v) for v in machine.get("load_average_at_start") or [])],
    ]
    rows += [[name, version or "not installed"] for name, version in versions_.items()]
    out += table(["", ""], rows) + [""]

    out += ["## Summary", ""]
    rows = []
    for name, result in figures.items():
        title = result.get("title", name)
        if result.get("status") == "error":
            rows.append([title, "—", "error (see below)", "—"])
        for c in result.get("checks", []):
            rows.append([f"{title}: {c['figure']}", c["target"], _measured(c), _met(c)])
    out += table(["figure", "target", "measured", "target met"], rows) + [""]

    for name, result in figures.items():
        out += [f"## {result.get('title', name)}", ""]
        stamp = f"Measured {result.get('measured_at', '?')}, in {fmt(result.get('wall_s'), 0)} s"
        if result.get("quick"):
            stamp += " (`--quick`: tiny sizes)"
        out += [stamp + ".", ""]
        if result.get("what"):
            out += [result["what"], ""]
        if result.get("status") == "error":
            lines = [ln for ln in (result.get("error") or "").strip().splitlines() if ln.strip()]
            out += [
                "This figure failed to run. Its last error line is below; the end of its log is in "
                "`report.json` (the figure's `error` field).",
                "",
                "```text",
                lines[-1] if lines else "(no output)",
                "```",
                "",
            ]
            continue
        if result.get("checks"):
            out += table(
                ["figure", "target", "measured", "target met"],
                [[c["figure"], c["target"], _measured(c), _met(c)] for c in result["checks"]],
            ) + [""]
        for t in result.get("tables", []):
            out += [f"{t['caption']}:", ""] + table(t["columns"], t["rows"]) + [""]
        if name == "gpu":
            import bench_gpu

            estimate = bench_gpu.estimate_table(
                figures.get("training"), result.get("raw", {}).get("gpu_available", False)
            )
            if estimate:
                out += [f"{estimate['caption']}:", ""] + table(estimate["columns"], estimate["rows"]) + [""]
        notes = notes_for(name, result)
        result["notes"] = notes
        if notes:
            out += ["Notes:", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(out).rstrip() + "\n"


README_START = "<!-- benchmark-summary:start (written by benchmarks/run_all.py) -->"
README_END = "<!-- benchmark-summary:end -->"


def readme_block(report: dict, page_text: str) -> str:
    """The headline figures for README.md: the page's summary table and the machine it came from."""
    lines = page_text.splitlines()
    start = lines.index("## Summary") + 1
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("## "))
    summary = [line for line in lines[start:end] if line.strip()]
    machine = report["machine"]
    gpus = ", ".join(map(str, machine.get("gpus") or [])) or "no GPU"
    source = (
        f"Measured on {machine.get('cpu', 'an unknown CPU')}, {machine.get('logical_cpus', '?')} logical CPUs, "
        f"{machine.get('memory_gib', '?')} GiB, {gpus}"
    )
    return "\n".join(
        [
            README_START,
            "",
            source + f", {report['generated'][:10]} (full report: book/benchmarks.md).",
            "",
            *summary,
            "",
            README_END,
        ]
    )


def update_readme(report: dict, page_text: str, readme: Path) -> None:
    """Replace the marked block of README.md with the current headline figures."""
    if not readme.is_file():
        return
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return
    before, rest = text.split(README_START, 1)
    after = rest.split(README_END, 1)[1]
    readme.write_text(before + readme_block(report, page_text) + after)


def write_outputs(report: dict, out_dir: Path, page: Path) -> None:
    text = render(report)  # also stores each figure's notes in the report
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(text)
    if page.resolve() == DEFAULT_PAGE.resolve():
        update_readme(report, text, DEFAULT_PAGE.parents[1] / "README.md")


# --------------------------------------------------------------------------- main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes, TensorFlow eager: a sanity run in well under a minute (numbers mean nothing)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=list(FIGURES),
        metavar="NAME",
        help=f"run only these figures ({', '.join(FIGURES)})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for report.json (default benchmarks/results; --quick: a temporary folder)",
    )
    parser.add_argument(
        "--page",
        type=Path,
        default=None,
        help="Markdown page to write (default book/benchmarks.md; --quick: OUT/benchmarks.md)",
    )
    parser.add_argument("--render-only", action="store_true", help="rewrite the page from OUT/report.json")
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="figures run at once (default 1; --quick: 2, timings are meaningless there anyway)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        return child_main(args.child, args.child_out, args.quick)

    if args.out is None:
        args.out = Path(tempfile.mkdtemp(prefix="mstl-bench-quick-")) if args.quick else DEFAULT_OUT
    if args.page is None:
        args.page = args.out / "benchmarks.md" if args.quick else DEFAULT_PAGE
    report_path = args.out / "report.json"

    if args.render_only:
        report = json.loads(report_path.read_text())
        write_outputs(report, args.out, args.page)
        print(f"Rewrote {args.page} from {report_path}")
        return 0

    names = args.only or list(FIGURES)
    previous = {}
    if args.only and not args.quick and report_path.is_file():
        previous = json.loads(report_path.read_text()).get("figures", {})
    report = {
        "schema": SCHEMA,
        "generated": now_utc(),
        "command": " ".join([COMMAND, *sys.argv[1:]]),
        "machine": machine_info(),
        "versions": versions(),
        "git": git_revision(),
        "figures": {},
    }
    jobs = args.jobs or (2 if args.quick else 1)
    print(f"Running {', '.join(names)}{' (quick)' if args.quick else ''} ...", flush=True)
    started = time.perf_counter()

    def one(name):
        t0 = time.perf_counter()
        result = run_child(name, args.quick)
        print(f"  {name}: {time.perf_counter() - t0:.0f} s — {summary_line(result)}", flush=True)
        return name, result

    order = names
    if jobs > 1:  # start the long ones first
        order = sorted(
            names, key=lambda n: ["lab", "training", "memory", "pipeline", "gpu", "segmentation", "book"].index(n)
        )
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = dict(pool.map(one, order))
    figures = {}
    for name in FIGURES:  # keep the page in figure order
        if name in results:
            figures[name] = results[name]
        elif name in previous:
            figures[name] = previous[name]
    report["figures"] = figures
    write_outputs(report, args.out, args.page)
    print(f"Done in {time.perf_counter() - started:.0f} s. Wrote {report_path} and {args.page}")
    return 1 if any(r.get("status") == "error" for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

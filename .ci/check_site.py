"""Check the built book in a real headless browser (Debian's chromium).

For every page in _toc.yml: the page loads, its images all load (no broken
figures), lesson pages show at least one figure, widgets come with their saved
state, and no page shows an error output or a traceback. The text rules
(:func:`text_problems`) also fail a page that shows an absolute path of the
build machine (``/tmp/...``, ``/home/...``, ``/root/...``, ``/work/...`` or the
repository's own folder), an output with a raw ``np.float64(...)`` or
``TtestResult(...)`` repr, or a table cell that pandas cut short ("thr…",
"Ima..."). The exercise rules (:func:`exercise_problems`) fail a page that shows a
check's ✓ / ✗ line beside folded solutions, or a check message that states an
expected value.

Numbers in prose from the run (:func:`run_number_problems`): every mean test
AUC that a page's prose gives for an arm ("0.954 (CTL)", "0.954 for CTL") must
be the one the run's results file holds (the grid folder of the book's work
folder, ``--grid``), so a chapter cannot quote another run. And
(:func:`typed_run_numbers`) the prose chapters' sources may not type such a
number at all: they glue it from the lesson that computes it.

At 1280 px (a common laptop), no output may be cut off: a code output or a
table wider than its box must wrap or scroll visibly (:data:`OVERFLOW_STATE`).

Exits non-zero with a list of problems.

Usage: python .ci/check_site.py [_build/html] [--grid DIR] [--screenshots DIR]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import re
import sys
import threading
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

PAGE_STATE = """
const main = document.querySelector('main') || document.body;
const images = Array.from(main.querySelectorAll('img'));
return {
  title: document.title,
  images: images.length,
  broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src')),
  errors: main.querySelectorAll('.output.error, .output.traceback, div.cell_output .error').length,
  traceback: main.innerText.includes('Traceback (most recent call last)'),
  text: main.innerText.length,
  pageText: main.innerText,
  outputs: Array.from(main.querySelectorAll('div.cell_output, .output')).map(o => o.innerText),
  cells: Array.from(main.querySelectorAll('table td, table th')).map(c => c.innerText.trim()),
  visibleOutputs: Array.from(main.querySelectorAll('div.cell_output, .output'))
    .filter(o => o.checkVisibility()).map(o => o.innerText),
  allOutputs: Array.from(main.querySelectorAll('div.cell_output, .output')).map(o => o.textContent),
  folded: main.querySelectorAll('.cell.tag_solution, .cell.tag_hide-cell, details.hide').length,
  widgetViews: document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length,
  widgetState: document.querySelectorAll('script[type="application/vnd.jupyter.widget-state+json"]').length,
};
"""


OVERFLOW_STATE = """
const main = document.querySelector('main') || document.body;
const right = main.getBoundingClientRect().right;
const scrolls = (el) => {
  for (let a = el; a && a !== document.body; a = a.parentElement) {
    const ox = getComputedStyle(a).overflowX;
    if ((ox === 'auto' || ox === 'scroll') && a.scrollWidth > a.clientWidth + 1) return true;
  }
  return false;
};
const cut = [];
for (const el of main.querySelectorAll('div.cell_output pre, div.cell_output table, table.dataframe, pre')) {
  const wide = el.scrollWidth > el.clientWidth + 1 || el.getBoundingClientRect().right > right + 1;
  if (wide && !scrolls(el)) cut.push(el.innerText.trim().split('\\n')[0].slice(0, 80));
}
return cut;
"""
"""Outputs and tables wider than their box that neither wrap nor scroll: text the reader cannot see."""
WIDTH = 1280
"""Window width of the check, a common laptop's."""


MACHINE_PATH = re.compile(r"(?<![\w.:/~-])/(?:tmp|home|root|work|Users|private|var/folders)/[^\s'\"<>)]*")
"""An absolute path of the build machine; not a URL (``https://host/work/``) nor a relative one (``_build/work``)."""
RAW_REPRS = ("np.float64(", "np.float32(", "np.int64(", "TtestResult(", "TTestResult(")
"""Reprs that mean a result was printed raw instead of as a sentence or a table."""
TRUNCATED = re.compile(r"\w(?:…|\.\.\.)$")
"""A table cell ending in an ellipsis right after a word character: pandas' cut ("thr…", "Ima...")."""


def text_problems(page_text: str, outputs=(), cells=(), build_root: str | None = None) -> list[str]:
    """The text rules of the site check, for one page; pure, so the tests can call it.

    Parameters
    ----------
    page_text : str
        All visible text of the page.
    outputs : sequence of str
        The text of each code-cell output.
    cells : sequence of str
        The text of each table cell (``td`` and ``th``).
    build_root : str, optional
        The repository's absolute path on the build machine; also refused anywhere in the page.
    """
    problems = []
    paths = sorted(set(MACHINE_PATH.findall(page_text)))
    root = (build_root or "").rstrip("/")
    if (
        root.count("/") >= 2
        and re.search(re.escape(root) + r"(?![\w.-])", page_text)
        and not any(p.startswith(root) for p in paths)
    ):
        paths.insert(0, root)
    if paths:
        problems.append(f"shows an absolute path of the build machine: {', '.join(paths[:3])}")
    raw = sorted({r for r in RAW_REPRS for output in outputs if r in output})
    if raw:
        problems.append(f"prints raw reprs instead of sentences or tables: {', '.join(raw)}")
    cut = [c for c in cells if TRUNCATED.search(c)]
    if cut:
        problems.append(f"has table cells cut short by pandas: {', '.join(repr(c) for c in cut[:3])}")
    return problems


CHECK_LINE = re.compile(r"^\s*[✓✗] (?:Correct|Not yet|No answer yet)\b.*$", re.MULTILINE)
"""A line printed by an exercise check (mstl_lib.teaching.exercises.check)."""
EXPECTED_VALUE = re.compile(r"\b(?:expected|should be|the answer is|correct answer)\s*:?\s*[-+(\[]?\d", re.IGNORECASE)
"""Wording with which a message would give away the value it compares with."""


def exercise_problems(visible_outputs=(), all_outputs=(), folded_solutions: int = 0) -> list[str]:
    """The exercise rules of the site check, for one page; pure, so the tests can call it.

    A page with folded solutions must not show a check's ✓ / ✗ line (it would tell the reader the
    answer the fold hides: the book tags check cells ``remove-output``), and no check line anywhere
    in the page, shown or folded, may state an expected value.

    Parameters
    ----------
    visible_outputs : sequence of str
        The text of each code-cell output the reader sees without unfolding anything.
    all_outputs : sequence of str
        The text of every code-cell output in the page, folded or not.
    folded_solutions : int
        How many folded (``hide-cell``) solution cells the page has.
    """
    problems = []
    shown = [line.strip() for output in visible_outputs for line in CHECK_LINE.findall(output)]
    if folded_solutions and shown:
        problems.append(f"shows check output under folded solutions: {', '.join(repr(x) for x in shown[:3])}")
    lines = {line.strip() for output in (*visible_outputs, *all_outputs) for line in CHECK_LINE.findall(output)}
    revealing = sorted(line for line in lines if EXPECTED_VALUE.search(line))
    if revealing:
        problems.append(f"a check message gives away the expected value: {', '.join(map(repr, revealing[:3]))}")
    return problems


ARM_WORDS = {"scratch": "scratch", "ctl": "CTL", "mstl": "MSTL", "baseline": "baseline"}
PROSE_AUC = re.compile(
    r"(?P<value>\d\.\d{3}) (?:\((?P<paren>scratch|CTL|MSTL|baseline)\)|from (?P<from>scratch)"
    r"|for (?:the (?:classical )?)?(?P<for>CTL|MSTL|baseline))"
)
"""A mean test AUC given for an arm in prose: "0.954 (CTL)", "0.954 from scratch", "0.954 for the baseline"."""


def expected_run_numbers(results: list[dict]) -> dict[str, str]:
    """Per arm word of :data:`ARM_WORDS`, the mean test AUC over folds of the run, as prose prints it (3 decimals)."""
    from mstl_lib.evaluation.report import fold_frame

    means = fold_frame(results).groupby("tl")["auc"].mean()
    return {ARM_WORDS[tl]: f"{auc:.3f}" for tl, auc in means.items() if tl in ARM_WORDS}


def run_number_problems(page_text: str, expected: dict[str, str]) -> list[str]:
    """Mean test AUCs in a page's prose that are not the run's (``expected``: :func:`expected_run_numbers`).

    Only sentences that speak of an AUC are read, so that other numbers given per arm (the paper's losses,
    say) are left alone.
    """
    problems = []
    sentences = [s for s in re.split(r"(?<=[.!?]) ", re.sub(r"\s+", " ", page_text)) if "AUC" in s]
    for match in (m for sentence in sentences for m in PROSE_AUC.finditer(sentence)):
        arm = match.group("paren") or match.group("from") or match.group("for")
        want = expected.get(arm)
        if want is None:
            problems.append(f"gives a test AUC of {match.group('value')} for {arm}, which the run has no result for")
        elif match.group("value") != want:
            problems.append(f"gives {arm}'s mean test AUC as {match.group('value')}; the run's results say {want}")
    return problems


TYPED_RESULT = re.compile(
    r"AUCs?\b[^.\n]{0,60}?\b0\.\d{2,3}\b|\b0\.\d{2,3}\b[^.\n]{0,12}\((?:scratch|CTL|MSTL)\)"
    r"|corrected[^.\n]{0,40}p = 0\.\d+"
)
"""A result typed into a chapter's source: an AUC value, an arm's number, a corrected test's p-value."""


def typed_run_numbers(markdown: str, allowed: set[str] = frozenset()) -> list[str]:
    """Run results typed into a prose chapter's Markdown source (glue them instead).

    ``allowed`` holds the numbers the page may type because they are the paper's (its Table 1, section 3.5).
    Glue roles (``{glue:text}`...```) and fenced code are ignored.
    """
    text = re.sub(r"```.*?```", "", markdown, flags=re.S)
    text = re.sub(r"\{glue:[a-z]+\}`[^`]*`", "", text)
    found = []
    for match in TYPED_RESULT.finditer(text):
        numbers = set(re.findall(r"0\.\d+", match.group(0)))
        if numbers - allowed:
            found.append(match.group(0))
    return found


def toc_pages(toc_path: Path) -> list[str]:
    toc = yaml.safe_load(toc_path.read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [chapter["file"] for chapter in part.get("chapters", [])]
    return pages


def serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--window-size={WIDTH},1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(60)
    return driver


def run_numbers(grid: str | None) -> dict[str, str]:
    """The run's mean test AUC per arm (:func:`expected_run_numbers`), from its grid folder."""
    from mstl_lib.evaluation.results import load_results
    from mstl_lib.run_files import GRID_MANIFEST

    if grid is None:
        candidates = sorted((ROOT / "_build" / "work").glob(f"*/grid/{GRID_MANIFEST}"))
        if len(candidates) != 1:
            found = ", ".join(str(c.parent) for c in candidates) or "none"
            raise SystemExit(f"Site check: name the run's grid folder with --grid (found: {found}).")
        grid = candidates[0].parent
    return expected_run_numbers(load_results(grid))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("html", nargs="?", default=str(ROOT / "_build" / "html"))
    parser.add_argument("--screenshots", default=None, help="save a full-page PNG of every page here")
    parser.add_argument(
        "--grid", default=None, help="the run's grid folder (default: the only _build/work/<profile>/grid)"
    )
    args = parser.parse_args()
    expected = run_numbers(args.grid)
    from selenium.webdriver.common.by import By

    html = Path(args.html)
    server, base = serve(html)
    driver = browser()
    problems = []
    try:
        for page in toc_pages(ROOT / "_toc.yml"):
            url = f"{base}/{page}.html"
            if not (html / f"{page}.html").is_file():
                problems.append(f"{page}: not built")
                continue
            driver.get(url)
            driver.find_element(By.TAG_NAME, "main")
            state = driver.execute_script(PAGE_STATE)
            line = f"{page}: {state['images']} images, {state['widgetViews']} widgets, {state['text']} characters"
            if state["broken"]:
                problems.append(f"{page}: broken images {state['broken']}")
            if page.startswith("notebooks/") and state["images"] == 0:
                problems.append(f"{page}: a lesson page without any figure")
            if state["errors"] or state["traceback"]:
                problems.append(f"{page}: shows an error output or a traceback")
            if state["widgetViews"] and not state["widgetState"]:
                problems.append(f"{page}: widgets without saved widget state (they would render as nothing)")
            for problem in text_problems(state["pageText"], state["outputs"], state["cells"], str(ROOT)):
                problems.append(f"{page}: {problem}")
            for problem in exercise_problems(state["visibleOutputs"], state["allOutputs"], state["folded"]):
                problems.append(f"{page}: {problem}")
            for problem in run_number_problems(state["pageText"], expected):
                problems.append(f"{page}: {problem}")
            for start in driver.execute_script(OVERFLOW_STATE):
                problems.append(f"{page}: an output or table is cut off at {WIDTH} px: {start!r}")
            if state["text"] < 500:
                problems.append(f"{page}: almost empty ({state['text']} characters)")
            print(line)
            if args.screenshots:
                out = Path(args.screenshots)
                out.mkdir(parents=True, exist_ok=True)
                height = driver.execute_script("return document.body.scrollHeight")
                driver.set_window_size(WIDTH, min(max(height, 1000), 16000))
                driver.save_screenshot(str(out / (page.replace("/", "_") + ".png")))
                driver.set_window_size(WIDTH, 1000)
    finally:
        driver.quit()
        server.shutdown()
    if problems:
        print("\nSite check FAILED:\n  " + "\n  ".join(problems))
        return 1
    print(f"\nSite check passed: {len(toc_pages(ROOT / '_toc.yml'))} pages.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

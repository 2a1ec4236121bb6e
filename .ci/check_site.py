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
expected value. Exits non-zero with a list of problems.

Usage: python .ci/check_site.py [_build/html] [--screenshots DIR]
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
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(60)
    return driver


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("html", nargs="?", default=str(ROOT / "_build" / "html"))
    parser.add_argument("--screenshots", default=None, help="save a full-page PNG of every page here")
    args = parser.parse_args()
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
            if state["text"] < 500:
                problems.append(f"{page}: almost empty ({state['text']} characters)")
            print(line)
            if args.screenshots:
                out = Path(args.screenshots)
                out.mkdir(parents=True, exist_ok=True)
                height = driver.execute_script("return document.body.scrollHeight")
                driver.set_window_size(1400, min(max(height, 1000), 16000))
                driver.save_screenshot(str(out / (page.replace("/", "_") + ".png")))
                driver.set_window_size(1400, 1000)
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

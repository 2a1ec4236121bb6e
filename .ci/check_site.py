"""Check the built book in a real headless browser (Debian's chromium).

For every page in _toc.yml: the page loads, its images all load (no broken
figures), lesson pages show at least one figure, widgets come with their saved
state, and no page shows an error output or a traceback. Exits non-zero with a list of problems.

Usage: python .ci/check_site.py [_build/html] [--screenshots DIR]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import sys
import threading
from pathlib import Path

import yaml
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

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
  widgetViews: document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length,
  widgetState: document.querySelectorAll('script[type="application/vnd.jupyter.widget-state+json"]').length,
};
"""


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


def browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(60)
    return driver


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("html", nargs="?", default=str(ROOT / "_build" / "html"))
    parser.add_argument("--screenshots", default=None, help="save a full-page PNG of every page here")
    args = parser.parse_args()
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

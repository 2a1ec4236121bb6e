"""Lesson 2 opened in JupyterLab, in headless Chromium, as a student opens it.

The test starts ``jupyter lab`` on 127.0.0.1 with a token, opens a copy of
lesson 2 (smoke profile, a fresh work folder) with its kernel already started
(so no "Select Kernel" dialog can swallow the command), runs all cells from
the Run menu, saves, and checks that no cell ended in an error, that the segmentation
explorer's sliders are drawn, and that moving one redraws its figure.

It needs Chromium and its driver (Debian: ``apt-get install chromium
chromium-driver``); without them it skips, except in CI (``CI=true``), where
it fails.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSON = "02_cell_segmentation.ipynb"
KERNEL = "python3"
"""The lesson's kernelspec: this Python, where mstl_lib is installed."""
RUN_SECONDS = 480
"""Run All of the smoke-profile lesson (about 2 minutes on a loaded 2-core machine)."""
STEP_SECONDS = 60
"""Any other step: the page, the kernel, a menu, a redraw."""
RUN_STATE = (
    "const s = document.querySelector('.jp-Notebook-ExecutionIndicator');"
    "const prompts = Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputPrompt'))"
    "  .map(p => p.textContent);"
    "return Boolean(s) && s.dataset.status === 'idle' && !prompts.some(p => p.includes('*'))"
    "  && prompts.some(p => /[0-9]/.test(p));"
)
RUN_STARTED = (
    "return Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputPrompt'))"
    "  .some(p => /[0-9*]/.test(p.textContent));"
)
NO_WINDOWING = '{"windowingMode": "none"}'
"""Notebook setting: every cell in the page, not only those in view (JupyterLab 4 renders a window)."""
KERNEL_IDLE = (
    "const s = document.querySelector('.jp-Notebook-ExecutionIndicator');"
    "return Boolean(s) && s.dataset.status === 'idle';"
)


def _browser_paths() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    message = "Chromium and chromedriver are needed (Debian: apt-get install chromium chromium-driver)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; CI installs them before the tests (.ci/run)")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """A running JupyterLab serving a copy of lesson 2; yields (url, token, folder)."""
    folder = tmp_path / "lessons"
    folder.mkdir()
    shutil.copy(ROOT / "notebooks" / LESSON, folder / LESSON)
    tracker = tmp_path / "settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text(NO_WINDOWING)
    port, token = _free_port(), secrets.token_hex(16)
    environment = {
        **os.environ,
        "MSTL_WORK_DIR": str(tmp_path / "work"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
    }
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}"]
    command += [f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}", "--LabApp.news_url=None"]
    command += ["--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--allow-root"]  # CI runs as root
    log = (tmp_path / "lab.log").open("w")
    server = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            if server.poll() is not None:
                break
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail("JupyterLab did not start (120 s):\n" + (tmp_path / "lab.log").read_text()[-3000:])
        _start_session(url, token)
        yield url, token, folder
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _start_session(url: str, token: str) -> None:
    """Start the lesson's kernel before the page opens.

    A page that opens a notebook without a session may ask which kernel to
    start (a "Select Kernel" dialog, depending on when the kernel list
    arrives), and that dialog swallows Run All.
    """
    body = json.dumps({"path": LESSON, "name": LESSON, "type": "notebook", "kernel": {"name": KERNEL}}).encode()
    request = urllib.request.Request(
        f"{url}/api/sessions",
        data=body,
        method="POST",
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=STEP_SECONDS) as response:
        assert response.status == 201, response.read()


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = _browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(argument)
    session = webdriver.Chrome(service=Service(driver), options=options)
    try:
        yield session
    finally:
        session.quit()


def _menu_command(browser, menu: str, command: str) -> None:
    """Click a JupyterLab command in a top menu (``Run`` / ``runmenu:run-all``)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, STEP_SECONDS)
    items = browser.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-item")
    next(item for item in items if item.text.strip() == menu).click()
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, f'.lm-Menu-item[data-command="{command}"]'))).click()


def _run_finished(browser, polls: list) -> bool:
    """The kernel idle, no cell waiting or running and some cell run, on three polls in a row.

    Run All queues every cell at once, so the kernel stays busy until the last
    one is done or an error has cancelled the rest.
    """
    polls.append(browser.execute_script(RUN_STATE))
    return len(polls) >= 3 and all(polls[-3:])


def _wait(browser, folder: Path, what: str, condition) -> None:
    """Wait up to STEP_SECONDS for ``condition``; on timeout save a screenshot beside ``folder`` and fail."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(browser, STEP_SECONDS, poll_frequency=1).until(condition)
    except TimeoutException:
        browser.save_screenshot(str(folder.parent / "timeout.png"))
        pytest.fail(f"no {what} after {STEP_SECONDS} s; screenshot and server log in {folder.parent}")


def _figure_source(browser) -> str:
    return browser.execute_script(
        "const img = document.querySelector('.widget-output img, .jupyter-widgets-output-area img');"
        "return img ? img.src : '';"
    )


@pytest.mark.slow
def test_lesson_2_runs_in_jupyterlab_and_its_sliders_redraw_the_figure(browser, lab):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    url, token, folder = lab
    browser.get(f"{url}/lab/tree/{LESSON}?token={token}")
    _wait(
        browser, folder, "the notebook's cells", lambda b: b.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-CodeCell")
    )
    _wait(browser, folder, "an idle kernel", lambda b: b.execute_script(KERNEL_IDLE))
    time.sleep(2)
    for button in browser.find_elements(By.CSS_SELECTOR, ".jp-Dialog .jp-mod-accept"):
        button.click()  # a "Select Kernel" dialog would swallow Run All; its default is the lesson's kernel
    _menu_command(browser, "Run", "runmenu:run-all")
    _wait(browser, folder, "cell running after Run All", lambda b: b.execute_script(RUN_STARTED))
    polls: list = []
    try:
        WebDriverWait(browser, RUN_SECONDS, poll_frequency=2).until(lambda b: _run_finished(b, polls))
    except TimeoutException:
        browser.save_screenshot(str(folder.parent / "timeout.png"))
        prompts = browser.execute_script(
            "return Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')).map(p => p.textContent)"
        )
        pytest.fail(f"Run All did not finish in {RUN_SECONDS} s; prompts {prompts}; screenshot in {folder.parent}")
    _menu_command(browser, "File", "docmanager:save")
    time.sleep(3)

    saved = nbformat.read(folder / LESSON, as_version=4)
    errors = [
        (cell.source[:80], output.get("ename"), output.get("evalue"))
        for cell in saved.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors, errors
    assert not browser.find_elements(By.CSS_SELECTOR, '.jp-OutputArea-output[data-mime-type*="error"]')

    sliders = {
        slider.find_element(By.CSS_SELECTOR, ".widget-label").text: slider
        for slider in browser.find_elements(By.CSS_SELECTOR, ".widget-slider")
    }
    labels = ("block size (px, odd)", "offset C", "keep w + h >= (px)")
    assert set(labels) <= set(sliders), (
        f"the segmentation explorer's sliders {labels} are not all drawn: {list(sliders)}"
    )
    before = _figure_source(browser)
    assert before.startswith("data:image/png"), "the explorer shows no figure"
    cut_off = sliders["keep w + h >= (px)"]  # the offset slider is disabled while "automatic offset" is ticked
    readout = cut_off.find_element(By.CSS_SELECTOR, ".widget-readout").text
    handle = cut_off.find_element(By.CSS_SELECTOR, ".noUi-handle")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].focus();", handle)
    for _ in range(5):
        handle.send_keys(Keys.ARROW_RIGHT)
    moved = cut_off.find_element(By.CSS_SELECTOR, ".widget-readout").text
    assert moved != readout, f"the cut-off slider did not move from {readout}"
    _wait(browser, folder, "a redrawn figure", lambda b: _figure_source(b) not in ("", before))

"""The Colab and Binder path: a lesson's install cell installs the library from the configured URL.

A fresh virtual environment without ``mstl_lib`` runs lesson 1's install cell,
with ``_config.yml``'s URL pointed at a local clone of this repository
(``git+file://``), offline: pip takes no index and no dependencies
(``PIP_NO_INDEX``, ``PIP_NO_DEPS``), and builds with this environment's
setuptools. What pip installed records the URL it came from.
"""

from __future__ import annotations

import json
import os
import subprocess
import venv
from pathlib import Path

import nbformat
import pytest

from mstl_lib.teaching.repository import configured_url

ROOT = Path(__file__).resolve().parents[1]
INSTALL_PROBE = "import importlib.util; print(importlib.util.find_spec('mstl_lib') is not None)"
DIRECT_URL = "from importlib.metadata import distribution; print(distribution('mstl-lib').read_text('direct_url.json'))"


def _install_cell(notebook: Path) -> str:
    cells = [c for c in nbformat.read(notebook, as_version=4).cells if "pip" in c.source and c.cell_type == "code"]
    assert len(cells) == 1, f"{notebook.name}: one install cell expected"
    return cells[0].source


def _fresh_environment(folder: Path) -> Path:
    """A new virtual environment whose only build backend is this environment's setuptools."""
    import setuptools

    venv.create(folder, with_pip=True)
    python = folder / "bin" / "python"
    subprocess.run([python, "-m", "pip", "uninstall", "-q", "-y", "setuptools"], check=True)
    tools = folder / "build-tools"
    tools.mkdir()
    site = Path(setuptools.__file__).parents[1]
    for name in ("setuptools", "_distutils_hack", "pkg_resources", f"setuptools-{setuptools.__version__}.dist-info"):
        if (site / name).exists():
            (tools / name).symlink_to(site / name)
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], capture_output=True, text=True
    ).stdout.strip()
    (Path(purelib) / "build-tools.pth").write_text(str(tools) + "\n")
    return python


def _clean_environment(**extra) -> dict:
    """This process's environment without the PYTHONPATH that finds this checkout, plus ``extra``."""
    return {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, **extra}


def _run(python: Path, code: str, **extra) -> str:
    """Run ``code`` in the fresh environment, outside the checkout; return its standard output."""
    done = subprocess.run(
        [python, "-c", code],
        capture_output=True,
        text=True,
        env=_clean_environment(**extra),
        cwd=python.parents[2],
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


@pytest.mark.slow
def test_install_cell_installs_the_library_from_the_configured_url(tmp_path):
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse"], capture_output=True).returncode:
        pytest.skip("not a git checkout: nothing to clone")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    python = _fresh_environment(tmp_path / "venv")
    assert _run(python, INSTALL_PROBE) == "False", "the fresh environment must not have mstl_lib"

    url = configured_url(ROOT)
    cell = _install_cell(ROOT / "notebooks" / "01_overview.ipynb")
    assert f"git+{url}" in cell
    local = f"file://{clone}"
    # Offline: no index, no dependencies; "0" is pip's inverted no-build-isolation, so the build uses the
    # environment's setuptools.
    _run(python, cell.replace(url, local), PIP_NO_INDEX="1", PIP_NO_DEPS="1", PIP_NO_BUILD_ISOLATION="0")

    assert _run(python, INSTALL_PROBE) == "True"
    origin = json.loads(_run(python, DIRECT_URL))
    assert origin["url"] == local and "vcs_info" in origin, origin
    location = _run(python, "import importlib.util; print(importlib.util.find_spec('mstl_lib').origin)")
    assert location.startswith(str(tmp_path / "venv")), location

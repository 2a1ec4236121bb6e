"""The repository URL is set once, in _config.yml, and every install cell agrees with it."""

import shutil
from pathlib import Path

from mstl_lib.teaching.repository import configured_url, install_cell_urls, set_repository_url

ROOT = Path(__file__).resolve().parents[1]


def test_install_cells_use_the_configured_url():
    url = configured_url(ROOT)
    for name, urls in install_cell_urls(ROOT).items():
        assert urls, f"{name}: no install cell"
        assert set(urls) == {url}, f"{name}: install cell uses {urls}, _config.yml says {url}"


def test_set_repository_url_updates_config_and_notebooks(tmp_path):
    shutil.copy(ROOT / "_config.yml", tmp_path / "_config.yml")
    (tmp_path / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / "01_overview.ipynb", tmp_path / "notebooks")
    changed = set_repository_url(tmp_path, "https://github.com/example/fork/")
    assert changed == ["_config.yml", "01_overview.ipynb"]
    assert configured_url(tmp_path) == "https://github.com/example/fork"
    assert install_cell_urls(tmp_path) == {"01_overview.ipynb": ["https://github.com/example/fork"]}
    assert set_repository_url(tmp_path) == []

"""One setting for the repository URL: the launch buttons and the install cells.

``_config.yml``'s ``repository.url`` is the single place where the book's
public repository is set; Jupyter Book builds the repository and launch
buttons (Binder, Colab) from it. Each lesson's first code cell installs the
library with ``pip install git+URL`` when it is missing (on Colab, which opens
the notebook alone, without the repository). That cell runs before the library
exists, so it holds a copy of the URL; this module writes the copies from
``_config.yml`` and the tests fail when one differs.

The URL shipped with the book, ``https://github.com/mstl-book/mstl-book``, is
a placeholder. A fork or a course that publishes its own copy sets its URL
once::

    python -m mstl_lib.teaching.repository https://github.com/ORG/REPO

which updates ``_config.yml`` and every notebook's install cell.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

__all__ = ["configured_url", "install_cell_urls", "set_repository_url"]

_INSTALL_URL = re.compile(r"git\+(https://[^\s\"']+)")
_CONFIG_URL = re.compile(r"^(repository:\s*\n(?:[ \t]+.*\n|\s*\n)*?[ \t]+url:[ \t]*)(\S+)", re.MULTILINE)


def configured_url(root) -> str:
    """``repository.url`` of ``root/_config.yml``."""
    import yaml

    config = yaml.safe_load((Path(root) / "_config.yml").read_text())
    return str(config["repository"]["url"]).rstrip("/")


def install_cell_urls(root) -> dict[str, list[str]]:
    """The URLs in the install cell of every lesson notebook, by notebook name."""
    import nbformat

    found = {}
    for path in sorted((Path(root) / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        found[path.name] = [
            m for cell in notebook.cells if cell.cell_type == "code" for m in _INSTALL_URL.findall(cell.source)
        ]
    return found


def set_repository_url(root, url: str | None = None) -> list[str]:
    """Write ``url`` (default: the configured one) into ``_config.yml`` and every install cell.

    Returns the names of the files that changed. Cells keep their tags and metadata.
    """
    import nbformat

    root = Path(root)
    changed = []
    if url is not None:
        url = url.rstrip("/")
        config = root / "_config.yml"
        text = config.read_text()
        new = _CONFIG_URL.sub(lambda m: m.group(1) + url, text, count=1)
        if new != text:
            config.write_text(new)
            changed.append(config.name)
    url = configured_url(root)
    for path in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        touched = False
        for cell in notebook.cells:
            if cell.cell_type == "code" and _INSTALL_URL.search(cell.source):
                source = _INSTALL_URL.sub(lambda m: "git+" + url, cell.source)
                touched |= source != cell.source
                cell.source = source
        if touched:
            nbformat.write(notebook, path)
            changed.append(path.name)
    return changed


if __name__ == "__main__":
    from mstl_lib.teaching.paths import find_book_root

    book = find_book_root()
    names = set_repository_url(book, sys.argv[1] if len(sys.argv) > 1 else None)
    print(
        f"Repository URL {configured_url(book)}: "
        + (f"updated {', '.join(names)}." if names else "everything already agrees.")
    )

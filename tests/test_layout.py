"""The package layout keeps its promises: light subpackages stay light, functions stay short."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import mstl_lib

PACKAGE = Path(mstl_lib.__file__).parent
MAX_FUNCTION_LINES = 60


@pytest.mark.parametrize(
    "package",
    [
        "mstl_lib.data",
        "mstl_lib.evaluation",
        "mstl_lib.profiles",
        "mstl_lib.validation",
        "mstl_lib.cli",
        "mstl_lib.provenance",
        "mstl_lib.locks",
        "mstl_lib.integrity",
    ],
)
def test_importing_does_not_load_tensorflow(package):
    """Data work, evaluation and the command line's start (``mstl report``, ``mstl --help``) need no TensorFlow."""
    code = (
        f"import sys, {package}\n"
        "loaded = sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)\n"
        "print(','.join(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing {package} loaded {out.stdout.strip()}"


def _code_lines(lines: list[str], function: ast.FunctionDef) -> int:
    """Lines of code after the docstring: blank and comment-only lines not counted."""
    body = function.body
    has_docstring = isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant)
    if has_docstring and len(body) == 1:
        return 0
    first = body[1].lineno if has_docstring else body[0].lineno
    code = lines[first - 1 : function.end_lineno]
    return sum(1 for line in code if line.strip() and not line.strip().startswith("#"))


def _long_functions(path: Path) -> list[str]:
    source = path.read_text()
    lines = source.splitlines()
    return [
        f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name} ({_code_lines(lines, node)} lines)"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _code_lines(lines, node) > MAX_FUNCTION_LINES
    ]


def test_code_line_counter_counts_code_only(tmp_path):
    source = 'def f():\n    """Doc.\n\n    More doc.\n    """\n    a = 1\n\n    # a comment\n    return a\n'
    path = tmp_path / "m.py"
    path.write_text(source)
    function = ast.parse(source).body[0]
    assert _code_lines(source.splitlines(), function) == 2


def test_no_function_is_longer_than_sixty_lines_of_code():
    """Every function of the library fits on a screen: its steps have names."""
    offenders = [entry for path in sorted(PACKAGE.rglob("*.py")) for entry in _long_functions(path)]
    assert offenders == [], "split at their natural seams:\n" + "\n".join(offenders)


def test_subpackages_export_what_they_list():
    """Each subpackage's ``__all__`` is its public API, and every name in it exists."""
    import importlib

    for name in ("data", "models", "training", "evaluation", "visualize"):
        module = importlib.import_module(f"mstl_lib.{name}")
        missing = [entry for entry in module.__all__ if not hasattr(module, entry)]
        assert module.__all__ and missing == [], f"mstl_lib.{name} lists missing names {missing}"

"""The command line's arguments, checked before any work and any write, and its messages in its own words.

:func:`check_arguments` looks at every option a sub-command has, by name
(``--seed``, ``--epochs``, ``--folds``, ``--weights``, ``--workers``,
``--cell-timeout`` and the output folders), so that a refused run has trained
nothing and left no manifest and no lock file behind. A new sub-command
with the same option names is checked the same way.

:func:`for_the_command_line` rewrites the library's fixes, which name
Python arguments (``pass overwrite=True (CLI: --overwrite)``), into the
command's options (``pass --overwrite``).
"""

from __future__ import annotations

import argparse
import re

from mstl_lib.validation import (
    check_integer,
    check_number,
    check_output_folder,
    check_seed,
    check_weights_setting,
)

__all__ = ["check_arguments", "for_the_command_line"]

OUTPUT_OPTIONS = {"out": "output folder", "build_dir": "--build-dir", "work_dir": "--work-dir"}
"""Attributes naming folders a sub-command writes, and how messages call them."""
MIN_FOLDS = 2
"""Cross-validation needs at least two folds (each is tested once, trained on the others)."""


def check_arguments(args: argparse.Namespace) -> None:
    """Check the options ``args`` holds; raise :class:`mstl_lib.errors.DataError` naming the first bad one."""
    if getattr(args, "seed", None) is not None:
        check_seed(args.seed, "--seed")
    if getattr(args, "epochs", None) is not None:
        check_integer(args.epochs, "--epochs", minimum=1)
    if getattr(args, "folds", None) is not None:
        check_integer(args.folds, "--folds", minimum=MIN_FOLDS)
    if getattr(args, "workers", None) is not None:
        check_integer(args.workers, "--workers", minimum=1)
    if getattr(args, "per_class", None) is not None:
        check_integer(args.per_class, "--per-class", minimum=1)
    if getattr(args, "weights", None) is not None:
        check_weights_setting(args.weights, "--weights")
    if getattr(args, "cell_timeout", None) is not None:
        check_number(args.cell_timeout, "--cell-timeout", minimum=0, include_minimum=False)
    for attribute, name in OUTPUT_OPTIONS.items():
        if getattr(args, attribute, None) is not None:
            check_output_folder(getattr(args, attribute), name)


_PYTHON_THEN_OPTION = re.compile(r"\b[a-z_0-9]+(?:=[\w.]+)? \(CLI: (--[\w-]+(?: [A-Z]+)?)\)")


def for_the_command_line(message: str) -> str:
    """``message`` with ``name=value (CLI: --option)`` and ``name (CLI: --option)`` written as ``--option``."""
    return _PYTHON_THEN_OPTION.sub(r"\1", message)

"""Argument checks shared by the whole library, in the spirit of scikit-learn's ``check_scalar``.

Every check returns the value in its canonical type (``int``, ``float``,
lower-case choice, ``pathlib.Path``...) or raises
:class:`mstl_lib.errors.DataError` with one message that names the argument,
what it must be and what it got. ``bool`` is never accepted as a number, though
Python counts it as one.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from mstl_lib.errors import DataError

__all__ = [
    "check_integer",
    "check_number",
    "check_choice",
    "check_choices",
    "check_seed",
    "as_rng",
    "check_existing_path",
]


def _bounds_text(minimum, maximum, include_minimum: bool, include_maximum: bool) -> str:
    if minimum is not None and maximum is not None:
        return f"in {'[' if include_minimum else '('}{minimum}, {maximum}{']' if include_maximum else ')'}"
    parts = []
    if minimum is not None:
        parts.append(f"{'>=' if include_minimum else '>'} {minimum}")
    if maximum is not None:
        parts.append(f"{'<=' if include_maximum else '<'} {maximum}")
    return " and ".join(parts)


def _check_bounds(value, name, minimum, maximum, include_minimum, include_maximum):
    too_small = minimum is not None and (value < minimum if include_minimum else value <= minimum)
    too_large = maximum is not None and (value > maximum if include_maximum else value >= maximum)
    if too_small or too_large:
        bounds = _bounds_text(minimum, maximum, include_minimum, include_maximum)
        raise DataError(f"{name} must be {bounds}, got {value!r}.")


def check_integer(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an ``int`` within ``[minimum, maximum]`` (either bound may be None).

    Raises
    ------
    DataError
        Not an integer (``bool`` and ``2.0`` included) or out of bounds.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        bounds = _bounds_text(minimum, maximum, True, True)
        raise DataError(f"{name} must be an integer{' ' + bounds if bounds else ''}, got {value!r}.")
    _check_bounds(int(value), name, minimum, maximum, True, True)
    return int(value)


def check_number(
    value,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    include_minimum: bool = True,
    include_maximum: bool = True,
) -> float:
    """``value`` as a finite ``float`` within the bounds (open or closed at each end).

    Raises
    ------
    DataError
        Not a real number, not finite, or out of bounds.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        bounds = _bounds_text(minimum, maximum, include_minimum, include_maximum)
        raise DataError(f"{name} must be a finite number{' ' + bounds if bounds else ''}, got {value!r}.")
    _check_bounds(float(value), name, minimum, maximum, include_minimum, include_maximum)
    return float(value)


def check_choice(value, name: str, choices: Iterable, *, lower: bool = False):
    """``value`` if it is one of ``choices`` (compared lower-cased when ``lower``).

    Raises
    ------
    DataError
        ``value`` is not among the choices; the message lists them.
    """
    choices = tuple(choices)
    key = value.lower() if lower and isinstance(value, str) else value
    if key not in choices:
        shown = ", ".join(str(c) for c in choices)
        raise DataError(f"unknown {name} {value!r}; {name} must be one of {shown}.")
    return key


def check_choices(values, name: str, choices: Iterable, *, lower: bool = True) -> tuple:
    """A non-empty tuple of ``values``, each one of ``choices``.

    Raises
    ------
    DataError
        No value given, or some values unknown (all of them are named).
    """
    choices = tuple(choices)
    values = tuple(v.lower() if lower and isinstance(v, str) else v for v in values)
    unknown = [v for v in values if v not in choices]
    if unknown or not values:
        shown = ", ".join(str(c) for c in choices)
        raise DataError(f"unknown {name} {unknown or '(none given)'}; choose from {shown}.")
    return values


def check_seed(seed) -> int:
    """A random seed: a non-negative integer."""
    return check_integer(seed, "seed", minimum=0)


def as_rng(rng) -> np.random.Generator:
    """A NumPy ``Generator`` from a Generator or a non-negative integer seed."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(check_seed(rng))
    raise DataError(f"rng must be a numpy Generator or a non-negative int seed, got {rng!r}.")


def check_existing_path(path, name: str, *, kind: str = "folder", fix: str = "check the path.") -> Path:
    """``path`` as a ``Path`` that exists and is a ``"folder"`` or a ``"file"``.

    Raises
    ------
    DataError
        It does not exist, or is the other kind; the message names ``path``,
        says which (``no such folder``, ``is a file, not a folder``) and ends
        with ``Fix: <fix>``.
    """
    if path is None or (isinstance(path, str) and not path.strip()):
        raise DataError(f"{name} must be a path to a {kind}, got {path!r}.")
    path = Path(path).expanduser()
    exists = path.is_dir() if kind == "folder" else path.is_file()
    if not exists:
        other = "file" if path.is_file() else "folder" if path.is_dir() else None
        found = f"is a {other}, not a {kind}" if other else f"no such {kind}"
        raise DataError(f"{path}: {found} (the {name}). Fix: {fix}")
    return path

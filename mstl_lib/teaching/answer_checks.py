"""What every exercise check does with a student's answer: call it safely, read numbers, compare, say how it differs.

Shared by :mod:`mstl_lib.teaching.exercises` and
:mod:`mstl_lib.teaching.exercise_networks` (the checks that need Keras). A
check raises :class:`Mismatch` with a sentence that says how the answer
differs (never the expected value), or :class:`Blank` when the answer is
still the placeholder ``...``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["Blank", "Mismatch", "is_blank", "near", "number", "numbers", "require_function", "run"]


class Mismatch(Exception):
    """The answer does not match; the message says how (without the expected value)."""


class Blank(Exception):
    """The answer is still the placeholder ``...``."""


def is_blank(value) -> bool:
    """``None`` or ``...``: the answer cell was not filled in."""
    return value is None or value is Ellipsis


def require_function(value, signature: str) -> Callable:
    """The student's function, or a mismatch that says a function is asked for."""
    if not callable(value):
        raise Mismatch(
            f"the answer should be a function, `def {signature}: ...`, not a "
            f"{type(value).__name__}: the check calls it on data of its own."
        )
    return value


def run(function: Callable, *args, **kwargs):
    """Call the student's function; an error in it becomes a mismatch that names the error."""
    try:
        result = function(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - the student's code may fail in any way
        raise Mismatch(f"your function raised {type(error).__name__}: {error}") from None
    if result is Ellipsis:
        raise Blank
    if result is None:
        raise Mismatch("your function returned None: end it with `return` and your result.")
    return result


def number(value, name: str) -> float:
    """``value`` as a finite float, or a mismatch naming ``name``."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise Mismatch(f"{name} should be a number, got {value!r}.") from None
    if not math.isfinite(result):
        raise Mismatch(f"{name} should be a finite number, got {value!r}.")
    return result


def numbers(value, count: int, name: str) -> tuple[float, ...]:
    """``value`` as ``count`` finite floats."""
    try:
        items = tuple(value)
    except TypeError:
        raise Mismatch(f"{name} should be a tuple of {count} numbers, got {value!r}.") from None
    if len(items) != count:
        raise Mismatch(f"{name} should be a tuple of {count} numbers, got {len(items)}.")
    return tuple(number(v, f"{name}[{i}]") for i, v in enumerate(items))


def near(got, want, rel: float = 1e-3, abs_: float = 1e-6) -> bool:
    """Whether two numbers (or equal-length sequences) agree within the tolerances."""
    return bool(np.allclose(np.asarray(got, float), np.asarray(want, float), rtol=rel, atol=abs_))

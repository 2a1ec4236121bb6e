"""What a finished output was made with, and the one check before it is reused.

A stage-1 run folder (``mstl pretrain``), a grid folder (``mstl grid``) and a
study folder record the settings that change their results: profile fields,
epochs, seed, starting weights, ``deterministic``, precision, a fingerprint of
the data and of the models they start from. Reusing such a folder for a run
with other settings would put results under a record that does not describe
them (a seed-0 model filed as seed 5), so :func:`check_reusable` compares
every recorded setting with the new run's and refuses, naming each differing
field with both values and the fix, before anything is written.

Nothing here loads TensorFlow, except :func:`library_versions` when called
(it asks TensorFlow and Keras their versions).
"""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Mapping
from pathlib import Path

from mstl_lib import __version__
from mstl_lib.errors import DataError

__all__ = [
    "ProvenanceError",
    "check_reusable",
    "data_fingerprint",
    "differing_settings",
    "file_fingerprint",
    "library_versions",
]

SHOWN_CHARACTERS = 40
"""Longer values (fingerprints, fold lists) are shortened in messages."""


class ProvenanceError(DataError):
    """A finished output was made with other settings than the run asked to reuse it."""

    def __init__(self, message: str, differences: dict):
        self.differences = differences
        super().__init__(message)


def data_fingerprint(dataset) -> str:
    """SHA-256 over every image's relative path, label, group and bytes (an :class:`ImageDataset`)."""
    digest = hashlib.sha256()
    for record in sorted(dataset.records, key=lambda r: str(r.path)):
        digest.update(f"{record.path.relative_to(dataset.root).as_posix()}|{record.label}|{record.group}\n".encode())
        digest.update(hashlib.sha256(record.path.read_bytes()).digest())
    return digest.hexdigest()


def file_fingerprint(path) -> str:
    """SHA-256 of one file's bytes (e.g. a stage-1 ``model.keras`` a grid starts from)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose behaviour the results depend on (recorded in every manifest).

    Imports TensorFlow, Keras, OpenCV and scikit-learn when called.
    """
    import cv2
    import keras
    import numpy
    import sklearn
    import tensorflow

    return {
        "mstl_lib": __version__,
        "python": platform.python_version(),
        "tensorflow": tensorflow.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "scikit-learn": sklearn.__version__,
        "opencv": cv2.__version__,
        "platform": platform.platform(),
    }


def _flatten(settings: Mapping, prefix: str = "") -> dict:
    """``{"profile": {"seed": 1}}`` as ``{"profile.seed": 1}``; lists and values stay as they are."""
    flat = {}
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = list(value) if isinstance(value, tuple) else value
    return flat


def differing_settings(recorded: Mapping, wanted: Mapping, *, defaults: Mapping | None = None) -> dict:
    """``{field: (recorded value, wanted value)}`` for every setting of ``wanted`` the record contradicts.

    Nested settings are compared field by field (``profile.epochs_stage2``).
    A field the record lacks takes its value from ``defaults`` (the value
    older records stand for); without a default it was not recorded and is
    not compared.
    """
    old, new = _flatten(recorded), _flatten(wanted)
    defaults = _flatten(defaults or {})
    differences = {}
    for name, value in new.items():
        if name in old:
            before = old[name]
        elif name in defaults:
            before = defaults[name]
        else:
            continue
        if before != value:
            differences[name] = (before, value)
    return differences


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN_CHARACTERS else text[: SHOWN_CHARACTERS - 3] + "..."


def check_reusable(
    folder, recorded: Mapping, wanted: Mapping, *, what: str, defaults: Mapping | None = None, fix: str | None = None
) -> None:
    """Refuse to reuse ``folder`` unless every setting it records matches this run's.

    Parameters
    ----------
    folder : path-like
        The finished output (named in the message).
    recorded : mapping
        Its record (``stage1.json``, ``manifest.json``...).
    wanted : mapping
        This run's settings, under the same names.
    what : str
        What the folder holds, e.g. ``"a stage-1 run"``, ``"a grid run"``.
    defaults : mapping, optional
        Values older records stand for where they lack a field.
    fix : str, optional
        The fix; default: a new ``--out``, or ``--overwrite``.

    Raises
    ------
    ProvenanceError
        Naming every differing field, the recorded value and this run's.
        Nothing is written either way.
    """
    differences = differing_settings(recorded, wanted, defaults=defaults)
    if not differences:
        return
    listed = "; ".join(f"{name}: {_shown(old)} there, {_shown(new)} now" for name, (old, new) in differences.items())
    fix = fix or (
        f"choose a new --out for these settings, or rerun with the recorded ones to reuse it, or pass "
        f"--overwrite to delete {Path(folder)} and start again"
    )
    raise ProvenanceError(
        f"{folder} holds {what} made with other settings ({listed}); reusing it would record results under "
        f"settings that did not make them. Nothing was written. Fix: {fix}.",
        differences,
    )

"""Spreading one grid (or study) over the jobs of a cluster array: which part is mine.

``--shard K/N`` runs the K-th of N disjoint parts of the units of
:func:`mstl_lib.training.grid.run_grid` or :func:`mstl_lib.training.study.run_study`,
so that N jobs started with the same arguments fill one shared output folder
together (the book's chapter on clusters). :func:`parse_shard` reads K and N
from the argument, or with ``--shard auto`` from a SLURM job array or a
Kubernetes Indexed Job; :func:`shard_units` picks the part. The paper
(Ayana et al. 2022, section 2.4) trains every (transfer type, CNN, optimizer)
on five folds; the shards only decide who trains which, never what.

Nothing here loads TensorFlow.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence

from mstl_lib.errors import DataError
from mstl_lib.validation import check_integer

SHARD_COUNT_VARIABLE = "MSTL_SHARD_COUNT"
"""Number of shards for ``--shard auto`` under Kubernetes, which gives each pod its index but not the count."""


def parse_shard(spec, environ: Mapping[str, str] | None = None) -> tuple[int, int] | None:
    """The (K, N) of ``--shard``: run the K-th of N parts of the grid, K counted from 1.

    Parameters
    ----------
    spec : None, str or (int, int)
        None: the whole grid. ``"K/N"`` with 1 <= K <= N, e.g. ``"2/8"``.
        ``"auto"``: from the environment of a cluster job array:

        - SLURM (``sbatch --array``): ``SLURM_ARRAY_TASK_ID``,
          ``SLURM_ARRAY_TASK_COUNT`` and, where set (SLURM sets it),
          ``SLURM_ARRAY_TASK_MIN`` and ``SLURM_ARRAY_TASK_STEP``:
          K = (ID - MIN) / STEP + 1, N = COUNT, so ``--array=0-7``,
          ``--array=1-8`` and ``--array=10-17`` all give shards 1/8 to 8/8.
          Without ``SLURM_ARRAY_TASK_MIN`` the array is taken to start at 0.
        - Kubernetes Indexed Job (``completionMode: Indexed``):
          ``JOB_COMPLETION_INDEX`` (from 0) gives K = index + 1, and
          ``MSTL_SHARD_COUNT`` (:data:`SHARD_COUNT_VARIABLE`; set it to the
          Job's ``completions``, which Kubernetes does not export) gives N.
    environ : mapping, optional
        Where ``"auto"`` looks (default ``os.environ``).

    Returns
    -------
    (int, int) or None
        ``(K, N)``; None for the whole grid.

    Raises
    ------
    DataError
        For a malformed spec, K outside 1..N, or ``"auto"`` without (or with
        inconsistent) array variables.
    """
    if spec is None:
        return None
    if isinstance(spec, (tuple, list)):
        if len(spec) != 2:
            raise DataError(f"shard {spec!r} is not (K, N). Fix: give e.g. (1, 4) or '1/4'.")
        return _checked_shard(*spec, shown=f"{spec!r}")
    text = str(spec).strip().lower()
    if text == "auto":
        return _shard_from_environment(os.environ if environ is None else environ)
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise DataError(
            f"shard {spec!r} is not K/N or 'auto'. Fix: give e.g. --shard 1/4 (the first of four parts, "
            "counted from 1), or --shard auto inside a SLURM array or Kubernetes Indexed Job."
        )
    return _checked_shard(int(match.group(1)), int(match.group(2)), shown=repr(spec))


def _checked_shard(k, n, *, shown: str) -> tuple[int, int]:
    try:
        k, n = check_integer(k, "K"), check_integer(n, "N")
    except DataError:
        raise DataError(f"shard {shown}: K and N must be whole numbers. Fix: give e.g. --shard 1/4.") from None
    if n < 1 or not 1 <= k <= n:
        raise DataError(
            f"shard {shown}: K must be between 1 and N (K counts from 1), and N at least 1. "
            f"Fix: give one of 1/{max(n, 1)} ... {max(n, 1)}/{max(n, 1)}."
        )
    return k, n


def _integer_variable(environ, name: str) -> int:
    value = environ.get(name, "")
    try:
        return int(value)
    except ValueError:
        raise DataError(
            f"--shard auto: {name}={value!r} is not a whole number. Fix: set it to one, or give --shard K/N explicitly."
        ) from None


def _shard_from_environment(environ: Mapping[str, str]) -> tuple[int, int]:
    """(K, N) from a SLURM job array or a Kubernetes Indexed Job (see :func:`parse_shard`)."""
    if "SLURM_ARRAY_TASK_ID" in environ:
        if "SLURM_ARRAY_TASK_COUNT" not in environ:
            raise DataError(
                "--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not. Fix: run "
                "inside an `sbatch --array` job, or give --shard K/N explicitly."
            )
        task = _integer_variable(environ, "SLURM_ARRAY_TASK_ID")
        count = _integer_variable(environ, "SLURM_ARRAY_TASK_COUNT")
        first = _integer_variable(environ, "SLURM_ARRAY_TASK_MIN") if "SLURM_ARRAY_TASK_MIN" in environ else 0
        step = _integer_variable(environ, "SLURM_ARRAY_TASK_STEP") if "SLURM_ARRAY_TASK_STEP" in environ else 1
        shown = (
            f"SLURM_ARRAY_TASK_ID={task}, SLURM_ARRAY_TASK_MIN={first}, SLURM_ARRAY_TASK_STEP={step}, "
            f"SLURM_ARRAY_TASK_COUNT={count}"
        )
        if step < 1 or (task - first) % step or not 0 <= (task - first) // step < count:
            raise DataError(
                f"--shard auto: the array variables are inconsistent ({shown}): task IDs must run "
                "from MIN in steps of STEP, COUNT of them. Fix: submit a range such as "
                "`sbatch --array=0-7`, or give --shard K/N explicitly."
            )
        return _checked_shard((task - first) // step + 1, count, shown=shown)
    if "JOB_COMPLETION_INDEX" in environ:
        index = _integer_variable(environ, "JOB_COMPLETION_INDEX")
        if SHARD_COUNT_VARIABLE not in environ:
            raise DataError(
                f"--shard auto: JOB_COMPLETION_INDEX={index} is set but {SHARD_COUNT_VARIABLE} is not "
                "(Kubernetes does not export the number of completions). Fix: set "
                f"{SHARD_COUNT_VARIABLE} in the pod template to the Job's `completions`."
            )
        count = _integer_variable(environ, SHARD_COUNT_VARIABLE)
        return _checked_shard(
            index + 1, count, shown=f"JOB_COMPLETION_INDEX={index} (shard {index + 1}), {SHARD_COUNT_VARIABLE}={count}"
        )
    raise DataError(
        "--shard auto found no job array: neither SLURM_ARRAY_TASK_ID (SLURM, `sbatch --array`) nor "
        "JOB_COMPLETION_INDEX (Kubernetes Indexed Job) is set. Fix: run inside one, or give --shard K/N."
    )


def shard_units(units: Sequence, shard: tuple[int, int] | None) -> list:
    """The units of shard ``(K, N)``: those whose position in the grid's full list, counted from 0, is K - 1 modulo N.

    The full list (the grid's units, :mod:`mstl_lib.training.grid`, or the study's,
    :mod:`mstl_lib.training.study`) depends only on the run's arguments, so every shard started with the same arguments
    computes the same list; the N shards are disjoint and together cover it.
    Consecutive units (the folds of one configuration) go to different
    shards, which balances shards of similar networks.
    """
    if shard is None:
        return list(units)
    k, n = shard
    return [unit for index, unit in enumerate(units) if index % n == k - 1]


def shard_summary(shard: tuple[int, int], n_done: int, n_units: int, out_dir) -> str:
    """The last line of a shard's log: its part of the grid, and what to run once every shard is done.

    A shard holds only part of the folds, so its own Table 1 would read like a
    failed run; ``mstl report`` reads the merged folder.
    """
    k, n = shard
    return f"shard {k}/{n}: {n_done} of {n_units} units trained; run `mstl report {out_dir}` when all shards are done"

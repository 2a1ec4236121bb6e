"""Running many trainings: how many at once, in which processes, and what they need first.

The grid (:mod:`mstl_lib.training.grid`, the paper's 90 trainings of Table 1,
Ayana et al. 2022, section 2.4) and the study (:mod:`mstl_lib.training.study`)
share these steps:

- :func:`check_workers`: ``workers`` parallel child processes (``--workers``);
- :func:`train_in_parallel`: run the jobs ``workers`` at a time, stopping
  them all on the first error or an interrupt;
- :data:`GPU_MEMORY_GROWTH`: the child processes' environment when several
  share one GPU;
- :func:`prepare_initial_weights`: the generic stage's weights, made once
  before the jobs that start from them.

Nothing here loads TensorFlow; the children do.
"""

from __future__ import annotations

from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path

from mstl_lib.errors import DataError
from mstl_lib.profiles import Profile
from mstl_lib.run_files import GENERIC_LOG
from mstl_lib.training.child import run_in_child, stop_all_children
from mstl_lib.validation import check_integer

GPU_MEMORY_GROWTH = {"TF_FORCE_GPU_ALLOW_GROWTH": "true"}
"""Environment of the training processes when several run at once: each takes GPU memory as it needs it."""


def check_workers(workers, isolate: bool) -> int:
    """``workers`` as a count of parallel training processes (>= 1; more than one needs child processes)."""
    workers = check_integer(workers, "workers", minimum=1)
    if workers > 1 and not isolate:
        raise DataError(
            f"workers={workers} trains configurations in child processes side by side; isolate=False "
            "trains in this process. Fix: leave isolate at True, or use workers=1."
        )
    return workers


def train_in_parallel(train, jobs, workers: int) -> None:
    """``train(*job)`` for every job, ``workers`` at a time, each in a thread that waits on its child process.

    The grid's jobs are ``(configuration, pending folds)``, the study's its
    groups of units. The first error is raised after the running ones end;
    an interrupt (Ctrl-C, SIGTERM) starts nothing more and stops every child.
    """
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mstl-grid") as pool:
        futures = [pool.submit(train, *job) for job in jobs]
        try:
            finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
        except BaseException:  # KeyboardInterrupt, SIGTERM: start nothing more, stop what runs
            for future in futures:
                future.cancel()
            stop_all_children()
            raise
        failed = [f for f in futures if f in finished and f.exception() is not None]
        if failed:
            for future in futures:
                future.cancel()
            wait(futures)
            raise failed[0].exception()


def prepare_initial_weights(profile: Profile, backbones, seed: int, isolate: bool, out_dir: Path) -> None:
    """Make the generic stage's weights (once, cached; :func:`mstl_lib.training.generic.ensure_generic_weights` lets
    one of several shards train them) before the folds that start from them."""
    from mstl_lib.training.generic import GENERIC_WEIGHTS, ensure_generic_weights, generic_weights_path

    if profile.weights != GENERIC_WEIGHTS:
        return
    for backbone in backbones:
        if generic_weights_path(backbone, profile, seed).is_file():
            continue
        if isolate:
            run_in_child(ensure_generic_weights, backbone, profile, seed=seed, log_path=Path(out_dir) / GENERIC_LOG)
        else:
            ensure_generic_weights(backbone, profile, seed=seed)

"""The ``mstl`` command line (also ``python -m mstl_lib``).

Every sub-command is a thin wrapper around a library function; errors of the
library's own are printed as one line naming the file and the fix, with exit
status 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Sequence
from contextlib import contextmanager

from mstl_lib import __version__
from mstl_lib.arguments import check_arguments, for_the_command_line
from mstl_lib.errors import DataError, MSTLError, Terminated
from mstl_lib.profiles import ALL_BACKBONES, ARMS, OPTIMIZERS, PROFILES
from mstl_lib.quiet import import_tensorflow_quietly, quiet_this_process
from mstl_lib.teaching.book import CELL_TIMEOUTS

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}
TENSORFLOW_COMMANDS = ("pretrain", "grid", "study")
"""Sub-commands that train in this process: TensorFlow is imported quietly before they start."""


def command(name: str):
    """Register a ``run_<name>`` function as the body of a sub-command."""

    def register(function):
        COMMANDS[name] = function
        return function

    return register


def _progress(args: argparse.Namespace) -> bool:
    """Progress bars unless --quiet, and only on a terminal (in a log file they repeat line after line)."""
    return not args.quiet and sys.stderr.isatty()


@command("synth")
def run_synth(args: argparse.Namespace) -> int:
    from mstl_lib.data.synthetic import write_synthetic
    from mstl_lib.profiles import get_profile

    written = write_synthetic(
        args.out, profile=get_profile(args.size), seed=args.seed, overwrite=args.overwrite, progress=_progress(args)
    )
    for what, path in written.items():
        print(f"{what}: {path}")
    return 0


@command("segment")
def run_segment(args: argparse.Namespace) -> int:
    from mstl_lib.data.patches import build_patch_dataset

    summary = build_patch_dataset(
        args.raw,
        args.out,
        per_class=args.per_class,
        seed=args.seed,
        overwrite=args.overwrite,
        on_error=args.on_error,
        progress=_progress(args),
    )
    print(summary.format_text())
    return 0


@command("audit")
def run_audit(args: argparse.Namespace) -> int:
    from mstl_lib.data.audit import audit_dataset
    from mstl_lib.data.datasets import load_dataset

    options = {"on_error": "skip"}
    if args.kind == "busi":
        options["include_normal"] = True
    dataset = load_dataset(args.data, args.kind, **options)
    report = audit_dataset(dataset, max_distance=args.max_distance, progress=_progress(args) and not args.json)
    print(report.to_json() if args.json else report.format_text())
    return 0


@command("pretrain")
def run_pretrain(args: argparse.Namespace) -> int:
    from mstl_lib.training.stages import run_stage1

    profile = _profile(args, "epochs_stage1")
    summary = run_stage1(
        args.cells,
        args.out,
        backbone=args.backbone,
        optimizer=args.optimizer,
        overwrite=args.overwrite,
        verbose=0 if args.quiet else ("auto" if sys.stdout.isatty() else 2),
        **_training_options(args, profile),
    )
    if summary.get("reused"):
        print("Stage 1 was already trained with these settings; reusing it (nothing trained or written).")
    print(_stage1_line(summary))
    if args.study_stages:
        _pretrain_study_stages(args, profile)
    return 0


def _stage1_line(summary: dict) -> str:
    variant = f" [{summary['variant']['name']}]" if summary.get("variant") else ""
    return (
        f"Stage 1{variant} {summary['backbone']} ({summary['optimizer']}, profile {summary['profile']}): "
        f"test accuracy {100 * summary['test_accuracy']:.1f}% on {summary['n_test']} patches, "
        f"best epoch {summary['best_epoch']}; model saved to {summary['model']}"
    )


def _pretrain_study_stages(args: argparse.Namespace, profile) -> None:
    """``--study-stages``: the shuffled-label control and the patch fractions of the study, beside the real run."""
    from mstl_lib.training.study import train_study_stages

    summaries = train_study_stages(
        args.cells,
        args.out,
        backbone=args.backbone,
        optimizer=args.optimizer,
        verbose=0,
        **_training_options(args, profile),
    )
    for name, summary in summaries.items():
        if name != "real":
            print(_stage1_line(summary))


def _load_ultrasound(args: argparse.Namespace):
    """The ultrasound set of ``--us`` as every training loads it (:func:`mstl_lib.data.audit.load_audited_dataset`)."""
    from mstl_lib.data.audit import load_audited_dataset

    dataset, report = load_audited_dataset(args.us, args.kind, drop_conflicts=True, progress=_progress(args))
    if report.conflicts:
        n = sum(len(c["paths"]) for c in report.conflicts)
        print(f"Leaving out {n} image(s) filed under two labels (see `mstl audit {args.us}`).")
    if report.duplicate_groups:
        print(f"Keeping {len(report.duplicate_groups)} group(s) of duplicates on one side of every split.")
    return dataset


@command("grid")
def run_grid_command(args: argparse.Namespace) -> int:
    from mstl_lib.teaching.grid_text import format_report
    from mstl_lib.training.grid import count_grid_units, run_grid
    from mstl_lib.training.shards import parse_shard, shard_summary

    profile = _profile(args, "epochs_stage2")
    results = run_grid(
        _load_ultrasound(args),
        args.out,
        stage1_dir=args.stage1,
        backbones=args.backbones,
        optimizers=args.optimizers,
        arms=args.arms,
        n_folds=args.folds,
        progress=_progress(args),
        workers=args.workers,
        shard=args.shard,
        overwrite=args.overwrite,
        **_training_options(args, profile),
    )
    shard = parse_shard(args.shard)
    if shard is None:
        print(format_report(results))
    else:  # a part of the grid: its own Table 1 would look like a failed run
        units = count_grid_units(
            profile, arms=args.arms, backbones=args.backbones, optimizers=args.optimizers, n_folds=args.folds
        )
        print(shard_summary(shard, len(results), units, args.out))
    return 0


@command("study")
def run_study_command(args: argparse.Namespace) -> int:
    from mstl_lib.training.study import run_study

    if args.strategy is not None:
        raise DataError(
            f"mstl study does not take --strategy {args.strategy}: its trainings are small and share one compiled "
            "model per process; spread them with --workers (processes on this machine) or --shard K/N (machines)."
        )
    profile = _profile(args, "study_epochs")
    results = run_study(
        _load_ultrasound(args),
        args.out,
        stage1_dir=args.stage1,
        profile=profile,
        seed=args.seed,
        sizes=args.sizes,
        repeats=args.repeats,
        arms=args.arms,
        deterministic=args.deterministic,
        workers=args.workers,
        shard=args.shard,
        overwrite=args.overwrite,
        progress=_progress(args),
        mixed_precision=args.mixed_precision,
        jit_compile="auto" if args.xla is None else args.xla,
    )
    print(f"{len(results)} study results in {args.out}; `mstl report {args.out}` reads them.")
    return 0


@command("report")
def run_report(args: argparse.Namespace) -> int:
    import json

    from mstl_lib.evaluation.report import report_dict
    from mstl_lib.evaluation.study import is_study_folder
    from mstl_lib.teaching.grid_text import format_report

    if is_study_folder(args.dir):
        return _print_study_report(args)
    from mstl_lib.evaluation.results import load_manifest, load_results

    def skip(error) -> None:
        print(f"mstl report: warning: {error} Skipped: the report leaves it out.", file=sys.stderr)

    results = load_results(args.dir, on_corrupt=skip)
    manifest = load_manifest(args.dir)
    print(
        json.dumps(report_dict(results, manifest), indent=2) if args.json else format_report(results, manifest=manifest)
    )
    return 0


def _print_study_report(args: argparse.Namespace) -> int:
    """``mstl report`` on a study folder (``study.json``): AUC by size, paired differences, verdicts."""
    import json

    from mstl_lib.evaluation.study import study_report
    from mstl_lib.teaching.study_text import format_study_report, study_report_dict

    report = study_report(args.dir)
    print(json.dumps(study_report_dict(report), indent=2) if args.json else format_study_report(report))
    return 0


@command("book")
def run_book(args: argparse.Namespace) -> int:
    from mstl_lib.teaching.book import build_book

    build_book(
        root=args.root,
        profile=args.profile,
        build_dir=args.build_dir,
        work_dir=args.work_dir,
        seed=args.seed,
        weights=args.weights,
        execute=not args.no_execute,
        only=args.only,
        cell_timeout=_cell_timeout(args),
        progress=not args.quiet and sys.stderr.isatty(),
    )
    return 0


def _cell_timeout(args: argparse.Namespace) -> float | None:
    """``--cell-timeout``, infinity for ``--no-timeout``, None (the profile's) for neither."""
    if args.no_timeout and args.cell_timeout is not None:
        raise DataError("--no-timeout and --cell-timeout contradict each other. Fix: give one of them.")
    return float("inf") if args.no_timeout else args.cell_timeout


@command("student-edition")
def run_student_edition(args: argparse.Namespace) -> int:
    from mstl_lib.teaching.student_edition import write_student_edition

    written = write_student_edition(
        args.out,
        root=args.root,
        profile=args.profile,
        work_dir=args.work_dir,
        overwrite=args.overwrite,
        format=args.format,
    )
    for path in written:
        print(path)
    return 0


def _profile(args: argparse.Namespace, epochs_field: str):
    """The profile named by --profile, with --epochs and --weights applied: resolved once, here, and passed on.

    An option not given keeps the profile's value; ``--weights none`` means random initialisation.
    """
    from mstl_lib.profiles import NOT_SET, get_profile

    return get_profile(
        args.profile,
        **{epochs_field: NOT_SET if args.epochs is None else args.epochs},
        weights=NOT_SET if args.weights is None else args.weights,
    )


def _training_options(args: argparse.Namespace, profile) -> dict:
    """The options of ``pretrain`` and ``grid`` that every training takes (profile, seed, devices, precision).

    ``--xla`` / ``--no-xla`` become ``fit_model``'s ``jit_compile`` (neither: Keras' "auto").
    """
    return {
        "profile": profile,
        "seed": args.seed,
        "deterministic": args.deterministic,
        "strategy": args.strategy,
        "mixed_precision": args.mixed_precision,
        "jit_compile": "auto" if args.xla is None else args.xla,
    }


def _add_training_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", choices=sorted(PROFILES), default="smoke", help="run profile (default smoke)")
    p.add_argument("--epochs", type=int, default=None, help="override the profile's epochs for this stage")
    p.add_argument(
        "--weights",
        default=None,
        help="'imagenet', 'fractaldb' (generic pretraining made locally), 'none' or a weights file "
        "(default: the profile's)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--deterministic", action="store_true", help="deterministic TensorFlow ops (slower, repeatable)")
    p.add_argument(
        "--strategy",
        choices=("mirrored", "multiworker"),
        default=None,
        help="tf.distribute strategy (multiworker reads TF_CONFIG)",
    )
    p.add_argument(
        "--mixed-precision",
        action="store_true",
        help="float16 computations with float32 weights and outputs (Keras mixed_float16; for GPUs with "
        "tensor cores, slower on a CPU)",
    )
    p.add_argument(
        "--xla",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="compile the training step with XLA (--xla) or not (--no-xla); default: Keras' choice, "
        "XLA on a GPU where the model allows it, never on a CPU",
    )


def _synth_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", help="new output folder")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--size", choices=sorted(PROFILES), default="smoke", help="data size of that profile (default smoke)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing non-empty OUT")


def _segment_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("raw", help="folder with one sub-folder of frames per cell line")
    p.add_argument("out", help="new output folder for patches and manifest.csv")
    p.add_argument(
        "--per-class",
        type=int,
        default=None,
        help="patches per cell line (paper 6800; default: balanced to the smallest class)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of sampling and split (default 0)")
    p.add_argument(
        "--on-error", choices=("raise", "skip"), default="raise", help="stop on, or skip and list, unreadable frames"
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing non-empty OUT")


DATASET_KINDS = ("folder", "busi", "mendeley", "mt-small")
"""Dataset layouts ``--kind`` accepts (:func:`mstl_lib.data.datasets.load_dataset`)."""


def _audit_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="dataset folder")
    p.add_argument("--kind", choices=DATASET_KINDS, default="folder", help="dataset layout (default: folder per class)")
    p.add_argument(
        "--max-distance", type=int, default=8, help="perceptual-hash bits two near duplicates may differ by (default 8)"
    )
    p.add_argument(
        "--json", action="store_true", help="print one JSON object (counts, skipped, duplicate_groups, conflicts)"
    )


def _pretrain_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("cells", help="patch folder written by `mstl segment` (with manifest.csv)")
    p.add_argument("--backbone", choices=ALL_BACKBONES, default=None, help="default: the profile's first")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=None, help="default: the profile's first")
    p.add_argument(
        "--out", required=True, help="stage-1 folder; the model goes to OUT/<backbone>-<optimizer>/model.keras"
    )
    p.add_argument(
        "--study-stages",
        action="store_true",
        help="also train what `mstl study` needs: the same stage on shuffled labels (OUT/<backbone>-<optimizer>-"
        "control) and on the profile's fractions of the patches (...-fraction0.10, ...)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="delete a run of this backbone and optimizer already in OUT and train it again (default: reuse "
        "it if it was made with the same settings, refuse otherwise)",
    )
    _add_training_options(p)


def _grid_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("us", help="ultrasound dataset folder (benign/ and malignant/)")
    p.add_argument("--kind", choices=DATASET_KINDS, default="busi", help="dataset layout (default busi)")
    p.add_argument("--stage1", default=None, help="stage-1 folder from `mstl pretrain` (needed for MSTL)")
    p.add_argument("--out", required=True, help="grid folder (results are added fold by fold; rerun to resume)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="delete the results already in OUT and start the grid again (default: resume them if they were "
        "made with the same settings, refuse otherwise); not with --shard",
    )
    p.add_argument("--backbones", nargs="+", choices=ALL_BACKBONES, default=None, help="default: the profile's")
    p.add_argument("--optimizers", nargs="+", choices=OPTIMIZERS, default=None, help="default: the profile's")
    p.add_argument("--folds", type=int, default=None, help="outer folds (default: the profile's; paper 5)")
    p.add_argument(
        "--arms",
        nargs="+",
        choices=ARMS,
        default=None,
        help="transfer types to run (default: the profile's; lab: scratch ctl mstl baseline)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="configurations trained at once, each in its own process, sharing this machine's GPU "
        "(memory growth on); default 1",
    )
    p.add_argument(
        "--shard",
        default=None,
        metavar="K/N",
        help="run only the K-th of N disjoint parts of the grid (K from 1), all parts writing into the "
        "same --out; 'auto' reads a SLURM array (SLURM_ARRAY_TASK_ID, _COUNT, _MIN) or a Kubernetes "
        "Indexed Job (JOB_COMPLETION_INDEX with MSTL_SHARD_COUNT)",
    )
    _add_training_options(p)


def _add_parallel_options(p: argparse.ArgumentParser) -> None:
    """``--workers`` and ``--shard`` of the study (as the grid's, one job being one arm and stage-1 fraction)."""
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="arms trained at once, each in its own process (memory growth on a GPU); default 1",
    )
    p.add_argument(
        "--shard",
        default=None,
        metavar="K/N",
        help="run only the K-th of N disjoint parts of the study (K from 1), all writing into the same --out; "
        "'auto' reads a SLURM array or a Kubernetes Indexed Job, as `mstl grid --shard auto`",
    )


def _study_arguments(p: argparse.ArgumentParser) -> None:
    from mstl_lib.profiles import STUDY_ARMS

    p.add_argument("us", help="ultrasound dataset folder (benign/ and malignant/)")
    p.add_argument("--kind", choices=DATASET_KINDS, default="busi", help="dataset layout (default busi)")
    p.add_argument(
        "--stage1", default=None, help="stage-1 folder from `mstl pretrain --study-stages` (needed for mstl, control)"
    )
    p.add_argument("--out", required=True, help="study folder (results are added one by one; rerun to resume)")
    p.add_argument(
        "--sizes",
        nargs="+",
        default=None,
        help="training images per class, or 'all' (default: the profile's, larger ones than the data "
        "allow skipped with a note; sizes given here that the data cannot give are refused)",
    )
    p.add_argument("--repeats", type=int, default=None, help="repeats of the cross-validation (default: profile's)")
    p.add_argument("--arms", nargs="+", choices=STUDY_ARMS, default=None, help="default: the profile's")
    p.add_argument("--overwrite", action="store_true", help="delete OUT first and start again")
    _add_parallel_options(p)
    _add_training_options(p)


def _book_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--profile", choices=sorted(PROFILES), default="smoke", help="profile of every notebook (default smoke)"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--root", default=None, help="repository root (default: found from the working folder)")
    p.add_argument("--build-dir", default=None, help="build folder (default ROOT/_build)")
    p.add_argument("--work-dir", default=None, help="shared work folder of the notebooks (default BUILD/work/PROFILE)")
    p.add_argument("--only", nargs="+", default=None, help="execute only notebooks whose name contains one of these")
    p.add_argument("--no-execute", action="store_true", help="rebuild the HTML from notebooks executed earlier")
    p.add_argument(
        "--cell-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="time limit of one notebook cell, more than 0; a cell past it, or a kernel that dies or stops "
        "answering, ends the run with the lesson, the cell and the fix (default per profile: "
        + ", ".join(f"{name} {seconds:g} s" for name, seconds in CELL_TIMEOUTS.items())
        + ")",
    )
    p.add_argument(
        "--no-timeout",
        action="store_true",
        help="no time limit per cell (the watchdog still ends a lesson whose kernel dies or stops answering)",
    )
    p.add_argument(
        "--weights",
        default="profile",
        help="initial backbone weights: 'profile' (default: the profile's own), 'imagenet' (needs Keras' "
        "cache or internet) or 'none'",
    )


def _student_edition_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", help="new output folder")
    p.add_argument("--profile", default="lab", help="profile named in every lesson's parameters cell (default: lab)")
    p.add_argument(
        "--work-dir",
        default=None,
        help="work folder named in the parameters cells, e.g. a copy of the folder `mstl book --profile lab` "
        "filled (_build/work/lab); default: $MSTL_WORK_DIR/<profile> or ~/mstl_work/<profile>",
    )
    p.add_argument(
        "--format",
        choices=["plain", "nbgrader"],
        default="plain",
        help="plain: OUT/<lesson>.ipynb (default); nbgrader: a course folder for nbgrader, "
        "OUT/source/<lesson>/<lesson>.ipynb with solution regions and graded check cells, and OUT/nbgrader_config.py",
    )
    p.add_argument("--root", default=None, help="repository root (default: found from the working folder)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing non-empty OUT")


def _report_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="grid folder, or study folder (with study.json)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


SUBCOMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None]]] = {
    "synth": (
        "Write the synthetic cell frames (OUT/cells) and ultrasound set (OUT/ultrasound).",
        _synth_arguments,
    ),
    "segment": (
        "Segment cell frames RAW/<line>/* into a balanced, split patch set OUT (paper section 2.1).",
        _segment_arguments,
    ),
    "audit": ("Count images, list skipped files, find duplicates and cross-label conflicts.", _audit_arguments),
    "pretrain": (
        "Stage 1: fine-tune an ImageNet (or generic) backbone on cell-line patches (paper Fig. 3b).",
        _pretrain_arguments,
    ),
    "grid": (
        "Stage 2 (MSTL), CTL, training from scratch and a classical baseline over backbones x "
        "optimizers x folds (paper Table 1); resumable.",
        _grid_arguments,
    ),
    "study": (
        "When does the intermediate stage help? Scratch, CTL, MSTL, a shuffled-label control and the "
        "baseline over training-set sizes and repeated cross-validation; resumable.",
        _study_arguments,
    ),
    "book": ("Execute every notebook with papermill and build the HTML book (_build/html).", _book_arguments),
    "student-edition": (
        "Write the lessons for students as plain Jupyter notebooks: no solutions, outputs or book-only syntax.",
        _student_edition_arguments,
    ),
    "report": (
        "Print Table 1 and the MSTL-vs-CTL statistics of a grid folder, or the report of a study folder.",
        _report_arguments,
    ),
}
"""Every sub-command: its help text and the function adding its arguments, in ``mstl --help`` order."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``mstl``."""
    parser = argparse.ArgumentParser(
        prog="mstl",
        description="Multistage transfer learning for breast ultrasound (Ayana et al., Diagnostics 2022): "
        "data, segmentation, training and the book's reports.",
    )
    parser.add_argument("--version", action="version", version=f"mstl_lib {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, add_arguments) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
        add_arguments(p)
    return parser


@contextmanager
def _sigterm_as_exception():
    """SIGTERM (a scheduler, ``kill``) raises :class:`Terminated` here, so that cleanup runs as for Ctrl-C."""

    def stop(signum, frame):
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


RESUME_HINT = {"pretrain": "rerun the same command to resume", "grid": "rerun the same command to resume"}
"""What to do after an interruption, for commands that resume where they stopped."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mstl`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status.

    Library errors and system errors (a full disk, a read-only folder) are one
    line and exit status 2; Ctrl-C exits with 130 and SIGTERM with 143, each
    with one line, after the training processes have been stopped.
    """
    args = build_parser().parse_args(argv)
    quiet_this_process()  # before TensorFlow loads, here or in a kernel or training process started from here
    name = f"mstl {args.command}"
    hint = RESUME_HINT.get(args.command)
    try:
        with _sigterm_as_exception():
            check_arguments(args)  # before any work or any write
            if args.command in TENSORFLOW_COMMANDS:
                import_tensorflow_quietly()
            return COMMANDS[args.command](args)
    except MSTLError as error:
        print(f"{name}: error: {for_the_command_line(str(error))}", file=sys.stderr)
        return 2
    except OSError as error:  # a full disk, a read-only folder, a file where a folder should be
        where = f"{error.filename}: " if getattr(error, "filename", None) else ""
        print(f"{name}: error: {where}{error.strerror or error}", file=sys.stderr)
        return 2
    except Terminated:
        print(f"{name}: terminated (SIGTERM)" + (f"; {hint}" if hint else ""), file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print(f"{name}: interrupted" + (f"; {hint}" if hint else ""), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

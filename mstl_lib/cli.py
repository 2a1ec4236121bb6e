"""The ``mstl`` command line (also ``python -m mstl_lib``).

Every sub-command is a thin wrapper around a library function; errors of the
library's own are printed as one line naming the file and the fix, with exit
status 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from mstl_lib import __version__
from mstl_lib.errors import MSTLError
from mstl_lib.profiles import PROFILES

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(name: str):
    """Register a ``run_<name>`` function as the body of a sub-command."""
    def register(function):
        COMMANDS[name] = function
        return function
    return register


@command("synth")
def run_synth(args: argparse.Namespace) -> int:
    from mstl_lib.synthetic import write_synthetic

    written = write_synthetic(args.out, profile=args.size, seed=args.seed, overwrite=args.overwrite,
                              progress=not args.quiet)
    for what, path in written.items():
        print(f"{what}: {path}")
    return 0


@command("segment")
def run_segment(args: argparse.Namespace) -> int:
    from mstl_lib.patches import build_patch_dataset

    summary = build_patch_dataset(args.raw, args.out, per_class=args.per_class, seed=args.seed,
                                  overwrite=args.overwrite, on_error=args.on_error, progress=not args.quiet)
    print(summary.format_text())
    return 0


@command("audit")
def run_audit(args: argparse.Namespace) -> int:
    from mstl_lib.audit import audit_dataset
    from mstl_lib.datasets import load_dataset

    options = {"on_error": "skip"}
    if args.kind == "busi":
        options["include_normal"] = True
    dataset = load_dataset(args.data, args.kind, **options)
    report = audit_dataset(dataset, max_distance=args.max_distance, progress=not (args.quiet or args.json))
    print(report.to_json() if args.json else report.format_text())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``mstl``."""
    parser = argparse.ArgumentParser(
        prog="mstl",
        description="Multistage transfer learning for breast ultrasound (Ayana et al., Diagnostics 2022): "
                    "data, segmentation, training and the book's reports.",
    )
    parser.add_argument("--version", action="version", version=f"mstl_lib {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
        return p

    p = add("synth", "Write the synthetic cell frames (OUT/cells) and ultrasound set (OUT/ultrasound).")
    p.add_argument("out", help="new output folder")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--size", choices=sorted(PROFILES), default="smoke", help="data size of that profile (default smoke)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing non-empty OUT")

    p = add("segment", "Segment cell frames RAW/<line>/* into a balanced, split patch set OUT (paper section 2.1).")
    p.add_argument("raw", help="folder with one sub-folder of frames per cell line")
    p.add_argument("out", help="new output folder for patches and manifest.csv")
    p.add_argument("--per-class", type=int, default=None, help="patches per cell line (paper 6800; default: balanced to the smallest class)")
    p.add_argument("--seed", type=int, default=0, help="seed of sampling and split (default 0)")
    p.add_argument("--on-error", choices=("raise", "skip"), default="raise", help="stop on, or skip and list, unreadable frames")
    p.add_argument("--overwrite", action="store_true", help="replace an existing non-empty OUT")

    p = add("audit", "Count images, list skipped files, find duplicates and cross-label conflicts.")
    p.add_argument("data", help="dataset folder")
    p.add_argument("--kind", choices=("folder", "busi", "mendeley", "mt-small"), default="folder",
                   help="dataset layout (default: folder per class)")
    p.add_argument("--max-distance", type=int, default=8, help="perceptual-hash bits two near duplicates may differ by (default 8)")
    p.add_argument("--json", action="store_true", help="print one JSON object (counts, skipped, duplicate_groups, conflicts)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mstl`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except MSTLError as error:
        print(f"mstl {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"mstl {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

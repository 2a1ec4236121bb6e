"""From full microscopy frames to the stage-1 patch dataset (paper section 2.1).

``RAW/<cell line>/<frame>`` -> :func:`mstl_lib.data.segmentation.segment_frame` on
every frame -> a balanced random sample of ``per_class`` patches per cell
line (the paper: 6,800 per line, 20,400 in all) -> ``OUT/<cell line>/*.png``
plus ``OUT/manifest.csv``, which records for every patch its source frame,
its box in that frame and its part of a 7:2:1 train/validation/test split
grouped by source frame.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mstl_lib.data.datasets import ImageDataset, ImageRecord, SkippedFile, load_folder_dataset
from mstl_lib.data.images import read_image
from mstl_lib.data.splits import grouped_split
from mstl_lib.errors import DataError, ImageReadError
from mstl_lib.outputs import prepare_output_dir, write_image, write_json
from mstl_lib.validation import check_choice, check_integer, check_seed

SPLIT_NAMES = ("train", "val", "test")
PAPER_SPLIT = (0.7, 0.2, 0.1)
PATCH_MANIFEST = "manifest.csv"
MANIFEST_FIELDS = ("patch", "class", "split", "source", "x", "y", "w", "h")


@dataclass
class PatchSetSummary:
    """What :func:`build_patch_dataset` wrote.

    Attributes
    ----------
    out_dir : pathlib.Path
        The patch dataset folder.
    manifest : pathlib.Path
        ``out_dir/manifest.csv``.
    per_class : dict
        For each class: ``frames``, ``found`` (patches segmented), ``kept``
        (patches written) and the count in each split part.
    skipped : list of SkippedFile
        Frames that could not be read (with ``on_error="skip"``) or yielded no patch.
    """

    out_dir: Path
    manifest: Path
    per_class: dict[str, dict[str, int]]
    skipped: list[SkippedFile] = field(default_factory=list)

    def format_text(self) -> str:
        """Per-class table, as printed by ``mstl segment``."""
        head = f"{'class':<10} {'frames':>7} {'found':>7} {'kept':>7} {'train':>7} {'val':>7} {'test':>7}"
        lines = [head, "-" * len(head)]
        for name, row in self.per_class.items():
            lines.append(f"{name:<10} " + " ".join(f"{row[k]:>7}" for k in ("frames", "found", "kept", *SPLIT_NAMES)))
        lines.append(f"Patches and {PATCH_MANIFEST} written to {self.out_dir}")
        if self.skipped:
            lines.append(f"Skipped {len(self.skipped)} frame(s):")
            lines += [f"  {s.path}: {s.reason}" for s in self.skipped]
        return "\n".join(lines)


def build_patch_dataset(
    raw_dir,
    out_dir,
    *,
    per_class: int | None = None,
    seed: int = 0,
    fractions: Sequence[float] = PAPER_SPLIT,
    overwrite: bool = False,
    on_error: str = "raise",
    progress: bool = True,
    **segmentation_options,
) -> PatchSetSummary:
    """Segment every frame and write a balanced, split patch dataset.

    Parameters
    ----------
    raw_dir : path-like
        ``RAW/<class>/<frame image>``, one folder per cell line.
    out_dir : path-like
        New folder for ``<class>/*.png`` and ``manifest.csv``; an existing
        non-empty folder is refused unless ``overwrite``.
    per_class : int, optional
        Patches drawn per class (paper: 6,800). Default: as many as the class
        with the fewest patches has, so the classes are balanced.
    seed : int
        Seed of the sampling and the split.
    fractions : sequence of float
        Train/validation/test shares (paper: 7:2:1), grouped by source frame.
    on_error : {"raise", "skip"}
        What to do with an unreadable frame.
    progress : bool
        Show progress bars.
    **segmentation_options
        Passed to :func:`mstl_lib.data.segmentation.segment_frame` (block size,
        offset, cut-off, ...).

    Raises
    ------
    DataError
        If a class has fewer patches than ``per_class``, or too few frames to split.
    OutputExistsError
        If ``out_dir`` holds files and ``overwrite`` is False.
    """
    per_class = None if per_class is None else check_integer(per_class, "per_class", minimum=1)
    seed = check_seed(seed)
    frames = load_folder_dataset(raw_dir, name="cell frames", verify=False, on_error=on_error)
    out_dir = Path(out_dir)
    if out_dir.resolve() == frames.root.resolve() or frames.root.resolve() in out_dir.resolve().parents:
        raise DataError(f"{out_dir}: the output folder must not be inside the raw folder {frames.root}.")
    found, frames_per_class, skipped = _segment_frames(frames, on_error, progress, segmentation_options)
    available = {name: sum(1 for record, _ in found if record.label == name) for name in frames.class_names}
    per_class = _checked_per_class(per_class, available, frames.root)
    chosen = _balanced_sample(found, frames.class_names, per_class, seed)
    split_of = _split_by_source(chosen, fractions, seed)
    out_dir = prepare_output_dir(out_dir, overwrite=overwrite)
    rows = _write_patches(out_dir, frames.root, chosen, split_of, progress)
    manifest = _write_manifest(out_dir, rows)
    settings = {
        "raw_dir": str(frames.root),
        "per_class": per_class,
        "seed": seed,
        "fractions": list(fractions),
        "segmentation_options": json.loads(json.dumps(segmentation_options, default=str)),
    }
    write_json(out_dir / "patches.json", settings)
    per_class_summary = {}
    for name in frames.class_names:
        row = {"frames": frames_per_class[name], "found": available[name], "kept": per_class}
        for split in SPLIT_NAMES:
            row[split] = sum(1 for r in rows if r["class"] == name and r["split"] == split)
        per_class_summary[name] = row
    return PatchSetSummary(out_dir=out_dir, manifest=manifest, per_class=per_class_summary, skipped=skipped)


_Found = tuple[ImageRecord, tuple[int, int, int, int]]


def _segment_frames(frames: ImageDataset, on_error: str, progress: bool, options: dict):
    """Every frame through :func:`~mstl_lib.data.segmentation.segment_frame` (section 2.1).

    Returns the ``(record, (x, y, w, h))`` of every box found, the number of
    frames read per class, and the frames skipped (unreadable, or no cell found).
    """
    from tqdm.auto import tqdm

    from mstl_lib.data.segmentation import segment_frame

    skipped: list[SkippedFile] = list(frames.skipped)
    found: list[_Found] = []
    frames_per_class = {name: 0 for name in frames.class_names}
    for record in tqdm(frames.records, desc="Segmenting frames", unit="frame", disable=not progress):
        try:
            frame = read_image(record.path)
        except ImageReadError as error:
            if on_error == "raise":
                raise
            skipped.append(SkippedFile(record.path, f"{error.reason} {error.fix}".strip()))
            continue
        boxes = segment_frame(frame, **options).boxes
        frames_per_class[record.label] += 1
        if not boxes:
            skipped.append(SkippedFile(record.path, "no cell found by the segmentation"))
        found.extend((record, b.as_tuple()) for b in boxes)
    return found, frames_per_class, skipped


def _checked_per_class(per_class: int | None, available: dict[str, int], root: Path) -> int:
    """``per_class``, by default the smallest class's patch count, checked against every class's."""
    if per_class is None:
        per_class = max(1, min(available.values()))
    short = {name: n for name, n in available.items() if n < per_class}
    if short:
        raise DataError(
            f"{root}: too few patches for per_class={per_class}: "
            + ", ".join(f"{name!r} has {n}" for name, n in short.items())
            + ". Fix: pass a smaller per_class (CLI: --per-class), or add frames of those classes."
        )
    return per_class


def _balanced_sample(found: list[_Found], class_names, per_class: int, seed: int) -> list[_Found]:
    """``per_class`` boxes drawn at random from each class (the paper: 6,800 per cell line)."""
    rng = np.random.default_rng(seed)
    chosen: list[_Found] = []
    for name in class_names:
        candidates = [item for item in found if item[0].label == name]
        picks = np.sort(rng.choice(len(candidates), size=per_class, replace=False))
        chosen.extend(candidates[i] for i in picks)
    return chosen


def _split_by_source(chosen: list[_Found], fractions, seed: int) -> np.ndarray:
    """The part (``train``, ``val``, ``test``) of each patch, patches of one frame on one side."""
    labels = [record.label for record, _ in chosen]
    groups = [str(record.path) for record, _ in chosen]
    parts = grouped_split(labels, groups, fractions, seed=seed)
    split_of = np.empty(len(chosen), dtype=object)
    for name, part in zip(SPLIT_NAMES, parts):
        split_of[part] = name
    return split_of


def _write_patches(out_dir: Path, root: Path, chosen: list[_Found], split_of, progress: bool) -> list[dict]:
    """Crop and write every chosen patch (one read per frame); return the manifest rows, sorted."""
    from tqdm.auto import tqdm

    by_frame: dict[Path, list[int]] = {}
    for i, (record, _) in enumerate(chosen):
        by_frame.setdefault(record.path, []).append(i)
    rows = []
    for path, indices in tqdm(by_frame.items(), desc="Writing patches", unit="frame", disable=not progress):
        frame = read_image(path)
        label = chosen[indices[0]][0].label
        source = path.relative_to(root)
        stem = "__".join(source.with_suffix("").parts[1:])
        for i in indices:
            x, y, w, h = chosen[i][1]
            name = f"{label}/{stem}_x{x}_y{y}.png"
            write_image(out_dir / name, frame[y : y + h, x : x + w])
            rows.append(dict(zip(MANIFEST_FIELDS, (name, label, split_of[i], source.as_posix(), x, y, w, h))))
    return sorted(rows, key=lambda row: row["patch"])


def _write_manifest(out_dir: Path, rows: list[dict]) -> Path:
    """``out_dir/manifest.csv``: one row per patch (:data:`MANIFEST_FIELDS`)."""
    manifest = out_dir / PATCH_MANIFEST
    with manifest.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def patch_manifest_path(patch_dir) -> Path:
    """The patch folder's ``manifest.csv``, which must exist."""
    manifest = Path(patch_dir) / PATCH_MANIFEST
    if not manifest.is_file():
        raise DataError(
            f"{patch_dir}: no {PATCH_MANIFEST} here. Fix: point at a folder written by `mstl segment` "
            "(or build_patch_dataset)."
        )
    return manifest


def load_patch_dataset(patch_dir, split: str | None = None) -> ImageDataset:
    """Load a patch dataset written by :func:`build_patch_dataset`.

    Parameters
    ----------
    patch_dir : path-like
        Folder holding ``manifest.csv``.
    split : {"train", "val", "test"}, optional
        Load only that part of the 7:2:1 split.

    Returns
    -------
    ImageDataset
        Records grouped by source frame, classes in manifest order of first appearance
        sorted by name.
    """
    patch_dir = Path(patch_dir)
    manifest = patch_manifest_path(patch_dir)
    if split is not None:
        check_choice(split, "split", SPLIT_NAMES)
    with manifest.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = set(MANIFEST_FIELDS) - set(reader.fieldnames or ())
        if missing:
            raise DataError(f"{manifest}: missing column(s) {sorted(missing)}; was it written by this library?")
        rows = list(reader)
    records = [
        ImageRecord(path=patch_dir / row["patch"], label=row["class"], group=row["source"])
        for row in rows
        if split is None or row["split"] == split
    ]
    for record in records:
        if not record.path.is_file():
            raise DataError(f"{record.path}: listed in {manifest} but missing. Fix: rebuild the patch dataset.")
    classes = tuple(sorted({row["class"] for row in rows}))
    return ImageDataset(name="cell patches", root=patch_dir, class_names=classes, records=records)


def patch_splits(patch_dir) -> dict[str, np.ndarray]:
    """Indices of each split part in ``load_patch_dataset(patch_dir)`` order."""
    with (Path(patch_dir) / PATCH_MANIFEST).open(newline="") as handle:
        splits = np.array([row["split"] for row in csv.DictReader(handle)])
    return {name: np.flatnonzero(splits == name) for name in SPLIT_NAMES}

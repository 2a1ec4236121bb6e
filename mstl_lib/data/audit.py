"""Dataset audit: counts, skipped files, duplicates and label conflicts.

Public breast-ultrasound sets repeat themselves: about 19% of BUSI's images
are duplicates and several lesions are filed under two labels (Pawlowska,
Karwat and Zolek, Data in Brief 48, 109247, 2023). A duplicate on both sides
of a split inflates test accuracy, so the audit finds exact and near
duplicates with a perceptual hash (DCT hash of Zauner 2010, as implemented
by ``imagehash.phash``) and merges them into one group for every splitter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image

from mstl_lib.data.datasets import ImageDataset, SkippedFile
from mstl_lib.data.images import read_image
from mstl_lib.errors import DataError

DEFAULT_MAX_DISTANCE = 8
"""Largest Hamming distance (of 64 hash bits) between two near duplicates.

On the BUSI sample, repeated views of one lesion differ by 0-8 bits while
different lesions differ by 12 or more."""


@dataclass
class AuditReport:
    """What :func:`audit_dataset` found.

    Attributes
    ----------
    root : pathlib.Path
        The dataset folder.
    counts : dict
        Usable images per class.
    skipped : list of SkippedFile
        Files found and not used, with reasons.
    duplicate_groups : list of list of pathlib.Path
        Sets of two or more images that are exact or near duplicates.
    conflicts : list of dict
        Duplicate groups whose images carry more than one label:
        ``{"labels": [...], "paths": [...]}``.
    """

    root: Path
    counts: dict[str, int]
    skipped: list[SkippedFile] = field(default_factory=list)
    duplicate_groups: list[list[Path]] = field(default_factory=list)
    conflicts: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready dict with keys ``counts``, ``skipped``, ``duplicate_groups``, ``conflicts``."""
        rel = self._relative
        return {
            "root": str(self.root),
            "counts": dict(self.counts),
            "skipped": [{"path": rel(s.path), "reason": s.reason} for s in self.skipped],
            "duplicate_groups": [[rel(p) for p in group] for group in self.duplicate_groups],
            "conflicts": [{"labels": c["labels"], "paths": [rel(p) for p in c["paths"]]} for c in self.conflicts],
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The report as a JSON string."""
        return json.dumps(self.to_dict(), indent=indent)

    def format_text(self) -> str:
        """A human-readable report, as printed by ``mstl audit``."""
        rel = self._relative
        lines = [f"Dataset: {self.root}", "", "Images per class:"]
        lines += [f"  {name:<12} {count:>6}" for name, count in self.counts.items()]
        lines.append(f"  {'total':<12} {sum(self.counts.values()):>6}")
        lines += ["", f"Skipped files: {len(self.skipped)}"]
        lines += [f"  {rel(s.path)}: {s.reason}" for s in self.skipped]
        n_dup = sum(len(g) for g in self.duplicate_groups)
        lines += ["", f"Duplicate groups: {len(self.duplicate_groups)} ({n_dup} images)"]
        for group in self.duplicate_groups:
            lines.append("  " + " = ".join(rel(p) for p in group))
        lines += ["", f"Cross-label conflicts: {len(self.conflicts)}"]
        for conflict in self.conflicts:
            lines.append(f"  {' vs '.join(conflict['labels'])}: " + ", ".join(rel(p) for p in conflict["paths"]))
        if self.conflicts:
            lines.append("  Fix: check these images' true labels; drop or relabel them before training.")
        return "\n".join(lines)

    def _relative(self, path: Path) -> str:
        try:
            return Path(path).relative_to(self.root).as_posix()
        except ValueError:
            return str(path)


def perceptual_hash(image: np.ndarray) -> np.ndarray:
    """64-bit DCT perceptual hash of an RGB image, as a boolean vector."""
    gray = Image.fromarray(image).convert("L")
    return imagehash.phash(gray).hash.flatten()


def find_duplicate_groups(
    paths: list[Path],
    hashes: np.ndarray,
    max_distance: int = DEFAULT_MAX_DISTANCE,
) -> list[list[Path]]:
    """Group images whose hashes lie within ``max_distance`` bits (transitively).

    Parameters
    ----------
    paths : list of Path
        One path per hash.
    hashes : numpy.ndarray
        Boolean array (N, 64).
    max_distance : int
        Largest Hamming distance that still counts as a duplicate; 0 finds
        exact (perceptually identical) copies only.

    Returns
    -------
    list of list of Path
        Groups of two or more, each sorted, the list sorted by first path.
    """
    from scipy.cluster.hierarchy import DisjointSet
    from scipy.spatial.distance import pdist, squareform

    if not 0 <= max_distance <= 64:
        raise DataError(f"max_distance must lie in 0..64 bits, got {max_distance}.")
    n = len(paths)
    if n < 2:
        return []
    distances = squareform(np.rint(pdist(hashes, metric="hamming") * hashes.shape[1]).astype(np.int64))
    sets = DisjointSet(range(n))
    for i, j in zip(*np.nonzero(np.triu(distances <= max_distance, k=1))):
        sets.merge(int(i), int(j))
    groups = [sorted(paths[i] for i in members) for members in sets.subsets() if len(members) > 1]
    return sorted(groups, key=lambda g: str(g[0]))


def audit_dataset(
    dataset: ImageDataset,
    *,
    max_distance: int = DEFAULT_MAX_DISTANCE,
    progress: bool = True,
) -> AuditReport:
    """Audit a loaded dataset: counts, skipped files, duplicates, label conflicts.

    Images that cannot be read are added to ``skipped`` rather than stopping
    the audit. Pass the duplicate groups to :meth:`ImageDataset.regroup` so
    that splitters keep them together (see :func:`group_duplicates`).
    """
    from tqdm.auto import tqdm

    label_of = {r.path: r.label for r in dataset.records}
    paths: list[Path] = []
    hashes: list[np.ndarray] = []
    skipped = list(dataset.skipped)
    for record in tqdm(dataset.records, desc="Hashing images", unit="img", disable=not progress, leave=False):
        try:
            hashes.append(perceptual_hash(read_image(record.path)))
        except DataError as error:
            skipped.append(SkippedFile(record.path, str(error)))
            continue
        paths.append(record.path)
    groups = find_duplicate_groups(paths, np.array(hashes).reshape(len(paths), -1), max_distance)
    conflicts = []
    for group in groups:
        labels = sorted({label_of[p] for p in group})
        if len(labels) > 1:
            conflicts.append({"labels": labels, "paths": group})
    return AuditReport(
        root=dataset.root, counts=dataset.counts(), skipped=skipped, duplicate_groups=groups, conflicts=conflicts
    )


def group_duplicates(
    dataset: ImageDataset, report: AuditReport | None = None, *, drop_conflicts: bool = False, **options
) -> ImageDataset:
    """Return ``dataset`` with every duplicate group merged into one split group.

    Parameters
    ----------
    report : AuditReport, optional
        The dataset's audit; made with ``**options`` when not given.
    drop_conflicts : bool
        Also leave out the images filed under two labels (their true label is unknown).
    """
    report = report if report is not None else audit_dataset(dataset, **options)
    if drop_conflicts and report.conflicts:
        conflicted = {p for c in report.conflicts for p in c["paths"]}
        dataset = dataset.subset([i for i, p in enumerate(dataset.paths) if p not in conflicted])
    return dataset.regroup(report.duplicate_groups)


def load_audited_dataset(
    root, kind: str = "folder", *, drop_conflicts: bool = True, progress: bool = True
) -> tuple[ImageDataset, AuditReport]:
    """Load an ultrasound dataset ready to split: audited, duplicates grouped, label conflicts left out.

    What ``mstl grid``, ``mstl study`` and the lessons' work folder
    (:meth:`mstl_lib.teaching.workspace.Workspace.ultrasound`) train on: the
    images of ``root`` (unreadable ones skipped), each group of duplicates
    kept on one side of every split, and, with ``drop_conflicts``, no image
    filed under two labels.

    Parameters
    ----------
    root : path-like
        The dataset's folder.
    kind : str
        Its layout, a key of :data:`mstl_lib.data.datasets.LOADERS` (``busi``, ``folder``, ...).
    drop_conflicts : bool
        Leave out the images filed under two labels.
    progress : bool
        Show a progress bar while hashing.

    Returns
    -------
    dataset : ImageDataset
        Duplicates grouped (and conflicts left out).
    report : AuditReport
        The audit of the dataset as loaded, before anything was left out.
    """
    from mstl_lib.data.datasets import load_dataset

    dataset = load_dataset(root, kind, on_error="skip")
    report = audit_dataset(dataset, progress=progress)
    return group_duplicates(dataset, report, drop_conflicts=drop_conflicts), report

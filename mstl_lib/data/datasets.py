"""Image datasets on disk: one record per image, with its class and its group.

A *group* holds images that must stay on one side of every split: the
contrast-enhanced copies of one MT-Small image, the patches of one microscopy
frame, and (after :func:`mstl_lib.data.audit.audit_dataset`) exact and near
duplicates. The splitters in :mod:`mstl_lib.data.splits` never cut a group.

Loaders
-------
- :func:`load_folder_dataset`: generic ``ROOT/<class>/<image>`` layout.
- :func:`load_busi`: BUSI (Al-Dhabyani et al. 2020), ``benign/ malignant/ normal/``,
  files like ``benign (12).png``; ``*_mask*.png`` masks are excluded.
- :func:`load_mendeley`: the Mendeley breast ultrasound set (Rodrigues 2017),
  ``benign/`` (100) and ``malignant/`` (150) BMP files, balanced as in the paper
  (Ayana et al. 2022, section 2.1) by drawing 100 malignant images with a seed.
- :func:`load_mt_small`: MT-Small-Dataset (Badawy et al. 2021), 200 benign and
  200 malignant BUSI images with fuzzy contrast-enhanced copies; every variant
  of one image is one group.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from mstl_lib.data.images import (
    is_image_file,
    is_system_file,
    read_image,
    to_network_input,
)
from mstl_lib.errors import DataError, ImageReadError
from mstl_lib.profiles import INPUT_SIZE
from mstl_lib.validation import check_choice, check_existing_path, check_integer, check_seed

ON_ERROR_CHOICES = ("raise", "skip")


@dataclass(frozen=True)
class ImageRecord:
    """One image of a dataset.

    Attributes
    ----------
    path : pathlib.Path
        The image file.
    label : str
        Its class name.
    group : str
        Images sharing a group are kept on one side of every split.
    """

    path: Path
    label: str
    group: str


@dataclass(frozen=True)
class SkippedFile:
    """A file that was found but not used, and why."""

    path: Path
    reason: str


@dataclass
class ImageDataset:
    """Images with labels and groups, as found on disk.

    Attributes
    ----------
    name : str
        Which loader made it (``folder``, ``busi``, ``mendeley``, ``mt-small``, ...).
    root : pathlib.Path
        The dataset folder.
    class_names : tuple of str
        Class names; a record's integer label is its index here.
    records : list of ImageRecord
        The usable images, in a stable order.
    skipped : list of SkippedFile
        Files that were found and left out, with the reason.
    """

    name: str
    root: Path
    class_names: tuple[str, ...]
    records: list[ImageRecord]
    skipped: list[SkippedFile] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def paths(self) -> list[Path]:
        """Image paths, in record order."""
        return [r.path for r in self.records]

    @property
    def labels(self) -> np.ndarray:
        """Integer labels (index into :attr:`class_names`), in record order."""
        index = {name: i for i, name in enumerate(self.class_names)}
        return np.array([index[r.label] for r in self.records], dtype=np.int64)

    @property
    def groups(self) -> np.ndarray:
        """Group names, in record order."""
        return np.array([r.group for r in self.records], dtype=object)

    def counts(self) -> dict[str, int]:
        """Number of images per class, in :attr:`class_names` order."""
        counter = Counter(r.label for r in self.records)
        return {name: counter.get(name, 0) for name in self.class_names}

    def subset(self, indices: Iterable[int]) -> ImageDataset:
        """A dataset holding only the records at ``indices``."""
        return replace(self, records=[self.records[i] for i in indices])

    def regroup(self, groups_of_paths: Iterable[Iterable[Path]]) -> ImageDataset:
        """Merge the groups of images that belong together (e.g. duplicates).

        Parameters
        ----------
        groups_of_paths : iterable of iterables of paths
            Each inner collection lists images that must share one group.
            Groups are merged transitively with the existing ones.
        """
        parent: dict[str, str] = {}

        def find(name: str) -> str:
            while parent.get(name, name) != name:
                name = parent[name]
            return name

        group_of_path = {r.path: r.group for r in self.records}
        for paths in groups_of_paths:
            names = [group_of_path[Path(p)] for p in paths if Path(p) in group_of_path]
            for other in names[1:]:
                a, b = sorted((find(names[0]), find(other)))
                if a != b:
                    parent[b] = a
        records = [replace(r, group=find(r.group)) for r in self.records]
        return replace(self, records=records)

    def load_arrays(self, size: int = INPUT_SIZE, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Read every image at the network's input size.

        Returns
        -------
        images : numpy.ndarray
            ``uint8`` array (N, size, size, 3); uint8 keeps 20,400 patches under 350 MB.
        labels : numpy.ndarray
            ``int64`` array (N,).
        """
        from tqdm.auto import tqdm

        images = np.empty((len(self), size, size, 3), dtype=np.uint8)
        records = tqdm(self.records, desc=f"Loading {self.name}", unit="img", disable=not progress, leave=False)
        for i, record in enumerate(records):
            images[i] = to_network_input(read_image(record.path), size)
        return images, self.labels


def _find_class_dir(root: Path, name: str) -> Path | None:
    exact = root / name
    if exact.is_dir():
        return exact
    matches = [d for d in root.iterdir() if d.is_dir() and d.name.lower() == name.lower()]
    return matches[0] if len(matches) == 1 else None


def _check_root(root) -> Path:
    return check_existing_path(
        root, "dataset folder", fix="pass the dataset folder, which holds one sub-folder per class."
    )


def scan_class_folder(
    folder: Path,
    label: str,
    *,
    exclude: re.Pattern | None = None,
    verify: bool = True,
    on_error: str = "raise",
) -> tuple[list[Path], list[SkippedFile]]:
    """List the usable images of one class folder (recursively).

    System files (``Thumbs.db``, ``.DS_Store``, hidden files) and files
    matching ``exclude`` are skipped and listed; other non-image files are
    skipped and listed too. With ``verify``, every image is decoded once so
    that a broken file is found now, not in the middle of training.

    Raises
    ------
    DataError
        If the folder holds no usable image.
    ImageReadError
        For a broken image when ``on_error="raise"``.
    """
    check_choice(on_error, "on_error", ON_ERROR_CHOICES)
    images: list[Path] = []
    skipped: list[SkippedFile] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if is_system_file(path):
            skipped.append(SkippedFile(path, "system file, not an image"))
        elif exclude is not None and exclude.search(path.name):
            skipped.append(SkippedFile(path, "excluded by the loader (e.g. a segmentation mask)"))
        elif not is_image_file(path):
            skipped.append(SkippedFile(path, f"not an image ending ({path.suffix or 'no ending'})"))
        else:
            if verify:
                try:
                    read_image(path)
                except ImageReadError as error:
                    if on_error == "raise":
                        raise
                    skipped.append(SkippedFile(path, f"{error.reason} {error.fix}".strip()))
                    continue
            images.append(path)
    if not images:
        found = ", ".join(s.path.name for s in skipped[:5]) or "nothing"
        raise DataError(
            f"{folder}: the class folder {label!r} holds no usable image (found: {found}). "
            "Fix: put the class's PNG/JPEG/BMP/TIFF images there, or leave the class out."
        )
    return images, skipped


def load_folder_dataset(
    root,
    classes: Sequence[str] | None = None,
    *,
    name: str = "folder",
    exclude: str | None = None,
    verify: bool = True,
    on_error: str = "raise",
) -> ImageDataset:
    """Load a ``ROOT/<class>/<image>`` dataset.

    Parameters
    ----------
    root : path-like
        Folder with one sub-folder per class.
    classes : sequence of str, optional
        Class folders to use, in label order (matched case-insensitively).
        Default: every sub-folder, sorted by name.
    name : str
        Name recorded in the dataset.
    exclude : str, optional
        Regular expression; files whose name matches are skipped (e.g. masks).
    verify : bool
        Decode every image once while scanning (default True).
    on_error : {"raise", "skip"}
        What to do with an unreadable image: raise :class:`ImageReadError`, or
        skip it and list it in :attr:`ImageDataset.skipped`.

    Raises
    ------
    DataError
        Missing or empty root or class folder, or fewer than two classes.
    ImageReadError
        A broken image, with ``on_error="raise"``.
    """
    check_choice(on_error, "on_error", ON_ERROR_CHOICES)
    root = _check_root(root)
    if classes is None:
        classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    classes = list(classes)
    if len(classes) < 2:
        raise DataError(
            f"{root}: found {len(classes)} class folder(s) {classes}; classification needs at least two. "
            "Fix: the folder must hold one sub-folder per class, e.g. benign/ and malignant/."
        )
    if len({c.lower() for c in classes}) != len(classes):
        raise DataError(f"{root}: class names {classes} repeat (ignoring case).")
    pattern = re.compile(exclude, re.IGNORECASE) if exclude else None
    records: list[ImageRecord] = []
    skipped: list[SkippedFile] = []
    for label in classes:
        folder = _find_class_dir(root, label)
        if folder is None:
            present = sorted(d.name for d in root.iterdir() if d.is_dir())
            raise DataError(
                f"{root}: no class folder {label!r} (found folders: {present or 'none'}). "
                f"Fix: create {root / label} with that class's images, or choose classes from those found."
            )
        images, skipped_here = scan_class_folder(folder, label, exclude=pattern, verify=verify, on_error=on_error)
        skipped.extend(skipped_here)
        for path in images:
            group = f"{label}/{path.relative_to(folder).with_suffix('').as_posix()}"
            records.append(ImageRecord(path=path, label=label, group=group))
    return ImageDataset(name=name, root=root, class_names=tuple(classes), records=records, skipped=skipped)


BUSI_MASK = r"_mask(_\d+)?\.[a-z]+$"


def load_busi(root, *, include_normal: bool = False, verify: bool = True, on_error: str = "raise") -> ImageDataset:
    """Load BUSI, "Dataset of breast ultrasound images" (Al-Dhabyani et al. 2020).

    Layout ``ROOT/benign/benign (12).png``, ``ROOT/malignant/...``,
    ``ROOT/normal/...``; the segmentation masks (``benign (12)_mask.png``,
    ``..._mask_1.png``) are skipped. The paper's task is benign vs malignant,
    so ``normal`` is left out unless ``include_normal``.

    Notes
    -----
    The public BUSI holds about 19% duplicated images and some lesions filed
    under two labels (Pawlowska et al. 2023); run :func:`mstl_lib.data.audit.audit_dataset`
    and :meth:`ImageDataset.regroup` before splitting.
    """
    classes = ["benign", "malignant"] + (["normal"] if include_normal else [])
    dataset = load_folder_dataset(root, classes, name="busi", exclude=BUSI_MASK, verify=verify, on_error=on_error)
    return dataset


def load_mendeley(
    root,
    *,
    balance: bool = True,
    per_class: int = 100,
    seed: int = 0,
    verify: bool = True,
    on_error: str = "raise",
) -> ImageDataset:
    """Load the Mendeley "Breast Ultrasound Image" set (Rodrigues 2017).

    Layout ``ROOT/benign/*.bmp`` (100 images) and ``ROOT/malignant/*.bmp``
    (150). The paper (section 2.1) balances the classes by using 100 of the
    150 malignant images; with ``balance`` we draw ``per_class`` images of each
    class that has more, reproducibly from ``seed``, and list the rest as skipped.

    Raises
    ------
    DataError
        If a class has fewer than ``per_class`` images when balancing.
    """
    if balance:  # checked before the images are read
        per_class = check_integer(per_class, "per_class", minimum=1)
        seed = check_seed(seed)
    dataset = load_folder_dataset(root, ["benign", "malignant"], name="mendeley", verify=verify, on_error=on_error)
    if not balance:
        return dataset
    rng = np.random.default_rng(seed)
    keep: list[ImageRecord] = []
    skipped = list(dataset.skipped)
    for label in dataset.class_names:
        members = [r for r in dataset.records if r.label == label]
        if len(members) < per_class:
            raise DataError(
                f"{dataset.root}: class {label!r} has {len(members)} usable images, fewer than "
                f"per_class={per_class}. Fix: pass a smaller per_class, or balance=False."
            )
        chosen = set(rng.choice(len(members), size=per_class, replace=False).tolist())
        for i, record in enumerate(members):
            if i in chosen:
                keep.append(record)
            else:
                skipped.append(
                    SkippedFile(record.path, f"not drawn when balancing to {per_class} per class (seed {seed})")
                )
    return replace(dataset, records=keep, skipped=skipped)


MT_SMALL_VARIANTS = {"original": re.compile(r"original", re.I), "enhanced": re.compile(r"fuzzy|enhanc", re.I)}
MT_SMALL_MASKS = re.compile(r"ground|truth|mask", re.I)


def load_mt_small(
    root,
    *,
    include_enhanced: bool = False,
    verify: bool = True,
    on_error: str = "raise",
) -> ImageDataset:
    """Load MT-Small-Dataset (Badawy et al. 2021), the paper's second ultrasound set.

    Expected layout (as published)::

        ROOT/Benign/Original_Benign/*.png      200 images
        ROOT/Benign/Fuzzy_Benign/*.png         contrast-enhanced copies, same names
        ROOT/Benign/Ground_Truth_Benign/*.png  masks (never loaded)
        ROOT/Malignant/...                     the same for malignant

    The paper uses 400 images, 200 benign and 200 malignant (section 3.5),
    without naming the folder; these are the originals. With
    ``include_enhanced`` the fuzzy-enhanced copies are loaded too; a copy and
    its original share one group (same class and file stem) so they never sit
    on both sides of a split.
    """
    check_choice(on_error, "on_error", ON_ERROR_CHOICES)
    root = _check_root(root)
    wanted = ["original"] + (["enhanced"] if include_enhanced else [])
    records: list[ImageRecord] = []
    skipped: list[SkippedFile] = []
    for label in ("benign", "malignant"):
        class_dir = _find_class_dir(root, label)
        if class_dir is None:
            present = sorted(d.name for d in root.iterdir() if d.is_dir())
            raise DataError(
                f"{root}: no class folder {label!r} (found: {present or 'none'}). Fix: MT-Small's layout is "
                "Benign/Original_Benign/, Benign/Fuzzy_Benign/, Malignant/Original_Malignant/, ..."
            )
        variant_dirs = {
            d: v for d in class_dir.iterdir() if d.is_dir() for v, rx in MT_SMALL_VARIANTS.items() if rx.search(d.name)
        }
        for folder in sorted(d for d in class_dir.iterdir() if d.is_dir() and d not in variant_dirs):
            reason = (
                "segmentation masks (not inputs)" if MT_SMALL_MASKS.search(folder.name) else "folder of unknown role"
            )
            skipped.append(SkippedFile(folder, reason))
        for variant in wanted:
            folders = [d for d, v in variant_dirs.items() if v == variant]
            if not folders:
                raise DataError(
                    f"{class_dir}: no {variant} image folder (e.g. {'Original' if variant == 'original' else 'Fuzzy'}_"
                    f"{label.capitalize()}/). Fix: restore MT-Small's original layout."
                )
            for folder in sorted(folders):
                images, skipped_here = scan_class_folder(folder, label, verify=verify, on_error=on_error)
                skipped.extend(skipped_here)
                for path in images:
                    records.append(ImageRecord(path=path, label=label, group=f"{label}/{path.stem.lower()}"))
    return ImageDataset(
        name="mt-small", root=root, class_names=("benign", "malignant"), records=records, skipped=skipped
    )


LOADERS = {
    "folder": load_folder_dataset,
    "busi": load_busi,
    "mendeley": load_mendeley,
    "mt-small": load_mt_small,
}


def load_dataset(root, kind: str = "folder", **options) -> ImageDataset:
    """Load a dataset with the loader named ``kind`` (see :data:`LOADERS`)."""
    return LOADERS[check_choice(kind, "dataset kind", LOADERS)](root, **options)

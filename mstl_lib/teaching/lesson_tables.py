"""Tables and examples the lessons show of their data (lessons 2 and 4).

Lesson 2 looks at the stage-1 patches (Ayana et al. 2022, section 2.1): how
many cells the segmentation finds per frame and how elongated they are
(:func:`frame_statistics`), how close each cell line's split comes to the
paper's 7:2:1 and why not (:func:`split_summary`), the most elongated patch
(:func:`most_elongated_patch`) and a few patches of each line
(:func:`patch_examples`). Lesson 4 shows the share of each class in every part
of every fold of the ultrasound set (:func:`fold_table`). These read what
:mod:`mstl_lib.data` wrote; the pipeline itself needs none of them.
No TensorFlow is imported here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mstl_lib.data.datasets import ImageDataset
from mstl_lib.data.images import read_image
from mstl_lib.data.patches import PAPER_SPLIT, SPLIT_NAMES, load_patch_dataset, patch_manifest_path
from mstl_lib.data.splits import Fold

__all__ = ["frame_statistics", "split_summary", "most_elongated_patch", "patch_examples", "fold_table"]


def frame_statistics(frames: ImageDataset, **segmentation_options):
    """Cells found per frame and the median elongation of their boxes (long side / short side).

    Shows how the cell lines differ in shape (section 2.1: HeLa, MCF-7, NCI-H1299).

    Returns
    -------
    pandas.DataFrame
        One row per frame: ``line``, ``frame``, ``cells``, ``median elongation``.
    """
    import pandas as pd

    from mstl_lib.data.segmentation import segment_frame

    rows = []
    for record in frames.records:
        boxes = segment_frame(read_image(record.path), **segmentation_options).boxes
        elongation = [max(b.w, b.h) / min(b.w, b.h) for b in boxes]
        rows.append(
            {
                "line": record.label,
                "frame": record.path.name,
                "cells": len(boxes),
                "median elongation": float(np.median(elongation)) if boxes else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def split_summary(patch_dir, *, target: Sequence[float] = PAPER_SPLIT, tolerance: float = 0.05):
    """How close each cell line's split comes to the paper's 7:2:1 (section 2.1), and why not.

    Grouping by source frame moves whole frames, so with few frames per line
    the shares can only change in steps of one frame's patches.

    Returns
    -------
    pandas.DataFrame
        One row per class: patches in ``train``, ``val``, ``test``, the
        ``frames`` they come from, and a ``verdict`` sentence (close to the
        target when every share is within ``tolerance`` of it).
    """
    import pandas as pd

    manifest = pd.read_csv(patch_manifest_path(patch_dir))
    counts = manifest.groupby(["class", "split"]).size().unstack().reindex(columns=list(SPLIT_NAMES), fill_value=0)
    counts["frames"] = manifest.groupby("class").source.nunique()
    ratio = ":".join(f"{round(10 * f)}" for f in target)
    verdicts = []
    for _, row in counts.iterrows():
        shares = row[list(SPLIT_NAMES)].to_numpy() / row[list(SPLIT_NAMES)].sum()
        close = np.abs(shares - np.asarray(target)).max() <= tolerance
        shown = "/".join(f"{share:.0%}" for share in shares)
        reason = f"with {row.frames} frames, whole frames must go to one side"
        verdicts.append(f"{shown}: close to {ratio}" if close else f"{shown}: not {ratio}, because {reason}")
    counts["verdict"] = verdicts
    return counts


def most_elongated_patch(patch_dir):
    """The manifest row of the patch with the largest long-side / short-side ratio (its ``elongation``)."""
    import pandas as pd

    manifest = pd.read_csv(patch_manifest_path(patch_dir))
    manifest["elongation"] = np.maximum(manifest.w, manifest.h) / np.minimum(manifest.w, manifest.h)
    return manifest.loc[manifest.elongation.idxmax()]


def patch_examples(patch_dir, per_class: int = 4) -> tuple[list[np.ndarray], list[str]]:
    """The first ``per_class`` patches of each class, as images and their class names (for a grid)."""
    dataset = load_patch_dataset(patch_dir)
    records = []
    for name in dataset.class_names:
        records += [r for r in dataset.records if r.label == name][:per_class]
    return [read_image(r.path) for r in records], [r.label for r in records]


def fold_table(labels: Sequence, folds: Sequence[Fold], positive=1):
    """Images and share of the positive class in each part of each fold, as a table.

    Returns
    -------
    pandas.DataFrame
        Index: fold; columns: (``images`` | ``positive share``) x (``train``, ``val``, ``test``).
    """
    import pandas as pd

    labels = np.asarray(labels)
    rows = []
    for fold in folds:
        for part in ("train", "val", "test"):
            index = getattr(fold, part)
            rows.append(
                {
                    "fold": fold.index,
                    "part": part,
                    "images": int(len(index)),
                    "positive share": round(float((labels[index] == positive).mean()), 2)
                    if len(index)
                    else float("nan"),
                }
            )
    table = pd.DataFrame(rows).pivot(index="fold", columns="part", values=["images", "positive share"])
    table = table.reindex(columns=pd.MultiIndex.from_product([["images", "positive share"], ["train", "val", "test"]]))
    return table.astype({("images", p): int for p in ("train", "val", "test")})

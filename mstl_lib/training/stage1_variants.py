"""Variants of stage 1 for the study of when the intermediate stage helps.

- The **control** stage separates "cell images as a domain" from "one more
  stage of training": the same recipe on the same patches with their labels
  shuffled (a seeded permutation within each part of the 7:2:1 split, so each
  part keeps its class counts), trained for the number of epochs after which
  the real stage 1 kept its weights, and keeping the last epoch. The weights
  handed to stage 2 have thus seen the same number of optimisation steps on
  the same images as the real stage 1's, with labels that say nothing.
- The **fraction** stages answer the paper's open question on the quantity of
  cell-line images (Ayana et al. 2022, section 4): stage 1 on a fraction of
  the training patches, taken by whole source frames
  (:func:`mstl_lib.data.subsample.subsample_groups`); validation and test
  patches unchanged, the recipe unchanged.

Each variant lives beside the real run in the stage-1 folder:
``<stage1_dir>/<backbone>-<optimizer>-control/`` and
``<stage1_dir>/<backbone>-<optimizer>-fraction0.10/``
(:func:`mstl_lib.run_files.stage1_run_dir`). No TensorFlow here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from mstl_lib.data.subsample import subsample_groups
from mstl_lib.errors import DataError
from mstl_lib.validation import check_seed

CONTROL = "control"
"""Name of the shuffled-label control stage (and of its study arm)."""
SHUFFLE_SEED_OFFSET = 7919
"""Added to the run's seed for the label permutation, so it is not the seed of any other random stream."""


def fraction_name(fraction: float) -> str:
    """``"fraction0.10"``: the name of a stage-1 run on that fraction of the patches."""
    return f"fraction{float(fraction):.2f}"


def variant_for(arm: str, fraction: float | None) -> str | None:
    """The stage-1 variant an arm of the study starts from: None (the real run), ``"control"`` or a fraction's."""
    if arm == CONTROL:
        return CONTROL
    if arm == "mstl" and fraction is not None and float(fraction) < 1.0:
        return fraction_name(fraction)
    return None


@dataclass(frozen=True)
class Stage1Variant:
    """How one stage-1 variant changes the real run (see the module's description).

    Attributes
    ----------
    name : str
        ``"control"`` or ``"fraction0.10"``...
    shuffle_labels : bool
        Permute the labels within each part of the split (the control).
    fraction : float
        Share of the training part's source frames kept, per class.
    epochs : int or None
        Train exactly this many epochs, without early stopping, and keep the
        last (the control); None: the profile's recipe.
    seed : int
        Seed of the permutation or of the choice of frames.
    """

    name: str
    shuffle_labels: bool = False
    fraction: float = 1.0
    epochs: int | None = None
    seed: int = 0

    def apply(self, labels, groups, parts: dict) -> tuple[np.ndarray, dict]:
        """The labels and the split parts this variant trains on."""
        labels = np.asarray(labels).copy()
        parts = dict(parts)
        if self.shuffle_labels:
            rng = np.random.default_rng(check_seed(self.seed) + SHUFFLE_SEED_OFFSET)
            for name in sorted(parts):
                part = parts[name]
                labels[part] = labels[part][rng.permutation(len(part))]
        if self.fraction < 1.0:
            parts["train"] = subsample_groups(labels, groups, parts["train"], self.fraction, seed=self.seed)
        return labels, parts

    def to_dict(self) -> dict:
        return asdict(self)


def control_variant(real_summary: dict, seed: int = 0) -> Stage1Variant:
    """The control of a finished real stage-1 run (its ``stage1.json``): its epochs to the kept weights."""
    epochs = real_summary.get("best_epoch")
    if not epochs:
        raise DataError(
            "the real stage-1 run records no best epoch, so the control cannot match its steps. "
            "Fix: run `mstl pretrain` again in a new stage-1 folder."
        )
    return Stage1Variant(CONTROL, shuffle_labels=True, epochs=int(epochs), seed=seed)


def fraction_variant(fraction: float, seed: int = 0) -> Stage1Variant:
    """Stage 1 on ``fraction`` of the training patches, by source frame."""
    fraction = float(fraction)
    if not 0.0 < fraction < 1.0:
        raise DataError(f"a stage-1 fraction must be in (0, 1), got {fraction}; 1.0 is the real stage 1.")
    return Stage1Variant(fraction_name(fraction), fraction=fraction, seed=seed)

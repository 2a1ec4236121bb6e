"""A trained network of the grid, rebuilt from its best weights (for the lessons' feature maps and Grad-CAM).

The grid (:mod:`mstl_lib.training.grid`) keeps, for every (transfer type,
backbone, optimizer, fold) of the paper's Table 1 (Ayana et al. 2022,
section 2.4), the weights of the epoch its validation part picked
(``runs/<arm>-<backbone>-<optimizer>/fold<k>/best.weights.h5``,
:mod:`mstl_lib.run_files`); :func:`load_fold_model` builds the same
architecture and loads them.
"""

from __future__ import annotations

from mstl_lib.errors import DataError
from mstl_lib.profiles import INPUT_SIZE
from mstl_lib.run_files import best_weights_path, fold_run_dir, stage1_model_path


def load_fold_model(
    grid_dir, tl: str, backbone: str, optimizer: str, fold: int = 0, *, stage1_dir=None, image_size: int = INPUT_SIZE
):
    """Rebuild the trained model of one grid run from its best weights.

    Parameters
    ----------
    grid_dir : path-like
        Grid folder of :func:`run_grid`.
    tl, backbone, optimizer, fold
        Which run.
    stage1_dir : path-like, optional
        Stage-1 folder (the architecture of an MSTL model comes from its stage-1 model).
    image_size : int
        Input size the grid was trained at.
    """
    from mstl_lib.models.networks import build_ctl_model, build_stage2_model, load_model

    weights = best_weights_path(fold_run_dir(grid_dir, tl, backbone, optimizer, fold))
    if not weights.is_file():
        raise DataError(
            f"{weights}: no trained weights for {tl} {backbone} {optimizer} fold {fold}. Fix: run the grid first."
        )
    if tl == "mstl":
        if stage1_dir is None:
            raise DataError("an MSTL model is rebuilt from its stage-1 model: pass stage1_dir.")
        model = build_stage2_model(load_model(stage1_model_path(stage1_dir, backbone, optimizer), compile=False))
    else:
        model = build_ctl_model(backbone, weights=None, image_size=image_size)
    model.load_weights(str(weights))
    return model

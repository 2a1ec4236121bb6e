"""Figures of the book and of the paper, drawn with matplotlib.

Each function draws one kind of figure of Ayana et al. (2022) or of the book
and returns the :class:`matplotlib.figure.Figure`:

========================================  ==========================================
:func:`plot_segmentation_steps`           Fig. 2, segmenting a cell-line frame
:func:`plot_image_grid`                   contact sheet of images or patches
:func:`plot_learning_curves`              loss and accuracy per epoch
:func:`plot_confusion_matrix`             counts or rates of a confusion matrix
:func:`plot_roc_curves`                   Fig. 4, ROC curves of the grid
:func:`plot_optimizer_backbone_effects`   Fig. 5, accuracy by optimizer and CNN
:func:`plot_feature_maps`                 Fig. 6, MSTL vs CTL feature maps
:func:`plot_gradcam`                      Grad-CAM heat map over an image
:func:`plot_study_auc`                    lesson 8, test AUC against target-set size
:func:`plot_study_differences`            lesson 8, paired differences against size
:func:`plot_quantity_curve`               lesson 8, AUC against the share of stage-1 patches
:func:`draw_segmentation`                 lesson 2's explorer: Fig. 2 for chosen settings
:func:`draw_feature_explorer`             lesson 7's explorer: Fig. 6 for one image and stage
========================================  ==========================================

The figures are built with matplotlib's object API (``Figure()``, never
``pyplot``): nothing is drawn into a global "current figure", nothing is
shown, and the same call gives the same figure in a notebook, in the book and
in the tests. In a notebook the returned figure displays itself as the cell's
value (importing this module registers IPython's PNG formatter for
``Figure``, so no ``%matplotlib`` magic or pyplot import is needed); save it
with ``fig.savefig(path)``. Functions that draw one panel take
``ax=``, those that draw several take ``axes=``, to draw into an existing
figure.

Every function checks its input and raises :class:`mstl_lib.errors.DataError`
with a message naming what is wrong (an empty result list, a confusion matrix
that is not square, a segmentation without its intermediate images...).
"""

from mstl_lib.profiles import ARM_LABELS
from mstl_lib.visualize.common import BACKBONE_LABELS, OPTIMIZER_COLORS, OPTIMIZER_LABELS
from mstl_lib.visualize.evaluation import (
    plot_confusion_matrix,
    plot_leakage,
    plot_optimizer_backbone_effects,
    plot_roc_curves,
    plot_score_histograms,
    roc_points,
)
from mstl_lib.visualize.explorers import draw_feature_explorer, draw_segmentation
from mstl_lib.visualize.features import overlay_heatmap, plot_feature_maps, plot_gradcam
from mstl_lib.visualize.images import plot_image_grid, plot_segmentation_steps
from mstl_lib.visualize.study import plot_quantity_curve, plot_study_auc, plot_study_differences
from mstl_lib.visualize.training import plot_learning_curves

__all__ = [
    "ARM_LABELS",
    "BACKBONE_LABELS",
    "OPTIMIZER_LABELS",
    "OPTIMIZER_COLORS",
    "plot_segmentation_steps",
    "plot_image_grid",
    "plot_learning_curves",
    "plot_confusion_matrix",
    "roc_points",
    "plot_roc_curves",
    "plot_score_histograms",
    "plot_optimizer_backbone_effects",
    "plot_leakage",
    "plot_feature_maps",
    "plot_gradcam",
    "overlay_heatmap",
    "plot_study_auc",
    "plot_study_differences",
    "plot_quantity_curve",
    "draw_segmentation",
    "draw_feature_explorer",
]

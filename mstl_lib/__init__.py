"""mstl_lib: the library behind the book on multistage transfer learning.

Reproduces Ayana, Park, Jeong and Choe, "A Novel Multistage Transfer Learning
for Ultrasound Breast Cancer Image Classification", Diagnostics 2022, 12, 135.

One subpackage per stage of the paper, then the book's machinery:

=====================  ======================================================
:mod:`.data`           images, datasets, audit, splits, segmentation, patches,
                       synthetic data (section 2.1; no TensorFlow)
:mod:`.models`         backbones, the stage-1 and stage-2 networks, CTL, weights,
                       feature maps and Grad-CAM (section 2.2, Fig. 3)
:mod:`.training`       optimizers, input pipelines, fitting, the generic stage, the
                       two stages, the baseline and the grid (section 2.3)
:mod:`.evaluation`     metrics, statistics, Table 1, leakage (sections 2.4, 3;
                       no TensorFlow)
:mod:`.visualize`      the figures (Figs. 2, 4, 5, 6)
:mod:`.teaching`       notebook set-up, work folder, widgets, exercises, book build
:mod:`.profiles`       smoke / lab / paper, arms, input size
=====================  ======================================================

Subpackages are imported on demand, so ``import mstl_lib`` stays fast and does
not pull in TensorFlow.
"""

__version__ = "0.1.0"

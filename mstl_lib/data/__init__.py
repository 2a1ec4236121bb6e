"""The data of the paper, from files on disk to splits (no TensorFlow).

==================  ============================================================
:mod:`.images`      reading any image file, the network input, heat-map resizing
:mod:`.datasets`    image folders as records with class and group (BUSI, Mendeley, MT-Small)
:mod:`.audit`       counts, skipped files, duplicates and label conflicts
:mod:`.splits`      grouped, stratified splits and the cross-validation folds (section 2.1)
:mod:`.segmentation`  a bright-field frame into single-cell boxes (section 2.1)
:mod:`.patches`     the stage-1 patch dataset with its manifest (section 2.1)
:mod:`.synthetic`   offline stand-ins: cell frames, ultrasound, fractals
:mod:`.paper_table1`  the paper's Table 1 (18 configurations) as data, and its MT-Small figures
==================  ============================================================

Importing this package never loads TensorFlow (a test checks it), so data
work stays fast and runs where no deep-learning stack is installed.
"""

from mstl_lib.data.audit import (
    AuditReport,
    audit_dataset,
    find_duplicate_groups,
    group_duplicates,
    load_audited_dataset,
)
from mstl_lib.data.datasets import (
    ImageDataset,
    ImageRecord,
    SkippedFile,
    load_busi,
    load_dataset,
    load_folder_dataset,
    load_mendeley,
    load_mt_small,
)
from mstl_lib.data.images import is_image_file, load_image, read_image, to_network_input
from mstl_lib.data.patches import build_patch_dataset, load_patch_dataset, patch_splits
from mstl_lib.data.segmentation import Segmentation, draw_boxes, segment_frame
from mstl_lib.data.splits import Fold, check_no_leak, cross_validation_folds, grouped_split

__all__ = [
    "AuditReport",
    "audit_dataset",
    "load_audited_dataset",
    "find_duplicate_groups",
    "group_duplicates",
    "ImageDataset",
    "ImageRecord",
    "SkippedFile",
    "load_busi",
    "load_dataset",
    "load_folder_dataset",
    "load_mendeley",
    "load_mt_small",
    "is_image_file",
    "load_image",
    "read_image",
    "to_network_input",
    "build_patch_dataset",
    "load_patch_dataset",
    "patch_splits",
    "Segmentation",
    "draw_boxes",
    "segment_frame",
    "Fold",
    "check_no_leak",
    "cross_validation_folds",
    "grouped_split",
]

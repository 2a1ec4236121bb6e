"""Evaluating the grid: metrics, statistics, Table 1 and the leak demonstration (no TensorFlow).

==================  ===========================================================
:mod:`.metrics`     accuracy, AUC, sensitivity, specificity, F1, the ROC curve (section 2.4), fold summaries
:mod:`.stats`       the paper's t-test, the corrected resampled t-test and interval, Holm, bootstrap CIs
:mod:`.diagnostics` is a classifier usable? collapse checks before any picture
:mod:`.results`     a grid folder's per-fold results and manifest, read back
:mod:`.report`      Table 1 and the statistics of a grid (in words: :mod:`mstl_lib.teaching.grid_text`)
:mod:`.study`       a study folder read back: AUC against target-set size, paired differences, Holm
:mod:`.leakage`     how leaks between splits inflate accuracy
:mod:`.thresholds`  AUC against accuracy on one fold: threshold and calibration
==================  ===========================================================

Importing this package never loads TensorFlow (a test checks it).
"""

from mstl_lib.evaluation.diagnostics import summarize_predictions
from mstl_lib.evaluation.leakage import leakage_experiment
from mstl_lib.evaluation.metrics import binary_metrics, roc_auc, roc_curve, summarize_folds
from mstl_lib.evaluation.report import grid_statistics, report_dict, table1
from mstl_lib.evaluation.results import load_manifest, load_results
from mstl_lib.evaluation.stats import (
    bootstrap_ci,
    corrected_resampled_interval,
    corrected_resampled_ttest,
    holm_adjust,
    paper_ttest,
    repeats_needed,
)
from mstl_lib.evaluation.study import load_study, study_report, study_table
from mstl_lib.run_files import result_path

__all__ = [
    "summarize_predictions",
    "leakage_experiment",
    "binary_metrics",
    "roc_auc",
    "roc_curve",
    "summarize_folds",
    "grid_statistics",
    "report_dict",
    "table1",
    "load_manifest",
    "load_results",
    "result_path",
    "bootstrap_ci",
    "corrected_resampled_interval",
    "corrected_resampled_ttest",
    "holm_adjust",
    "paper_ttest",
    "repeats_needed",
    "load_study",
    "study_report",
    "study_table",
]

"""The paper's Table 1 as data: the 18 published configurations, read from ``paper_table1.csv``.

Ayana et al. (2022), section 3.1, Table 1: for each transfer type (CTL, MSTL), CNN and optimizer, the
five-fold averages of AUC, F1, specificity, sensitivity, loss and test accuracy on the Mendeley set.
The book's chapter *Reading the paper critically* recomputes the paper's headline numbers from it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mstl_lib.errors import DataError

TABLE1_PATH = Path(__file__).with_name("paper_table1.csv")
TABLE1_COLUMNS = ("auc", "f1", "specificity", "sensitivity", "loss", "test_accuracy", "accuracy_spread")


def load_paper_table1() -> pd.DataFrame:
    """The 18 rows of the paper's Table 1, one per (transfer, CNN, optimizer).

    Returns
    -------
    pandas.DataFrame
        Columns ``transfer`` (``"CTL"`` or ``"MSTL"``), ``cnn``, ``optimizer``, the metrics of
        :data:`TABLE1_COLUMNS` as printed (accuracy in percent), and ``avg_test_accuracy``, the paper's
        per-CNN average column.

    References
    ----------
    Ayana et al. (2022), section 3.1, Table 1.
    """
    return pd.read_csv(TABLE1_PATH, comment="#")


def paired_configurations(column: str, table: pd.DataFrame | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One Table 1 column for MSTL and for CTL, aligned on (CNN, optimizer).

    Parameters
    ----------
    column : str
        One of :data:`TABLE1_COLUMNS`, e.g. ``"test_accuracy"``: the column the paper's t-test used
        (section 3.2: "all the average 5-fold cross-validation accuracy results").
    table : pandas.DataFrame, optional
        A table shaped like :func:`load_paper_table1`'s; by default the paper's.

    Returns
    -------
    (mstl, ctl) : tuple of numpy.ndarray
        Nine values each, in the same (CNN, optimizer) order.

    Raises
    ------
    DataError
        ``column`` is not a Table 1 metric.
    """
    if column not in TABLE1_COLUMNS:
        raise DataError(f"column={column!r} is not a Table 1 metric; use one of {', '.join(TABLE1_COLUMNS)}")
    table = load_paper_table1() if table is None else table
    wide = table.pivot(index=["cnn", "optimizer"], columns="transfer", values=column)
    return wide["MSTL"].to_numpy(dtype=float), wide["CTL"].to_numpy(dtype=float)


#: The best MT-Small configuration (ResNet50 with Adagrad), as section 3.5 of the paper reports it
#: (accuracy as a fraction; the paper prints 98.7 ± 1.1 %). MT-Small holds 200 benign and 200 malignant images.
MT_SMALL_REPORTED = {"accuracy": 0.987, "auc": 0.98, "f1": 0.966, "sensitivity": 0.974, "specificity": 0.968}


def accuracy_from_rates(sensitivity: float, specificity: float, malignant_share: float = 0.5) -> float:
    """The accuracy that a sensitivity and a specificity imply at a given share of malignant images.

    Accuracy is the average of sensitivity and specificity weighted by the class shares,
    ``share * sensitivity + (1 - share) * specificity`` (the paper's equations 3 to 5), so it always lies
    between the two; with balanced classes it is their mean.

    Parameters
    ----------
    sensitivity, specificity : float
        TP / (TP + FN) and TN / (TN + FP), as fractions.
    malignant_share : float, default 0.5
        The share of malignant images among those tested, between 0 and 1.

    Raises
    ------
    DataError
        A rate or the share outside [0, 1].
    """
    for name, value in (
        ("sensitivity", sensitivity),
        ("specificity", specificity),
        ("malignant_share", malignant_share),
    ):
        if not 0.0 <= value <= 1.0:
            raise DataError(f"{name}={value!r} is not a fraction between 0 and 1")
    return malignant_share * sensitivity + (1.0 - malignant_share) * specificity

"""A study folder read back and analysed: when does the intermediate stage help?

``mstl study`` (:mod:`mstl_lib.training.study`) trains every arm at several
target-set sizes (images per class), over ``r`` repeats of ``k``-fold
cross-validation, and MSTL also with a fraction of the stage-1 patches (the
question Ayana et al. 2022 leave open in section 4). It writes one JSON per
(arm, stage-1 fraction, size, repeat, fold) under ``OUT/results`` and a
manifest ``OUT/study.json``. This module reads them without TensorFlow and
answers three questions with the corrected repeated cross-validation
statistics of :mod:`mstl_lib.evaluation.stats`:

* :func:`arm_summary`: each arm's mean test AUC at each size, with a 95%
  interval over repeats x folds;
* :func:`paired_differences`: MSTL - CTL, MSTL - control and MSTL - scratch
  at each size, paired by (repeat, fold) (the test images of a (repeat, fold)
  are the same for every arm and size), with the corrected resampled t-test;
* :func:`quantity_differences`: MSTL with a fraction of the stage-1 patches
  against MSTL with all of them, at the study's quantity size.

:func:`study_table` puts all of it in one tidy table, with Holm's adjustment
within each question (one pair of arms across the sizes, or the quantity
curve) and, for each difference, how many repeats would resolve it
(:func:`mstl_lib.evaluation.stats.repeats_needed`).

Intervals are those of the t distribution, clipped to the range of the
quantity (an AUC to [0, 1], a difference of AUCs to [-1, 1]): with a few
folds and a wide spread the t interval can pass these limits, which says
that the data cannot place the value, not that an AUC above 1 is possible.

The correction term ``n_test / n_train``
----------------------------------------
Nadeau and Bengio's term stands for the correlation between folds that comes
from splitting one data set again and again; it is the ratio of a fold's test
part to the data its training part is drawn from. A study trains at size
``n`` on a subsample of the fold's training part, which lowers the overlap
between folds rather than raising it, so by default (``correction="pool"``)
``n_train`` is the fold's whole training part (``n_train_part``, recorded with
each result), the same for every size: ``1/(k - 2)`` of the test part's size
with ``k`` folds. ``correction="used"``
takes the images each model was trained on instead, which widens the small
sizes' intervals a great deal (at 8 images per class ``n_test/n_train`` is
often above 1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mstl_lib.errors import DataError
from mstl_lib.profiles import STUDY_ARMS
from mstl_lib.run_files import STUDY_MANIFEST, STUDY_TABLE, study_result_files
from mstl_lib.validation import check_choice

__all__ = [
    "STUDY_MANIFEST",
    "STUDY_ARMS",
    "COMPARISONS",
    "UNIT_COLUMNS",
    "StudyReport",
    "is_study_folder",
    "load_study_manifest",
    "load_study",
    "size_order",
    "size_text",
    "arm_summary",
    "paired_aucs",
    "paired_differences",
    "quantity_differences",
    "study_table",
    "study_report",
    "write_study_table",
]

COMPARISONS = (("mstl", "ctl"), ("mstl", "control"), ("mstl", "scratch"))
"""The paired differences at each size: MSTL against one stage, against a stage on shuffled labels, against none."""
UNIT_COLUMNS = (
    "arm",
    "stage1_fraction",
    "size_label",
    "n_per_class",
    "repeat",
    "fold",
    "auc",
    "accuracy",
    "loss",
    "sensitivity",
    "specificity",
    "f1",
    "n_train",
    "n_test",
    "n_train_part",
)
"""The columns of :func:`load_study`: one row per trained unit."""
METRICS = ("auc", "accuracy", "loss", "sensitivity", "specificity", "f1")
CORRECTIONS = ("pool", "used")
REQUIRED_KEYS = ("arm", "size_label", "repeat", "fold", "n_train", "n_test", "metrics")


def is_study_folder(path) -> bool:
    """True when ``path`` is a folder holding a study manifest (``study.json``)."""
    return (Path(path) / STUDY_MANIFEST).is_file()


def load_study_manifest(out_dir) -> dict:
    """The study's manifest, checked to be one (``"kind": "study"``)."""
    path = Path(out_dir) / STUDY_MANIFEST
    if not path.is_file():
        raise DataError(f"{out_dir}: no {STUDY_MANIFEST}; is this a study folder written by `mstl study`?")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc}); rerun `mstl study` to rewrite it.") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != "study":
        raise DataError(f'{path}: not a study manifest (no "kind": "study").')
    return manifest


def _unit_row(path: Path) -> dict:
    try:
        unit = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc}); delete it and rerun `mstl study` to retrain it.") from None
    missing = [
        key for key in ("arm", "size_label", "repeat", "fold", "n_train", "n_test", "metrics") if key not in unit
    ]
    if missing:
        raise DataError(f"{path}: lacks {', '.join(missing)}; is it a study result written by `mstl study`?")
    row = {key: unit.get(key) for key in UNIT_COLUMNS if key not in METRICS}
    row["n_val"] = unit.get("n_val")
    row["size_label"] = str(unit["size_label"])
    row.update({key: unit["metrics"].get(key, np.nan) for key in METRICS})
    return row


def size_order(labels) -> list[str]:
    """Size labels from small to large: numbers in order, then ``"all"`` (the whole training part)."""
    labels = list(dict.fromkeys(str(label) for label in labels))
    return sorted(labels, key=lambda s: (0, int(s)) if s.isdigit() else (1, s))


def size_text(label) -> str:
    """A size label in words: ``"8 images per class"`` or ``"the whole training part"``."""
    label = str(label)
    if label.isdigit():
        return f"{label} image{'s' if label != '1' else ''} per class"
    return "the whole training part" if label == "all" else label


def load_study(out_dir) -> pd.DataFrame:
    """Every finished unit of a study folder, one row each (no TensorFlow).

    Parameters
    ----------
    out_dir : path-like
        A folder written by ``mstl study`` (with ``study.json``); units still
        running or not started are simply absent.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`UNIT_COLUMNS`: ``arm``, ``stage1_fraction`` (nan for
        arms without a stage 1), ``size_label`` (``"8"``, ..., ``"all"``),
        ``n_per_class``, ``repeat``, ``fold``, the test metrics of
        :func:`mstl_lib.evaluation.metrics.binary_metrics` and the fold's
        ``n_train``, ``n_test`` and ``n_train_part`` (its whole training part, which every size
        subsamples); sorted by arm, fraction, size, repeat, fold.

    Raises
    ------
    DataError
        No manifest, a file that is not a study result, or no result yet.
    """
    manifest = load_study_manifest(out_dir)
    paths = study_result_files(out_dir)
    if not paths:
        raise DataError(f"{out_dir}: no study results yet; run `mstl study` first (results are written unit by unit).")
    frame = pd.DataFrame([_unit_row(path) for path in paths], columns=[*UNIT_COLUMNS, "n_val"])
    frame["stage1_fraction"] = pd.to_numeric(frame["stage1_fraction"], errors="coerce")
    for column in ("n_per_class", "repeat", "fold", "n_train", "n_test", "n_train_part", "n_val"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    frame["n_train_part"] = frame["n_train_part"].fillna(_training_part(frame, manifest))
    frame = frame.drop(columns="n_val")
    sizes = {label: i for i, label in enumerate(size_order(frame["size_label"]))}
    arms = {arm: i for i, arm in enumerate(STUDY_ARMS)}
    keys = pd.DataFrame(
        {
            "arm": frame["arm"].map(lambda a: arms.get(a, len(arms))),
            "fraction": frame["stage1_fraction"].fillna(1.0),
            "size": frame["size_label"].map(sizes),
        }
    )
    order = np.lexsort((frame["fold"], frame["repeat"], keys["size"], keys["fraction"], keys["arm"]))
    return frame.iloc[order].reset_index(drop=True)


def _training_part(frame: pd.DataFrame, manifest: dict) -> pd.Series:
    """The fold's whole training part for results that do not record it: the data set less validation and test.

    A fold splits the data set into training, validation and test parts
    (:func:`mstl_lib.data.splits.cross_validation_folds`), so its training part
    is what the other two leave; nan where the manifest has no image counts.
    """
    counts = (manifest.get("dataset") or {}).get("counts") or {}
    total = float(sum(counts.values())) if counts else np.nan
    return total - frame["n_val"] - frame["n_test"]


def _with_pool(frame: pd.DataFrame) -> pd.DataFrame:
    """``n_train_pool``: the fold's whole training part, the pool every size's subsample is drawn from.

    Where a result says nothing of it (a hand-made frame), the largest
    ``n_train`` of its (repeat, fold) stands in, which is the training part
    only when the study has the size ``"all"``.
    """
    largest = frame.groupby(["repeat", "fold"])["n_train"].transform("max")
    part = frame["n_train_part"] if "n_train_part" in frame else pd.Series(np.nan, index=frame.index)
    return frame.assign(n_train_pool=part.fillna(largest))


def _ratio(rows: pd.DataFrame, correction: str) -> float:
    n_train = rows["n_train_pool" if correction == "pool" else "n_train"].astype(float).mean()
    return float(rows["n_test"].astype(float).mean() / n_train)


def _full_stage1(frame: pd.DataFrame) -> pd.DataFrame:
    """Units of the main curves: arms without stage 1, or with all of its patches."""
    fraction = frame["stage1_fraction"]
    return frame[fraction.isna() | np.isclose(fraction.fillna(1.0), 1.0)]


def _interval(values, test_train_ratio, confidence_level, bounds) -> dict:
    """The corrected interval as table columns; its ends clipped to ``bounds``, the range of the quantity."""
    from mstl_lib.evaluation.stats import corrected_resampled_interval

    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size < 2:
        return {"values": int(values.size), "estimate": float(values.mean()) if values.size else np.nan}
    ci = corrected_resampled_interval(values, n_train=1.0, n_test=test_train_ratio, confidence_level=confidence_level)
    return {
        "values": ci.n,
        "estimate": ci.estimate,
        "low": float(np.clip(ci.low, *bounds)),
        "high": float(np.clip(ci.high, *bounds)),
        "sd": ci.sd,
        "df": ci.df,
        "t": ci.statistic,
        "p": ci.pvalue,
    }


def arm_summary(frame: pd.DataFrame, *, confidence_level: float = 0.95, correction: str = "pool") -> pd.DataFrame:
    """Each arm's mean test AUC per (stage-1 fraction, size), with its corrected interval.

    The interval is :func:`mstl_lib.evaluation.stats.corrected_resampled_interval`
    over the ``k r`` AUCs of the repeats x folds (df = ``k r - 1``).

    Parameters
    ----------
    frame : pandas.DataFrame
        :func:`load_study`'s units.
    confidence_level : float, default 0.95
    correction : {"pool", "used"}, default "pool"
        Which ``n_train`` enters ``n_test / n_train`` (see the module's notes).

    Returns
    -------
    pandas.DataFrame
        One row per (arm, stage1_fraction, size_label): ``n_per_class``,
        ``repeats``, ``folds``, ``values``, ``estimate`` (mean AUC), ``low``,
        ``high``, ``sd``, ``df``, ``test_train_ratio``.
    """
    correction = check_choice(correction, "correction", CORRECTIONS)
    frame = _with_pool(frame)
    rows = []
    keys = ["arm", "stage1_fraction", "size_label"]
    for (arm, fraction, size), group in frame.groupby(keys, dropna=False, sort=False):
        ratio = _ratio(group, correction)
        stats = _interval(group["auc"], ratio, confidence_level, bounds=(0.0, 1.0))
        for untested in ("t", "p"):  # an AUC is not tested against 0
            stats.pop(untested, None)
        rows.append(
            {
                "arm": arm,
                "stage1_fraction": fraction,
                "size_label": size,
                "n_per_class": int(group["n_per_class"].median()),
                "repeats": group["repeat"].nunique(),
                "folds": group["fold"].nunique(),
                **stats,
                "test_train_ratio": ratio,
            }
        )
    return pd.DataFrame(rows)


def paired_aucs(frame: pd.DataFrame, arm: str, versus: str, size_label) -> pd.DataFrame:
    """The test AUCs of two arms side by side, one row per (repeat, fold) both have, at one size.

    Arms with a stage 1 enter with all of its patches. Columns ``repeat``,
    ``fold``, ``<arm>``, ``<versus>``, ``n_train``, ``n_test`` and
    ``n_train_pool`` (the fold's whole training part), for computing a
    paired difference by hand.
    """
    main = _with_pool(_full_stage1(frame))
    size = main["size_label"] == str(size_label)
    columns = ["repeat", "fold", "auc", "n_train", "n_test", "n_train_pool"]
    a = main[size & (main["arm"] == arm)][columns].rename(columns={"auc": arm})
    b = main[size & (main["arm"] == versus)][["repeat", "fold", "auc"]].rename(columns={"auc": versus})
    pairs = a.merge(b, on=["repeat", "fold"])
    return pairs[["repeat", "fold", arm, versus, "n_train", "n_test", "n_train_pool"]].reset_index(drop=True)


def _paired_row(a_rows, b_rows, folds, confidence_level, correction, alpha, power) -> dict:
    """The corrected test of ``a - b`` over the (repeat, fold) pairs both have."""
    from mstl_lib.evaluation.stats import repeats_needed

    pairs = a_rows.merge(b_rows, on=["repeat", "fold"], suffixes=("", "_b"))
    pairs = pairs[np.isfinite(pairs["auc"]) & np.isfinite(pairs["auc_b"])]
    ratio = _ratio(pairs, correction) if len(pairs) else np.nan
    stats = _interval(pairs["auc"] - pairs["auc_b"], ratio, confidence_level, bounds=(-1.0, 1.0))
    needed = None
    if "sd" in stats:
        needed = repeats_needed(stats["estimate"], stats["sd"], folds, ratio, alpha=alpha, power=power)
    return {
        "n_per_class": int(pairs["n_per_class"].median()) if len(pairs) else np.nan,
        "repeats": pairs["repeat"].nunique(),
        "folds": folds,
        **stats,
        "test_train_ratio": ratio,
        "repeats_needed": np.nan if needed is None else needed,
    }


def paired_differences(
    frame: pd.DataFrame,
    comparisons=COMPARISONS,
    *,
    confidence_level: float = 0.95,
    correction: str = "pool",
    alpha: float = 0.05,
    power: float = 0.8,
) -> pd.DataFrame:
    """Paired AUC differences of arms at each size, by (repeat, fold), with the corrected resampled t-test.

    For each ``(a, b)`` of ``comparisons`` and each size both arms have, the
    differences ``AUC_a - AUC_b`` of the same (repeat, fold) (the same test
    images) go to :func:`mstl_lib.evaluation.stats.corrected_resampled_interval`:
    ``J = k r`` differences, variance factor ``1/(k r) + n_test/n_train``,
    ``df = k r - 1`` (Nadeau and Bengio 2003; Bouckaert and Frank 2004).
    Arms with a stage 1 enter with all of its patches (fraction 1.0).

    Returns
    -------
    pandas.DataFrame
        One row per (comparison, size): ``arm``, ``versus``, ``size_label``,
        ``n_per_class``, ``repeats``, ``folds``, ``values`` (pairs),
        ``estimate`` (mean difference), ``low``, ``high``, ``sd``, ``df``,
        ``t``, ``p`` (not yet adjusted: :func:`study_table` applies Holm),
        ``test_train_ratio`` and ``repeats_needed``
        (:func:`mstl_lib.evaluation.stats.repeats_needed`; nan when no number
        of repeats would do).
    """
    correction = check_choice(correction, "correction", CORRECTIONS)
    frame = _with_pool(_full_stage1(frame))
    folds = int(frame["fold"].nunique())
    rows = []
    for a, b in comparisons:
        for size in size_order(frame["size_label"]):
            a_rows = frame[(frame["arm"] == a) & (frame["size_label"] == size)]
            b_rows = frame[(frame["arm"] == b) & (frame["size_label"] == size)]
            if a_rows.empty or b_rows.empty:
                continue
            b_rows = b_rows[["repeat", "fold", "auc"]]
            row = _paired_row(a_rows, b_rows, folds, confidence_level, correction, alpha, power)
            rows.append({"arm": a, "versus": b, "size_label": size, **row})
    return pd.DataFrame(rows)


def quantity_differences(
    frame: pd.DataFrame,
    quantity_size=None,
    *,
    confidence_level: float = 0.95,
    correction: str = "pool",
    alpha: float = 0.05,
    power: float = 0.8,
) -> pd.DataFrame:
    """MSTL with a fraction of the stage-1 patches against MSTL with all of them, paired by (repeat, fold).

    The paper's open question (Ayana et al. 2022, section 4: "varying the
    quantities of cancer cell line images"), at one size.

    Parameters
    ----------
    frame : pandas.DataFrame
        :func:`load_study`'s units.
    quantity_size : str or int, optional
        The size label of the quantity experiment (the manifest's
        ``quantity_size``); None: the size at which MSTL has fractions below 1.

    Returns
    -------
    pandas.DataFrame
        As :func:`paired_differences`, with ``arm = versus = "mstl"``,
        ``stage1_fraction`` (the fraction) and ``versus_fraction`` (1.0);
        empty when the study has no quantity experiment.
    """
    correction = check_choice(correction, "correction", CORRECTIONS)
    mstl = _with_pool(frame[frame["arm"] == "mstl"])
    partial = mstl[mstl["stage1_fraction"] < 1.0 - 1e-9]
    if quantity_size is None and not partial.empty:
        quantity_size = partial["size_label"].iloc[0]
    mstl = mstl[mstl["size_label"] == str(quantity_size)]
    full = mstl[np.isclose(mstl["stage1_fraction"].fillna(1.0), 1.0)][["repeat", "fold", "auc"]]
    folds = int(frame["fold"].nunique())
    rows = []
    for fraction in sorted(mstl["stage1_fraction"].dropna().unique()):
        if np.isclose(fraction, 1.0) or full.empty:
            continue
        part = mstl[np.isclose(mstl["stage1_fraction"], fraction)]
        row = _paired_row(part, full, folds, confidence_level, correction, alpha, power)
        rows.append(
            {
                "arm": "mstl",
                "stage1_fraction": float(fraction),
                "versus": "mstl",
                "versus_fraction": 1.0,
                "size_label": str(quantity_size),
                **row,
            }
        )
    return pd.DataFrame(rows)


TABLE_COLUMNS = (
    "kind",
    "arm",
    "stage1_fraction",
    "versus",
    "versus_fraction",
    "size_label",
    "n_per_class",
    "repeats",
    "folds",
    "values",
    "estimate",
    "low",
    "high",
    "sd",
    "df",
    "t",
    "p",
    "p_holm",
    "resolved",
    "repeats_needed",
    "family",
    "level",
    "test_train_ratio",
)
"""The tidy table's columns: one row per estimate (an arm's AUC, or a paired difference)."""


def study_table(
    frame: pd.DataFrame,
    quantity_size=None,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    confidence_level: float = 0.95,
    correction: str = "pool",
) -> pd.DataFrame:
    """Every estimate of the study in one tidy table, with Holm's adjustment within each question.

    Rows of ``kind == "auc"`` are :func:`arm_summary`; rows of
    ``kind == "difference"`` are :func:`paired_differences` (MSTL - CTL,
    MSTL - control, MSTL - scratch at each size) and
    :func:`quantity_differences`. ``p_holm`` adjusts the p-values of each
    ``family`` together (:func:`mstl_lib.evaluation.stats.holm_adjust`): a
    family is one question asked across the sizes (MSTL - CTL at every size,
    MSTL - control, MSTL - scratch) or the quantity curve, so that a curve of
    many sizes does not find a difference by chance; ``resolved`` is
    ``p_holm < alpha``. The intervals are each comparison's own 95%
    intervals. ``repeats_needed`` is counted at ``level``, ``alpha`` divided
    by the size of the family, the level that resolves a difference after
    Holm's adjustment.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TABLE_COLUMNS`.
    """
    from mstl_lib.evaluation.stats import holm_adjust

    options = {"confidence_level": confidence_level, "correction": correction}
    arms = arm_summary(frame, **options).assign(kind="auc")
    tests = {**options, "alpha": alpha, "power": power}
    parts = [paired_differences(frame, **tests), quantity_differences(frame, quantity_size, **tests)]
    parts = [part for part in parts if not part.empty]
    differences = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["p"])
    differences = differences.assign(kind="difference")
    differences["family"] = [_family(row) for _, row in differences.iterrows()] if len(differences) else []
    differences["p_holm"] = np.nan
    for _, members in differences.groupby("family", sort=False):
        differences.loc[members.index, "p_holm"] = holm_adjust(members["p"].astype(float))
    differences["resolved"] = differences["p_holm"] < alpha
    differences = _family_repeats(differences, alpha, power)
    table = pd.concat([arms, differences], ignore_index=True)
    return table.reindex(columns=list(TABLE_COLUMNS))


def _family(row) -> str:
    """The question a difference answers: one arm against another across the sizes, or the quantity curve."""
    if pd.notna(row.get("versus_fraction")):
        return "quantity"
    return f"{row['arm']} - {row['versus']}"


def _family_repeats(differences: pd.DataFrame, alpha: float, power: float) -> pd.DataFrame:
    """``repeats_needed`` at the level a difference must reach in its family: ``alpha / m``.

    Holm's first step asks the smallest of a family's ``m`` p-values to be
    below ``alpha / m`` and the later steps ask less, so repeats that reach
    ``alpha / m`` resolve the difference after the adjustment whatever the
    other comparisons give (a bound, not an exact count). ``level`` holds
    that level.
    """
    from mstl_lib.evaluation.stats import repeats_needed

    if not len(differences):
        return differences.assign(level=[], repeats_needed=[])
    sizes = differences.groupby("family")["p"].transform(lambda p: max(int(p.notna().sum()), 1))
    levels = alpha / sizes

    def needed(row):
        if not (np.isfinite(row.get("sd", np.nan)) and np.isfinite(row.get("test_train_ratio", np.nan))):
            return np.nan
        args = (row["estimate"], row["sd"], int(row["folds"]), row["test_train_ratio"])
        count = repeats_needed(*args, alpha=levels[row.name], power=power)
        return np.nan if count is None else count

    return differences.assign(level=levels, repeats_needed=differences.apply(needed, axis=1))


@dataclass(frozen=True)
class StudyReport:
    """A study folder analysed: its manifest, its units and the tidy table (:func:`study_report`)."""

    out_dir: Path
    manifest: dict
    units: pd.DataFrame
    table: pd.DataFrame
    alpha: float = 0.05

    @property
    def quantity_size(self) -> str | None:
        """The size label of the quantity experiment, or None."""
        size = self.manifest.get("quantity_size")
        if size is None:
            rows = self.table[(self.table["kind"] == "difference") & self.table["stage1_fraction"].notna()]
            return None if rows.empty else str(rows["size_label"].iloc[0])
        return str(size)

    @property
    def arms(self) -> pd.DataFrame:
        """The AUC rows of the main curves (arms without a stage 1, or with all of its patches)."""
        rows = self.table[self.table["kind"] == "auc"]
        return rows[rows["stage1_fraction"].isna() | np.isclose(rows["stage1_fraction"].fillna(1.0), 1.0)]

    @property
    def differences(self) -> pd.DataFrame:
        """The paired differences between arms at each size."""
        rows = self.table[self.table["kind"] == "difference"]
        return rows[rows["versus_fraction"].isna()]

    @property
    def quantity(self) -> pd.DataFrame:
        """MSTL's AUC at the quantity size for each stage-1 fraction (1.0 included), by fraction."""
        rows = self.table[(self.table["kind"] == "auc") & (self.table["arm"] == "mstl")]
        rows = rows[rows["size_label"] == self.quantity_size]
        return rows.assign(stage1_fraction=rows["stage1_fraction"].fillna(1.0)).sort_values("stage1_fraction")

    @property
    def quantity_differences(self) -> pd.DataFrame:
        """MSTL with each fraction of the patches minus MSTL with all of them."""
        rows = self.table[self.table["kind"] == "difference"]
        return rows[rows["versus_fraction"].notna()]


def study_report(out_dir, *, alpha: float = 0.05, power: float = 0.8, correction: str = "pool") -> StudyReport:
    """Read a study folder and analyse it (:func:`load_study`, :func:`study_table`); no TensorFlow."""
    manifest = load_study_manifest(out_dir)
    units = load_study(out_dir)
    quantity = manifest.get("quantity_size")
    table = study_table(
        units, None if quantity is None else str(quantity), alpha=alpha, power=power, correction=correction
    )
    return StudyReport(Path(out_dir), manifest, units, table, alpha)


def write_study_table(report: StudyReport, path=None) -> Path:
    """Write the tidy table as CSV (default ``OUT/study_table.csv``) and return its path.

    The table is derived from the results, so rewriting it loses nothing.
    """
    path = Path(path) if path is not None else report.out_dir / STUDY_TABLE
    report.table.to_csv(path, index=False)
    return path

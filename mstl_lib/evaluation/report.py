"""Reports of a finished (or partly finished) grid: the paper's Table 1 and its statistics.

:func:`table1` lays per-fold results out as Table 1 of Ayana et al. (2022):
transfer type, CNN, optimizer, AUC, F1, specificity, sensitivity, loss and
test accuracy as mean ± standard deviation over the folds, with the average
test accuracy of each CNN. :func:`grid_statistics` adds the paper's t-test of
MSTL against CTL on accuracy (section 3.2; the paper reports p = 0.01191), and,
on AUC, the primary metric of every comparison here, a paired test over folds
that accounts for overlapping training sets (Nadeau and Bengio 2003),
and bootstrap 95% confidence intervals of AUC and accuracy.
"""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
import pandas as pd

from mstl_lib.errors import DataError
from mstl_lib.profiles import ARM_LABELS, ARMS

METRIC_COLUMNS = (
    ("auc", "AUC"),
    ("f1", "F1 score"),
    ("specificity", "Specificity"),
    ("sensitivity", "Sensitivity"),
    ("loss", "Loss"),
    ("accuracy", "Test accuracy"),
)
PERCENT = {"f1", "specificity", "sensitivity", "accuracy"}
COMPARISONS = (("mstl", "ctl"), ("mstl", "scratch"), ("ctl", "scratch"))
"""Pairs of arms compared fold by fold within one (CNN, optimizer): the paper's MSTL vs CTL first."""


def _arm_order(values: pd.Series) -> pd.Series:
    return values.map({arm: i for i, arm in enumerate(ARMS)})


def fold_frame(results: list[dict]) -> pd.DataFrame:
    """One row per (configuration, fold) with every metric."""
    if not results:
        raise DataError("no grid results yet: run `mstl grid` first (results are written fold by fold).")
    rows = []
    for r in results:
        row = {"tl": r["tl"], "backbone": r["backbone"], "optimizer": r["optimizer"], "fold": r["fold"]}
        row.update({k: r["metrics"][k] for k, _ in METRIC_COLUMNS})
        rows.append(row)
    frame = pd.DataFrame(rows)
    return frame.sort_values(
        ["backbone", "optimizer", "tl", "fold"],
        key=lambda c: _arm_order(c) if c.name == "tl" else c,
    ).reset_index(drop=True)


def _fold_summaries(frame: pd.DataFrame) -> pd.DataFrame:
    """Per (TL type, CNN, optimizer): ``<metric>_mean``, ``<metric>_std`` (:func:`summarize_folds`) and ``folds``."""
    from mstl_lib.evaluation.metrics import summarize_folds

    keys = [k for k, _ in METRIC_COLUMNS]
    rows = []
    for (tl, backbone, optimizer), group in frame.groupby(["tl", "backbone", "optimizer"]):
        row = {"tl": tl, "backbone": backbone, "optimizer": optimizer}
        for key, (mean, std) in summarize_folds(group[keys].astype(float).to_dict("records")).items():
            row.update({f"{key}_mean": mean, f"{key}_std": std})
        rows.append({**row, "folds": len(group)})
    stats = pd.DataFrame(rows)
    return stats.sort_values(
        ["tl", "backbone", "optimizer"],
        key=lambda c: _arm_order(c) if c.name == "tl" else c,
    ).reset_index(drop=True)


def table1(results: list[dict], formatted: bool = True) -> pd.DataFrame:
    """The paper's Table 1: mean ± std over folds per (TL type, CNN, optimizer).

    Parameters
    ----------
    results : list of dict
        Per-fold results (:func:`mstl_lib.evaluation.results.load_results`).
    formatted : bool
        True: strings ``"mean ± std"`` (rates in percent), as printed in the
        paper (:func:`mstl_lib.evaluation.metrics.format_mean_std`). False:
        numeric columns ``<metric>_mean`` and ``<metric>_std``.

    Returns
    -------
    pandas.DataFrame
        Columns ``TL type, CNN, Optimizer, Folds, AUC, F1 score, Specificity,
        Sensitivity, Loss, Test accuracy, Average`` (the last: mean test
        accuracy of that TL type and CNN over optimizers). Means and sample
        standard deviations (ddof=1) over folds are those of
        :func:`mstl_lib.evaluation.metrics.summarize_folds`: the standard
        deviation of a single fold is undefined, ``nan`` in numbers and
        ``"(no SD)"`` in text.

    References
    ----------
    Ayana et al. (2022), Table 1 and section 2.4 (five-fold cross-validation).
    """
    from mstl_lib.evaluation.metrics import format_mean_std

    stats = _fold_summaries(fold_frame(results))
    average = stats.groupby(["tl", "backbone"])["accuracy_mean"].transform("mean")
    if not formatted:
        return stats.assign(average_accuracy=average)
    table = pd.DataFrame(
        {
            "TL type": stats["tl"].map(ARM_LABELS),
            "CNN": stats["backbone"],
            "Optimizer": stats["optimizer"],
            "Folds": stats["folds"],
        }
    )
    for key, title in METRIC_COLUMNS:
        table[title] = [
            format_mean_std(m, s, percent=key in PERCENT) for m, s in zip(stats[f"{key}_mean"], stats[f"{key}_std"])
        ]
    table["Average"] = [f"{100 * a:.1f}" for a in average]
    return table


def _pooled_predictions(results: list[dict]) -> dict:
    pooled = defaultdict(lambda: ([], []))
    for r in results:
        y_true, y_score = pooled[(r["tl"], r["backbone"], r["optimizer"])]
        y_true.extend(r["y_true"])
        y_score.extend(r["y_score"])
    return pooled


def grid_statistics(results: list[dict], *, n_resamples: int = 2000, seed: int = 0) -> dict:
    """The arms compared: the paper's t-test, corrected paired tests, collapsed folds, bootstrap CIs.

    Returns
    -------
    dict
        ``paper_ttest``: t-test over per-configuration mean accuracies, MSTL
        vs CTL, paired by (CNN, optimizer) (needs two or more configurations);
        ``corrected_tests``: the Nadeau-Bengio corrected resampled t-test on
        per-fold AUC for each pair of :data:`COMPARISONS` per configuration and
        for every network arm against the baseline (keys ``a``, ``b``,
        ``metric``, ``mean_difference`` in AUC, ``accuracy_difference``, ``t``,
        ``p``);
        ``collapsed``: :func:`collapsed_folds`; ``bootstrap``: per (arm, CNN,
        optimizer), 95% intervals of AUC and accuracy from the pooled test
        predictions of all folds.
    """
    from mstl_lib.evaluation.stats import paper_ttest

    frame = fold_frame(results)
    means = frame.groupby(["tl", "backbone", "optimizer"])["accuracy"].mean()
    configs = sorted(
        {(b, o) for t, b, o in means.index if ("mstl", b, o) in means.index and ("ctl", b, o) in means.index}
    )
    out: dict = {"n_configurations": len(configs)}
    if len(configs) >= 2:
        mstl = [means[("mstl", b, o)] for b, o in configs]
        ctl = [means[("ctl", b, o)] for b, o in configs]
        t, p = paper_ttest(mstl, ctl, paired=True)
        out["paper_ttest"] = {
            "t": float(t),
            "p": float(p),
            "mstl_mean": float(np.mean(mstl)),
            "ctl_mean": float(np.mean(ctl)),
        }
    else:
        out["paper_ttest"] = {
            "t": None,
            "p": None,
            "note": "needs two or more (CNN, optimizer) configurations with both TL types",
        }
    out["corrected_tests"] = _fold_comparisons(frame, results)
    out["collapsed"] = collapsed_folds(results)
    bootstrap = []
    pooled = _pooled_predictions(results)
    for tl, backbone, optimizer in sorted(pooled, key=lambda k: (ARMS.index(k[0]), k[1], k[2])):
        y_true, y_score = pooled[(tl, backbone, optimizer)]
        entry = {"tl": tl, "backbone": backbone, "optimizer": optimizer, "n": len(y_true)}
        for metric in ("auc", "accuracy"):
            entry[metric] = _bootstrap(y_true, y_score, metric, n_resamples, seed)
        bootstrap.append(entry)
    out["bootstrap"] = bootstrap
    return out


PRIMARY_METRIC = "auc"
"""The metric every comparison of arms is tested on: AUC ranks the images and needs no threshold."""


def _fold_comparisons(frame: pd.DataFrame, results: list[dict]) -> list[dict]:
    """Corrected resampled t-tests on per-fold AUC (:data:`PRIMARY_METRIC`): each pair of
    :data:`COMPARISONS` within a (CNN, optimizer), and each network arm against the classical baseline.
    The mean accuracy difference over the same folds is carried beside it, for reading only."""
    from mstl_lib.evaluation.stats import corrected_resampled_ttest

    sizes = {(r["tl"], r["backbone"], r["optimizer"], r["fold"]): (r["n_train"], r["n_test"]) for r in results}
    groups = {key: group.set_index("fold") for key, group in frame.groupby(["tl", "backbone", "optimizer"])}
    configurations = sorted({(b, o) for _, b, o in groups})
    pairs = [
        ((a, b, o), (c, b, o))
        for a, c in COMPARISONS
        for b, o in configurations
        if (a, b, o) in groups and (c, b, o) in groups
    ]
    baselines = [key for key in groups if key[0] == "baseline"]
    networks = sorted((key for key in groups if key[0] != "baseline"), key=lambda k: (ARMS.index(k[0]), k[1], k[2]))
    pairs += [(key, base) for base in baselines for key in networks]
    tests = []
    for key_a, key_b in pairs:
        a, b = groups[key_a][PRIMARY_METRIC].astype(float), groups[key_b][PRIMARY_METRIC].astype(float)
        common = sorted(set(a.dropna().index) & set(b.dropna().index))
        accuracy = groups[key_a]["accuracy"] - groups[key_b]["accuracy"]
        entry = {
            "a": key_a[0],
            "b": key_b[0],
            "backbone": key_a[1],
            "optimizer": key_a[2],
            "metric": PRIMARY_METRIC,
            "folds": len(common),
            "mean_difference": float((a[common] - b[common]).mean()) if common else None,
            "accuracy_difference": float(accuracy[common].mean()) if common else None,
        }
        if len(common) >= 2:
            n_train, n_test = sizes[(*key_a, common[0])]
            t, p = corrected_resampled_ttest(a[common].to_numpy(), b[common].to_numpy(), n_train=n_train, n_test=n_test)
            entry.update({"t": float(t), "p": float(p)})
        tests.append(entry)
    return tests


def collapsed_folds(results: list[dict], threshold: float = 0.5) -> list[dict]:
    """The folds whose model predicted one class for every test image (a collapsed run).

    A network that has not learned often settles on the majority class or on
    a constant score: its accuracy is then the class share and its AUC 0.5 or
    undefined. Such a fold says nothing about the method and is listed here.
    """
    from mstl_lib.evaluation.diagnostics import summarize_predictions

    out = []
    for r in results:
        summary = summarize_predictions(r["y_true"], r["y_score"], threshold)
        if summary.collapsed:
            out.append(
                {
                    "tl": r["tl"],
                    "backbone": r["backbone"],
                    "optimizer": r["optimizer"],
                    "fold": r["fold"],
                    "sentence": summary.sentence(),
                }
            )
    return out


def _bootstrap(y_true, y_score, metric: str, n_resamples: int, seed: int) -> dict:
    import warnings

    from mstl_lib.evaluation.stats import bootstrap_ci

    y_true, y_score = np.asarray(y_true), np.asarray(y_score)
    if metric == "auc" and len(np.unique(y_true)) < 2:
        return {"estimate": None, "low": None, "high": None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ci = bootstrap_ci(y_true, y_score, metric, n_resamples=n_resamples, seed=seed)
    return {"estimate": float(ci.estimate), "low": float(ci.low), "high": float(ci.high)}


def report_dict(results: list[dict], manifest: dict | None = None) -> dict:
    """Table 1 (numeric), per-fold rows and statistics as one JSON-ready dict."""
    return {
        "table1": json.loads(table1(results, formatted=False).to_json(orient="records")),
        "folds": json.loads(fold_frame(results).to_json(orient="records")),
        "statistics": grid_statistics(results),
        "manifest": {k: manifest[k] for k in ("profile", "seed", "n_folds", "versions", "created") if k in manifest}
        if manifest
        else None,
    }

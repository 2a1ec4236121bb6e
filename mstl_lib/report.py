"""Reports of a finished (or partly finished) grid: the paper's Table 1 and its statistics.

:func:`table1` lays per-fold results out as Table 1 of Ayana et al. (2022):
transfer type, CNN, optimizer, AUC, F1, specificity, sensitivity, loss and
test accuracy as mean ± standard deviation over the folds, with the average
test accuracy of each CNN. :func:`grid_statistics` adds the paper's t-test of
MSTL against CTL (section 3; the paper reports p = 0.01191), a paired test over
folds that accounts for overlapping training sets (Nadeau and Bengio 2003),
and bootstrap 95% confidence intervals of AUC and accuracy.
"""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
import pandas as pd

from mstl_lib.errors import DataError

METRIC_COLUMNS = (("auc", "AUC"), ("f1", "F1 score"), ("specificity", "Specificity"),
                  ("sensitivity", "Sensitivity"), ("loss", "Loss"), ("accuracy", "Test accuracy"))
PERCENT = {"f1", "specificity", "sensitivity", "accuracy"}
TL_NAMES = {"ctl": "CTL", "mstl": "MSTL"}


def fold_frame(results: list[dict]) -> pd.DataFrame:
    """One row per (configuration, fold) with every metric."""
    if not results:
        raise DataError("no grid results yet: run `mstl grid` first (results are written fold by fold).")
    rows = []
    for r in results:
        row = {"tl": r["tl"], "backbone": r["backbone"], "optimizer": r["optimizer"], "fold": r["fold"]}
        row.update({k: r["metrics"][k] for k, _ in METRIC_COLUMNS})
        rows.append(row)
    return pd.DataFrame(rows).sort_values(["tl", "backbone", "optimizer", "fold"]).reset_index(drop=True)


def _format(mean: float, std: float, key: str) -> str:
    if key in PERCENT:
        return f"{100 * mean:.1f} ± {100 * std:.1f}"
    return f"{mean:.3f} ± {std:.3f}"


def table1(results: list[dict], formatted: bool = True) -> pd.DataFrame:
    """The paper's Table 1: mean ± std over folds per (TL type, CNN, optimizer).

    Parameters
    ----------
    results : list of dict
        Per-fold results (:func:`mstl_lib.grid.load_results`).
    formatted : bool
        True: strings ``"mean ± std"`` (rates in percent), as printed in the
        paper. False: numeric columns ``<metric>_mean`` and ``<metric>_std``.

    Returns
    -------
    pandas.DataFrame
        Columns ``TL type, CNN, Optimizer, Folds, AUC, F1 score, Specificity,
        Sensitivity, Loss, Test accuracy, Average`` (the last: mean test
        accuracy of that TL type and CNN over optimizers). Standard deviations
        are sample standard deviations (ddof=1) over folds.
    """
    frame = fold_frame(results)
    keys = ["tl", "backbone", "optimizer"]
    grouped = frame.groupby(keys)
    stats = grouped[[k for k, _ in METRIC_COLUMNS]].agg(["mean", lambda s: s.std(ddof=1) if len(s) > 1 else 0.0])
    stats.columns = [f"{k}_{'mean' if agg == 'mean' else 'std'}" for k, agg in stats.columns]
    stats["folds"] = grouped.size()
    stats = stats.reset_index()
    average = stats.groupby(["tl", "backbone"])["accuracy_mean"].transform("mean")
    if not formatted:
        return stats.assign(average_accuracy=average)
    table = pd.DataFrame({
        "TL type": stats["tl"].map(TL_NAMES), "CNN": stats["backbone"], "Optimizer": stats["optimizer"],
        "Folds": stats["folds"],
    })
    for key, title in METRIC_COLUMNS:
        table[title] = [_format(m, s, key) for m, s in zip(stats[f"{key}_mean"], stats[f"{key}_std"])]
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
    """MSTL versus CTL: the paper's t-test, the corrected paired test, bootstrap CIs.

    Returns
    -------
    dict
        ``paper_ttest``: t-test over per-configuration mean accuracies, MSTL
        vs CTL, paired by (CNN, optimizer) (needs two or more configurations);
        ``corrected_tests``: per configuration, the Nadeau-Bengio corrected
        resampled t-test over folds; ``bootstrap``: per (TL type, CNN,
        optimizer), 95% intervals of AUC and accuracy from the pooled test
        predictions of all folds.
    """
    from mstl_lib.stats import corrected_resampled_ttest, paper_ttest

    frame = fold_frame(results)
    means = frame.groupby(["tl", "backbone", "optimizer"])["accuracy"].mean()
    configs = sorted({(b, o) for t, b, o in means.index if ("mstl", b, o) in means.index and ("ctl", b, o) in means.index})
    out: dict = {"n_configurations": len(configs)}
    if len(configs) >= 2:
        mstl = [means[("mstl", b, o)] for b, o in configs]
        ctl = [means[("ctl", b, o)] for b, o in configs]
        t, p = paper_ttest(mstl, ctl, paired=True)
        out["paper_ttest"] = {"t": float(t), "p": float(p), "mstl_mean": float(np.mean(mstl)), "ctl_mean": float(np.mean(ctl))}
    else:
        out["paper_ttest"] = {"t": None, "p": None, "note": "needs two or more (CNN, optimizer) configurations with both TL types"}
    sizes = {(r["tl"], r["backbone"], r["optimizer"], r["fold"]): (r["n_train"], r["n_test"]) for r in results}
    corrected = []
    for backbone, optimizer in configs:
        a = frame[(frame.tl == "mstl") & (frame.backbone == backbone) & (frame.optimizer == optimizer)].set_index("fold")["accuracy"]
        b = frame[(frame.tl == "ctl") & (frame.backbone == backbone) & (frame.optimizer == optimizer)].set_index("fold")["accuracy"]
        common = sorted(set(a.index) & set(b.index))
        entry = {"backbone": backbone, "optimizer": optimizer, "folds": len(common),
                 "mean_difference": float((a[common] - b[common]).mean()) if common else None}
        if len(common) >= 2:
            n_train, n_test = sizes[("mstl", backbone, optimizer, common[0])]
            t, p = corrected_resampled_ttest(a[common].to_numpy(), b[common].to_numpy(), n_train=n_train, n_test=n_test)
            entry.update({"t": float(t), "p": float(p)})
        corrected.append(entry)
    out["corrected_tests"] = corrected
    bootstrap = []
    for (tl, backbone, optimizer), (y_true, y_score) in sorted(_pooled_predictions(results).items()):
        entry = {"tl": tl, "backbone": backbone, "optimizer": optimizer, "n": len(y_true)}
        for metric in ("auc", "accuracy"):
            entry[metric] = _bootstrap(y_true, y_score, metric, n_resamples, seed)
        bootstrap.append(entry)
    out["bootstrap"] = bootstrap
    return out


def _bootstrap(y_true, y_score, metric: str, n_resamples: int, seed: int) -> dict:
    import warnings

    from mstl_lib.stats import bootstrap_ci

    y_true, y_score = np.asarray(y_true), np.asarray(y_score)
    if metric == "auc" and len(np.unique(y_true)) < 2:
        return {"estimate": None, "low": None, "high": None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ci = bootstrap_ci(y_true, y_score, metric, n_resamples=n_resamples, seed=seed)
    return {"estimate": float(ci.estimate), "low": float(ci.low), "high": float(ci.high)}


def format_report(results: list[dict], statistics: dict | None = None, manifest: dict | None = None) -> str:
    """Table 1 and the statistics as text, as printed by ``mstl report``."""
    statistics = statistics if statistics is not None else grid_statistics(results)
    lines = ["Table 1 (mean ± std over folds; rates in %)", table1(results).to_string(index=False), ""]
    if manifest:
        p = manifest.get("profile", {})
        lines.append(f"Profile: {p.get('name')} | seed {manifest.get('seed')} | folds {manifest.get('n_folds')} | "
                     f"weights {p.get('weights')} | data {manifest.get('dataset', {}).get('name')} "
                     f"{manifest.get('dataset', {}).get('fingerprint', '')[:12]}")
        lines.append("")
    paper = statistics["paper_ttest"]
    if paper.get("p") is None:
        lines.append(f"Paper's t-test (MSTL vs CTL over configurations): not computed, {paper['note']}.")
    else:
        lines.append(f"Paper's t-test (MSTL vs CTL over {statistics['n_configurations']} configurations, paired): "
                     f"t = {paper['t']:.3f}, p = {paper['p']:.4g} (paper: p = 0.01191)")
    for entry in statistics["corrected_tests"]:
        if "p" in entry:
            lines.append(f"Corrected resampled t-test {entry['backbone']} {entry['optimizer']} over {entry['folds']} folds: "
                         f"mean difference {100 * entry['mean_difference']:+.1f} points, t = {entry['t']:.3f}, p = {entry['p']:.4g}")
    lines.append("")
    lines.append("Bootstrap 95% confidence intervals (pooled test predictions):")
    for entry in statistics["bootstrap"]:
        lines.append(f"  {TL_NAMES[entry['tl']]:<4} {entry['backbone']:<14} {entry['optimizer']:<8} n={entry['n']:<4} "
                     f"AUC {_ci(entry['auc'])}  accuracy {_ci(entry['accuracy'])}")
    return "\n".join(lines)


def _ci(ci: dict) -> str:
    if ci.get("estimate") is None or not np.isfinite(ci["estimate"]) or not np.isfinite(ci["low"]):
        return "n/a"
    return f"{ci['estimate']:.3f} [{ci['low']:.3f}, {ci['high']:.3f}]"


def report_dict(results: list[dict], manifest: dict | None = None) -> dict:
    """Table 1 (numeric), per-fold rows and statistics as one JSON-ready dict."""
    return {
        "table1": json.loads(table1(results, formatted=False).to_json(orient="records")),
        "folds": json.loads(fold_frame(results).to_json(orient="records")),
        "statistics": grid_statistics(results),
        "manifest": {k: manifest[k] for k in ("profile", "seed", "n_folds", "versions", "created") if k in manifest} if manifest else None,
    }

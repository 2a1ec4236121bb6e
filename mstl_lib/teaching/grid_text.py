"""The grid's results in words: the sentences lessons 5 and 6 glue into their text, and ``mstl report``'s text.

:func:`comparison_sentence` states one corrected test of
:func:`mstl_lib.evaluation.report.grid_statistics` with its verdict;
:func:`best_arm_sentence` names the network arm with the highest pooled AUC
and says how its bootstrap 95% interval stands to the HOG + LBP baseline's;
:func:`format_report` is Table 1 and the statistics as ``mstl report``
prints them. The study's sentences (lesson 8) are in
:mod:`mstl_lib.teaching.study_text`. No TensorFlow is imported here.
"""

from __future__ import annotations

import numpy as np

from mstl_lib.evaluation.report import grid_statistics, table1
from mstl_lib.profiles import ARM_LABELS

__all__ = ["best_arm_sentence", "comparison_sentence", "format_report"]


def comparison_sentence(entry: dict, alpha: float = 0.05) -> str:
    """One corrected test of :func:`grid_statistics` as a sentence with its verdict.

    The test and the verdict are on per-fold AUC, the primary metric; the
    accuracy difference follows in brackets, labelled, for reading only. The
    verdict is "higher" or "lower" only when the corrected resampled t-test's
    p-value is below ``alpha``; otherwise "no difference shown at this size",
    which is not the same as "no difference".
    """
    a, b = ARM_LABELS[entry["a"]], ARM_LABELS[entry["b"]]
    config = f" ({entry['backbone']}, {entry['optimizer']})"
    if entry.get("p") is None:
        return f"{a} vs {b}{config}: not testable with {entry['folds']} fold(s)."
    difference = round(entry["mean_difference"], 3) + 0.0  # never "-0.000"
    if entry["p"] < alpha:
        verdict = f"{a} is {'higher' if difference > 0 else 'lower'}"
    else:
        verdict = "no difference shown at this size"
    accuracy = entry.get("accuracy_difference")
    beside = "" if accuracy is None else f" (accuracy {round(100 * accuracy, 1) + 0.0:+.1f} points, not tested)"
    return (
        f"{a} vs {b}{config}, {entry['folds']} folds: mean test AUC {difference:+.3f}{beside}; "
        f"corrected resampled t-test on AUC p = {entry['p']:.3g}: {verdict}."
    )


def best_arm_sentence(statistics: dict) -> str:
    """The network arm with the highest pooled AUC, its 95% interval, and how it stands to the baseline's."""
    network = [b for b in statistics["bootstrap"] if b["tl"] != "baseline" and b["auc"]["estimate"] is not None]
    if not network:
        return "No network arm has a defined AUC in this run."
    best = max(network, key=lambda b: b["auc"]["estimate"])
    auc = best["auc"]
    text = (
        f"The best network arm is {ARM_LABELS[best['tl']]} ({best['backbone']}, {best['optimizer']}), pooled AUC "
        f"{auc['estimate']:.3f} (95% CI {auc['low']:.3f} to {auc['high']:.3f})"
    )
    baseline = next((b["auc"] for b in statistics["bootstrap"] if b["tl"] == "baseline"), None)
    if baseline is None or baseline["estimate"] is None:
        return text + "; this run has no baseline."
    if auc["low"] > baseline["high"]:
        relation = "lies wholly above"
    elif auc["high"] < baseline["low"]:
        relation = "lies wholly below"
    else:
        relation = "overlaps, so these test images do not separate the two from"
    return (
        text + f"; its interval {relation} the baseline's ({baseline['estimate']:.3f}, {baseline['low']:.3f} to "
        f"{baseline['high']:.3f})."
    )


def format_report(results: list[dict], statistics: dict | None = None, manifest: dict | None = None) -> str:
    """Table 1 and the statistics as text, as printed by ``mstl report``."""
    statistics = statistics if statistics is not None else grid_statistics(results)
    lines = ["Table 1 (mean ± std over folds; rates in %)", table1(results).to_string(index=False), ""]
    if manifest:
        p = manifest.get("profile", {})
        lines.append(
            f"Profile: {p.get('name')} | seed {manifest.get('seed')} | folds {manifest.get('n_folds')} | "
            f"weights {p.get('weights')} | data {manifest.get('dataset', {}).get('name')} "
            f"{manifest.get('dataset', {}).get('fingerprint', '')[:12]}"
        )
        lines.append("")
    paper = statistics["paper_ttest"]
    if paper.get("p") is None:
        lines.append(
            f"Paper's t-test (MSTL vs CTL on mean test accuracy over configurations): not computed, {paper['note']}."
        )
    else:
        lines.append(
            f"Paper's t-test (MSTL vs CTL on mean test accuracy over {statistics['n_configurations']} "
            "configurations, paired): "
            f"t = {paper['t']:.3f}, p = {paper['p']:.4g} (paper: p = 0.01191)"
        )
    lines.append("Corrected resampled t-tests over folds, on AUC (the primary metric):")
    for entry in statistics["corrected_tests"]:
        lines.append(comparison_sentence(entry))
    for entry in statistics.get("collapsed", []):
        lines.append(
            f"{ARM_LABELS[entry['tl']]} {entry['backbone']} {entry['optimizer']} fold {entry['fold']}: "
            f"{entry['sentence']}"
        )
    lines.append("")
    lines.append("Bootstrap 95% confidence intervals (pooled test predictions):")
    for entry in statistics["bootstrap"]:
        lines.append(
            f"  {ARM_LABELS[entry['tl']]:<8} {entry['backbone']:<14} {entry['optimizer']:<19} n={entry['n']:<4} "
            f"AUC {_ci(entry['auc'])}  accuracy {_ci(entry['accuracy'])}"
        )
    return "\n".join(lines)


def _ci(ci: dict) -> str:
    if ci.get("estimate") is None or not np.isfinite(ci["estimate"]) or not np.isfinite(ci["low"]):
        return "n/a"
    return f"{ci['estimate']:.3f} [{ci['low']:.3f}, {ci['high']:.3f}]"

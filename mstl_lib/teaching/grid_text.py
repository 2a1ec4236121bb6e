"""The grid's results in words: the sentences lessons 5 and 6 glue into their text.

:func:`best_arm_sentence` names the network arm with the highest pooled AUC
and says how its bootstrap 95% interval stands to the HOG + LBP baseline's
(:func:`mstl_lib.evaluation.report.grid_statistics`). The sentence of one
corrected test, which ``mstl report`` prints too, is
:func:`mstl_lib.evaluation.report.comparison_sentence`; the study's sentences
(lesson 8) are in :mod:`mstl_lib.teaching.study_text`.
No TensorFlow is imported here.
"""

from __future__ import annotations

from mstl_lib.profiles import ARM_LABELS

__all__ = ["best_arm_sentence"]


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

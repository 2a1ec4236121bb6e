"""The study's results in words: every sentence of lesson 8 and of ``mstl report`` on a study, from the numbers.

A comparison is called only when Holm's adjusted p-value is below ``alpha``
(:func:`mstl_lib.evaluation.study.study_table`); otherwise the sentence says
"no difference shown" and, from the measured spread, how many repeats of the
cross-validation would resolve a difference of the size observed, or that no
number of repeats would (:func:`mstl_lib.evaluation.stats.repeats_needed`).
No TensorFlow is imported here, so ``mstl report`` stays light.
"""

from __future__ import annotations

import math

import pandas as pd

from mstl_lib.evaluation.stats import smallest_resolvable_difference
from mstl_lib.evaluation.study import STUDY_ARMS, StudyReport, size_order, size_text
from mstl_lib.profiles import ARM_LABELS

__all__ = [
    "arm_label",
    "auc_sentence",
    "difference_sentence",
    "comparison_sentence",
    "headline",
    "repeats_summary",
    "design_sentence",
    "verdicts",
    "auc_table",
    "difference_table",
    "format_study_report",
    "study_report_dict",
]


def arm_label(arm: str, fraction=None) -> str:
    """``"MSTL"``, or ``"MSTL with 10% of the stage-1 patches"`` for a fraction below 1."""
    label = ARM_LABELS.get(arm, arm)
    if fraction is not None and not pd.isna(fraction) and fraction < 1.0 - 1e-9:
        label += f" with {fraction:.0%} of the stage-1 patches"
    return label


def _is_number(value) -> bool:
    return value is not None and not pd.isna(value)


def _design(row) -> str:
    return f"{int(row['repeats'])} repeat(s) x {int(row['folds'])} folds"


def auc_sentence(row) -> str:
    """One arm at one size: ``"With 8 images per class, MSTL reaches a mean AUC of 0.812 [0.771, 0.853] ..."``."""
    name = arm_label(row["arm"], row["stage1_fraction"])
    if not _is_number(row.get("low")):
        return (
            f"With {size_text(row['size_label'])}, {name} has {int(row['values'])} finished fold(s): no interval yet."
        )
    return (
        f"With {size_text(row['size_label'])}, {name} reaches a mean test AUC of {row['estimate']:.3f} "
        f"(95% interval {row['low']:.3f} to {row['high']:.3f}, {_design(row)})."
    )


def _names(row) -> tuple[str, str]:
    if _is_number(row.get("versus_fraction")):
        return arm_label(row["arm"], row["stage1_fraction"]), "MSTL with all of them"
    return arm_label(row["arm"]), arm_label(row["versus"])


def _level_text(level: float, alpha: float) -> str:
    if math.isclose(level, alpha):
        return f"alpha {alpha:g}"
    return f"alpha {alpha:g} / {round(alpha / level)} = {level:.2g}, the level Holm's adjustment asks of the first"


def _repeats_clause(row, alpha: float, power: float) -> str:
    """What it would take to resolve an unresolved difference after Holm's adjustment, from the measured spread."""
    size = abs(row["estimate"])
    if size == 0:
        return "the two arms gave the same AUC on every fold, so there is no difference to resolve."
    level = float(row["level"]) if _is_number(row.get("level")) else alpha
    spread = f"with the measured spread (standard deviation {row['sd']:.3f} over {int(row['values'])} pairs)"
    if not _is_number(row["repeats_needed"]):
        smallest = smallest_resolvable_difference(row["sd"], row["test_train_ratio"], alpha=level, power=power)
        return (
            f"{spread}, no number of repeats would resolve a difference of {size:.3f}: the correction term "
            f"n_test/n_train = {row['test_train_ratio']:.2f} does not shrink with repeats, so repeats alone "
            f"resolve only differences above about {smallest:.3f}; a smaller spread (more test images per fold) "
            "or a smaller n_test/n_train (more folds) would be needed."
        )
    needed = int(row["repeats_needed"])
    return (
        f"{spread}, about {needed} repeat{'s' if needed != 1 else ''} of the {int(row['folds'])}-fold "
        f"cross-validation (this run: {int(row['repeats'])}) would be needed to resolve a difference of "
        f"{size:.3f} after Holm's adjustment ({power:.0%} power at {_level_text(level, alpha)})."
    )


def difference_sentence(row, alpha: float = 0.05, power: float = 0.8) -> str:
    """A paired difference as a sentence with its verdict (a row of the study table, ``kind == "difference"``).

    Resolved (Holm-adjusted p below ``alpha``): ``"With 8 images per class,
    MSTL is 0.042 above CTL in test AUC [0.012, 0.072] (Holm-adjusted
    p = 0.012, 3 repeat(s) x 5 folds)."`` Otherwise: ``"... no difference
    shown between MSTL and CTL: ... about k repeats ... would be needed to
    resolve a difference of d ..."``.
    """
    a, b = _names(row)
    where = f"With {size_text(row['size_label'])}"
    if not _is_number(row.get("p")):
        return f"{where}, {a} against {b} is not testable yet: {int(row['values'])} paired fold(s)."
    interval = f"[{row['low']:+.3f}, {row['high']:+.3f}]"
    if row["p_holm"] < alpha:
        direction = "above" if row["estimate"] > 0 else "below"
        return (
            f"{where}, {a} is {abs(row['estimate']):.3f} {direction} {b} in test AUC {interval} "
            f"(Holm-adjusted p = {row['p_holm']:.2g}, {_design(row)})."
        )
    alone = ""
    if row["low"] > 0 or row["high"] < 0:
        alone = (
            f" Its own 95% interval excludes zero (p = {row['p']:.2g} for this comparison alone), but among "
            "all the comparisons made that is not enough;"
        )
    return (
        f"{where}, no difference shown between {a} and {b}: {a} - {b} = {row['estimate']:+.3f} {interval} "
        f"(Holm-adjusted p = {row['p_holm']:.2g}, {_design(row)});{alone} {_repeats_clause(row, alpha, power)}"
    )


def comparison_sentence(report: StudyReport, versus: str, size_label=None, arm: str = "mstl") -> str:
    """The sentence of ``arm - versus`` at one size (default: the smallest of the study)."""
    rows = report.differences
    size = size_order(rows["size_label"])[0] if size_label is None else str(size_label)
    match = rows[(rows["arm"] == arm) & (rows["versus"] == versus) & (rows["size_label"] == size)]
    if match.empty:
        return f"The study has no comparison {arm_label(arm)} - {arm_label(versus)} with {size_text(size)}."
    return difference_sentence(match.iloc[0], report.alpha)


def verdicts(report: StudyReport, power: float = 0.8) -> list[str]:
    """The sentence of every comparison of the study, sizes in order, then the quantity comparisons."""
    rows = pd.concat([report.differences, report.quantity_differences])
    return [difference_sentence(row, report.alpha, power) for _, row in rows.iterrows()]


def headline(report: StudyReport, power: float = 0.8) -> str:
    """The study in one paragraph: what was resolved after Holm's adjustment, or what would resolve it.

    When nothing is resolved, the comparison closest to being resolved (the
    fewest repeats needed) is spelled out, so the verdict is never only
    "no difference".
    """
    rows = pd.concat([report.differences, report.quantity_differences])
    tested = rows[rows["p"].notna()]
    if tested.empty:
        return "No comparison can be tested yet: every one needs at least two paired folds."
    resolved = tested[tested["p_holm"] < report.alpha]
    family = f"{len(tested)} comparison{'s' if len(tested) != 1 else ''}"
    if not resolved.empty:
        listed = " ".join(difference_sentence(row, report.alpha, power) for _, row in resolved.iterrows())
        return f"{len(resolved)} of {family} resolved after Holm's adjustment. {listed}"
    closest = tested.assign(key=tested["repeats_needed"].fillna(math.inf), size=-tested["estimate"].abs()).sort_values(
        ["key", "size"]
    )
    row = closest.iloc[0]
    return (
        f"None of the {family} is resolved after Holm's adjustment. The closest: "
        f"{difference_sentence(row, report.alpha, power)}"
    )


def repeats_summary(report: StudyReport) -> str:
    """What the unresolved comparisons would need: more repeats (how many), or more test images.

    From the measured spread of each comparison
    (:func:`mstl_lib.evaluation.stats.repeats_needed`), at the level that
    resolves a difference after Holm's adjustment (alpha divided by the
    number of comparisons, 80% power).
    """
    rows = pd.concat([report.differences, report.quantity_differences])
    open_rows = rows[rows["p"].notna() & ~rows["resolved"].astype(bool) & (rows["estimate"] != 0)]
    if open_rows.empty:
        return "Every comparison with a non-zero difference is resolved."
    by_repeats = open_rows[open_rows["repeats_needed"].notna()].sort_values("repeats_needed")
    text = f"{len(open_rows)} comparison{'s are' if len(open_rows) != 1 else ' is'} not resolved."
    if not by_repeats.empty:
        first = by_repeats.iloc[0]
        a, b = _names(first)
        text += (
            f" {len(by_repeats)} of them could be resolved by more repeats at the measured spread; the fewest "
            f"needed are about {int(first['repeats_needed'])}, for {a} - {b} with {size_text(first['size_label'])} "
            f"(difference {first['estimate']:+.3f}, this run: {int(first['repeats'])} repeats)."
        )
    rest = len(open_rows) - len(by_repeats)
    if rest:
        text += (
            f" For {rest}, no number of repeats would do: the difference is smaller than what repeats can resolve "
            "with that spread, because the correction term n_test/n_train stays; a smaller spread (more test "
            "images per fold) or more folds would be needed."
        )
    return text


def design_sentence(report: StudyReport) -> str:
    """The study's design in one sentence, from its manifest and its finished units."""
    return _manifest_line(report)


def _interval_text(row) -> str:
    if not _is_number(row.get("low")):
        return f"{row['estimate']:.3f} (n/a)" if _is_number(row.get("estimate")) else "n/a"
    return f"{row['estimate']:.3f} [{row['low']:.3f}, {row['high']:.3f}]"


def auc_table(report: StudyReport) -> pd.DataFrame:
    """Mean test AUC [95% interval] per arm (rows) and size (columns), as text."""
    arms = report.arms.assign(text=[_interval_text(r) for _, r in report.arms.iterrows()])
    table = arms.pivot(index="arm", columns="size_label", values="text")
    order = [a for a in STUDY_ARMS if a in table.index] + [a for a in table.index if a not in STUDY_ARMS]
    table = table.reindex(index=order, columns=size_order(table.columns))
    table.index = [arm_label(a) for a in table.index]
    table.columns = [f"n = {c}" for c in table.columns]
    return table.fillna("")


def difference_table(report: StudyReport) -> pd.DataFrame:
    """Every comparison: difference [95% interval], p, Holm-adjusted p, verdict, repeats needed."""
    rows = pd.concat([report.differences, report.quantity_differences])
    out = pd.DataFrame(
        {
            "comparison": [" - ".join(_names(r)) for _, r in rows.iterrows()],
            "size": rows["size_label"].map(str),
            "pairs": rows["values"].astype(int),
            "difference [95% CI]": [_interval_text(r) for _, r in rows.iterrows()],
            "p": rows["p"].map(lambda p: f"{p:.2g}" if _is_number(p) else "n/a"),
            "Holm p": rows["p_holm"].map(lambda p: f"{p:.2g}" if _is_number(p) else "n/a"),
            "resolved": rows["resolved"].map(lambda r: "yes" if r is True else "no"),
            "repeats needed": [
                "—"
                if r["resolved"] is True
                else (f"{int(r['repeats_needed'])}" if _is_number(r["repeats_needed"]) else "none suffice")
                for _, r in rows.iterrows()
            ],  # fmt: skip
        }
    )
    return out.reset_index(drop=True)


def _manifest_line(report: StudyReport) -> str:
    m = report.manifest
    profile = m.get("profile", {})
    name = profile.get("name") if isinstance(profile, dict) else profile
    sizes = ", ".join(str(s) for s in m.get("sizes", [])) or ", ".join(size_order(report.units["size_label"]))
    return (
        f"Study of profile {name}: sizes {sizes} images per class, {m.get('repeats')} repeat(s) x "
        f"{m.get('folds')} folds, arms {', '.join(m.get('arms', []))}; {len(report.units)} finished unit(s)."
    )


def format_study_report(report: StudyReport) -> str:
    """The study as text, as ``mstl report`` prints it: the AUC table, the comparisons, the verdicts."""
    lines = [_manifest_line(report), "", "Mean test AUC [95% interval] over repeats x folds", ""]
    lines += [auc_table(report).to_string(), ""]
    lines += ["Paired differences (by repeat and fold), corrected resampled t-test, Holm over all rows", ""]
    lines += [difference_table(report).to_string(index=False), ""]
    lines += [headline(report), "", repeats_summary(report), ""]
    lines += verdicts(report)
    return "\n".join(lines)


def study_report_dict(report: StudyReport) -> dict:
    """The study as a JSON-ready dict: the manifest, the tidy table, the headline and every verdict."""
    table = report.table.astype(object).where(report.table.notna(), None)
    return {
        "kind": "study",
        "manifest": report.manifest,
        "units": len(report.units),
        "table": table.to_dict(orient="records"),
        "headline": headline(report),
        "repeats_summary": repeats_summary(report),
        "verdicts": verdicts(report),
    }

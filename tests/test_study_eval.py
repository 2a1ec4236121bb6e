"""The study's evaluation side: corrected repeated-CV statistics, Holm, repeats needed, the study folder
read back, its figures, its sentences and `mstl report` on it (without TensorFlow)."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from mstl_lib.errors import DataError
from mstl_lib.evaluation import study
from mstl_lib.evaluation.stats import (
    corrected_resampled_interval,
    corrected_resampled_ttest,
    holm_adjust,
    repeats_needed,
)

SIZES = ("8", "16", "all")
N_TRAIN = {"8": 16, "16": 32, "all": 48}
N_TEST = 16
REPEATS, FOLDS = 3, 3
# Mean AUC of each arm at each size. MSTL is 0.10 above CTL at 8 images per class (a fixed shift);
# MSTL and CTL are identical at "all"; MSTL is 0.02 above the control at 8, under noise.
BASE = {
    "scratch": {"8": 0.60, "16": 0.70, "all": 0.85},
    "ctl": {"8": 0.70, "16": 0.78, "all": 0.88},
    "control": {"8": 0.78, "16": 0.80, "all": 0.88},
    "mstl": {"8": 0.80, "16": 0.81, "all": 0.88},
    "baseline": {"8": 0.62, "16": 0.66, "all": 0.72},
}
FRACTIONS = {"mstl": (0.1, 1.0), "control": (1.0,)}


def _auc(arm, fraction, size, repeat, fold, rng):
    shared = 0.02 * math.sin(3 * repeat + fold)  # the (repeat, fold)'s difficulty, shared by every arm
    if arm in ("mstl", "ctl") and size == "all":
        return BASE["ctl"]["all"] + shared  # identical arms
    if arm == "mstl" and fraction == 1.0 and size == "8":
        return BASE["ctl"]["8"] + shared + 0.10 + 0.002 * rng.standard_normal()
    if arm == "mstl" and fraction < 1.0:
        return BASE["mstl"][size] + shared - 0.05 + 0.002 * rng.standard_normal()
    noise = 0.002 if (arm, size) == ("ctl", "8") else 0.04
    return BASE[arm][size] + shared + noise * rng.standard_normal()


def _units(quantity_size="8"):
    for arm in BASE:
        for fraction in FRACTIONS.get(arm, (None,)):
            sizes = (quantity_size,) if fraction is not None and fraction < 1.0 else SIZES
            for size in sizes:
                for repeat in range(REPEATS):
                    for fold in range(FOLDS):
                        yield arm, fraction, size, repeat, fold


def write_fake_study(out, *, quantity_size="8", seed=0, drop=()):
    """A study folder as `mstl study` writes it, with known differences (see BASE)."""
    rng = np.random.default_rng(seed)
    manifest = {
        "kind": "study",
        "profile": {"name": "smoke", "folds": FOLDS},
        "sizes": [int(s) if s.isdigit() else s for s in SIZES],
        "repeats": REPEATS,
        "folds": FOLDS,
        "arms": list(BASE),
        "fractions": [0.1, 1.0],
        "quantity_size": int(quantity_size),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "study.json").write_text(json.dumps(manifest))
    for arm, fraction, size, repeat, fold in _units(quantity_size):
        auc = float(np.clip(_auc(arm, fraction, size, repeat, fold, rng), 0, 1))
        if (arm, size, repeat, fold) in drop:
            continue
        folder = out / "results" / arm / f"f{fraction if fraction is not None else 1:.2f}" / f"n{size}"
        path = folder / f"r{repeat}" / f"fold{fold}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        metrics = {"auc": auc, "accuracy": auc - 0.05, "loss": 0.5, "sensitivity": 0.8, "specificity": 0.7}
        unit = {
            "arm": arm,
            "stage1_fraction": fraction,
            "n_per_class": N_TRAIN[size] // 2,
            "size_label": size,
            "repeat": repeat,
            "fold": fold,
            "seed": 100 * repeat + fold,
            "n_train": N_TRAIN[size],
            "n_val": 8,
            "n_test": N_TEST,
            "metrics": {**metrics, "f1": 0.75},
            "y_true": [0, 1],
            "y_score": [0.2, 0.7],
        }
        path.write_text(json.dumps(unit))
    return out


@pytest.fixture
def study_dir(tmp_path):
    return write_fake_study(tmp_path / "study")


# --- statistics ---------------------------------------------------------------------------------


def test_corrected_interval_hand_computed():
    # 2 repeats x 3 folds of differences; mean .03, var(ddof=1) by hand
    d = np.array([0.01, 0.05, 0.03, 0.02, 0.04, 0.03])
    mean = 0.03
    var = ((d - mean) ** 2).sum() / 5  # (4 + 4 + 0 + 1 + 1 + 0) e-4 / 5 = 2e-4
    assert var == pytest.approx(2e-4)
    ci = corrected_resampled_interval(d, n_train=40, n_test=10)
    se = math.sqrt((1 / 6 + 10 / 40) * var)
    assert ci.estimate == pytest.approx(mean)
    assert ci.df == 5 and ci.n == 6
    assert ci.standard_error == pytest.approx(se)
    half = sps.t.ppf(0.975, 5) * se
    assert (ci.low, ci.high) == (pytest.approx(mean - half), pytest.approx(mean + half))
    assert ci.statistic == pytest.approx(mean / se)
    assert ci.pvalue == pytest.approx(2 * sps.t.sf(mean / se, 5))


def test_the_ttest_is_the_interval_of_the_differences():
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0.7, 0.9, 9), rng.uniform(0.7, 0.9, 9)
    t, p = corrected_resampled_ttest(a, b, n_train=48, n_test=16)
    ci = corrected_resampled_interval(a - b, 48, 16)
    assert (t, p) == (ci.statistic, ci.pvalue)
    # the p-value is below 0.05 exactly when the 95% interval excludes 0
    assert (p < 0.05) == (ci.low > 0 or ci.high < 0)


def test_identical_arms_give_zero_difference_and_p_one():
    a = [0.8, 0.7, 0.9, 0.85]
    ci = corrected_resampled_interval(np.subtract(a, a), 30, 10)
    assert ci.estimate == 0 and ci.pvalue == 1.0 and ci.statistic == 0.0
    assert ci.low == ci.high == 0.0


def test_a_fixed_shift_excludes_zero():
    rng = np.random.default_rng(2)
    b = rng.uniform(0.6, 0.9, 15)
    a = b + 0.05 + 0.005 * rng.standard_normal(15)
    ci = corrected_resampled_interval(a - b, 48, 16)
    assert ci.low > 0 and ci.pvalue < 0.001
    assert ci.low < 0.05 < ci.high


def test_more_repeats_do_not_remove_the_correction_term():
    rng = np.random.default_rng(3)
    few, many = rng.normal(0, 0.05, 6), rng.normal(0, 0.05, 600)
    few_ci = corrected_resampled_interval(few, 40, 10)
    many_ci = corrected_resampled_interval(many, 40, 10)
    assert many_ci.standard_error == pytest.approx(math.sqrt(1 / 600 + 0.25) * many_ci.sd)
    assert many_ci.standard_error > 0.45 * many_ci.sd  # never below sqrt(n_test / n_train) * sd
    assert few_ci.standard_error > many_ci.standard_error * 0.9


def test_interval_input_errors():
    with pytest.raises(DataError, match="at least 2 finite"):
        corrected_resampled_interval([0.1], 10, 5)
    with pytest.raises(DataError, match="at least 2 finite"):
        corrected_resampled_interval([0.1, np.nan], 10, 5)
    with pytest.raises(DataError, match="n_train"):
        corrected_resampled_interval([0.1, 0.2], 0, 5)


def test_holm_against_a_hand_computation():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted: .005 (x4 = .02), .01 (x3 = .03), .03 (x2 = .06), .04 (x1 = .04 -> running max .06)
    expected = [0.03, 0.06, 0.06, 0.02]
    assert holm_adjust(p) == pytest.approx(expected)
    assert holm_adjust([0.2, 0.9]) == pytest.approx([0.4, 0.9])
    assert holm_adjust([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1, then the running max
    assert holm_adjust([0.2]) == pytest.approx([0.2])
    with_nan = holm_adjust([0.01, np.nan, 0.04])  # an untested comparison does not count
    assert with_nan[0] == pytest.approx(0.02) and np.isnan(with_nan[1]) and with_nan[2] == pytest.approx(0.04)
    with pytest.raises(DataError):
        holm_adjust([1.5])


def test_repeats_needed_is_monotone_in_the_spread():
    needed = [repeats_needed(0.03, sd, folds=5, test_train_ratio=0.05) for sd in (0.01, 0.02, 0.03, 0.04)]
    assert all(isinstance(r, int) for r in needed)
    assert needed == sorted(needed) and needed[0] < needed[-1]
    # a larger difference needs fewer repeats
    assert repeats_needed(0.06, 0.03, 5, 0.05) <= repeats_needed(0.03, 0.03, 5, 0.05)


def test_repeats_needed_meets_its_formula():
    r = repeats_needed(0.03, 0.03, folds=5, test_train_ratio=0.05)
    power_at = [
        0.03 / (0.03 * math.sqrt(1 / (5 * q) + 0.05)) - sps.t.ppf(0.975, 5 * q - 1) - sps.t.ppf(0.8, 5 * q - 1)
        for q in (r - 1, r)
    ]
    assert power_at[0] < 0 <= power_at[1]


def test_repeats_needed_none_when_the_correction_term_alone_is_too_wide():
    # 0.01 / (0.05 * sqrt(0.25)) = 0.4 < 2.80: no number of repeats resolves it
    assert repeats_needed(0.01, 0.05, folds=5, test_train_ratio=0.25) is None
    assert repeats_needed(0.0, 0.05, folds=5, test_train_ratio=0.25) is None
    assert repeats_needed(0.02, 0.0, folds=5, test_train_ratio=0.25) == 1


# --- the study folder ---------------------------------------------------------------------------


def test_load_study_reads_every_unit(study_dir):
    frame = study.load_study(study_dir)
    assert list(frame.columns) == list(study.UNIT_COLUMNS)
    assert len(frame) == len(list(_units()))
    assert list(dict.fromkeys(frame["arm"])) == ["scratch", "ctl", "mstl", "control", "baseline"]
    assert study.size_order(frame["size_label"]) == ["8", "16", "all"]
    assert frame.loc[frame["arm"] == "ctl", "stage1_fraction"].isna().all()
    assert set(frame.loc[frame["arm"] == "mstl", "stage1_fraction"]) == {0.1, 1.0}
    assert frame["auc"].between(0, 1).all()


def test_load_study_errors(tmp_path, study_dir):
    with pytest.raises(DataError, match="study.json"):
        study.load_study(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "study.json").write_text(json.dumps({"kind": "study"}))
    with pytest.raises(DataError, match="no study results yet"):
        study.load_study(tmp_path / "empty")
    (tmp_path / "grid").mkdir()
    (tmp_path / "grid" / "study.json").write_text(json.dumps({"kind": "grid"}))
    with pytest.raises(DataError, match="not a study manifest"):
        study.load_study(tmp_path / "grid")
    broken = next((study_dir / "results").rglob("fold0.json"))
    broken.write_text("{")
    with pytest.raises(DataError, match=broken.name):
        study.load_study(study_dir)


def test_arm_summary_has_corrected_intervals(study_dir):
    frame = study.load_study(study_dir)
    summary = study.arm_summary(frame)
    row = summary[(summary["arm"] == "scratch") & (summary["size_label"] == "8")].iloc[0]
    values = frame[(frame["arm"] == "scratch") & (frame["size_label"] == "8")]["auc"]
    ci = corrected_resampled_interval(values, 48, N_TEST)  # the pool: the whole training part, 48
    assert row["estimate"] == pytest.approx(values.mean())
    assert (row["low"], row["high"]) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert row["values"] == REPEATS * FOLDS and row["df"] == REPEATS * FOLDS - 1
    assert row["test_train_ratio"] == pytest.approx(N_TEST / 48)
    used = study.arm_summary(frame, correction="used")
    used_row = used[(used["arm"] == "scratch") & (used["size_label"] == "8")].iloc[0]
    assert used_row["test_train_ratio"] == pytest.approx(N_TEST / 16)
    assert used_row["high"] - used_row["low"] > row["high"] - row["low"]


def test_the_pool_is_the_folds_training_part_when_no_size_is_all(study_dir):
    """Without the size "all", the largest size trained is not the pool: the training part is (k - 2)/k of the data."""
    import shutil

    for folder in (study_dir / "results").rglob("nall"):
        shutil.rmtree(folder)
    manifest = json.loads((study_dir / "study.json").read_text())
    manifest["dataset"] = {"counts": {"benign": 36, "malignant": 36}}  # 72 images: 48 training, 8 val., 16 test
    (study_dir / "study.json").write_text(json.dumps(manifest))
    frame = study.load_study(study_dir)
    assert set(frame["size_label"]) == {"8", "16"} and (frame["n_train_part"] == 72 - 8 - N_TEST).all()
    summary = study.arm_summary(frame)
    assert summary["test_train_ratio"].to_numpy() == pytest.approx(N_TEST / 48)  # not N_TEST / 32
    differences = study.paired_differences(frame)
    assert differences["test_train_ratio"].to_numpy() == pytest.approx(N_TEST / 48)


def test_a_recorded_training_part_is_taken_as_it_is(study_dir):
    path = next((study_dir / "results" / "scratch").rglob("fold0.json"))
    unit = json.loads(path.read_text())
    path.write_text(json.dumps({**unit, "n_train_part": 99}))
    frame = study.load_study(study_dir)
    row = frame[(frame["arm"] == "scratch") & (frame["n_train_part"] == 99)]
    assert len(row) == 1 and row.iloc[0]["fold"] == 0


def test_intervals_stay_within_the_range_of_an_auc():
    units = _two_arm_units(np.array([0.2, -0.3, 0.2, -0.3, 0.2, -0.3, 0.2, -0.3, 0.19]), n_test=48)
    summary = study.arm_summary(units).set_index("arm")
    raw = corrected_resampled_interval(units[units["arm"] == "mstl"]["auc"], 48, 48)
    assert raw.high > 1.0  # the t interval passes 1 ...
    assert summary.loc["mstl", "high"] == 1.0  # ... and the table shows the range's end
    assert summary.loc["mstl", "low"] == pytest.approx(raw.low)


def test_paired_differences_find_the_known_differences(study_dir):
    diffs = study.paired_differences(study.load_study(study_dir)).set_index(["arm", "versus", "size_label"])
    shift = diffs.loc[("mstl", "ctl", "8")]
    assert shift["estimate"] == pytest.approx(0.10, abs=0.005)
    assert shift["low"] > 0 and shift["p"] < 0.001
    same = diffs.loc[("mstl", "ctl", "all")]
    assert same["estimate"] == 0 and same["p"] == 1.0 and math.isnan(same["repeats_needed"])
    assert same["values"] == REPEATS * FOLDS and same["df"] == REPEATS * FOLDS - 1
    assert set(diffs.index.get_level_values("versus")) == {"ctl", "control", "scratch"}


def test_differences_pair_by_repeat_and_fold(tmp_path):
    # a (repeat, fold) missing for CTL leaves that pair out rather than pairing the wrong folds
    out = write_fake_study(tmp_path / "s", drop={("ctl", "8", 0, 0)})
    diffs = study.paired_differences(study.load_study(out)).set_index(["arm", "versus", "size_label"])
    assert diffs.loc[("mstl", "ctl", "8"), "values"] == REPEATS * FOLDS - 1
    assert diffs.loc[("mstl", "ctl", "8"), "estimate"] == pytest.approx(0.10, abs=0.005)


def test_paired_aucs_give_the_differences_by_hand(study_dir):
    frame = study.load_study(study_dir)
    pairs = study.paired_aucs(frame, "mstl", "ctl", "8")
    assert len(pairs) == REPEATS * FOLDS and list(pairs.columns[:4]) == ["repeat", "fold", "mstl", "ctl"]
    ci = corrected_resampled_interval(
        pairs["mstl"] - pairs["ctl"], pairs["n_train_pool"].mean(), pairs["n_test"].mean()
    )
    row = study.paired_differences(frame).set_index(["arm", "versus", "size_label"]).loc[("mstl", "ctl", "8")]
    assert (ci.low, ci.high, ci.pvalue) == (
        pytest.approx(row["low"]),
        pytest.approx(row["high"]),
        pytest.approx(row["p"]),
    )


def test_quantity_differences(study_dir):
    frame = study.load_study(study_dir)
    quantity = study.quantity_differences(frame, "8")
    assert len(quantity) == 1
    row = quantity.iloc[0]
    assert row["stage1_fraction"] == 0.1 and row["versus_fraction"] == 1.0
    assert row["estimate"] == pytest.approx(BASE["mstl"]["8"] - 0.05 - BASE["ctl"]["8"] - 0.10, abs=0.005)
    assert row["high"] < 0  # a tenth of the patches is resolved below all of them
    assert study.quantity_differences(frame).equals(quantity)  # the size found from the data
    assert study.quantity_differences(frame[frame["stage1_fraction"] != 0.1]).empty


def test_study_table_is_tidy_and_holm_adjusted(study_dir):
    report = study.study_report(study_dir)
    table = report.table
    assert list(table.columns) == list(study.TABLE_COLUMNS)
    differences = table[table["kind"] == "difference"]
    assert len(differences) == 3 * len(SIZES) + 1  # three comparisons per size and one fraction
    families = {"mstl - ctl", "mstl - control", "mstl - scratch", "quantity"}
    assert set(differences["family"]) == families  # one question each, asked across the sizes
    for family, rows in differences.groupby("family"):
        assert len(rows) == (1 if family == "quantity" else len(SIZES))
        assert np.allclose(rows["p_holm"], holm_adjust(rows["p"]))  # Holm within the question
        assert np.allclose(rows["level"], 0.05 / len(rows))
    assert (differences["p_holm"] >= differences["p"]).all()
    assert (differences["resolved"] == (differences["p_holm"] < 0.05)).all()
    assert len(report.arms) == 5 * len(SIZES)
    assert list(report.quantity["stage1_fraction"]) == [0.1, 1.0]
    assert report.quantity_size == "8"
    path = study.write_study_table(report)
    assert pd.read_csv(path).shape == table.shape


# --- sentences ----------------------------------------------------------------------------------


def _difference(report, arm, versus, size):
    rows = report.differences
    return rows[(rows["arm"] == arm) & (rows["versus"] == versus) & (rows["size_label"] == size)].iloc[0]


def test_a_resolved_difference_reads_as_a_finding(study_dir):
    from mstl_lib.teaching.study_text import difference_sentence

    report = study.study_report(study_dir)
    row = _difference(report, "mstl", "ctl", "8")
    sentence = difference_sentence(row)
    assert sentence.startswith("With 8 images per class, MSTL is 0.10")
    assert "above CTL in test AUC [" in sentence
    assert f"Holm-adjusted p = {row['p_holm']:.2g}" in sentence
    assert f"[{row['low']:+.3f}, {row['high']:+.3f}]" in sentence


def test_an_unresolved_difference_says_how_many_repeats_would_resolve_it(study_dir):
    from mstl_lib.teaching.study_text import difference_sentence

    report = study.study_report(study_dir)
    row = _difference(report, "mstl", "control", "16").copy()
    assert not row["resolved"]
    row["repeats_needed"] = 12.0  # as repeats_needed would give for a larger difference
    sentence = difference_sentence(row)
    assert "no difference shown between MSTL and Control" in sentence
    assert "about 12 repeats of the 3-fold cross-validation (this run: 3)" in sentence
    assert f"a difference of {abs(row['estimate']):.3f}" in sentence
    row["repeats_needed"] = np.nan  # none would do
    assert "no number of repeats would resolve" in difference_sentence(row)
    same = difference_sentence(_difference(report, "mstl", "ctl", "all"))
    assert "the same AUC on every fold" in same


def _two_arm_units(differences, n_test=4, n_train=48):
    """Units of MSTL and CTL at 16 images per class whose paired differences are ``differences``."""
    rows = []
    for j, d in enumerate(differences):
        for arm, auc in (("ctl", 0.8), ("mstl", 0.8 + d)):
            rows.append(
                {"arm": arm, "stage1_fraction": 1.0 if arm == "mstl" else np.nan, "size_label": "16"}
                | {"n_per_class": 16, "repeat": j // FOLDS, "fold": j % FOLDS, "auc": auc}
                | {"n_train": n_train, "n_test": n_test}
            )
    return pd.DataFrame(rows).reindex(columns=list(study.UNIT_COLUMNS))


def test_the_repeats_in_the_sentence_come_from_repeats_needed():
    from mstl_lib.teaching.study_text import difference_sentence

    z = np.array([-1.5, -1.0, -0.5, 0.0, 0.0, 0.5, 0.5, 1.0, 1.0])
    z = (z - z.mean()) / z.std(ddof=1)
    table = study.study_table(_two_arm_units(0.02 + 0.02 * z))
    row = table[table["kind"] == "difference"].iloc[0]
    assert row["estimate"] == pytest.approx(0.02) and row["sd"] == pytest.approx(0.02)
    assert row["p_holm"] > 0.05 and not row["resolved"]
    expected = repeats_needed(0.02, 0.02, FOLDS, 4 / 48)
    assert expected is not None and expected > REPEATS
    assert row["repeats_needed"] == expected
    sentence = difference_sentence(row)
    assert f"about {expected} repeats of the 3-fold cross-validation (this run: 3)" in sentence
    assert "a difference of 0.020" in sentence


def test_headline_spells_out_the_closest_comparison_when_nothing_is_resolved(study_dir):
    from mstl_lib.teaching.study_text import headline, verdicts

    report = study.study_report(study_dir)
    assert headline(report).startswith("4 of 10 comparisons resolved after Holm's adjustment.")
    quiet = study.StudyReport(
        report.out_dir, report.manifest, report.units, report.table.assign(p_holm=1.0, resolved=False)
    )
    text = headline(quiet)
    assert text.startswith("None of the 10 comparisons is resolved after Holm's adjustment. The closest:")
    assert "repeat" in text
    assert len(verdicts(report)) == 10


def test_repeats_summary_names_the_fewest_repeats_and_what_repeats_cannot_do():
    from mstl_lib.teaching.study_text import repeats_summary

    z = np.array([-1.5, -1.0, -0.5, 0.0, 0.0, 0.5, 0.5, 1.0, 1.0])
    units = _two_arm_units(0.02 + 0.02 * (z - z.mean()) / z.std(ddof=1))
    table = study.study_table(units)
    report = study.StudyReport(Path("."), {}, units, table)
    expected = repeats_needed(0.02, 0.02, FOLDS, 4 / 48)
    text = repeats_summary(report)
    assert text.startswith("1 comparison is not resolved.")
    assert f"the fewest needed are about {expected}" in text and "with 16 images per class" in text
    wide = study.study_table(_two_arm_units(0.02 + 0.02 * (z - z.mean()) / z.std(ddof=1), n_test=48))
    text = repeats_summary(study.StudyReport(Path("."), {}, units, wide))
    assert "no number of repeats would do" in text


# --- figures ------------------------------------------------------------------------------------


def test_auc_figure_has_one_line_per_arm(study_dir):
    from mstl_lib.visualize import plot_study_auc

    report = study.study_report(study_dir)
    ax = plot_study_auc(report).axes[0]
    assert len(ax.containers) == 5
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Scratch", "CTL", "MSTL", "Control", "Baseline"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["8", "16", "all"]
    assert "AUC" in ax.get_ylabel() and "per class" in ax.get_xlabel()
    mstl = ax.containers[2].lines[0]
    assert np.allclose(sorted(mstl.get_ydata()), sorted(report.arms[report.arms["arm"] == "mstl"]["estimate"]))
    with pytest.raises(DataError, match="no rows for arm"):
        plot_study_auc(report, arms=["nope"])


def test_difference_figure_has_a_zero_line_and_marks_resolved_points(study_dir):
    from mstl_lib.visualize import plot_study_differences

    report = study.study_report(study_dir)
    fig = plot_study_differences(report)
    assert [ax.get_title() for ax in fig.axes] == ["MSTL - CTL", "MSTL - Control"]
    ctl = fig.axes[0]
    zero = [line for line in ctl.lines if list(line.get_ydata()) == [0.0, 0.0]]
    assert len(zero) == 1
    resolved = [line for line in ctl.lines if line.get_label() == "resolved after Holm"][0]
    assert len(resolved.get_xdata()) == 1  # only 8 images per class is resolved against CTL
    assert len(ctl.containers[0].lines[0].get_xdata()) == 3
    control_labels = [line.get_label() for line in fig.axes[1].lines]
    assert "resolved after Holm" not in control_labels  # nothing resolved against the control
    with pytest.raises(DataError, match="no comparison"):
        plot_study_differences(report, [("ctl", "mstl")])


def test_quantity_figure(study_dir, tmp_path):
    from mstl_lib.visualize import plot_quantity_curve

    report = study.study_report(study_dir)
    ax = plot_quantity_curve(report).axes[0]
    assert len(ax.containers) == 1
    assert list(ax.containers[0].lines[0].get_xdata()) == [0.1, 1.0]
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"MSTL", "CTL", "Control"}
    assert [t.get_text() for t in ax.get_xticklabels()] == ["10%", "100%"]
    no_quantity = write_fake_study(tmp_path / "q", quantity_size="16")
    shutil.rmtree(no_quantity / "results" / "mstl" / "f0.10")
    with pytest.raises(DataError, match="no quantity experiment"):
        plot_quantity_curve(study.study_report(no_quantity))


# --- mstl report --------------------------------------------------------------------------------


def test_mstl_report_on_a_study_loads_no_tensorflow(study_dir):
    code = (
        "import sys\n"
        "from mstl_lib.cli import main\n"
        f"code = main(['report', {str(study_dir)!r}, '--json'])\n"
        "loaded = sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)\n"
        "print('LOADED=' + ','.join(loaded))\n"
        "sys.exit(code)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    text, loaded = out.stdout.rsplit("LOADED=", 1)
    assert loaded.strip() == ""
    data = json.loads(text)
    assert data["kind"] == "study" and len(data["verdicts"]) == 10
    assert data["headline"].startswith("4 of 10 comparisons resolved")
    assert all(row["kind"] in ("auc", "difference") for row in data["table"])


def test_mstl_report_prints_the_study_table(study_dir, capsys):
    from mstl_lib.cli import main

    assert main(["report", str(study_dir)]) == 0
    text = capsys.readouterr().out
    assert "Mean test AUC [95% interval]" in text and "n = all" in text
    assert "MSTL - CTL" in text and "With 8 images per class, MSTL is 0.10" in text

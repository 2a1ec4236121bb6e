"""The paper's headline numbers, recomputed from its Table 1 (mstl_lib/data/paper_table1.csv).

Every number the book quotes about Table 1 is checked here against the table as printed in
Ayana et al. (2022); a transcription slip or a wrong reading in the book makes one of these fail.
"""

import numpy as np
import pytest

from mstl_lib.data.paper_table1 import (
    MT_SMALL_REPORTED,
    TABLE1_COLUMNS,
    accuracy_from_rates,
    load_paper_table1,
    paired_configurations,
)
from mstl_lib.errors import DataError
from mstl_lib.evaluation.stats import paper_ttest


def test_table1_has_all_18_configurations_once():
    table = load_paper_table1()
    assert len(table) == 18
    assert not table.duplicated(["transfer", "cnn", "optimizer"]).any()
    assert set(table["transfer"]) == {"CTL", "MSTL"}
    assert set(table["cnn"]) == {"InceptionV3", "EfficientNetB2", "ResNet50"}
    assert set(table["optimizer"]) == {"SGD", "Adam", "Adagrad"}
    assert table[list(TABLE1_COLUMNS)].notna().all().all()


def test_metrics_are_fractions_and_accuracy_lies_between_sensitivity_and_specificity():
    table = load_paper_table1()
    for column in ("auc", "f1", "specificity", "sensitivity"):
        assert table[column].between(0, 1).all(), column
    # Mendeley folds are balanced (100 + 100), so accuracy is within rounding of the mean of the two rates
    implied = 100 * (table["sensitivity"] + table["specificity"]) / 2
    assert (table["test_accuracy"] - implied).abs().max() < 3.0


def test_per_cnn_averages_match_the_papers_column():
    table = load_paper_table1()
    means = table.groupby(["transfer", "cnn"])["test_accuracy"].mean()
    printed = table.groupby(["transfer", "cnn"])["avg_test_accuracy"].first()
    # printed as whole percent, rounded, except CTL ResNet50: 89.83 is printed as 89
    assert (means - printed).abs().lt(1).all()
    mismatched = means.round().ne(printed)
    assert mismatched[mismatched].index.tolist() == [("CTL", "ResNet50")]
    assert means["CTL", "ResNet50"] == pytest.approx(89.83, abs=0.01)
    assert np.round(means["MSTL"]).tolist() == [90, 92, 98]  # EfficientNetB2, InceptionV3, ResNet50


def test_optimizer_averages_of_section_3_3():
    mstl = load_paper_table1().query("transfer == 'MSTL'")
    by_optimizer = mstl.groupby("optimizer")["test_accuracy"]
    assert by_optimizer.mean().round(2).to_dict() == {"Adagrad": 96.67, "Adam": 95.83, "SGD": 87.83}
    # the paper's ± there is the population standard deviation (ddof=0) of the three CNNs, cut to one decimal
    truncated = np.floor(by_optimizer.std(ddof=0) * 10) / 10
    assert truncated.to_dict() == {"Adagrad": 1.8, "Adam": 2.0, "SGD": 8.9}


def test_cnn_averages_of_section_3_3_mix_two_standard_deviations():
    by_cnn = load_paper_table1().query("transfer == 'MSTL'").groupby("cnn")["test_accuracy"]
    assert by_cnn.mean().round(1).to_dict() == {"EfficientNetB2": 90.3, "InceptionV3": 92.0, "ResNet50": 98.0}
    # printed: ResNet50 98 ± 1, InceptionV3 92 ± 3.1, EfficientNetB2 90.3 ± 9.7
    population = np.floor(by_cnn.std(ddof=0) * 10) / 10
    sample = np.floor(by_cnn.std(ddof=1) * 10) / 10
    assert (population["ResNet50"], population["EfficientNetB2"]) == (1.0, 9.7)
    assert population["InceptionV3"] == 2.5 and sample["InceptionV3"] == 3.1


def test_means_over_the_nine_configurations():
    mstl, ctl = paired_configurations("test_accuracy")
    assert ctl.mean() == pytest.approx(85.50, abs=0.005)
    assert mstl.mean() == pytest.approx(93.44, abs=0.005)
    assert (mstl - ctl).mean() == pytest.approx(7.94, abs=0.005)
    # not every configuration improves: InceptionV3 with Adagrad is better under CTL
    assert int((mstl < ctl).sum()) == 1


def test_paired_ttest_on_test_accuracy_reproduces_p_0_01191():
    mstl, ctl = paired_configurations("test_accuracy")
    result = paper_ttest(mstl, ctl, paired=True)
    assert round(result.pvalue, 5) == 0.01191
    assert result.statistic == pytest.approx(3.238, abs=0.001)


def test_unpaired_ttest_on_the_same_numbers_gives_0_092():
    mstl, ctl = paired_configurations("test_accuracy")
    assert round(paper_ttest(mstl, ctl, paired=False).pvalue, 3) == 0.092
    assert round(paper_ttest(mstl, ctl, paired=False, equal_var=False).pvalue, 3) == 0.095


def test_only_the_accuracy_column_gives_the_papers_p():
    for column in ("auc", "f1", "specificity", "sensitivity"):
        mstl, ctl = paired_configurations(column)
        assert round(paper_ttest(mstl, ctl).pvalue, 5) != 0.01191, column
    mstl, ctl = paired_configurations("auc")
    assert round(paper_ttest(mstl, ctl).pvalue, 3) == 0.034


def test_best_configuration_and_the_inceptionv3_adam_loss():
    table = load_paper_table1()
    best = table.loc[table["test_accuracy"].idxmax()]
    assert (best["transfer"], best["cnn"], best["optimizer"]) == ("MSTL", "ResNet50", "Adagrad")
    assert (best["test_accuracy"], best["accuracy_spread"]) == (99.0, 0.612)
    worst_loss = table.loc[table["loss"].idxmax()]
    assert (worst_loss["transfer"], worst_loss["cnn"], worst_loss["optimizer"]) == ("CTL", "InceptionV3", "Adam")
    assert worst_loss["loss"] == 9.57
    others = table.drop(index=worst_loss.name)["loss"]
    assert worst_loss["loss"] > 10 * others.max()  # an order of magnitude above every other row


def test_mt_small_accuracy_is_impossible_with_its_sensitivity_and_specificity():
    reported = MT_SMALL_REPORTED
    implied = accuracy_from_rates(reported["sensitivity"], reported["specificity"])
    assert implied == pytest.approx(0.971)
    assert reported["accuracy"] > max(reported["sensitivity"], reported["specificity"])
    # no share of malignant images reaches 98.7 %: accuracy lies between the two rates
    shares = np.linspace(0, 1, 101)
    reachable = [accuracy_from_rates(reported["sensitivity"], reported["specificity"], s) for s in shares]
    assert max(reachable) == pytest.approx(0.974) and max(reachable) < reported["accuracy"]


def test_bad_arguments_are_named():
    with pytest.raises(DataError, match="column='accuracy'"):
        paired_configurations("accuracy")
    with pytest.raises(DataError, match="sensitivity=1.2"):
        accuracy_from_rates(1.2, 0.9)


def test_the_book_exercise_solution_prints_the_numbers_its_text_states(capsys):
    """The folded solution in book/paper_critical.md runs and prints what the sentence under it says."""
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "book" / "paper_critical.md").read_text()
    section = page.split("## Exercise: recompute the paper's numbers from Table 1", 1)[1]
    code = re.search(r"~~~python\n(.*?)~~~", section, re.S).group(1)
    exec(compile(code, "paper_critical.md", "exec"), {})
    out = capsys.readouterr().out
    stated = section.split("~~~", 2)[2].split("```", 1)[0]
    for number in ("85.50%", "93.44%", "0.01191", "0.092", "0.034", "0.013", "97.1%", "98.7%"):
        assert number in out, number
        assert number in stated, number

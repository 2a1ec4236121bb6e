"""The text rules of the browser check of the built site (.ci/check_site.py)."""

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("check_site", ROOT / ".ci" / "check_site.py")
check_site = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_site)
text_problems = check_site.text_problems
exercise_problems = check_site.exercise_problems


def test_clean_page_passes():
    text = (
        "Work folder: _build/work/smoke\nSee https://github.com/org/repo/tree/main/work/notes and "
        "~/mstl_work/lab. Accuracy 0.75 ± 0.05."
    )
    assert text_problems(text, outputs=["accuracy 75.0%"], cells=["resnet50", "0.750", "thresholds"]) == []


def test_absolute_paths_of_the_build_machine_fail():
    for path in ("/tmp/abc/_build/work/smoke", "/home/ci/mstl", "/root/mstl_work", "/work/main/_build"):
        problems = text_problems(f"Work folder: {path}")
        assert len(problems) == 1 and "absolute path" in problems[0], path


def test_the_repository_folder_fails_wherever_it_is():
    problems = text_problems("Dataset: /srv/ci/checkout/_build/work", build_root="/srv/ci/checkout")
    assert problems and "/srv/ci/checkout" in problems[0]
    assert text_problems("Dataset: synthetic images", build_root="/srv/ci/checkout") == []


def test_raw_reprs_in_outputs_fail():
    problems = text_problems("", outputs=["np.float64(0.75)", "TtestResult(statistic=2.1, pvalue=0.04, df=8)"])
    assert len(problems) == 1 and "np.float64(" in problems[0] and "TtestResult(" in problems[0]
    # prose may name them
    assert text_problems("", outputs=["accuracy 75%"]) == []


def test_pandas_truncated_cells_fail():
    for cell in ("CI and a first look: tiny data, one epoch, thr…", "Ima...", "toge…"):
        problems = text_problems("", cells=[cell])
        assert problems and "cut short" in problems[0], cell
    assert text_problems("", cells=["…", "...", "none", "random"]) == []


def test_check_output_beside_folded_solutions_fails():
    shown = ["✓ Correct: your function is right for 5 fold sizes."]
    problems = exercise_problems(visible_outputs=shown, folded_solutions=3)
    assert len(problems) == 1 and "under folded solutions" in problems[0]
    assert exercise_problems(visible_outputs=["✗ No answer yet: replace the ..."], folded_solutions=1)
    # without folded solutions, or with the output removed (remove-output), the page passes
    assert exercise_problems(visible_outputs=shown, folded_solutions=0) == []
    assert exercise_problems(visible_outputs=["accuracy 75.0%"], folded_solutions=3) == []
    # prose or other outputs that merely contain a tick pass
    assert exercise_problems(visible_outputs=["Stage 1 ✓ done"], folded_solutions=3) == []


def test_check_message_that_gives_away_a_value_fails_even_when_folded():
    for line in (
        "✗ Not yet: the answer is 2.5, expected 2.5.",
        "✗ Not yet: the output shape is (3,), expected (1,).",
        "✗ Not yet: number 1 should be 14280.",
    ):
        problems = exercise_problems(all_outputs=[line])
        assert problems and "gives away" in problems[0], line
    assert exercise_problems(all_outputs=["✗ Not yet: points_per_error(80) is 0.0125, a fraction of 1."]) == []


# ----------------------------------------------------------------------- numbers in prose come from the run

run_number_problems = check_site.run_number_problems
typed_run_numbers = check_site.typed_run_numbers


def test_prose_aucs_must_be_the_runs():
    expected = {"scratch": "0.954", "CTL": "0.964", "MSTL": "0.959", "baseline": "0.802"}
    glued = (
        "mean test AUCs over the folds of 0.954 (scratch), 0.964 (CTL) and 0.959 (MSTL), against 0.802 for the "
        "baseline. Averaged over folds, the test AUC was 0.954 from scratch, 0.964 for CTL, 0.959 for MSTL and "
        "0.802 for the classical baseline."
    )
    assert run_number_problems(glued, expected) == []
    stale = "mean test AUCs of 0.956 (scratch), 0.949 (CTL) and 0.959 (MSTL)"
    problems = run_number_problems(stale, expected)
    assert len(problems) == 2 and "0.956" in problems[0] and "the run's results say 0.954" in problems[0]
    # other numbers per arm, outside a sentence about AUC, are not the run's AUC
    assert run_number_problems("The lowest loss is 0.084 (CTL) against 0.030 (MSTL).", expected) == []
    (problem,) = run_number_problems("An AUC of 0.900 (MSTL).", {})
    assert "0.900" in problem and "MSTL" in problem


def test_expected_run_numbers_are_the_mean_fold_aucs():
    results = [
        {"tl": tl, "backbone": "resnet10", "optimizer": "adam", "fold": k, "metrics": {**metrics, "auc": auc}}
        for tl, aucs in (("mstl", (0.9, 0.95)), ("baseline", (0.8, 0.7)))
        for k, auc in enumerate(aucs)
        for metrics in [{"f1": 0.5, "specificity": 0.5, "sensitivity": 0.5, "loss": 0.5, "accuracy": 0.5}]
    ]
    assert check_site.expected_run_numbers(results) == {"MSTL": "0.925", "baseline": "0.750"}


def test_typed_results_are_found_and_glue_or_paper_numbers_pass():
    assert typed_run_numbers("mean test AUCs of 0.956 (scratch), 0.949 (CTL)")
    assert typed_run_numbers("the corrected resampled t-test gives p = 0.016")
    assert typed_run_numbers("The baseline's AUC is about 0.78 on real images.")
    assert typed_run_numbers("AUC {glue:text}`../notebooks/05.ipynb::ctl_auc:s` (CTL)") == []
    assert typed_run_numbers("the paper's AUC of 0.999", allowed={"0.999"}) == []


def _paper_numbers() -> set[str]:
    from mstl_lib.data.paper_table1 import MT_SMALL_REPORTED, load_paper_table1

    table = load_paper_table1()
    numbers = {f"{v:g}" for column in ("auc", "f1", "specificity", "sensitivity", "loss") for v in table[column]}
    numbers |= {f"{v:.3f}" for v in table["auc"]} | {str(v) for v in MT_SMALL_REPORTED.values()}
    return numbers | {"0.01191", "0.092", "0.034", "0.013", "0.612", "0.05"}


def test_the_prose_chapters_type_no_run_result():
    """Chapters glue run numbers from the lessons; only the benchmarks page records figures (dated)."""
    allowed = _paper_numbers()
    for page in sorted((ROOT / "book").glob("*.md")):
        if page.name == "benchmarks.md":
            continue
        assert typed_run_numbers(page.read_text(), allowed) == [], page.name
    readme = (ROOT / "README.md").read_text()
    readme = re.sub(r"<!-- benchmark-summary:start.*?benchmark-summary:end -->", "", readme, flags=re.S)
    assert typed_run_numbers(readme, allowed) == []


def test_the_lessons_prose_types_no_run_result():
    """Lesson prose glues what the run computed; only the paper's numbers may be typed."""
    import nbformat

    allowed = _paper_numbers()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        prose = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
        assert typed_run_numbers(prose, allowed) == [], path.name

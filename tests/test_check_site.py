"""The text rules of the browser check of the built site (.ci/check_site.py)."""

import importlib.util
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

"""Running a library function in a fresh process, as the grid does for every training."""

from __future__ import annotations

import pytest

from mstl_lib.data.splits import grouped_split
from mstl_lib.errors import DataError
from mstl_lib.profiles import get_profile
from mstl_lib.training.child import run_in_child


def test_result_comes_back():
    assert run_in_child(get_profile, "paper", epochs_stage2=3) == get_profile("paper", epochs_stage2=3)


def test_library_errors_are_raised_in_the_parent_and_logged(tmp_path):
    log = tmp_path / "child.log"
    with pytest.raises(DataError, match="at least two classes"):
        run_in_child(grouped_split, [0, 0, 0], log_path=log)
    assert "Traceback" in log.read_text()

"""Work folders: one per profile and initial weights, each step computed once."""

from __future__ import annotations

import pytest

from mstl_lib.teaching.notebook import profile_with_weights
from mstl_lib.teaching.workspace import Workspace, work_folder_name


@pytest.mark.parametrize(
    "profile, weights, folder",
    [
        ("lab", "profile", "lab"),
        ("lab", "imagenet", "lab-imagenet"),
        ("paper", "none", "paper-random"),
        ("paper", "profile", "paper"),
        ("smoke", "none", "smoke-random"),
        ("lab", "none", "lab-random"),
    ],
)
def test_runs_with_other_weights_get_their_own_folder(profile, weights, folder):
    chosen = profile_with_weights(profile, weights)
    assert work_folder_name(chosen) == folder
    assert (
        chosen.weights
        == {"profile": {"lab": "fractaldb", "paper": "imagenet"}.get(profile), "imagenet": "imagenet", "none": None}[
            weights
        ]
    )


def test_synthetic_data_are_made_once_and_reused(tmp_path):
    workspace = Workspace("smoke", root=tmp_path / "work", progress=False)
    first = workspace.synthetic()
    stamp = (first / "ultrasound" / "benign" / "benign (1).png").stat().st_mtime_ns
    again = Workspace("smoke", root=tmp_path / "work", progress=False).synthetic()
    assert again == first and (again / "ultrasound" / "benign" / "benign (1).png").stat().st_mtime_ns == stamp
    assert not (tmp_path / "work" / "synthetic.partial").exists()


def test_a_half_written_step_is_redone(tmp_path):
    (tmp_path / "work" / "synthetic.partial" / "cells").mkdir(parents=True)
    workspace = Workspace("smoke", root=tmp_path / "work", progress=False)
    assert (workspace.synthetic() / "cells" / "hela").is_dir()
    assert not (tmp_path / "work" / "synthetic.partial").exists()

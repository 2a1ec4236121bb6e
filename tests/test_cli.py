"""The mstl command line: sub-commands, JSON output, errors as one line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mstl_lib.cli import main


def test_synth_segment_audit_in_sequence(tmp_path, capsys):
    assert main(["synth", str(tmp_path / "synth"), "--seed", "3", "-q"]) == 0
    assert (tmp_path / "synth" / "cells" / "hela").is_dir()
    assert (tmp_path / "synth" / "ultrasound" / "malignant" / "malignant (1).png").is_file()
    assert (
        main(["segment", str(tmp_path / "synth" / "cells"), str(tmp_path / "patches"), "--per-class", "12", "-q"]) == 0
    )
    out = capsys.readouterr().out
    assert "class" in out and "hela" in out and "manifest.csv" in out
    assert main(["audit", str(tmp_path / "synth" / "ultrasound"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= {"counts", "skipped", "duplicate_groups", "conflicts"}
    assert report["counts"] == {"benign": 24, "malignant": 24}


def test_writers_refuse_existing_output(tmp_path, capsys):
    (tmp_path / "out" / "cells").mkdir(parents=True)
    (tmp_path / "out" / "cells" / "data.txt").write_text("x")
    assert main(["synth", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "out") in err and "--overwrite" in err
    assert (tmp_path / "out" / "cells" / "data.txt").read_text() == "x"
    assert not (tmp_path / "out" / "ultrasound").exists()


def test_library_errors_are_one_line_without_traceback(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "mstl_lib", "audit", str(tmp_path / "missing")], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("mstl audit: error:") and "no such folder" in done.stderr


@pytest.mark.realdata
def test_audit_of_the_real_busi_sample(busi_sample, capsys):
    assert main(["audit", str(busi_sample), "--kind", "busi"]) == 0
    out = capsys.readouterr().out
    assert "benign/benign (131).png = malignant/malignant (51).png" in out
    assert "Cross-label conflicts: 2" in out


def test_grid_without_stage1_explains_what_to_run(tmp_path, capsys):
    assert main(["synth", str(tmp_path / "s"), "-q"]) == 0
    code = main(
        [
            "grid",
            str(tmp_path / "s" / "ultrasound"),
            "--out",
            str(tmp_path / "g"),
            "--stage1",
            str(tmp_path / "nothing"),
            "-q",
        ]
    )
    assert code == 2
    assert "mstl pretrain" in capsys.readouterr().err


def test_student_edition_removes_solutions_and_names_the_profile(tmp_path):
    import nbformat

    from mstl_lib.teaching.paths import find_book_root, list_notebooks

    root = find_book_root()
    out = tmp_path / "students"
    assert main(["student-edition", str(out), "--profile", "smoke", "--work-dir", str(tmp_path / "work")]) == 0
    for source in list_notebooks(root):
        original = nbformat.read(source, as_version=4)
        student = nbformat.read(out / source.name, as_version=4)
        tagged = [c.metadata.get("tags", []) for c in student.cells]
        assert [t for t in tagged if "solution" in t] == [] and sum(
            "solution" in c.metadata.get("tags", []) for c in original.cells
        )
        assert sum("answer" in t for t in tagged) == sum("answer" in c.metadata.get("tags", []) for c in original.cells)
        (parameters,) = [c for c in student.cells if "parameters" in c.metadata.get("tags", [])]
        assert 'profile = "smoke"' in parameters.source and repr(str(tmp_path / "work")) in parameters.source
    assert main(["student-edition", str(tmp_path / "other"), "--profile", "huge"]) == 2


def test_study_refuses_a_distribution_strategy(tmp_path, capsys):
    """`mstl study` trains one compiled model per process: --strategy would be ignored, so it is refused."""
    assert main(["synth", str(tmp_path / "s"), "-q"]) == 0
    code = main(["study", str(tmp_path / "s" / "ultrasound"), "--out", str(tmp_path / "o"), "--strategy", "mirrored"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--strategy" in err and "--workers" in err
    assert not (tmp_path / "o").exists()

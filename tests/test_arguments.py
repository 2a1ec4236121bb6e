"""Every argument is checked before any work or write; refusals are one line naming the command's option."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from dataclasses import replace

import pytest

from mstl_lib import cli
from mstl_lib.arguments import for_the_command_line
from mstl_lib.cli import build_parser, main
from mstl_lib.data.datasets import load_busi
from mstl_lib.data.synthetic import write_ultrasound_set
from mstl_lib.errors import DataError
from mstl_lib.profiles import get_profile
from mstl_lib.validation import MAX_SEED, check_output_folder, check_weights_setting


@pytest.fixture
def us(tmp_path):
    return write_ultrasound_set(tmp_path / "us", 3, seed=0, progress=False)


def refused(capsys, argv) -> str:
    """Run ``mstl argv``; assert it was refused (exit 2); return its one-line message."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"mstl {argv[0]}: error:"), err
    return err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--weights", "bogus"], "unknown --weights 'bogus'"),
        (["--weights", "missing.weights.h5"], "no such weights file (the --weights)"),
        (["--epochs", "0"], "--epochs must be >= 1, got 0"),
        (["--folds", "0"], "--folds must be >= 2, got 0"),
        (["--folds", "1"], "--folds must be >= 2, got 1"),
        (["--seed", "-1"], "--seed must be in [0, 4294967295], got -1"),
        (["--seed", "99999999999"], "--seed must be in [0, 4294967295], got 99999999999"),
        (["--workers", "0"], "--workers must be >= 1"),
    ],
)
def test_grid_refuses_bad_arguments_before_writing_anything(tmp_path, us, capsys, extra, message):
    out = tmp_path / "grid"
    err = refused(capsys, ["grid", str(us), "--out", str(out), "--arms", "scratch", "-q", *extra])
    assert message in err
    assert not out.exists()  # no manifest, no lock file


@pytest.mark.parametrize("extra", [["--seed", "-1"], ["--seed", str(2**32)], ["--epochs", "0"], ["--weights", "x"]])
def test_pretrain_refuses_bad_arguments_before_writing_anything(tmp_path, capsys, extra):
    out = tmp_path / "stage1"
    refused(capsys, ["pretrain", str(tmp_path / "patches"), "--out", str(out), "-q", *extra])
    assert not out.exists()


def test_a_weights_file_must_be_a_readable_hdf5_file(tmp_path):
    broken = tmp_path / "broken.weights.h5"
    broken.write_bytes(b"not hdf5")
    with pytest.raises(DataError, match="not an HDF5 weights file"):
        check_weights_setting(broken, "--weights")
    good = tmp_path / "good.h5"
    good.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(16))
    assert check_weights_setting(str(good)) == good
    for name in ("profile", "imagenet", "fractaldb", "none", None):
        assert check_weights_setting(name) == name


def test_library_checks_folds_seed_and_epochs_before_writing(tmp_path, us):
    from mstl_lib.training.grid import run_grid

    dataset = load_busi(us)
    profile = get_profile("smoke")
    bad = [
        {"n_folds": 0},
        {"n_folds": 1},
        {"seed": -1},
        {"seed": MAX_SEED + 1},
        {"profile": replace(profile, epochs_stage2=0)},
        {"profile": replace(profile, weights="bogus")},
    ]
    for options in bad:
        with pytest.raises(DataError):
            run_grid(dataset, tmp_path / "g", **{"profile": profile, "arms": ("ctl",), "progress": False, **options})
    assert not (tmp_path / "g").exists()


@pytest.mark.parametrize("seconds", ["0", "-5"])
def test_book_cell_timeout_must_be_positive(tmp_path, capsys, seconds):
    err = refused(capsys, ["book", "--cell-timeout", seconds, "--build-dir", str(tmp_path / "b")])
    assert "--cell-timeout must be > 0" in err
    assert not (tmp_path / "b").exists()


def test_book_no_timeout_is_explicit(capsys):
    assert cli._cell_timeout(build_parser().parse_args(["book", "--no-timeout"])) == math.inf
    assert cli._cell_timeout(build_parser().parse_args(["book"])) is None
    assert cli._cell_timeout(build_parser().parse_args(["book", "--cell-timeout", "9"])) == 9
    with pytest.raises(DataError, match="contradict"):
        cli._cell_timeout(build_parser().parse_args(["book", "--no-timeout", "--cell-timeout", "9"]))
    readme = (os.path.dirname(__file__) + "/../README.md").replace("tests/../", "")
    assert "--no-timeout" in open(readme).read()


def test_book_seed_is_checked_before_any_lesson(tmp_path, capsys):
    assert "--seed must be in" in refused(capsys, ["book", "--seed", "-1", "--build-dir", str(tmp_path / "b")])


@pytest.mark.parametrize(
    "argv",
    [
        ["synth", "{file}"],
        ["segment", "{us}", "{file}", "--overwrite"],
        ["pretrain", "{us}", "--out", "{file}"],
        ["grid", "{us}", "--out", "{file}"],
        ["book", "--build-dir", "{file}"],
        ["student-edition", "{file}"],
        ["synth", "{file}/below"],
    ],
)
def test_an_output_that_is_a_file_is_refused_in_one_line(tmp_path, us, capsys, argv):
    file = tmp_path / "a-file"
    file.write_text("keep me")
    err = refused(capsys, [a.format(file=file, us=us) for a in argv] + ["-q"])
    assert "not a folder" in err and "Fix:" in err and "--overwrite" not in err
    assert file.read_text() == "keep me"


def test_a_read_only_output_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "read-only"
    folder.mkdir()
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # as for a user without write permission
    with pytest.raises(DataError, match="read-only for this user"):
        check_output_folder(folder / "out", "output folder")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_a_read_only_folder_is_refused_by_the_command(tmp_path, capsys):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        assert "read-only" in refused(capsys, ["synth", str(folder / "out"), "-q"])
    finally:
        folder.chmod(0o755)


def test_fixes_name_the_command_options():
    message = "Fix: choose a new output folder, or pass overwrite=True (CLI: --overwrite) to replace it."
    assert for_the_command_line(message) == "Fix: choose a new output folder, or pass --overwrite to replace it."
    assert for_the_command_line("pass stage1_dir (CLI: --stage1)") == "pass --stage1"
    assert for_the_command_line("pass a smaller per_class (CLI: --per-class), or") == "pass a smaller --per-class, or"


def test_an_existing_output_names_the_option(tmp_path, capsys):
    (tmp_path / "out" / "cells").mkdir(parents=True)
    (tmp_path / "out" / "cells" / "data.txt").write_text("x")
    err = refused(capsys, ["synth", str(tmp_path / "out"), "-q"])
    assert "--overwrite" in err and "overwrite=True" not in err


def test_system_errors_are_one_line(monkeypatch, capsys, tmp_path):
    def full_disk(args):
        raise OSError(28, "No space left on device", str(tmp_path / "x.png"))

    monkeypatch.setitem(cli.COMMANDS, "synth", full_disk)
    err = refused(capsys, ["synth", str(tmp_path / "s")])
    assert str(tmp_path / "x.png") in err and "No space left on device" in err


def test_refusals_print_no_traceback(tmp_path, us):
    file = tmp_path / "a-file"
    file.write_text("")
    for argv in (["grid", str(us), "--out", str(file)], ["pretrain", str(us), "--out", str(tmp_path), "--seed", "-1"]):
        done = subprocess.run([sys.executable, "-m", "mstl_lib", *argv], capture_output=True, text=True)
        assert done.returncode == 2 and "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1

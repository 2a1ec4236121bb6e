"""The lock check (.ci/lock.py): a release upstream never fails it; a conflict or a gap in the lock does."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / ".ci" / "lock.py"


@pytest.fixture(scope="module")
def lock():
    spec = importlib.util.spec_from_file_location("ci_lock", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def project(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        "# a comment\n"
        "numpy>=1.26,<3            # with a reason\n"
        "pandas>=2.2\n"
        'colorama>=0.4; sys_platform == "win32"\n'
        "-e .\n"
        "-c constraints.txt\n"
    )
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("# header\nnumpy==2.1.0\npandas==2.2.3\ntzdata==2025.1\n")
    return requirements, constraints


def test_requirement_lines_drop_options_comments_and_reasons(lock, project):
    requirements, _ = project
    assert lock.requirement_lines(requirements) == [
        "numpy>=1.26,<3",
        "pandas>=2.2",
        'colorama>=0.4; sys_platform == "win32"',
    ]


def test_lock_within_every_specifier_passes(lock, project):
    requirements, constraints = project
    problems = lock.requirement_problems(lock.requirement_lines(requirements), lock.read_lock(constraints))
    assert problems == []  # colorama is for Windows only and need not be locked here


def test_a_pin_outside_a_specifier_is_a_conflict(lock, project):
    requirements, constraints = project
    constraints.write_text("numpy==3.0.0\npandas==2.2.3\n")
    problems = lock.requirement_problems(lock.requirement_lines(requirements), lock.read_lock(constraints))
    assert len(problems) == 1 and "numpy: locked 3.0.0" in problems[0] and "numpy>=1.26,<3" in problems[0]


def test_a_requirement_missing_from_the_lock_is_reported(lock, project):
    requirements, constraints = project
    constraints.write_text("numpy==2.1.0\n")
    problems = lock.requirement_problems(lock.requirement_lines(requirements), lock.read_lock(constraints))
    assert len(problems) == 1 and "pandas>=2.2" in problems[0] and "not in the lock" in problems[0]


def _installed(versions):
    return lambda: dict(versions)


def test_check_passes_when_newer_releases_exist_upstream(lock, project, capsys):
    requirements, constraints = project
    pinned = lock.read_lock(constraints)
    newest = {"numpy": "2.9.0", "pandas": "3.1.0", "tzdata": "2026.5"}

    def resolver(path, with_lock):
        # a fresh resolution differs from the lock; a resolution under the lock gives the lock
        return dict(pinned) if with_lock else dict(newest)

    assert lock.check(requirements, constraints, resolver, _installed(pinned)) == 0
    assert "consistent" in capsys.readouterr().out
    assert lock.outdated(requirements, constraints, resolver) == 0
    assert "numpy: 2.1.0 -> 2.9.0" in capsys.readouterr().out


def test_check_fails_when_pip_finds_a_conflict(lock, project, capsys):
    requirements, constraints = project

    def resolver(path, with_lock):
        raise lock.LockError("pip could not resolve requirements.txt:\nResolutionImpossible")

    assert lock.check(requirements, constraints, resolver, _installed(lock.read_lock(constraints))) == 1
    err = capsys.readouterr().err
    assert "conflicts with requirements.txt" in err and "ResolutionImpossible" in err and "--refresh" in err


def test_check_fails_when_the_resolution_needs_an_unlocked_package(lock, project, capsys):
    requirements, constraints = project
    pinned = lock.read_lock(constraints)

    def resolver(path, with_lock):
        return {**pinned, "python-dateutil": "2.9.0"}

    assert lock.check(requirements, constraints, resolver, _installed(pinned)) == 1
    err = capsys.readouterr().err
    assert "python-dateutil" in err and "2.9.0" in err


def test_check_fails_when_the_environment_is_not_the_lock(lock, project, capsys):
    requirements, constraints = project
    pinned = lock.read_lock(constraints)
    installed = {**pinned, "numpy": "2.2.0"}
    del installed["tzdata"]
    assert lock.check(requirements, constraints, lambda path, with_lock: dict(pinned), _installed(installed)) == 1
    err = capsys.readouterr().err
    assert "numpy: locked 2.1.0, installed 2.2.0" in err and "tzdata: locked 2025.1, installed (absent)" in err


def test_command_line_refuses_a_conflicting_lock_before_asking_pip(project):
    requirements, constraints = project
    constraints.write_text("numpy==1.0.0\npandas==2.2.3\n")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--requirements", str(requirements), "--lock", str(constraints)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "1.0.0" in done.stderr and "numpy>=1.26,<3" in done.stderr


def test_the_repository_lock_allows_every_requirement(lock):
    problems = lock.requirement_problems(lock.requirement_lines(lock.REQUIREMENTS), lock.read_lock(lock.LOCK))
    assert problems == []


def test_add_keeps_every_current_pin_and_locks_the_new_package(lock, project):
    requirements, constraints = project
    pinned = lock.read_lock(constraints)

    def resolver(path, with_lock):
        newest = {"numpy": "2.9.0", "pandas": "3.1.0", "tzdata": "2026.5"}
        return {**(pinned if with_lock else newest), "jupyterlab": "4.5.0"}

    assert lock.refresh(requirements, constraints, resolver, keep=True) == 0
    assert lock.read_lock(constraints) == {**pinned, "jupyterlab": "4.5.0"}
    assert lock.refresh(requirements, constraints, resolver) == 0
    assert lock.read_lock(constraints)["numpy"] == "2.9.0"

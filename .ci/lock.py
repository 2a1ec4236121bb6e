"""The lock of tested versions, constraints.txt: check it, refresh it, or list what is newer.

``requirements.txt`` names what the book needs, with the reasons for its
pins; its last line, ``-c constraints.txt``, holds every package of the
resolved environment to the version CI tested.

    python .ci/lock.py --check      # CI: the lock is consistent and installed (no fresh releases involved)
    python .ci/lock.py --outdated   # what a fresh resolution would change (information, exit 0)
    python .ci/lock.py --refresh    # rewrite constraints.txt from a fresh resolution
    python .ci/lock.py --add        # after adding a requirement: lock it, every current pin kept

``--check`` passes when

1. every requirement of ``requirements.txt`` is in the lock at a version its
   specifier allows (read from the files, no network);
2. pip resolves ``requirements.txt`` *with* the lock (``pip install --dry-run
   --ignore-installed --report``, nothing installed): no conflict, and every
   package of that resolution is pinned in the lock;
3. the active environment holds every locked package at the locked version,
   so CI tests what the lock says.

It does not compare the lock with today's newest releases: a release
upstream never fails CI. Freshness is a job of its own:
``.github/workflows/lock-refresh.yml`` runs ``--refresh`` on a schedule,
tests the result and proposes the change as a pull request; locally the
same is ``python .ci/lock.py --refresh``, then the tests.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path

try:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.version import InvalidVersion, Version
except ImportError:  # a bare interpreter: pip vendors the same package
    from pip._vendor.packaging.requirements import InvalidRequirement, Requirement
    from pip._vendor.packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements.txt"
LOCK = ROOT / "constraints.txt"
HEADER = """\
# The lock: every package of the environment `pip install -r requirements.txt` resolves to, at the
# version CI tested (Linux x86_64, Python 3.11). requirements.txt pulls it in with `-c constraints.txt`.
# Written by `python .ci/lock.py --refresh`; do not edit by hand (change requirements.txt and refresh).
# CI (`python .ci/lock.py --check`) fails when this lock conflicts with requirements.txt, misses a package
# of its resolution, or differs from the installed environment; newer releases upstream never fail it.
"""
OWN = "mstl-lib"
FIX = (
    "Fix: `python .ci/lock.py --refresh`, then run the tests and commit constraints.txt "
    "(or reinstall with `pip install -r requirements.txt`)."
)

Resolver = Callable[[Path, bool], dict[str, str]]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_lines(requirements: Path) -> list[str]:
    """The package requirements of a requirements file: no options (``-c``, ``-e``), no comments."""
    lines = []
    for raw in requirements.read_text().splitlines():
        line = raw.split(" #", 1)[0].split("\t#", 1)[0].strip()
        if line and not line.startswith(("#", "-")):
            lines.append(line)
    return lines


def read_lock(lock: Path = LOCK) -> dict[str, str]:
    if not lock.is_file():
        sys.exit(f"{lock} is missing: write it with `python .ci/lock.py --refresh`.")
    pins = {}
    for line in lock.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[canonical(name)] = version.strip()
    return pins


def requirement_problems(lines: Iterable[str], lock: dict[str, str]) -> list[str]:
    """Requirements that the lock leaves out or pins outside their specifier (step 1 of ``--check``)."""
    problems = []
    for line in lines:
        try:
            requirement = Requirement(line)
        except InvalidRequirement as error:
            problems.append(f"{line!r} is not a requirement pip can read: {error}")
            continue
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = canonical(requirement.name)
        if name not in lock:
            problems.append(f"{name}: required ({line}) but not in the lock")
            continue
        try:
            allowed = requirement.specifier.contains(Version(lock[name]), prereleases=True)
        except InvalidVersion:
            allowed = False
        if not allowed:
            problems.append(f"{name}: locked {lock[name]}, which requirements.txt's `{line}` does not allow")
    return problems


def pip_resolve(requirements: Path, with_lock: bool) -> dict[str, str]:
    """What pip resolves a requirements file to, ``{name: version}``; nothing is installed.

    With ``with_lock`` the file is resolved as written (its ``-c constraints.txt``
    included); without, as a fresh install would (options dropped, the library
    itself by its dependencies).
    """
    with tempfile.TemporaryDirectory(prefix="mstl-lock-") as folder:
        source = requirements
        if not with_lock:
            source = Path(folder) / "requirements.txt"
            source.write_text("\n".join(requirement_lines(requirements)) + f"\n{requirements.parent}\n")
        report = Path(folder) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--dry-run", "--ignore-installed"]
        done = subprocess.run(
            [*command, "--report", str(report), "-r", str(source)],
            capture_output=True,
            text=True,
            cwd=requirements.parent,
        )
        if done.returncode != 0:
            raise LockError(f"pip could not resolve {requirements.name}:\n{done.stderr.strip()}")
        installs = json.loads(report.read_text())["install"]
    versions = {canonical(item["metadata"]["name"]): item["metadata"]["version"] for item in installs}
    versions.pop(OWN, None)
    return dict(sorted(versions.items()))


class LockError(Exception):
    """pip could not resolve the requirements (with the lock: they conflict)."""


def resolution_problems(resolved: dict[str, str], lock: dict[str, str]) -> list[str]:
    """Packages that pip, resolving with the lock, takes at a version the lock does not pin (step 2)."""
    return [
        f"{name}: resolved to {version} but {'pinned at ' + lock[name] if name in lock else 'not in the lock'}"
        for name, version in resolved.items()
        if lock.get(name) != version
    ]


def environment_problems(lock: dict[str, str], installed: dict[str, str]) -> list[str]:
    """Locked packages missing from the environment or installed at another version (step 3)."""
    return [
        f"{name}: locked {version}, installed {installed.get(name, '(absent)')}"
        for name, version in lock.items()
        if installed.get(name) != version
    ]


def installed_versions() -> dict[str, str]:
    return {canonical(d.metadata["Name"]): d.version for d in metadata.distributions() if d.metadata["Name"]}


def check(
    requirements: Path = REQUIREMENTS,
    lock_path: Path = LOCK,
    resolver: Resolver = pip_resolve,
    installed: Callable[[], dict[str, str]] = installed_versions,
) -> int:
    lock = read_lock(lock_path)
    problems = requirement_problems(requirement_lines(requirements), lock)
    if not problems:  # a lock that breaks a direct pin makes pip's own message less clear
        try:
            resolved = resolver(requirements, True)
        except LockError as error:
            problems.append(f"the lock conflicts with {requirements.name}: {error}")
        else:
            problems += resolution_problems(resolved, lock)
            unused = sorted(set(lock) - set(resolved))
            if unused:
                print(f"note: locked but no longer needed (dropped at the next refresh): {', '.join(unused)}")
    problems += environment_problems(lock, installed())
    if problems:
        print(
            f"{lock_path.name} does not fit {requirements.name} or this environment:\n  "
            + "\n  ".join(problems)
            + f"\n{FIX}",
            file=sys.stderr,
        )
        return 1
    print(
        f"{lock_path.name}: {len(lock)} packages; consistent with {requirements.name} "
        "and installed as locked (newer releases upstream are not checked: see --outdated)."
    )
    return 0


def outdated(requirements: Path = REQUIREMENTS, lock_path: Path = LOCK, resolver: Resolver = pip_resolve) -> int:
    lock, fresh = read_lock(lock_path), resolver(requirements, False)
    changes = [
        f"{name}: {lock.get(name, '(absent)')} -> {fresh.get(name, '(dropped)')}"
        for name in sorted(set(lock) | set(fresh))
        if lock.get(name) != fresh.get(name)
    ]
    print(
        "A fresh resolution would change:\n  " + "\n  ".join(changes)
        if changes
        else f"{lock_path.name} is the fresh resolution of {requirements.name}."
    )
    return 0


def refresh(
    requirements: Path = REQUIREMENTS, lock_path: Path = LOCK, resolver: Resolver = pip_resolve, keep: bool = False
) -> int:
    """Write the lock from a resolution: fresh, or (``keep``) with every current pin held."""
    resolved = resolver(requirements, keep)
    lock_path.write_text(HEADER + "".join(f"{name}=={version}\n" for name, version in resolved.items()))
    print(f"{lock_path.name}: {len(resolved)} packages written.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--check", action="store_true", help="fail if the lock is inconsistent or not installed")
    group.add_argument("--outdated", action="store_true", help="list what a fresh resolution would change")
    group.add_argument("--refresh", action="store_true", help="rewrite the lock from a fresh resolution")
    group.add_argument("--add", action="store_true", help="lock new requirements, keeping every current pin")
    parser.add_argument("--requirements", type=Path, default=REQUIREMENTS, help="default: %(default)s")
    parser.add_argument("--lock", type=Path, default=LOCK, help="default: %(default)s")
    args = parser.parse_args(argv)
    try:
        if args.check:
            return check(args.requirements, args.lock)
        if args.outdated:
            return outdated(args.requirements, args.lock)
        return refresh(args.requirements, args.lock, keep=args.add)
    except LockError as error:
        print(f"{error}\n{FIX}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""The lock of tested versions, constraints.txt: refresh it, or check it against a fresh resolution.

``requirements.txt`` names what the book needs, with the reasons for its
pins; its last line, ``-c constraints.txt``, holds every package of the
resolved environment to the version CI tested. Both commands ask pip to
resolve ``requirements.txt`` *without* the lock, as a fresh install on Linux
with Python 3.11 would (``pip install --dry-run --ignore-installed --report``;
nothing is installed):

    python .ci/lock.py --refresh   # rewrite constraints.txt from that resolution
    python .ci/lock.py --check     # fail if the lock and that resolution disagree

``--check`` also fails when the active environment differs from the lock
(a package installed at another version than the lock's, or a locked one
missing), so CI tests what the lock says.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements.txt"
LOCK = ROOT / "constraints.txt"
HEADER = """\
# The lock: every package of the environment `pip install -r requirements.txt` resolves to, at the
# version CI tested (Linux x86_64, Python 3.11). requirements.txt pulls it in with `-c constraints.txt`.
# Written by `python .ci/lock.py --refresh`; do not edit by hand (change requirements.txt and refresh).
# CI (`python .ci/lock.py --check`) fails when this lock and a fresh resolution disagree.
"""
OWN = "mstl-lib"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def resolve() -> dict[str, str]:
    """What pip resolves ``requirements.txt`` to without the lock: ``{name: version}``."""
    lines = [
        line
        for line in REQUIREMENTS.read_text().splitlines()
        if not re.match(r"^\s*-c\s", line) and not re.match(r"^\s*-e\s+\.\s*(#.*)?$", line)
    ]
    with tempfile.TemporaryDirectory(prefix="mstl-lock-") as folder:
        requirements = Path(folder) / "requirements.txt"
        # the library itself, by its dependencies (it is installed editable from the checkout)
        requirements.write_text("\n".join(lines) + f"\n{ROOT}\n")
        report = Path(folder) / "report.json"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--dry-run",
                "--ignore-installed",
                "--report",
                str(report),
                "-r",
                str(requirements),
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            sys.exit(f"pip could not resolve {REQUIREMENTS.name}:\n{done.stderr.strip()}")
        installs = json.loads(report.read_text())["install"]
    versions = {canonical(item["metadata"]["name"]): item["metadata"]["version"] for item in installs}
    versions.pop(OWN, None)
    return dict(sorted(versions.items()))


def read_lock() -> dict[str, str]:
    if not LOCK.is_file():
        sys.exit(f"{LOCK} is missing: write it with `python .ci/lock.py --refresh`.")
    pins = {}
    for line in LOCK.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[canonical(name)] = version.strip()
    return pins


def installed() -> dict[str, str]:
    return {canonical(d.metadata["Name"]): d.version for d in metadata.distributions() if d.metadata["Name"]}


def check() -> int:
    lock, fresh = read_lock(), resolve()
    problems = [
        f"{name}: locked {lock.get(name, '(absent)')}, a fresh resolution gives {fresh.get(name, '(absent)')}"
        for name in sorted(set(lock) | set(fresh))
        if lock.get(name) != fresh.get(name)
    ]
    here = installed()
    problems += [
        f"{name}: locked {version}, installed {here.get(name, '(absent)')}"
        for name, version in lock.items()
        if here.get(name) != version
    ]
    if problems:
        print(
            f"{LOCK.name} disagrees with a fresh resolution of {REQUIREMENTS.name} or with this environment:\n  "
            + "\n  ".join(problems)
            + "\nFix: `python .ci/lock.py --refresh`, then test and commit constraints.txt "
            "(or reinstall with `pip install -r requirements.txt`).",
            file=sys.stderr,
        )
        return 1
    print(f"{LOCK.name}: {len(lock)} packages, the same as a fresh resolution and as this environment.")
    return 0


def refresh() -> int:
    fresh = resolve()
    LOCK.write_text(HEADER + "".join(f"{name}=={version}\n" for name, version in fresh.items()))
    print(f"{LOCK.name}: {len(fresh)} packages written.")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--refresh", action="store_true", help="rewrite constraints.txt from a fresh resolution")
    group.add_argument("--check", action="store_true", help="fail if the lock and a fresh resolution disagree")
    args = parser.parse_args()
    sys.exit(refresh() if args.refresh else check())

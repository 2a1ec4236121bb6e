"""Run book/cluster.md's SLURM pipeline under a real single-node SLURM and check it against one unsharded run.

As root on Debian (or Ubuntu), with the project's environment active:

    python .ci/slurm_check.py                  # minutes; book/cluster.md shows the last run's times
    python .ci/slurm_check.py --render-only    # rewrite the record on book/cluster.md from the JSON

What it does, in a temporary folder it removes at the end:

1. installs Debian's ``slurm-wlm`` and ``munge`` if they are missing, and starts
   a private ``munged``, ``slurmctld`` and ``slurmd`` (controller and node on
   this machine, every CPU; no cgroup plugins, which fail in containers), with
   their own key, socket, ports and ``slurm.conf``;
2. writes the files of the page's SLURM pipeline from its code blocks, named by
   their captions (``cluster/settings.sh (smoke size, one machine)`` replacing
   the paper's settings), and runs ``bash cluster/smoke.sh`` as the page says:
   synthetic data, the starting weights, then ``cluster/submit.sh`` (the
   stage-1 array, the grid array with ``--shard auto``, and the report with
   ``--dependency=afterok``);
3. once stage 1 has ended, trains the same grid once without shards (the
   ``mstl grid`` line of ``cluster/grid.sbatch`` without ``--shard auto``,
   into another folder) while the shards run;
4. waits for the report job (``--timeout``), then checks that every job ended
   well and that every fold's metrics, labels and scores in the shards' folder
   equal those of the unsharded run, fold for fold;
5. records the job ids, states, times, the shards' last log lines and the
   verdict in ``benchmarks/results/slurm.json`` and on ``book/cluster.md``,
   and stops the daemons it started.

Exit status 0: equal; 1: the check ran and found a difference or a failed
job (recorded); 2: it could not run (SLURM missing or not starting, the page's
files not found, a step that failed before the pipeline), with one message
saying why. Nothing waits without a time limit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from mstl_lib.run_files import RESULTS_DIR, grid_result_files

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "book" / "cluster.md"
RECORD = ROOT / "benchmarks" / "results" / "slurm.json"
VARIANT = "smoke size, one machine"
"""The label of the page's code blocks that replace the paper-sized file of the same name."""
ENTRY = "cluster/smoke.sh"
GRID_SCRIPT = "cluster/grid.sbatch"
RECORD_START = "<!-- slurm-run:start"
RECORD_END = "<!-- slurm-run:end -->"
COMPARED = ("metrics", "y_true", "y_score")
"""What must be equal in every fold's result file."""
PACKAGES = ("slurm-wlm", "munge")
PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo")
COMMAND = "python .ci/slurm_check.py"


class CheckError(Exception):
    """The check could not run; the message says why and what to do."""


# --------------------------------------------------------------------------- the page's files

CODE_BLOCK = re.compile(r"^```\{code-block\}[^\n]*\n((?::[\w-]+:[^\n]*\n)*)(.*?)^```[ \t]*$", re.S | re.M)


def page_files(text: str, variant: str = VARIANT) -> dict[str, str]:
    """The files that the page's code blocks spell out, by the path in their caption.

    A block captioned ``PATH`` is that file; one captioned ``PATH (VARIANT)``
    replaces it for ``variant``; blocks with another label or no caption are
    left out.
    """
    plain, chosen = {}, {}
    for match in CODE_BLOCK.finditer(text):
        options = dict(re.findall(r"^:([\w-]+):[ \t]*(.*)$", match.group(1), re.M))
        caption = re.fullmatch(r"(\S+)(?:\s+\((.+)\))?", options.get("caption", "").strip())
        if caption is None:
            continue
        path, label = caption.groups()
        files = plain if label is None else chosen if label == variant else None
        if files is None:
            continue
        if path in files:
            raise CheckError(
                f"book/cluster.md has two code blocks captioned {path!r}" + (f" ({label})" if label else "")
            )
        files[path] = match.group(2)
    files = {**plain, **chosen}
    for needed in (ENTRY, GRID_SCRIPT):
        if needed not in files:
            raise CheckError(
                f"book/cluster.md has no code block captioned {needed!r}: the check runs the page's files. "
                "Fix: give the block its caption (```{code-block} bash, then :caption: PATH)."
            )
    return files


def grid_command(script: str) -> str:
    """The ``mstl grid`` command of a job script, its continuation lines joined."""
    for line in script.replace("\\\n", " ").splitlines():
        if line.strip().startswith("mstl grid "):
            return " ".join(line.split())
    raise CheckError(f"{GRID_SCRIPT} on book/cluster.md runs no `mstl grid` command")


def unsharded_command(command: str) -> tuple[str, str]:
    """The same grid without ``--shard auto``, into ``"$REFERENCE_OUT"``; and the sharded run's ``--out`` as written."""
    out = re.search(r"--out (\S+)", command)
    if " --shard auto" not in command or out is None:
        raise CheckError(f"the grid command of {GRID_SCRIPT} has no `--shard auto` or no `--out`: {command}")
    return command.replace(" --shard auto", "").replace(out.group(0), '--out "$REFERENCE_OUT"'), out.group(1)


def submitted_jobs(output: str) -> dict[str, str]:
    """The job ids that ``cluster/submit.sh`` prints (``stage1=ID grid=ID report=ID``)."""
    jobs = dict(re.findall(r"\b(stage1|grid|report)=(\d+)\b", output))
    if sorted(jobs) != ["grid", "report", "stage1"]:
        raise CheckError(f"cluster/submit.sh did not print `stage1=ID grid=ID report=ID`; it printed: {output[-500:]}")
    return jobs


# --------------------------------------------------------------------------- comparing the results


def result_files(grid_dir: Path) -> dict[str, dict]:
    """Every fold's result of a grid folder, by its path under ``results/``."""
    return {
        p.relative_to(grid_dir / RESULTS_DIR).as_posix(): json.loads(p.read_text()) for p in grid_result_files(grid_dir)
    }


def compare_grids(sharded: Path, reference: Path) -> list[str]:
    """What differs between two grid folders' results; empty when every fold is equal.

    Each problem names the fold (``<arm>-<cnn>-<optimizer>/fold<k>.json``) and
    the field (:data:`COMPARED`) that differs.
    """
    mine, theirs = result_files(Path(sharded)), result_files(Path(reference))
    problems = []
    if not theirs:
        problems.append(f"the unsharded run wrote no results under {reference}/results")
    if len(mine) != len(theirs):
        problems.append(f"{len(mine)} folds from the shards, {len(theirs)} from the unsharded run")
    for name in sorted(set(mine) | set(theirs)):
        if name not in mine or name not in theirs:
            problems.append(f"{name}: only in the {'unsharded run' if name in theirs else 'shards'}")
            continue
        problems += [f"{name}: {key} differ" for key in COMPARED if mine[name].get(key) != theirs[name].get(key)]
    return problems


# --------------------------------------------------------------------------- SLURM


def parse_jobcomp(text: str) -> list[dict]:
    """The records of SLURM's ``jobcomp/filetxt`` log, one ``Key=Value ...`` line per finished job."""
    records = []
    for line in text.splitlines():
        fields = dict(part.partition("=")[::2] for part in line.split() if "=" in part)
        if "JobId" in fields:
            records.append(fields)
    return records


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_installed() -> None:
    """Install ``slurm-wlm`` and ``munge`` with apt-get where they are missing (needs root)."""
    if os.geteuid() != 0:
        raise CheckError("the SLURM check starts slurmd, which runs as root. Fix: run it as root (CI does).")
    if all(shutil.which(p) for p in PROGRAMS):
        return
    if not shutil.which("apt-get"):
        raise CheckError(f"SLURM is not installed and there is no apt-get. Fix: install {' and '.join(PACKAGES)}.")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *PACKAGES]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise CheckError(f"`{' '.join(command)}` failed: {(done.stdout + done.stderr).strip()[-800:]}")
    missing = [p for p in PROGRAMS if not shutil.which(p)]
    if missing:
        raise CheckError(f"after installing {' '.join(PACKAGES)}, still missing: {', '.join(missing)}")


SLURM_CONF = """\
ClusterName=mstlcheck
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={state}/munge/munge.sock
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={state}/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
DependencyParameters=kill_invalid_depend
MpiDefault=none
ReturnToService=2
StateSaveLocation={state}/ctld
SlurmdSpoolDir={state}/spool
SlurmctldPidFile={state}/slurmctld.pid
SlurmdPidFile={state}/slurmd.pid
SlurmctldLogFile={state}/slurmctld.log
SlurmdLogFile={state}/slurmd.log
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN
PartitionName=check Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


class SingleNodeSlurm:
    """munged, slurmctld and slurmd of this machine, private to one folder, started and stopped here.

    Proctrack ``linuxproc`` and task plugin ``none``: no cgroups, which
    containers seldom allow; accounting off, finished jobs logged by
    ``jobcomp/filetxt``; a job whose dependency failed is cancelled
    (``kill_invalid_depend``) instead of waiting forever.
    """

    def __init__(self, folder: Path, cpus: int):
        self.state = folder
        self.host = socket.gethostname().split(".")[0]
        self.cpus = cpus
        self.processes: dict[str, subprocess.Popen] = {}
        self.env = {**os.environ, "SLURM_CONF": str(folder / "slurm.conf")}

    def start(self, timeout: float = 60) -> None:
        (self.state / "munge").mkdir(parents=True, mode=0o755)
        for sub in ("ctld", "spool"):
            (self.state / sub).mkdir()
        key = self.state / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        sock = self.state / "munge" / "munge.sock"
        self._spawn("munged", "munged", "-F", "--force", f"--key-file={key}", f"--socket={sock}",
                    f"--pid-file={self.state}/munged.pid", f"--log-file={self.state}/munged.log",
                    f"--seed-file={self.state}/munged.seed")  # fmt: skip
        self._wait(lambda: sock.exists(), timeout, "munged to open its socket")
        (self.state / "slurm.conf").write_text(
            SLURM_CONF.format(
                host=self.host, cpus=self.cpus, state=self.state, ctld_port=_free_port(), slurmd_port=_free_port()
            )  # fmt: skip
        )
        self._spawn("slurmctld", "slurmctld", "-D", "-i")
        self._spawn("slurmd", "slurmd", "-D", "-N", self.host)
        self._wait(lambda: self.node_state() == "idle", timeout, "the node to be idle in sinfo")

    def node_state(self) -> str:
        done = self.run(["sinfo", "-h", "-o", "%T", "-n", self.host], check=False, timeout=10)
        return done.stdout.strip() if done.returncode == 0 else ""

    def run(self, command, *, check=True, timeout=30, **kwargs) -> subprocess.CompletedProcess:
        done = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=timeout, **kwargs)
        if check and done.returncode != 0:
            raise CheckError(f"`{' '.join(command)}` failed: {(done.stdout + done.stderr).strip()[-800:]}")
        return done

    def _spawn(self, name: str, *command: str) -> None:
        log = open(self.state / f"{name}.out", "w")  # noqa: SIM115 (closed with the process)
        self.processes[name] = subprocess.Popen(
            command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise CheckError(f"{name} stopped (exit status {process.returncode}) while waiting for {what}.\n"
                                     + self.logs())  # fmt: skip
            if ready():
                return
            time.sleep(0.5)
        raise CheckError(f"SLURM did not start: no sign of {what} after {timeout:.0f} s.\n" + self.logs())

    def logs(self, lines: int = 8) -> str:
        parts = []
        for path in sorted(self.state.glob("*.log")) + sorted(self.state.glob("*.out")):
            tail = path.read_text(errors="replace").strip().splitlines()[-lines:]
            if tail:
                parts.append(f"--- {path.name}\n" + "\n".join(tail))
        return "\n".join(parts)

    def stop(self, timeout: float = 20) -> None:
        """Cancel the jobs still queued, then stop the daemons started here (SIGTERM, SIGKILL after ``timeout``)."""
        controller = self.processes.get("slurmctld")
        if controller is not None and controller.poll() is None:
            try:
                self.run(["scancel", "--partition=check"], check=False, timeout=10)
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline and self.run(["squeue", "-h"], check=False, timeout=10).stdout:
                    time.sleep(0.5)
            except subprocess.TimeoutExpired:
                pass  # a controller that does not answer: stopped below all the same
        for name in ("slurmd", "slurmctld", "munged"):
            process = self.processes.pop(name, None)
            if process is None or process.poll() is not None:
                continue
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    def version(self) -> str:
        return self.run(["sbatch", "--version"]).stdout.strip()

    def jobcomp(self) -> list[dict]:
        path = self.state / "jobcomp.txt"
        return parse_jobcomp(path.read_text()) if path.is_file() else []

    def queued(self) -> list[str]:
        return self.run(["squeue", "-h", "-o", "%i %T %r"]).stdout.strip().splitlines()


# --------------------------------------------------------------------------- the run


def bash(work: Path, script: str, env: dict, *, log: Path, args=()) -> subprocess.Popen:
    """Start ``script`` in bash in ``work``, its output into ``log``."""
    with open(log, "w") as out:
        return subprocess.Popen(
            ["bash", "-c", script, "bash", *args],
            cwd=work,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: stop_group() ends mstl and its training children too
        )


def stop_group(process: subprocess.Popen | None) -> None:
    """End a process started by :func:`bash` and everything it started (SIGTERM, then SIGKILL)."""
    if process is None or process.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
            process.wait(10)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def finish(process: subprocess.Popen, log: Path, what: str, timeout: float) -> str:
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        stop_group(process)
        raise CheckError(f"{what} did not finish in {timeout:.0f} s. Its log: {log}") from None
    text = log.read_text(errors="replace")
    if process.returncode != 0:
        raise CheckError(f"{what} failed (exit status {process.returncode}):\n" + "\n".join(text.splitlines()[-15:]))
    return text


def settings(work: Path, env: dict) -> dict:
    """The smoke settings as the jobs see them, and the sharded run's output folder."""
    done = subprocess.run(
        ["bash", "-c", 'source cluster/settings.sh; printf "%s\\n" "$PROFILE" "${BACKBONES[*]}" "${OPTIMIZERS[*]}" '
         '"$SHARDS" "${GRID_OPTIONS[*]}"'],  # fmt: skip
        cwd=work, env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    if done.returncode != 0:
        raise CheckError(f"cluster/settings.sh failed: {done.stderr.strip()}")
    profile, backbones, optimizers, shards, options = done.stdout.split("\n")[:5]
    return {
        "profile": profile,
        "backbones": backbones.split(),
        "optimizers": optimizers.split(),
        "shards": int(shards),
        "grid_options": options.split(),
    }


def evaluate(work: Path, env: dict, expression: str) -> Path:
    done = subprocess.run(
        ["bash", "-c", f'source cluster/settings.sh; printf "%s" {expression}'],
        cwd=work, env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    return Path(done.stdout)


def task_records(jobcomp: list[dict], jobs: dict[str, str]) -> list[dict]:
    """One row per finished job or array task of the pipeline, in the pipeline's order."""
    role = {job_id: name for name, job_id in jobs.items()}
    rows = []
    for r in jobcomp:
        name = role.get(r.get("ArrayJobId") or r["JobId"]) or role.get(r["JobId"])
        if name is None:
            continue
        start, end = (datetime.fromisoformat(r[k]) for k in ("StartTime", "EndTime"))
        rows.append(
            {
                "job": name,
                "job_id": r.get("ArrayJobId") or r["JobId"],
                "array_task": r.get("ArrayTaskId") or None,
                "state": r["JobState"],
                "exit_code": r.get("ExitCode"),
                "start": r["StartTime"],
                "end": r["EndTime"],
                "elapsed_s": (end - start).total_seconds(),
            }
        )
    order = ["stage1", "grid", "report"]
    return sorted(rows, key=lambda row: (order.index(row["job"]), int(row["array_task"] or 0)))


def log_path(work: Path, row: dict) -> Path:
    if row["job"] == "report":
        return work / "logs" / f"report-{row['job_id']}.out"
    return work / "logs" / f"{row['job']}-{row['job_id']}_{row['array_task']}.out"


def last_line(path: Path, work: Path) -> str:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()] if path.is_file() else []
    return lines[-1].replace(str(work), ".") if lines else "(empty log)"


def wait_for_pipeline(cluster, jobs, stage1_tasks, shards, start_reference, timeout: float):
    """Wait until no job is queued; start the unsharded run as soon as every stage-1 task has completed."""
    deadline, reference = time.monotonic() + timeout, None
    while True:
        done = [r for r in cluster.jobcomp() if r.get("ArrayJobId") == jobs["stage1"]]
        if reference is None and len(done) == stage1_tasks and all(r["JobState"] == "COMPLETED" for r in done):
            reference = start_reference()
        if not cluster.queued():
            expected = stage1_tasks + shards + 1
            settle = time.monotonic() + 10  # the last job's record follows its leaving the queue
            while len(task_records(cluster.jobcomp(), jobs)) < expected and time.monotonic() < settle:
                time.sleep(0.5)
            return reference
        if time.monotonic() > deadline:
            cluster.run(["scancel", *jobs.values()], check=False)
            raise CheckError(f"the pipeline did not end in {timeout:.0f} s; still queued: {cluster.queued()}")
        time.sleep(2)


def run_check(work: Path, timeout: float) -> dict:
    """Everything from starting SLURM to the verdict; returns the record."""
    started = time.monotonic()
    if sys.prefix == sys.base_prefix:
        raise CheckError("run it from the project's virtual environment (`. .venv/bin/activate`): the jobs use it.")
    files = page_files(PAGE.read_text())
    for path, content in files.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(content)
    cluster = SingleNodeSlurm(work / "slurm", cpus=os.cpu_count() or 1)
    times, running = {}, []
    try:
        cluster.start()
        times["start_slurm_s"] = round(time.monotonic() - started, 1)
        env = {**cluster.env, "VIRTUAL_ENV": sys.prefix, "PATH": f"{Path(sys.prefix) / 'bin'}:{os.environ['PATH']}"}
        return pipeline(cluster, work, files, env, times, started, timeout, running)
    finally:
        for process in running:  # on an error or an interruption: the unsharded run too
            stop_group(process)
        cluster.stop()


def pipeline(cluster, work, files, env, times, started, timeout, running: list) -> dict:
    """From ``bash cluster/smoke.sh`` to the verdict; the processes it starts go into ``running``."""
    marks = time.monotonic()
    submit_log = work / "smoke.log"
    running.append(bash(work, f"bash {ENTRY}", env, log=submit_log))
    output = finish(running[-1], submit_log, ENTRY, timeout)
    jobs = submitted_jobs(output)
    times["data_weights_submit_s"] = round(time.monotonic() - marks, 1)
    config = settings(work, env)
    reference_script, out_expression = unsharded_command(grid_command(files[GRID_SCRIPT]))
    reference_dir, reference_log = work / "unsharded", work / "unsharded.log"
    script = 'set -euo pipefail; source cluster/settings.sh; source "$VENV/bin/activate"; ' + reference_script
    env = {**env, "REFERENCE_OUT": str(reference_dir)}
    clock = {}

    def start_reference():
        clock["reference"] = time.monotonic()
        running.append(bash(work, script, env, log=reference_log))
        return running[-1]

    submitted = time.monotonic()
    n_stage1 = len(config["backbones"]) * len(config["optimizers"])
    reference = wait_for_pipeline(
        cluster, jobs, n_stage1, config["shards"], start_reference, timeout - (submitted - started)
    )
    times["pipeline_s"] = round(time.monotonic() - submitted, 1)
    rows = task_records(cluster.jobcomp(), jobs)
    failed = [r for r in rows if r["state"] != "COMPLETED"]
    problems = [f"{r['job']} job {r['job_id']} task {r['array_task']}: {r['state']}; log: "
                f"{last_line(log_path(work, r), work)}" for r in failed]  # fmt: skip
    if len(rows) != n_stage1 + config["shards"] + 1:
        problems.append(f"{len(rows)} jobs ended, {n_stage1 + config['shards'] + 1} expected")
    if reference is None:
        problems.append("stage 1 did not complete, so the unsharded run never started")
    else:
        try:
            finish(reference, reference_log, "the unsharded grid", max(60, timeout - (time.monotonic() - started)))
            times["unsharded_s"] = round(time.monotonic() - clock["reference"], 1)
        except CheckError as error:
            problems.append(str(error).replace(str(work), "."))
    sharded = evaluate(work, env, out_expression)
    problems += compare_grids(sharded, reference_dir) if not problems else []
    report_written = (sharded / "report.json").is_file() and (sharded / "report.txt").is_file()
    if not report_written:
        problems.append("the report job wrote no report.txt and report.json")
    times["total_s"] = round(time.monotonic() - started, 1)
    return {
        "jobs": jobs,
        "tasks": rows,
        "settings": config,
        "slurm": cluster.version(),
        "times_s": times,
        "folds": {"sharded": len(result_files(sharded)), "unsharded": len(result_files(reference_dir))},
        "report_written": report_written,
        "shard_log_lines": [last_line(log_path(work, r), work) for r in rows if r["job"] == "grid"],
        "problems": problems,
        "equal": not problems,
    }


# --------------------------------------------------------------------------- the record


def render(record: dict) -> str:
    """The record as the Markdown between the page's markers."""
    when = record["measured_at"][:16].replace("T", " ")
    verdict = "equal" if record["equal"] else "**not equal**"
    times, s = record["times_s"], record["settings"]
    lines = [
        f"The last run of `{COMMAND}` ({when} UTC, {record['slurm']}, {record['machine']['cpus']} CPUs, "
        f"commit {record['revision']}): profile `{s['profile']}`, {len(s['backbones']) * len(s['optimizers'])} "
        f"stage-1 tasks, {s['shards']} shards. The shards wrote {record['folds']['sharded']} fold results, one "
        f"unsharded run of the same grid {record['folds']['unsharded']}; every fold's metrics, labels and "
        f"scores are {verdict}. From submission to the report's end: {times['pipeline_s']:.0f} s; the unsharded "
        f"run, started when stage 1 ended and run beside the shards: {times.get('unsharded_s', 0):.0f} s; "
        f"the whole check, SLURM's start included: {times['total_s']:.0f} s{_load(record['machine'])}.",
        "",
        "| job | id | array task | state | start | seconds |",
        "|---|---|---|---|---|---|",
    ]
    for t in record["tasks"]:
        task = "" if t["array_task"] is None else t["array_task"]
        lines.append(
            f"| {t['job']} | {t['job_id']} | {task} | {t['state']} | {t['start'][11:]} | {t['elapsed_s']:.0f} |"
        )
    lines += ["", "The last line of each shard's log:", "", "```text", *record["shard_log_lines"], "```"]
    if record["problems"]:
        lines += ["", "What went wrong:", "", *[f"- {' '.join(p.split())}" for p in record["problems"]]]
    return "\n".join(lines)


def _load(machine: dict) -> str:
    """The load average during the run, which the times depend on (other work shares the CPUs)."""
    load = machine.get("load_average")
    if not load:
        return ""
    return f", with the machine's load average at {load[0]} when the check started and {load[-1]} when it ended"


def write_page(record: dict, page: Path = PAGE) -> None:
    text = page.read_text()
    start, end = text.find(RECORD_START), text.find(RECORD_END)
    if start < 0 or end < start:
        raise CheckError(f"{page} has no {RECORD_START} ... {RECORD_END} markers for the record")
    head = text[: text.index("\n", start) + 1]
    page.write_text(head + render(record) + "\n" + text[end:])


def machine() -> dict:
    """The CPUs, the system and the one-minute load average (at the start; the end's is added after the run)."""
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average": [round(os.getloadavg()[0], 1)],
    }


def revision() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=1500, help="seconds for the whole check (default 1500)")
    parser.add_argument("--out", type=Path, default=RECORD, help="the JSON record (default %(default)s)")
    parser.add_argument("--page", type=Path, default=PAGE, help="the page that shows the record")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    parser.add_argument("--render-only", action="store_true", help="rewrite the page from the JSON record")
    args = parser.parse_args(argv)
    if args.render_only:
        write_page(json.loads(args.out.read_text()), args.page)
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # through the finally blocks: daemons stopped
    work = Path(tempfile.mkdtemp(prefix="mstl-slurm-"))
    work.chmod(0o755)
    try:
        ensure_installed()
        record = {"schema": 1, "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  "command": COMMAND, "machine": machine(), "revision": revision()}  # fmt: skip
        record.update(run_check(work, args.timeout))
        record["machine"]["load_average"] = [record["machine"]["load_average"][0], round(os.getloadavg()[0], 1)]
    except (CheckError, subprocess.TimeoutExpired) as error:
        print(f"slurm check: could not run: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("slurm check: interrupted; its jobs were cancelled and its daemons stopped", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            print(f"slurm check: work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    write_page(record, args.page)
    print(render(record))
    print(f"slurm check: {'PASSED' if record['equal'] else 'FAILED'}; record in {args.out} and {args.page}")
    return 0 if record["equal"] else 1


if __name__ == "__main__":
    sys.exit(main())

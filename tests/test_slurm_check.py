"""The parts of the SLURM check (.ci/slurm_check.py) that need no SLURM: the page's files, the comparison, the record.

The check itself (a real single-node SLURM running book/cluster.md's pipeline)
runs in CI; here the page's scripts run against a stand-in ``sbatch`` and
``mstl`` that record what they were given.
"""

import importlib.util
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("slurm_check", ROOT / ".ci" / "slurm_check.py")
slurm_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(slurm_check)
CheckError = slurm_check.CheckError

PAGE_TEXT = (ROOT / "book" / "cluster.md").read_text()
PIPELINE = {
    "cluster/settings.sh",
    "cluster/weights.sh",
    "cluster/stage1.sbatch",
    "cluster/grid.sbatch",
    "cluster/report.sbatch",
    "cluster/submit.sh",
}


# --------------------------------------------------------------------------- the page's files


def test_the_page_spells_out_every_file_of_the_pipeline_and_the_smoke_settings():
    smoke = slurm_check.page_files(PAGE_TEXT)
    assert set(smoke) == PIPELINE | {"cluster/smoke.sh"}
    assert "PROFILE=smoke" in smoke["cluster/settings.sh"]  # the smoke variant replaces the paper's settings
    assert "bash cluster/submit.sh" in smoke["cluster/smoke.sh"]
    assert "--dependency=afterok:$stage1" in smoke["cluster/submit.sh"]
    assert "--dependency=afterok:$grid" in smoke["cluster/submit.sh"]
    paper = slurm_check.page_files(PAGE_TEXT, variant="another machine")
    assert "PROFILE=paper" in paper["cluster/settings.sh"]


def test_every_file_of_the_page_is_valid_bash():
    for path, content in slurm_check.page_files(PAGE_TEXT).items():
        done = subprocess.run(["bash", "-n"], input=content, capture_output=True, text=True)
        assert done.returncode == 0, (path, done.stderr)


BLOCK = "```{{code-block}} bash\n:caption: {caption}\n{body}\n```\n"


def _page(*blocks):
    return "# A page\n\n" + "\n".join(BLOCK.format(caption=c, body=b) for c, b in blocks)


def test_a_variant_block_replaces_the_plain_one_and_other_blocks_are_left_out():
    text = (
        _page(
            ("cluster/smoke.sh", "echo smoke"),
            ("cluster/grid.sbatch", "mstl grid us --out o --shard auto"),
            ("cluster/settings.sh", "PROFILE=paper"),
            ("cluster/settings.sh (smoke size, one machine)", "PROFILE=smoke"),
            ("cluster/settings.sh (a laptop)", "PROFILE=lab"),
        )
        + "```bash\nno caption\n```\n"
    )
    files = slurm_check.page_files(text)
    assert files["cluster/settings.sh"] == "PROFILE=smoke\n"
    assert set(files) == {"cluster/smoke.sh", "cluster/grid.sbatch", "cluster/settings.sh"}


def test_a_missing_or_doubled_block_is_named():
    with pytest.raises(CheckError, match="cluster/smoke.sh"):
        slurm_check.page_files(_page(("cluster/grid.sbatch", "mstl grid")))
    doubled = _page(("cluster/smoke.sh", "a"), ("cluster/smoke.sh", "b"), ("cluster/grid.sbatch", "mstl grid"))
    with pytest.raises(CheckError, match=r"two .*'cluster/smoke\.sh'"):
        slurm_check.page_files(doubled)


def test_the_unsharded_run_is_the_page_grid_command_without_shards():
    script = slurm_check.page_files(PAGE_TEXT)["cluster/grid.sbatch"]
    command = slurm_check.grid_command(script)
    assert command.startswith("mstl grid ") and "\\" not in command and "--shard auto" in command
    unsharded, out = slurm_check.unsharded_command(command)
    assert out == '"$RUNS/grid"'
    assert "--shard" not in unsharded and '--out "$REFERENCE_OUT"' in unsharded and out not in unsharded
    # nothing else changed: put the two back and the page's command returns
    assert unsharded.replace('--out "$REFERENCE_OUT"', f"--out {out} --shard auto") == command
    with pytest.raises(CheckError, match="--shard auto"):
        slurm_check.unsharded_command("mstl grid us --out o")
    with pytest.raises(CheckError, match="no `mstl grid`"):
        slurm_check.grid_command("mstl report o")


def test_submitted_job_ids_are_read_from_submit_output():
    assert slurm_check.submitted_jobs("stage1=11 grid=12 report=13\n") == {"stage1": "11", "grid": "12", "report": "13"}
    with pytest.raises(CheckError, match="did not print"):
        slurm_check.submitted_jobs("Submitted batch job 11\n")


# --------------------------------------------------------------------------- the page's scripts, run


FAKE = """#!/bin/bash
echo "$(basename "$0") $*" >> "$CALLS"
if [ "$(basename "$0")" = sbatch ]; then n=$(($(wc -l < "$CALLS") + 100)); echo "$n"; fi
"""


@pytest.fixture
def cluster_folder(tmp_path):
    """The page's files (smoke variant) in a folder, with stand-ins for sbatch and mstl and an environment."""
    for path, content in slurm_check.page_files(PAGE_TEXT).items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(content)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("sbatch", "mstl"):
        (bin_dir / name).write_text(FAKE)
        (bin_dir / name).chmod(stat.S_IRWXU)
    (bin_dir / "activate").write_text("")
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "VIRTUAL_ENV": str(tmp_path),
        "CALLS": str(tmp_path / "calls.txt"),
        "HOME": str(tmp_path),
    }
    return tmp_path, env


def _run(folder, env, *command, **extra):
    done = subprocess.run(command, cwd=folder, env={**env, **extra}, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout, (folder / "calls.txt").read_text().splitlines()


def test_submit_chains_a_stage1_array_per_optimizer_the_grid_array_and_the_report(cluster_folder):
    folder, env = cluster_folder
    out, calls = _run(folder, env, "bash", "cluster/submit.sh")
    assert slurm_check.submitted_jobs(out) == {"stage1": "101", "grid": "102", "report": "103"}
    assert calls == [
        "sbatch --parsable --array=0-1 --cpus-per-task=1 --time=00:30:00 cluster/stage1.sbatch",
        "sbatch --parsable --array=0-1 --cpus-per-task=1 --time=00:30:00 --dependency=afterok:101 cluster/grid.sbatch",
        "sbatch --parsable --dependency=afterok:102 cluster/report.sbatch",
    ]


def test_each_stage1_task_takes_its_own_backbone_and_optimizer(cluster_folder):
    folder, env = cluster_folder
    _run(folder, env, "bash", "cluster/stage1.sbatch", SLURM_ARRAY_TASK_ID="0")
    _, calls = _run(folder, env, "bash", "cluster/stage1.sbatch", SLURM_ARRAY_TASK_ID="1")
    shared = f"{folder}/shared"
    assert calls == [
        f"mstl pretrain {shared}/data/patches --backbone resnet10 --optimizer {o} --profile smoke "
        f"--out {shared}/runs/stage1 -q"
        for o in ("adam", "sgd")
    ]


def test_the_grid_job_runs_the_shards_with_the_grid_options(cluster_folder):
    folder, env = cluster_folder
    _, calls = _run(folder, env, "bash", "cluster/grid.sbatch")
    shared = f"{folder}/shared"
    assert calls == [
        f"mstl grid {shared}/data/synth/ultrasound --kind busi --profile smoke --backbones resnet10 --optimizers adam "
        f"sgd --stage1 {shared}/runs/stage1 --out {shared}/runs/grid --shard auto -q --deterministic"
    ]


def test_the_paper_settings_give_nine_stage1_tasks_and_fifteen_shards_on_gpus(cluster_folder):
    folder, env = cluster_folder
    paper = slurm_check.page_files(PAGE_TEXT, variant="none")["cluster/settings.sh"]
    (folder / "cluster" / "settings.sh").write_text(paper)
    _, calls = _run(folder, env, "bash", "cluster/submit.sh")
    assert calls[0] == (
        "sbatch --parsable --array=0-8 --gres=gpu:1 --cpus-per-task=8 --time=08:00:00 cluster/stage1.sbatch"
    )
    assert calls[1].startswith("sbatch --parsable --array=0-14 --gres=gpu:1")


# --------------------------------------------------------------------------- comparing two grids


def _grid(folder, results):
    for name, result in results.items():
        path = folder / "results" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result))
    return folder


def _fold(score):
    return {"metrics": {"auc": 0.75, "f1": 0.5}, "y_true": [0, 1, 1], "y_score": [0.2, score, 0.9], "history": {}}


def test_equal_grids_pass(tmp_path):
    results = {"ctl-resnet10-adam/fold0.json": _fold(0.6), "baseline-hog/fold0.json": _fold(0.4)}
    assert slurm_check.compare_grids(_grid(tmp_path / "a", results), _grid(tmp_path / "b", results)) == []


def test_one_changed_score_fails_naming_the_fold(tmp_path):
    a = _grid(tmp_path / "a", {"ctl-resnet10-adam/fold0.json": _fold(0.6), "ctl-resnet10-adam/fold1.json": _fold(0.5)})
    b = _grid(tmp_path / "b", {"ctl-resnet10-adam/fold0.json": _fold(0.6), "ctl-resnet10-adam/fold1.json": _fold(0.51)})
    assert slurm_check.compare_grids(a, b) == ["ctl-resnet10-adam/fold1.json: y_score differ"]


def test_a_missing_fold_or_an_empty_reference_fails(tmp_path):
    a = _grid(tmp_path / "a", {"mstl-resnet10-sgd/fold0.json": _fold(0.6), "mstl-resnet10-sgd/fold1.json": _fold(0.6)})
    b = _grid(tmp_path / "b", {"mstl-resnet10-sgd/fold0.json": _fold(0.6)})
    assert slurm_check.compare_grids(a, b) == [
        "2 folds from the shards, 1 from the unsharded run",
        "mstl-resnet10-sgd/fold1.json: only in the shards",
    ]
    problems = slurm_check.compare_grids(a, _grid(tmp_path / "empty", {}))
    assert problems[0].startswith("the unsharded run wrote no results")


# --------------------------------------------------------------------------- SLURM's records and the page's record

JOBCOMP = """\
JobId=7 UserId=root(0) GroupId=root(0) Name=mstl-grid JobState=COMPLETED Partition=check TimeLimit=30 \
StartTime=2026-12-02T10:37:01 EndTime=2026-12-02T10:45:25 NodeList=vm ArrayJobId=5 ArrayTaskId=1 ExitCode=0:0
JobId=5 UserId=root(0) GroupId=root(0) Name=mstl-grid JobState=FAILED Partition=check TimeLimit=30 \
StartTime=2026-12-02T10:37:01 EndTime=2026-12-02T10:37:31 NodeList=vm ArrayJobId=5 ArrayTaskId=0 ExitCode=1:0
JobId=8 UserId=root(0) GroupId=root(0) Name=mstl-report JobState=CANCELLED Partition=check TimeLimit=20 \
StartTime=2026-12-02T10:45:25 EndTime=2026-12-02T10:45:25 NodeList=(null) ExitCode=0:0
JobId=9 UserId=root(0) GroupId=root(0) Name=other JobState=COMPLETED StartTime=2026-12-02T10:45:25 \
EndTime=2026-12-02T10:45:26
"""


def test_finished_jobs_are_read_from_the_jobcomp_log_in_pipeline_order():
    records = slurm_check.parse_jobcomp(JOBCOMP + "not a record\n")
    assert [r["JobId"] for r in records] == ["7", "5", "8", "9"]
    rows = slurm_check.task_records(records, {"stage1": "4", "grid": "5", "report": "8"})
    assert [(r["job"], r["job_id"], r["array_task"], r["state"]) for r in rows] == [
        ("grid", "5", "0", "FAILED"),
        ("grid", "5", "1", "COMPLETED"),
        ("report", "8", None, "CANCELLED"),
    ]
    assert rows[1]["elapsed_s"] == 504.0


def _record(problems=()):
    return {
        "measured_at": "2026-12-02T10:36:00+00:00",
        "slurm": "slurm-wlm 22.05.8",
        "machine": {"cpus": 2},
        "revision": "abc1234",
        "settings": {"profile": "smoke", "backbones": ["resnet10"], "optimizers": ["adam", "sgd"], "shards": 2},
        "jobs": {"stage1": "1", "grid": "2", "report": "3"},
        "tasks": slurm_check.task_records(
            slurm_check.parse_jobcomp(JOBCOMP), {"stage1": "1", "grid": "5", "report": "8"}
        ),
        "times_s": {"pipeline_s": 620.4, "unsharded_s": 700.0, "total_s": 790.0},
        "folds": {"sharded": 14, "unsharded": 14},
        "shard_log_lines": ["shard 1/2: 7 of 14 units trained; run `mstl report ./shared/runs/grid` when all ..."],
        "problems": list(problems),
        "equal": not problems,
    }


def test_the_record_on_the_page_is_rewritten_between_its_markers_only(tmp_path):
    page = tmp_path / "cluster.md"
    page.write_text(f"# Clusters\n\nbefore\n\n{slurm_check.RECORD_START} (written) -->\nold record\n"
                    f"{slurm_check.RECORD_END}\n\nafter\n")  # fmt: skip
    slurm_check.write_page(_record(), page)
    text = page.read_text()
    assert text.startswith("# Clusters\n\nbefore\n") and text.endswith(f"{slurm_check.RECORD_END}\n\nafter\n")
    assert "old record" not in text and "are equal" in text and "| grid | 5 | 1 | COMPLETED | 10:37:01 | 504 |" in text
    slurm_check.write_page(_record(["ctl-resnet10-adam/fold1.json: y_score differ"]), page)
    text = page.read_text()
    assert "**not equal**" in text and "- ctl-resnet10-adam/fold1.json: y_score differ" in text
    assert text.count(slurm_check.RECORD_START) == 1 and "504" in text
    page.write_text("# No markers\n")
    with pytest.raises(CheckError, match="markers"):
        slurm_check.write_page(_record(), page)


def test_the_committed_record_is_what_the_page_shows():
    record = json.loads(slurm_check.RECORD.read_text())
    assert record["equal"] is True and record["folds"]["sharded"] == record["folds"]["unsharded"] > 0
    assert slurm_check.render(record) in PAGE_TEXT


# --------------------------------------------------------------------------- SLURM that does not start


def _stand_ins(folder, scripts):
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    for name, body in scripts.items():
        (bin_dir / name).write_text("#!/bin/bash\n" + body + "\n")
        (bin_dir / name).chmod(stat.S_IRWXU)
    return f"{bin_dir}:{os.environ['PATH']}"


def test_a_daemon_that_stops_at_once_is_reported_with_its_log(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", _stand_ins(tmp_path, {"munged": "echo 'munged: Error: Keyfile is insecure'; exit 1"}))
    cluster = slurm_check.SingleNodeSlurm(tmp_path / "slurm", cpus=2)
    with pytest.raises(CheckError, match=r"munged stopped \(exit status 1\)(.|\n)*Keyfile is insecure"):
        cluster.start(timeout=20)
    cluster.stop()


def test_a_node_that_never_becomes_idle_fails_in_time_and_the_daemons_are_stopped(tmp_path, monkeypatch):
    scripts = {
        "munged": 'for a; do case $a in --socket=*) touch "${a#--socket=}";; esac; done; exec sleep 300',
        "slurmctld": "exec sleep 300",
        "slurmd": "exec sleep 300",
        "sinfo": "echo down",
        "scancel": "exit 0",
        "squeue": "exit 0",
    }
    monkeypatch.setenv("PATH", _stand_ins(tmp_path, scripts))
    cluster = slurm_check.SingleNodeSlurm(tmp_path / "slurm", cpus=2)
    with pytest.raises(CheckError, match=r"(?s)SLURM did not start.*node to be idle"):
        cluster.start(timeout=2)
    assert "SlurmdPort=" in (tmp_path / "slurm" / "slurm.conf").read_text()
    processes = list(cluster.processes.values())
    assert len(processes) == 3 and all(p.poll() is None for p in processes)
    cluster.stop()
    assert all(p.poll() is not None for p in processes) and not cluster.processes


def test_render_only_rewrites_the_page_from_the_json(tmp_path):
    record, page = tmp_path / "slurm.json", tmp_path / "cluster.md"
    record.write_text(json.dumps(_record()))
    page.write_text(f"{slurm_check.RECORD_START} -->\n{slurm_check.RECORD_END}\n")
    assert slurm_check.main(["--render-only", "--out", str(record), "--page", str(page)]) == 0
    assert slurm_check.render(_record()) in page.read_text()

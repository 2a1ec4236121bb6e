"""Figure 7: the lab book, and whether the lab learns.

Runs ``mstl book --profile lab`` twice into fresh build folders: first with an
empty Keras weights cache (cold: the generic fractal stage is trained), then
with the cache that run filled (warm: the generic weights are loaded). Plain
Keras' ResNet50 training speed at 75 x 75, batch 16, is measured before and
after, because these machines differ from day to day by a factor of three:
the time limits (30 minutes cold, 20 minutes warm on a machine where plain
Keras trains 40 images/s) are scaled by that figure.

From the cold run's work folder it reads what the lab learned: stage 1's test
accuracy, each arm's mean test AUC over the folds with a bootstrap 95%
interval, the classical baseline's, and any collapsed fold. It then runs the
same lab recipe on the small real BUSI sample in ``../shared/data`` (when
present) with ``mstl grid ... --kind busi --stage1 <lab stage 1>``, as a check
that the path works on real images (41 images: too few for a target).

Set ``MSTL_BENCH_LAB_KEEP`` to a new folder to keep the cold run's build
(``_build/html``, the executed notebooks and the work folder) there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import QUIET_ENV, REPO_ROOT, book_run, check, fmt

REFERENCE_RATE = 40.0  # images/s of plain Keras ResNet50 on the machine the limits are stated for
COLD_LIMIT_MIN, WARM_LIMIT_MIN = 30.0, 20.0
PLAIN_KERAS = """
import os, time, statistics
import numpy as np, keras
rng = np.random.default_rng(0)
x = rng.integers(0, 255, (480, 75, 75, 3)).astype("float32"); y = rng.integers(0, 2, 480)
base = keras.applications.ResNet50(include_top=False, weights=None, input_shape=(75, 75, 3), pooling="avg")
model = keras.Sequential([base, keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adagrad", loss="binary_crossentropy")
model.fit(x, y, batch_size=16, epochs=1, verbose=0)
rates = []
for _ in range(3):
    t = time.perf_counter(); model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    rates.append(480 / (time.perf_counter() - t))
print(statistics.median(rates))
"""


def plain_keras_rate(env) -> float:
    out = subprocess.run([sys.executable, "-c", PLAIN_KERAS], capture_output=True, text=True, env=env)
    return float(out.stdout.strip().splitlines()[-1])


def run_book(build_dir: Path, env) -> dict:
    run = book_run("lab", build_dir, env)
    log = run.pop("log")
    return {**run, "log_tail": "\n".join(log.splitlines()[-30:])}


def what_was_learned(work: Path) -> dict:
    """Stage-1 accuracies, per-arm AUC (mean ± SD over folds, pooled with bootstrap CI), collapsed folds."""
    from mstl_lib.evaluation.report import grid_statistics, table1
    from mstl_lib.evaluation.results import load_results
    from mstl_lib.run_files import STAGE1_SUMMARY

    stage1 = {
        p.parent.name: json.loads(p.read_text())["test_accuracy"] for p in (work / "stage1").glob(f"*/{STAGE1_SUMMARY}")
    }
    results = load_results(work / "grid")
    stats = grid_statistics(results)
    folds = table1(results, formatted=False).set_index(["tl", "backbone", "optimizer"])
    arms = {}
    for entry in stats["bootstrap"]:
        row = folds.loc[(entry["tl"], entry["backbone"], entry["optimizer"])]
        arms[f"{entry['tl']} {entry['backbone']} {entry['optimizer']}"] = {
            "tl": entry["tl"],
            "mean_auc": float(row["auc_mean"]),
            "sd_auc": float(row["auc_std"]),
            "pooled_auc": entry["auc"]["estimate"],
            "low": entry["auc"]["low"],
            "high": entry["auc"]["high"],
        }
    return {
        "stage1_test_accuracy": stage1,
        "arms": arms,
        "collapsed": stats["collapsed"],
        "tests": stats["corrected_tests"],
    }


def real_sample(stage1: Path, tmp: Path, env) -> dict | None:
    from mstl_lib.evaluation.report import table1
    from mstl_lib.evaluation.results import load_results

    sample = REPO_ROOT.parent / "shared" / "data" / "busi_sample"
    if not sample.is_dir():
        return None
    out_dir = tmp / "busi-grid"
    command = [
        sys.executable,
        "-m",
        "mstl_lib",
        "grid",
        str(sample),
        "--kind",
        "busi",
        "--stage1",
        str(stage1),
        "--out",
        str(out_dir),
        "--profile",
        "lab",
        "-q",
    ]
    done = subprocess.run(command, cwd=str(REPO_ROOT), capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return {"returncode": done.returncode, "log_tail": (done.stdout + done.stderr)[-2000:]}
    results = load_results(out_dir)
    folds = table1(results, formatted=False)
    return {
        "returncode": 0,
        "n_images": sum(len(r["y_true"]) for r in results if r["tl"] == "baseline"),
        "mean_auc": dict(zip(folds["tl"], map(float, folds["auc_mean"]))),
    }


def run(quick: bool = False) -> dict:
    title = "7. Lab book"
    if quick:
        return {
            "title": title,
            "status": "skipped",
            "what": "Not run with --quick: the lab book takes minutes.",
            "checks": [],
            "tables": [],
            "raw": {"skipped": "quick"},
        }
    with tempfile.TemporaryDirectory(prefix="mstl-bench-lab-") as folder:
        tmp = Path(folder)
        env = {**os.environ, **QUIET_ENV, "KERAS_HOME": str(tmp / "keras")}
        rate_before = plain_keras_rate(env)
        keep = os.environ.get("MSTL_BENCH_LAB_KEEP")  # a new folder that keeps the cold build (site, work folder)
        cold_build = Path(keep) / "_build" if keep else tmp / "cold" / "_build"
        cold = run_book(cold_build, env)
        warm = run_book(tmp / "warm" / "_build", env)
        rate_after = plain_keras_rate(env)
        work = cold_build / "work" / "lab"
        learned = what_was_learned(work) if cold["returncode"] == 0 else {}
        real = real_sample(work / "stage1", tmp, env) if cold["returncode"] == 0 else None
    rate = (rate_before + rate_after) / 2
    scale = REFERENCE_RATE / rate
    cold_limit, warm_limit = COLD_LIMIT_MIN * scale, WARM_LIMIT_MIN * scale
    arms = learned.get("arms", {})
    networks = {k: v for k, v in arms.items() if v["tl"] != "baseline"}
    best = max(networks.values(), key=lambda a: a["mean_auc"]) if networks else None
    baseline = next((a for a in arms.values() if a["tl"] == "baseline"), None)
    stage1 = min(learned.get("stage1_test_accuracy", {}).values(), default=None)
    checks = [
        check(
            "`mstl book --profile lab`, cold (generic stage trained)",
            f"≤ {cold_limit:.0f} min (30 × 40 / {rate:.0f})",
            round(cold["wall_s"] / 60, 1),
            "min",
            cold["returncode"] == 0 and cold["wall_s"] / 60 <= cold_limit,
        ),
        check(
            "`mstl book --profile lab`, generic weights cached",
            f"≤ {warm_limit:.0f} min (20 × 40 / {rate:.0f})",
            round(warm["wall_s"] / 60, 1),
            "min",
            warm["returncode"] == 0 and warm["wall_s"] / 60 <= warm_limit,
        ),
        check(
            "stage 1 test accuracy (lowest over stage-1 runs)",
            "≥ 0.90",
            stage1,
            "",
            stage1 is not None and stage1 >= 0.9,
        ),
        check(
            "best network arm, mean test AUC over folds",
            "≥ 0.85 and above the baseline",
            None if best is None else round(best["mean_auc"], 3),
            "",
            best is not None
            and best["mean_auc"] >= 0.85
            and (baseline is None or best["mean_auc"] > baseline["mean_auc"]),
        ),
        check(
            "folds where a network predicted one class for every test image",
            "0",
            len(learned.get("collapsed", [])) if learned else None,
            "",
            learned and not learned["collapsed"],
        ),
    ]
    rows = [
        [
            name,
            fmt(round(a["mean_auc"], 3)),
            fmt(round(a["sd_auc"], 3)),
            fmt(round(a["pooled_auc"], 3)),
            f"{a['low']:.3f} to {a['high']:.3f}",
        ]
        for name, a in arms.items()
    ]
    times = [[name, fmt(seconds)] for name, seconds in cold["per_notebook_s"]]
    warm_times = dict(warm["per_notebook_s"])
    for row in times:
        row.append(fmt(warm_times.get(row[0])))
    times.append(["total, book build included", fmt(round(cold["wall_s"])), fmt(round(warm["wall_s"]))])
    tables = [
        {
            "caption": "Test AUC of each arm over the five folds (synthetic lab data)",
            "columns": ["arm (CNN, optimizer)", "mean AUC", "SD over folds", "pooled AUC", "95% bootstrap CI"],
            "rows": rows,
        },
        {
            "caption": "Where the time went (seconds, as logged by `mstl book`)",
            "columns": ["lesson", "cold", "warm"],
            "rows": times,
        },
    ]
    if real and real.get("returncode") == 0:
        tables.append(
            {
                "caption": f"The lab recipe on the real BUSI sample ({real['n_images']} images, 5 folds)",
                "columns": ["arm", "mean test AUC"],
                "rows": [[tl, fmt(round(v, 3))] for tl, v in real["mean_auc"].items()],
            }
        )
    return {
        "title": title,
        "what": (
            "`mstl book --profile lab` into a fresh build folder, first with an empty Keras weights cache "
            "(cold), then with the generic weights that run cached (warm); plain Keras ResNet50 training "
            f"speed measured before and after (mean {rate:.1f} images/s), which scales the time limits. "
            "Then what the cold run learned, read from its work folder. These are recorded figures of that "
            "run, on the date and machine above; they are not the run the lessons of this site show (those print "
            "their own numbers), and training is not bit-reproducible, so two runs with the same seed differ."
        ),
        "checks": checks,
        "tables": tables,
        "raw": {
            "plain_keras_images_per_s": [rate_before, rate_after],
            "cold": cold,
            "warm": warm,
            "learned": learned,
            "real_sample": real,
        },
    }


def explain(result: dict) -> list[str]:
    raw = result.get("raw", {})
    if raw.get("skipped"):
        return ["Skipped in a --quick run."]
    notes = [
        f"Plain Keras ResNet50 at 75 x 75, batch 16: {raw['plain_keras_images_per_s'][0]:.1f} images/s before "
        f"and {raw['plain_keras_images_per_s'][1]:.1f} after the two runs."
    ]
    for entry in raw.get("learned", {}).get("collapsed", []):
        notes.append(f"Collapsed: {entry['tl']} fold {entry['fold']}: {entry['sentence']}")
    real = raw.get("real_sample")
    if real is None:
        notes.append("The real BUSI sample was not present, so the real-image check did not run.")
    elif real.get("returncode"):
        notes.append(f"The real-image check failed (exit {real['returncode']}); its log is in report.json.")
    return notes


if __name__ == "__main__":  # python benchmarks/bench_lab.py
    print(json.dumps(run("--quick" in sys.argv), indent=2, default=str))

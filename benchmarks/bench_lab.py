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

The cold run includes lesson 8's study (:mod:`mstl_lib.training.study`),
which has its own limit (15 minutes at 40 images/s); its headline figures
(each arm's AUC by training-set size, the paired differences with their
corrected intervals and Holm-adjusted p-values) are read from the work folder,
and the study is also run on the real BUSI sample with the lab stage 1
(``mstl study ... --kind busi``), as a check of that path.

Set ``MSTL_BENCH_LAB_KEEP`` to a new folder to keep the cold run's build
(``_build/html``, the executed notebooks and the work folder) there, and
``MSTL_BENCH_LAB_WARM=0`` to skip the warm run (half the time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import QUIET_ENV, REPO_ROOT, book_run, check, fmt

REFERENCE_RATE = 40.0  # images/s of plain Keras ResNet50 on the machine the limits are stated for
COLD_LIMIT_MIN, WARM_LIMIT_MIN, STUDY_LIMIT_MIN = 30.0, 20.0, 15.0
STUDY_LESSON = "08_when_does_it_help.ipynb"
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

    summaries = {p.parent.name: json.loads(p.read_text()) for p in (work / "stage1").glob(f"*/{STAGE1_SUMMARY}")}
    stage1 = {name: s["test_accuracy"] for name, s in summaries.items() if not s.get("variant")}  # not the study's
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


def study_figures(study_dir: Path) -> dict | None:
    """Lesson 8's study read back: the design, each comparison with its interval and verdict, the headline."""
    from mstl_lib.evaluation.study import is_study_folder, study_report
    from mstl_lib.teaching import study_text

    if not is_study_folder(study_dir):
        return None
    report = study_report(study_dir)
    rows = report.table[report.table["kind"] == "difference"]
    auc = study_text.auc_table(report)
    return {
        "design": study_text.design_sentence(report),
        "headline": study_text.headline(report),
        "repeats": study_text.repeats_summary(report),
        "auc_table": auc.reset_index().values.tolist(),
        "auc_columns": ["arm", *auc.columns],
        "differences": [
            {
                key: (None if _missing(row[key]) else row[key])
                for key in (
                    "arm",
                    "versus",
                    "stage1_fraction",
                    "versus_fraction",
                    "size_label",
                    "estimate",
                    "low",
                    "high",
                    "p",
                    "p_holm",
                    "resolved",
                    "repeats_needed",
                )
            }  # fmt: skip
            for _, row in rows.iterrows()
        ],
    }


def _missing(value) -> bool:
    import pandas as pd

    return not isinstance(value, (list, tuple, dict)) and bool(pd.isna(value))


def real_study(stage1: Path, tmp: Path, env) -> dict | None:
    """``mstl study`` on the real BUSI sample with the lab stage 1: the path a reader takes with their own images."""
    sample = REPO_ROOT.parent / "shared" / "data" / "busi_sample"
    if not sample.is_dir():
        return None
    out_dir = tmp / "busi-study"
    command = [sys.executable, "-m", "mstl_lib", "study", str(sample), "--kind", "busi", "--stage1", str(stage1),
               "--out", str(out_dir), "--profile", "lab", "-q"]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, cwd=str(REPO_ROOT), capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        return {"returncode": done.returncode, "wall_s": wall, "log_tail": (done.stdout + done.stderr)[-2000:]}
    figures = study_figures(out_dir)
    return {"returncode": 0, "wall_s": wall, "log_tail": (done.stdout + done.stderr)[-1500:], **(figures or {})}


def study_tables(study: dict, where: str, auc_only: bool = False) -> list[dict]:
    """The study's AUC by size and (unless ``auc_only``) its paired differences, as page tables."""

    def number(value, digits=3):
        return "—" if value is None else f"{value:+.{digits}f}"

    tables = [{"caption": f"Study: mean test AUC [95% corrected interval] by images per class ({where})",
               "columns": study["auc_columns"], "rows": study["auc_table"]}]  # fmt: skip
    if auc_only:
        return tables
    rows = []
    for d in study["differences"]:
        versus = d["versus"] if d["versus_fraction"] is None else f"{d['versus']} (stage 1 on all patches)"
        arm = d["arm"] if d["stage1_fraction"] is None else f"{d['arm']} (stage 1 on {d['stage1_fraction']:g})"
        needed = d["repeats_needed"]
        rows.append([
            f"{arm} − {versus}", d["size_label"], f"{number(d['estimate'])} [{number(d['low'])}, {number(d['high'])}]",
            "—" if d["p_holm"] is None else f"{d['p_holm']:.3g}", "yes" if d["resolved"] else "no",
            "—" if d["resolved"] else ("none would" if needed is None or needed == float("inf") else f"{needed:.0f}"),
        ])  # fmt: skip
    tables.append({"caption": f"Study: paired differences of test AUC ({where})",
                   "columns": ["comparison", "images per class", "difference [95% interval]", "Holm p", "resolved",
                               "repeats that would resolve it"], "rows": rows})  # fmt: skip
    return tables


def minutes_check(figure: str, limit_min: float, rate: float, run: dict) -> dict:
    """A run's wall time against ``limit_min`` minutes at :data:`REFERENCE_RATE`, scaled by this machine's ``rate``."""
    limit = limit_min * REFERENCE_RATE / rate
    seconds = run.get("wall_s")
    minutes = None if seconds is None else seconds / 60
    target = f"≤ {limit:.0f} min ({limit_min:g} × {REFERENCE_RATE:g} / {rate:.0f})"
    met = minutes is not None and run.get("returncode") == 0 and minutes <= limit
    return check(figure, target, None if minutes is None else round(minutes, 1), "min", met)


def study_check(study: dict | None) -> dict:
    """The study resolves something: a comparison resolved after Holm, or else one that more repeats would resolve."""
    differences = (study or {}).get("differences", [])
    resolved = [d for d in differences if d["resolved"]]
    finite = [d for d in differences if not d["resolved"] and d["repeats_needed"] not in (None, float("inf"))]
    return check(
        "study comparisons resolved after Holm's adjustment (or, if none, with a finite number of repeats "
        "that would resolve them)",
        "≥ 1",
        len(resolved) if resolved else len(finite),
        "resolved" if resolved else "resolvable",
        bool(resolved or finite),
    )


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
        warm_run = os.environ.get("MSTL_BENCH_LAB_WARM", "1") != "0"
        warm = run_book(tmp / "warm" / "_build", env) if warm_run else None
        rate_after = plain_keras_rate(env)
        work = cold_build / "work" / "lab"
        learned = what_was_learned(work) if cold["returncode"] == 0 else {}
        study = study_figures(work / "study") if cold["returncode"] == 0 else None
        real = real_sample(work / "stage1", tmp, env) if cold["returncode"] == 0 else None
        real_study_run = real_study(work / "stage1", tmp, env) if cold["returncode"] == 0 else None
    rate = (rate_before + rate_after) / 2
    study_s = dict(cold["per_notebook_s"]).get(STUDY_LESSON)
    arms = learned.get("arms", {})
    networks = {k: v for k, v in arms.items() if v["tl"] != "baseline"}
    best = max(networks.values(), key=lambda a: a["mean_auc"]) if networks else None
    baseline = next((a for a in arms.values() if a["tl"] == "baseline"), None)
    stage1 = min(learned.get("stage1_test_accuracy", {}).values(), default=None)
    checks = [
        minutes_check("`mstl book --profile lab`, cold (generic stage trained)", COLD_LIMIT_MIN, rate, cold),
        minutes_check(
            "lesson 8 (the study), cold", STUDY_LIMIT_MIN, rate, {"wall_s": study_s, "returncode": cold["returncode"]}
        ),
        study_check(study),
    ]
    if warm is not None:
        checks.append(minutes_check("`mstl book --profile lab`, generic weights cached", WARM_LIMIT_MIN, rate, warm))
    checks += [
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
    warm_times = dict(warm["per_notebook_s"]) if warm else {}
    for row in times:
        row.append(fmt(warm_times.get(row[0])) if warm else "not run")
    warm_total = fmt(round(warm["wall_s"])) if warm else "not run"
    times.append(["total, book build included", fmt(round(cold["wall_s"])), warm_total])
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
    if study:
        tables += study_tables(study, "the cold run's lesson 8, synthetic lab data")
    if real_study_run and real_study_run.get("returncode") == 0 and real_study_run.get("differences"):
        tables += study_tables(
            real_study_run, f"`mstl study` on the real BUSI sample, {real_study_run['wall_s']:.0f} s", auc_only=True
        )
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
            "`mstl book --profile lab` into a fresh build folder with an empty Keras weights cache (cold)"
            + (", then with the generic weights that run cached (warm)" if warm else ", no warm run in this record")
            + "; plain Keras ResNet50 training "
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
            "study": study,
            "real_sample": real,
            "real_sample_study": real_study_run,
        },
    }


def explain(result: dict) -> list[str]:
    raw = result.get("raw", {})
    if raw.get("skipped"):
        return ["Skipped in a --quick run."]
    notes = [
        f"Plain Keras ResNet50 at 75 x 75, batch 16: {raw['plain_keras_images_per_s'][0]:.1f} images/s before "
        f"and {raw['plain_keras_images_per_s'][1]:.1f} after the runs."
    ]
    study = raw.get("study")
    if study:
        notes += [f"The study (lesson 8): {study['design']}", study["headline"], study["repeats"]]
    real_study_run = raw.get("real_sample_study")
    if real_study_run and real_study_run.get("returncode") == 0:
        notes.append(
            f"`mstl study` on the real BUSI sample with the lab stage 1 finished in {real_study_run['wall_s']:.0f} s: "
            f"{real_study_run.get('design', '')}"
        )
    elif real_study_run:
        notes.append(f"`mstl study` on the real BUSI sample failed (exit {real_study_run['returncode']}).")
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

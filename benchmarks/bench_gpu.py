"""Figure 6: the paper profile on a GPU.

One command, meant to fit in about eight minutes of GPU time::

    python benchmarks/bench_gpu.py --out benchmarks/results/gpu.json

On a machine with a GPU it measures, in this order, and skips what would
run past ``--budget-s`` (each skipped part is listed as such):

1. the card (``nvidia-smi``: name, driver, memory) and TensorFlow's version
   and CUDA/cuDNN build;
2. stage-1 training throughput (images/s) of ResNet50, InceptionV3 and
   EfficientNetB2 (the stage-1 network: backbone, pooling, softmax over the
   three cell lines; 75 x 75, batch 16, random weights, in-memory data) in
   float32 without XLA, with mixed precision (``mixed_float16``) without
   XLA, and with mixed precision and XLA; inference throughput in each; the
   first epoch's extra time (tracing, XLA compilation); GPU utilisation and
   memory sampled with ``nvidia-smi`` every 200 ms during the timed epochs;
3. the stage-2 grid of one CNN end to end (``mstl_lib.training.grid.run_grid``: CTL
   and MSTL x 3 optimizers x 5 folds = 30 trainings on 100 + 100 synthetic
   ultrasound images, the paper's fold sizes, random weights since ImageNet
   cannot be downloaded there, untrained stage-1 models for MSTL), with
   ``--grid-epochs`` epochs per training, once with ``workers=1`` and once per
   ``--workers`` value (default 6, the six configurations at once); each run
   is stopped at its share of the budget and counts the trainings finished
   by then, so a slow card gives a partial grid rather than an overrun;
4. an ESTIMATE of the paper's full grid from these measurements (formula in
   the output).

Without a GPU it says so and times nothing, unless ``--quick``: then every
part above runs at toy sizes on the CPU (resnet10, a few steps, a tiny grid)
in well under a minute, as a test of this script; those timings mean nothing
and are labelled so.

:mod:`run_all` calls :func:`run` as figure 6 (``--only gpu``) and adds
:func:`estimate_table` from figure 3's throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import check, fmt, machine_info, nvidia_smi, quiet_tensorflow  # noqa: E402

from mstl_lib.backbones import BACKBONE_SPECS, backbone_names  # noqa: E402

# The paper's sizes (Ayana et al. 2022, sections 2.1-2.3; mstl_lib.profiles "paper").
STAGE1_TRAIN, STAGE1_VAL = 14280, 4080  # 20,400 patches split 7:2:1
STAGE2_TRAIN, STAGE2_VAL = 360, 40  # per fold: 120 training images tripled, 40 validation
EPOCHS = 50
FOLDS, OPTIMIZERS, TL_TYPES = 5, 3, 2
NAMES = {name: spec.label if spec.in_paper else f"{name} (quick)" for name, spec in BACKBONE_SPECS.items()}
BATCH, IMAGE_SIZE = 16, 75
MODES = (("float32", False, False), ("mixed precision", True, False), ("mixed precision + XLA", True, True))
"""(label, mixed_precision, jit_compile) of the stage-1 throughput runs."""
DEFAULT_BUDGET_S = 480


# --------------------------------------------------------------------------- the card


def gpu_description() -> dict:
    """The card(s) by nvidia-smi and TensorFlow's view: names, driver, memory, versions."""
    import tensorflow as tf

    cards = [
        {"name": name, "driver": driver, "memory": memory}
        for name, driver, memory in nvidia_smi("name,driver_version,memory.total")
    ]
    build = dict(tf.sysconfig.get_build_info())
    return {
        "cards": cards,
        "tensorflow_gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
        "tensorflow": tf.__version__,
        "cuda_build": build.get("cuda_version"),
        "cudnn_build": build.get("cudnn_version"),
    }


class GpuSampler:
    """``with GpuSampler() as s: ...``: nvidia-smi's utilisation and memory every ``interval_ms``.

    Read the figures with ``s.summary()`` afterwards.
    """

    def __init__(self, interval_ms: int = 200):
        self.interval_ms = interval_ms
        self.samples: list[tuple[float, float]] = []
        self._process = None

    def __enter__(self):
        if shutil.which("nvidia-smi"):
            self._process = subprocess.Popen(
                [
                    "nvidia-smi",
                    "--query-gpu=utilization.gpu,memory.used",
                    "--format=csv,noheader,nounits",
                    f"-lms={self.interval_ms}",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()
        return self

    def _read(self):
        for line in self._process.stdout:
            try:
                utilisation, memory = (float(v) for v in line.split(",")[:2])  # first card
            except ValueError:
                continue
            self.samples.append((utilisation, memory))

    def __exit__(self, *exc):
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._reader.join(timeout=5)
        return False

    def summary(self) -> dict:
        if not self.samples:
            return {"samples": 0, "utilisation_mean": None, "utilisation_max": None, "memory_max_mib": None}
        utilisation = [u for u, _ in self.samples]
        return {
            "samples": len(self.samples),
            "utilisation_mean": sum(utilisation) / len(utilisation),
            "utilisation_max": max(utilisation),
            "memory_max_mib": max(m for _, m in self.samples),
        }


# --------------------------------------------------------------------------- stage-1 throughput


def stage1_throughput(backbone: str, mixed_precision: bool, jit_compile: bool, steps: int) -> dict:
    """Training and inference images/s of the stage-1 network, as ``fit_model`` builds and compiles it."""
    import keras
    import numpy as np
    import tensorflow as tf
    from common import epoch_timer

    from mstl_lib.models.networks import build_stage1_model
    from mstl_lib.training.fit import MIXED_PRECISION_POLICY, with_dtype_policy
    from mstl_lib.training.fit import dtype_policy_scope as _global_policy
    from mstl_lib.training.optimizers import make_optimizer

    policy = MIXED_PRECISION_POLICY if mixed_precision else "float32"
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(BATCH * 8, IMAGE_SIZE, IMAGE_SIZE, 3)).astype("float32")
    labels = keras.utils.to_categorical(rng.integers(0, 3, size=len(images)), 3)
    data = tf.data.Dataset.from_tensor_slices((images, labels)).batch(BATCH).cache().repeat().prefetch(4)
    keras.backend.clear_session()
    started = time.perf_counter()
    with _global_policy(policy):
        model = with_dtype_policy(
            build_stage1_model(backbone, n_classes=3, weights=None, image_size=IMAGE_SIZE), policy
        )
        model.compile(
            optimizer=make_optimizer("adagrad", 1e-3, 0.96, steps_per_epoch=steps),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
            jit_compile=jit_compile,
        )
    built = time.perf_counter() - started
    timer = epoch_timer()
    with GpuSampler() as sampler:
        model.fit(data, epochs=2, steps_per_epoch=steps, callbacks=[timer], verbose=0)
    first, second = timer.epochs[0]["train_s"], timer.epochs[1]["train_s"]
    model.predict(data, steps=2, verbose=0)  # trace
    started = time.perf_counter()
    model.predict(data, steps=steps, verbose=0)
    inference = time.perf_counter() - started
    keras.backend.clear_session()
    return {
        "backbone": backbone,
        "mixed_precision": mixed_precision,
        "jit_compile": jit_compile,
        "steps": steps,
        "batch": BATCH,
        "build_s": built,
        "first_epoch_s": first,
        "timed_epoch_s": second,
        "train_images_per_s": steps * BATCH / second,
        "inference_images_per_s": steps * BATCH / inference,
        "first_epoch_extra_s": first - second,
        "gpu": sampler.summary(),
    }


# --------------------------------------------------------------------------- the stage-2 grid


def prepare_grid(backbone: str, work: Path, quick: bool) -> dict:
    """Synthetic ultrasound set and untrained stage-1 models (one per optimizer) for the grid run."""
    from mstl_lib.data.synthetic import write_ultrasound_set
    from mstl_lib.models.networks import build_stage1_model
    from mstl_lib.run_files import stage1_model_path

    optimizers = ("adam",) if quick else ("sgd", "adam", "adagrad")
    write_ultrasound_set(work / "us", 12 if quick else 100, seed=0, progress=False)
    for optimizer in optimizers:
        path = stage1_model_path(work / "stage1", backbone, optimizer)
        path.parent.mkdir(parents=True, exist_ok=True)
        build_stage1_model(backbone, n_classes=3, weights=None, image_size=IMAGE_SIZE).save(path)
    return {"us": work / "us", "stage1": work / "stage1", "optimizers": optimizers}


GRID_SCRIPT = """
import json, sys
from mstl_lib.data.datasets import load_busi
from mstl_lib.training.grid import run_grid
from mstl_lib.profiles import get_profile
job = json.loads(sys.argv[1])
profile = get_profile("paper", epochs_stage2=job["epochs"], weights=None, backbones=(job["backbone"],),
                      optimizers=job["optimizers"], folds=job["folds"])
run_grid(load_busi(job["us"]), job["out"], stage1_dir=job["stage1"], profile=profile, arms=("ctl", "mstl"),
         workers=job["workers"], shard=job["shard"], progress=False)
"""


def time_grid(
    backbone: str, prepared: dict, work: Path, workers: int, epochs: int, quick: bool, deadline_s: float
) -> dict:
    """Wall time of the CTL + MSTL grid of one CNN with ``workers`` configurations at once.

    The grid runs in its own process group, stopped at ``deadline_s`` if it
    has not finished; the trainings finished by then are counted. A quick
    run trains one fold of CTL and one of MSTL (shard 1/3 of three folds).
    """
    from mstl_lib.run_files import grid_result_files
    from mstl_lib.training.shards import shard_units

    folds = 3 if quick else FOLDS
    shard = (1, 3) if quick else None
    out = work / f"grid-workers{workers}"
    job = {
        "backbone": backbone,
        "epochs": epochs,
        "optimizers": list(prepared["optimizers"]),
        "folds": folds,
        "us": str(prepared["us"]),
        "stage1": str(prepared["stage1"]),
        "out": str(out),
        "workers": workers,
        "shard": shard,
    }
    script = work / "grid.py"
    script.write_text(GRID_SCRIPT)
    planned = len(shard_units(range(TL_TYPES * len(prepared["optimizers"]) * folds), shard))
    with GpuSampler() as sampler:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, str(script), json.dumps(job)],
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _, error = process.communicate(timeout=max(deadline_s, 1.0))
            finished_in_time = True
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            _, error = process.communicate()
            finished_in_time = False
        wall = time.perf_counter() - started
    trainings = len(grid_result_files(out))
    if finished_in_time and process.returncode != 0:
        raise RuntimeError(f"the grid with workers={workers} failed: {error[-2000:]}")
    return {
        "backbone": backbone,
        "workers": workers,
        "epochs": epochs,
        "planned": planned,
        "trainings": trainings,
        "complete": trainings == planned,
        "wall_s": wall,
        "per_training_s": wall / trainings if trainings else None,
        "gpu": sampler.summary(),
    }


# --------------------------------------------------------------------------- the whole measurement


def measure(
    *,
    quick: bool,
    budget_s: float,
    steps: int | None = None,
    grid_backbone: str = "resnet50",
    grid_epochs: int = 1,
    workers=(6,),
    stage1_share: float = 0.45,
    log=print,
) -> dict:
    """Run parts 1-4 (see the module's docstring) within ``budget_s`` seconds; returns every figure.

    Stage-1 throughput may use ``stage1_share`` of the budget (later CNNs or
    modes are skipped past it); the grid runs share the rest, the first
    (``workers=1``) stopped at half of what is left, the others at their
    share of the remainder.
    """
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")  # this process and the grid's children share the card
    quiet_tensorflow()
    import tensorflow as tf

    started = time.monotonic()
    gpu = bool(tf.config.list_physical_devices("GPU"))
    raw = {
        "gpu_available": gpu,
        "quick": quick,
        "device": gpu_description(),
        "budget_s": budget_s,
        "stage1": [],
        "grid": [],
        "skipped": [],
    }
    if not gpu and not quick:
        return raw
    backbones = backbone_names(in_paper=not quick)
    steps = steps or (2 if quick else 150)
    if quick:
        grid_backbone, grid_epochs, workers = backbone_names(in_paper=False)[0], 1, (2,)

    def elapsed() -> float:
        return time.monotonic() - started

    for backbone in backbones:
        for label, mixed, jit in MODES:
            if elapsed() > stage1_share * budget_s:
                raw["skipped"].append(
                    f"stage-1 throughput of {NAMES[backbone]} in {label}: its share of the time budget was spent"
                )
                continue
            log(f"stage 1 {backbone} {label} ...")
            raw["stage1"].append({"mode": label, **stage1_throughput(backbone, mixed, jit, steps)})
    with tempfile.TemporaryDirectory(prefix="mstl-bench-gpu-") as tmp:
        work = Path(tmp)
        prepared = prepare_grid(grid_backbone, work, quick)
        runs = (1, *[n for n in workers if n != 1])
        for i, n in enumerate(runs):
            left = budget_s - elapsed()
            deadline = left / 2 if i == 0 else left / (len(runs) - i)
            if deadline < 20 and not quick:
                raw["skipped"].append(f"grid with workers={n}: the time budget was spent")
                continue
            log(f"grid {grid_backbone} workers={n} (stopped after {deadline:.0f} s) ...")
            raw["grid"].append(time_grid(grid_backbone, prepared, work, n, grid_epochs, quick, deadline))
    raw["estimate"] = extrapolate(raw)
    raw["elapsed_s"] = elapsed()
    return raw


def extrapolate(raw: dict) -> dict | None:
    """ESTIMATE of the paper's full grid (3 CNNs x 3 optimizers of stage 1, 90 stage-2 trainings) from ``raw``.

    Per CNN and precision: one stage-1 run = 50 x (14,280 / training images/s +
    4,080 / inference images/s); one stage-2 training = the measured grid's
    time per training at ``grid_epochs`` (fixed costs included) + (50 -
    grid_epochs) x (360 / training images/s + 40 / inference images/s),
    divided by the best measured workers speed-up (trainings finished per
    second, against ``workers=1``). The stage-2 network's
    throughput is taken to be the stage-1 network's (same backbone, a
    different head); the grid's CNN's fixed costs are used for all three.
    """
    grid = [g for g in raw.get("grid") or [] if g["trainings"]]
    single = next((g for g in grid if g["workers"] == 1), None)
    if single is None or not raw.get("stage1"):
        return None

    def rate(g):
        return g["trainings"] / g["wall_s"]

    best = max(grid, key=rate)
    speedup = rate(best) / rate(single)
    rows = []
    for mode in dict.fromkeys(s["mode"] for s in raw["stage1"]):
        entries = [s for s in raw["stage1"] if s["mode"] == mode]
        stage1_h = stage2_h = 0.0
        for s in entries:
            stage1_h += (
                3 * EPOCHS * (STAGE1_TRAIN / s["train_images_per_s"] + STAGE1_VAL / s["inference_images_per_s"]) / 3600
            )
            epoch = STAGE2_TRAIN / s["train_images_per_s"] + STAGE2_VAL / s["inference_images_per_s"]
            training = single["per_training_s"] + (EPOCHS - single["epochs"]) * epoch
            stage2_h += FOLDS * OPTIMIZERS * TL_TYPES * training / speedup / 3600
        rows.append(
            {
                "mode": mode,
                "cnns": [s["backbone"] for s in entries],
                "stage1_h": stage1_h,
                "stage2_h": stage2_h,
                "total_h": stage1_h + stage2_h,
            }
        )
    return {"best_workers": best["workers"], "workers_speedup": speedup, "rows": rows}


# --------------------------------------------------------------------------- figure 6 of run_all


def run(quick: bool = False, budget_s: float = DEFAULT_BUDGET_S) -> dict:
    smi = machine_info()["gpus"]
    raw = measure(quick=quick, budget_s=budget_s, log=lambda line: print(line, file=sys.stderr))
    raw["nvidia_smi"] = smi
    raw["tensorflow_gpus"] = raw["device"]["tensorflow_gpus"]
    available = raw["gpu_available"]
    if available:
        display = f"measured on {', '.join(c['name'] for c in raw['device']['cards']) or 'the GPU'}"
    elif quick:
        display = "no GPU: quick run on the CPU at toy sizes (a test of the script; its timings mean nothing)"
    else:
        display = "no GPU: nothing measured"
    return {
        "title": "6. The paper profile on a GPU",
        "what": (
            "On a GPU: stage-1 training and inference throughput of the paper's three CNNs in float32, mixed "
            "precision, and mixed precision with XLA (75 x 75, batch 16, in-memory data, random weights), GPU "
            "utilisation sampled with nvidia-smi, the stage-2 grid of one CNN (CTL and MSTL x 3 optimizers x 5 "
            "folds) end to end with one and several workers, and an estimate of the paper's full grid from these. "
            "Without a GPU nothing is timed."
        ),
        "checks": [{**check("paper profile on a GPU", "—", None, "", None), "display": display}],
        "tables": tables(raw),
        "raw": raw,
    }


def tables(raw: dict) -> list[dict]:
    label = (
        " (quick run on the CPU: toy sizes, timings mean nothing)"
        if raw.get("quick") and not raw.get("gpu_available")
        else ""
    )
    out = []
    if raw.get("stage1"):
        out.append(
            {
                "caption": f"Stage-1 throughput, batch {BATCH}, {IMAGE_SIZE} x {IMAGE_SIZE}{label}",
                "columns": [
                    "CNN",
                    "precision",
                    "training, images/s",
                    "inference, images/s",
                    "first epoch extra, s",
                    "GPU utilisation, mean %",
                    "GPU memory, max MiB",
                ],
                "rows": [
                    [
                        NAMES.get(s["backbone"], s["backbone"]),
                        s["mode"],
                        fmt(s["train_images_per_s"], 1),
                        fmt(s["inference_images_per_s"], 1),
                        fmt(s["first_epoch_extra_s"], 1),
                        fmt(s["gpu"]["utilisation_mean"], 0),
                        fmt(s["gpu"]["memory_max_mib"], 0),
                    ]
                    for s in raw["stage1"]
                ],
            }
        )
    if raw.get("grid"):
        out.append(
            {
                "caption": f"Stage-2 grid of one CNN end to end (CTL + MSTL x optimizers x folds){label}",
                "columns": [
                    "CNN",
                    "workers",
                    "trainings finished / planned",
                    "epochs each",
                    "wall, s",
                    "per training, s",
                    "GPU utilisation, mean %",
                ],
                "rows": [
                    [
                        NAMES.get(g["backbone"], g["backbone"]),
                        g["workers"],
                        f"{g['trainings']} / {g['planned']}"
                        + ("" if g["complete"] else " (stopped at its time limit)"),
                        g["epochs"],
                        fmt(g["wall_s"], 1),
                        fmt(g["per_training_s"], 1),
                        fmt(g["gpu"]["utilisation_mean"], 0),
                    ]
                    for g in raw["grid"]
                ],
            }
        )
    estimate = raw.get("estimate")
    if estimate:
        out.append(
            {
                "caption": f"ESTIMATE (not a measurement) of the paper's full grid{label}: 9 stage-1 runs and 90 "
                f"stage-2 trainings of 50 epochs, with workers={estimate['best_workers']} "
                f"(measured speed-up {estimate['workers_speedup']:.2f})",
                "columns": ["precision", "stage 1, h", "stage 2, h", "total, h"],
                "rows": [
                    [r["mode"], fmt(r["stage1_h"], 1), fmt(r["stage2_h"], 1), fmt(r["total_h"], 1)]
                    for r in estimate["rows"]
                ],
            }
        )
    return out


def estimate_table(training: dict | None, gpu_available: bool) -> dict | None:
    """Per-epoch and per-run time estimates from figure 3's measured throughput."""
    if not training or training.get("status") != "ok":
        return None
    device = "GPU" if gpu_available else "this CPU"
    rows = []
    for p in training.get("raw", {}).get("backbones", []):
        train, infer = p.get("train_images_per_s"), p.get("inference_images_per_s")
        if not train or not infer:
            continue
        s1 = STAGE1_TRAIN / train + STAGE1_VAL / infer
        s2 = STAGE2_TRAIN / train + STAGE2_VAL / infer
        grid_h = (s1 * EPOCHS + s2 * EPOCHS * FOLDS * OPTIMIZERS * TL_TYPES) / 3600
        rows.append(
            [
                NAMES.get(p["backbone"], p["backbone"]),
                fmt(train, 1),
                fmt(infer, 1),
                fmt(s1 / 60, 1),
                fmt(s1 * EPOCHS / 3600, 1),
                fmt(s2, 1),
                fmt(grid_h, 1),
            ]
        )
    return {
        "caption": f"ESTIMATE (not a measurement) for {device}, from figure 3's measured throughput: "
        "epoch time = training images / training throughput + validation images / inference throughput",
        "columns": [
            "backbone",
            "training, images/s (measured)",
            "inference, images/s (measured)",
            "stage-1 epoch, min (est.)",
            "stage 1, 50 epochs, h (est.)",
            "stage-2 epoch, s (est.)",
            "backbone's share of the grid, h (est.)",
        ],
        "rows": rows,
    }


def explain(result: dict) -> list[str]:
    raw = result.get("raw", {})
    device = raw.get("device", {})
    if raw.get("gpu_available"):
        cards = "; ".join(f"{c['name']} (driver {c['driver']}, {c['memory']})" for c in device.get("cards", []))
        head = (
            f"Measured on {cards or ', '.join(device.get('tensorflow_gpus', []))} with TensorFlow "
            f"{device.get('tensorflow')} (CUDA {device.get('cuda_build')}, cuDNN {device.get('cudnn_build')})."
        )
    elif raw.get("quick"):
        head = (
            "No GPU: this quick run timed toy sizes on the CPU to test the script; none of its figures is a GPU figure."
        )
    else:
        head = (
            "Not measured: no GPU was available on the machine that ran this report (nvidia-smi found "
            "none and TensorFlow lists no GPU device). No GPU figures are given."
        )
    notes = [head]
    notes += [f"Skipped: {s}." for s in raw.get("skipped", [])]
    notes += [
        "The float32 and mixed-precision rows turn XLA off explicitly; the library's default (jit_compile 'auto', "
        "Keras' own) compiles with XLA on a GPU where the model allows it.",
        f"Estimate method: stage 1 runs {fmt(STAGE1_TRAIN)} training and {fmt(STAGE1_VAL)} validation patches "
        f"per epoch; a stage-2 or CTL fold runs {STAGE2_TRAIN} training images (120 tripled) and "
        f"{STAGE2_VAL} validation images per epoch; {EPOCHS} epochs each. The full-grid estimate adds, per "
        "training, the grid's measured time per training (model building, tracing, data loading, test "
        "predictions) and the remaining epochs at the measured throughput, divided by the measured speed-up "
        "of the best number of workers.",
        "To get GPU figures: on a machine with a GPU, run `python benchmarks/bench_gpu.py --out "
        "benchmarks/results/gpu.json` (about eight minutes), or `python benchmarks/run_all.py --only training gpu`.",
    ]
    return notes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Measure the paper profile's speed on this machine's GPU.")
    parser.add_argument("--quick", action="store_true", help="toy sizes on any machine, in well under a minute")
    parser.add_argument("--out", default=None, help="write every figure as JSON here")
    parser.add_argument(
        "--budget-s",
        type=float,
        default=DEFAULT_BUDGET_S,
        help=f"skip parts that would end past this many seconds (default {DEFAULT_BUDGET_S})",
    )
    parser.add_argument("--steps", type=int, default=None, help="timed training steps per stage-1 run (default 150)")
    parser.add_argument("--grid-backbone", default="resnet50", choices=backbone_names(in_paper=True))
    parser.add_argument("--grid-epochs", type=int, default=1, help="epochs of each grid training (default 1)")
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[6],
        help="worker counts to time besides 1 (default 6: all six configurations at once)",
    )
    args = parser.parse_args(argv)
    raw = measure(
        quick=args.quick,
        budget_s=args.budget_s,
        steps=args.steps,
        grid_backbone=args.grid_backbone,
        grid_epochs=args.grid_epochs,
        workers=tuple(args.workers),
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    result = {"raw": raw, "tables": tables(raw)}
    for line in explain(result):
        print(line)
    for t in result["tables"]:
        print(f"\n{t['caption']}:")
        print(" | ".join(t["columns"]))
        for row in t["rows"]:
            print(" | ".join(map(str, row)))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(raw, indent=1, default=str))
        print(f"\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

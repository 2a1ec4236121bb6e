"""Figure 6: the paper profile on a GPU.

Nothing is timed here. The module looks for a GPU (``nvidia-smi`` and
TensorFlow's device list) and the report then says either that the paper
profile was not measured because no GPU was available, or which GPU the
training figure ran on. In both cases it gives the *estimate method*
(per-epoch time = images / measured throughput) with the throughput this run
measured (figure 3), labelled with the device it was measured on. It never
invents GPU numbers.
"""

from __future__ import annotations

from common import check, fmt, machine_info, quiet_tensorflow

# The paper's sizes (Ayana et al. 2022, sections 2.1-2.3; mstl_lib.profiles "paper").
STAGE1_TRAIN, STAGE1_VAL = 14280, 4080     # 20,400 patches split 7:2:1
STAGE2_TRAIN, STAGE2_VAL = 360, 40          # per fold: 120 training images tripled, 40 validation
EPOCHS = 50
FOLDS, OPTIMIZERS, TL_TYPES = 5, 3, 2
NAMES = {"resnet50": "ResNet50", "inceptionv3": "InceptionV3", "efficientnetb2": "EfficientNetB2"}


def run(quick: bool = False) -> dict:
    quiet_tensorflow()
    import tensorflow as tf

    tf_gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    smi = machine_info()["gpus"]
    available = bool(tf_gpus or smi)
    display = ("measured on the GPU by the other figures" if available
               else "not measured: no GPU was available")
    return {
        "title": "6. The paper profile on a GPU",
        "what": (
            "Looks for a GPU (nvidia-smi, and TensorFlow's physical devices); times nothing itself. "
            "The table below is an estimate, not a measurement: per-epoch time = images / throughput, "
            "with the throughput measured by figure 3 in this run."
        ),
        "checks": [{**check("paper profile (50 + 50 epochs, full grid) on a GPU", "—", None, "", None),
                    "display": display}],
        "tables": [],
        "raw": {"nvidia_smi": smi, "tensorflow_gpus": tf_gpus, "gpu_available": available},
    }


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
        rows.append([NAMES.get(p["backbone"], p["backbone"]), fmt(train, 1), fmt(infer, 1), fmt(s1 / 60, 1),
                     fmt(s1 * EPOCHS / 3600, 1), fmt(s2, 1), fmt(grid_h, 1)])
    return {
        "caption": f"ESTIMATE (not a measurement) for {device}, from figure 3's measured throughput: "
                   "epoch time = training images / training throughput + validation images / inference throughput",
        "columns": ["backbone", "training, images/s (measured)", "inference, images/s (measured)",
                    "stage-1 epoch, min (est.)", "stage 1, 50 epochs, h (est.)", "stage-2 epoch, s (est.)",
                    "backbone's share of the grid, h (est.)"],
        "rows": rows,
    }


def explain(result: dict) -> list[str]:
    raw = result.get("raw", {})
    if raw.get("gpu_available"):
        head = (f"A GPU was visible ({', '.join(raw.get('nvidia_smi') or raw.get('tensorflow_gpus'))}); the "
                "training figure ran on it, so the estimate below uses its throughput.")
    else:
        head = ("Not measured: no GPU was available on the machine that ran this report (nvidia-smi found "
                "none and TensorFlow lists no GPU device). No GPU figures are given.")
    return [
        head,
        f"Estimate method: stage 1 runs {fmt(STAGE1_TRAIN)} training and {fmt(STAGE1_VAL)} validation patches "
        f"per epoch; a stage-2 or CTL fold runs {STAGE2_TRAIN} training images (120 tripled) and "
        f"{STAGE2_VAL} validation images per epoch; {EPOCHS} epochs each. A backbone's share of the paper's grid "
        f"is one stage 1 plus {FOLDS} folds x {OPTIMIZERS} optimizers x {TL_TYPES} transfer types of stage 2. "
        "The estimate leaves out data loading before the first epoch, the periodic backups and the "
        "test predictions.",
        "To get GPU figures: on a machine with a GPU, run `python benchmarks/run_all.py --only training gpu`; "
        "figure 3 then measures the GPU's throughput and this table turns it into per-epoch and per-run times.",
    ]

"""Figure 2: segmentation throughput on one core, and the wrapper's overhead.

Full 1224 x 904 bright-field frames per second through
:func:`mstl_lib.data.segmentation.segment_frame` with its defaults (grayscale,
CLAHE, automatic offset, Gaussian adaptive threshold, 2 x 2 dilation,
scikit-image small-object removal, hole filling, external contours, bounding
boxes, the w + h >= 100 cut-off, crops), and the same computation written as
the bare sequence of OpenCV / scikit-image / NumPy calls (:func:`bare_segment`).
Targets: >= 10 frames/s on one core; library / bare time <= 1.2.

One core: :func:`run` starts a child process pinned to CPU 0 (``taskset -c 0``
where available, else ``os.sched_setaffinity``) with OpenMP/BLAS threads set
to 1 and ``cv2.setNumThreads(1)``. Library and bare versions alternate, each
over the same frame ``FRAMES_PER_SAMPLE`` times per sample.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from common import BENCH_DIR, QUIET_ENV, check, fmt, median, pairwise_ratios, spread

REAL_FRAME = Path("/work/shared/data/cells_sample/brightfield_h1299_hela_008.jpeg")
FPS_TARGET = 10.0
RATIO_TARGET = 1.2
ONE_CORE_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "OPENCV_FOR_THREADS_NUM": "1",
}


def _real_frame_path() -> Path | None:
    candidates = [Path(os.environ["MSTL_BENCH_FRAME"])] if os.environ.get("MSTL_BENCH_FRAME") else []
    candidates += [REAL_FRAME, BENCH_DIR.parents[1] / "shared" / "data" / "cells_sample" / REAL_FRAME.name]
    for path in candidates:
        if path.is_file():
            return path
    return None


# --------------------------------------------------------------------------- the bare sequence


_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def bare_segment(frame: np.ndarray, timings: dict | None = None):
    """``segment_frame(frame)`` with its defaults, as bare OpenCV / scikit-image / NumPy calls.

    Returns the kept boxes ``[(x, y, w, h), ...]`` (sorted as the library sorts
    them) and the crops. With a ``timings`` dict, adds the seconds of each step to it.
    """
    import cv2
    from skimage import morphology
    from skimage.measure import label

    clock = [time.perf_counter()]

    def lap(step):
        if timings is not None:
            now = time.perf_counter()
            timings[step] = timings.get(step, 0.0) + now - clock[0]
            clock[0] = now

    # 1. grayscale
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if frame.ndim == 3 else frame
    lap("grayscale")
    # CLAHE, clip 2, 8 x 8 tiles
    work = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(gray)
    lap("CLAHE")
    # size of one original gray level after CLAHE
    a, b = gray.astype(np.int16), work.astype(np.int16)
    steps = np.concatenate([np.abs(np.diff(b, axis=k))[np.abs(np.diff(a, axis=k)) == 1] for k in (0, 1)])
    level_step = float(np.median(steps)) if steps.size else 1.0
    del a, b, steps  # free the temporaries at once, as a function return would
    lap("gray-level step of the CLAHE output")
    # automatic offset: robust spread of deviations from the Gaussian local mean, noise floor, level step
    f = work.astype(np.float32)
    dev = f - cv2.GaussianBlur(f, (51, 51), 0, borderType=cv2.BORDER_REPLICATE)
    lap("automatic offset: local mean")
    centre = float(np.median(dev))
    robust = 1.4826 * float(np.median(np.abs(dev - centre)))
    del dev
    lap("automatic offset: two full-frame medians")
    noise = math.sqrt(math.pi / 2) * float(np.abs(cv2.filter2D(f, -1, _IMMERKAER)[1:-1, 1:-1]).mean()) / 6.0
    offset = float(round(max(robust, 1.8 * noise, level_step + 1.0)))
    del f
    lap("automatic offset: noise estimate")
    # 2. adaptive threshold, dark objects; 3. 2 x 2 dilation
    binary = cv2.adaptiveThreshold(work, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY_INV, 51, offset)
    lap("adaptive threshold")
    dilated = cv2.dilate(binary, np.ones((2, 2), np.uint8), iterations=1)
    lap("dilation")
    # 4. noise removal (objects of <= 300 px), holes of <= 2000 px not touching the edge filled
    mask = morphology.remove_small_objects(dilated > 0, max_size=300, connectivity=1)
    lap("remove_small_objects")
    regions = label(~mask, connectivity=1)
    fill = np.bincount(regions.ravel()) <= 2000
    fill[0] = False
    fill[np.unique(np.concatenate([regions[0, :], regions[-1, :], regions[:, 0], regions[:, -1]]))] = False
    mask = mask | fill[regions]
    del regions, fill, dilated, binary
    lap("hole filling")
    # 5-7. external contours, bounding rectangles, w + h >= 100
    contours, _ = cv2.findContours(mask.astype(np.uint8) * 255, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    boxes = sorted((cv2.boundingRect(c) for c in contours), key=lambda r: (r[1], r[0], r[3], r[2]))
    boxes = [r for r in boxes if r[2] + r[3] >= 100]
    # 8. crops of the original frame
    crops = [frame[y : y + h, x : x + w].copy() for x, y, w, h in boxes]
    lap("contours, boxes, crops")
    return boxes, crops


# --------------------------------------------------------------------------- child (one core)


def _frames(quick: bool) -> list[tuple[str, np.ndarray]]:
    from mstl_lib.data.images import read_image
    from mstl_lib.data.synthetic import CELL_LINES, make_cell_frame

    frames = []
    real = _real_frame_path()
    if real is not None:
        frames.append((f"real bright-field frame ({real.name})", read_image(real)))
    lines = CELL_LINES[:1] if quick and real is not None else CELL_LINES
    for i, line in enumerate(lines):
        frame, _ = make_cell_frame(line, np.random.default_rng([7, i]))
        frames.append((f"synthetic {line} frame", frame))
    return frames


def child(quick: bool) -> dict:
    import cv2

    cv2.setNumThreads(1)
    from mstl_lib.data.segmentation import segment_frame

    per_sample = 2 if quick else 10
    repeats = 2 if quick else 7
    results = []
    for name, frame in _frames(quick):
        lib = segment_frame(frame)
        boxes, _ = bare_segment(frame)
        same = [b.as_tuple() for b in lib.boxes] == [tuple(int(v) for v in b) for b in boxes]
        lib_s, bare_s = [], []
        for i in range(repeats + 1):  # the first round is a warm-up
            t0 = time.perf_counter()
            for _ in range(per_sample):
                segment_frame(frame)
            t1 = time.perf_counter()
            for _ in range(per_sample):
                bare_segment(frame)
            t2 = time.perf_counter()
            if i:
                lib_s.append((t1 - t0) / per_sample)
                bare_s.append((t2 - t1) / per_sample)
        steps: dict = {}
        for _ in range(per_sample):  # a separate, untimed-by-the-figure pass: where the time goes
            bare_segment(frame, steps)
        results.append(
            {
                "frame": name,
                "shape": list(frame.shape),
                "boxes": len(lib.boxes),
                "same_boxes": same,
                "library_s": lib_s,
                "bare_s": bare_s,
                "steps_s": {k: v / per_sample for k, v in steps.items()},
            }
        )
    return {
        "frames": results,
        "per_sample": per_sample,
        "repeats": repeats,
        "cpu_affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cv2_threads": cv2.getNumThreads(),
    }


# --------------------------------------------------------------------------- parent


def run(quick: bool = False) -> dict:
    env = {**os.environ, **QUIET_ENV, **ONE_CORE_ENV}
    command = [sys.executable, str(Path(__file__).resolve()), "--child"] + (["--quick"] if quick else [])
    pinned = "taskset -c 0" if shutil.which("taskset") else "os.sched_setaffinity({0})"
    if shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=str(BENCH_DIR))
    if out.returncode != 0:
        raise RuntimeError(f"segmentation child failed ({out.returncode}):\n{out.stderr[-3000:]}")
    data = json.loads(out.stdout.strip().splitlines()[-1])

    rows, checks = [], []
    for i, f in enumerate(data["frames"]):
        fps = 1.0 / median(f["library_s"])
        bare_fps = 1.0 / median(f["bare_s"])
        ratio = median(f["library_s"]) / median(f["bare_s"])
        f.update(
            fps=fps,
            bare_fps=bare_fps,
            ratio=ratio,
            median_pairwise_ratio=median(pairwise_ratios(f["library_s"], f["bare_s"])),
        )
        lo, hi = spread([1.0 / s for s in f["library_s"]])
        rows.append(
            [
                f["frame"],
                f"{f['shape'][1]} x {f['shape'][0]}",
                f["boxes"],
                fmt(fps, 1),
                f"{fmt(lo, 1)}–{fmt(hi, 1)}",
                fmt(bare_fps, 1),
                fmt(ratio, 3),
                fmt(f["same_boxes"]),
            ]
        )
        if i == 0:
            checks.append(
                check(
                    f"frames/s on one core, {f['frame'].split(' (')[0]}",
                    f"≥ {FPS_TARGET:g}",
                    round(fps, 1),
                    "frames/s",
                    fps >= FPS_TARGET,
                )
            )
            checks.append(
                check("library time / bare calls", f"≤ {RATIO_TARGET}", round(ratio, 3), "", ratio <= RATIO_TARGET)
            )
    first = data["frames"][0]
    total = sum(first["steps_s"].values())
    breakdown = {
        "caption": f"Where the time goes on the first frame (the bare sequence, one core, ms per frame; "
        f"mean of {data['per_sample']})",
        "columns": ["step", "ms", "share"],
        "rows": [
            [step, fmt(seconds * 1000, 1), f"{100 * seconds / total:.0f} %"]
            for step, seconds in first["steps_s"].items()
        ],
    }
    return {
        "title": "2. Segmentation throughput",
        "what": (
            f"segment_frame with its defaults on full frames, in a child process pinned to one core "
            f"({pinned}, OMP/OpenBLAS threads 1, cv2.setNumThreads(1)), against the equivalent bare "
            f"sequence of OpenCV / scikit-image / NumPy calls written in the benchmark (bare_segment). "
            f"Each sample times {data['per_sample']} segmentations of one frame; library and bare samples "
            f"alternate, {data['repeats']} of each after a warm-up round; medians. The target applies to "
            f"the first row{' (the real frame)' if _real_frame_path() else ' (no real frame found: synthetic)'}."
        ),
        "checks": checks,
        "tables": [
            {
                "caption": "Frames per second on one core (median; min–max) and the wrapper's overhead",
                "columns": [
                    "frame",
                    "size",
                    "boxes",
                    "library, frames/s",
                    "min–max",
                    "bare calls, frames/s",
                    "library / bare (time)",
                    "same boxes",
                ],
                "rows": rows,
            },
            breakdown,
        ],
        "raw": data,
    }


def explain(result: dict) -> list[str]:
    frames = result.get("raw", {}).get("frames", [])
    notes = [
        "The bare sequence computes what the library's defaults compute (including the automatic offset "
        "and the gray-level step of the CLAHE output, which are NumPy, not OpenCV) and the 'same boxes' "
        "column checks that both return identical boxes, so the ratio measures only the wrapper: argument "
        "checks, the Box objects and the result record.",
    ]
    if any(f.get("ratio", 2.0) < 1.0 for f in frames):
        notes.append(
            "Where the library comes out a little faster than the bare sequence (a ratio below 1), it does no "
            "less work: timed step by step in isolation, each bare step is as fast as the library's, and such "
            "differences of a few percent come and go between runs with how temporary arrays land in memory. "
            "What the ratio shows is that the wrapper adds nothing measurable."
        )
    if frames and not all(f.get("same_boxes") for f in frames):
        notes.append(
            "The bare sequence did not reproduce the library's boxes on every frame: the ratio "
            "compares different work there."
        )
    if frames and frames[0].get("steps_s"):
        steps = frames[0]["steps_s"]
        total = sum(steps.values())
        numpy_steps = [k for k in steps if k.startswith(("gray-level", "automatic offset: two"))]
        share = sum(steps[k] for k in numpy_steps) / total if total else 0.0
        notes.append(
            f"The two NumPy steps the library adds to the paper's sequence (the gray-level step of the CLAHE "
            f"output and the two full-frame medians of the automatic offset) take {100 * share:.0f} % of a "
            "frame. Both are statistics of the whole frame and could be taken on a subsample of its pixels (say every "
            "second row and column), should the segmentation ever need to be faster; the targets do not need it."
        )
    if any(c["met"] is False for c in result.get("checks", [])):
        notes.append("A target is not met in this run.")
    return notes


if __name__ == "__main__":  # the child, or a stand-alone run: python benchmarks/bench_segmentation.py [--quick]
    quick = "--quick" in sys.argv
    if "--child" in sys.argv:
        if not shutil.which("taskset") and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        print(json.dumps(child(quick)))
    else:
        print(json.dumps(run(quick), indent=2))

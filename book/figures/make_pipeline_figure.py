"""Draw the pipeline figure of the book's first page (book/figures/pipeline.png).

Run from the repository root: ``python book/figures/make_pipeline_figure.py``.
The PNG is committed, so the book renders it offline without running this.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

OUT = Path(__file__).with_name("pipeline.png")
COLORS = {"data": "#dbe9f6", "step": "#fdf1d6", "model": "#e3f2df", "eval": "#f3e1f0"}

W = 2.4
HEIGHT = 1.7
X = (0.2, 3.5, 6.8, 10.1)
BOXES = {
    # key: (x, y, text, kind)
    "imagenet": (X[2], 5.3, "ImageNet-pretrained CNN\nResNet50, InceptionV3,\nEfficientNetB2", "model"),
    "frames": (X[0], 3.0, "Cell-line frames\nHeLa, MCF-7, NCI-H1299\n(paper: 608)", "data"),
    "segment": (
        X[1],
        3.0,
        "Segmentation (2.1)\nthreshold, 2x2 dilation,\ncontours, boxes,\nw + h >= 100\nlesson 2",
        "step",
    ),
    "stage1": (X[2], 3.0, "Stage 1\nfine-tune on patches\n(6,800 per line),\nsoftmax over 3 lines\nlesson 3", "model"),
    "ultrasound": (X[0], 0.3, "Breast ultrasound\nbenign / malignant\n(Mendeley, MT-Small)", "data"),
    "folds": (
        X[1],
        0.3,
        "Audit, resize to 75 x 75,\ngrouped 5-fold CV,\naugment training only\nlesson 4",
        "step",
    ),
    "stage2": (X[2], 0.3, "Stage 2\nbinary head, fine-tune\nMSTL: from stage 1\nCTL: from ImageNet\nlesson 5", "model"),
    "eval": (
        X[3],
        0.3,
        "Evaluation\naccuracy, sensitivity,\nspecificity, F1, AUC,\nt-tests (lesson 6);\nGrad-CAM (lesson 7)",
        "eval",
    ),
}
# (from, to, label, (side of from, side of to))
ARROWS = [
    ("frames", "segment", "", ("right", "left")),
    ("segment", "stage1", "patches", ("right", "left")),
    ("imagenet", "stage1", "MSTL", ("bottom", "top")),
    ("ultrasound", "folds", "", ("right", "left")),
    ("folds", "stage2", "folds", ("right", "left")),
    ("stage1", "stage2", "MSTL", ("bottom", "top")),
    ("stage2", "eval", "test folds", ("right", "left")),
]


def anchor(key, side):
    x, y, _, _ = BOXES[key]
    return {
        "right": (x + W, y + HEIGHT / 2),
        "left": (x, y + HEIGHT / 2),
        "top": (x + W / 2, y + HEIGHT),
        "bottom": (x + W / 2, y),
    }[side]


def main():
    fig, ax = plt.subplots(figsize=(12.5, 7.2))
    ax.set_xlim(0, X[3] + W + 0.2)
    ax.set_ylim(0, 7.9)
    ax.axis("off")
    for _key, (x, y, text, kind) in BOXES.items():
        ax.add_patch(
            FancyBboxPatch(
                (x, y),
                W,
                HEIGHT,
                boxstyle="round,pad=0.02,rounding_size=0.12",
                facecolor=COLORS[kind],
                edgecolor="#555555",
                linewidth=1,
            )
        )
        ax.text(x + W / 2, y + HEIGHT / 2, text, ha="center", va="center", fontsize=9.5)
    for a, b, label, (side_a, side_b) in ARROWS:
        start, end = anchor(a, side_a), anchor(b, side_b)
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, linewidth=1.3, color="#333333"))
        if label:
            mx, my = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
            if side_a == "bottom":
                ax.text(mx + 0.08, my, label, ha="left", va="center", fontsize=8.5)
            else:
                ax.text(mx, my + 0.1, label, ha="center", va="bottom", fontsize=8.5)
    # CTL: ImageNet straight to stage 2, around the right of stage 1 (dashed)
    ctl = "#b35806"
    x_right = X[2] + W + 0.45
    top, bottom = anchor("imagenet", "right"), (X[2] + W, 0.3 + HEIGHT * 0.75)
    ax.plot([top[0], x_right, x_right], [top[1], top[1], bottom[1]], color=ctl, linestyle="--", linewidth=1.3)
    ax.add_patch(
        FancyArrowPatch(
            (x_right, bottom[1]), bottom, arrowstyle="-|>", mutation_scale=14, linewidth=1.3, color=ctl, linestyle="--"
        )
    )
    ax.text(x_right + 0.08, 4.6, "CTL", color=ctl, fontsize=9, ha="left", va="center")
    ax.text(
        0.2, 7.8, "Multistage transfer learning (MSTL) and its baseline (CTL)", fontsize=13, fontweight="bold", va="top"
    )
    ax.text(
        0.2,
        7.25,
        "MSTL (solid): ImageNet -> cancer-cell patches (stage 1) -> breast ultrasound (stage 2).\n"
        "CTL (dashed): ImageNet -> breast ultrasound.",
        fontsize=10,
        va="top",
    )
    fig.savefig(OUT, dpi=110, bbox_inches="tight", facecolor="white")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

"""Figures of mstl_lib.visualize: drawn with the right data, and bad input refused."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.container import BarContainer
from matplotlib.figure import Figure

from mstl_lib import visualize as viz
from mstl_lib.data.segmentation import segment_frame
from mstl_lib.errors import DataError

# --------------------------------------------------------------------------- fake grid results


def fake_result(tl, backbone, optimizer, fold, y_true, y_score, accuracy, auc=None):
    fpr, tpr = viz.roc_points(y_true, y_score)
    return {
        "tl": tl,
        "backbone": backbone,
        "optimizer": optimizer,
        "fold": fold,
        "metrics": {
            "accuracy": accuracy,
            "auc": auc if auc is not None else float(np.trapezoid(tpr, fpr)),
            "loss": 0.4,
            "sensitivity": 0.8,
            "specificity": 0.7,
            "f1": 0.75,
            "tn": 1,
            "fp": 1,
            "fn": 1,
            "tp": 1,
        },
        "roc": {"fpr": fpr.tolist(), "tpr": tpr.tolist()},
        "y_true": list(y_true),
        "y_score": list(y_score),
        "best_epoch": 2,
        "history": {
            "epoch": [0, 1, 2],
            "loss": [0.7, 0.5, 0.4],
            "val_loss": [0.72, 0.6, 0.65],
            "accuracy": [0.5, 0.7, 0.8],
            "val_accuracy": [0.5, 0.65, 0.6],
        },
    }


@pytest.fixture
def grid_results():
    """2 TL types x 2 CNNs x 2 optimizers x 2 folds with known accuracies."""
    rng = np.random.default_rng(0)
    results = []
    accuracy = iter(np.round(np.linspace(0.55, 0.95, 16), 3))
    for tl in ("ctl", "mstl"):
        for backbone in ("inceptionv3", "resnet50"):
            for optimizer in ("adam", "sgd"):
                for fold in range(2):
                    y_true = [0, 0, 0, 1, 1, 1]
                    y_score = list(np.round(rng.uniform(0, 1, 6), 3))
                    results.append(fake_result(tl, backbone, optimizer, fold, y_true, y_score, float(next(accuracy))))
    return results


# --------------------------------------------------------------------------- ROC (Fig. 4)


def test_roc_points_by_hand():
    fpr, tpr = viz.roc_points([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1, 1])
    # tied scores make one diagonal step
    fpr, tpr = viz.roc_points([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9])
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 1, 1])
    with pytest.raises(DataError, match="both classes"):
        viz.roc_points([1, 1], [0.2, 0.3])


def test_roc_pooled_single_fold_draws_the_hand_computed_curve():
    result = fake_result("mstl", "resnet50", "adam", 0, [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.75)
    fig = viz.plot_roc_curves([result])
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    curve = next(line for line in ax.get_lines() if line.get_label().startswith("MSTL"))
    np.testing.assert_allclose(curve.get_xdata(), [0, 0, 0.5, 0.5, 1])
    np.testing.assert_allclose(curve.get_ydata(), [0, 0.5, 0.5, 1, 1])
    np.testing.assert_allclose(curve.get_xdata(), result["roc"]["fpr"])
    np.testing.assert_allclose(curve.get_ydata(), result["roc"]["tpr"])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "MSTL Adam (AUC 0.750)" in legend
    chance = next(line for line in ax.get_lines() if line.get_label().startswith("chance"))
    np.testing.assert_allclose(chance.get_xydata(), [[0, 0], [1, 1]])


def test_roc_pooled_concatenates_folds_and_panels_by_backbone(grid_results):
    fig = viz.plot_roc_curves(grid_results)
    assert [ax.get_title() for ax in fig.axes] == ["ResNet50", "InceptionV3"]
    for ax, backbone in zip(fig.axes, ("resnet50", "inceptionv3")):
        curves = [line for line in ax.get_lines() if not line.get_label().startswith("chance")]
        assert len(curves) == 4  # 2 TL types x 2 optimizers
        for line in curves:
            tl, optimizer = line.get_label().split(" (")[0].split()
            members = [
                r
                for r in grid_results
                if r["backbone"] == backbone
                and viz.ARM_LABELS[r["tl"]] == tl
                and viz.OPTIMIZER_LABELS[r["optimizer"]] == optimizer
            ]
            assert len(members) == 2
            fpr, tpr = viz.roc_points(sum((r["y_true"] for r in members), []), sum((r["y_score"] for r in members), []))
            np.testing.assert_allclose(line.get_xdata(), fpr)
            np.testing.assert_allclose(line.get_ydata(), tpr)
            assert f"AUC {np.trapezoid(tpr, fpr):.3f}" in line.get_label()
            assert line.get_linestyle() == ("-" if tl == "MSTL" else "--")


def test_roc_mean_interpolates_fold_curves(grid_results):
    fig = viz.plot_roc_curves(grid_results, average="mean", panel_by=None, band=True)
    (ax,) = fig.axes
    members = [r for r in grid_results if (r["tl"], r["backbone"], r["optimizer"]) == ("mstl", "resnet50", "sgd")]
    line = next(line for line in ax.get_lines() if line.get_label().startswith("MSTL ResNet50 SGD"))
    grid = np.linspace(0, 1, 101)
    curves = [np.interp(grid, r["roc"]["fpr"], r["roc"]["tpr"]) for r in members]
    for curve in curves:
        curve[0] = 0.0
    expected = np.mean(curves, axis=0)
    expected[-1] = 1.0
    np.testing.assert_allclose(line.get_xdata(), grid)
    np.testing.assert_allclose(line.get_ydata(), expected)
    aucs = [r["metrics"]["auc"] for r in members]
    assert f"AUC {np.mean(aucs):.3f} ± {np.std(aucs, ddof=1):.3f}" in line.get_label()
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 8  # one band per curve


def test_roc_bad_input():
    with pytest.raises(DataError, match="empty"):
        viz.plot_roc_curves([])
    with pytest.raises(DataError, match="y_score"):
        viz.plot_roc_curves([{"tl": "ctl", "backbone": "resnet50", "optimizer": "sgd", "y_true": [0, 1]}])
    one_class = fake_result("ctl", "resnet50", "sgd", 0, [0, 1], [0.2, 0.4], 1.0)
    one_class["y_true"] = [1, 1]
    with pytest.raises(DataError, match="both classes"):
        viz.plot_roc_curves([one_class])
    with pytest.raises(DataError, match="average"):
        viz.plot_roc_curves([one_class], average="median")


# --------------------------------------------------------------------------- Fig. 5


def test_optimizer_backbone_bars_are_the_mean_accuracies(grid_results):
    fig = viz.plot_optimizer_backbone_effects(grid_results)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["MSTL", "CTL"]
    for ax, tl in zip(axes, ("mstl", "ctl")):
        assert [t.get_text() for t in ax.get_xticklabels()] == ["ResNet50", "InceptionV3"]
        containers = [c for c in ax.containers if isinstance(c, BarContainer)]
        assert [c.get_label() for c in containers] == ["SGD", "Adam"]
        for container, optimizer in zip(containers, ("sgd", "adam")):
            heights = [bar.get_height() for bar in container]
            expected = []
            for backbone in ("resnet50", "inceptionv3"):
                values = [
                    100 * r["metrics"]["accuracy"]
                    for r in grid_results
                    if (r["tl"], r["backbone"], r["optimizer"]) == (tl, backbone, optimizer)
                ]
                expected.append(np.mean(values))
            np.testing.assert_allclose(heights, expected)
            # error bars: mean +- sample std
            segments = container.errorbar.lines[2][0].get_segments()
            for segment, backbone in zip(segments, ("resnet50", "inceptionv3")):
                values = [
                    100 * r["metrics"]["accuracy"]
                    for r in grid_results
                    if (r["tl"], r["backbone"], r["optimizer"]) == (tl, backbone, optimizer)
                ]
                np.testing.assert_allclose(segment[1, 1] - segment[0, 1], 2 * np.std(values, ddof=1))
    legend_texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend_texts == ["SGD", "Adam"]


def test_optimizer_backbone_bad_input(grid_results):
    with pytest.raises(DataError, match="empty"):
        viz.plot_optimizer_backbone_effects([])
    with pytest.raises(DataError, match="'precision'"):
        viz.plot_optimizer_backbone_effects(grid_results, metric="precision")
    with pytest.raises(DataError, match="lacks"):
        viz.plot_optimizer_backbone_effects([{"tl": "ctl"}])


# --------------------------------------------------------------------------- learning curves, confusion


def test_learning_curves_from_a_result(grid_results):
    result = grid_results[0]
    fig = viz.plot_learning_curves(result)
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_title() == "Loss" and acc_ax.get_title() == "Accuracy"
    lines = {line.get_label(): line for line in loss_ax.get_lines()}
    np.testing.assert_allclose(lines["training"].get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(lines["validation"].get_ydata(), result["history"]["val_loss"])
    np.testing.assert_allclose(lines["best epoch (2)"].get_xdata(), [2, 2])
    assert fig.get_suptitle() == "CTL InceptionV3 Adam, fold 0"
    acc_lines = {line.get_label(): line for line in acc_ax.get_lines()}
    np.testing.assert_allclose(acc_lines["training"].get_ydata(), result["history"]["accuracy"])


def test_learning_curves_bad_input():
    with pytest.raises(DataError, match="empty"):
        viz.plot_learning_curves({})
    with pytest.raises(DataError, match="different lengths"):
        viz.plot_learning_curves({"loss": [1, 2], "val_loss": [1]})
    with pytest.raises(DataError, match="best_epoch"):
        viz.plot_learning_curves({"loss": [1, 2]}, best_epoch=5)
    with pytest.raises(DataError, match="neither"):
        viz.plot_learning_curves({"lr": [0.1]})
    fig = viz.plot_learning_curves({"loss": [1.0, 0.5]})  # no accuracy: one panel
    assert len(fig.axes) == 1


def test_confusion_matrix_counts_and_rates():
    fig = viz.plot_confusion_matrix([[8, 2], [1, 9]], ["benign", "malignant"])
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == ["1", "2", "8", "9"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["benign", "malignant"]
    np.testing.assert_array_equal(ax.images[0].get_array(), [[8, 2], [1, 9]])
    fig = viz.plot_confusion_matrix(np.array([[8, 2], [1, 9]]), ["benign", "malignant"], normalize=True)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), [[0.8, 0.2], [0.1, 0.9]])
    assert "0.80\n(8)" in [t.get_text() for t in fig.axes[0].texts]
    with pytest.raises(DataError, match="square"):
        viz.plot_confusion_matrix([[1, 2, 3], [4, 5, 6]], ["a", "b"])
    with pytest.raises(DataError, match="class names"):
        viz.plot_confusion_matrix([[1, 2], [3, 4]], ["a", "b", "c"])
    with pytest.raises(DataError, match="non-negative"):
        viz.plot_confusion_matrix([[1, -2], [3, 4]], ["a", "b"])


# --------------------------------------------------------------------------- images


def test_image_grid_layout_and_titles():
    images = [np.full((10, 12), i * 20, np.uint8) for i in range(7)]
    fig = viz.plot_image_grid(images, titles=[f"#{i}" for i in range(7)], ncols=3)
    assert len(fig.axes) == 9
    visible = [ax for ax in fig.axes if ax.axison]
    assert len(visible) == 7
    assert [ax.get_title() for ax in visible] == [f"#{i}" for i in range(7)]
    np.testing.assert_array_equal(visible[3].images[0].get_array(), images[3])
    # an N x H x W x 3 stack is N images; one H x W x 3 array is one image
    assert len(viz.plot_image_grid(np.zeros((4, 8, 8, 3), np.uint8), ncols=4).axes) == 4
    assert len(viz.plot_image_grid(np.zeros((8, 8, 3), np.uint8)).axes) == 1
    with pytest.raises(DataError, match="empty"):
        viz.plot_image_grid([])
    with pytest.raises(DataError, match="titles"):
        viz.plot_image_grid(images, titles=["a"])
    with pytest.raises(DataError, match="shape"):
        viz.plot_image_grid([np.zeros((4, 4, 5))])


def cell_frame():
    """A gray frame with four dark cell outlines (60-80 px) and one small ring."""
    import cv2

    rng = np.random.default_rng(0)
    frame = np.clip(rng.normal(170, 3, (240, 320)), 0, 255).astype(np.uint8)
    for (x, y), (a, b) in zip([(60, 60), (200, 70), (90, 170), (250, 180)], [(35, 25), (30, 30), (40, 22), (28, 34)]):
        cv2.ellipse(frame, (x, y), (a, b), 20, 0, 360, 90, 3)
        cv2.circle(frame, (x, y), 8, 110, -1)
    cv2.circle(frame, (160, 125), 16, 80, 5)  # w + h about 70 px: rejected
    return frame


def test_segmentation_steps_figure():
    frame = cell_frame()
    seg = segment_frame(frame, return_intermediates=True)
    assert len(seg.boxes) >= 1
    fig = viz.plot_segmentation_steps(frame, seg, n_patches=3)
    n_strip = min(3, len(seg.patches))
    assert len(fig.axes) == 4 + n_strip
    original, binary, cleaned, boxes = fig.axes[:4]
    np.testing.assert_array_equal(binary.images[0].get_array(), seg.binary)
    np.testing.assert_array_equal(cleaned.images[0].get_array(), seg.cleaned)
    assert f"{len(seg.boxes)} kept (green)" in boxes.get_title()
    drawn = boxes.images[0].get_array()
    box = seg.boxes[0]
    assert tuple(drawn[box.y, box.x]) == (0, 200, 0)  # kept boxes in green
    assert len(seg.rejected) == 1
    small = seg.rejected[0]
    assert tuple(drawn[small.y, small.x]) == (230, 0, 0)  # rejected in red
    with pytest.raises(DataError, match="return_intermediates"):
        viz.plot_segmentation_steps(frame, segment_frame(frame))
    with pytest.raises(DataError, match="Segmentation"):
        viz.plot_segmentation_steps(frame, {"boxes": []})


# --------------------------------------------------------------------------- Fig. 6 and Grad-CAM


def fake_maps(seed):
    rng = np.random.default_rng(seed)
    sizes = [(19, 8), (10, 16), (5, 32), (3, 64), (2, 128)]
    return [(f"stage{k}", rng.random((s, s, c), dtype=np.float32)) for k, (s, c) in enumerate(sizes)]


def test_feature_maps_figure():
    maps = {"MSTL": fake_maps(0), "CTL": fake_maps(1)}
    image = np.zeros((75, 75, 3), np.uint8)
    fig = viz.plot_feature_maps(maps, n_channels=2, image=image)
    # 1 input image + 2 models x 5 stages x (mean + 2 channels)
    assert len(fig.axes) == 1 + 2 * 5 * 3
    assert [sub.get_suptitle() for sub in fig.subfigs[1:]] == ["MSTL", "CTL"]
    ctl_axes = fig.subfigs[2].axes
    layer, array = maps["CTL"][3]
    mean_ax = ctl_axes[3 * 3]
    np.testing.assert_allclose(mean_ax.images[0].get_array(), array.mean(axis=2), rtol=1e-6)
    np.testing.assert_allclose(ctl_axes[3 * 3 + 2].images[0].get_array(), array[:, :, 1])
    assert mean_ax.get_ylabel().startswith("stage3")
    fig = viz.plot_feature_maps(maps, mode="mean", image=image)
    assert len(fig.axes) == 2 * 6
    fig = viz.plot_feature_maps(maps, n_channels=2, select="strongest")
    strongest = int(np.argmax(maps["MSTL"][0][1].mean(axis=(0, 1))))
    assert fig.subfigs[0].axes[1].get_title() == f"channel {strongest}"


def test_feature_maps_bad_input():
    with pytest.raises(DataError, match="non-empty dict"):
        viz.plot_feature_maps({})
    with pytest.raises(DataError, match="empty"):
        viz.plot_feature_maps({"MSTL": []})
    with pytest.raises(DataError, match="HxWxC"):
        viz.plot_feature_maps({"MSTL": [("x", np.zeros(5))]})
    with pytest.raises(DataError, match="pairs"):
        viz.plot_feature_maps({"MSTL": [np.zeros((3, 3, 3))]})


def test_gradcam_figure():
    from mstl_lib.visualize.features import overlay_heatmap

    image = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    heat = np.zeros((5, 5), np.float32)
    heat[2, 2] = 1.0
    fig = viz.plot_gradcam(image, heat, alpha=0.5, title="test")
    assert len(fig.axes) == 4  # image, heat map, overlay, colour bar
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), image)
    np.testing.assert_array_equal(fig.axes[2].images[0].get_array(), overlay_heatmap(image, heat, alpha=0.5))
    assert fig.axes[1].images[0].get_array().shape == (20, 30)
    single = Figure()
    ax = single.subplots()
    assert viz.plot_gradcam(image, heat, axes=ax) is single
    with pytest.raises(DataError, match="heatmap"):
        viz.plot_gradcam(image, np.zeros((2, 2, 2)))
    with pytest.raises(DataError, match="alpha"):
        viz.plot_gradcam(image, heat, alpha=2)


def test_figures_never_touch_pyplot(grid_results):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    viz.plot_roc_curves(grid_results)
    viz.plot_optimizer_backbone_effects(grid_results)
    assert plt.get_fignums() == before


def test_figures_display_as_png_in_ipython():
    """A returned Figure shows as an image in Jupyter without pyplot or %matplotlib."""
    InteractiveShell = pytest.importorskip("IPython.core.interactiveshell").InteractiveShell
    shell = InteractiveShell.instance()
    try:
        assert viz.common.register_ipython_display()
        data, _ = shell.display_formatter.format(viz.plot_confusion_matrix([[1, 2], [3, 4]], ["a", "b"]))
        assert data["image/png"][:4] == b"\x89PNG"
    finally:
        InteractiveShell.clear_instance()


def test_score_histograms_count_each_class_and_mark_the_threshold():
    records = {
        "MSTL": {"y_true": [0, 0, 0, 1, 1], "y_score": [0.1, 0.2, 0.7, 0.8, 0.9]},
        "CTL": {"y_true": [0, 1, 1, 0, 1], "y_score": [0.6, 0.6, 0.6, 0.6, 0.6]},  # collapsed
    }
    fig = viz.plot_score_histograms(records, title="fold 0", threshold=0.5, bins=10)
    assert [ax.get_title() for ax in fig.axes] == ["MSTL: fold 0", "CTL: fold 0"]
    for ax, record in zip(fig.axes, records.values()):
        benign, malignant = ax.containers  # stacked: malignant bars sit on the benign ones
        y_true = np.array(record["y_true"])
        assert sum(bar.get_height() for bar in benign) == (y_true == 0).sum()
        assert sum(bar.get_height() for bar in malignant) == (y_true == 1).sum()
        assert [tuple(line.get_xdata()) for line in ax.lines] == [(0.5, 0.5)]
    with pytest.raises(DataError, match="non-empty dict"):
        viz.plot_score_histograms({})
    with pytest.raises(DataError, match="threshold"):
        viz.plot_score_histograms(records, threshold=2)


def test_learning_curves_plot_the_quantity_that_picks_the_epoch():
    history = {
        "epoch": [0, 1, 2],
        "loss": [0.7, 0.5, 0.4],
        "val_loss": [0.6, 0.7, 0.9],
        "accuracy": [0.5, 0.7, 0.8],
        "val_accuracy": [0.5, 0.6, 0.6],
        "auc": [0.5, 0.8, 0.9],
        "val_auc": [0.6, 0.8, 0.7],
    }
    fig = viz.plot_learning_curves(history, best_epoch=2, monitor="val_auc")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["Loss", "Accuracy", "AUC (picks the epoch)"]
    auc_ax = fig.axes[2]
    star = [line for line in auc_ax.get_lines() if line.get_marker() == "*"][0]
    assert star.get_ydata()[0] == 0.8 and star.get_xdata()[0] == 2  # the star sits on the best validation AUC
    with pytest.raises(DataError, match="monitor='val_f1'"):
        viz.plot_learning_curves(history, monitor="val_f1")

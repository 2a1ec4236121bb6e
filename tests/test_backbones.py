"""One spec per backbone (mstl_lib.backbones): every backbone table of the library is computed from it."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mstl_lib
from mstl_lib import profiles
from mstl_lib.backbones import BACKBONE_SPECS, BackboneSpec, ImageNetWeights, backbone_names, get_spec
from mstl_lib.errors import DataError
from mstl_lib.visualize.common import BACKBONE_LABELS

PACKAGE = Path(mstl_lib.__file__).parent
REPO = PACKAGE.parent
PAPER = ("resnet50", "inceptionv3", "efficientnetb2")  # Ayana et al. (2022), section 2.2


def _spec(**changes) -> dict:
    fields = dict(
        name="tiny",
        label="Tiny",
        in_paper=False,
        preprocessing="tf",
        feature_layers=("a_out", "b_out"),
        extra_stage_layers=(),
        depth_pattern=r"(\d+)",
        trunk="mstl_lib.models.networks:resnet10_trunk",
    )
    return {**fields, **changes}


def test_the_registry_holds_the_papers_three_backbones_and_the_classroom_network():
    assert backbone_names(in_paper=True) == profiles.BACKBONES == PAPER
    assert backbone_names(in_paper=False) == profiles.LAB_BACKBONES == ("resnet10",)
    assert set(profiles.ALL_BACKBONES) == set(BACKBONE_SPECS)
    assert {get_spec(name).keras_application for name in PAPER} == {"ResNet50", "InceptionV3", "EfficientNetB2"}
    assert all(BACKBONE_SPECS[name].has_imagenet_weights for name in PAPER)
    assert not BACKBONE_SPECS["resnet10"].has_imagenet_weights and BACKBONE_SPECS["resnet10"].trunk
    with pytest.raises(DataError, match="resnet50, inceptionv3, efficientnetb2, resnet10"):
        get_spec("vgg16")


def test_signatures_recognise_one_backbone_each():
    signatures = [spec.signature for spec in BACKBONE_SPECS.values()]
    assert len(set(signatures)) == len(signatures)
    for spec in BACKBONE_SPECS.values():
        assert spec.signature in spec.feature_layers + spec.extra_stage_layers
        others = {layer for other in BACKBONE_SPECS.values() if other is not spec for layer in other.feature_layers}
        assert spec.signature not in others


def test_layer_depth_orders_each_backbones_stages():
    spec = get_spec("resnet50")
    assert spec.layer_depth("conv1_relu") < spec.layer_depth("conv2_block3_out") < spec.layer_depth("conv3_block1_out")
    assert spec.layer_depth("conv3_block4_out") == pytest.approx(3.04)
    spec = get_spec("efficientnetb2")
    assert spec.layer_depth("stem_activation") < spec.layer_depth("block1b_add") < spec.layer_depth("block2c_add")
    assert spec.layer_depth("block5d_add") == pytest.approx(5.03) and spec.layer_depth("top_activation") == 100
    for spec in BACKBONE_SPECS.values():
        depths = [spec.layer_depth(name) for name in spec.feature_layers]
        assert depths == sorted(depths) and len(set(depths)) == len(depths), spec.name


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(keras_application="ResNet50"), "exactly one"),
        (dict(trunk=None), "exactly one"),
        (dict(trunk="resnet10_trunk"), "module:function"),
        (dict(preprocessing="torch"), "preprocessing"),
        (dict(feature_layers=()), "feature_layers"),
        (dict(depth_pattern="stage"), "group"),
        (dict(name="Tiny"), "lower case"),
    ],
)
def test_a_spec_that_cannot_work_is_refused_when_written(changes, message):
    with pytest.raises(DataError, match=message):
        BackboneSpec(**_spec(**changes))


def test_tables_without_tensorflow_agree_with_the_specs():
    assert {k: v for k, v in BACKBONE_LABELS.items() if k in BACKBONE_SPECS} == {
        name: spec.label for name, spec in BACKBONE_SPECS.items()
    }
    assert set(BACKBONE_LABELS) - set(BACKBONE_SPECS) == {profiles.BASELINE_CONFIG[0]}


def test_tables_of_the_models_agree_with_the_specs():
    pytest.importorskip("keras")
    from mstl_lib.models import features, networks, preprocessing, weights

    for name, spec in BACKBONE_SPECS.items():
        assert networks.FEATURE_LAYERS[name] == spec.feature_layers
        assert networks.LAST_CONV_LAYER[name] == spec.feature_layers[-1]
        assert preprocessing.PREPROCESSING_MODES[name] == spec.preprocessing
        assert features.EXTRA_STAGE_LAYERS[name] == spec.extra_stage_layers
        assert features._SIGNATURE_LAYERS[name] == spec.signature
        if spec.has_imagenet_weights:
            assert weights.imagenet_weights_info(name) == spec.imagenet
        else:
            with pytest.raises(DataError, match="no ImageNet weights"):
                weights.imagenet_weights_info(name)
    assert preprocessing.BackbonePreprocessing.MODES == ("caffe", "tf", "none")
    assert isinstance(weights.imagenet_weights_info("resnet50"), ImageNetWeights)


def test_the_five_stages_of_fig6_are_unchanged():
    """Ayana et al. (2022), Fig. 6: five stages per backbone, shallow to deep (the list in features' docstring)."""
    pytest.importorskip("keras")
    from mstl_lib.models.features import conv_stage_layers

    assert conv_stage_layers("resnet50") == [
        "conv1_relu",
        "conv2_block3_out",
        "conv3_block4_out",
        "conv4_block6_out",
        "conv5_block3_out",
    ]
    assert conv_stage_layers("inceptionv3") == ["mixed0", "mixed2", "mixed3", "mixed7", "mixed10"]
    assert conv_stage_layers("efficientnetb2") == [
        "block2c_add",
        "block3c_add",
        "block5d_add",
        "block7b_add",
        "top_activation",
    ]
    assert conv_stage_layers("resnet10") == ["stem_relu", "stage1_out", "stage2_out", "stage3_out", "stage4_out"]


def _backbone_literals(path: Path, root: Path = REPO) -> list[str]:
    """Dict literals keyed by a backbone name, and sequences naming two or more: tables of their own."""
    names = set(BACKBONE_SPECS)
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Dict):
            strings = [k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
            hit = any(s in names for s in strings)
        elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            strings = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
            hit = len([s for s in strings if s in names]) >= 2
        else:
            continue
        if hit:
            found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_no_module_keeps_its_own_backbone_table():
    """Only mstl_lib/backbones.py lists backbones; every other table is derived from its specs."""
    sources = [*PACKAGE.rglob("*.py"), *(REPO / "benchmarks").glob("*.py")]
    own = [hit for path in sorted(sources) if path.name != "backbones.py" for hit in _backbone_literals(path)]
    assert own == [], "derive these from mstl_lib.backbones.BACKBONE_SPECS:\n" + "\n".join(own)


def test_the_table_finder_finds_a_table(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text('A = {"resnet50": 1}\nB = ("resnet10", "inceptionv3")\nC = ("resnet10",)\nD = "resnet50"\n')
    assert _backbone_literals(probe, tmp_path) == ["probe.py:1", "probe.py:2"]


_ADD_ONE_ENTRY = """
import json
from mstl_lib import backbones

spec = backbones.BackboneSpec(
    name="tiny", label="Tiny", in_paper=False, preprocessing="caffe",
    feature_layers=("stage2_out", "stage4_out"), extra_stage_layers=("stage1_out", "stage3_out", "stem_relu"),
    depth_pattern=r"stage(\\d+)", signature_layer="stage3_out",
    trunk="mstl_lib.models.networks:resnet10_trunk",
)
backbones.BACKBONE_SPECS["tiny"] = spec  # the one entry, as if written in backbones.py

from mstl_lib import profiles
from mstl_lib.models import features, networks, preprocessing, weights
from mstl_lib.visualize.common import BACKBONE_LABELS, BACKBONE_ORDER

model = networks.build_backbone("tiny")
print(json.dumps({
    "all": profiles.ALL_BACKBONES, "lab": profiles.LAB_BACKBONES, "paper": profiles.BACKBONES,
    "feature": networks.FEATURE_LAYERS["tiny"], "last": networks.LAST_CONV_LAYER["tiny"],
    "mode": preprocessing.PREPROCESSING_MODES["tiny"], "built_mode": model.get_layer("preprocess").mode,
    "extra": features.EXTRA_STAGE_LAYERS["tiny"], "stages": features.conv_stage_layers("tiny"),
    "label": BACKBONE_LABELS["tiny"], "order": BACKBONE_ORDER, "imagenet": sorted(weights._IMAGENET_WEIGHTS),
    "output": list(model.output.shape[1:]),
}))
"""


def test_adding_a_backbone_is_one_entry_in_the_registry():
    """A spec added to BACKBONE_SPECS, before the rest is imported, reaches every table and the builder."""
    pytest.importorskip("keras")
    code = textwrap.dedent(_ADD_ONE_ENTRY)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["all"] == [*PAPER, "resnet10", "tiny"] and got["lab"] == ["resnet10", "tiny"]
    assert got["paper"] == list(PAPER)
    assert got["feature"] == ["stage2_out", "stage4_out"] and got["last"] == "stage4_out"
    assert got["mode"] == got["built_mode"] == "caffe"
    assert got["extra"] == ["stage1_out", "stage3_out", "stem_relu"]
    assert got["stages"] == ["stem_relu", "stage1_out", "stage2_out", "stage3_out", "stage4_out"]
    assert got["label"] == "Tiny" and "tiny" in got["order"]
    assert got["imagenet"] == sorted(PAPER)
    assert got["output"] == [5, 5, 128]

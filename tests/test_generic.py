"""The generic stage (FractalDB-style pretraining): cache, reuse, loading, profiles."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from mstl_lib.errors import DataError
from mstl_lib.models.networks import build_backbone
from mstl_lib.models.weights import keras_weights_dir
from mstl_lib.profiles import get_profile
from mstl_lib.training import generic

pytestmark = pytest.mark.slow
TINY = replace(get_profile("smoke"), generic_categories=4, generic_per_category=10, epochs_generic=1)


@pytest.fixture(scope="module")
def cached():
    logged = []
    path = generic.ensure_generic_weights("resnet10", TINY, seed=3, log=logged.append)
    return path, logged


def test_weights_land_in_keras_cache_under_a_name_that_says_what_they_are(cached):
    path, logged = cached
    assert path.parent == keras_weights_dir()
    assert path.name == "mstl-fractaldb-4x10-resnet10-75px-e1-seed3.weights.h5"
    assert path.is_file() and not list(path.parent.glob("*.partial*"))
    summary = generic.generic_summary(path)
    assert summary["categories"] == 4 and summary["backbone"] == "resnet10" and summary["seed"] == 3
    assert 0.0 <= summary["val_accuracy"] <= 1.0
    assert len(logged) == 2 and "fractal" in logged[0]


def test_second_call_reuses_the_cache(cached):
    path, _ = cached
    before = path.stat().st_mtime_ns
    logged = []
    again = generic.ensure_generic_weights("resnet10", TINY, seed=3, log=logged.append)
    assert again == path and path.stat().st_mtime_ns == before and logged == []


def test_cached_weights_load_into_the_backbone_and_differ_from_random(cached):
    path, _ = cached
    loaded = build_backbone("resnet10", weights=path)
    fresh = build_backbone("resnet10", weights=None)
    kernel = "stem_conv"
    assert not np.allclose(loaded.get_layer(kernel).get_weights()[0], fresh.get_layer(kernel).get_weights()[0])
    again = build_backbone("resnet10", weights=path)
    np.testing.assert_array_equal(loaded.get_layer(kernel).get_weights()[0], again.get_layer(kernel).get_weights()[0])


def test_settings_change_the_file_name():
    names = {generic.generic_weights_path("resnet10", TINY, seed=s).name for s in (0, 1)}
    names.add(generic.generic_weights_path("resnet10", replace(TINY, epochs_generic=2)).name)
    assert len(names) == 3


def test_resolve_passes_other_settings_through(cached):
    assert generic.resolve_initial_weights(None, "resnet10", TINY) is None
    assert generic.resolve_initial_weights("imagenet", "resnet50", TINY) == "imagenet"
    assert generic.resolve_initial_weights("fractaldb", "resnet10", TINY, seed=3) == cached[0]


def test_profile_without_generic_stage_is_refused():
    with pytest.raises(DataError, match="generic stage"):
        generic.ensure_generic_weights("resnet10", get_profile("paper"))


def test_offline_profiles_use_the_generic_stage_and_the_paper_profile_imagenet():
    assert get_profile("lab").weights == get_profile("smoke").weights == generic.GENERIC_WEIGHTS
    assert get_profile("paper").weights == "imagenet"
    assert get_profile("paper").backbones == ("resnet50", "inceptionv3", "efficientnetb2")
    record = json.loads(json.dumps(get_profile("lab").to_dict()))
    assert record["arms"] == ["scratch", "ctl", "mstl", "baseline"]

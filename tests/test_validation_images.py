"""The one image check and the one 8-bit stretch (mstl_lib.validation), shared by every caller."""

import re

import numpy as np
import pytest

from mstl_lib.errors import DataError
from mstl_lib.validation import check_image, check_odd_block_size, stretch_to_uint8


def test_check_image_accepts_gray_rgb_and_batches():
    assert check_image(np.zeros((4, 5), np.uint8)).shape == (4, 5)
    assert check_image(np.zeros((4, 5, 1), np.uint8)).shape == (4, 5)  # H x W x 1 is grayscale
    assert check_image(np.zeros((4, 5, 3), np.float32)).shape == (4, 5, 3)
    assert check_image(np.zeros((2, 4, 5, 3), np.uint8), batch=True).shape == (2, 4, 5, 3)
    assert check_image([[1, 2], [3, 4]]).dtype.kind == "i"


@pytest.mark.parametrize(
    "image, kwargs, words",
    [
        (np.zeros((4, 5, 2), np.uint8), {}, [r"frame has shape \(4, 5, 2\)", "H x W x 3", "Fix: convert"]),
        (np.zeros((2, 4, 5, 3), np.uint8), {}, [r"\(2, 4, 5, 3\)", "one image"]),
        (np.zeros((4, 5, 3), np.uint8), {"batch": True, "channels": (3,)}, ["N x H x W x 3"]),
        (np.zeros((4, 5), bool), {}, ["dtype bool", "Fix: convert"]),
        (np.zeros((4, 5), np.float32), {"dtypes": (np.uint8, np.uint16)}, ["float32", "uint8 or uint16"]),
        (np.zeros((0, 5), np.uint8), {}, ["empty"]),
        (np.array([["a"]]), {}, ["dtype <U1"]),
    ],
)
def test_check_image_names_argument_shape_and_fix(image, kwargs, words):
    with pytest.raises(DataError) as info:
        check_image(image, "frame", fix="convert it.", **kwargs)
    for word in words:
        assert re.search(word, str(info.value)), (word, str(info.value))


def test_stretch_matches_the_float32_formula_it_replaces():
    for lo, hi in [(0, 65535), (0, 4095), (100, 4095), (3, 258)]:
        x = np.arange(lo, hi + 1, dtype=np.uint16)
        before = np.clip(np.rint((x.astype(np.float32) - lo) * (255.0 / (hi - lo))), 0, 255).astype(np.uint8)
        np.testing.assert_array_equal(stretch_to_uint8(x), before)


def test_stretch_is_identity_on_full_range_8bit_and_zero_on_constant():
    x = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_array_equal(stretch_to_uint8(x), x)
    np.testing.assert_array_equal(stretch_to_uint8(x, 0, 255), x)
    assert stretch_to_uint8(np.full((3, 3), 7, np.uint16)).max() == 0
    assert stretch_to_uint8(np.array([0.0, 0.5, 1.0])).tolist() == [0, 128, 255]


def test_odd_block_size():
    assert check_odd_block_size(51) == 51
    with pytest.raises(DataError, match="block_size must be odd.*49 or 51"):
        check_odd_block_size(50)
    with pytest.raises(DataError, match=">= 3"):
        check_odd_block_size(1)

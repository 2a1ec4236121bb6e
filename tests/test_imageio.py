"""Reading images of every format and failing clearly on bad files."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_image
from PIL import Image

from mstl_lib.data.images import is_image_file, is_system_file, load_image, read_image, to_network_input
from mstl_lib.errors import DataError, ImageReadError


@pytest.mark.parametrize("ext", [".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".PNG", ".JPG", ".Bmp"])
def test_reads_common_formats_and_upper_case_endings(tmp_path, ext):
    path = write_image(tmp_path / f"img{ext}", size=(30, 40))
    image = read_image(path)
    assert image.shape == (30, 40, 3) and image.dtype == np.uint8
    assert is_image_file(path)


def test_grayscale_is_replicated_to_three_channels(tmp_path):
    gray = np.tile(np.arange(64, dtype=np.uint8) * 4, (20, 1))
    path = tmp_path / "gray.png"
    Image.fromarray(gray).save(path)
    image = read_image(path)
    assert image.shape == (20, 64, 3)
    assert (
        np.array_equal(image[..., 0], gray)
        and np.array_equal(image[..., 1], gray)
        and np.array_equal(image[..., 2], gray)
    )


def test_16_bit_is_scaled_so_its_maximum_becomes_255(tmp_path):
    array = np.zeros((20, 20), dtype=np.uint16)
    array[5:10, 5:10] = 4000
    array[0, 0] = 1000
    path = tmp_path / "deep.png"
    Image.fromarray(array).save(path)
    assert Image.open(path).mode.startswith("I")
    image = read_image(path)
    assert image.dtype == np.uint8
    assert image[7, 7, 0] == 255 and image[15, 15, 0] == 0
    assert image[0, 0, 0] == round(1000 * 255 / 4000)


def test_rgba_is_composited_over_black(tmp_path):
    rgba = np.zeros((20, 20, 4), dtype=np.uint8)
    rgba[..., :3] = 200
    rgba[:10, :, 3] = 255  # opaque top half
    rgba[10:, :, 3] = 0  # transparent bottom half
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, mode="RGBA").save(path)
    image = read_image(path)
    assert image.shape == (20, 20, 3)
    assert (image[:10] == 200).all() and (image[10:] == 0).all()


def test_palette_image(tmp_path):
    path = write_image(tmp_path / "palette.png", size=(24, 24), mode="P")
    assert Image.open(path).mode == "P"
    image = read_image(path)
    assert image.shape == (24, 24, 3)
    assert np.array_equal(image, np.asarray(Image.open(path).convert("RGB")))


def test_zero_byte_file_names_the_file_and_the_fix(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageReadError, match=r"empty\.png.*empty \(0 bytes\).*Fix:") as info:
        read_image(path)
    assert info.value.path == path


def test_text_file_named_png(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not an image\n")
    with pytest.raises(ImageReadError, match=r"(?s)notes\.png.*not an image.*Fix:"):
        read_image(path)


def test_truncated_png(tmp_path):
    full = write_image(tmp_path / "full.png", size=(64, 64))
    data = full.read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match=r"(?s)cut\.png.*truncated.*Fix:"):
        read_image(cut)


def test_tiny_image_is_refused(tmp_path):
    path = write_image(tmp_path / "icon.png", size=(8, 8))
    with pytest.raises(ImageReadError, match=r"only 8x8 pixels"):
        read_image(path)


def test_huge_image_loads_and_shrinks(tmp_path):
    array = np.zeros((3000, 4000, 3), dtype=np.uint8)
    array[1000:2000, 1500:2500] = 255
    path = write_image(tmp_path / "huge.png", array)
    image = load_image(path)
    assert image.shape == (75, 75, 3)
    assert image[37, 37, 0] == 255 and image[2, 2, 0] == 0


def test_decompression_bomb_is_refused(tmp_path, monkeypatch):
    path = write_image(tmp_path / "big.png", size=(200, 200))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ImageReadError, match=r"too large to read safely"):
        read_image(path)


def test_missing_file(tmp_path):
    with pytest.raises(ImageReadError, match="no such file"):
        read_image(tmp_path / "nope.png")


def test_system_files_are_recognised():
    assert is_system_file("Thumbs.db") and is_system_file(".DS_Store") and is_system_file("x/._hidden.png")
    assert not is_image_file("Thumbs.db") and not is_image_file("notes.txt")


def test_to_network_input_shapes_and_errors():
    assert to_network_input(np.zeros((300, 200, 3), np.uint8)).shape == (75, 75, 3)
    assert to_network_input(np.zeros((30, 20), np.uint8), 75).shape == (75, 75, 3)
    with pytest.raises(DataError, match="uint8"):
        to_network_input(np.zeros((30, 20, 3), np.float32))
    with pytest.raises(DataError, match="empty"):
        to_network_input(np.zeros((0, 20, 3), np.uint8))

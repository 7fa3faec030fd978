"""No location leaves the machine: PNG, WebP and GIF files built byte by byte, stripped, and read back."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pierrot.adapters.images.exif import ImageRefused, display_size, has_location, image_size, strip_location
from tests.exif_samples import (
    EXIF_FLAG,
    GIF_FRAME,
    GIF_HEADER,
    GIF_LOOP,
    ICC_FLAG,
    ICCP,
    PNG_COLOUR,
    PNG_DATA,
    PNG_HEADER,
    VP8L,
    assert_no_gps,
    assert_only_the_allowed_tags,
    make_gif,
    make_png,
    make_webp,
    png_chunk,
    png_exif,
    riff,
    riff_chunk,
    vp8x,
)

# --- PNG --------------------------------------------------------------------------------------


def test_png_keeps_its_image_colour_and_orientation_and_nothing_else() -> None:
    original = make_png()
    assert has_location(original)

    stripped = strip_location(original)

    assert stripped.startswith(PNG_HEADER + PNG_COLOUR) and stripped.endswith(PNG_DATA)
    assert_no_gps(stripped, ">")
    assert_only_the_allowed_tags(png_exif(stripped), ">")
    assert strip_location(stripped) == stripped
    assert image_size(stripped) == (3, 2)
    assert display_size(stripped) == (2, 3)  # turned a quarter, as browsers show it


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-12],  # no IEND
        lambda data: data[: data.index(b"IDAT") + 10],  # cut inside the image data
        lambda data: PNG_HEADER + png_chunk(b"IEND", b""),  # no image data at all
        lambda data: data.replace(b"IDAT", b"IDAT"[:3] + b"X"),  # the data chunk renamed: unknown, so dropped
        lambda data: data[:-20] + bytes([data[-20] ^ 1]) + data[-19:],  # a damaged IDAT
    ],
)
def test_a_png_cut_short_or_without_image_data_is_refused(damage: Callable[[bytes], bytes]) -> None:
    damaged = damage(make_png())
    with pytest.raises(ImageRefused):
        strip_location(damaged)


def test_a_damaged_ancillary_chunk_goes_and_data_after_the_end_too() -> None:
    damaged_text = png_chunk(b"gAMA", b"\x00\x00\xb1\x8f")[:-1] + b"\x00"
    original = PNG_HEADER + damaged_text + PNG_DATA + b"Exif\x00\x00 Paris"
    assert strip_location(original) == PNG_HEADER + PNG_DATA

# --- WebP -------------------------------------------------------------------------------------


def test_webp_keeps_its_image_colour_and_orientation_and_nothing_else() -> None:
    original = make_webp()
    assert has_location(original)

    stripped = strip_location(original)

    start = stripped.index(b"EXIF") + 8
    exif = stripped[start : start + int.from_bytes(stripped[start - 4 : start], "little")]
    assert stripped == riff(vp8x(ICC_FLAG | EXIF_FLAG, 3, 2), ICCP, VP8L, riff_chunk(b"EXIF", exif))
    assert_only_the_allowed_tags(exif, "<")
    assert int.from_bytes(stripped[4:8], "little") == len(stripped) - 8
    assert_no_gps(stripped, "<")
    assert strip_location(stripped) == stripped
    assert image_size(stripped) == (3, 2)
    assert display_size(stripped) == (2, 3)


def test_a_simple_webp_is_returned_unchanged() -> None:
    lossy = riff(riff_chunk(b"VP8 ", b"\x10\x02\x00\x9d\x01\x2a" + (0x4000 | 300).to_bytes(2, "little") + b"\xc8\x00"))
    assert not has_location(lossy)
    assert strip_location(lossy) == lossy
    assert image_size(lossy) == (300, 200)


@pytest.mark.parametrize("data", [make_webp()[:-30], riff(ICCP), riff(VP8L)[:-3]])
def test_a_webp_cut_short_or_without_image_is_refused(data: bytes) -> None:
    with pytest.raises(ImageRefused):
        strip_location(data)

# --- GIF --------------------------------------------------------------------------------------


def test_gif_keeps_its_frames_and_looping_and_nothing_else() -> None:
    stripped = strip_location(make_gif())
    assert stripped == GIF_HEADER + GIF_LOOP + GIF_FRAME + GIF_FRAME + b";"
    assert_no_gps(stripped, "<")
    assert image_size(stripped) == (5, 7)


@pytest.mark.parametrize("data", [make_gif()[:-1], make_gif()[:-5], GIF_HEADER + b";", GIF_HEADER + b"\x00;"])
def test_a_gif_cut_short_or_without_frame_is_refused(data: bytes) -> None:
    with pytest.raises(ImageRefused):
        strip_location(data)


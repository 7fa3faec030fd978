"""No location leaves the machine: JPEG files and EXIF built byte by byte, stripped, and read back."""

from __future__ import annotations

import random
import stat
import struct
import time
import tracemalloc
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest

from pierrot.adapters.images.exif import (
    Camera,
    ImageRefused,
    camera,
    display_size,
    has_location,
    image_size,
    strip_location,
    strip_location_file,
)
from tests.exif_samples import (
    ADOBE,
    EXIF_IFD,
    FOREIGN_SEGMENTS,
    GIF_HEADER,
    GPS_IFD,
    GPS_LATITUDE,
    ICC,
    IMAGE_HEADERS,
    IPTC,
    JFIF,
    LATITUDE,
    LONG,
    MAKE,
    MODEL,
    ORDERS,
    ORIENTATION,
    PIXEL_HEIGHT,
    PIXEL_WIDTH,
    PNG_DATA,
    PNG_HEADER,
    RATIONAL,
    SCAN,
    SHORT,
    UNDEFINED,
    VP8L,
    X_RESOLUTION,
    XMP,
    Exif,
    assert_no_gps,
    assert_only_the_allowed_tags,
    entry_position,
    exif_of,
    huffman_table,
    jpeg_segments,
    make_exif,
    make_gif,
    make_jpeg,
    make_png,
    make_webp,
    patch,
    rationals,
    read_tiff,
    riff,
    scan_of,
    segment,
    vp8x,
)


@pytest.mark.parametrize("order", ORDERS)
def test_jpeg_keeps_only_the_camera_orientation_and_exposure(order: str) -> None:
    original = make_jpeg(make_exif(order).tiff)
    assert has_location(original)
    assert rationals(order, LATITUDE) in original

    stripped = strip_location(original)

    assert_no_gps(stripped, order)
    tiff = exif_of(stripped)
    assert tiff is not None and tiff[:2] == (b"II" if order == "<" else b"MM")
    # No maker note, user comment, description, date, time zone, interoperability, GPS or thumbnail.
    assert_only_the_allowed_tags(tiff, order)
    assert display_size(stripped) == (PIXEL_HEIGHT, PIXEL_WIDTH)


@pytest.mark.parametrize("order", ORDERS)
def test_jpeg_keeps_what_decodes_the_image_byte_for_byte_and_drops_every_other_segment(order: str) -> None:
    original = make_jpeg(make_exif(order).tiff)
    stripped = strip_location(original)

    assert scan_of(stripped) == scan_of(original)
    markers = [marker for marker, _ in jpeg_segments(stripped)]
    assert markers == [0xE0, 0xE1, 0xE2, 0xEE, 0xDB, 0xC0, 0xC4, 0xC4, 0xDD, 0xDA]
    assert stripped.startswith(b"\xff\xd8" + segment(0xE0, JFIF))
    assert segment(0xE2, ICC) + segment(0xEE, ADOBE) + IMAGE_HEADERS + SCAN in stripped
    assert image_size(stripped) == image_size(original) == (PIXEL_WIDTH, PIXEL_HEIGHT)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("gps_in", [("ifd1",), ("exif",), ("ifd0", "exif"), ("ifd0", "ifd1", "exif")])
def test_gps_goes_wherever_it_is_pointed_to(order: str, gps_in: tuple[str, ...]) -> None:
    stripped = strip_location(make_jpeg(make_exif(order, gps_in).tiff))

    assert_no_gps(stripped, order)
    tiff = exif_of(stripped)
    assert tiff is not None
    assert_only_the_allowed_tags(tiff, order)


@pytest.mark.parametrize("order", ORDERS)
def test_stripping_twice_changes_nothing_more(order: str) -> None:
    once = strip_location(make_jpeg(make_exif(order).tiff))
    assert strip_location(once) == once
    assert not has_location(once)


def test_a_jpeg_with_nothing_to_drop_is_returned_unchanged() -> None:
    clean = strip_location(make_jpeg(make_exif("<").tiff))
    assert strip_location(clean) == clean
    bare = b"\xff\xd8" + IMAGE_HEADERS + SCAN
    assert strip_location(bare) == bare


@pytest.mark.parametrize("foreign", FOREIGN_SEGMENTS)
def test_every_segment_not_on_the_list_goes(foreign: bytes) -> None:
    bare = b"\xff\xd8" + segment(0xE0, JFIF) + IMAGE_HEADERS + SCAN
    original = bare[:20] + foreign + bare[20:]
    assert has_location(original)
    assert strip_location(original) == bare


def test_a_jfif_thumbnail_goes_and_the_density_stays() -> None:
    thumbnail = JFIF[:12] + b"\x01\x01" + b"\x12\x34\x56"
    original = b"\xff\xd8" + segment(0xE0, thumbnail) + IMAGE_HEADERS + SCAN
    assert strip_location(original) == b"\xff\xd8" + segment(0xE0, JFIF) + IMAGE_HEADERS + SCAN


def test_markers_that_mean_nothing_outside_a_scan_go_and_the_adobe_segment_keeps_its_defined_length() -> None:
    bare = b"\xff\xd8" + IMAGE_HEADERS + SCAN
    original = bare[:2] + b"\xff\x01\xff\xff\xd0" * 1000 + segment(0xEE, ADOBE + b"Paris") + bare[2:]
    assert strip_location(original) == bare[:2] + segment(0xEE, ADOBE) + bare[2:]


def test_metadata_between_progressive_scans_goes_too() -> None:
    # Entropy-coded data with a stuffed 0xFF, a restart marker, and a fill byte before the next marker.
    first_scan = segment(0xDA, b"\x01\x01\x00\x00\x00\x00") + b"\x12\xff\x00\x34\xff\xd0\x56\xff"
    later = segment(0xE1, XMP) + segment(0xED, IPTC) + segment(0xE1, b"Exif\x00\x00" + make_exif("<").tiff)
    original = make_jpeg(make_exif("<").tiff, scan=first_scan + later + huffman_table(1) + SCAN)

    stripped = strip_location(original)

    assert_no_gps(stripped, "<")
    assert stripped.endswith(first_scan + huffman_table(1) + SCAN)


def test_images_after_the_end_of_the_first_are_dropped() -> None:
    """A second image (MPF preview, motion photo) after EOI can carry its own location."""
    second = make_jpeg(make_exif(">").tiff)
    original = make_jpeg(make_exif("<").tiff) + second

    stripped = strip_location(original)

    assert stripped == strip_location(make_jpeg(make_exif("<").tiff))
    assert_no_gps(stripped, ">")


@pytest.mark.parametrize(
    "cut",
    [
        lambda data: data[: data.index(b"Exif") + 200],  # inside the Exif segment
        lambda data: data[: data.index(SCAN)],  # before the scan
        lambda data: data[:-2],  # without its end
        lambda data: data[:-2] + b"\xff\xe1\xff\xff",  # a segment longer than the file
        lambda data: b"\xff\xd8" + SCAN,  # a scan with no frame
    ],
)
def test_a_jpeg_cut_short_is_refused(cut: Callable[[bytes], bytes]) -> None:
    damaged = cut(make_jpeg(make_exif("<").tiff))
    with pytest.raises(ImageRefused):
        strip_location(damaged)
    assert has_location(damaged)


# --- malformed EXIF: never an error, never a coordinate ----------------------------------------


def broken_gps_pointer(exif: Exif) -> bytes:
    return patch(exif.tiff, entry_position(exif.tiff, exif.ifd0, GPS_IFD) + 8, "I", len(exif.tiff) + 100)


def broken_make_offset(exif: Exif) -> bytes:
    return patch(exif.tiff, entry_position(exif.tiff, exif.ifd0, MAKE) + 8, "I", 0xFFFF_FFF0)


def make_as_short(exif: Exif) -> bytes:
    return patch(exif.tiff, entry_position(exif.tiff, exif.ifd0, MAKE) + 2, "H", SHORT)


def huge_exif_count(exif: Exif) -> bytes:
    return patch(exif.tiff, exif.exif, "H", 0xFFFF)


def exif_ifd_is_ifd0(exif: Exif) -> bytes:
    return patch(exif.tiff, entry_position(exif.tiff, exif.ifd0, EXIF_IFD) + 8, "I", exif.ifd0)


def exif_ifd_is_the_gps_ifd(exif: Exif) -> bytes:
    return patch(exif.tiff, entry_position(exif.tiff, exif.ifd0, EXIF_IFD) + 8, "I", exif.gps)


def exif_ifd_inside_ifd0(exif: Exif) -> bytes:
    return patch(exif.tiff, entry_position(exif.tiff, exif.ifd0, EXIF_IFD) + 8, "I", exif.ifd0 + 12)


def ifd0_out_of_range(exif: Exif) -> bytes:
    return patch(exif.tiff, 4, "I", len(exif.tiff) - 4)


def truncated(exif: Exif) -> bytes:
    return exif.tiff[: exif.ifd0 + 40]


def not_tiff(exif: Exif) -> bytes:
    return b"XX" + exif.tiff[2:]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize(
    "breakage",
    [
        broken_gps_pointer,
        broken_make_offset,
        make_as_short,
        huge_exif_count,
        exif_ifd_is_ifd0,
        exif_ifd_is_the_gps_ifd,
        exif_ifd_inside_ifd0,
        ifd0_out_of_range,
        truncated,
        not_tiff,
    ],
)
def test_malformed_exif_keeps_at_most_the_allowed_tags(order: str, breakage: Callable[[Exif], bytes]) -> None:
    original = make_jpeg(breakage(make_exif(order)))

    stripped = strip_location(original)

    assert_no_gps(stripped, order)
    assert scan_of(stripped) == scan_of(original)
    tiff = exif_of(stripped)
    if tiff is not None:
        assert set(read_tiff(tiff)["ifd0"]) <= {MAKE, MODEL, ORIENTATION, X_RESOLUTION, EXIF_IFD}
    assert strip_location(stripped) == stripped


def gps_pointers_jpeg(pointers: int = 2700, gps_entries: int = 1800) -> bytes:
    """IFD0 holds only pointers to one GPS IFD, whose entries all point to one 1,000-byte value."""
    gps_at = 8 + 2 + 12 * pointers + 4
    values_at = gps_at + 2 + 12 * (gps_entries + 1) + 4
    ifd0 = struct.pack("<H", pointers) + struct.pack("<HHII", GPS_IFD, LONG, 1, gps_at) * pointers + bytes(4)
    gps = (
        struct.pack("<H", gps_entries + 1)
        + struct.pack("<HHII", GPS_LATITUDE, RATIONAL, 3, values_at)
        + struct.pack("<HHII", 0x001B, UNDEFINED, 1000, values_at) * gps_entries
        + bytes(4)
        + rationals("<", LATITUDE)
        + bytes(1000 - 24)
    )
    return make_jpeg(b"II*\x00" + struct.pack("<I", 8) + ifd0 + gps)


def test_thousands_of_pointers_to_one_gps_directory_cost_one_pass() -> None:
    original = gps_pointers_jpeg()
    tracemalloc.start()
    started = time.perf_counter()
    stripped = strip_location(original)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    print(f"\n2,700 pointers to one GPS IFD ({len(original):,} bytes): {elapsed * 1000:.1f} ms, peak {peak >> 10} KiB")
    assert_no_gps(stripped, "<")
    assert exif_of(stripped) is None  # nothing allowed was in it
    assert scan_of(stripped) == scan_of(original)


def mutate(data: bytes, rng: random.Random) -> bytes:
    mutated = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        position = rng.randrange(len(mutated))
        if choice < 0.6:
            mutated[position] = rng.randrange(256)
        elif choice < 0.75:
            del mutated[position]
        elif choice < 0.9:
            mutated.insert(position, rng.choice([0x00, 0xFF, rng.randrange(256)]))
        else:
            del mutated[max(position, 3) :]
    return bytes(mutated)


def test_damaged_files_are_refused_or_come_out_clean() -> None:
    rng = random.Random(20240501)
    samples = [
        make_jpeg(make_exif("<").tiff),
        make_jpeg(make_exif(">", ("ifd0", "exif")).tiff),
        make_png(),
        make_webp(),
        make_gif(),
    ]
    refused = 0
    started = time.perf_counter()
    for _ in range(600):
        damaged = mutate(rng.choice(samples), rng)
        image_size(damaged)
        display_size(damaged)
        camera(damaged)
        try:
            stripped = strip_location(damaged)
        except ImageRefused:
            refused += 1
            continue
        assert b"Paris" not in stripped and rationals("<", LATITUDE) not in stripped, damaged.hex()
        assert strip_location(stripped) == stripped, damaged.hex()
    assert 0 < refused < 600
    assert time.perf_counter() - started < 30  # a hang would show here, not a slow machine


# --- other formats and sizes -------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"", b"\xff\xd8", b"not an image at all", b"RIFF\x00\x00\x00\x00WAVE", b"\x00\x00\x00\x18ftypheic" + bytes(16)],
)
def test_what_cannot_be_rebuilt_is_refused(data: bytes) -> None:
    with pytest.raises(ImageRefused):
        strip_location(data)
    assert has_location(data)


@pytest.mark.parametrize(
    ("data", "size"),
    [
        (make_jpeg(None), (PIXEL_WIDTH, PIXEL_HEIGHT)),
        (PNG_HEADER + PNG_DATA, (3, 2)),
        (riff(VP8L), (3, 2)),
        (riff(vp8x(0, 640, 480), VP8L), (640, 480)),
        (GIF_HEADER + b";", (5, 7)),
        (b"\xff\xd8\xff\xd9", None),
        (b"\xff\xd8" + SCAN, None),  # no frame header before the scan
        (b"\x89PNG\r\n\x1a\n", None),
        (b"GIF89a", None),
        (b"", None),
    ],
)
def test_image_size_reads_the_header(data: bytes, size: tuple[int, int] | None) -> None:
    assert image_size(data) == size


@pytest.mark.parametrize(
    ("orientation", "size"), [(1, (24, 8)), (3, (24, 8)), (5, (8, 24)), (6, (8, 24)), (8, (8, 24)), (9, (24, 8))]
)
def test_display_size_turns_with_the_exif_orientation(orientation: int, size: tuple[int, int]) -> None:
    jpeg = make_jpeg(make_exif("<", orientation=orientation).tiff)
    assert image_size(jpeg) == (24, 8)
    assert display_size(jpeg) == display_size(strip_location(jpeg)) == size
    shown = (2, 3) if 5 <= orientation <= 8 else (3, 2)  # the PNG and WebP are 3x2: browsers turn them too
    assert display_size(make_png(orientation)) == display_size(strip_location(make_png(orientation))) == shown
    assert display_size(make_webp(orientation)) == display_size(strip_location(make_webp(orientation))) == shown


# --- the camera --------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ORDERS)
def test_the_camera_is_read_from_the_allowed_tags(order: str) -> None:
    expected = Camera(
        make="Pierrot Camera",
        model="P1",
        lens_model="Summicron",
        exposure_time=Fraction(1, 125),
        f_number=Fraction(28, 10),
        iso=200,
        focal_length=Fraction(35),
    )
    assert camera(make_jpeg(make_exif(order).tiff)) == expected
    assert camera(make_png()) == camera(make_webp()) == expected
    assert camera(strip_location(make_jpeg(make_exif(order).tiff))) == expected


def test_no_camera_without_exif() -> None:
    assert camera(make_jpeg(None)) is None
    assert camera(make_gif()) is None
    assert camera(b"") is None


# --- files -------------------------------------------------------------------------------------


def test_a_file_is_rewritten_in_place_private_to_its_owner(tmp_path: Path) -> None:
    path = tmp_path / "53912345678.jpg"
    original = make_jpeg(make_exif("<").tiff)
    path.write_bytes(original)

    strip_location_file(path)

    assert path.read_bytes() == strip_location(original)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_file_without_location_is_not_touched(tmp_path: Path) -> None:
    path = tmp_path / "53912345678.png"
    path.write_bytes(PNG_HEADER + PNG_DATA)
    before = path.stat()

    strip_location_file(path)

    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_mode) == (before.st_ino, before.st_mtime_ns, before.st_mode)


def test_a_failed_rewrite_leaves_the_file_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "53912345678.jpg"
    original = make_jpeg(make_exif("<").tiff)
    path.write_bytes(original)

    def disk_full(source: str, destination: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pierrot.files.os.replace", disk_full)
    with pytest.raises(OSError, match="No space"):
        strip_location_file(path)

    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == [path.name]

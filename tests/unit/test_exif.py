"""No location leaves the machine: JPEG, PNG and WebP files built byte by byte, stripped, and read back."""

from __future__ import annotations

import random
import stat
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from pierrot.exif import display_size, has_location, image_size, strip_location, strip_location_file

BYTE, ASCII, SHORT, LONG, RATIONAL = 1, 2, 3, 4, 5
TYPE_SIZES = {BYTE: 1, ASCII: 1, SHORT: 2, LONG: 4, RATIONAL: 8}
MAKE, ORIENTATION, XP_TITLE, X_RESOLUTION, COMPRESSION = 0x010F, 0x0112, 0x9C9B, 0x011A, 0x0103
EXIF_IFD, GPS_IFD, DATE_TIME_ORIGINAL = 0x8769, 0x8825, 0x9003
GPS_LATITUDE = 0x0002

LATITUDE = (48, 1, 51, 1, 2964, 100)  # 48° 51' 29.64" N
LONGITUDE = (2, 1, 17, 1, 4012, 100)  # 2° 17' 40.12" E
GPS_DATE = b"2023:11:30\x00"
ORDERS = ["<", ">"]  # little-endian ("II") and big-endian ("MM") EXIF

XMP = (
    b"http://ns.adobe.com/xap/1.0/\x00"
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description exif:GPSLatitude="48,51.494N" exif:GPSLongitude="2,17.6687E" photoshop:City="Paris"/>'
    b"</rdf:RDF></x:xmpmeta>"
)
EXTENDED_XMP = (
    b"http://ns.adobe.com/xmp/extension/\x00" + b"0" * 32 + b"\x00\x00\x00\x10\x00\x00\x00\x00" + b"<x>Paris</x>"
)
IPTC = b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x0a\x1c\x02\x5a\x00\x05Paris"
JFIF = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
ICC = b"ICC_PROFILE\x00\x01\x01" + bytes(range(40))
COMMENT = b"taken on the bridge"


def rationals(order: str, values: tuple[int, ...]) -> bytes:
    return struct.pack(f"{order}{len(values)}I", *values)


# --- a small TIFF writer and reader ------------------------------------------------------------


class TiffWriter:
    """Writes IFDs one after the other, each followed by its out-of-line values; the last written is IFD0."""

    def __init__(self, order: str) -> None:
        self.order = order
        self.data = bytearray((b"II*\x00" if order == "<" else b"MM\x00*") + bytes(4))

    def pack(self, fmt: str, *values: int) -> bytes:
        return struct.pack(self.order + fmt, *values)

    def ifd(self, entries: list[tuple[int, int, int, bytes]], next_ifd: int = 0) -> int:
        offset = len(self.data)
        values_at = offset + 2 + 12 * len(entries) + 4
        table, values = bytearray(self.pack("H", len(entries))), bytearray()
        for tag, kind, count, value in sorted(entries):
            if len(value) <= 4:
                field = value.ljust(4, b"\x00")
            else:
                field = self.pack("I", values_at + len(values))
                values += value + b"\x00" * (len(value) % 2)
            table += self.pack("HHI", tag, kind, count) + field
        self.data += table + self.pack("I", next_ifd) + values
        return offset

    def finish(self, ifd0: int) -> bytes:
        self.data[4:8] = self.pack("I", ifd0)
        return bytes(self.data)


@dataclass(frozen=True)
class Exif:
    tiff: bytes
    ifd0: int
    ifd1: int
    exif: int
    gps: int


def make_exif(order: str, gps_in: tuple[str, ...] = ("ifd0",), orientation: int = 6) -> Exif:
    """IFD0 (Make, Orientation, Exif and GPS pointers, XPTitle after them) -> IFD1; Exif IFD; GPS IFD."""
    writer = TiffWriter(order)
    gps = writer.ifd(
        [
            (0x0000, BYTE, 4, b"\x02\x03\x00\x00"),
            (0x0001, ASCII, 2, b"N\x00"),
            (GPS_LATITUDE, RATIONAL, 3, rationals(order, LATITUDE)),
            (0x0003, ASCII, 2, b"E\x00"),
            (0x0004, RATIONAL, 3, rationals(order, LONGITUDE)),
            (0x001D, ASCII, len(GPS_DATE), GPS_DATE),
        ]
    )
    pointer = (GPS_IFD, LONG, 1, writer.pack("I", gps))
    exif = writer.ifd(
        [
            (0x829A, RATIONAL, 1, rationals(order, (1, 125))),
            (DATE_TIME_ORIGINAL, ASCII, 20, b"2023:11:30 17:42:05\x00"),
            *([pointer] if "exif" in gps_in else []),
        ]
    )
    ifd1 = writer.ifd(
        [
            (COMPRESSION, SHORT, 1, writer.pack("H", 6)),
            (X_RESOLUTION, RATIONAL, 1, rationals(order, (72, 1))),
            *([pointer] if "ifd1" in gps_in else []),
        ]
    )
    ifd0 = writer.ifd(
        [
            (MAKE, ASCII, 15, b"Pierrot Camera\x00"),
            (ORIENTATION, SHORT, 1, writer.pack("H", orientation)),
            (EXIF_IFD, LONG, 1, writer.pack("I", exif)),
            *([pointer] if "ifd0" in gps_in else []),
            (XP_TITLE, BYTE, 4, b"H\x00i\x00"),
        ],
        next_ifd=ifd1,
    )
    return Exif(writer.finish(ifd0), ifd0, ifd1, exif, gps)


def read_ifd(tiff: bytes, offset: int) -> tuple[dict[int, bytes], int]:
    """The tags of one IFD with their value bytes, and the offset of the next IFD."""
    order = "<" if tiff[:2] == b"II" else ">"
    (count,) = struct.unpack_from(order + "H", tiff, offset)
    tags: dict[int, bytes] = {}
    for position in range(offset + 2, offset + 2 + 12 * count, 12):
        tag, kind, number = struct.unpack_from(order + "HHI", tiff, position)
        size = TYPE_SIZES[kind] * number
        if size <= 4:
            tags[tag] = tiff[position + 8 : position + 8 + size]
        else:
            (start,) = struct.unpack_from(order + "I", tiff, position + 8)
            tags[tag] = tiff[start : start + size]
    (next_ifd,) = struct.unpack_from(order + "I", tiff, offset + 2 + 12 * count)
    return tags, next_ifd


def read_tiff(tiff: bytes) -> dict[str, dict[int, bytes]]:
    """IFD0, IFD1 and the Exif IFD as a reader finds them from the header."""
    order = "<" if tiff[:2] == b"II" else ">"
    ifd0, ifd1_offset = read_ifd(tiff, struct.unpack_from(order + "I", tiff, 4)[0])
    ifds = {"ifd0": ifd0, "ifd1": read_ifd(tiff, ifd1_offset)[0] if ifd1_offset else {}}
    ifds["exif"] = read_ifd(tiff, struct.unpack_from(order + "I", ifd0[EXIF_IFD])[0])[0]
    return ifds


def patch(tiff: bytes, position: int, fmt: str, *values: int) -> bytes:
    order = "<" if tiff[:2] == b"II" else ">"
    patched = bytearray(tiff)
    struct.pack_into(order + fmt, patched, position, *values)
    return bytes(patched)


def entry_position(tiff: bytes, ifd: int, tag: int) -> int:
    order = "<" if tiff[:2] == b"II" else ">"
    (count,) = struct.unpack_from(order + "H", tiff, ifd)
    for position in range(ifd + 2, ifd + 2 + 12 * count, 12):
        if struct.unpack_from(order + "H", tiff, position)[0] == tag:
            return position
    raise AssertionError(f"no tag {tag:#x}")


# --- JPEG --------------------------------------------------------------------------------------


def segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def huffman_table(table_class: int) -> bytes:
    """One code, "0", for symbol 0: DC difference 0, or end of block."""
    return segment(0xC4, bytes([table_class << 4]) + bytes([1] + [0] * 15) + b"\x00")


# A 24x8 grey baseline image of three flat blocks, a restart marker after each: a decoder accepts it.
PIXEL_WIDTH, PIXEL_HEIGHT = 24, 8
IMAGE_HEADERS = (
    segment(0xDB, b"\x00" + b"\x01" * 64)
    + segment(0xC0, b"\x08" + PIXEL_HEIGHT.to_bytes(2, "big") + PIXEL_WIDTH.to_bytes(2, "big") + b"\x01\x01\x11\x00")
    + huffman_table(0)
    + huffman_table(1)
    + segment(0xDD, b"\x00\x01")
)
SCAN = segment(0xDA, b"\x01\x01\x00\x00\x3f\x00") + b"\x3f\xff\xd0\x3f\xff\xd1\x3f" + b"\xff\xd9"


def make_jpeg(exif: bytes | None, *, extra: bytes = b"", scan: bytes = SCAN) -> bytes:
    return (
        b"\xff\xd8"
        + segment(0xE0, JFIF)
        + (segment(0xE1, b"Exif\x00\x00" + exif) if exif is not None else b"")
        + segment(0xE1, XMP)
        + segment(0xE1, EXTENDED_XMP)
        + segment(0xE2, ICC)
        + segment(0xED, IPTC)
        + segment(0xFE, COMMENT)
        + extra
        + IMAGE_HEADERS
        + scan
    )


def jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, whole segment) up to and including SOS, for well-formed test files."""
    assert data[:2] == b"\xff\xd8"
    segments, position = [], 2
    while True:
        marker, length = data[position + 1], int.from_bytes(data[position + 2 : position + 4], "big")
        segments.append((marker, data[position : position + 2 + length]))
        position += 2 + length
        if marker == 0xDA:
            return segments


def exif_of(data: bytes) -> bytes | None:
    for marker, whole in jpeg_segments(data):
        if marker == 0xE1 and whole[4:10] == b"Exif\x00\x00":
            return whole[10:]
    return None


def scan_of(data: bytes) -> bytes:
    return data[data.index(SCAN[:4]) :]


def assert_no_gps(data: bytes, order: str) -> None:
    assert rationals(order, LATITUDE) not in data
    assert rationals(order, LONGITUDE) not in data
    assert GPS_DATE not in data
    assert b"GPSLatitude" not in data and b"Paris" not in data
    assert not has_location(data)


@pytest.mark.parametrize("order", ORDERS)
def test_jpeg_loses_gps_and_keeps_every_other_tag(order: str) -> None:
    original = make_jpeg(make_exif(order).tiff)
    assert has_location(original)
    assert rationals(order, LATITUDE) in original

    stripped = strip_location(original)

    assert_no_gps(stripped, order)
    tiff = exif_of(stripped)
    assert tiff is not None
    ifds = read_tiff(tiff)
    assert all(GPS_IFD not in tags for tags in ifds.values())
    assert ifds["ifd0"][MAKE] == b"Pierrot Camera\x00"
    assert ifds["ifd0"][ORIENTATION] == struct.pack(order + "H", 6)
    assert ifds["ifd0"][XP_TITLE] == b"H\x00i\x00"  # the entry after GPSInfo moved up
    assert ifds["ifd1"][X_RESOLUTION] == rationals(order, (72, 1))  # IFD1 still follows IFD0
    assert ifds["exif"][DATE_TIME_ORIGINAL] == b"2023:11:30 17:42:05\x00"
    assert display_size(stripped) == (PIXEL_HEIGHT, PIXEL_WIDTH)


@pytest.mark.parametrize("order", ORDERS)
def test_the_gps_directory_and_its_values_are_zeroed(order: str) -> None:
    exif = make_exif(order)  # the writer puts the GPS IFD and its values first, before the Exif IFD

    tiff = exif_of(strip_location(make_jpeg(exif.tiff)))

    assert tiff is not None
    assert tiff[exif.gps : exif.exif] == bytes(exif.exif - exif.gps)
    # IFD0 had five entries: with one fewer, the 12 bytes after its next-IFD offset are free, and zero.
    assert tiff[exif.ifd0 + 2 + 12 * 4 + 4 : exif.ifd0 + 2 + 12 * 5 + 4] == bytes(12)


@pytest.mark.parametrize("order", ORDERS)
def test_jpeg_keeps_image_segments_and_data_byte_for_byte(order: str) -> None:
    original = make_jpeg(make_exif(order).tiff)
    stripped = strip_location(original)

    assert scan_of(stripped) == scan_of(original)
    before, after = jpeg_segments(original), jpeg_segments(stripped)
    assert [s for s in after if not 0xE0 <= s[0] <= 0xEF] == [s for s in before if not 0xE0 <= s[0] <= 0xEF]
    kept = [segment(0xE0, JFIF), segment(0xE2, ICC)]
    assert [whole for marker, whole in after if marker in (0xE0, 0xE2)] == kept
    # Only the Exif segment is left of the APP1s, as long as it was: GPS is zeroed in place, nothing shifts.
    assert [len(whole) for marker, whole in after if marker == 0xE1] == [len(before[1][1])]
    assert not any(marker == 0xED for marker, _ in after)
    assert image_size(stripped) == image_size(original) == (PIXEL_WIDTH, PIXEL_HEIGHT)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("gps_in", [("ifd1",), ("exif",), ("ifd0", "exif"), ("ifd0", "ifd1", "exif")])
def test_gps_pointer_is_removed_wherever_it_is(order: str, gps_in: tuple[str, ...]) -> None:
    stripped = strip_location(make_jpeg(make_exif(order, gps_in).tiff))

    assert_no_gps(stripped, order)
    tiff = exif_of(stripped)
    assert tiff is not None
    ifds = read_tiff(tiff)
    assert all(GPS_IFD not in tags for tags in ifds.values())
    assert ifds["ifd1"][COMPRESSION] and ifds["exif"][DATE_TIME_ORIGINAL]


@pytest.mark.parametrize("order", ORDERS)
def test_stripping_twice_changes_nothing_more(order: str) -> None:
    once = strip_location(make_jpeg(make_exif(order).tiff))
    assert strip_location(once) == once


def clean_jpeg() -> bytes:
    writer = TiffWriter("<")
    ifd0 = writer.ifd([(MAKE, ASCII, 15, b"Pierrot Camera\x00"), (ORIENTATION, SHORT, 1, writer.pack("H", 1))])
    exif = segment(0xE1, b"Exif\x00\x00" + writer.finish(ifd0))
    return b"\xff\xd8" + segment(0xE0, JFIF) + exif + segment(0xE2, ICC) + IMAGE_HEADERS + SCAN


CLEAN_JPEG = clean_jpeg()


def test_a_jpeg_without_location_is_returned_unchanged() -> None:
    assert not has_location(CLEAN_JPEG)
    assert strip_location(CLEAN_JPEG) == CLEAN_JPEG
    assert display_size(CLEAN_JPEG) == (PIXEL_WIDTH, PIXEL_HEIGHT)


def test_a_jpeg_without_exif_loses_only_xmp_and_iptc() -> None:
    stripped = strip_location(make_jpeg(None))

    assert [marker for marker, _ in jpeg_segments(stripped)] == [0xE0, 0xE2, 0xFE, 0xDB, 0xC0, 0xC4, 0xC4, 0xDD, 0xDA]
    assert_no_gps(stripped, "<")


@pytest.mark.parametrize(
    "metadata",
    [
        segment(0xE1, XMP),
        segment(0xE1, EXTENDED_XMP),
        segment(0xE1, b"II*\x00" + bytes(8)),  # a bare TIFF, as some writers put it: readable by lenient readers
        segment(0xED, IPTC),
        segment(0xEB, b"JP\x00\x00\x00\x00\x00\x01jumbc2pa"),  # C2PA manifests can record the place
    ],
)
def test_every_metadata_segment_that_can_hold_a_place_goes(metadata: bytes) -> None:
    original = CLEAN_JPEG[:2] + metadata + CLEAN_JPEG[2:]
    assert has_location(original)
    assert strip_location(original) == CLEAN_JPEG


def test_the_multi_picture_index_goes_with_the_pictures_it_indexes() -> None:
    original = CLEAN_JPEG[:2] + segment(0xE2, b"MPF\x00MM\x00*" + bytes(8)) + CLEAN_JPEG[2:]
    assert strip_location(original) == CLEAN_JPEG


def test_metadata_between_progressive_scans_goes_too() -> None:
    # Entropy-coded data with a stuffed 0xFF, a restart marker, and a fill byte before the next marker.
    first_scan = segment(0xDA, b"\x01\x01\x00\x00\x00\x00") + b"\x12\xff\x00\x34\xff\xd0\x56\xff"
    later = segment(0xE1, XMP) + segment(0xED, IPTC) + huffman_table(1)
    original = make_jpeg(make_exif("<").tiff, scan=first_scan + later + SCAN)

    stripped = strip_location(original)

    assert_no_gps(stripped, "<")
    assert stripped.endswith(first_scan + huffman_table(1) + SCAN)
    assert strip_location(stripped) == stripped


def test_images_after_the_end_of_the_first_are_dropped() -> None:
    """A second image (MPF preview, motion photo) after EOI can carry its own location."""
    mpf = segment(0xE2, b"MPF\x00II*\x00" + bytes(8))
    second = make_jpeg(make_exif(">").tiff)
    original = make_jpeg(make_exif("<").tiff, extra=mpf) + second

    stripped = strip_location(original)

    assert stripped == strip_location(make_jpeg(make_exif("<").tiff))
    assert_no_gps(stripped, ">")
    assert has_location(CLEAN_JPEG + b"anything")
    assert strip_location(CLEAN_JPEG + b"anything") == CLEAN_JPEG


# --- malformed EXIF: never an error, never a coordinate ----------------------------------------


def broken_gps_pointer(exif: Exif) -> bytes:
    return patch(exif.tiff, entry_position(exif.tiff, exif.ifd0, GPS_IFD) + 8, "I", len(exif.tiff) + 100)


def broken_latitude_offset(exif: Exif) -> bytes:
    return patch(exif.tiff, entry_position(exif.tiff, exif.gps, GPS_LATITUDE) + 8, "I", 0xFFFF_FFF0)


def unknown_latitude_type(exif: Exif) -> bytes:
    return patch(exif.tiff, entry_position(exif.tiff, exif.gps, GPS_LATITUDE) + 2, "H", 99)


def huge_gps_count(exif: Exif) -> bytes:
    return patch(exif.tiff, exif.gps, "H", 0xFFFF)


def ifd1_loops_to_ifd0(exif: Exif) -> bytes:
    return patch(exif.tiff, exif.ifd1 + 2 + 12 * 2, "I", exif.ifd0)


def exif_ifd_is_ifd0(exif: Exif) -> bytes:
    return patch(exif.tiff, entry_position(exif.tiff, exif.ifd0, EXIF_IFD) + 8, "I", exif.ifd0)


def gps_ifd_is_ifd0(exif: Exif) -> bytes:
    """A GPS IFD that is IFD0: zeroing one would wreck the other."""
    return patch(exif.tiff, entry_position(exif.tiff, exif.ifd0, GPS_IFD) + 8, "I", exif.ifd0)


def exif_ifd_inside_ifd0(exif: Exif) -> bytes:
    return patch(exif.tiff, entry_position(exif.tiff, exif.ifd0, EXIF_IFD) + 8, "I", exif.ifd0 + 12)


def gps_pointer_as_short(exif: Exif) -> bytes:
    return patch(exif.tiff, entry_position(exif.tiff, exif.ifd0, GPS_IFD) + 2, "H", SHORT)


def truncated(exif: Exif) -> bytes:
    return exif.tiff[: exif.gps + 40]


def not_tiff(exif: Exif) -> bytes:
    return b"XX" + exif.tiff[2:]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize(
    "breakage",
    [
        broken_gps_pointer,
        broken_latitude_offset,
        unknown_latitude_type,
        huge_gps_count,
        ifd1_loops_to_ifd0,
        exif_ifd_is_ifd0,
        gps_ifd_is_ifd0,
        exif_ifd_inside_ifd0,
        gps_pointer_as_short,
        truncated,
        not_tiff,
    ],
)
def test_malformed_exif_is_dropped_whole(order: str, breakage: Callable[[Exif], bytes]) -> None:
    original = make_jpeg(breakage(make_exif(order)))
    assert has_location(original)

    stripped = strip_location(original)

    assert exif_of(stripped) is None
    assert_no_gps(stripped, order)
    assert scan_of(stripped) == scan_of(original)
    assert display_size(stripped) == (PIXEL_WIDTH, PIXEL_HEIGHT)


def test_a_jpeg_cut_off_in_its_headers_keeps_no_metadata_it_cannot_read() -> None:
    original = make_jpeg(make_exif("<").tiff)
    exif_start = original.index(b"Exif")
    cut = original[: exif_start + 200]  # inside the Exif segment

    stripped = strip_location(cut)

    assert stripped == b"\xff\xd8" + segment(0xE0, JFIF)
    assert not has_location(stripped)
    assert has_location(cut)


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


def test_damaged_files_never_raise_and_never_keep_location() -> None:
    rng = random.Random(20240501)
    samples = [
        make_jpeg(make_exif("<").tiff),
        make_jpeg(make_exif(">", ("ifd0", "exif")).tiff),
        make_png(),
        make_webp(),
    ]
    for _ in range(3000):
        damaged = mutate(rng.choice(samples), rng)
        stripped = strip_location(damaged)
        assert not has_location(stripped), damaged.hex()
        assert strip_location(stripped) == stripped, damaged.hex()
        image_size(damaged)
        display_size(damaged)


# --- PNG ---------------------------------------------------------------------------------------


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return len(payload).to_bytes(4, "big") + kind + payload + zlib.crc32(kind + payload).to_bytes(4, "big")


PNG_HEADER = b"\x89PNG\r\n\x1a\n" + png_chunk(
    b"IHDR", (3).to_bytes(4, "big") + (2).to_bytes(4, "big") + b"\x08\x00\x00\x00\x00"
)
PNG_KEPT = [
    png_chunk(b"tEXt", b"Title\x00Harbour at dusk"),
    png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"no place named")),
    png_chunk(b"iTXt", b"Description\x00\x00\x00en\x00\x00a bridge"),
]
PNG_DATA = png_chunk(b"IDAT", zlib.compress(b"\x00\x80\x80\x80" * 2)) + png_chunk(b"IEND", b"")


def make_png() -> bytes:
    return (
        PNG_HEADER
        + png_chunk(b"eXIf", make_exif(">").tiff)
        + PNG_KEPT[0]
        + png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + XMP[29:])
        + PNG_KEPT[1]
        + png_chunk(b"tEXt", b"XML:com.adobe.xmp\x00" + XMP[29:])
        + png_chunk(
            b"zTXt", b"Raw profile type exif\x00\x00" + zlib.compress(b"exif " + make_exif(">").tiff.hex().encode())
        )
        + PNG_KEPT[2]
        + PNG_DATA
    )


def test_png_loses_exif_and_xmp_chunks_and_keeps_the_rest_verbatim() -> None:
    original = make_png()
    assert has_location(original)

    stripped = strip_location(original)

    assert stripped == PNG_HEADER + b"".join(PNG_KEPT) + PNG_DATA
    assert_no_gps(stripped, ">")
    assert strip_location(stripped) == stripped
    assert image_size(stripped) == display_size(stripped) == (3, 2)


def test_png_without_metadata_and_data_after_iend() -> None:
    clean = PNG_HEADER + PNG_KEPT[0] + PNG_DATA
    assert not has_location(clean)
    assert strip_location(clean) == clean
    assert has_location(clean + b"Exif\x00\x00")
    assert strip_location(clean + b"Exif\x00\x00") == clean


# --- WebP --------------------------------------------------------------------------------------


def riff_chunk(fourcc: bytes, payload: bytes) -> bytes:
    return fourcc + len(payload).to_bytes(4, "little") + payload + b"\x00" * (len(payload) % 2)


def riff(*chunks: bytes) -> bytes:
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + len(body).to_bytes(4, "little") + body


def vp8x(flags: int, width: int, height: int) -> bytes:
    canvas = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return riff_chunk(b"VP8X", bytes([flags, 0, 0, 0]) + canvas)


ICCP = riff_chunk(b"ICCP", b"icc!!")  # odd: padded
VP8L = riff_chunk(b"VP8L", b"\x2f" + (2 | 1 << 14).to_bytes(4, "little") + b"\x00\x01\x02")
ICC_FLAG, EXIF_FLAG, XMP_FLAG = 0x20, 0x08, 0x04


def make_webp() -> bytes:
    return riff(
        vp8x(ICC_FLAG | EXIF_FLAG | XMP_FLAG, 3, 2),
        ICCP,
        VP8L,
        riff_chunk(b"EXIF", make_exif("<").tiff),
        riff_chunk(b"XMP ", XMP[29:]),
    )


def test_webp_loses_exif_and_xmp_chunks_and_flags() -> None:
    original = make_webp()
    assert has_location(original)

    stripped = strip_location(original)

    assert stripped == riff(vp8x(ICC_FLAG, 3, 2), ICCP, VP8L)
    assert int.from_bytes(stripped[4:8], "little") == len(stripped) - 8
    assert_no_gps(stripped, "<")
    assert strip_location(stripped) == stripped
    assert image_size(stripped) == display_size(stripped) == (3, 2)


def test_a_simple_webp_is_returned_unchanged() -> None:
    lossy = riff(riff_chunk(b"VP8 ", b"\x10\x02\x00\x9d\x01\x2a" + (0x4000 | 300).to_bytes(2, "little") + b"\xc8\x00"))
    assert not has_location(lossy)
    assert strip_location(lossy) == lossy
    assert image_size(lossy) == (300, 200)


# --- other formats and sizes -------------------------------------------------------------------

GIF = b"GIF89a" + (5).to_bytes(2, "little") + (7).to_bytes(2, "little") + b"\x00\x00\x00;"


@pytest.mark.parametrize("data", [GIF, b"", b"\xff\xd8", b"not an image at all", b"RIFF\x00\x00\x00\x00WAVE"])
def test_other_data_is_returned_unchanged(data: bytes) -> None:
    assert strip_location(data) == data
    assert not has_location(data)


@pytest.mark.parametrize(
    ("data", "size"),
    [
        (make_jpeg(None), (PIXEL_WIDTH, PIXEL_HEIGHT)),
        (PNG_HEADER + PNG_DATA, (3, 2)),
        (riff(VP8L), (3, 2)),
        (riff(vp8x(0, 640, 480), VP8L), (640, 480)),
        (GIF, (5, 7)),
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
    ("orientation", "size"), [(1, (24, 8)), (3, (24, 8)), (5, (8, 24)), (6, (8, 24)), (8, (8, 24))]
)
def test_display_size_turns_with_the_exif_orientation(orientation: int, size: tuple[int, int]) -> None:
    jpeg = make_jpeg(make_exif("<", orientation=orientation).tiff)
    assert image_size(jpeg) == (24, 8)
    assert display_size(jpeg) == display_size(strip_location(jpeg)) == size


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

    monkeypatch.setattr("pierrot.exif.os.replace", disk_full)
    with pytest.raises(OSError, match="No space"):
        strip_location_file(path)

    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == [path.name]

"""Image files built byte by byte for the stripper's tests: EXIF with a place, JPEG, PNG, WebP and GIF."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from pierrot.adapters.images.exif import has_location

BYTE, ASCII, SHORT, LONG, RATIONAL, UNDEFINED = 1, 2, 3, 4, 5, 7
TYPE_SIZES = {BYTE: 1, ASCII: 1, SHORT: 2, LONG: 4, RATIONAL: 8, UNDEFINED: 1}
MAKE, MODEL, ORIENTATION, XP_TITLE, X_RESOLUTION, COMPRESSION = 0x010F, 0x0110, 0x0112, 0x9C9B, 0x011A, 0x0103
IMAGE_DESCRIPTION, EXIF_IFD, GPS_IFD, DATE_TIME_ORIGINAL, OFFSET_TIME = 0x010E, 0x8769, 0x8825, 0x9003, 0x9011
EXPOSURE_TIME, F_NUMBER, ISO, FOCAL_LENGTH, LENS_MODEL = 0x829A, 0x829D, 0x8827, 0x920A, 0xA434
MAKER_NOTE, USER_COMMENT, INTEROPERABILITY_IFD = 0x927C, 0x9286, 0xA005
GPS_LATITUDE = 0x0002
# A Panasonic maker note names the city it derived from GPS; Casio and Pentax keep home and destination cities.
MAKER_NOTE_VALUE = b"Panasonic\x00\x00\x00" + b"\x01\x00\x6d\x00\x02\x00\x06\x00\x00\x00Paris\x00"

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
    """IFD0 (camera, orientation, a description, pointers) -> IFD1; an Exif IFD with a maker note; a GPS IFD."""
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
    interop = writer.ifd([(0x0001, ASCII, 4, b"R98\x00")])
    pointer = (GPS_IFD, LONG, 1, writer.pack("I", gps))
    exif = writer.ifd(
        [
            (EXPOSURE_TIME, RATIONAL, 1, rationals(order, (1, 125))),
            (F_NUMBER, RATIONAL, 1, rationals(order, (28, 10))),
            (ISO, SHORT, 1, writer.pack("H", 200)),
            (DATE_TIME_ORIGINAL, ASCII, 20, b"2023:11:30 17:42:05\x00"),
            (OFFSET_TIME, ASCII, 7, b"+01:00\x00"),
            (FOCAL_LENGTH, RATIONAL, 1, rationals(order, (35, 1))),
            (MAKER_NOTE, UNDEFINED, len(MAKER_NOTE_VALUE), MAKER_NOTE_VALUE),
            (USER_COMMENT, UNDEFINED, 13, b"ASCII\x00\x00\x00Paris"),
            (INTEROPERABILITY_IFD, LONG, 1, writer.pack("I", interop)),
            (LENS_MODEL, ASCII, 10, b"Summicron\x00"),
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
            (IMAGE_DESCRIPTION, ASCII, 11, b"Paris 2023\x00"),
            (MAKE, ASCII, 15, b"Pierrot Camera\x00"),
            (MODEL, ASCII, 3, b"P1\x00"),
            (ORIENTATION, SHORT, 1, writer.pack("H", orientation)),
            (X_RESOLUTION, RATIONAL, 1, rationals(order, (300, 1))),
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
    """IFD0 and the Exif IFD as a reader finds them from the header; IFD1 must be gone."""
    order = "<" if tiff[:2] == b"II" else ">"
    ifd0, ifd1_offset = read_ifd(tiff, struct.unpack_from(order + "I", tiff, 4)[0])
    assert ifd1_offset == 0, "no IFD1, no thumbnail"
    exif = read_ifd(tiff, struct.unpack_from(order + "I", ifd0[EXIF_IFD])[0])[0] if EXIF_IFD in ifd0 else {}
    return {"ifd0": ifd0, "exif": exif}


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
ADOBE = b"Adobe\x00\x64\x00\x00\x00\x00\x01"
# What other writers put in a JPEG, each of which can name or hold the place.
FOREIGN_SEGMENTS = [
    segment(0xE1, XMP),
    segment(0xE1, EXTENDED_XMP),
    segment(0xE1, b"II*\x00" + bytes(8)),  # a bare TIFF, as some writers put it: readable by lenient readers
    segment(0xED, IPTC),
    segment(0xEB, b"JP\x00\x00\x00\x00\x00\x01jumbc2pa"),  # C2PA manifests can record the place
    segment(0xE2, b"MPF\x00MM\x00*" + bytes(8)),  # indexes pictures after the first, which go
    segment(0xE5, b"RMETA\x00Location\x00Paris"),  # Ricoh's APP5 location
    segment(0xE9, b"Places\x00Paris"),  # Ricoh's APP9 places
    segment(0xE0, b"JFXX\x00\x10" + bytes(8)),  # a JFIF thumbnail
    segment(0xE3, b"META\x00\x00Paris"),
    segment(0xEF, b"anything at all: Paris"),
    segment(0xFE, COMMENT + b" in Paris"),
]


def make_jpeg(exif: bytes | None, *, extra: bytes = b"", scan: bytes = SCAN) -> bytes:
    return (
        b"\xff\xd8"
        + segment(0xE0, JFIF)
        + (segment(0xE1, b"Exif\x00\x00" + exif) if exif is not None else b"")
        + b"".join(FOREIGN_SEGMENTS)
        + segment(0xE2, ICC)
        + segment(0xEE, ADOBE)
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
    assert b"GPSLatitude" not in data and b"Paris" not in data and b"Panasonic" not in data
    assert not has_location(data)


def assert_only_the_allowed_tags(tiff: bytes, order: str, orientation: int = 6) -> None:
    ifds = read_tiff(tiff)
    assert ifds["ifd0"] == {
        MAKE: b"Pierrot Camera\x00",
        MODEL: b"P1\x00",
        ORIENTATION: struct.pack(order + "H", orientation),
        X_RESOLUTION: rationals(order, (300, 1)),
        EXIF_IFD: ifds["ifd0"][EXIF_IFD],
    }
    assert ifds["exif"] == {
        EXPOSURE_TIME: rationals(order, (1, 125)),
        F_NUMBER: rationals(order, (28, 10)),
        ISO: struct.pack(order + "H", 200),
        FOCAL_LENGTH: rationals(order, (35, 1)),
        LENS_MODEL: b"Summicron\x00",
    }


# --- PNG ---------------------------------------------------------------------------------------


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return len(payload).to_bytes(4, "big") + kind + payload + zlib.crc32(kind + payload).to_bytes(4, "big")


PNG_HEADER = b"\x89PNG\r\n\x1a\n" + png_chunk(
    b"IHDR", (3).to_bytes(4, "big") + (2).to_bytes(4, "big") + b"\x08\x00\x00\x00\x00"
)
PNG_COLOUR = png_chunk(b"sRGB", b"\x00") + png_chunk(b"pHYs", bytes(9))
PNG_DATA = png_chunk(b"IDAT", zlib.compress(b"\x00\x80\x80\x80" * 2)) + png_chunk(b"IEND", b"")
PNG_FOREIGN = [
    png_chunk(b"tEXt", b"exif:GPSLatitude\x0048/1, 51/1, 2964/100"),  # as ImageMagick writes it
    png_chunk(b"tEXt", b"PhotoshopCity\x00Paris"),
    png_chunk(b"zTXt", b"Raw profile type exif\x00\x00" + zlib.compress(b"exif " + make_exif(">").tiff.hex().encode())),
    png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + XMP[29:]),
    png_chunk(b"caBX", b"jumbc2pa Paris"),  # a C2PA manifest
    png_chunk(b"tIME", b"\x07\xe7\x0b\x1e\x11\x2a\x05"),
    png_chunk(b"prVt", b"Paris"),  # a private chunk nobody knows
]


def make_png(orientation: int = 6) -> bytes:
    exif = png_chunk(b"eXIf", make_exif(">", orientation=orientation).tiff)
    return PNG_HEADER + PNG_COLOUR + exif + b"".join(PNG_FOREIGN) + PNG_DATA


def png_exif(data: bytes) -> bytes:
    start = data.index(b"eXIf")
    return data[start + 4 : start + 4 + int.from_bytes(data[start - 4 : start], "big")]


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


def make_webp(orientation: int = 6) -> bytes:
    return riff(
        vp8x(ICC_FLAG | EXIF_FLAG | XMP_FLAG, 3, 2),
        ICCP,
        VP8L,
        riff_chunk(b"EXIF", b"Exif\x00\x00" + make_exif("<", orientation=orientation).tiff),
        riff_chunk(b"XMP ", XMP[29:]),
        riff_chunk(b"XMP\x00", XMP[29:]),
        riff_chunk(b"C2PA", b"jumbc2pa Paris"),
    )


# --- GIF ---------------------------------------------------------------------------------------

GIF_HEADER = b"GIF89a" + (5).to_bytes(2, "little") + (7).to_bytes(2, "little") + b"\x80\x00\x00" + bytes(6)
GIF_LOOP = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
GIF_FRAME = b"\x21\xf9\x04\x00\x0a\x00\x00\x00" + b"\x2c" + bytes(4) + b"\x05\x00\x07\x00\x00" + b"\x02\x02\x44\x01\x00"
GIF_XMP = b"\x21\xff\x0bXMP DataXMP" + bytes([len(XMP[29:])]) + XMP[29:] + b"\x00"
GIF_COMMENT = b"\x21\xfe\x05Paris\x00"


def make_gif() -> bytes:
    return GIF_HEADER + GIF_LOOP + GIF_XMP + GIF_COMMENT + GIF_FRAME + GIF_FRAME + b";"

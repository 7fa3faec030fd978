"""EXIF (a TIFF structure) rebuilt from an allow-list: the few tags that show the picture as it was, and no others.

Only IFD0 and the Exif IFD it points to are read, each once; every other directory (GPS, interoperability, IFD1 and
its thumbnail, maker notes) is never followed, so a file full of pointers costs no more than its own length.
"""

from __future__ import annotations

import contextlib
import struct
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

__all__ = ["Camera", "Field", "camera_from", "clean_tiff", "orientation_of"]

BYTE, ASCII, SHORT, LONG, RATIONAL, UNDEFINED, SRATIONAL = 1, 2, 3, 4, 5, 7, 10
TYPE_SIZES = {BYTE: 1, ASCII: 1, SHORT: 2, LONG: 4, RATIONAL: 8, UNDEFINED: 1, SRATIONAL: 8}
ORIENTATION, MAKE, MODEL, EXIF_IFD = 0x0112, 0x010F, 0x0110, 0x8769
EXPOSURE_TIME, F_NUMBER, ISO, FOCAL_LENGTH, LENS_MODEL = 0x829A, 0x829D, 0x8827, 0x920A, 0xA434
MAX_TEXT = 64  # a make or lens name longer than this is not a name

# tag: (the types it may have, the most values it may hold). ASCII values must be printable text.
IFD0_TAGS: dict[int, tuple[frozenset[int], int]] = {
    MAKE: (frozenset({ASCII}), MAX_TEXT),
    MODEL: (frozenset({ASCII}), MAX_TEXT),
    ORIENTATION: (frozenset({SHORT}), 1),
    0x011A: (frozenset({RATIONAL}), 1),  # XResolution
    0x011B: (frozenset({RATIONAL}), 1),  # YResolution
    0x0128: (frozenset({SHORT}), 1),  # ResolutionUnit
}
EXIF_TAGS: dict[int, tuple[frozenset[int], int]] = {
    EXPOSURE_TIME: (frozenset({RATIONAL}), 1),
    F_NUMBER: (frozenset({RATIONAL}), 1),
    0x8822: (frozenset({SHORT}), 1),  # ExposureProgram
    ISO: (frozenset({SHORT, LONG}), 2),
    0x9000: (frozenset({UNDEFINED}), 4),  # ExifVersion
    0x9204: (frozenset({SRATIONAL}), 1),  # ExposureBiasValue
    0x9207: (frozenset({SHORT}), 1),  # MeteringMode
    0x9209: (frozenset({SHORT}), 1),  # Flash
    FOCAL_LENGTH: (frozenset({RATIONAL}), 1),
    0xA001: (frozenset({SHORT}), 1),  # ColorSpace
    0xA405: (frozenset({SHORT}), 1),  # FocalLengthIn35mmFilm
    0xA433: (frozenset({ASCII}), MAX_TEXT),  # LensMake
    LENS_MODEL: (frozenset({ASCII}), MAX_TEXT),
}


@dataclass(frozen=True, slots=True)
class Field:
    """One allowed tag: its type, its number of values and their bytes, in the file's byte order."""

    type: int
    count: int
    value: bytes


Fields = dict[int, Field]


@dataclass(frozen=True, slots=True)
class Camera:
    """What the camera was and how it exposed the picture, as its EXIF says; None where it does not say."""

    make: str | None = None
    model: str | None = None
    lens_model: str | None = None
    exposure_time: Fraction | None = None
    f_number: Fraction | None = None
    iso: int | None = None
    focal_length: Fraction | None = None


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        if data[:4] == b"II*\x00":
            self.order: Literal["<", ">"] = "<"
        elif data[:4] == b"MM\x00*":
            self.order = ">"
        else:
            raise ValueError("not a TIFF header")

    def unsigned(self, position: int, size: int) -> int:
        if position < 0 or position + size > len(self.data):
            raise ValueError("offset out of range")
        return int.from_bytes(self.data[position : position + size], "little" if self.order == "<" else "big")

    def ifd(self, offset: int, allowed: dict[int, tuple[frozenset[int], int]]) -> tuple[Fields, int | None]:
        """The allowed fields of the IFD at offset, and the Exif IFD pointer if it holds one."""
        if offset < 8:
            raise ValueError("IFD inside the header")
        count = self.unsigned(offset, 2)
        if offset + 2 + 12 * count > len(self.data):
            raise ValueError("IFD out of range")
        fields: Fields = {}
        exif_ifd: int | None = None
        for position in range(offset + 2, offset + 2 + 12 * count, 12):
            tag, kind, number = struct.unpack_from(self.order + "HHI", self.data, position)
            if tag == EXIF_IFD and kind in (LONG, 13) and number == 1 and exif_ifd is None:
                exif_ifd = self.unsigned(position + 8, 4)
                continue
            rule = allowed.get(tag)
            if rule is None or tag in fields or kind not in rule[0] or not 1 <= number <= rule[1]:
                continue
            size = TYPE_SIZES[kind] * number
            start = position + 8 if size <= 4 else self.unsigned(position + 8, 4)
            if start < 8 or start + size > len(self.data):
                continue
            value = self.data[start : start + size]
            if kind == ASCII:
                value = value.split(b"\x00", 1)[0]
                if not value or not all(0x20 <= byte < 0x7F for byte in value):
                    continue
                value += b"\x00"
                number = len(value)
            fields[tag] = Field(kind, number, value)
        return fields, exif_ifd


def read_fields(data: bytes) -> tuple[Literal["<", ">"], Fields, Fields] | None:
    """The byte order and the allowed fields of IFD0 and of the Exif IFD, or None if IFD0 cannot be read."""
    try:
        reader = _Reader(data)
        ifd0, exif_offset = reader.ifd(reader.unsigned(4, 4), IFD0_TAGS)
    except ValueError:
        return None
    exif: Fields = {}
    if exif_offset is not None:
        with contextlib.suppress(ValueError):  # what IFD0 allows still stands
            exif, _ = reader.ifd(exif_offset, EXIF_TAGS)
    return reader.order, ifd0, exif


def clean_tiff(data: bytes) -> bytes | None:
    """A new TIFF holding only the allowed tags of data, or None if none is left (or data is not TIFF)."""
    read = read_fields(data)
    if read is None:
        return None
    order, ifd0, exif = read
    if not ifd0 and not exif:
        return None
    return _write(order, ifd0, exif)


def _write(order: Literal["<", ">"], ifd0: Fields, exif: Fields) -> bytes:
    """Header, IFD0 and its values, then the Exif IFD and its values: always the same bytes for the same fields."""
    out = bytearray((b"II*\x00" if order == "<" else b"MM\x00*") + struct.pack(order + "I", 8))

    def table(fields: Fields, extra: tuple[int, int] | None) -> None:
        entries = sorted([(tag, field) for tag, field in fields.items()], key=lambda item: item[0])
        count = len(entries) + (extra is not None)
        start = len(out)
        values_at = start + 2 + 12 * count + 4
        values = bytearray()
        rows: list[tuple[int, bytes]] = []
        for tag, field in entries:
            if len(field.value) <= 4:
                inline = field.value.ljust(4, b"\x00")
            else:
                inline = struct.pack(order + "I", values_at + len(values))
                values += field.value + b"\x00" * (len(field.value) & 1)
            rows.append((tag, struct.pack(order + "HHI", tag, field.type, field.count) + inline))
        if extra is not None:
            rows.append((extra[0], struct.pack(order + "HHII", extra[0], LONG, 1, extra[1])))
        rows.sort(key=lambda row: row[0])
        out.extend(struct.pack(order + "H", count) + b"".join(row for _, row in rows) + bytes(4) + values)

    if exif:
        # IFD0's size does not depend on where the Exif IFD goes: lay IFD0 out once to learn it.
        exif_at = len(_write(order, ifd0, {})) + 12  # one more entry in IFD0: the pointer
        table(ifd0, (EXIF_IFD, exif_at))
        table(exif, None)
    else:
        table(ifd0, None)
    return bytes(out)


def orientation_of(data: bytes) -> int:
    """The orientation (1 to 8) that a TIFF's IFD0 gives, 1 if none or not valid."""
    read = read_fields(data)
    if read is None or ORIENTATION not in read[1]:
        return 1
    value = int.from_bytes(read[1][ORIENTATION].value[:2], "little" if read[0] == "<" else "big")
    return value if 1 <= value <= 8 else 1


def camera_from(data: bytes) -> Camera | None:
    """The camera fields of a TIFF, or None if it has none."""
    read = read_fields(data)
    if read is None:
        return None
    order, ifd0, exif = read
    endian: Literal["little", "big"] = "little" if order == "<" else "big"

    def text(fields: Fields, tag: int) -> str | None:
        field = fields.get(tag)
        return field.value.rstrip(b"\x00").decode("ascii").strip() or None if field else None

    def ratio(tag: int) -> Fraction | None:
        field = exif.get(tag)
        if field is None:
            return None
        numerator, denominator = (int.from_bytes(field.value[i : i + 4], endian) for i in (0, 4))
        return Fraction(numerator, denominator) if denominator else None

    iso_field = exif.get(ISO)
    iso = int.from_bytes(iso_field.value[: TYPE_SIZES[iso_field.type]], endian) if iso_field else None
    camera = Camera(
        make=text(ifd0, MAKE),
        model=text(ifd0, MODEL),
        lens_model=text(exif, LENS_MODEL),
        exposure_time=ratio(EXPOSURE_TIME),
        f_number=ratio(F_NUMBER),
        iso=iso or None,
        focal_length=ratio(FOCAL_LENGTH),
    )
    return None if camera == Camera() else camera

"""Removes location from JPEG, PNG and WebP files without re-encoding them, and reads their pixel size.

JPEG: the EXIF GPS directory and everything it points to is zeroed in place and its pointer removed; XMP, other
APP1, Photoshop/IPTC (APP13), C2PA (APP11) and whatever follows the image (MPF pictures, motion-photo videos)
are dropped; an Exif segment that cannot be followed safely is dropped whole. PNG: eXIf and XMP/raw-profile text
chunks go. WebP: EXIF and XMP chunks go. Everything else is kept byte for byte; GIF and other data are untouched.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["display_size", "has_location", "image_size", "strip_location", "strip_location_file"]

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
GIF_MAGICS = (b"GIF87a", b"GIF89a")

# JPEG markers
SOI, EOI, SOS = 0xD8, 0xD9, 0xDA
APP1, APP2, APP11, APP13 = 0xE1, 0xE2, 0xEB, 0xED
# Markers without a length: TEM and the restart markers.
STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD8)})
# Start-of-frame markers (all but DHT 0xC4, JPG 0xC8 and DAC 0xCC in 0xC0-0xCF) hold the pixel size.
SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
EXIF_HEADER = b"Exif\x00"  # then one pad byte (normally NUL) before the TIFF header
EXIF_HEADER_SIZE = 6
MPF_HEADER = b"MPF\x00"

# TIFF/EXIF tags and field types
ORIENTATION = 0x0112
EXIF_IFD = 0x8769
GPS_IFD = 0x8825
SHORT, LONG, IFD = 3, 4, 13
TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
ENTRY_SIZE = 12
MAX_IFDS = 16  # IFD0, IFD1, the Exif IFD and a few more is all a photo has; more is a loop or junk

# PNG text chunks are dropped when they hold XMP, or EXIF/XMP/IPTC as ImageMagick keeps them ("Raw profile type exif").
PNG_TEXT_CHUNKS = frozenset({b"tEXt", b"zTXt", b"iTXt"})
PNG_XMP_KEYWORD = b"XML:com.adobe.xmp"
PNG_RAW_PROFILE = b"raw profile type "
PNG_RAW_PROFILES_WITH_LOCATION = frozenset({b"exif", b"app1", b"xmp", b"iptc", b"8bim"})
PNG_EXIF_CHUNKS = frozenset({b"exif", b"zxif"})  # eXIf, and the pre-standard exIf and zxIf, by lower case

WEBP_METADATA_CHUNKS = frozenset({b"EXIF", b"XMP "})
VP8X_EXIF_FLAG = 0x08
VP8X_XMP_FLAG = 0x04


def strip_location(data: bytes) -> bytes:
    """The same image without anything that can tell where it was taken; other formats unchanged."""
    if data.startswith(JPEG_MAGIC):
        return _strip_jpeg(data)
    if data.startswith(PNG_MAGIC):
        return _strip_png(data)
    if _is_webp(data):
        return _strip_webp(data)
    return data


def strip_location_file(path: Path) -> None:
    """Strip location from the image file at path, replacing it atomically only if something changes."""
    data = path.read_bytes()
    stripped = strip_location(data)
    if stripped == data:
        return
    # mkstemp creates the file 0600, next to the original so os.replace stays on one file system.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(stripped)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def has_location(data: bytes) -> bool:
    """True if data still carries something strip_location removes as possible location."""
    if data.startswith(JPEG_MAGIC):
        return _jpeg_has_location(data)
    if data.startswith(PNG_MAGIC):
        return any(kind != "keep" for kind, _, _ in _png_chunks(data))
    if _is_webp(data):
        chunks, complete = _webp_chunks(data)
        return not complete or any(data[start : start + 4] in WEBP_METADATA_CHUNKS for start, _ in chunks)
    return False


def image_size(data: bytes) -> tuple[int, int] | None:
    """The (width, height) in pixels the file's header declares, or None if it cannot be read."""
    size: tuple[int, int] | None = None
    if data.startswith(JPEG_MAGIC):
        size = _jpeg_size(data)
    elif data.startswith(PNG_MAGIC):
        if data[12:16] == b"IHDR" and len(data) >= 24:
            size = (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big"))
    elif _is_webp(data):
        size = _webp_size(data)
    elif data[:6] in GIF_MAGICS and len(data) >= 10:
        size = (int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little"))
    if size is None or 0 in size:
        return None
    return size


def display_size(data: bytes) -> tuple[int, int] | None:
    """The (width, height) as shown: a JPEG's EXIF orientation 5 to 8 turns it by a quarter."""
    size = image_size(data)
    if size is not None and data.startswith(JPEG_MAGIC) and _jpeg_orientation(data) >= 5:
        return size[1], size[0]
    return size


# JPEG


@dataclass(frozen=True, slots=True)
class _Piece:
    """A run of a JPEG file: a marker alone, a marker segment, entropy-coded data, or what cannot be read."""

    kind: Literal["marker", "segment", "scan", "rest"]
    start: int  # includes any 0xFF fill bytes before the marker
    end: int
    marker: int = 0
    body: int = 0  # where a segment's payload starts, after its length


def _jpeg_pieces(data: bytes) -> Iterator[_Piece]:
    """Walk the whole file; "rest" is what follows the first image's EOI, or what its framing loses track of."""
    size = len(data)
    yield _Piece("marker", 0, 2, SOI)
    position = 2
    while position < size:
        cursor = position
        while cursor < size and data[cursor] == 0xFF:
            cursor += 1
        if cursor in (position, size):  # no marker where one must be, or only fill bytes left
            break
        marker = data[cursor]
        if marker == EOI:
            yield _Piece("marker", position, cursor + 1, marker)
            position = cursor + 1
            break
        if marker in STANDALONE_MARKERS:
            yield _Piece("marker", position, cursor + 1, marker)
            position = cursor + 1
            continue
        if marker in (0x00, SOI) or cursor + 3 > size:
            break
        end = cursor + 1 + int.from_bytes(data[cursor + 1 : cursor + 3], "big")
        if end < cursor + 3 or end > size:
            break
        yield _Piece("segment", position, end, marker, cursor + 3)
        position = end
        if marker == SOS:
            scan_end = _scan_end(data, position)
            yield _Piece("scan", position, scan_end)
            position = scan_end
    if position < size:
        yield _Piece("rest", position, size)


def _scan_end(data: bytes, position: int) -> int:
    """Where entropy-coded data ends: at the first 0xFF that is neither stuffed (FF 00) nor a restart marker."""
    while True:
        position = data.find(b"\xff", position)
        if position < 0 or position + 1 >= len(data):
            return len(data)
        following = data[position + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            position += 2
        elif following == 0xFF:
            position += 1
        else:
            return position


def _strip_jpeg(data: bytes) -> bytes:
    view = memoryview(data)
    kept: list[bytes | memoryview] = []
    for piece in _jpeg_pieces(data):
        if piece.kind == "rest":
            # A second image (MPF, motion photo video, maker trailer) may carry its own location.
            continue
        if piece.kind != "segment":
            kept.append(view[piece.start : piece.end])
            continue
        if piece.marker == APP1:
            if not data.startswith(EXIF_HEADER, piece.body):
                continue  # XMP, extended XMP, or something a lenient reader could take for either
            tiff_start = piece.body + EXIF_HEADER_SIZE
            tiff = data[tiff_start : piece.end]
            cleaned = _strip_tiff(tiff)
            if cleaned is None:
                continue
            kept.append(view[piece.start : piece.end] if cleaned is tiff else data[piece.start : tiff_start] + cleaned)
        elif piece.marker in (APP11, APP13):
            continue  # C2PA manifests (JUMBF) and Photoshop IRB/IPTC can name or hold the place
        elif piece.marker == APP2 and data.startswith(MPF_HEADER, piece.body):
            continue  # indexes the images after EOI, which are dropped
        else:
            kept.append(view[piece.start : piece.end])
    return b"".join(kept)


def _jpeg_has_location(data: bytes) -> bool:
    for piece in _jpeg_pieces(data):
        if piece.kind == "rest":
            return True
        if piece.kind != "segment":
            continue
        if piece.marker == APP1:
            if not data.startswith(EXIF_HEADER, piece.body):
                return True
            if _tiff_has_location(data[piece.body + EXIF_HEADER_SIZE : piece.end]):
                return True
        elif piece.marker in (APP11, APP13):
            return True
    return False


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    for piece in _jpeg_pieces(data):
        if piece.kind == "scan":
            return None
        if piece.kind == "segment" and piece.marker in SOF_MARKERS and piece.end - piece.body >= 5:
            height = int.from_bytes(data[piece.body + 1 : piece.body + 3], "big")
            width = int.from_bytes(data[piece.body + 3 : piece.body + 5], "big")
            return width, height
    return None


def _jpeg_orientation(data: bytes) -> int:
    """The EXIF orientation of the first Exif segment, as a browser reads it: 1 (as stored) unless valid."""
    for piece in _jpeg_pieces(data):
        if piece.kind == "scan":
            break
        if piece.kind == "segment" and piece.marker == APP1 and data.startswith(EXIF_HEADER, piece.body):
            try:
                tiff = _Tiff(data[piece.body + EXIF_HEADER_SIZE : piece.end])
                for entry in tiff.ifd(tiff.u32(4)).entries:
                    if entry.tag == ORIENTATION and entry.type == SHORT and entry.count >= 1:
                        value = tiff.u16(entry.position + 8)
                        return value if 1 <= value <= 8 else 1
            except _Malformed:
                pass
            return 1
    return 1


# TIFF structure inside an Exif segment


class _Malformed(Exception):
    """The TIFF structure cannot be followed safely."""


@dataclass(frozen=True, slots=True)
class _Entry:
    tag: int
    type: int
    count: int
    position: int  # of the 12-byte entry; its value or value offset is at position + 8


@dataclass(frozen=True, slots=True)
class _Ifd:
    offset: int
    end: int  # after the 4-byte offset of the next IFD
    entries: tuple[_Entry, ...]
    next: int


class _Tiff:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.order: Literal["little", "big"]
        if data[:4] == b"II*\x00":
            self.order = "little"
        elif data[:4] == b"MM\x00*":
            self.order = "big"
        else:
            raise _Malformed("not a TIFF header")

    def u16(self, position: int) -> int:
        return self._unsigned(position, 2)

    def u32(self, position: int) -> int:
        return self._unsigned(position, 4)

    def _unsigned(self, position: int, size: int) -> int:
        if position < 0 or position + size > len(self.data):
            raise _Malformed("offset out of range")
        return int.from_bytes(self.data[position : position + size], self.order)

    def ifd(self, offset: int) -> _Ifd:
        if offset < 8:
            raise _Malformed("IFD inside the header")
        count = self.u16(offset)
        end = offset + 2 + ENTRY_SIZE * count + 4
        if end > len(self.data):
            raise _Malformed("IFD out of range")
        entries = tuple(
            _Entry(self.u16(position), self.u16(position + 2), self.u32(position + 4), position)
            for position in range(offset + 2, end - 4, ENTRY_SIZE)
        )
        return _Ifd(offset, end, entries, self.u32(end - 4))

    def pointer(self, entry: _Entry) -> int:
        if entry.type not in (LONG, IFD) or entry.count != 1:
            raise _Malformed("IFD pointer of the wrong type")
        return self.u32(entry.position + 8)


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where the IFDs are, and which bytes are GPS: the GPS IFDs and the values they point to."""

    tables: tuple[_Ifd, ...]  # the IFD chain (IFD0, IFD1, ...) and the Exif IFDs they point to
    gps_tables: tuple[_Ifd, ...]
    gps_ranges: tuple[tuple[int, int], ...]


def _read_layout(tiff: _Tiff) -> _Layout:
    tables: list[_Ifd] = []
    seen: set[int] = set()

    def visit(offset: int) -> _Ifd:
        if offset in seen or len(tables) >= MAX_IFDS:
            raise _Malformed("IFD loop")
        seen.add(offset)
        table = tiff.ifd(offset)
        tables.append(table)
        return table

    offset = tiff.u32(4)
    while offset:
        offset = visit(offset).next
    for table in list(tables):
        for entry in table.entries:
            if entry.tag == EXIF_IFD:
                visit(tiff.pointer(entry))

    gps_tables: list[_Ifd] = []
    gps_ranges: list[tuple[int, int]] = []
    for table in tables:
        for entry in table.entries:
            if entry.tag != GPS_IFD:
                continue
            gps = tiff.ifd(tiff.pointer(entry))
            gps_tables.append(gps)
            gps_ranges.append((gps.offset, gps.end))
            for field in gps.entries:
                if field.type not in TYPE_SIZES:
                    raise _Malformed("unknown field type")
                size = TYPE_SIZES[field.type] * field.count
                if size > 4:
                    start = tiff.u32(field.position + 8)
                    if start < 8 or start + size > len(tiff.data):
                        raise _Malformed("GPS value out of range")
                    gps_ranges.append((start, start + size))

    # Removing an entry shifts the rest of its IFD: that must not move GPS bytes out of what gets zeroed,
    # nor disturb another IFD.
    spans = sorted([(0, 8), *((table.offset, table.end) for table in tables)])
    if any(earlier[1] > later[0] for earlier, later in itertools.pairwise(spans)):
        raise _Malformed("IFDs overlap")
    if any(start < span_end and span_start < end for start, end in gps_ranges for span_start, span_end in spans):
        raise _Malformed("GPS data overlaps an IFD")
    return _Layout(tuple(tables), tuple(gps_tables), tuple(gps_ranges))


def _strip_tiff(data: bytes) -> bytes | None:
    """data itself if it has no GPS IFD, a copy of the same length without it, or None if unsafe to keep."""
    try:
        tiff = _Tiff(data)
        layout = _read_layout(tiff)
    except _Malformed:
        return None
    if not layout.gps_tables:
        return data
    buffer = bytearray(data)
    for table in layout.tables:
        # From the last, so that the positions of the earlier ones stay put.
        for entry in reversed(table.entries):
            if entry.tag == GPS_IFD:
                _remove_entry(buffer, table, entry, tiff.order)
    for start, end in layout.gps_ranges:
        buffer[start:end] = bytes(end - start)
    cleaned = bytes(buffer)
    try:
        if _read_layout(_Tiff(cleaned)).gps_tables:
            return None
    except _Malformed:
        return None
    return cleaned


def _remove_entry(buffer: bytearray, table: _Ifd, entry: _Entry, order: Literal["little", "big"]) -> None:
    """Shift the entries after this one and the next-IFD offset up by one entry, and zero the freed bytes."""
    count = int.from_bytes(buffer[table.offset : table.offset + 2], order)
    end = table.offset + 2 + ENTRY_SIZE * count + 4
    buffer[entry.position : end - ENTRY_SIZE] = buffer[entry.position + ENTRY_SIZE : end]
    buffer[end - ENTRY_SIZE : end] = bytes(ENTRY_SIZE)
    buffer[table.offset : table.offset + 2] = (count - 1).to_bytes(2, order)


def _tiff_has_location(data: bytes) -> bool:
    try:
        layout = _read_layout(_Tiff(data))
    except _Malformed:
        return True
    return any(table.entries for table in layout.gps_tables)


# PNG


def _png_chunks(data: bytes) -> Iterator[tuple[Literal["keep", "drop"], int, int]]:
    """Every chunk as (what to do, start, end); what follows IEND or a broken chunk is dropped."""
    size = len(data)
    position = len(PNG_MAGIC)
    yield "keep", 0, position
    while position + 12 <= size:
        end = position + 12 + int.from_bytes(data[position : position + 4], "big")
        if end > size:
            break
        kind = data[position + 4 : position + 8]
        yield ("drop" if _png_chunk_has_location(kind, data[position + 8 : end - 4]) else "keep"), position, end
        position = end
        if kind == b"IEND":
            break
    if position < size:
        yield "drop", position, size


def _png_chunk_has_location(kind: bytes, payload: bytes) -> bool:
    if kind.lower() in PNG_EXIF_CHUNKS:
        return True
    if kind not in PNG_TEXT_CHUNKS:
        return False
    keyword = payload.split(b"\x00", 1)[0]
    if keyword == PNG_XMP_KEYWORD:
        return True
    lowered = keyword.lower()
    return lowered.startswith(PNG_RAW_PROFILE) and lowered[len(PNG_RAW_PROFILE) :] in PNG_RAW_PROFILES_WITH_LOCATION


def _strip_png(data: bytes) -> bytes:
    view = memoryview(data)
    return b"".join(view[start:end] for kind, start, end in _png_chunks(data) if kind == "keep")


# WebP


def _is_webp(data: bytes) -> bool:
    return len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP"


def _webp_chunks(data: bytes) -> tuple[list[tuple[int, int]], bool]:
    """The (start, end) of every chunk, padding included, and whether they account for the whole file."""
    riff_end = min(8 + int.from_bytes(data[4:8], "little"), len(data))
    chunks: list[tuple[int, int]] = []
    position = 12
    while position + 8 <= riff_end:
        size = int.from_bytes(data[position + 4 : position + 8], "little")
        end = position + 8 + size
        if end > riff_end:
            break
        end = min(end + (size & 1), riff_end)
        chunks.append((position, end))
        position = end
    return chunks, position == len(data)


def _strip_webp(data: bytes) -> bytes:
    chunks, complete = _webp_chunks(data)
    body: list[bytes] = []
    changed = not complete
    for start, end in chunks:
        fourcc = data[start : start + 4]
        if fourcc in WEBP_METADATA_CHUNKS:
            changed = True
            continue
        chunk = data[start:end]
        if fourcc == b"VP8X" and end - start > 8:
            flags = chunk[8]
            cleared = flags & ~(VP8X_EXIF_FLAG | VP8X_XMP_FLAG)
            if cleared != flags:
                changed = True
                chunk = chunk[:8] + bytes([cleared]) + chunk[9:]
        body.append(chunk)
    if not changed:
        return data
    joined = b"WEBP" + b"".join(body)
    return b"RIFF" + len(joined).to_bytes(4, "little") + joined


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunks, _ = _webp_chunks(data)
    for start, end in chunks:
        fourcc, payload = data[start : start + 4], data[start + 8 : end]
        if fourcc == b"VP8X" and len(payload) >= 10:
            width = int.from_bytes(payload[4:7], "little") + 1
            height = int.from_bytes(payload[7:10], "little") + 1
            return width, height
        if fourcc == b"VP8 " and len(payload) >= 10 and payload[3:6] == b"\x9d\x01\x2a":
            width = int.from_bytes(payload[6:8], "little") & 0x3FFF
            height = int.from_bytes(payload[8:10], "little") & 0x3FFF
            return width, height
        if fourcc == b"VP8L" and len(payload) >= 5 and payload[0] == 0x2F:
            bits = int.from_bytes(payload[1:5], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None

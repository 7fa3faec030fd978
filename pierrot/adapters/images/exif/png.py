"""PNG: the chunks that draw the picture and its colours, a rebuilt eXIf; text, C2PA and unknown chunks go."""

from __future__ import annotations

import zlib

from pierrot.adapters.images.exif.errors import ImageRefused
from pierrot.adapters.images.exif.tiff import clean_tiff

MAGIC = b"\x89PNG\r\n\x1a\n"
# Image data, palette and transparency, colour (gamma, chromaticities, sRGB, ICC, cICP, significant bits), pixel
# density, background, and APNG animation.
KEPT = frozenset(
    {
        b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"cICP", b"sBIT", b"pHYs",
        b"bKGD", b"acTL", b"fcTL", b"fdAT",
    }
)  # fmt: skip
EXIF = b"eXIf"


def chunks(data: bytes) -> list[tuple[bytes, bytes, bool]]:
    """Every chunk up to IEND as (type, payload, CRC correct); refused if the file breaks off before IEND."""
    found: list[tuple[bytes, bytes, bool]] = []
    position = len(MAGIC)
    while True:
        if position + 12 > len(data):
            raise ImageRefused("a PNG cut short before its end")
        length = int.from_bytes(data[position : position + 4], "big")
        end = position + 12 + length
        if length > 0x7FFFFFFF or end > len(data):
            raise ImageRefused("a PNG cut short inside a chunk")
        kind = data[position + 4 : position + 8]
        crc = int.from_bytes(data[end - 4 : end], "big")
        found.append((kind, data[position + 8 : end - 4], zlib.crc32(data[position + 4 : end - 4]) == crc))
        position = end
        if kind == b"IEND":
            return found


def clean(data: bytes) -> bytes:
    """The PNG with only the kept chunks and the allowed EXIF; refused if cut short or its image data is broken."""
    found = chunks(data)
    if found[0][0] != b"IHDR" or len(found[0][1]) != 13 or not any(kind == b"IDAT" for kind, _, _ in found):
        raise ImageRefused("a PNG without its header or image data")
    out = [MAGIC]
    exif_done = False
    for kind, payload, crc_ok in found:
        if not crc_ok:
            if kind[0] & 0x20 == 0:  # a critical chunk: a decoder would stop here
                raise ImageRefused(f"a PNG whose {kind.decode('latin-1')} chunk is damaged")
            continue
        if kind in KEPT:
            out.append(_chunk(kind, payload))
        elif kind == EXIF and not exif_done:
            exif_done = True
            tiff = clean_tiff(payload)
            if tiff is not None:
                out.append(_chunk(kind, tiff))
    return b"".join(out)


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return len(payload).to_bytes(4, "big") + kind + payload + zlib.crc32(kind + payload).to_bytes(4, "big")


def exif_tiff(data: bytes) -> bytes | None:
    try:
        found = chunks(data)
    except ImageRefused:
        return None
    return next((payload for kind, payload, ok in found if kind == EXIF and ok), None)


def size(data: bytes) -> tuple[int, int] | None:
    if data[12:16] == b"IHDR" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return None

"""WebP: the image, animation, alpha and ICC chunks, a rebuilt EXIF; XMP, C2PA and unknown chunks go."""

from __future__ import annotations

from pierrot.adapters.images.exif.errors import ImageRefused
from pierrot.adapters.images.exif.tiff import clean_tiff

IMAGE_CHUNKS = frozenset({b"VP8 ", b"VP8L", b"ANMF"})
KEPT = IMAGE_CHUNKS | {b"VP8X", b"ALPH", b"ANIM", b"ICCP"}
VP8X_ICC, VP8X_EXIF, VP8X_XMP = 0x20, 0x08, 0x04


def is_webp(data: bytes) -> bool:
    return len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP"


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Every chunk as (fourcc, payload); refused if the RIFF size and the chunks do not account for each other."""
    riff_end = 8 + int.from_bytes(data[4:8], "little")
    if riff_end > len(data):
        raise ImageRefused("a WebP cut short")
    found: list[tuple[bytes, bytes]] = []
    position = 12
    while position < riff_end:
        if position + 8 > riff_end:
            raise ImageRefused("a WebP whose last chunk is cut short")
        length = int.from_bytes(data[position + 4 : position + 8], "little")
        end = position + 8 + length
        if end > riff_end:
            raise ImageRefused("a WebP whose last chunk is cut short")
        found.append((data[position : position + 4], data[position + 8 : end]))
        position = min(end + (length & 1), riff_end)
    return found


def clean(data: bytes) -> bytes:
    """The WebP with only the kept chunks and the allowed EXIF, its VP8X flags and RIFF size set to match."""
    found = chunks(data)
    if not any(fourcc in IMAGE_CHUNKS for fourcc, _ in found):
        raise ImageRefused("a WebP without image data")
    body: list[bytes] = []
    exif_done = has_icc = has_exif = False
    for fourcc, payload in found:
        if fourcc in KEPT:
            has_icc = has_icc or fourcc == b"ICCP"
            body.append(_chunk(fourcc, payload))
        elif fourcc == b"EXIF" and not exif_done:
            exif_done = True
            tiff = clean_tiff(payload.removeprefix(b"Exif\x00\x00"))
            if tiff is not None:
                has_exif = True
                body.append(_chunk(fourcc, tiff))
    if body[0].startswith(b"VP8X") and len(body[0]) >= 9:
        flags = body[0][8] & ~(VP8X_ICC | VP8X_EXIF | VP8X_XMP)
        flags |= (VP8X_ICC if has_icc else 0) | (VP8X_EXIF if has_exif else 0)
        body[0] = body[0][:8] + bytes([flags]) + body[0][9:]
    elif has_exif or has_icc:
        # Without VP8X a reader looks at nothing but the image: the EXIF and ICC would be dead weight.
        body = [chunk for chunk in body if chunk[:4] in IMAGE_CHUNKS | {b"ALPH", b"ANIM"}]
    joined = b"WEBP" + b"".join(body)
    return b"RIFF" + len(joined).to_bytes(4, "little") + joined


def _chunk(fourcc: bytes, payload: bytes) -> bytes:
    return fourcc + len(payload).to_bytes(4, "little") + payload + b"\x00" * (len(payload) & 1)


def exif_tiff(data: bytes) -> bytes | None:
    try:
        found = chunks(data)
    except ImageRefused:
        return None
    payload = next((payload for fourcc, payload in found if fourcc == b"EXIF"), None)
    return None if payload is None else payload.removeprefix(b"Exif\x00\x00")


def size(data: bytes) -> tuple[int, int] | None:
    try:
        found = chunks(data)
    except ImageRefused:
        return None
    for fourcc, payload in found:
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

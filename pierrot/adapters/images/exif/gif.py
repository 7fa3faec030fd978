"""GIF: the frames, their timing and the looping count; comments, XMP and other application extensions go."""

from __future__ import annotations

from pierrot.adapters.images.exif.errors import ImageRefused

MAGICS = (b"GIF87a", b"GIF89a")
IMAGE, EXTENSION, TRAILER = 0x2C, 0x21, 0x3B
GRAPHIC_CONTROL, APPLICATION = 0xF9, 0xFF
LOOPING = (b"NETSCAPE2.0", b"ANIMEXTS1.0")  # the application extensions that say how often an animation loops


def _colour_table_size(packed: int) -> int:
    return 3 << ((packed & 0x07) + 1) if packed & 0x80 else 0


def _sub_blocks_end(data: bytes, position: int) -> int:
    """Where the run of data sub-blocks starting at position ends, after its empty block."""
    while True:
        if position >= len(data):
            raise ImageRefused("a GIF cut short")
        length = data[position]
        position += 1 + length
        if length == 0:
            return position


def clean(data: bytes) -> bytes:
    """The GIF with only its frames and what animates them; refused if cut short or not understood."""
    position = 13 + _colour_table_size(data[10]) if len(data) >= 13 else len(data) + 1
    if position > len(data):
        raise ImageRefused("a GIF cut short")
    out = [data[:position]]
    frames = 0
    while position < len(data):
        block = data[position]
        if block == TRAILER:
            if not frames:
                raise ImageRefused("a GIF without a frame")
            out.append(b";")
            return b"".join(out)
        if block == IMAGE:
            if position + 10 > len(data):
                raise ImageRefused("a GIF cut short")
            start = position
            position += 10 + _colour_table_size(data[position + 9]) + 1  # descriptor, colour table, LZW code size
            position = _sub_blocks_end(data, position)
            out.append(data[start:position])
            frames += 1
        elif block == EXTENSION and position + 2 <= len(data):
            start, label = position, data[position + 1]
            position = _sub_blocks_end(data, position + 2)
            application = data[start + 3 : start + 14] if data[start + 2 : start + 3] == b"\x0b" else b""
            if label == GRAPHIC_CONTROL or (label == APPLICATION and application in LOOPING):
                out.append(data[start:position])
        else:
            raise ImageRefused("a GIF with a block it does not know")
    raise ImageRefused("a GIF cut short")


def size(data: bytes) -> tuple[int, int] | None:
    if data[:6] in MAGICS and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    return None

"""JPEG: the segments a decoder needs, the colour profile, a rebuilt EXIF; every other segment goes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from pierrot.adapters.images.exif.errors import ImageRefused
from pierrot.adapters.images.exif.tiff import clean_tiff

SOI, EOI, SOS = 0xD8, 0xD9, 0xDA
APP0, APP1, APP2, APP14 = 0xE0, 0xE1, 0xE2, 0xEE
# Markers without a length, TEM and the restart markers, mean nothing outside a scan: runs of them are skipped at
# once (a file made of them must not cost a Python step each).
STANDALONE_RUN = re.compile(rb"(?:\xff+[\x01\xd0-\xd7])+")
# Start-of-frame markers (all but DHT 0xC4, JPG 0xC8 and DAC 0xCC in 0xC0-0xCF) hold the pixel size.
SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# What a decoder needs: frames, Huffman and arithmetic tables, quantisation, restart interval, line count, and the
# hierarchical mode's DHP and EXP.
DECODING_MARKERS = SOF_MARKERS | {0xC4, 0xCC, 0xDB, 0xDD, 0xDC, 0xDE, 0xDF, SOS}
EXIF_HEADER = b"Exif\x00"  # then one pad byte (normally NUL) before the TIFF header
ICC_HEADER = b"ICC_PROFILE\x00"
ADOBE_HEADER = b"Adobe"  # APP14: tells a decoder whether the colour channels are transformed
JFIF_HEADER = b"JFIF\x00"


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of a JPEG file: SOI or EOI, a marker segment, entropy-coded data, or what cannot be read."""

    kind: Literal["marker", "segment", "scan", "rest"]
    start: int  # includes any 0xFF fill bytes before the marker
    end: int
    marker: int = 0
    body: int = 0  # where a segment's payload starts, after its length


def pieces(data: bytes) -> Iterator[Piece]:
    """Walk the file once; "rest" is what follows the first image's EOI, or what its framing loses track of."""
    size = len(data)
    yield Piece("marker", 0, 2, SOI)
    position = 2
    while position < size:
        run = STANDALONE_RUN.match(data, position)
        if run:
            position = run.end()
            continue
        cursor = position
        while cursor < size and data[cursor] == 0xFF:
            cursor += 1
        if cursor in (position, size):  # no marker where one must be, or only fill bytes left
            break
        marker = data[cursor]
        if marker == EOI:
            yield Piece("marker", position, cursor + 1, marker)
            position = cursor + 1
            break
        if marker in (0x00, SOI) or cursor + 3 > size:
            break
        end = cursor + 1 + int.from_bytes(data[cursor + 1 : cursor + 3], "big")
        if end < cursor + 3 or end > size:
            break
        yield Piece("segment", position, end, marker, cursor + 3)
        position = end
        if marker == SOS:
            scan_end = _scan_end(data, position)
            yield Piece("scan", position, scan_end)
            position = scan_end
    if position < size:
        yield Piece("rest", position, size)


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


def clean(data: bytes) -> bytes:
    """The image with only what shows it as it was; refused if cut short or its framing cannot be followed."""
    view = memoryview(data)
    kept: list[bytes | memoryview] = []
    frame = scan = ended = exif_done = False
    for piece in pieces(data):
        if piece.kind == "rest":
            if not ended:
                raise ImageRefused("a JPEG whose structure breaks off before its end")
            continue  # a second image (MPF, motion photo video, maker trailer) may carry its own location
        if piece.kind == "scan":
            kept.append(view[piece.start : piece.end])
            continue
        if piece.kind == "marker":
            ended = piece.marker == EOI
            kept.append(view[piece.start : piece.end])
            continue
        marker, body = piece.marker, data[piece.body : piece.end]
        whole = view[piece.start : piece.end]
        if marker in DECODING_MARKERS:
            frame = frame or marker in SOF_MARKERS
            scan = scan or (marker == SOS and frame)
            kept.append(whole)
        elif marker == APP0 and body.startswith(JFIF_HEADER) and len(body) >= 14 and not kept[1:]:
            kept.append(_segment(APP0, body[:12] + b"\x00\x00"))  # the density, without the thumbnail
        elif marker == APP1 and body.startswith(EXIF_HEADER) and not exif_done and not scan:
            exif_done = True  # only the first Exif segment is what readers take
            tiff = clean_tiff(body[6:])
            if tiff is not None and len(tiff) + 8 <= 0xFFFF:
                kept.append(_segment(APP1, b"Exif\x00\x00" + tiff))
        elif marker == APP2 and body.startswith(ICC_HEADER):
            kept.append(whole)
        elif marker == APP14 and body.startswith(ADOBE_HEADER) and len(body) >= 12:
            kept.append(_segment(APP14, body[:12]))  # version, flags and transform: its whole defined length
    if not (frame and scan and ended):
        raise ImageRefused("a JPEG without a frame, a scan or its end")
    return b"".join(kept)


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def exif_tiff(data: bytes) -> bytes | None:
    """The TIFF structure of the first Exif segment before the image data, if any."""
    for piece in pieces(data):
        if piece.kind == "scan":
            break
        if piece.kind == "segment" and piece.marker == APP1 and data.startswith(EXIF_HEADER, piece.body):
            return data[piece.body + 6 : piece.end]
    return None


def size(data: bytes) -> tuple[int, int] | None:
    for piece in pieces(data):
        if piece.kind == "scan":
            return None
        if piece.kind == "segment" and piece.marker in SOF_MARKERS and piece.end - piece.body >= 5:
            height = int.from_bytes(data[piece.body + 1 : piece.body + 3], "big")
            width = int.from_bytes(data[piece.body + 3 : piece.body + 5], "big")
            return width, height
    return None

"""Real photos that carry a place, from other projects' packages (tests/fixtures/located/SOURCES.md), stripped and
read back: by pierrot itself, and by exiftool where it is installed (CI installs it)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pierrot.adapters.images.exif import ImageRefused, display_size, has_location, image_size, strip_location
from tests.exif_samples import make_exif, make_gif, make_jpeg, make_png, make_webp

CORPUS = Path(__file__).parent.parent / "fixtures" / "located"
PHOTOS = sorted(p for p in CORPUS.iterdir() if p.suffix in (".jpg", ".png", ".webp"))
# Tag names that hold or hint at a place, as exiftool names them.
PLACE = re.compile(r"GPS|City|State|Country|Location|Sublocation|Province|Hometown|Destination|Places|Landmark", re.I)
# The only groups a stripped file may show: the file itself, its image header, colour profile and EXIF.
GROUPS = {"ExifTool", "File", "JFIF", "EXIF", "ICC_Profile", "Composite", "APP14", "PNG", "RIFF", "GIF"}
# Values of place tags that are words, not places ("WorldTimeLocation: Home", "GPSLatitudeRef: North").
WORDS = {"Home", "Destination", "North", "East", "West", "South", "Unknown", "Above Sea Level", "True North"}
EXIFTOOL = shutil.which("exiftool")
# CI installs exiftool (.ci/run): there a missing one is a failure, not a skip that would hide the check.
needs_exiftool = pytest.mark.skipif(EXIFTOOL is None and not os.environ.get("CI"),
                                    reason="exiftool is not installed (libimage-exiftool-perl)")


def from_first_scan(data: bytes) -> bytes:
    """A JPEG from its first start-of-scan on, found by walking the segment lengths."""
    position = 2
    while data[position + 1] != 0xDA:
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
    return data[position:]


def chunks(data: bytes, kinds: set[bytes]) -> list[bytes]:
    """The payloads of a PNG's or WebP's chunks of those kinds, in order."""
    found, big = [], data.startswith(b"\x89PNG")
    position = 8 if big else 12
    while position + 8 <= len(data):
        if big:
            size, kind = int.from_bytes(data[position : position + 4], "big"), data[position + 4 : position + 8]
        else:
            size, kind = int.from_bytes(data[position + 4 : position + 8], "little"), data[position : position + 4]
        if kind in kinds:
            found.append(data[position + 8 : position + 8 + size])
        position += 12 + size if big else 8 + size + (size & 1)
    return found


@pytest.mark.parametrize("photo", PHOTOS, ids=lambda p: p.name)
def test_a_real_photo_loses_its_place_and_keeps_its_pixels(photo: Path) -> None:
    original = photo.read_bytes()
    assert has_location(original)

    stripped = strip_location(original)

    assert strip_location(stripped) == stripped
    assert image_size(stripped) == image_size(original)
    assert display_size(stripped) == display_size(original)
    if original.startswith(b"\xff\xd8"):
        # The scans, tables between them and the end of image, byte for byte; what followed the end is gone.
        scans = from_first_scan(stripped)
        assert scans.endswith(b"\xff\xd9") and from_first_scan(original).startswith(scans)
    else:
        kinds = {b"IDAT"} if original.startswith(b"\x89PNG") else {b"VP8 ", b"VP8L", b"ALPH", b"ANMF"}
        assert chunks(stripped, kinds) == chunks(original, kinds)


def exiftool(paths: list[Path]) -> list[dict[str, Any]]:
    assert EXIFTOOL is not None
    run = subprocess.run([EXIFTOOL, "-j", "-G", "-a", "-u", *map(str, paths)], capture_output=True, timeout=120)
    answer: list[dict[str, Any]] = json.loads(run.stdout)
    return answer


def places(tags: dict[str, Any]) -> dict[str, str]:
    """The tags whose name says place, with their values."""
    return {name: str(value) for name, value in tags.items() if PLACE.search(name.split(":")[-1])}


@needs_exiftool
def test_exiftool_finds_no_place_no_maker_note_and_no_foreign_metadata_in_what_pierrot_posts(tmp_path: Path) -> None:
    synthetic = {
        "synthetic.jpg": make_jpeg(make_exif("<").tiff),
        "synthetic.png": make_png(),
        "synthetic.webp": make_webp(),
        "synthetic.gif": make_gif(),
    }
    originals = [*PHOTOS]
    for name, data in synthetic.items():
        (tmp_path / f"original-{name}").write_bytes(data)
        originals.append(tmp_path / f"original-{name}")
    stripped = []
    for path in originals:
        target = tmp_path / f"stripped-{path.name.removeprefix('original-')}"
        target.write_bytes(strip_location(path.read_bytes()))
        stripped.append(target)

    before, after = exiftool(originals), exiftool(stripped)

    assert sum(bool(places(tags)) for tags in before) >= 10, "the corpus does carry places"
    for old, new in zip(before, after, strict=True):
        name = new["SourceFile"]
        assert not places(new), name
        assert {key.split(":")[0] for key in new if ":" in key} <= GROUPS, name
        # The place names themselves (Tokyo, WACO, Budapest...) appear under no other tag either.
        named = {value for value in places(old).values() if re.fullmatch(r"[A-Za-z][A-Za-z .-]{2,}", value)}
        assert not any(value in json.dumps(new) for value in named - WORDS), name
        kept = ["EXIF:Make", "EXIF:Model", "File:ImageWidth", "File:ImageHeight"]
        if not name.endswith("exif_imagemagick_orientation.png"):
            # That one's orientation is in an ImageMagick text chunk, which browsers ignore and pierrot drops.
            kept.append("EXIF:Orientation")
        for tag in kept:
            assert new.get(tag) == old.get(tag), (name, tag)


def test_a_truncated_photo_is_refused() -> None:
    for photo in PHOTOS:
        original = photo.read_bytes()
        with pytest.raises(ImageRefused):
            strip_location(original[: len(original) // 2])

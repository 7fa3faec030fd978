"""Rebuilds JPEG, PNG, WebP and GIF files with only what shows the picture as it was, and reads their size.

An allow-list, not a deny-list: the image data is kept byte for byte with what decodes it (tables, colour profile,
orientation, pixel density), the camera's make, model and exposure may stay, and everything else goes: GPS, maker
notes, XMP, IPTC, C2PA, text chunks, comments, thumbnails, and every segment or chunk not known. A file that
cannot be rebuilt safely (cut short, damaged framing, another format) raises ImageRefused: it must not be posted.
"""

from __future__ import annotations

from pathlib import Path

from pierrot.adapters.images.exif import gif, jpeg, png, webp
from pierrot.adapters.images.exif.errors import ImageRefused
from pierrot.adapters.images.exif.tiff import Camera, camera_from, orientation_of
from pierrot.files import replace_file

__all__ = [
    "Camera",
    "ImageRefused",
    "camera",
    "display_size",
    "has_location",
    "image_size",
    "strip_location",
    "strip_location_file",
]

JPEG_MAGIC = b"\xff\xd8\xff"


def strip_location(data: bytes) -> bytes:
    """The same image without anything that can tell where it was taken; ImageRefused if that cannot be done."""
    if data.startswith(JPEG_MAGIC):
        return jpeg.clean(data)
    if data.startswith(png.MAGIC):
        return png.clean(data)
    if webp.is_webp(data):
        return webp.clean(data)
    if data[:6] in gif.MAGICS:
        return gif.clean(data)
    raise ImageRefused("not a JPEG, PNG, WebP or GIF image")


def strip_location_file(path: Path) -> None:
    """Strip location from the image file at path, replacing it atomically only if something changes."""
    data = path.read_bytes()
    stripped = strip_location(data)
    if stripped == data:
        return
    replace_file(path, stripped)


def has_location(data: bytes) -> bool:
    """True unless data is already as strip_location leaves it: anything it would drop may tell the place."""
    try:
        return strip_location(data) != data
    except ImageRefused:
        return True


def image_size(data: bytes) -> tuple[int, int] | None:
    """The (width, height) in pixels the file's header declares, or None if it cannot be read."""
    size: tuple[int, int] | None = None
    if data.startswith(JPEG_MAGIC):
        size = jpeg.size(data)
    elif data.startswith(png.MAGIC):
        size = png.size(data)
    elif webp.is_webp(data):
        size = webp.size(data)
    else:
        size = gif.size(data)
    if size is None or 0 in size:
        return None
    return size


def display_size(data: bytes) -> tuple[int, int] | None:
    """The (width, height) as shown: an EXIF orientation 5 to 8 turns the picture by a quarter."""
    size = image_size(data)
    tiff = _exif_tiff(data)
    if size is not None and tiff is not None and orientation_of(tiff) >= 5:
        return size[1], size[0]
    return size


def camera(data: bytes) -> Camera | None:
    """The camera's make, model, lens and exposure as the image's EXIF gives them, or None if it gives none."""
    tiff = _exif_tiff(data)
    return None if tiff is None else camera_from(tiff)


def _exif_tiff(data: bytes) -> bytes | None:
    if data.startswith(JPEG_MAGIC):
        return jpeg.exif_tiff(data)
    if data.startswith(png.MAGIC):
        return png.exif_tiff(data)
    if webp.is_webp(data):
        return webp.exif_tiff(data)
    return None

"""What a downloaded image keeps: its real pixel size, its camera line, and no location unless kept on purpose."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

from pierrot.adapters.images import exif
from pierrot.adapters.images.exif import Camera
from pierrot.errors import SizeUnavailable
from pierrot.ports import CameraText, FetchedImage


def clean(image: FetchedImage, *, strip: bool) -> FetchedImage:
    """The image with its real pixel size and, unless kept on purpose, its location removed (EXIF GPS, XMP...).

    Nothing leaves the machine with a location: a file whose location cannot be removed without breaking it is
    not used (the next size may be)."""
    data = image.path.read_bytes()
    try:
        clean = exif.strip_location(data) if strip else data
    except exif.ImageRefused as exc:
        raise SizeUnavailable(f"not usable: {exc}") from None
    size = exif.display_size(clean)
    if size is None:
        raise SizeUnavailable("not a readable image" + (" once its location was removed" if strip else ""))
    if clean != data:
        exif.strip_location_file(image.path)
    return replace(image, nbytes=len(clean), width=size[0], height=size[1],
                   location_removed=(clean != data) if strip else None, camera=camera_text(exif.camera(data)))


def camera_text(camera: Camera | None) -> CameraText:
    """The camera's EXIF as a post says it: the make once, the exposure's parts that are there, "" for none."""
    if camera is None:
        return CameraText()
    make, model = _plain(camera.make), _plain(camera.model)
    # "NIKON CORPORATION" / "NIKON Z 6": the model often names the make already.
    if make and model and model.casefold().startswith(make.split()[0].casefold()):
        make = ""
    exposure = []
    if camera.exposure_time:
        time = camera.exposure_time
        exposure.append(f"1/{round(1 / time)} s" if time < 1 else f"{_number(time)} s")
    if camera.f_number:
        exposure.append(f"f/{_number(camera.f_number)}")
    if camera.iso:
        exposure.append(f"ISO {camera.iso}")
    if camera.focal_length:
        exposure.append(f"{_number(camera.focal_length)} mm")
    return CameraText(" ".join(x for x in (make, model) if x), _plain(camera.lens_model), " · ".join(exposure))


def _number(value: Fraction) -> str:
    return f"{round(float(value), 1):g}"


def _plain(text: str | None) -> str:
    """An EXIF string as one short line: printable characters only, spaces collapsed, at most 60 characters."""
    return " ".join("".join(c for c in (text or "") if c.isprintable()).split())[:60]

"""The image each network gets: the largest size it takes, downloaded once per run, its location removed."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from pierrot.domain import Photo, Size, sizes_for
from pierrot.errors import ImageError, PhotoGone, SizeUnavailable, UsageError
from pierrot.ports import CameraText, FetchedImage, ImageFetcher, NetworkRules

if TYPE_CHECKING:
    from pierrot.adapters.images.exif import Camera


class _Images:
    """The photo's sizes as this run downloads them: each size once, whichever networks use it."""

    def __init__(
        self, fetcher: ImageFetcher, photo: Photo, workdir: Path, rules: Sequence[NetworkRules], keep_location: bool
    ) -> None:
        self.fetcher, self.photo, self.workdir, self.keep_location = fetcher, photo, workdir, keep_location
        self.cache: dict[str, FetchedImage | SizeUnavailable] = {}

    def for_network(self, rules: NetworkRules) -> FetchedImage:
        """The largest size that fits the network (PhotoGone if every size answers 404/410).

        Ask for the networks in decreasing order of their byte caps: a download stops at the asking network's cap,
        so a size found too large then is too large for every network after it, and none is fetched twice."""
        photo = self.photo
        sizes = sizes_for(photo, max_edge=rules.max_image_edge, max_pixels=rules.max_image_pixels)
        if not sizes:
            raise ImageError(f"photo {photo.id} has no size {rules.display} takes in the catalogue; run "
                             "`pierrot sync --full`")
        failures: list[str] = []
        statuses: list[int | None] = []
        for size in sizes:
            got = self.cache.get(size.label)
            if got is None:
                got = self._download(size, rules.max_image_bytes)
                self.cache[size.label] = got
            if isinstance(got, SizeUnavailable):
                failures.append(f"{size.label}: {got}")
                statuses.append(got.status)
                continue
            if got.nbytes > rules.max_image_bytes:
                failures.append(f"{size.label}: {got.nbytes:,} bytes, over {rules.display}'s {rules.max_image_bytes:,}")
                statuses.append(None)
                continue
            if rules.max_image_pixels is not None and got.width * got.height > rules.max_image_pixels:
                failures.append(f"{size.label}: {got.width}x{got.height}, over {rules.display}'s pixel limit")
                statuses.append(None)
                continue
            return got
        if statuses and all(status in (404, 410) for status in statuses):
            raise PhotoGone(
                f"photo {photo.id} is gone from Flickr (deleted or made private since the last sync: every size "
                f"answers {'/'.join(sorted({str(s) for s in statuses}))})"
            )
        raise ImageError(f"photo {photo.id}: no size could be downloaded as an image {rules.display} accepts "
                         f"({', '.join(failures)})")

    def _download(self, size: Size, cap: int) -> FetchedImage | SizeUnavailable:
        try:
            image = self.fetcher.fetch_size(self.photo, size, self.workdir, cap)
            return _checked(image, strip=not self.keep_location)
        except SizeUnavailable as exc:
            return exc


def _checked(image: FetchedImage, *, strip: bool) -> FetchedImage:
    """The image with its real pixel size and, unless kept on purpose, its location removed (EXIF GPS, XMP...).

    Nothing leaves the machine with a location: a file whose location cannot be removed without breaking it is
    not used (the next size may be)."""
    from pierrot.adapters.images import exif

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


def _keep_image(image: FetchedImage, directory: Path) -> Path:
    """Copy the image into ``directory`` by a private temporary file and a rename, never through a symlink."""
    target = directory / image.path.name
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".pierrot-", dir=directory)  # O_EXCL, mode 0600
        try:
            with os.fdopen(fd, "wb") as out, image.path.open("rb") as source:
                shutil.copyfileobj(source, out)
            # rename replaces a symlink at the target itself, never the file it points to
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise UsageError(f"cannot save the image in {directory}: {exc.strerror or exc}") from None
    return target



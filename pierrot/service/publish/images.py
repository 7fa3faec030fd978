"""The image each network gets: the largest size it takes, downloaded once per run, its location removed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pierrot.domain import Photo, Size, sizes_for
from pierrot.errors import ImageError, PhotoGone, SizeUnavailable, UsageError
from pierrot.files import replace_file
from pierrot.ports import FetchedImage, ImageFetcher, NetworkRules


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
            return self.fetcher.clean(image, strip=not self.keep_location)
        except SizeUnavailable as exc:
            return exc


def _keep_image(image: FetchedImage, directory: Path) -> Path:
    """Copy the image into ``directory`` by a private temporary file and a rename, never through a symlink."""
    target = directory / image.path.name
    try:
        directory.mkdir(parents=True, exist_ok=True)
        replace_file(target, image.path.read_bytes())  # an image of a few MB: read whole
    except OSError as exc:
        raise UsageError(f"cannot save the image in {directory}: {exc.strerror or exc}") from None
    return target



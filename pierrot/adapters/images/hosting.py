"""Where a network that fetches the image itself finds it: never an image with a location in it.

With an S3 store, the cleaned bytes go in the store's bucket under ``<prefix>/pierrot-images/`` and the network
gets a presigned GET URL that lasts an hour; the object is deleted once the post is settled, and a sweep takes
down what killed runs left. With a local store, there is nowhere pierrot can serve from: the network gets Flickr's
own URL of the size pierrot downloaded, and only when that very file had nothing to remove.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pierrot.adapters.images import exif
from pierrot.errors import ImageError
from pierrot.ports import FetchedImage, HostedImage, ImageHost

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

FOLDER = "pierrot-images"
URL_SECONDS = 3600  # long enough for Meta to fetch it, short enough to be of no use to anyone later
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}


class S3ImageHost(ImageHost):
    """Cleaned images as objects in the store's bucket, handed out as presigned GET URLs."""

    def __init__(self, client: S3Client, bucket: str, prefix: str = "", *, url_seconds: int = URL_SECONDS) -> None:
        self.client = client
        self.bucket = bucket
        self.folder = "/".join(p for p in (prefix.strip("/"), FOLDER) if p) + "/"
        self.url_seconds = url_seconds

    @classmethod
    def for_store(cls, store: Any) -> S3ImageHost:
        """The host in an S3Store's bucket and prefix, with its client."""
        return cls(store.client, store.bucket, store.prefix)

    def host(self, image: FetchedImage) -> HostedImage:
        """Put the image, stripped of location here again whatever the caller did, and presign a GET of it."""
        try:
            clean = exif.strip_location(image.path.read_bytes())
        except OSError as exc:
            raise ImageError(f"cannot read the image {image.path}: {exc.strerror or exc}") from None
        except exif.ImageRefused as exc:
            raise ImageError(f"the image cannot be cleaned of its location ({exc}); it is not handed out") from None
        key = f"{self.folder}{uuid.uuid4().hex}.{EXTENSIONS.get(image.mime_type, 'jpg')}"
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=clean, ContentType=image.mime_type)
            url = self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=self.url_seconds
            )
        except _boto_errors() as exc:
            raise ImageError(f"cannot put the image in s3://{self.bucket}/{self.folder} for the network to fetch: "
                             f"{_reason(exc)}") from None
        return HostedImage(url=url, key=key)

    def release(self, hosted: HostedImage) -> None:
        """Delete the object (a URL pierrot does not own has no key: nothing to do)."""
        if hosted.key is None or not hosted.key.startswith(self.folder):
            return
        try:
            self.client.delete_object(Bucket=self.bucket, Key=hosted.key)
        except _boto_errors() as exc:
            raise ImageError(f"cannot delete s3://{self.bucket}/{hosted.key}: {_reason(exc)}") from None

    def sweep(self, older_than: float) -> int:
        """Delete the hosted images put more than ``older_than`` seconds ago; how many."""
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=older_than)
        stale: list[str] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.folder):
                stale += [o["Key"] for o in page.get("Contents", []) if o["LastModified"] < cutoff]
            for key in stale:
                self.client.delete_object(Bucket=self.bucket, Key=key)
        except _boto_errors() as exc:
            raise ImageError(f"cannot sweep s3://{self.bucket}/{self.folder}: {_reason(exc)}") from None
        return len(stale)


class FlickrImageHost(ImageHost):
    """Flickr's own URL of the size pierrot downloaded, when that file had no location to remove (local store)."""

    def host(self, image: FetchedImage) -> HostedImage:
        """The size's Flickr URL; ImageError saying why not and what to do when it may show where the photo was."""
        if image.source_url is None:
            raise ImageError("the network fetches the image from a public URL, and this one has none")
        if image.location_removed is None:
            raise ImageError(
                f"the network would fetch size {image.size_label} from Flickr, and pierrot did not check it for a "
                "location (location is kept on purpose): with a local store it cannot hand over a cleaned copy. Use "
                "an S3 store (PIERROT_STORE=s3://...), where pierrot hosts the cleaned image itself"
            )
        if image.location_removed:
            raise ImageError(
                f"the network fetches the image from a URL, and Flickr's size {image.size_label} of this photo tells "
                "where it was taken: pierrot removed it from its copy, but Flickr's URL would show it. Use an S3 store "
                "(PIERROT_STORE=s3://...), where pierrot hosts the cleaned image itself"
            )
        return HostedImage(url=image.source_url, key=None)


class LazyImageHost(ImageHost):
    """An image host made the first time it is used: most networks never host an image."""

    def __init__(self, make: Callable[[], ImageHost]) -> None:
        self._make = make
        self._host: ImageHost | None = None

    def _get(self) -> ImageHost:
        if self._host is None:
            self._host = self._make()
        return self._host

    def host(self, image: FetchedImage) -> HostedImage:
        return self._get().host(image)

    def release(self, hosted: HostedImage) -> None:
        self._get().release(hosted)

    def sweep(self, older_than: float) -> int:
        return self._get().sweep(older_than)


def image_host_for(store: Any) -> ImageHost:
    """The host a store allows: S3's bucket for an S3 store, Flickr's own URLs otherwise (a local folder)."""
    from pierrot.adapters.stores.s3 import S3Store

    if isinstance(store, S3Store):
        return S3ImageHost.for_store(store)
    return FlickrImageHost()


def _boto_errors() -> tuple[type[Exception], ...]:
    # Imported when S3 is used: a local store never loads botocore for this.
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


def _reason(exc: Exception) -> str:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
    return type(exc).__name__

"""The ports: the small interfaces behind which every outside system sits."""

from __future__ import annotations

import abc
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pierrot.domain import Photo

# ---- the document store ------------------------------------------------------------------------


@dataclass(frozen=True)
class Versioned:
    """A document as read, with the token a conditional write must name to replace it."""

    doc: Any
    token: str


@dataclass(frozen=True)
class Encoded:
    """A document already serialised as JSON, in chunks: the catalogue is too big to build as one dict."""

    chunks: Callable[[], Iterable[bytes]]


class DocumentStore(abc.ABC):
    """Three JSON documents with compare-and-swap writes."""

    location: str

    @abc.abstractmethod
    def read(self, name: str) -> Versioned | None:
        """The parsed document and its version token, or None if it does not exist.

        Raises DocumentError if it is not valid JSON, StoreError if the store fails."""

    @abc.abstractmethod
    def write(self, name: str, doc: Any, expected: str | None) -> str:
        """Replace the document if its token is still ``expected`` (None: it must not exist yet).

        ``doc`` is anything ``json.dumps`` takes, or an :class:`Encoded` document.

        Returns the new token; raises ConflictError if someone else wrote in between."""

    def read_bytes(self, name: str) -> tuple[bytes, str] | None:
        """The document's bytes as stored and its token, unparsed (for the catalogue, read a line at a time)."""
        found = self.read(name)
        if found is None:
            return None
        return json.dumps(found.doc, ensure_ascii=False).encode(), found.token

    def token(self, name: str) -> str | None:
        """The document's current version token without reading it (None if it does not exist)."""
        found = self.read(name)
        return None if found is None else found.token

    def check(self) -> None:  # noqa: B027 - optional hook
        """Fail with StoreError if the store cannot be reached (used by ``pierrot check``)."""


# ---- Flickr -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamSummary:
    """What one cheap call says about a photostream: its total and its newest upload."""

    total: int
    newest_id: str | None
    newest_upload: int | None


ProgressCallback = Callable[[int, int], None]


class PhotoSource(abc.ABC):
    """A Flickr photostream, read with the API key alone."""

    calls: int = 0

    @abc.abstractmethod
    def resolve_user(self, user: str) -> str:
        """The NSID for an NSID, a username or a path alias (FlickrError if there is no such user)."""

    @abc.abstractmethod
    def summary(self, nsid: str) -> StreamSummary:
        """The total and newest upload, in one call."""

    @abc.abstractmethod
    def list_photos(
        self,
        nsid: str,
        *,
        total: int,
        min_upload_date: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[Photo]:
        """Every public item (photos and videos), deduplicated, newest first.

        ``total`` is what the summary reported for the same query (it sizes the page plan);
        with ``min_upload_date`` only items uploaded at or after that unix time."""


# ---- images -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchedImage:
    """A downloaded rendition of a photo, in a private temporary file."""

    path: Path
    size_label: str
    width: int
    height: int
    nbytes: int
    mime_type: str


class ImageFetcher(abc.ABC):
    """Downloads the largest acceptable rendition of a photo."""

    calls: int = 0

    @abc.abstractmethod
    def fetch(self, photo: Photo, directory: Path) -> FetchedImage:
        """Write the best size that fits the network's limit into ``directory`` (ImageError if none)."""


# ---- the social network -----------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    """A post the network accepted."""

    id: str
    url: str


class Publisher(abc.ABC):
    """One social network account that can receive a photo with text and alt text."""

    network: str
    max_image_bytes: int = 5 * 1024 * 1024
    max_alt_text: int = 1000

    @abc.abstractmethod
    def upload_media(self, image: FetchedImage) -> str:
        """Upload the image; returns the media id. Nothing is public yet."""

    @abc.abstractmethod
    def set_alt_text(self, media_id: str, text: str) -> None:
        """Attach alt text to uploaded media."""

    @abc.abstractmethod
    def create_post(self, text: str, media_ids: list[str]) -> Post:
        """Publish. Raises PostRefused (nothing posted), DuplicatePost or PostOutcomeUnknown."""

    @abc.abstractmethod
    def whoami(self) -> str:
        """The account's handle, to check the credentials."""

"""The ports: the small interfaces behind which every outside system sits."""

from __future__ import annotations

import abc
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pierrot.domain import Photo, Size

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
    # Items of the last listing left out because Flickr sent them malformed (no valid id): Flickr counted them.
    skipped: int = 0

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
    # Where the bytes came from (Flickr's URL of this size), for a network that fetches the image itself.
    source_url: str | None = None
    # None: not checked for location; False: checked and nothing to remove (the file is the URL's bytes);
    # True: location removed (the file differs from what the URL serves, which must never be handed out).
    location_removed: bool | None = None
    # What the image's own EXIF says of the camera, read before its location was removed.
    camera: CameraText | None = None


@dataclass(frozen=True)
class CameraText:
    """{camera}, {lens} and {exposure} as a post shows them ("FUJIFILM X-T4", "1/250 s · f/8 · ISO 200"); ""
    where the EXIF says nothing."""

    camera: str = ""
    lens: str = ""
    exposure: str = ""


class ImageFetcher(abc.ABC):
    """Downloads renditions of a photo from Flickr."""

    calls: int = 0

    @abc.abstractmethod
    def fetch_size(self, photo: Photo, size: Size, directory: Path, max_bytes: int) -> FetchedImage:
        """Write this one size of ``photo`` into ``directory``.

        Raises SizeUnavailable (with the HTTP status, if any) when it cannot be used: refused, missing, not an
        image, over ``max_bytes``; ImageError when the file cannot be written."""

    @abc.abstractmethod
    def clean(self, image: FetchedImage, *, strip: bool) -> FetchedImage:
        """The image with its real pixel size, its camera line and, with ``strip``, nothing but what shows the
        picture (no location); SizeUnavailable if it cannot be cleaned without breaking it."""


@dataclass(frozen=True)
class HostedImage:
    """An image put where a network can fetch it: the URL to hand over, and the key that releases it."""

    url: str
    key: str | None = None  # None: nothing was put anywhere (a URL pierrot does not own), nothing to release


class ImageHost(abc.ABC):
    """Somewhere public a network can fetch an image from, for a network that downloads the image itself."""

    @abc.abstractmethod
    def host(self, image: FetchedImage) -> HostedImage:
        """A URL serving exactly these bytes, free of location; ImageError (one line: why, what to do) if none."""

    def release(self, hosted: HostedImage) -> None:  # noqa: B027 - nothing to release by default
        """Take the image down once the post is settled (best effort; sweep catches what this misses)."""

    def sweep(self, older_than: float) -> int:
        """Take down leftovers of killed runs hosted more than ``older_than`` seconds ago; how many."""
        return 0


# ---- the social networks ------------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    """A post the network accepted."""

    id: str
    url: str


@dataclass(frozen=True)
class NetworkRules:
    """What one network accepts, as data: composing and choosing the image read these, never a network's name."""

    name: str  # as the settings say it: its module's name in the registry
    display: str  # as people say it
    text_limit: int
    measure: Callable[[str], int]  # the network's own count of a text, against text_limit
    unit: str  # what measure counts, for people: "weighted characters", "graphemes", "characters"
    alt_limit: int
    max_image_bytes: int
    max_image_pixels: int | None = None  # width × height
    max_image_edge: int | None = None  # the longest side
    max_text_bytes: int | None = None  # UTF-8 bytes, where the network caps those too
    # True when an interrupted post can be settled by asking the network (a key pierrot chose is looked up).
    settles_unknown: bool = False
    # True when the network refuses a text the account posted before (X): a duplicate answer to a new post is
    # then a collision of texts, not evidence of an earlier post.
    refuses_repeated_text: bool = False
    # How many images one post carries (PIERROT_PUBLISH_PHOTOS takes up to this many on the network).
    max_images: int = 1
    # True when a post can say its language.
    languages: bool = False
    # How a sensitive photo's warning is carried: "spoiler" (a text shown first, counted in the text's limit),
    # "label" (a self-label with no text), "media" (the image blurred, no text), "none" (the API has no such field).
    warnings: str = "none"


@dataclass(frozen=True)
class PostOptions:
    """What a post says besides its text: its language (a BCP-47 tag) and a content warning, None when none."""

    language: str | None = None
    warning: str | None = None


NO_OPTIONS = PostOptions()


@dataclass(frozen=True)
class BotFlag:
    """Whether the account says it is automated: True, False, or None when pierrot cannot tell.

    ``how`` says how to set it by hand; ``settable`` whether `check --fix-bot-label` can set it."""

    is_bot: bool | None
    how: str
    settable: bool = False


@dataclass(frozen=True)
class Attempt:
    """What makes a post exactly-once where the network allows it, kept in the pending entry before posting.

    ``key`` is what the network keeps one post per (a record key, an idempotency key); ``created_at`` the time the
    post says it was made (byte-identical on a retry where the network compares it); ``media_ids`` every media
    uploaded for this post, by any of its attempts (a search must look for each: the first attempt's may be the
    one posted); ``account`` the account it was made with (``Publisher.account``)."""

    key: str
    created_at: str
    media_ids: tuple[str, ...] = ()
    account: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.media_ids, str):  # a str is a sequence too: one id would read as one per character
            raise TypeError("Attempt.media_ids is a tuple of media ids, not one id")


@dataclass(frozen=True)
class Settled:
    """What a network says about an interrupted post.

    ``posted`` True: it exists (``post`` names it when the network says which); False: it definitely does not;
    None: the network cannot tell. ``same_key``: send it again with the same key, which the network turns into
    exactly one post whether or not the first got through (a record key after a definite absence; an
    idempotency key while the network still keeps it)."""

    posted: bool | None
    post: Post | None = None
    same_key: bool = False
    reason: str = ""
    # With same_key: the media id the network still holds staged for this very post (a finished container it
    # has not published). The run publishes it as it is, without a new upload: a new one would be a second post.
    staged: str | None = None


class Publisher(abc.ABC):
    """One social network account that can receive a photo with text and alt text."""

    rules: NetworkRules

    @property
    def network(self) -> str:
        return self.rules.name

    def prepare(self) -> NetworkRules:
        """Once per run, before anything else: log in, read the instance's limits. Returns the rules in force."""
        return self.rules

    def account(self) -> str | None:
        """The stable id of the account posting (a DID, an account id), where settling needs it.

        An interrupted post is only ever settled against the account that made it."""
        return None

    def new_attempt(self, created_at: str) -> Attempt:
        """The key and time of a new post (only networks that can settle need a real key)."""
        return Attempt(key="", created_at=created_at)

    @abc.abstractmethod
    def upload_media(
        self, image: FetchedImage, alt_text: str | None, *, text: str = "", options: PostOptions = NO_OPTIONS
    ) -> str:
        """Upload the image with its alt text; returns the media id. Nothing is public yet (PublishError).

        ``text`` and ``options`` are the post's, for a network that stages the whole post before publishing it
        (a container published later); the others ignore them and take them in ``create_post``."""

    def stage_post(
        self, images: list[tuple[FetchedImage, str | None]], *, text: str, options: PostOptions = NO_OPTIONS
    ) -> str | None:
        """Stage a post of several images, each with its alt text, as ONE media id (a carousel container);
        nothing is public yet (PublishError). None: the network does not stage, upload each with upload_media."""
        return None

    @abc.abstractmethod
    def create_post(
        self, text: str, media_ids: list[str], attempt: Attempt, options: PostOptions = NO_OPTIONS
    ) -> Post:
        """Publish. Raises PostRefused (nothing posted), DuplicatePost or PostOutcomeUnknown.

        ``options`` carries what the network's rules say it takes (language, warning); the rest is ignored."""

    def settle(self, attempt: Attempt, text: str, started_at: str) -> Settled:
        """Whether an interrupted post exists; by default the network cannot tell (settled by hand)."""
        return Settled(posted=None, reason=f"{self.rules.display} cannot tell: settle it with `pierrot resolve`")

    def bot_flag(self) -> BotFlag:
        """Whether the account says it is automated; by default pierrot cannot tell."""
        return BotFlag(None, f"{self.rules.display} has no bot flag: say it in the account's bio")

    def set_bot_flag(self) -> None:
        """Mark the account as automated (PublishError where the API does not allow it)."""
        from pierrot.errors import PublishError

        raise PublishError(f"{self.rules.display}: {self.bot_flag().how}")

    @abc.abstractmethod
    def whoami(self) -> str:
        """The account's handle, to check the credentials (one cheap call)."""

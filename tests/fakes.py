"""Hand-written fakes of the ports: they record what happened and fail on request; and the publish tests' helpers."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import random
import struct
import threading
from collections.abc import Callable, Container, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from pierrot import service
from pierrot.adapters.networks.bluesky import RULES as BLUESKY
from pierrot.adapters.networks.mastodon import DEFAULT_RULES as MASTODON
from pierrot.adapters.networks.x.text import RULES as X
from pierrot.domain import (
    CATALOGUE_DOCUMENT,
    LOG_DOCUMENT,
    PUBLISHED,
    UNKNOWN,
    Catalogue,
    LogEntry,
    Photo,
    PublishLog,
    Size,
    newest_first,
)
from pierrot.errors import ConflictError, DocumentError, DuplicatePost, PierrotError, SizeUnavailable, StoreError
from pierrot.ports import (
    NO_OPTIONS,
    Attempt,
    BotFlag,
    DocumentStore,
    Encoded,
    FetchedImage,
    ImageFetcher,
    NetworkRules,
    PhotoSource,
    Post,
    PostOptions,
    ProgressCallback,
    Publisher,
    Settled,
    StreamSummary,
    Versioned,
)

# A small well-formed JPEG header (SOI, a JFIF APP0, a 2048x1365 baseline frame, a start of scan), filler scan
# data and EOI: 2,052 bytes, whose pixel size pierrot reads as the k size's.
JPEG = (
    b"\xff\xd8"
    + b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    + b"\xff\xc0\x00\x0b\x08\x05\x55\x08\x00\x01\x01\x11\x00"
    + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"
    + b"\x00" * 2007
    + b"\xff\xd9"
)


class Crash(BaseException):
    """Stands for the process being killed: nothing after it runs, no handler catches it."""


class FakeStore(DocumentStore):
    """Documents in memory with real compare-and-swap semantics.

    ``before_write`` runs before each write and may raise (a crash, a conflict, an outage) or
    change the documents (another run writing in between)."""

    def __init__(self) -> None:
        self.location = "memory://fake"
        self.docs: dict[str, tuple[str, str]] = {}  # name -> (json text, token)
        self._tokens = itertools.count(1)
        self.writes: list[str] = []
        self.reads: list[str] = []
        self.token_checks: list[str] = []
        self.before_write: Callable[[str, Any], None] | None = None
        # Several runs may share one store from threads: the compare and the swap happen under this lock.
        self._lock = threading.RLock()

    def read(self, name: str) -> Versioned | None:
        self.reads.append(name)
        with self._lock:
            if name not in self.docs:
                return None
            text, token = self.docs[name]
        try:
            return Versioned(json.loads(text), token)
        except json.JSONDecodeError:
            # As a real store does: say what is wrong, and carry the token so sync alone may rebuild over it.
            raise DocumentError(name, "not valid JSON", token=token) from None

    def read_bytes(self, name: str) -> tuple[bytes, str] | None:
        self.reads.append(name)
        with self._lock:
            if name not in self.docs:
                return None
            text, token = self.docs[name]
        return text.encode(), token

    def token(self, name: str) -> str | None:
        self.token_checks.append(name)
        with self._lock:
            return self.docs[name][1] if name in self.docs else None

    def write(self, name: str, doc: Any, expected: str | None) -> str:
        if self.before_write is not None:
            self.before_write(name, doc)
        text = b"".join(doc.chunks()).decode() if isinstance(doc, Encoded) else json.dumps(doc)
        json.loads(text)  # what a store holds is always valid JSON
        with self._lock:
            current = self.docs.get(name)
            if (current[1] if current else None) != expected:
                raise ConflictError(name)
            token = f"t{next(self._tokens)}"
            self.docs[name] = (text, token)
            self.writes.append(name)
            return token

    # helpers for tests
    def put(self, name: str, doc: Any) -> None:
        """Write as someone else would, unconditionally."""
        text = b"".join(doc.chunks()).decode() if isinstance(doc, Encoded) else json.dumps(doc)
        self.docs[name] = (text, f"t{next(self._tokens)}")

    def put_text(self, name: str, text: str) -> None:
        """Store raw text, say a half-written or hand-mangled document, unconditionally."""
        self.docs[name] = (text, f"t{next(self._tokens)}")

    def doc(self, name: str) -> Any:
        return json.loads(self.docs[name][0]) if name in self.docs else None

    def snapshot(self) -> dict[str, tuple[str, str]]:
        return copy.deepcopy(self.docs)


def make_photo(n: int, *, uploaded: int | None = None, media: str = "photo", **fields: Any) -> Photo:
    pid = str(50_000_000_000 + n)
    sizes = (
        Size("k", f"https://live.staticflickr.com/65535/{pid}_k.jpg", 2048, 1365),
        Size("l", f"https://live.staticflickr.com/65535/{pid}_b.jpg", 1024, 683),
    )
    base: dict[str, Any] = {
        "id": pid,
        "title": f"Photo {n}",
        "date_uploaded": uploaded if uploaded is not None else 1_600_000_000 + n * 60,
        "owner": "12345678@N00",
        "media": media,
        "sizes": sizes,
        "date_taken": "2024-06-09 19:12:44",
        "tags": ("harbour",),
        "license": "4",
    }
    base.update(fields)
    return Photo(**base)


class FakeFlickr(PhotoSource):
    """A photostream in memory; counts calls the way the real adapter does (one per page)."""

    PER_PAGE = 500

    def __init__(self, items: list[Photo] | None = None, nsid: str = "12345678@N00") -> None:
        self.items = list(items or [])
        self.nsid = nsid
        self.calls = 0
        self.log: list[tuple[str, dict[str, Any]]] = []
        self.usernames: dict[str, str] = {"someone": nsid}

    def _stream(self) -> list[Photo]:
        return newest_first(self.items)

    def resolve_user(self, user: str) -> str:
        if "@N" in user:
            return user
        self.calls += 1
        self.log.append(("resolve", {"user": user}))
        from pierrot.errors import FlickrError

        if user not in self.usernames:
            raise FlickrError(f"Flickr has no user {user!r}: check PIERROT_FLICKR_USER")
        return self.usernames[user]

    def summary(self, nsid: str) -> StreamSummary:
        self.calls += 1
        self.log.append(("summary", {}))
        stream = self._stream()
        newest = stream[0] if stream else None
        return StreamSummary(len(stream), newest.id if newest else None, newest.date_uploaded if newest else None)

    def list_photos(
        self,
        nsid: str,
        *,
        total: int,
        min_upload_date: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[Photo]:
        stream = [p for p in self._stream() if min_upload_date is None or p.date_uploaded >= min_upload_date]
        pages = max(1, -(-len(stream) // self.PER_PAGE))
        self.calls += pages
        self.log.append(("list", {"min_upload_date": min_upload_date, "pages": pages}))
        return stream


class FakeFetcher(ImageFetcher):
    """Writes a small JPEG for any size of any photo; can be told to fail, or that photos are gone."""

    def __init__(self) -> None:
        self.calls = 0
        self.fetched: list[str] = []
        self.sizes: list[tuple[str, str]] = []  # (photo id, size label) of every download
        self.fail: Exception | None = None
        self.paths: list[Path] = []
        self.gone: set[str] = set()  # photos deleted on Flickr since the sync
        self.nbytes: dict[str, int] = {}  # size label -> bytes, for sizes that should be bigger than the JPEG
        self.refused: set[str] = set()  # size labels answered 403 (free accounts)
        self.image = JPEG  # what every size serves, before padding (a JPEG carrying a location, say)

    def clean(self, image: FetchedImage, *, strip: bool) -> FetchedImage:
        # The real cleaning: what the service is given is what a network would get.
        from pierrot.adapters.images.cleaning import clean

        return clean(image, strip=strip)

    def fetch_size(self, photo: Photo, size: Size, directory: Path, max_bytes: int) -> FetchedImage:
        self.calls += 1
        self.sizes.append((photo.id, size.label))
        if self.fail is not None:
            raise self.fail
        if photo.id in self.gone:
            raise SizeUnavailable("HTTP 404", status=404)
        if size.label in self.refused:
            raise SizeUnavailable("HTTP 403", status=403)
        # Padding goes inside the scan data, before the end-of-image marker: what follows EOI is not the image.
        padding = b"\0" * max(0, self.nbytes.get(size.label, 0) - len(self.image))
        data = self.image[:-2] + padding + self.image[-2:]
        if len(data) > max_bytes:
            raise SizeUnavailable(f"too large (>{max_bytes} bytes)")
        path = directory / f"{photo.id}_{size.label}.jpg"
        path.write_bytes(data)
        self.fetched.append(photo.id)
        self.paths.append(path)
        return FetchedImage(path, size.label, size.width, size.height, len(data), "image/jpeg")


class FakePublisher(Publisher):
    """Records every call; ``fail_at`` makes one step raise, ``accepted`` lists what the network really posted.

    As X does, it refuses a text the account posted before (``rules`` decide: X's by default)."""

    def __init__(self, accepted: list[tuple[str, str]] | None = None, rules: NetworkRules | None = None) -> None:
        from pierrot.adapters.networks.x.text import RULES

        self.rules = rules or RULES
        self.calls: list[str] = []
        self.uploads: list[str] = []
        self.alt_texts: list[tuple[str, str]] = []
        # posts the network accepted: (post id, text); shared between runs to prove the invariant
        self.accepted: list[tuple[str, str]] = accepted if accepted is not None else []
        self.fail_at: dict[str, BaseException] = {}
        self.accept_then_fail: BaseException | None = None
        # texts the account posted without pierrot (X refuses them too), and the texts X refused
        self.outside_texts: set[str] = set()
        self.refused: list[str] = []
        self.keys: list[str] = []  # the attempt keys create_post was given
        self.options: list[PostOptions] = []  # the language and warning create_post was given
        self.upload_options: list[PostOptions] = []  # and upload_media (for a network that stages the post)
        self.bot: bool | None = None  # the account's bot flag (None: the network cannot tell)
        self._ids = itertools.count(1000)

    def _step(self, name: str) -> None:
        self.calls.append(name)
        if name in self.fail_at:
            raise self.fail_at[name]

    def new_attempt(self, created_at: str) -> Attempt:
        if not self.rules.settles_unknown:
            return Attempt(key="", created_at=created_at)
        return Attempt(key=f"k{next(self._ids)}", created_at=created_at)

    def upload_media(
        self, image: FetchedImage, alt_text: str | None, *, text: str = "", options: PostOptions = NO_OPTIONS
    ) -> str:
        self._step("upload")
        self.upload_options.append(options)
        assert image.path.exists(), "the image must exist while it is uploaded"
        media_id = f"m{next(self._ids)}"
        self.uploads.append(media_id)
        if alt_text:
            self._step("alt_text")
            self.alt_texts.append((media_id, alt_text))
        return media_id

    def create_post(
        self, text: str, media_ids: list[str], attempt: Attempt, options: PostOptions = NO_OPTIONS
    ) -> Post:
        self._step("post")
        self.keys.append(attempt.key)
        self.options.append(options)
        # As X does: a text the account has posted before is refused, whatever the image; nothing is posted.
        if self.rules.refuses_repeated_text and (
            any(earlier == text for _, earlier in self.accepted) or text in self.outside_texts
        ):
            self.refused.append(text)
            raise DuplicatePost("X refused the post as duplicate content (403)")
        post_id = str(next(self._ids))
        self.accepted.append((post_id, text))
        if self.accept_then_fail is not None:
            # The network accepted the post, but the answer never arrived.
            raise self.accept_then_fail
        return Post(post_id, f"https://x.com/i/web/status/{post_id}")

    def whoami(self) -> str:
        self._step("whoami")
        return "someone_photos"

    def bot_flag(self) -> BotFlag:
        if self.bot is None:
            return super().bot_flag()
        return BotFlag(self.bot, "in the account's settings", settable=True)

    def set_bot_flag(self) -> None:
        self._step("set_bot")
        self.bot = True


def failing_store_write(store: FakeStore, *, at: int, error: BaseException) -> None:
    """Make the ``at``-th write (1-based) raise ``error``."""
    count = {"n": 0}

    def hook(name: str, doc: Any) -> None:
        count["n"] += 1
        if count["n"] == at:
            raise error

    store.before_write = hook


def failing_store_writes(store: FakeStore, *, at: Container[int], error: BaseException) -> list[int]:
    """Make every write whose number (1-based) is in ``at`` raise ``error``; returns the numbers that failed."""
    count = {"n": 0}
    failed: list[int] = []

    def hook(name: str, doc: Any) -> None:
        count["n"] += 1
        if count["n"] in at:
            failed.append(count["n"])
            raise error

    store.before_write = hook
    return failed


def isolated_settings(monkeypatch: Any, tmp_path: Path, settings: dict[str, str]) -> None:
    """The environment of a command under test: no PIERROT_* of the developer's, config and data in tmp_path,
    then ``settings``."""
    import os

    for name in list(os.environ):
        if name.startswith("PIERROT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for key, value in settings.items():
        monkeypatch.setenv(key, value)


__all__ = [
    "JPEG",
    "Crash",
    "FakeFetcher",
    "FakeFlickr",
    "FakePublisher",
    "FakeStore",
    "StoreError",
    "failing_store_write",
    "failing_store_writes",
    "isolated_settings",
    "make_photo",
]


# ==== the publish use case's runs, stores and logs, shared by its test files ======================

NSID = "12345678@N00"
T0 = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
LEASE = 900
DAY_SECONDS = 86400
RULES = {"x": X, "bluesky": BLUESKY, "mastodon": MASTODON}
# A Bluesky record key, and the time its post said it was made: both must come back byte for byte on a retry.
KEY = "3kabcdefghij2"
CREATED_AT = "2025-06-01T10:00:00.123Z"


def at(seconds: float) -> Callable[[], dt.datetime]:
    """A clock stopped ``seconds`` after T0."""
    moment = T0 + dt.timedelta(seconds=seconds)
    return lambda: moment


def stamp(seconds: float) -> str:
    return (T0 + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def photos(count: int = 4) -> list[Photo]:
    return [make_photo(n, description=f"Seen from pier {n}") for n in range(1, count + 1)]


def entry(
    photo: Photo, network: str, status: str, *, seconds: float = 0, run_id: str | None = None, **fields: Any
) -> dict[str, Any]:
    """A publish log entry as an earlier run wrote it."""
    if status == PUBLISHED:
        fields.setdefault("post_id", f"{network}-{photo.id}")
        fields.setdefault("post_url", f"https://example.com/{network}/{photo.id}")
    fields.setdefault("text", photo.title)
    return LogEntry(
        photo.id, network, status, run_id or f"run-{photo.id}-{network}-{seconds}", stamp(seconds), stamp(seconds),
        title=photo.title, **fields,
    ).to_doc()


def make_store(items: Sequence[Photo] | None = None, entries: Sequence[dict[str, Any]] = ()) -> FakeStore:
    store = FakeStore()
    if items is not None:
        store.put(CATALOGUE_DOCUMENT, Catalogue(NSID, list(items)).to_doc())
    if entries:
        store.put(LOG_DOCUMENT, {"version": 1, "entries": list(entries)})
    return store


def log_of(store: FakeStore) -> PublishLog:
    doc = store.doc(LOG_DOCUMENT)
    return PublishLog() if doc is None else PublishLog.from_doc(doc)


def gps_jpeg() -> bytes:
    """The fakes' JPEG with an EXIF APP1 segment whose IFD0 points to a GPS IFD (48° 51' 29.64" N)."""
    gps_at = 8 + 2 + 12 + 4  # after the TIFF header and IFD0's one entry
    values_at = gps_at + 2 + 12 * 3 + 4
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x8825, 4, 1, gps_at) + struct.pack("<I", 0)
    gps = (
        struct.pack("<H", 3)
        + struct.pack("<HHI4s", 0x0000, 1, 4, b"\x02\x03\x00\x00")  # GPSVersionID
        + struct.pack("<HHI4s", 0x0001, 2, 2, b"N\x00\x00\x00")  # GPSLatitudeRef
        + struct.pack("<HHII", 0x0002, 5, 3, values_at)  # GPSLatitude, three rationals
        + struct.pack("<I", 0)
        + struct.pack("<6I", 48, 1, 51, 1, 2964, 100)
    )
    payload = b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8) + ifd0 + gps
    return JPEG[:2] + b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload + JPEG[2:]


class ShapedFetcher(FakeFetcher):
    """FakeFetcher that, with ``gps``, serves a JPEG carrying a GPS location."""

    def __init__(self, *, gps: bool = False) -> None:
        super().__init__()
        if gps:
            self.image = gps_jpeg()


class NetworkPublisher(FakePublisher):
    """A FakePublisher for any network's rules: records the bytes it was given, the attempts, the look-ups.

    ``answers`` are what ``settle`` says, in turn (the network cannot tell once they run out); ``fail_at`` may
    name "prepare" and "settle" besides the FakePublisher's steps; ``prepared`` are the rules prepare returns."""

    def __init__(
        self,
        rules: NetworkRules,
        *,
        accepted: list[tuple[str, str]] | None = None,
        answers: Sequence[Settled] = (),
        prepared: NetworkRules | None = None,
    ) -> None:
        super().__init__(accepted, rules=rules)
        self.answers = list(answers)
        self.prepared = prepared
        self.attempts: list[Attempt] = []  # what create_post was given
        self.media: list[list[str]] = []
        self.asked: list[Attempt] = []  # what settle was asked about
        self.images: list[tuple[str, bytes]] = []  # (size label, the file's bytes) of every upload

    def prepare(self) -> NetworkRules:
        self._step("prepare")
        return self.prepared or self.rules

    def upload_media(
        self, image: FetchedImage, alt_text: str | None, *, text: str = "", options: PostOptions = NO_OPTIONS
    ) -> str:
        self.images.append((image.size_label, image.path.read_bytes()))
        return super().upload_media(image, alt_text, text=text, options=options)

    def create_post(
        self, text: str, media_ids: list[str], attempt: Attempt, options: PostOptions = NO_OPTIONS
    ) -> Post:
        self.attempts.append(attempt)
        self.media.append(list(media_ids))
        post = super().create_post(text, media_ids, attempt, options)
        return Post(post.id, post_url(self.rules.name, post.id))

    def settle(self, attempt: Attempt, text: str, started_at: str) -> Settled:
        self.asked.append(attempt)
        self._step("settle")
        if self.answers:
            return self.answers.pop(0)
        return super().settle(attempt, text, started_at)

    @property
    def texts(self) -> list[str]:
        return [text for _, text in self.accepted]


def post_url(network: str, post_id: str) -> str:
    if network == "bluesky":
        return f"https://bsky.app/profile/someone.bsky.social/post/{post_id}"
    if network == "mastodon":
        return f"https://mastodon.example/@someone/{post_id}"
    return f"https://x.com/i/web/status/{post_id}"


class Factory:
    """The publisher factory of one run: hands out the publishers given, records which were made."""

    def __init__(self, publishers: Sequence[NetworkPublisher], broken: dict[str, PierrotError] | None = None) -> None:
        self.publishers = {p.rules.name: p for p in publishers}
        self.broken = broken or {}
        self.made: list[str] = []

    def __call__(self, network: str) -> Publisher:
        self.made.append(network)
        if network in self.broken:
            raise self.broken[network]
        return self.publishers[network]


def never_made(network: str) -> Publisher:
    pytest.fail(f"the {network} publisher must not be created")


def run(
    store: FakeStore,
    publishers: Sequence[NetworkPublisher] | Factory | Callable[[str], Publisher] | None = None,
    *,
    networks: Sequence[NetworkRules | service.NetworkOptions] | None = None,
    fetcher: FakeFetcher | None = None,
    now: Callable[[], dt.datetime] | None = None,
    seed: int = 0,
    sleep: Callable[[float], None] | None = None,
    **options: Any,
) -> service.PublishReport:
    """One publish run on the networks of ``publishers`` (or ``networks``), in that order."""
    factory = publishers if publishers is None or callable(publishers) else Factory(publishers)
    if networks is None:
        assert isinstance(factory, Factory), "say which networks the run has"
        networks = [p.rules for p in factory.publishers.values()]
    return service.publish(
        store,
        fetcher or FakeFetcher(),
        factory,
        service.PublishOptions(
            networks=tuple(n if isinstance(n, service.NetworkOptions) else service.NetworkOptions(n)
                           for n in networks),
            **options,
        ),
        now=now or at(0),
        rng=random.Random(seed),
        sleep=sleep or (lambda seconds: None),
    )


def three() -> tuple[NetworkPublisher, NetworkPublisher, NetworkPublisher]:
    return NetworkPublisher(X), NetworkPublisher(BLUESKY), NetworkPublisher(MASTODON)


def by_network(store: FakeStore) -> dict[str, list[LogEntry]]:
    entries: dict[str, list[LogEntry]] = {}
    for e in log_of(store).entries:
        entries.setdefault(e.network, []).append(e)
    return entries


def record_writes(store: FakeStore) -> list[dict[str, Any]]:
    """Every document the run writes to the publish log, as written."""
    written: list[dict[str, Any]] = []

    def hook(name: str, doc: Any) -> None:
        if name == LOG_DOCUMENT:
            written.append(copy.deepcopy(doc))

    store.before_write = hook
    return written


def x_entry(photo: Photo, status: str, *, seconds: float = 0, run_id: str = "earlier") -> dict[str, Any]:
    """An X entry of the publish log as an earlier run wrote it."""
    moment = (T0 + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
    post_id = "777" if status == PUBLISHED else None
    return LogEntry(photo.id, "x", status, run_id, moment, moment, post_id=post_id).to_doc()


def publish_on_x(
    store: DocumentStore,
    publisher: FakePublisher | Callable[[], Publisher] | None = None,
    *,
    fetcher: FakeFetcher | None = None,
    now: Callable[[], dt.datetime] | None = None,
    seed: int = 0,
    **options: Any,
) -> service.PublishReport:
    """One publish run on X alone, with ``publisher`` (or what the factory makes) as its publisher."""
    factory: Callable[[str], Publisher] | None
    if isinstance(publisher, FakePublisher):
        the_publisher = publisher
        factory = lambda network: the_publisher  # noqa: E731
    elif publisher is None:
        factory = None
    else:
        make = publisher
        factory = lambda network: make()  # noqa: E731
    options.setdefault("networks", (service.NetworkOptions(X),))
    return service.publish(
        store,
        fetcher or FakeFetcher(),
        factory,
        service.PublishOptions(**options),
        now=now or at(0),
        rng=random.Random(seed),
        sleep=lambda seconds: None,
    )


def failure_of(report: service.PublishReport, network: str | None = None) -> BaseException:
    """The failure a network reported: the only failed one of the run, or ``network``'s."""
    failed = [r for r in report.failed if network in (None, r.network)]
    assert len(failed) == 1, f"expected one failed network, got {[(r.network, r.error) for r in report.failed]}"
    assert failed[0].failure is not None
    return failed[0].failure


def cli_run(*args: str, env: dict[str, str] | None = None) -> Result:
    """The pierrot command as a user runs it, in process."""
    from pierrot.entrypoints.cli import cli

    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def failed_lines(report: service.PublishReport) -> list[str]:
    """Each failed network's line, as the entry points print it."""
    return [f"{r.display}: {r.error}" for r in report.failed]


def interrupted(photo: Photo, *, status: str = UNKNOWN, seconds: float = -7200) -> dict[str, Any]:
    """A Bluesky post an earlier run may or may not have made, with its record key, time and media."""
    return entry(photo, "bluesky", status, seconds=seconds, run_id="interrupted", key=KEY, created_at=CREATED_AT,
                 media_ids=("blob-1",), reason="Bluesky answered 502")

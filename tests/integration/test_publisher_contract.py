"""What every publisher promises the publish service, run on each network against its loopback fake.

One harness, the same cases on every network (apprise's AppriseURLTester): credentials refused, upload refused,
post refused, answer lost, duplicate, rate limit, and settling an interrupted post (there, not there, cannot
tell). A network joins by adding its driver to DRIVERS: a few lines that say how to make its fake do each thing.
"""

from __future__ import annotations

import abc
import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from werkzeug.wrappers import Request, Response

from pierrot.adapters.networks.bluesky import BlueskyPublisher
from pierrot.adapters.networks.mastodon import MastodonPublisher
from pierrot.adapters.networks.threads import ThreadsPublisher
from pierrot.adapters.networks.x import XPublisher
from pierrot.errors import DuplicatePost, PostOutcomeUnknown, PostRefused, PublishError
from pierrot.ports import Attempt, FetchedImage, HostedImage, ImageHost, Post, Publisher
from tests.e2e.fake_bluesky import BlueskyFake, BlueskyFault
from tests.e2e.fake_mastodon import MastodonFake, MastodonFault
from tests.e2e.fake_threads import ThreadsFake, ThreadsFault
from tests.e2e.servers import ServerThread, XFake, XFault, jpeg

TIMEOUT = 1.0  # a lost answer is given up after this (each call's deadline is twice it): generous on a busy machine
HANG = 5.0  # longer than any call may take: the fake's hang is cut short when the test resets it
TEXT = "Harbour at dusk"
ALT = "Boats moored at dusk"


def now_iso(ago: float = 0.0) -> str:
    return dt.datetime.fromtimestamp(time.time() - ago, dt.UTC).isoformat(timespec="seconds")


# ---- the drivers: how each network's fake is made to do what a case needs ---------------------------------------


class Driver(abc.ABC):
    """One network and its fake, served on 127.0.0.1."""

    name: ClassVar[str]
    # The setting a refused login names, so that the user knows what to fix.
    credentials_setting: ClassVar[str]
    # "refused": a repeat is refused as a duplicate; "same post": the network answers it with the original post.
    repeat_answer: ClassVar[str] = "refused"
    # Whether the network can say if an interrupted post exists (X cannot: settle answers posted=None).
    settles: ClassVar[bool] = True
    # How long before settling the interrupted attempt started (Mastodon's key settles only within its hour).
    settle_after: ClassVar[float] = 0.0
    # Whether an upload never posted is kept, ready to post as it is (Threads' container): settling it then says
    # "post this same one" (staged), not "never posted".
    stages: ClassVar[bool] = False

    fake: Any
    url: str

    def serve(self) -> ServerThread:
        thread = ServerThread(self.fake)
        self.url = thread.url
        return thread

    @abc.abstractmethod
    def publisher(self, *, credentials_ok: bool = True) -> Publisher:
        """A publisher of the fake's account (with a wrong secret when not ``credentials_ok``)."""

    @abc.abstractmethod
    def posts(self) -> int:
        """How many posts exist on the fake."""

    @abc.abstractmethod
    def refuse_upload(self) -> None:
        """The next upload is refused (4xx)."""

    @abc.abstractmethod
    def refuse_post(self) -> None:
        """The next post request is refused (4xx), nothing posted."""

    @abc.abstractmethod
    def lose_answer(self, after: str) -> None:
        """The next post is made, then its answer is lost: ``after`` is "5xx" or "timeout"."""

    @abc.abstractmethod
    def rate_limit(self, reset: int) -> None:
        """The next post request answers 429, with the network's own headers saying the limit resets at ``reset``."""

    def break_settle(self) -> None:  # noqa: B027 - a network that cannot settle has nothing to break
        """The next look-up of an interrupted post fails (5xx), so the network cannot tell."""

    def repeat(self, text: str, attempt: Attempt) -> tuple[str, Attempt]:
        """What a repeat of the post made with ``text`` and ``attempt`` sends: by default the same of both."""
        return text, attempt

    def reset(self) -> None:
        self.fake.reset()


class XDriver(Driver):
    name = "x"
    credentials_setting = "PIERROT_X_API_KEY"
    settles = False
    KEYS = ("ct-e2e-api-key-0001", "ct-e2e-api-secret-0002", "ct-e2e-token-0003", "ct-e2e-token-secret-0004")

    def __init__(self) -> None:
        self.fake = XFake(*self.KEYS)

    def publisher(self, *, credentials_ok: bool = True) -> Publisher:
        key, secret, token, token_secret = self.KEYS
        return XPublisher(
            api_key=key,
            api_secret=secret,
            access_token=token,
            access_token_secret=token_secret if credentials_ok else "ct-wrong-token-secret",
            api_url=self.url,
            timeout=TIMEOUT,
        )

    def posts(self) -> int:
        return len(self.fake.posts)

    def refuse_upload(self) -> None:
        self.fake.inject(XFault("refused"), path="/2/media/upload")

    def refuse_post(self) -> None:
        self.fake.inject(XFault("refused"))

    def lose_answer(self, after: str) -> None:
        kind = "accept_then_unavailable" if after == "5xx" else "accept_then_hang"
        self.fake.inject(XFault(kind, seconds=HANG))

    def rate_limit(self, reset: int) -> None:
        self.fake.inject(XFault("rate_limited", reset=reset))

    def repeat(self, text: str, attempt: Attempt) -> tuple[str, Attempt]:
        return text, Attempt(key="", created_at=now_iso())  # X refuses a text the account posted before


class BlueskyDriver(Driver):
    name = "bluesky"
    credentials_setting = "PIERROT_BLUESKY_APP_PASSWORD"

    def __init__(self) -> None:
        self.fake = BlueskyFake()

    def publisher(self, *, credentials_ok: bool = True) -> Publisher:
        password = self.fake.app_password if credentials_ok else "ct00-wrong-pass-word"
        return BlueskyPublisher(handle=self.fake.handle, app_password=password, service=self.url, timeout=TIMEOUT)

    def posts(self) -> int:
        return len(self.fake.posts)

    def refuse_upload(self) -> None:
        self.fake.inject(BlueskyFault("unavailable", status=400), method="com.atproto.repo.uploadBlob")

    def refuse_post(self) -> None:
        self.fake.inject(BlueskyFault("unavailable", status=400))

    def lose_answer(self, after: str) -> None:
        kind = "accept_then_unavailable" if after == "5xx" else "accept_then_hang"
        self.fake.inject(BlueskyFault(kind, seconds=HANG))

    def rate_limit(self, reset: int) -> None:
        self.fake.inject(BlueskyFault("rate_limited", reset=reset))

    def break_settle(self) -> None:
        self.fake.inject(BlueskyFault("unavailable"), method="com.atproto.repo.getRecord")

    def repeat(self, text: str, attempt: Attempt) -> tuple[str, Attempt]:
        return text + " again", attempt  # another record under the same key: the key is taken


class MastodonDriver(Driver):
    name = "mastodon"
    credentials_setting = "PIERROT_MASTODON_ACCESS_TOKEN"
    repeat_answer = "same post"  # the same Idempotency-Key within the hour answers the original status
    settle_after = 2 * 3600.0  # past the key's hour, settling searches the account's statuses

    def __init__(self, **settings: Any) -> None:
        self.fake = MastodonFake(access_token="ct-mastodon-token-0001", **settings)

    def publisher(self, *, credentials_ok: bool = True) -> Publisher:
        token = self.fake.access_token if credentials_ok else "ct-wrong-mastodon-token"
        return MastodonPublisher(url=self.url, access_token=token, timeout=TIMEOUT, sleep=lambda seconds: None)

    def posts(self) -> int:
        return len(self.fake.statuses)

    def refuse_upload(self) -> None:
        self.fake.inject(MastodonFault("unprocessable", message="File type not supported"), path="/api/v2/media")

    def refuse_post(self) -> None:
        self.fake.inject(MastodonFault("unprocessable", message="Validation failed: Text can't be blank"))

    def lose_answer(self, after: str) -> None:
        kind = "accept_then_unavailable" if after == "5xx" else "accept_then_hang"
        self.fake.inject(MastodonFault(kind, seconds=HANG))

    def rate_limit(self, reset: int) -> None:
        self.fake.inject(MastodonFault("rate_limited", reset=reset))

    def break_settle(self) -> None:
        self.fake.inject(MastodonFault("unavailable"), path=f"/api/v1/accounts/{self.fake.account.id}/statuses")


class PixelfedDriver(MastodonDriver):
    name = "pixelfed"
    repeat_answer = "refused"  # Pixelfed answers a repeated key with 400 "Duplicate idempotency key."

    def __init__(self) -> None:
        super().__init__(pixelfed=True)


class _ServedImages(ImageHost):
    """The image host a network that fetches the image needs, served over loopback next to the fake's API: the
    bytes at <url>/images/<n>.jpg, taken down when released."""

    def __init__(self) -> None:
        self.url = ""
        self.files: dict[str, bytes] = {}

    def host(self, image: FetchedImage) -> HostedImage:
        key = f"{len(self.files)}.jpg"
        self.files[key] = image.path.read_bytes()
        return HostedImage(f"{self.url}/images/{key}", key=key)

    def release(self, hosted: HostedImage) -> None:
        self.files.pop(hosted.key or "", None)

    def sweep(self, older_than: float) -> int:
        return 0

    def serve(self, api: Any) -> Any:
        """A WSGI app: /images/... from here, everything else from ``api``."""

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            path = Request(environ).path
            if not path.startswith("/images/"):
                return api(environ, start_response)
            data = self.files.get(path.removeprefix("/images/"))
            answer = Response(data, mimetype="image/jpeg") if data is not None else Response("gone", status=404)
            return answer(environ, start_response)

        return app


class ThreadsDriver(Driver):
    name = "threads"
    credentials_setting = "PIERROT_THREADS_ACCESS_TOKEN"
    stages = True  # a FINISHED container is published as it is by the next run

    def __init__(self) -> None:
        self.fake = ThreadsFake("ct-threads-token-0001")
        self.images = _ServedImages()

    def serve(self) -> ServerThread:
        thread = ServerThread(self.images.serve(self.fake))  # threaded: the fake fetches the image from itself
        self.url = self.images.url = thread.url
        return thread

    def publisher(self, *, credentials_ok: bool = True) -> Publisher:
        token = self.fake.access_token if credentials_ok else "ct-wrong-threads-token"
        return ThreadsPublisher(access_token=token, api_url=self.url, image_host=self.images, timeout=TIMEOUT,
                                sleep=lambda seconds: None)

    def posts(self) -> int:
        return len(self.fake.threads)

    def refuse_upload(self) -> None:
        self.fake.inject(ThreadsFault("refused"), path="/v1.0/me/threads")

    def refuse_post(self) -> None:
        self.fake.inject(ThreadsFault("refused"))

    def lose_answer(self, after: str) -> None:
        kind = "accept_then_unavailable" if after == "5xx" else "accept_then_hang"
        self.fake.inject(ThreadsFault(kind, seconds=HANG))

    def rate_limit(self, reset: int) -> None:
        self.fake.inject(ThreadsFault("rate_limited", reset=reset))

    def break_settle(self) -> None:
        [container] = self.fake.containers
        self.fake.inject(ThreadsFault("unavailable"), path=f"/v1.0/{container}")


DRIVERS: dict[str, type[Driver]] = {
    "x": XDriver,
    "bluesky": BlueskyDriver,
    "mastodon": MastodonDriver,
    "pixelfed": PixelfedDriver,
    "threads": ThreadsDriver,
}


@pytest.fixture(scope="module", params=list(DRIVERS))
def served(request: pytest.FixtureRequest) -> Iterator[Driver]:
    driver = DRIVERS[request.param]()
    thread = driver.serve()
    try:
        yield driver
    finally:
        driver.reset()  # ends any hang in progress
        thread.stop()


@pytest.fixture
def network(served: Driver) -> Iterator[Driver]:
    served.reset()
    yield served
    served.reset()  # ends any hang the case left behind


@pytest.fixture
def image(tmp_path: Path) -> FetchedImage:
    path = tmp_path / "53000000003_k.jpg"
    data = jpeg(4096, size=(16, 16))
    path.write_bytes(data)
    return FetchedImage(path, "k", 16, 16, len(data), "image/jpeg")


@dataclass
class Run:
    """One publish as the service makes it: prepare, the account, the image, then the post under an attempt."""

    publisher: Publisher
    attempt: Attempt | None = None
    media_id: str | None = None

    def upload(self, image: FetchedImage) -> str:
        self.publisher.prepare()
        self.publisher.account()
        self.media_id = self.publisher.upload_media(image, ALT, text=TEXT)
        return self.media_id

    def post(self, image: FetchedImage, text: str = TEXT) -> Post:
        media_id = self.upload(image)
        started = self.publisher.new_attempt(now_iso())
        self.attempt = Attempt(started.key, started.created_at, (media_id,), self.publisher.account())
        return self.publisher.create_post(text, [media_id], self.attempt)


def nothing_public(exc: BaseException) -> None:
    assert isinstance(exc, PublishError)
    assert not isinstance(exc, PostRefused | PostOutcomeUnknown | DuplicatePost), repr(exc)


# ---- the cases ----------------------------------------------------------------------------------------------


def test_a_post_is_made_once_and_named(network: Driver, image: FetchedImage) -> None:
    post = Run(network.publisher()).post(image)

    assert post.id and post.url.startswith("https://")
    assert network.posts() == 1


def test_refused_credentials_stop_before_the_post_with_the_setting_to_check(
    network: Driver, image: FetchedImage
) -> None:
    with pytest.raises(PublishError) as caught:
        Run(network.publisher(credentials_ok=False)).post(image)

    nothing_public(caught.value)
    assert network.credentials_setting in str(caught.value)
    assert network.posts() == 0


def test_a_refused_upload_is_a_publish_error_before_anything_is_posted(network: Driver, image: FetchedImage) -> None:
    network.refuse_upload()

    with pytest.raises(PublishError) as caught:
        Run(network.publisher()).post(image)

    nothing_public(caught.value)
    assert "upload the image" in str(caught.value)
    assert network.posts() == 0


def test_a_refused_post_is_post_refused_and_nothing_is_posted(network: Driver, image: FetchedImage) -> None:
    network.refuse_post()

    with pytest.raises(PostRefused) as caught:
        Run(network.publisher()).post(image)

    assert caught.value.status is not None and 400 <= caught.value.status < 500
    assert network.posts() == 0


@pytest.mark.parametrize("after", ["5xx", "timeout"])
def test_a_post_whose_answer_is_lost_is_of_unknown_outcome(network: Driver, image: FetchedImage, after: str) -> None:
    network.lose_answer(after)

    with pytest.raises(PostOutcomeUnknown):
        Run(network.publisher()).post(image)

    assert network.posts() == 1  # it was made: only a settle can say so


def test_a_repeated_post_is_a_duplicate_or_the_same_post(network: Driver, image: FetchedImage) -> None:
    run = Run(network.publisher())
    first = run.post(image)
    assert run.attempt is not None and run.media_id is not None
    text, attempt = network.repeat(TEXT, run.attempt)

    if network.repeat_answer == "same post":
        assert run.publisher.create_post(text, [run.media_id], attempt) == first
    else:
        with pytest.raises(DuplicatePost):
            run.publisher.create_post(text, [run.media_id], attempt)

    assert network.posts() == 1


def test_a_rate_limited_post_is_refused_and_says_when_the_limit_resets(network: Driver, image: FetchedImage) -> None:
    reset = int(time.time()) + 600
    network.rate_limit(reset)

    with pytest.raises(PostRefused) as caught:
        Run(network.publisher()).post(image)

    assert (caught.value.status, caught.value.reset_time) == (429, reset)
    assert time.strftime("%Y-%m-%dT%H:%M", time.localtime(reset)) in str(caught.value)
    assert "in 10 minutes" in str(caught.value)
    assert network.posts() == 0


def test_settling_a_post_that_exists_finds_it(network: Driver, image: FetchedImage) -> None:
    run = Run(network.publisher())
    made = run.post(image)
    assert run.attempt is not None

    settled = network.publisher().settle(run.attempt, TEXT, now_iso(network.settle_after))

    if network.settles:
        assert (settled.posted, settled.post) == (True, made)
    else:
        assert settled.posted is None and "resolve" in settled.reason  # settled by hand


def test_settling_a_post_that_was_never_made_says_so(network: Driver, image: FetchedImage) -> None:
    run = Run(network.publisher())
    media_id = run.upload(image)  # the run was killed after the upload, before the post request left
    started = run.publisher.new_attempt(now_iso())
    attempt = Attempt(started.key, started.created_at, (media_id,), run.publisher.account())

    settled = network.publisher().settle(attempt, TEXT, now_iso(network.settle_after))

    if network.stages:
        assert (settled.posted, settled.staged) == (None, media_id)  # not posted: post that same upload
    else:
        assert settled.posted is (False if network.settles else None)
    assert network.posts() == 0


def test_settling_when_the_network_cannot_answer_cannot_tell(network: Driver, image: FetchedImage) -> None:
    run = Run(network.publisher())
    run.post(image)
    assert run.attempt is not None
    network.break_settle()

    settled = network.publisher().settle(run.attempt, TEXT, now_iso(network.settle_after))

    assert settled.posted is None
    assert settled.reason

"""The Threads adapter against the loopback fake of the Graph API, which fetches the image from the URL it is
given (as Meta does) and refuses one that tells where it was taken; and a few answers replayed with responses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from werkzeug.wrappers import Request, Response

from pierrot.adapters.images.hosting import FlickrImageHost
from pierrot.adapters.networks import Context, PostRef
from pierrot.adapters.networks.threads import (
    NETWORK,
    ThreadsPublisher,
    cut_alt_text,
    read_post,
    threads_length,
)
from pierrot.errors import DuplicatePost, ImageError, PostOutcomeUnknown, PostRefused, PublishError
from pierrot.ports import Attempt, FetchedImage, HostedImage, ImageHost
from tests.e2e.fake_threads import DAY, FakeThread, ThreadsFake, ThreadsFault
from tests.e2e.servers import ServerThread, gps_exif, jpeg

TOKEN = "THQtoken-0123456789"
STARTED = "2026-12-06T22:00:00+00:00"


class _Images:
    """A public image host: the bytes at /<name>."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        data = self.files.get(Request(environ).path.lstrip("/"))
        response = Response(data, mimetype="image/jpeg") if data is not None else Response("gone", status=404)
        return response(environ, start_response)


class _ServedHost(ImageHost):
    """Hosts by putting the file's bytes on the test's image server; remembers what it released."""

    def __init__(self, images: _Images, url: str) -> None:
        self.images, self.url, self.released, self.swept = images, url, [], 0
        self.released: list[str]

    def host(self, image: FetchedImage) -> HostedImage:
        name = f"{len(self.images.files)}.jpg"
        self.images.files[name] = image.path.read_bytes()
        return HostedImage(f"{self.url}/{name}", key=name)

    def release(self, hosted: HostedImage) -> None:
        assert hosted.key is not None
        self.images.files.pop(hosted.key, None)
        self.released.append(hosted.key)

    def sweep(self, older_than: float) -> int:
        self.swept += 1
        return 0


@pytest.fixture
def servers() -> Iterator[tuple[ThreadsFake, str, _Images, str]]:
    fake, images = ThreadsFake(TOKEN, processing_polls=1), _Images()
    api, files = ServerThread(fake), ServerThread(images)
    try:
        yield fake, api.url, images, files.url
    finally:
        api.stop()
        files.stop()


def _image(tmp_path: Path, data: bytes, **changes: Any) -> FetchedImage:
    path = tmp_path / "photo_k.jpg"
    path.write_bytes(data)
    return FetchedImage(path, "k", 2048, 1365, len(data), "image/jpeg", **changes)


def _publisher(api: str, host: ImageHost | None, **kwargs: Any) -> ThreadsPublisher:
    kwargs.setdefault("access_token", TOKEN)
    return ThreadsPublisher(api_url=api, image_host=host, sleep=lambda s: None, timeout=5, **kwargs)


def test_a_photo_is_posted_once_through_a_finished_container(servers: Any, tmp_path: Path) -> None:
    fake, api, images, files = servers
    host = _ServedHost(images, files)
    threads = _publisher(api, host)
    assert threads.prepare().text_limit == 500
    image = _image(tmp_path, jpeg(tag=b"pierrot-e2e photo=42 size=k"))
    container = threads.upload_media(image, "A dog on a bridge", text="The bridge")
    assert fake.containers[container].status == "FINISHED"
    assert fake.fetched == [(f"{files}/0.jpg", 200)]  # Threads fetched the image itself
    assert fake.threads == []  # nothing public before the publish
    post = threads.create_post("The bridge", [container], threads.new_attempt(STARTED))
    [thread] = fake.threads
    assert (post.id, post.url) == (thread.id, thread.permalink)
    assert (thread.container.text, thread.container.alt_text, thread.container.photo) == (
        "The bridge", "A dog on a bridge", ("42", "k"))
    assert host.released == ["0.jpg"] and host.swept == 1  # taken down once posted; leftovers swept


def test_publishing_a_container_again_is_a_duplicate_not_a_second_post(servers: Any, tmp_path: Path) -> None:
    fake, api, images, files = servers
    threads = _publisher(api, _ServedHost(images, files))
    container = threads.upload_media(_image(tmp_path, jpeg()), None, text="t")
    attempt = threads.new_attempt(STARTED)
    threads.create_post("t", [container], attempt)
    with pytest.raises(DuplicatePost):
        threads.create_post("t", [container], attempt)
    assert len(fake.threads) == 1


def test_a_flickr_size_with_a_location_is_never_handed_out(servers: Any, tmp_path: Path) -> None:
    fake, api, _, _ = servers
    threads = _publisher(api, FlickrImageHost())
    located = _image(tmp_path, jpeg(exif=gps_exif()), source_url="https://live.staticflickr.com/1/1_a_k.jpg",
                     location_removed=True)
    with pytest.raises(ImageError, match="S3 store"):
        threads.upload_media(located, None, text="t")
    assert fake.containers == {} and fake.fetched == []


def test_the_fake_refuses_an_image_with_gps_as_a_guard(servers: Any, tmp_path: Path) -> None:
    fake, api, images, files = servers
    threads = _publisher(api, _ServedHost(images, files))
    with pytest.raises(PublishError, match="tells where it was taken"):
        threads.upload_media(_image(tmp_path, jpeg(exif=gps_exif())), None, text="t")
    assert fake.containers == {}


def test_a_lost_publish_answer_is_settled_by_the_container(servers: Any, tmp_path: Path) -> None:
    fake, api, images, files = servers
    threads = _publisher(api, _ServedHost(images, files))
    container = threads.upload_media(_image(tmp_path, jpeg()), None, text="Lost")
    attempt = threads.new_attempt(STARTED)
    fake.inject(ThreadsFault("accept_then_unavailable"))
    with pytest.raises(PostOutcomeUnknown):
        threads.create_post("Lost", [container], attempt)
    again = _publisher(api, None)
    settled = again.settle(Attempt(attempt.key, STARTED, (container,)), "Lost", STARTED)
    assert settled.posted is True and settled.post is not None
    assert settled.post.id == fake.threads[0].id and settled.post.url == fake.threads[0].permalink


def test_a_kill_before_publishing_leaves_a_container_to_publish_as_it_is(servers: Any, tmp_path: Path) -> None:
    fake, api, images, files = servers
    container = _publisher(api, _ServedHost(images, files)).upload_media(_image(tmp_path, jpeg()), None, text="K")
    # the run dies here; the next run settles the entry
    settled = _publisher(api, None).settle(Attempt("k", STARTED, (container,)), "K", STARTED)
    assert (settled.posted, settled.same_key, settled.staged) == (None, True, container)
    post = _publisher(api, None).create_post("K", [container], Attempt("k", STARTED, (container,)))
    assert [t.id for t in fake.threads] == [post.id]


def test_an_expired_container_was_never_posted(servers: Any, tmp_path: Path) -> None:
    fake, api, images, files = servers
    container = _publisher(api, _ServedHost(images, files)).upload_media(_image(tmp_path, jpeg()), None, text="E")
    fake.age(DAY + 60)
    fake._issue(TOKEN)  # the token itself is still valid
    settled = _publisher(api, None).settle(Attempt("k", STARTED, (container,)), "E", STARTED)
    assert settled.posted is False and "EXPIRED" in settled.reason


def test_the_day_s_quota_used_up_stops_before_anything_is_made(servers: Any) -> None:
    fake, api, images, files = servers
    now = fake.clock()
    fake.threads = [FakeThread(str(i), fake.user_id, "someone", None, now - 60) for i in range(250)]  # type: ignore[arg-type]
    with pytest.raises(PublishError, match="250 API posts in 24 hours is used up"):
        _publisher(api, _ServedHost(images, files)).prepare()


def test_a_token_near_its_end_is_renewed_and_kept(servers: Any, tmp_path: Path) -> None:
    fake, api, images, files = servers
    fake.tokens[TOKEN] = (fake.clock() - 40 * DAY, fake.clock() + 20 * DAY)
    kept: list[tuple[str, str]] = []
    threads = _publisher(api, _ServedHost(images, files), keep_secret=lambda attr, value: kept.append((attr, value)))
    threads.prepare()
    [(attr, new)] = kept
    assert attr == "threads_access_token" and new != TOKEN and new in fake.tokens
    threads.upload_media(_image(tmp_path, jpeg()), None, text="t")  # with the new token
    assert "renewed" in threads.whoami() or "expires" in threads.whoami()


def test_a_young_or_distant_token_is_left_alone_and_check_says_when_it_ends(servers: Any) -> None:
    _, api, _, _ = servers
    kept: list[Any] = []
    threads = _publisher(api, None, keep_secret=lambda *a: kept.append(a))
    threads.prepare()
    assert kept == []
    assert "expires" in threads.whoami() and "renewed automatically" in threads.whoami()
    assert "cannot renew" in _publisher(api, None).whoami()


def test_a_rate_limited_publish_is_refused_with_its_retry_time(servers: Any, tmp_path: Path) -> None:
    fake, api, images, files = servers
    threads = _publisher(api, _ServedHost(images, files))
    container = threads.upload_media(_image(tmp_path, jpeg()), None, text="t")
    fake.inject(ThreadsFault("rate_limited"))
    with pytest.raises(PostRefused) as refused:
        threads.create_post("t", [container], threads.new_attempt(STARTED))
    assert refused.value.status == 429 and refused.value.reset_time is not None
    assert fake.threads == []


@responses.activate
def test_an_invalid_token_is_one_line_without_the_token() -> None:
    responses.get("https://graph.threads.net/v1.0/me", status=400, json={"error": {
        "message": f"Error validating access token {TOKEN}", "type": "OAuthException", "code": 190}})
    with pytest.raises(PublishError) as failed:
        ThreadsPublisher(access_token=TOKEN).whoami()
    assert TOKEN not in str(failed.value) and "PIERROT_THREADS_ACCESS_TOKEN" in str(failed.value)


@responses.activate
def test_a_lost_connection_while_publishing_is_an_unknown_outcome() -> None:
    import requests

    responses.post("https://graph.threads.net/v1.0/me/threads_publish", body=requests.ConnectionError("reset"))
    with pytest.raises((PostOutcomeUnknown, PostRefused)):
        ThreadsPublisher(access_token=TOKEN).create_post("t", ["1"], Attempt("k", STARTED))


def test_plain_http_is_refused_off_loopback() -> None:
    from pierrot.errors import ConfigError

    with pytest.raises(ConfigError):
        ThreadsPublisher(access_token=TOKEN, api_url="http://graph.threads.net")


def test_threads_counts_emoji_by_their_utf8_bytes() -> None:
    assert threads_length("hello") == 5
    assert threads_length("é") == 1
    assert threads_length("😀") == 4
    assert threads_length("👍🏽") == 8
    assert len(cut_alt_text("a" * 1200)) == 1000


def test_the_network_reads_posts_and_builds_from_settings(tmp_path: Path) -> None:
    assert read_post("18012345678901234", {}) == PostRef("18012345678901234", None)
    url = "https://www.threads.com/@someone/post/C12345678"
    assert read_post(url, {}) == PostRef("C12345678", url)
    with pytest.raises(ValueError):
        read_post("https://bsky.app/profile/x/post/1", {})
    assert NETWORK.name == "threads" and NETWORK.rules.settles_unknown
    assert {s.env for s in NETWORK.specs} >= {"PIERROT_THREADS_ACCESS_TOKEN", "PIERROT_THREADS_API_URL",
                                             "PIERROT_THREADS_TEMPLATE", "PIERROT_THREADS_ALT_TEMPLATE"}
    publisher = NETWORK.build({"threads_access_token": TOKEN}, Context(timeout=5))
    assert publisher.rules.name == "threads"


def test_a_run_killed_between_container_and_publish_is_settled_by_the_next_run(servers: Any) -> None:
    """The service, the adapter and the fake together: the next run publishes that same container, once."""
    from pierrot import service
    from pierrot.adapters.networks.threads import RULES
    from pierrot.domain import PUBLISHED
    from tests.fakes import FakeFetcher, at, log_of, make_store, photos

    fake, api, images, files = servers
    host = _ServedHost(images, files)

    class Killed(ThreadsPublisher):
        def create_post(self, text: str, media_ids: list[str], attempt: Attempt, options: Any = None) -> Any:
            raise KeyboardInterrupt  # the run dies after the claim, before the publish request

    items = photos(2)
    store = make_store(items)

    def one_run(publisher: ThreadsPublisher, seconds: float) -> service.PublishReport:
        return service.publish(store, FakeFetcher(), lambda name: publisher,
                               service.PublishOptions(networks=(service.NetworkOptions(RULES),)), now=at(seconds),
                               sleep=lambda s: None)

    with pytest.raises(KeyboardInterrupt):
        one_run(Killed(access_token=TOKEN, api_url=api, image_host=host, sleep=lambda s: None), 0)
    [container] = fake.containers
    assert fake.threads == [] and fake.containers[container].status == "FINISHED"

    report = one_run(_publisher(api, host), 600)

    [thread] = fake.threads
    assert thread.container.id == container  # that same container, not a new one
    assert len(fake.containers) == 1
    [entry] = [e for e in log_of(store).entries if e.photo_id == items[0].id or e.media_ids == (container,)]
    assert (entry.status, entry.post_id, entry.media_ids) == (PUBLISHED, thread.id, (container,))
    assert any("same key" in line for r in report.results for line in r.settled)


# ---- several photos: one carousel container --------------------------------------------------------------------


def _carousel_images(tmp_path: Path, count: int) -> list[tuple[FetchedImage, str | None]]:
    images = []
    for n in range(count):
        path = tmp_path / f"photo_{n}.jpg"
        path.write_bytes(jpeg(tag=f"pierrot-e2e photo={n} size=k".encode()))
        images.append((FetchedImage(path, "k", 2048, 1365, path.stat().st_size, "image/jpeg"),
                       f"Alt {n}" if n != 2 else None))
    return images


def test_several_photos_are_staged_as_items_then_one_carousel_published_once(servers: Any, tmp_path: Path) -> None:
    fake, api, images, files = servers
    host = _ServedHost(images, files)
    threads = _publisher(api, host)
    from pierrot.ports import PostOptions

    container = threads.stage_post(_carousel_images(tmp_path, 4), text="Four", options=PostOptions(warning="cw"))
    assert container is not None
    carousel = fake.containers[container]
    assert carousel.status == "FINISHED" and fake.threads == []  # staged, nothing public
    items = carousel.children
    assert [i.photo for i in items] == [(str(n), "k") for n in range(4)]  # fetched by Meta, in order
    assert [i.alt_text for i in items] == ["Alt 0", "Alt 1", None, "Alt 3"]  # each its own alt text
    assert all(i.carousel_item and i.status == "FINISHED" and i.text == "" for i in items)
    assert (carousel.text, carousel.spoiler) == ("Four", True)
    # Every item made before the carousel (the carousel is the last container made).
    assert list(fake.containers)[-1] == container and len(fake.containers) == 5
    # An item is never published on its own.
    with pytest.raises(PostRefused):
        threads.create_post("Four", [items[0].id], threads.new_attempt(STARTED))
    post = threads.create_post("Four", [container], threads.new_attempt(STARTED))
    [thread] = fake.threads
    assert thread.id == post.id and [i.photo for i in thread.container.images] == [(str(n), "k") for n in range(4)]
    assert sorted(host.released) == ["0.jpg", "1.jpg", "2.jpg", "3.jpg"]  # all four taken down once posted
    with pytest.raises(DuplicatePost):
        threads.create_post("Four", [container], threads.new_attempt(STARTED))
    assert len(fake.threads) == 1


def test_one_photo_is_not_a_carousel(servers: Any, tmp_path: Path) -> None:
    fake, api, images, files = servers
    threads = _publisher(api, _ServedHost(images, files))
    assert threads.stage_post(_carousel_images(tmp_path, 1), text="One") is None
    assert fake.containers == {}


def test_a_carousel_whose_item_fails_stages_nothing_and_takes_its_images_down(servers: Any, tmp_path: Path) -> None:
    fake, api, images, files = servers
    host = _ServedHost(images, files)
    staged = _carousel_images(tmp_path, 3)
    located = tmp_path / "located.jpg"
    located.write_bytes(jpeg(exif=gps_exif()))
    staged[1] = (FetchedImage(located, "k", 2048, 1365, located.stat().st_size, "image/jpeg"), None)
    with pytest.raises(PublishError, match="tells where it was taken"):
        _publisher(api, host).stage_post(staged, text="t")
    assert not any(c.children for c in fake.containers.values())  # no carousel made
    assert sorted(host.released) == ["0.jpg", "1.jpg"]


def test_an_interrupted_carousel_is_settled_by_its_container_status(servers: Any, tmp_path: Path) -> None:
    fake, api, images, files = servers
    container = _publisher(api, _ServedHost(images, files)).stage_post(_carousel_images(tmp_path, 2), text="C")
    assert container is not None
    attempt = Attempt("k", STARTED, (container,))
    # FINISHED: publish that same carousel, once.
    settled = _publisher(api, None).settle(attempt, "C", STARTED)
    assert (settled.posted, settled.same_key, settled.staged) == (None, True, container)
    post = _publisher(api, None).create_post("C", [container], attempt)
    # PUBLISHED: it exists, and the post is found.
    settled = _publisher(api, None).settle(attempt, "C", STARTED)
    assert settled.posted is True and settled.post is not None and settled.post.id == post.id
    # EXPIRED: never published.
    other = _publisher(api, _ServedHost(images, files)).stage_post(_carousel_images(tmp_path, 2), text="D")
    assert other is not None
    fake.age(DAY + 60)
    fake._issue(TOKEN)
    settled = _publisher(api, None).settle(Attempt("k", STARTED, (other,)), "D", STARTED)
    assert settled.posted is False and "EXPIRED" in settled.reason


def test_the_fake_refuses_a_carousel_of_one_or_of_items_not_made_for_it(servers: Any, tmp_path: Path) -> None:
    _, api, images, files = servers
    threads = _publisher(api, _ServedHost(images, files))
    single = threads.upload_media(_image(tmp_path, jpeg()), None, text="t")  # not a carousel item
    for children in (single, f"{single},{single}"):
        with pytest.raises(PublishError):
            threads._new_container("make a carousel", {"media_type": "CAROUSEL", "children": children})

"""The image fetcher against a fake CDN, one size at a time in the order publish tries X's: the byte cap, the
host allow-list, no redirect, private files."""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import responses

from pierrot.adapters.images.fetcher import USER_AGENT, HttpImageFetcher
from pierrot.adapters.networks.x.text import RULES as X
from pierrot.domain import Photo, Size, sizes_for
from pierrot.errors import ConfigError, ImageError, SizeUnavailable
from pierrot.ports import FetchedImage
from tests.integration.faulty_http import FaultyServer, trickle

CDN = "https://live.staticflickr.com/65535"
# A JFIF header, padding and the end-of-image marker: enough for magic-byte checks.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(range(256)) * 12 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 500
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 500
GIF = b"GIF89a" + b"\x00" * 500
HTML = b"<!DOCTYPE html><html><body>Sorry, this photo is not available</body></html>"


def url(label: str) -> str:
    return f"{CDN}/52345678901_0a1b2c3d4e_{label}.jpg"


def photo(*labels: str, original: tuple[int, int] | None = None, urls: dict[str, str] | None = None) -> Photo:
    edges = {"k": (2048, 1365), "h": (1600, 1066), "l": (1024, 683), "c": (800, 533), "z": (640, 427)}
    sizes = [Size(label, (urls or {}).get(label, url(label)), *edges[label]) for label in labels]
    if original:
        sizes.insert(0, Size("o", (urls or {}).get("o", url("o")), *original))
    return Photo(id="52345678901", title="Harbour at dusk", sizes=tuple(sizes))


@pytest.fixture
def cdn() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def first_fit(
    fetcher: HttpImageFetcher, photo: Photo, directory: Path, max_bytes: int = X.max_image_bytes
) -> FetchedImage:
    """The first of X's sizes, in the order publish tries them (pierrot.domain.sizes_for), this adapter can fetch."""
    reasons = []
    for size in sizes_for(photo, max_edge=X.max_image_edge, max_pixels=X.max_image_pixels):
        try:
            return fetcher.fetch_size(photo, size, directory, max_bytes)
        except SizeUnavailable as exc:
            reasons.append(f"{size.label}: {exc}")
    raise ImageError(f"photo {photo.id}: no size could be fetched ({', '.join(reasons)})")


def fetched_urls(cdn: responses.RequestsMock) -> list[str]:
    return [str(call.request.url) for call in cdn.calls]


def test_the_largest_size_is_chosen_and_written_privately(cdn: responses.RequestsMock, tmp_path: Path) -> None:
    for label in ("k", "h", "l"):
        cdn.get(url(label), body=JPEG, content_type="image/jpeg")
    fetcher = HttpImageFetcher()

    image = first_fit(fetcher, photo("l", "k", "h"), tmp_path)

    assert (image.size_label, image.width, image.height) == ("k", 2048, 1365)
    assert image.mime_type == "image/jpeg"
    assert image.nbytes == len(JPEG)
    assert image.path == tmp_path / "52345678901_k.jpg"
    assert image.path.read_bytes() == JPEG
    assert stat.S_IMODE(os.stat(image.path).st_mode) == 0o600
    assert fetched_urls(cdn) == [url("k")]
    assert fetcher.calls == 1


def test_requests_send_our_user_agent_and_do_not_follow_redirects(cdn: responses.RequestsMock, tmp_path: Path) -> None:
    cdn.get(url("k"), status=302, headers={"Location": "https://evil.example/x.jpg"})
    cdn.get("https://evil.example/x.jpg", body=JPEG)
    cdn.get(url("h"), body=JPEG)

    image = first_fit(HttpImageFetcher(), photo("k", "h"), tmp_path)

    assert image.size_label == "h"
    assert fetched_urls(cdn) == [url("k"), url("h")]
    for call in cdn.calls:
        assert call.request.headers["User-Agent"] == USER_AGENT
        assert call.request.headers["User-Agent"].startswith("pierrot/")


def test_403_falls_back_to_the_next_size(cdn: responses.RequestsMock, tmp_path: Path) -> None:
    cdn.get(url("k"), status=403, body=b"Forbidden")
    cdn.get(url("h"), status=403, body=b"Forbidden")
    cdn.get(url("l"), body=JPEG)
    fetcher = HttpImageFetcher()

    image = first_fit(fetcher, photo("k", "h", "l", "c"), tmp_path)

    assert image.size_label == "l"
    assert fetcher.calls == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["52345678901_l.jpg"]


def test_too_large_by_content_length_is_skipped_without_reading(cdn: responses.RequestsMock, tmp_path: Path) -> None:
    cdn.get(url("k"), body=JPEG, headers={"Content-Length": str(5 * 1024 * 1024 + 1)})
    cdn.get(url("h"), body=JPEG)

    image = first_fit(HttpImageFetcher(), photo("k", "h"), tmp_path)

    assert image.size_label == "h"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["52345678901_h.jpg"]


def test_too_large_while_streaming_is_aborted_and_its_partial_file_removed(
    cdn: responses.RequestsMock, tmp_path: Path
) -> None:
    big = JPEG + b"\x00" * 70_000  # no Content-Length: only counting can tell
    cdn.get(url("k"), body=big)
    cdn.get(url("h"), body=JPEG)
    fetcher = HttpImageFetcher()

    image = first_fit(fetcher, photo("k", "h"), tmp_path, max_bytes=len(JPEG) + 10)

    first = cdn.calls[0].response
    assert isinstance(first, requests.Response)
    assert "Content-Length" not in first.headers
    assert image.size_label == "h"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["52345678901_h.jpg"]


def test_a_download_interrupted_midway_leaves_no_partial_file(
    cdn: responses.RequestsMock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The answer promises more bytes than come before the connection ends.
    cdn.get(url("k"), body=JPEG, headers={"Content-Length": str(len(JPEG) + 5000)}, auto_calculate_content_length=False)
    cdn.get(url("h"), body=JPEG)
    caplog.set_level(logging.INFO, logger="pierrot.adapters.images.fetcher")  # a CLI test may have quietened "pierrot"

    image = first_fit(HttpImageFetcher(), photo("k", "h"), tmp_path)

    assert image.size_label == "h"
    assert "size k not used: download interrupted" in caplog.text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["52345678901_h.jpg"]


def test_something_that_is_not_an_image_is_skipped(cdn: responses.RequestsMock, tmp_path: Path) -> None:
    cdn.get(url("k"), body=HTML, content_type="image/jpeg")  # the header lies; the bytes do not
    cdn.get(url("h"), body=b"")
    cdn.get(url("l"), body=JPEG, content_type="text/html")

    image = first_fit(HttpImageFetcher(), photo("k", "h", "l"), tmp_path)

    assert image.size_label == "l"
    assert image.mime_type == "image/jpeg"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["52345678901_l.jpg"]


@pytest.mark.parametrize(
    ("body", "mime_type", "name"),
    [
        (PNG, "image/png", "52345678901_k.png"),
        (WEBP, "image/webp", "52345678901_k.webp"),
        (GIF, "image/gif", "52345678901_k.gif"),
    ],
)
def test_the_type_comes_from_the_bytes(
    cdn: responses.RequestsMock, tmp_path: Path, body: bytes, mime_type: str, name: str
) -> None:
    cdn.get(url("k"), body=body, content_type="application/octet-stream")

    image = first_fit(HttpImageFetcher(), photo("k"), tmp_path)

    assert (image.mime_type, image.path.name) == (mime_type, name)


@pytest.mark.parametrize(
    "bad_url",
    [
        "http://live.staticflickr.com/65535/1_a_k.jpg",
        "https://evil.example/65535/1_a_k.jpg",
        "https://live.staticflickr.com.evil.com/65535/1_a_k.jpg",
        "https://evil.com/live.staticflickr.com/1_a_k.jpg",
        "https://user@live.staticflickr.com/65535/1_a_k.jpg",
        "https://evil.com\\@live.staticflickr.com/65535/1_a_k.jpg",
        "https://live.staticflickr.com:8443/65535/1_a_k.jpg",
        "https://farmx.staticflickr.com/65535/1_a_k.jpg",
        "https://static.flickr.com/65535/1_a_k.jpg",
        "ftp://live.staticflickr.com/65535/1_a_k.jpg",
        "file:///etc/passwd",
    ],
)
def test_urls_off_the_allow_list_are_never_fetched(cdn: responses.RequestsMock, tmp_path: Path, bad_url: str) -> None:
    if bad_url.startswith("http"):
        cdn.get(bad_url, body=JPEG)
    cdn.get(url("h"), body=JPEG)
    fetcher = HttpImageFetcher()

    image = first_fit(fetcher, photo("k", "h", urls={"k": bad_url}), tmp_path)

    assert image.size_label == "h"
    assert fetched_urls(cdn) == [url("h")]
    assert fetcher.calls == 1


def test_flickr_farm_hosts_are_allowed(cdn: responses.RequestsMock, tmp_path: Path) -> None:
    farm = "https://farm66.staticflickr.com/65535/52345678901_0a1b2c3d4e_k.jpg"
    cdn.get(farm, body=JPEG)

    assert first_fit(HttpImageFetcher(), photo("k", urls={"k": farm}), tmp_path).size_label == "k"


def test_an_extra_origin_allows_exactly_that_scheme_host_and_port(cdn: responses.RequestsMock, tmp_path: Path) -> None:
    fake = "http://127.0.0.1:8123/photos/52345678901_l.jpg"
    urls = {
        "k": "http://127.0.0.1:8124/photos/52345678901_k.jpg",
        "h": "https://127.0.0.1:8123/photos/52345678901_h.jpg",
        "l": fake,
    }
    for target in urls.values():
        cdn.get(target, body=JPEG)
    fetcher = HttpImageFetcher(extra_hosts=["http://127.0.0.1:8123"])

    image = first_fit(fetcher, photo("k", "h", "l", urls=urls), tmp_path)

    assert image.size_label == "l"
    assert fetched_urls(cdn) == [fake]


def test_an_extra_bare_host_is_https_only(cdn: responses.RequestsMock, tmp_path: Path) -> None:
    urls = {"k": "http://images.test/k.jpg", "h": "https://images.test/h.jpg"}
    for target in urls.values():
        cdn.get(target, body=JPEG)

    image = first_fit(HttpImageFetcher(extra_hosts=["images.test"]), photo("k", "h", urls=urls), tmp_path)

    assert image.size_label == "h"
    assert fetched_urls(cdn) == [urls["h"]]


@pytest.mark.parametrize("entry", ["http://127.0.0.1:8123/path", "ftp://host", "host:80800", "https://u@host", "a b"])
def test_a_malformed_extra_host_is_a_config_error(entry: str) -> None:
    with pytest.raises(ConfigError, match="PIERROT_FLICKR_IMAGE_HOSTS"):
        HttpImageFetcher(extra_hosts=[entry])


def test_when_every_size_fails_the_error_says_why_for_each(cdn: responses.RequestsMock, tmp_path: Path) -> None:
    cdn.get(url("k"), status=403)
    cdn.get(url("h"), body=JPEG, headers={"Content-Length": str(6 * 1024 * 1024)})
    cdn.get(url("l"), body=HTML)
    cdn.get(url("c"), status=500)
    cdn.get(url("z"), body=requests.ConnectTimeout("timed out"))
    bad = "https://evil.example/x_z.jpg"

    with pytest.raises(ImageError) as caught:
        first_fit(HttpImageFetcher(), photo("k", "h", "l", "c", "z"), tmp_path)
    with pytest.raises(ImageError) as refused:
        first_fit(HttpImageFetcher(), photo("z", urls={"z": bad}), tmp_path)

    message = str(caught.value)
    assert "52345678901" in message
    expected = "k: HTTP 403, h: too large (>5,242,880 bytes), l: not an image, c: HTTP 500, z: no answer within 30 s"
    assert expected in message
    assert "z: https://evil.example not allowed" in str(refused.value)
    assert list(tmp_path.iterdir()) == []


def test_a_small_original_is_tried_first(cdn: responses.RequestsMock, tmp_path: Path) -> None:
    cdn.get(url("o"), body=JPEG)

    image = first_fit(HttpImageFetcher(), photo("h", "l", original=(1800, 1200)), tmp_path)

    assert (image.size_label, image.width) == ("o", 1800)
    assert fetched_urls(cdn) == [url("o")]


def test_a_small_original_is_ordered_by_its_edge(cdn: responses.RequestsMock, tmp_path: Path) -> None:
    cdn.get(url("k"), status=403)
    cdn.get(url("o"), status=403)
    cdn.get(url("h"), body=JPEG)

    # Odd but possible: a 2048 px k beside a 1700 px original (sizes from different times).
    image = first_fit(HttpImageFetcher(), photo("k", "h", original=(1700, 1100)), tmp_path)

    assert image.size_label == "h"
    assert fetched_urls(cdn) == [url("k"), url("o"), url("h")]


def test_a_large_original_is_never_fetched(cdn: responses.RequestsMock, tmp_path: Path) -> None:
    cdn.get(url("o"), body=JPEG)
    cdn.get(url("k"), body=JPEG)

    image = first_fit(HttpImageFetcher(), photo("k", original=(6000, 4000)), tmp_path)

    assert image.size_label == "k"
    assert fetched_urls(cdn) == [url("k")]


def test_a_size_trickled_byte_by_byte_is_abandoned_at_the_deadline(tmp_path: Path) -> None:
    with FaultyServer(trickle(seconds=4, content_type="image/jpeg", first=JPEG[:20])) as server:
        fetcher = HttpImageFetcher(extra_hosts=[server.origin], timeout=0.4)
        started = time.monotonic()

        with pytest.raises(ImageError, match=r"did not complete within 0\.8 s"):
            first_fit(fetcher, photo("k", urls={"k": f"{server.origin}/1_k.jpg"}), tmp_path)

    assert time.monotonic() - started < 2.0
    assert list(tmp_path.iterdir()) == []

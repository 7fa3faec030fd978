"""A photo deleted or made private since the sync: the adapter says which HTTP status each size answered, so
publish can tell "gone" (every size 404 or 410, decided in pierrot.service.publish) from anything transient."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import responses

from pierrot.adapters.images.fetcher import HttpImageFetcher
from pierrot.errors import SizeUnavailable
from tests.integration.test_images import photo, url


@pytest.fixture
def cdn() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


LABELS = ("k", "h", "l")


@pytest.mark.parametrize("status", [404, 410, 500, 503, 429, 403])
def test_each_size_says_the_status_it_answered(cdn: responses.RequestsMock, tmp_path: Path, status: int) -> None:
    cdn.get(url("k"), status=status)

    with pytest.raises(SizeUnavailable) as caught:
        HttpImageFetcher().fetch_size(photo(*LABELS), photo(*LABELS).sizes[0], tmp_path, 5_000_000)

    assert caught.value.status == status
    assert f"HTTP {status}" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_a_refused_url_has_no_status(cdn: responses.RequestsMock, tmp_path: Path) -> None:
    bad = photo("k", urls={"k": "https://evil.example/1_k.jpg"})

    with pytest.raises(SizeUnavailable) as caught:
        HttpImageFetcher().fetch_size(bad, bad.sizes[0], tmp_path, 5_000_000)

    assert caught.value.status is None  # not Flickr saying "gone": never taken for a deleted photo

"""A photo deleted or made private since the sync: every size 404/410 is "gone"; anything transient is not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import responses

from pierrot.errors import ImageError, PhotoGone
from pierrot.images import HttpImageFetcher
from tests.integration.test_images import photo, url


@pytest.fixture
def cdn() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


LABELS = ("k", "h", "l")


def test_every_size_404_or_410_means_the_photo_is_gone(cdn: responses.RequestsMock, tmp_path: Path) -> None:
    cdn.get(url("k"), status=410)
    cdn.get(url("h"), status=404)
    cdn.get(url("l"), status=404)

    with pytest.raises(PhotoGone, match="gone from Flickr"):
        HttpImageFetcher().fetch(photo(*LABELS), tmp_path)


@pytest.mark.parametrize("status", [500, 503, 429, 403])
def test_one_size_failing_otherwise_is_not_gone(cdn: responses.RequestsMock, tmp_path: Path, status: int) -> None:
    cdn.get(url("k"), status=404)
    cdn.get(url("h"), status=404)
    cdn.get(url("l"), status=status)

    with pytest.raises(ImageError) as caught:
        HttpImageFetcher().fetch(photo(*LABELS), tmp_path)

    assert not isinstance(caught.value, PhotoGone)
    assert f"HTTP {status}" in str(caught.value)

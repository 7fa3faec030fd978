"""The test-only endpoint settings accept a base URL however it is naturally written."""

from __future__ import annotations

import pytest

from pierrot.config import load_settings
from pierrot.images import HttpImageFetcher


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("http://127.0.0.1:9", "http://127.0.0.1:9/services/rest/"),
        ("http://127.0.0.1:9/", "http://127.0.0.1:9/services/rest/"),
        ("http://127.0.0.1:9/services/rest/", "http://127.0.0.1:9/services/rest/"),
        ("http://127.0.0.1:9/any/path", "http://127.0.0.1:9/any/path"),
    ],
)
def test_a_bare_flickr_host_means_its_rest_path(given: str, used: str) -> None:
    assert load_settings(env={"PIERROT_FLICKR_API_URL": given, "HOME": "/nonexistent"}).flickr_api_url == used


@pytest.mark.parametrize("given", ["http://127.0.0.1:8", "http://127.0.0.1:8/", "http://127.0.0.1:8/2", "http://127.0.0.1:8/2/"])
def test_an_x_base_may_carry_its_version(given: str) -> None:
    assert load_settings(env={"PIERROT_X_API_URL": given, "HOME": "/nonexistent"}).x_api_url == "http://127.0.0.1:8"


def test_host_and_port_without_scheme_allow_http_only_on_loopback() -> None:
    fetcher = HttpImageFetcher(extra_hosts=["127.0.0.1:8123", "images.example:8443"])
    assert fetcher.refusal("http://127.0.0.1:8123/1_k.jpg") is None
    assert fetcher.refusal("https://images.example:8443/1_k.jpg") is None
    assert fetcher.refusal("http://images.example:8443/1_k.jpg") is not None
    assert fetcher.refusal("http://127.0.0.1:8124/1_k.jpg") is not None
    assert HttpImageFetcher().refusal("http://127.0.0.1:8123/1_k.jpg") is not None, "strict by default"

"""The test-only endpoint settings: a base URL however it is naturally written, but https off this machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from pierrot.adapters.images.fetcher import HttpImageFetcher
from pierrot.config import load_settings
from pierrot.errors import ConfigError


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


@pytest.mark.parametrize("name", ["PIERROT_FLICKR_API_URL", "PIERROT_X_API_URL"])
@pytest.mark.parametrize(
    "url",
    [
        "http://api.example.com",
        "http://api.flickr.com/services/rest/",
        "http://localhost.example.com:8/",
        "http://127.0.0.1.example.com/",
        "http://127.0.0.1@api.example.com/",
        "http://10.0.0.1:8/",
    ],
)
def test_plain_http_off_loopback_is_refused_naming_the_setting(name: str, url: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(env={name: url, "HOME": "/nonexistent"})
    assert name in str(raised.value) and "https" in str(raised.value)


@pytest.mark.parametrize("name", ["PIERROT_FLICKR_API_URL", "PIERROT_X_API_URL"])
@pytest.mark.parametrize(
    "url", ["https://api.example.com", "http://127.0.0.1:9", "http://127.8.9.10:9/", "http://localhost:9",
            "http://[::1]:9/"],
)
def test_https_anywhere_and_http_on_loopback_are_accepted(name: str, url: str) -> None:
    load_settings(env={name: url, "HOME": "/nonexistent"})


def test_a_plain_http_url_in_the_config_file_names_its_key(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[x]\napi_url = "http://api.example.com"\n')
    with pytest.raises(ConfigError) as raised:
        load_settings(env={"HOME": "/nonexistent"}, config_path=config)
    assert "api_url in [x]" in str(raised.value) and "PIERROT_X_API_URL" in str(raised.value)


def test_missing_names_every_missing_setting_and_require_says_all_in_one_line() -> None:
    settings = load_settings(env={"PIERROT_X_API_KEY": "k", "HOME": "/nonexistent"})
    assert settings.missing("x_api_key", "x_api_secret", "flickr_user") == ["x_api_secret", "flickr_user"]
    with pytest.raises(ConfigError) as raised:
        settings.require("x_api_key", "x_api_secret", "flickr_user")
    message = str(raised.value)
    assert "\n" not in message
    assert "PIERROT_X_API_SECRET (or api_secret in [x])" in message
    assert "PIERROT_FLICKR_USER (or user in [flickr])" in message
    with pytest.raises(ConfigError, match=r"^PIERROT_FLICKR_USER is not set: export"):
        settings.require("flickr_user")

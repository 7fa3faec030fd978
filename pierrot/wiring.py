"""Builds the adapters from settings: the one place that knows which adapter serves which port."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pierrot.config import SPECS_BY_ATTR, Settings
from pierrot.errors import ConfigError
from pierrot.ports import DocumentStore, ImageFetcher, PhotoSource, Publisher
from pierrot.service import PublishOptions


def build_store(settings: Settings) -> DocumentStore:
    from pierrot.stores import open_store

    return open_store(settings.store_location, timeout=settings.timeout)


def build_source(settings: Settings) -> PhotoSource:
    settings.require("flickr_api_key", "flickr_api_secret")
    from pierrot.flickr import FlickrPhotoSource

    return FlickrPhotoSource(
        settings.flickr_api_key, settings.flickr_api_secret, api_url=settings.flickr_api_url, timeout=settings.timeout
    )


def build_fetcher(settings: Settings) -> ImageFetcher:
    from pierrot.images import HttpImageFetcher

    return HttpImageFetcher(extra_hosts=settings.image_hosts or (), timeout=settings.timeout)


def build_publisher(settings: Settings) -> Publisher:
    settings.require(*X_SETTINGS)
    from pierrot.x import XPublisher

    return XPublisher(
        api_key=settings.x_api_key,
        api_secret=settings.x_api_secret,
        access_token=settings.x_access_token,
        access_token_secret=settings.x_access_token_secret,
        api_url=settings.x_api_url,
        timeout=settings.timeout,
    )


X_SETTINGS = ("x_api_key", "x_api_secret", "x_access_token", "x_access_token_secret")
FLICKR_SETTINGS = ("flickr_api_key", "flickr_api_secret", "flickr_user")


def publish_options(settings: Settings, **run: Any) -> PublishOptions:
    """The publish options the settings give, with this run's own (photo, force, dry run, output)."""
    return PublishOptions(
        filters=settings.filters,
        template=settings.template,
        alt_template=settings.alt_template,
        link=settings.link,
        alt_text=settings.alt_text,
        lease_seconds=settings.lease_seconds,
        **run,
    )


def build_checks(settings: Settings, *, with_x: bool) -> list[tuple[str, Callable[[], str]]]:
    """The probes of ``pierrot check``, in the order a user would fix them."""
    from pierrot import service

    def required() -> str:
        # Every missing setting in one line: a first run should not be a fix-one-rerun loop.
        settings.require(*FLICKR_SETTINGS, *(X_SETTINGS if with_x else ()))
        return "every required setting is present"

    def config_file() -> str:
        # An unknown key is most often a typo, and a typo means a setting silently not applied.
        if settings.config_problems:
            raise ConfigError("; ".join(settings.config_problems))
        if not settings.config_loaded:
            return f"{settings.config_path} absent (settings from the environment)"
        return f"{settings.config_path} has only known settings, and no secret others can read"

    def env_file() -> str:
        if settings.env_file_problems:
            raise ConfigError("; ".join(settings.env_file_problems))
        if settings.env_file is None or not settings.env_file.exists():
            return f"{settings.env_file} absent (nothing to check)"
        return f"{settings.env_file} holds no secret others can read"

    def untried(attrs: tuple[str, ...]) -> None:
        # The "settings" line already names what is missing and how to set it: say so once.
        missing = settings.missing(*attrs)
        if missing:
            raise ConfigError(f"not tried without {', '.join(SPECS_BY_ATTR[a].env for a in missing)}")

    def flickr() -> str:
        untried(FLICKR_SETTINGS)
        return service.check_flickr(build_source(settings), settings.flickr_user)

    def store() -> str:
        return service.check_documents(build_store(settings))

    def x() -> str:
        untried(X_SETTINGS)
        return f"credentials accepted for @{build_publisher(settings).whoami()}"

    probes: list[tuple[str, Callable[[], str]]] = [
        ("settings", required),
        ("config file", config_file),
        ("env file", env_file),
        ("flickr", flickr),
        ("store", store),
    ]
    if with_x:
        probes.append(("x", x))
    return probes

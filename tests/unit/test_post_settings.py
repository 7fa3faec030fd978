"""Issue 17's settings: a post's language, its warning, hashtags, and photos without a description."""

from __future__ import annotations

import datetime as dt

import pytest

from pierrot import service
from pierrot.config import load_settings
from pierrot.domain import CATALOGUE_DOCUMENT, Catalogue, Filters
from pierrot.errors import ConfigError
from tests.fakes import FakeStore, make_photo

T0 = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("tag", ["fr", "pt-BR", "zh-Hant-TW", "sr-Latn", "es-419", "de-CH-1996"])
def test_a_bcp47_language_is_taken(tag: str) -> None:
    assert load_settings(env={"PIERROT_PUBLISH_LANGUAGE": tag}).language == tag


@pytest.mark.parametrize("tag", ["french", "f", "pt_BR", "fr-", "en-US-", "12", "fr BR"])
def test_a_malformed_language_is_a_configuration_error(tag: str) -> None:
    with pytest.raises(ConfigError, match="PIERROT_PUBLISH_LANGUAGE is malformed: expected a BCP-47") as caught:
        load_settings(env={"PIERROT_PUBLISH_LANGUAGE": tag})
    assert caught.value.exit_code == 2


def test_the_post_settings_have_their_defaults() -> None:
    settings = load_settings(env={})
    assert settings.language is None
    assert not settings.sensitive_tags
    assert settings.content_warning == "Sensitive photo"
    assert settings.hashtags == 5
    assert settings.require_description is False


def test_the_post_settings_are_read_from_the_environment() -> None:
    settings = load_settings(env={
        "PIERROT_PUBLISH_SENSITIVE_TAGS": "nsfw, nude", "PIERROT_PUBLISH_CONTENT_WARNING": "Nudity",
        "PIERROT_PUBLISH_HASHTAGS": "0", "PIERROT_PUBLISH_REQUIRE_DESCRIPTION": "true",
    })
    assert settings.sensitive_tags == ("nsfw", "nude")
    assert settings.content_warning == "Nudity"
    assert settings.hashtags == 0
    assert settings.filters.require_description


@pytest.mark.parametrize("value", ["-1", "five", "101"])
def test_a_wrong_number_of_hashtags_is_a_configuration_error(value: str) -> None:
    with pytest.raises(ConfigError, match="PIERROT_PUBLISH_HASHTAGS is malformed"):
        load_settings(env={"PIERROT_PUBLISH_HASHTAGS": value})


def test_a_photo_without_a_description_is_never_chosen_when_one_is_required() -> None:
    described = make_photo(1, description="Low tide at <b>dawn</b>")
    bare = [make_photo(2, description=""), make_photo(3, description="<br/> ")]
    filters = Filters(require_description=True)

    assert filters.matches(described)
    assert not any(filters.matches(photo) for photo in bare)
    assert Filters().matches(bare[0])


def test_status_says_how_many_photos_have_no_description() -> None:
    store = FakeStore()
    items = [make_photo(1, description="Low tide"), make_photo(2), make_photo(3, description="")]
    store.put(CATALOGUE_DOCUMENT, Catalogue("12345678@N00", items).to_doc())

    status = service.status(store, Filters(require_description=True), networks=("x",), now=lambda: T0)

    assert (status.remaining, status.undescribed) == (1, 2)
    assert status.to_dict()["undescribed"] == 2

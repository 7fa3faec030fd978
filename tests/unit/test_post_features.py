"""Issue 17 in the service and the domain: hashtags, the camera's line, a post's language and warning."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest

from pierrot import service
from pierrot.adapters.images.cleaning import camera_text
from pierrot.adapters.images.exif import Camera
from pierrot.adapters.networks.bluesky import RULES as BLUESKY
from pierrot.adapters.networks.mastodon import DEFAULT_RULES as MASTODON
from pierrot.adapters.networks.threads import RULES as THREADS
from pierrot.adapters.networks.x.text import RULES as X
from pierrot.domain import compose
from pierrot.ports import CameraText, PostOptions
from tests.exif_samples import make_exif, make_jpeg
from tests.fakes import FakeFetcher, NetworkPublisher, make_photo, make_store, run


def post(template: str, context: dict[str, str], *, limit: int = 500, title: str = "Low tide") -> str:
    return compose.compose_post(make_photo(1, title=title), template, measure=len, limit=limit, context=context)


# --- {hashtags} ---------------------------------------------------------------------------------


def test_hashtags_are_the_first_tags_in_flickrs_order_made_safe() -> None:
    tags = ("sunset", "new-york", "2024", "vacances:lieu=paris", "été", "Sunset", "paris")

    assert compose.hashtags(tags, 5) == "#sunset #newyork #été #paris"
    assert compose.hashtags(tags, 2) == "#sunset #newyork"
    assert compose.hashtags(tags, 0) == ""


def test_a_tag_longer_than_a_hashtag_can_be_is_left_out() -> None:
    assert compose.hashtags(("a" * 65, "b" * 64), 5) == "#" + "b" * 64


def test_cutting_to_the_limit_never_leaves_half_a_hashtag() -> None:
    context = {"hashtags": "#sunset #harbour #lowtide #boats"}

    text = post("{title} {hashtags}", context, limit=30)

    assert text == "Low tide #sunset #harbour"
    assert all(word in context["hashtags"].split() for word in text.split()[2:])


def test_without_tags_the_hashtags_leave_nothing_behind() -> None:
    assert post("{title} · {hashtags}", {}) == "Low tide"


# --- {camera}, {lens}, {exposure} ---------------------------------------------------------------


def test_the_camera_line_names_the_make_once_and_the_exposure_parts_present() -> None:
    full = Camera(make="FUJIFILM", model="X-T4", lens_model="XF23mmF2 R WR", exposure_time=Fraction(1, 250),
                  f_number=Fraction(8), iso=200, focal_length=Fraction(23))
    nikon = Camera(make="NIKON CORPORATION", model="NIKON Z 6", exposure_time=Fraction(2), f_number=Fraction(28, 10))

    assert camera_text(full) == CameraText("FUJIFILM X-T4", "XF23mmF2 R WR", "1/250 s · f/8 · ISO 200 · 23 mm")
    assert camera_text(nikon) == CameraText("NIKON Z 6", "", "2 s · f/2.8")
    assert camera_text(Camera(iso=100)) == CameraText("", "", "ISO 100")
    assert camera_text(None) == CameraText()


@pytest.mark.parametrize(("template", "expected"), [
    ("{title}\n{camera} · {lens} · {exposure}", "Low tide"),
    ("{title} ({camera})", "Low tide"),
    ("{title} — {camera}, {lens} | {exposure}", "Low tide"),
    ("{camera} · {lens}\n{title}", "Low tide"),
    ("{title}\n📷\ufe0f {camera} · {exposure}", "Low tide"),
])
def test_an_empty_camera_line_leaves_no_dangling_separator(template: str, expected: str) -> None:
    assert post(template, {}) == expected
    assert "None" not in post(template, {"camera": "", "lens": "", "exposure": ""})


def test_a_partial_camera_line_keeps_only_the_separators_between_values() -> None:
    context = {"camera": "FUJIFILM X-T4", "lens": "", "exposure": "1/250 s · f/8"}

    assert post("{title}\n{camera} · {lens} · {exposure}", context) == "Low tide\nFUJIFILM X-T4 · 1/250 s · f/8"
    assert post("{title} ({camera}, {lens})", context) == "Low tide (FUJIFILM X-T4)"


def test_the_camera_comes_from_the_downloaded_image_before_its_location_is_removed() -> None:
    store = make_store([make_photo(1, title="Low tide")])
    fetcher = FakeFetcher()
    fetcher.image = make_jpeg(make_exif("<").tiff)  # a camera, and a location
    x = NetworkPublisher(X)

    run(store, [x], fetcher=fetcher, template="{title}\n{camera} · {lens} · {exposure}")

    assert x.texts == ["Low tide\nPierrot Camera P1 · Summicron · 1/125 s · f/2.8 · ISO 200 · 35 mm"]


def test_an_image_without_exif_makes_an_empty_camera_line() -> None:
    store = make_store([make_photo(1, title="Low tide")])
    x = NetworkPublisher(X)

    run(store, [x], template="{title}\n📷 {camera} · {exposure}")

    assert x.texts == ["Low tide"]  # the emoji that introduced the line goes with it


# --- language and warning -----------------------------------------------------------------------


def three() -> tuple[NetworkPublisher, NetworkPublisher, NetworkPublisher]:
    return NetworkPublisher(X), NetworkPublisher(BLUESKY), NetworkPublisher(MASTODON)


def test_the_language_goes_to_the_networks_that_take_one() -> None:
    store = make_store([make_photo(1)])
    x, bluesky, mastodon = three()

    run(store, [x, bluesky, mastodon], language="pt-BR")

    assert x.options == [PostOptions()]
    assert bluesky.options == mastodon.options == [PostOptions(language="pt-BR")]


def test_a_warning_only_on_photos_with_a_sensitive_tag() -> None:
    store = make_store([make_photo(1, tags=("beach", "NSFW")), make_photo(2, tags=("beach",))])
    x, bluesky, mastodon = three()
    options = {"sensitive_tags": ("nsfw", "nude"), "content_warning": "Nudity"}

    first = run(store, [x, bluesky, mastodon], photo_id=make_photo(1).id, **options)
    run(store, [x, bluesky, mastodon], photo_id=make_photo(2).id, **options)

    assert x.options == [PostOptions(), PostOptions()]  # X's API has no such field
    assert bluesky.options == mastodon.options == [PostOptions(warning="Nudity"), PostOptions()]
    assert [(r.network, r.sensitive, r.warning, r.warning_kind) for r in first.results] == [
        ("x", True, None, "none"), ("bluesky", True, "Nudity", "label"), ("mastodon", True, "Nudity", "spoiler")]


def test_threads_gets_the_warning_with_the_image_it_stages() -> None:
    store = make_store([make_photo(1, tags=("nsfw",))])
    threads = NetworkPublisher(THREADS)

    run(store, [threads], sensitive_tags=("nsfw",))

    assert threads.upload_options == [PostOptions(warning="Sensitive photo")]


def test_mastodon_cuts_the_text_to_leave_room_for_the_warning() -> None:
    description = "word " * 200
    store = make_store([make_photo(1, tags=("nsfw",), description=description)])
    bluesky, mastodon = NetworkPublisher(BLUESKY), NetworkPublisher(MASTODON)
    warning = "Nudity (art) " * 5

    run(store, [bluesky, mastodon], template="{description}", sensitive_tags=("nsfw",), content_warning=warning)

    (text,) = mastodon.texts
    assert MASTODON.measure(text) + MASTODON.measure(warning) <= MASTODON.text_limit
    assert MASTODON.measure(text) > MASTODON.text_limit - MASTODON.measure(warning) - 10
    assert BLUESKY.measure(bluesky.texts[0]) > 290  # a label takes no room from the text


def test_a_dry_run_reports_language_warning_and_hashtags_per_network() -> None:
    store = make_store([make_photo(1, tags=("nsfw", "sunset", "paris"))])
    x, bluesky, mastodon = three()

    report = run(store, [x, bluesky, mastodon], dry_run=True, language="fr", sensitive_tags=("nsfw",),
                 template="{title} {hashtags}", hashtags=2)

    assert [(r.language, r.warning, r.hashtags) for r in report.results] == [
        (None, None, "#nsfw #sunset"), ("fr", "Sensitive photo", "#nsfw #sunset"),
        ("fr", "Sensitive photo", "#nsfw #sunset")]
    assert report.to_dict()["networks"]["bluesky"]["language"] == "fr"
    assert not x.options and not bluesky.options
    assert service.PublishOptions().hashtags == 5


# --- saying it is a bot --------------------------------------------------------------------------


def test_check_says_whether_the_account_says_it_is_automated() -> None:
    flagged, unflagged, unknown = NetworkPublisher(MASTODON), NetworkPublisher(BLUESKY), NetworkPublisher(X)
    flagged.bot, unflagged.bot = True, False

    assert service.check_bot(flagged) == "the account says it is automated"
    assert service.check_bot(unknown).startswith("pierrot cannot tell: X has no bot flag")
    with pytest.raises(service.CheckWarning, match=r"does not say it is automated: .* --fix-bot-label"):
        service.check_bot(unflagged)
    assert "set_bot" not in unflagged.calls


def test_fixing_the_bot_label_asks_first() -> None:
    publisher = NetworkPublisher(MASTODON)
    publisher.bot = False
    asked: list[str] = []

    with pytest.raises(service.CheckWarning):
        service.check_bot(publisher, lambda question: asked.append(question) or False)
    assert asked == ["Mark the Mastodon account as automated (a bot)?"] and publisher.bot is False

    assert service.check_bot(publisher, lambda question: True) == "the account now says it is automated"
    assert publisher.bot is True


def test_a_companion_with_a_sensitive_tag_puts_the_whole_post_behind_the_warning() -> None:
    first = make_photo(1, date_taken="2024-06-09 12:00:00", tags=("beach",))
    companion = make_photo(2, date_taken="2024-06-09 12:30:00", tags=("nsfw",))
    store = make_store([first, companion])
    x, bluesky, mastodon = three()
    threads = NetworkPublisher(replace(THREADS, max_images=1))  # a network that takes one photo a post

    report = run(store, [x, bluesky, mastodon, threads], photo_id=first.id, photos=2, sensitive_tags=("nsfw",))

    assert [len(m[0]) for m in (bluesky.media, mastodon.media)] == [2, 2]  # both photos in one post
    assert bluesky.options == mastodon.options == [PostOptions(warning="Sensitive photo")]
    # One photo a post there: the companion is not carried there, and neither is its warning.
    assert threads.upload_options == [PostOptions()]
    assert [r.sensitive for r in report.results] == [True, True, True, False]

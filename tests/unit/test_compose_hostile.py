"""Hostile free text (issue 15): every network's composing stays within its limit and measures a bounded number of
times, whatever a photo's title, description or tags hold."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pierrot.adapters.networks import bluesky, mastodon
from pierrot.adapters.networks.x import text as xtext
from pierrot.domain import Photo, compose
from pierrot.ports import NetworkRules

PIXELFED = mastodon.rules_from_instance({"version": "3.5.3 (compatible; Pixelfed 0.12.4)"})
NETWORKS = {"x": xtext.RULES, "bluesky": bluesky.RULES, "mastodon": mastodon.DEFAULT_RULES, "pixelfed": PIXELFED}
FAMILY = "👨\u200d👩\u200d👧\u200d👦"
HOSTILE = {
    "dotted run": "a." * 4000,
    "two-letter labels": "ab." * 3000,
    "dotted run with a TLD": "a.co." * 2000,
    "emoji families": FAMILY * 2000,
    "skin tones": "👍🏽" * 5000,
    "flags": "🇫🇷" * 5000,
    "combining marks": "e" + "\u0301" * 10_000,
    "zalgo": ("Z" + "\u0336\u0301\u0316" * 20) * 300,
    "zero-width joiners": "\u200d" * 10_000,
    "hash run": "#" * 10_000,
    "at run": "@" * 10_000,
    "hashtags": "#a" * 5000,
    "mentions": "@a" * 5000,
    "many URLs": "https://www.flickr.com/photos/someone/1/ " * 500,
    "protocols": "http://" * 2000,
    "one long URL": "https://example.com/" + "a" * 9000,
    "long title": "x" * 100_000,
    "CJK": "日本語" * 5000,
    "bidi controls": "\u202e\u2066" * 5000 + "abc",
    "unclosed comments": "<!--" * 5000,
    "unclosed tags": "<p" * 5000,
}
POST_TEMPLATE = "{title}\n{description}\n{tags}"
ALT_TEMPLATE = "{title}. {description}"


def hostile_photo(text: str) -> Photo:
    return Photo(
        "1",
        title=text,
        description=text,
        tags=(text, *(f"tag{n}" for n in range(1000))),
        owner="1@N00",
        date_taken="2019-05-12 10:00:00",
    )


def network_measure(rules: NetworkRules) -> Callable[[str], int]:
    """The measure publishing uses: the network's, and over its byte cap counts as over the limit."""

    def measure(text: str) -> int:
        if rules.max_text_bytes is not None and len(text.encode()) > rules.max_text_bytes:
            return rules.text_limit + 1
        return rules.measure(text)

    return measure


class Counting:
    def __init__(self, measure: Callable[[str], int]) -> None:
        self.measure = measure
        self.calls = 0

    def __call__(self, text: str) -> int:
        self.calls += 1
        return self.measure(text)


@pytest.mark.parametrize("network", NETWORKS)
@pytest.mark.parametrize("shape", HOSTILE)
def test_a_hostile_post_fits_with_a_bounded_number_of_measures(network: str, shape: str) -> None:
    rules = NETWORKS[network]
    measure = Counting(network_measure(rules))
    text = compose.compose_post(
        hostile_photo(HOSTILE[shape]), POST_TEMPLATE, link=True, measure=measure, limit=rules.text_limit
    )
    assert 0 < rules.measure(text) <= rules.text_limit
    assert rules.max_text_bytes is None or len(text.encode()) <= rules.max_text_bytes
    assert text.endswith("/photos/1@N00/1/")  # the link survives
    # Three fields shortened by bisection, each cut a few measures plus one per halving of its bounded text.
    assert measure.calls <= 64


@pytest.mark.parametrize("network", NETWORKS)
@pytest.mark.parametrize("shape", HOSTILE)
def test_a_hostile_alt_text_fits(network: str, shape: str) -> None:
    rules = NETWORKS[network]
    text = compose.compose_alt_text(hostile_photo(HOSTILE[shape]), ALT_TEMPLATE, limit=rules.alt_limit)
    assert len(text) <= rules.alt_limit  # empty when all there is, a URL, does not fit


def test_a_variant_of_a_hostile_post_fits_too() -> None:
    rules = xtext.RULES
    variants = compose.compose_post_variants(
        hostile_photo(HOSTILE["two-letter labels"]), POST_TEMPLATE, measure=rules.measure, limit=rules.text_limit
    )
    texts = [next(variants) for _ in range(3)]
    assert "(12 May 2019)" in texts[1] and "(2)" in texts[2]
    assert all(rules.measure(text) <= rules.text_limit for text in texts)


@pytest.mark.parametrize(
    ("text", "chars", "expected"),
    [
        ("short", 10, "short"),
        ("abcdefghij", 10, "abcdefghij"),
        ("abcdefghijk", 10, "abcdefghi…"),
        ("abcdefgh" + "e\u0301" + "x", 10, "abcdefgh…"),  # the accent is not left without its letter
        ("abcdefg" + FAMILY, 10, "abcdefg…"),  # nor a family without a member
        ("e" + "\u0301" * 50, 10, "…"),  # a cluster longer than the bound goes whole
    ],
)
def test_bound_cuts_a_field_at_a_grapheme_boundary_with_an_ellipsis(text: str, chars: int, expected: str) -> None:
    assert compose.bound(text, chars) == expected


def test_a_field_cut_by_the_bound_ends_in_an_ellipsis_even_when_the_rest_fits() -> None:
    zalgo = ("Z" + "\u0336" * 60) * 300  # 300 graphemes (Mastodon's limit is 500) but 18,300 code points
    text = compose.compose_post(Photo("1", title=zalgo), "{title}", measure=mastodon.mastodon_length, limit=500)
    assert text.endswith("…") and mastodon.mastodon_length(text) <= 500

"""X's weighted length, from the vendored rules: the figures X's own documentation gives."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pierrot.adapters.networks.x import text as xtext


@pytest.mark.parametrize(
    ("text", "weight"),
    [
        ("", 0),
        ("Sunset", 6),
        ("a" * 280, 280),
        ("日本語", 6),  # CJK weighs 2
        ("café", 4),
        ("cafe\u0301", 4),  # NFC first: e + combining acute is one character
        ("\u2014\u2019", 2),  # general punctuation weighs 1
        ("😀", 2),
        ("👨‍👩‍👧‍👦", 2),  # an emoji sequence is one emoji: 2, not 7 code points
        ("🇫🇷", 2),
        ("https://www.flickr.com/photos/someone/123456789/", 23),
        ("see https://example.com/a/very/long/path/that/goes/on/and/on", 4 + 23),
        ("flickr.com/photos/x/1", 23),  # a bare domain with a path is a URL too
        ("http://a.co", 23),
        ("Mr.Smith", 8),  # not a top-level domain: not a URL
    ],
)
def test_weighted_length_follows_x(text: str, weight: int) -> None:
    assert xtext.weighted_length(text) == weight


def test_url_and_emoji_spans_are_code_point_offsets() -> None:
    text = "Hi 😀 see https://x.com/a ok"
    assert xtext.url_spans(text) == [(9, 24)]
    assert text[9:24] == "https://x.com/a"
    assert xtext.emoji_spans(text) == [(3, 4)]


def test_loads_without_pkg_resources() -> None:
    """Python 3.12+ venvs have no setuptools: the rules must load with pkg_resources unimportable."""
    code = (
        "import sys; sys.modules['pkg_resources'] = None\n"
        "from pierrot.adapters.networks.x import text as xtext\n"
        "print(xtext.weighted_length('日本 https://example.com'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "28"


@pytest.mark.parametrize(
    ("text", "weight"),
    [
        ("a." * 4000, 8000),  # no top-level domain anywhere: it used to take minutes
        ("ab." * 3000, 9000),
        ("日本語" * 2000, 12000),
        ("see example.com, sub.a.b.c.d.e.example.co.uk/p?q=1 and https://日本語.jp/パス", 4 + 23 + 2 + 23 + 5 + 23 + 4),
        ("a_b.com -x.com x-.com", 21),  # twitter-text's own rules on labels, unchanged: none is a URL
        ("a.b.c.d.e.f.g.h.i.j.k.l.m.co", 28),  # 14 labels: X counts 23, pierrot its 28 characters (VENDORED.md)
    ],
)
def test_hostile_and_ordinary_urls_count_as_x_counts_them_or_more(text: str, weight: int) -> None:
    assert xtext.weighted_length(text) == weight


def test_the_top_level_domain_tries_match_what_the_lists_match() -> None:
    from pierrot._twitter_text.regexp.tld_trie import _names, tld_trie
    from pierrot._twitter_text.regexp.valid_cctld import valid_cctld
    from pierrot._twitter_text.regexp.valid_gtld import valid_gtld

    for original in (valid_gtld, valid_cctld):
        trie = tld_trie(original)
        for name in _names(original):
            for text in (name, name + ".", name + "/x", name + "x", name[:-1], name + "大酒店"):
                found, expected = trie.match(text), original.match(text)
                assert (found and found.span()) == (expected and expected.span()), text

"""Post text and alt text: what the followers and screen-reader users of the X account will read."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from pierrot.adapters.networks.x.text import RULES as X
from pierrot.adapters.networks.x.text import weighted_length
from pierrot.domain import Photo, compose
from pierrot.domain.compose import fallback_title, strip_html
from pierrot.errors import ConfigError

# These cases were written for X: compose takes no network's rules as a default, so they pass X's.
MAX_POST_WEIGHT = X.text_limit
MAX_ALT_TEXT = X.alt_limit


def compose_post(subject: Photo, template: str = "{title}", link: bool = False, **options: Any) -> str:
    """compose.compose_post by X's rules."""
    return compose.compose_post(subject, template, link, **{"measure": X.measure, "limit": X.text_limit, **options})


def compose_alt_text(subject: Photo, template: str = "{title}. {description}", **options: Any) -> str:
    """compose.compose_alt_text by X's alt text limit."""
    return compose.compose_alt_text(subject, template, **{"limit": X.alt_limit, **options})


def validate_template(template: str, setting: str) -> None:
    """compose.validate_template by X's rules: its text's, or for an alt template its alt text's."""
    alt = "ALT_TEMPLATE" in setting
    compose.validate_template(template, setting, measure=len if alt else X.measure,
                              limit=X.alt_limit if alt else X.text_limit)

FIXTURES = Path(__file__).parent.parent / "fixtures"
PAGE_URL = "https://www.flickr.com/photos/someone/53912345678/"
LOREM = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore. "
FAMILY = "👨\u200d👩\u200d👧"  # one emoji made of three people joined by zero-width joiners


def photo(**fields: Any) -> Photo:
    return Photo(**({"id": "53912345678", "path_alias": "someone", "owner": "12345678@N00"} | fields))


def fixture_description() -> str:
    page = json.loads((FIXTURES / "flickr-getPhotos-page.json").read_text(encoding="utf-8"))
    return str(page["photos"]["photo"][0]["description"]["_content"])


# --- weighted length ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Harbour at dusk", 15),
        ("夕焼け", 6),  # CJK weighs 2
        ("🌅", 2),
        (FAMILY, 2),  # a ZWJ sequence is one emoji
        ("🇯🇵", 2),
        ("…", 2),  # the ellipsis is outside X's weight-1 ranges
        (PAGE_URL, 23),  # every URL counts as a t.co link
        ("see flickr.com/photos/someone", 4 + 23),  # so does a bare domain
        ("e\u0301", 1),  # counted after NFC
    ],
)
def test_weighted_length_follows_x_rules(text: str, expected: int) -> None:
    assert weighted_length(text) == expected


# --- HTML --------------------------------------------------------------------------------------


def test_flickr_html_description_becomes_plain_text() -> None:
    assert strip_html(fixture_description()) == 'Taken from the "old" pier. More'


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>First paragraph.</p><p>Second one.</p>", "First paragraph. Second one."),
        ("line one<br>line two", "line one line two"),
        ("<b>bold</b>face &amp; <i>it</i>alic", "boldface & italic"),
        ("&lt;b&gt; is a tag", "<b> is a tag"),  # decoded text is not stripped again
        ("1 < 2 and 3 > 2", "1 < 2 and 3 > 2"),
        ("  spaced\t\tout\n\n&nbsp;text  ", "spaced out text"),
    ],
)
def test_strip_html(html: str, expected: str) -> None:
    assert strip_html(html) == expected


# --- post text ---------------------------------------------------------------------------------


def test_default_post_is_the_title() -> None:
    assert compose_post(photo(title="Harbour at dusk", description="Not this")) == "Harbour at dusk"


def test_post_uses_the_cleaned_description() -> None:
    text = compose_post(photo(title="Harbour", description=fixture_description()), "{title}: {description}")
    assert text == 'Harbour: Taken from the "old" pier. More'


def test_long_description_is_shortened_with_an_ellipsis_to_fit() -> None:
    description = (LOREM * 40)[:3000]
    text = compose_post(photo(title="Harbour at dusk", description=description), "{title} {description}")
    assert text.startswith("Harbour at dusk Lorem ipsum dolor sit amet")
    assert text.endswith("…")
    # Fits, without throwing away much more than the last word.
    assert MAX_POST_WEIGHT - 25 <= weighted_length(text) <= MAX_POST_WEIGHT


def test_shortening_prefers_a_word_boundary() -> None:
    text = compose_post(photo(title="Harbour", description=(LOREM * 40)), "{title} {description}")
    kept = text.removeprefix("Harbour ").removesuffix("…")
    assert (LOREM * 40).startswith(kept)
    # The description goes on with a space or punctuation right after what was kept: no word was cut in two.
    assert (LOREM * 40)[len(kept)] in " ,."


def test_cjk_title_is_shortened_by_weight() -> None:
    title = "東京湾の夕焼けと古い桟橋" * 30  # 360 characters, weight 720
    text = compose_post(photo(title=title))
    assert text.endswith("…")
    assert title.startswith(text.removesuffix("…"))
    assert MAX_POST_WEIGHT - 2 <= weighted_length(text) <= MAX_POST_WEIGHT
    assert len(text) < 145  # far fewer characters than 280: each weighs 2


def test_emoji_sequences_are_never_split() -> None:
    text = compose_post(photo(title="x" + FAMILY * 300))
    assert weighted_length(text) <= MAX_POST_WEIGHT
    body = text.removeprefix("x").removesuffix("…")
    assert body == FAMILY * (len(body) // len(FAMILY))


def test_flags_and_accents_are_never_split() -> None:
    flags = compose_post(photo(title="x" + "🇯🇵" * 300)).removeprefix("x").removesuffix("…")
    assert flags == "🇯🇵" * (len(flags) // 2)
    accents = compose_post(photo(title="e\u0301" * 400))
    assert unicodedata.is_normalized("NFC", accents)
    assert set(accents.removesuffix("…")) == {"é"}


def test_indic_conjuncts_are_never_split() -> None:
    word = "नमस्ते"  # न म स ् त े: the virama (्) joins स and त into one conjunct, the vowel sign (े) belongs to it
    for padding in range(8):
        text = compose_post(photo(title="a" * padding + word * 100))
        kept = text.removesuffix("…")
        original = "a" * padding + word * 100
        assert original.startswith(kept) and len(kept) < len(original)
        assert not unicodedata.combining(original[len(kept)]), f"cut before a vowel sign or virama: {kept[-4:]!r}"
        assert unicodedata.category(original[len(kept)]) != "Mc"
        assert unicodedata.combining(kept[-1]) != 9, f"cut after a virama: {kept[-4:]!r}"


def test_shortened_text_does_not_end_in_punctuation_before_the_ellipsis() -> None:
    for padding in range(12):
        description = "x" * padding + " Harbour, pier; boats: dusk. " * 20
        text = compose_post(photo(title="Pier", description=description), "{title} {description}")
        assert text.endswith("…")
        assert text[-2].isalpha(), text[-8:]


def test_url_is_never_cut_even_with_a_huge_title() -> None:
    text = compose_post(photo(title="Harbour " * 100), "{title} {url}")
    assert text.endswith(" " + PAGE_URL)
    assert "Harbour …" not in text and "Harbour…" in text
    assert weighted_length(text) <= MAX_POST_WEIGHT


def test_url_is_never_cut_with_a_huge_cjk_title_and_link() -> None:
    text = compose_post(photo(title="夕焼け🌅" * 200), link=True)
    title, url = text.split("\n")
    assert url == PAGE_URL
    assert title.endswith("…")
    assert MAX_POST_WEIGHT - 4 <= weighted_length(text) <= MAX_POST_WEIGHT


def test_a_url_inside_the_description_is_kept_whole_or_left_out() -> None:
    link = "https://www.harbour-photography-society-of-somewhere.example.org/prints/2024"
    kept = 0
    for padding in range(150, 262, 2):
        description = "p" * padding + " Prints of this photo are for sale at " + link + " until the end of the summer"
        text = compose_post(photo(title="Pier", description=description), "{title} {description}")
        assert weighted_length(text) <= MAX_POST_WEIGHT
        assert link in text or "https:" not in text, text
        kept += link in text
    assert kept > 10  # the loop did cover texts that end just after the link


def test_link_switch_appends_the_page_on_its_own_line() -> None:
    subject = photo(title="Harbour at dusk")
    assert compose_post(subject, link=True) == "Harbour at dusk\n" + PAGE_URL
    assert compose_post(subject, link=False) == "Harbour at dusk"
    assert PAGE_URL not in compose_post(subject, "{title} {tags}", link=False)


def test_template_with_url_gets_it_once_whatever_the_link_switch() -> None:
    subject = photo(title="Harbour at dusk")
    assert compose_post(subject, "{url} {title}", link=False) == PAGE_URL + " Harbour at dusk"
    assert compose_post(subject, "{url} {title}", link=True) == PAGE_URL + " Harbour at dusk"


def test_empty_title_falls_back_to_the_date_taken() -> None:
    subject = photo(title="", date_taken="2024-06-09 19:12:44")
    assert fallback_title(subject) == "Photo taken 9 June 2024"
    assert compose_post(subject) == "Photo taken 9 June 2024"


@pytest.mark.parametrize(
    "subject",
    [
        photo(title="   "),
        photo(title="", date_taken="2024-06-07 10:00:00", date_taken_unknown=True),
        photo(title="<b></b>"),
    ],
)
def test_title_without_text_or_date_falls_back_to_untitled(subject: Photo) -> None:
    assert compose_post(subject) == "Untitled photo"


def test_template_that_renders_empty_falls_back_to_the_title() -> None:
    assert compose_post(photo(title="Harbour", description=""), "{description}") == "Harbour"
    assert compose_post(photo(title="", description="<p> </p>"), "{description}") == "Untitled photo"
    assert compose_post(photo(title="Harbour"), "{description}\n{url}") == "Harbour\n" + PAGE_URL


def test_all_placeholders() -> None:
    subject = photo(
        title="Harbour at dusk",
        description="From the pier.",
        tags=("harbour", "dusk"),
        date_taken="2024-06-09 19:12:44",
    )
    text = compose_post(subject, "{title} ({year}) {date_taken}: {description} {tags} {url}")
    assert text == f"Harbour at dusk (2024) 2024-06-09: From the pier. #harbour #dusk {PAGE_URL}"


def test_unknown_date_leaves_no_dangling_separator() -> None:
    subject = photo(title="Harbour", date_taken="2024-06-09 00:00:00", date_taken_unknown=True)
    assert compose_post(subject, "{title} ({year})") == "Harbour"
    assert compose_post(subject, "{title} | {date_taken} | {tags}") == "Harbour"


def test_tags_become_hashtags() -> None:
    subject = photo(title="Harbour", tags=("harbour", "dusk", "Dusk", "uploaded:by=flickrmobile", "2024", "夕焼け"))
    assert compose_post(subject, "{title} {tags}") == "Harbour #harbour #dusk #夕焼け"


def test_tags_give_way_whole_after_the_description() -> None:
    tags = tuple(f"harbourtag{i}" for i in range(40))
    subject = photo(title="Harbour", description="From the pier. " * 10, tags=tags)
    text = compose_post(subject, "{title} {tags} {description}")
    assert weighted_length(text) <= MAX_POST_WEIGHT
    assert "From the pier" not in text  # the description went first
    last = text.split()[-1]
    assert last.startswith("#") and last[1:] in tags  # and no hashtag was cut
    assert text.startswith("Harbour #harbourtag0 #harbourtag1 ")


def test_whitespace_collapsed_but_template_lines_kept() -> None:
    subject = photo(title="  Harbour \t at   dusk ", description="From\n\nthe   pier")
    assert compose_post(subject, "{title}\n\n\n\n{description}  ") == "Harbour at dusk\n\nFrom the pier"


def test_characters_x_refuses_are_removed() -> None:
    assert compose_post(photo(title="Harbour\ufeff at\x00 dusk\ud83c")) == "Harbour at dusk"
    assert compose_post(photo(title="Harbour"), "\ufeff{title}\x07 {year}") == "Harbour"


def test_fixed_text_too_long_for_a_post_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="PIERROT_PUBLISH_TEMPLATE"):
        compose_post(photo(title="Harbour"), "x" * 281 + " {title}")
    with pytest.raises(ConfigError, match="PIERROT_PUBLISH_LINK"):
        compose_post(photo(title="Harbour"), "x" * 270 + " {title}", link=True)


# --- templates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{titel}", "unknown placeholder {titel}"),
        ("{0}", "unknown placeholder {0}"),
        ("{}", "unknown placeholder {}"),
        ("{title.upper}", "unknown placeholder"),
        ("{title", "not a valid template"),
        ("Harbour } {title}", "not a valid template"),
        ("{title!r}", "no conversion or format spec"),
        ("{title:>40}", "no conversion or format spec"),
        ("x" * 300, "leaves no room"),
    ],
)
def test_bad_post_template_is_a_config_error(template: str, problem: str) -> None:
    with pytest.raises(ConfigError, match="PIERROT_PUBLISH_TEMPLATE") as caught:
        validate_template(template, "PIERROT_PUBLISH_TEMPLATE")
    assert problem in str(caught.value)
    with pytest.raises(ConfigError, match="PIERROT_PUBLISH_TEMPLATE"):
        compose_post(photo(title="Harbour"), template)


def test_bad_alt_template_names_its_own_setting() -> None:
    with pytest.raises(ConfigError, match=r"PIERROT_PUBLISH_ALT_TEMPLATE.*unknown placeholder \{desc\}"):
        compose_alt_text(photo(title="Harbour"), "{title}. {desc}")
    with pytest.raises(ConfigError, match="PIERROT_PUBLISH_ALT_TEMPLATE"):
        validate_template("{title", "PIERROT_PUBLISH_ALT_TEMPLATE")


@pytest.mark.parametrize(
    "template",
    ["{title}", "{title}. {description}", "{{{title}}} {url}", "{date_taken} {year} {tags}", "x" * 250 + " {url}"],
)
def test_good_templates_pass(template: str) -> None:
    validate_template(template, "PIERROT_PUBLISH_TEMPLATE")


def test_literal_braces() -> None:
    assert compose_post(photo(title="Harbour"), "{{{title}}}") == "{Harbour}"


# --- alt text ----------------------------------------------------------------------------------


def test_alt_text_is_title_and_cleaned_description() -> None:
    subject = photo(title="Harbour at dusk", description=fixture_description())
    assert compose_alt_text(subject) == 'Harbour at dusk. Taken from the "old" pier. More'


def test_alt_text_without_description_has_no_dangling_separator() -> None:
    assert compose_alt_text(photo(title="Harbour at dusk")) == "Harbour at dusk"
    assert compose_alt_text(photo(title="Harbour at dusk.")) == "Harbour at dusk."


def test_alt_text_does_not_double_the_punctuation() -> None:
    assert compose_alt_text(photo(title="Is this the pier?", description="Yes.")) == "Is this the pier? Yes."


def test_alt_text_title_falls_back() -> None:
    assert compose_alt_text(photo(title="", description="From the pier.")) == "Untitled photo. From the pier."
    assert compose_alt_text(photo(title="", date_taken="2024-06-09 19:12:44")) == "Photo taken 9 June 2024"
    assert compose_alt_text(photo(title=""), "{description}") == "Untitled photo"


def test_alt_text_is_capped_at_1000_characters() -> None:
    text = compose_alt_text(photo(title="Harbour", description=LOREM * 100))
    assert text.startswith("Harbour. Lorem ipsum")
    assert text.endswith("…")
    # Characters, not weights: CJK and URLs count one per character here.
    assert MAX_ALT_TEXT - 25 <= len(text) <= MAX_ALT_TEXT


@pytest.mark.parametrize("padding", range(5))
def test_alt_text_never_splits_emoji_sequences(padding: int) -> None:
    # Alt text counts code points, so a cut could fall anywhere inside a five-code-point family.
    kept = compose_alt_text(photo(title="x" * padding + FAMILY * 250)).removeprefix("x" * padding).removesuffix("…")
    assert kept == FAMILY * (len(kept) // len(FAMILY))
    assert len(kept) > MAX_ALT_TEXT - 10
    flags = compose_alt_text(photo(title="x" * padding + "🇯🇵" * 600)).removeprefix("x" * padding).removesuffix("…")
    assert flags == "🇯🇵" * (len(flags) // 2)


def test_alt_text_counts_characters_not_weights() -> None:
    title = "夕焼け" * 300  # 900 characters, weight 1800
    assert compose_alt_text(photo(title=title)) == title


def test_alt_text_fixed_text_too_long_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"PIERROT_PUBLISH_ALT_TEMPLATE.*leaves no room"):
        compose_alt_text(photo(title="Harbour"), "x" * 1001 + "{title}")


def test_bidi_controls_are_dropped_from_the_post_and_the_alt_text() -> None:
    """U+202E reverses what follows on screen: a title could make a post read as something else."""
    photo = Photo("1", title="evil\u202etxt.exe", description="a\u2066b\u2069c \u202adone\u202c")

    assert compose_post(photo, "{title}") == "eviltxt.exe"
    assert compose_alt_text(photo) == "eviltxt.exe. abc done"

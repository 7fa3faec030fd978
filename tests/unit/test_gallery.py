"""pierrot gallery: what the page shows, read back from the HTML by a parser, as a browser would see it."""

from __future__ import annotations

import datetime as dt
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from pierrot import service
from pierrot.domain import FAILED, PENDING, PUBLISHED, UNKNOWN, Photo, Size
from pierrot.entrypoints import gallery_html
from pierrot.service.gallery import thumbnail
from tests.fakes import T0, at, cli_run, entry, isolated_settings, make_photo, make_store

NETWORKS = ("x", "bluesky", "mastodon")
HOSTILE = '<script>alert("x")</script> & "quoted" \u202eevil\u202c'


class Page(HTMLParser):
    """Every img and a of a page, with their attributes, and every script or external resource it asks for."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[dict[str, str | None]] = []
        self.links: list[dict[str, str | None]] = []
        self.tags: list[str] = []
        self.handlers: list[str] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.handlers.extend(name for name, _ in attrs if name.startswith("on"))
        if tag == "img":
            self.images.append(dict(attrs))
        if tag == "a":
            self.links.append(dict(attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def all_text(self) -> str:
        return "".join(self.text)


def flickr_photo(n: int, **fields: Any) -> Photo:
    """A photo whose sizes have Flickr's real URL shapes (the photo's secret, then the size's suffix)."""
    pid = str(50_000_000_000 + n)  # as make_photo numbers them
    sizes = (
        Size("k", f"https://live.staticflickr.com/65535/{pid}_0a1b2c3d4e_k.jpg", 2048, 1365),
        Size("l", f"https://live.staticflickr.com/65535/{pid}_9f8e7d6c5b_b.jpg", 1024, 683),
        Size("z", f"https://live.staticflickr.com/65535/{pid}_9f8e7d6c5b_z.jpg", 640, 427),
    )
    return make_photo(n, sizes=sizes, **fields)


def page_of(store: Any, **options: Any) -> tuple[service.Gallery, Page, str]:
    model = service.gallery(store, options.pop("networks", NETWORKS), now=options.pop("now", at(86400)), **options)
    html = gallery_html.render(model, {"x": "X", "bluesky": "Bluesky", "mastodon": "Mastodon"})
    return model, Page(html), html


def test_the_page_lists_posted_photos_newest_first_with_one_link_per_network_and_its_state() -> None:
    one, two, three, left = (flickr_photo(n) for n in range(1, 5))
    store = make_store([one, two, three, left], [
        entry(one, "x", PUBLISHED, seconds=10),
        entry(one, "bluesky", PUBLISHED, seconds=11),
        entry(two, "x", FAILED, seconds=100, reason="refused: 403"),
        entry(two, "x", UNKNOWN, seconds=200, reason="no answer within 30 s"),
        entry(two, "mastodon", PUBLISHED, seconds=201),
        entry(three, "x", FAILED, seconds=300, reason="refused"),  # failed everywhere: not posted
    ])
    model, page, _ = page_of(store)

    assert [item.photo_id for item in model.items] == [two.id, one.id]
    assert (model.photos, model.posted, model.left) == (4, 2, 2)
    assert model.networks["x"].unknown == 1 and model.networks["mastodon"].published == 1
    states = {(item.photo_id, link.network): link.state for item in model.items for link in item.links}
    assert states == {(two.id, "x"): UNKNOWN, (two.id, "mastodon"): PUBLISHED,
                      (one.id, "x"): PUBLISHED, (one.id, "bluesky"): PUBLISHED}
    urls = {f"https://example.com/{n}/{p.id}" for p, n in [(one, "x"), (one, "bluesky"), (two, "mastodon")]}
    assert {a["href"] for a in page.links} == urls
    assert len(page.links) == 3  # the unknown post has no URL: no link, but the command that settles it
    assert f"pierrot resolve {two.id} --network x" in page.all_text
    assert "unknown: check and resolve" in page.all_text
    assert "no answer within 30 s" in page.all_text


def test_every_thumbnail_is_flickrs_small_size_lazy_with_its_size_and_the_composed_alt_text() -> None:
    photo = flickr_photo(1, title="Harbour", description="From the <b>north</b> pier.")
    store = make_store([photo], [entry(photo, "x", PUBLISHED)])
    _, page, _ = page_of(store, alt_template="{title}: {description}")

    [image] = page.images
    assert image["src"] == f"https://live.staticflickr.com/65535/{photo.id}_9f8e7d6c5b_n.jpg"
    assert (image["width"], image["height"], image["loading"]) == ("320", "214", "lazy")
    assert image["alt"] == "Harbour: From the north pier."


def test_a_thumbnail_falls_back_to_the_smallest_kept_size_and_a_photo_gone_from_the_catalogue_has_none() -> None:
    odd = make_photo(1, sizes=(Size("c", "https://example.org/c.jpg", 800, 600),
                               Size("z", "https://example.org/z.jpg", 640, 480)))
    assert thumbnail(odd) is not None and thumbnail(odd).url == "https://example.org/z.jpg"  # type: ignore[union-attr]
    assert thumbnail(make_photo(2, sizes=(Size("z", "javascript:alert(1)", 640, 480),))) is None

    gone = flickr_photo(9)
    store = make_store([flickr_photo(1)], [entry(gone, "x", PUBLISHED)])
    model, page, _ = page_of(store)
    assert model.items[0].thumbnail is None and page.images == []
    assert "no longer on Flickr" in page.all_text


@pytest.mark.parametrize("title", [HOSTILE, "<img src=x onerror=alert(1)>", "</li></ul><a href='//evil'>x</a>", ""])
def test_a_title_is_never_markup(title: str) -> None:
    photo = flickr_photo(1, title=title, description=title)
    store = make_store([photo], [entry(photo, "x", PUBLISHED, reason=title), entry(photo, "bluesky", UNKNOWN,
                                                                                  reason=title)])
    _, page, html = page_of(store)

    assert "script" not in page.tags and page.handlers == [] and len(page.images) == 1
    assert [a["href"] for a in page.links] == [f"https://example.com/x/{photo.id}"]
    assert page.images[0]["alt"]  # never empty: "Untitled photo" at least
    if title:
        assert title in page.all_text  # shown as the text it is
    assert "<script" not in html and html.count("<a ") == 1


def test_only_http_urls_become_links() -> None:
    photo = flickr_photo(1)
    store = make_store([photo], [
        entry(photo, "x", PUBLISHED, post_url="javascript:alert(1)"),
        entry(photo, "bluesky", PUBLISHED, post_url='https://bsky.app/p" onmouseover="x'),
        entry(photo, "mastodon", PUBLISHED, post_url="http://pixelfed.example/p/1"),
    ])
    _, page, _ = page_of(store)
    assert [a["href"] for a in page.links] == ["http://pixelfed.example/p/1"]
    assert "javascript:alert(1)" in page.all_text  # shown, as text


def test_a_post_on_a_network_no_longer_configured_stays_on_the_page() -> None:
    photo = flickr_photo(1)
    model, page, _ = page_of(make_store([photo], [entry(photo, "mastodon", PUBLISHED)]), networks=("x",))
    assert [link.network for link in model.items[0].links] == ["mastodon"]
    assert [a["href"] for a in page.links] == [f"https://example.com/mastodon/{photo.id}"]


def test_a_pending_post_is_shown_and_a_page_of_many_posts_keeps_the_newest() -> None:
    many = [flickr_photo(n) for n in range(1, 8)]
    entries = [entry(p, "x", PUBLISHED, seconds=n * 10) for n, p in enumerate(many)]
    entries.append(entry(many[0], "bluesky", PENDING, seconds=1000))
    model, page, _ = page_of(make_store(many, entries), limit=3)
    assert [i.photo_id for i in model.items] == [many[0].id, many[6].id, many[5].id]
    assert model.older == 4
    assert "and 4 older posts" in page.all_text


def test_the_next_anniversaries_when_prefer_is_anniversary() -> None:
    today = T0 + dt.timedelta(days=1)  # 2 June 2025
    posted = flickr_photo(1, date_taken="2020-06-02 10:00:00")
    soon = flickr_photo(2, date_taken="2019-06-05 10:00:00", title="Soon")
    today_one = flickr_photo(3, date_taken="2010-06-02 10:00:00", title="Today")
    vague = flickr_photo(4, date_taken="2018-06-03 00:00:00", date_taken_granularity=4)
    leap = flickr_photo(5, date_taken="2016-02-29 08:00:00", title="Leap")
    store = make_store([posted, soon, today_one, vague, leap], [entry(posted, "x", PUBLISHED)])

    model, page, _ = page_of(store, prefer="anniversary", now=lambda: today)
    assert [(a.photo_id, a.date.isoformat(), a.years) for a in model.anniversaries or []] == [
        (today_one.id, "2025-06-02", 15), (soon.id, "2025-06-05", 6), (leap.id, "2026-02-28", 10)]
    assert "The next anniversaries" in page.all_text
    assert page_of(store)[0].anniversaries is None


def test_counts_last_sync_and_last_publish_are_at_the_top() -> None:
    photo = flickr_photo(1)
    store = make_store([photo, flickr_photo(2)], [entry(photo, "x", PUBLISHED, seconds=60)])
    store.put("pierrot-meta.json", {"version": 1, "total": 2, "last_sync": "2025-05-31T04:00:00Z"})
    model, page, _ = page_of(store, networks=("x",))
    assert (model.last_sync, model.last_publish) == ("2025-05-31T04:00:00Z", "2025-06-01T12:01:00Z")
    assert "last sync 2025-05-31T04:00:00Z" in page.all_text
    assert "last publish 2025-06-01T12:01:00Z" in page.all_text
    assert store.reads.count("pierrot-db.json") == 1  # each document read once


def test_a_page_of_ten_thousand_posts_stays_light(capsys: pytest.CaptureFixture[str]) -> None:
    many = [flickr_photo(n) for n in range(10_000)]
    store = make_store(many, [entry(p, "x", PUBLISHED, seconds=n) for n, p in enumerate(many)])
    started = time.perf_counter()
    model = service.gallery(store, ("x",), now=at(86400 * 30))
    html = gallery_html.render(model).encode()
    seconds = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n10,000 posts: {len(html):,} bytes in {seconds:.2f} s")
    assert len(model.items) == 500 and model.older == 9_500
    assert len(html) < 600_000
    assert Page(html.decode()).images[0]["loading"] == "lazy"


def test_the_command_writes_the_page_and_refuses_upload_on_a_folder(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    from pierrot.adapters.stores.local import LocalStore
    from pierrot.domain import CATALOGUE_DOCUMENT, LOG_DOCUMENT, Catalogue

    folder = tmp_path / "store"
    photo = flickr_photo(1, title="Boats & <ships>")
    LocalStore(folder).write(CATALOGUE_DOCUMENT, Catalogue("12345678@N00", [photo]).to_doc(), None)
    LocalStore(folder).write(LOG_DOCUMENT, {"version": 1, "entries": [entry(photo, "x", PUBLISHED)]}, None)
    isolated_settings(monkeypatch, tmp_path, {"PIERROT_STORE": str(folder)})
    monkeypatch.chdir(tmp_path)

    result = cli_run("gallery")
    written = tmp_path / "pierrot-gallery.html"
    assert result.exit_code == 0 and result.output.strip() == str(written)
    assert oct(written.stat().st_mode & 0o777) == "0o644"
    assert "Boats &amp; &lt;ships&gt;" in written.read_text()

    nowhere = cli_run("gallery", "--output", str(tmp_path / "g" / "page.html"))
    assert nowhere.exit_code == 1 and "cannot write" in nowhere.output and "Traceback" not in nowhere.output
    refused = cli_run("gallery", "--upload")
    assert refused.exit_code == 2 and "--upload needs an S3 store" in refused.output

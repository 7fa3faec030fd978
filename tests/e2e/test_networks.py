"""One photo to X, Bluesky and Mastodon at once: the installed ``pierrot`` against the three network fakes."""

from __future__ import annotations

import unicodedata
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest
import regex  # type: ignore[import-untyped,unused-ignore]

from pierrot.adapters.images.exif import has_location
from pierrot.adapters.networks.x.text import weighted_length
from tests.e2e.conftest import Pierrot, assert_never_posted_twice, wait_until
from tests.e2e.fake_bluesky import BLOB_LIMIT, BlueskyFake, BlueskyFault
from tests.e2e.fake_mastodon import MastodonFake, MastodonFault, mastodon_count
from tests.e2e.servers import GPS_COORDINATES, FakeServers, FlickrFake, ImageHost, XFake, XFault, gps_exif, photo_tag

pytestmark = pytest.mark.e2e

NETWORKS = ("x", "bluesky", "mastodon")
DISPLAY = {"x": "X", "bluesky": "Bluesky", "mastodon": "Mastodon"}
ALL = tuple(arg for name in NETWORKS for arg in ("--network", name))
# How long before the next run, in seconds: past the lease of a dead run's claim (900 s) and the wait before an
# interrupted post is looked up (its request may still be in flight), within Mastodon's hour of Idempotency-Key.
LATER = 20 * 60
CREDENTIALS = (
    "PIERROT_X_API_KEY",
    "PIERROT_X_API_SECRET",
    "PIERROT_X_ACCESS_TOKEN",
    "PIERROT_X_ACCESS_TOKEN_SECRET",
    "PIERROT_BLUESKY_HANDLE",
    "PIERROT_BLUESKY_APP_PASSWORD",
    "PIERROT_MASTODON_ACCESS_TOKEN",
)


# ==== what each fake holds ========================================================================


def posted(fakes: FakeServers) -> dict[str, list[str | None]]:
    """The photo ids each network made a post of (published, whatever it answered), in order."""
    return {
        "x": [pid for post in fakes.x.posts for pid in post.photo_ids],
        "bluesky": [pid for post in fakes.bluesky.posts for pid in post.photo_ids],
        "mastodon": [pid for status in fakes.mastodon.statuses for pid in status.photo_ids],
    }


def post_urls(fakes: FakeServers) -> dict[str, dict[str, str]]:
    """Each network's posts as the URL a user opens, by photo id."""
    urls: dict[str, dict[str, str]] = {name: {} for name in NETWORKS}
    for post in fakes.x.posts:
        urls["x"][str(post.photo_ids[0])] = f"https://x.com/i/web/status/{post.id}"
    for record in fakes.bluesky.posts:
        urls["bluesky"][str(record.photo_ids[0])] = (
            f"https://bsky.app/profile/{fakes.bluesky.handle}/post/{record.rkey}"
        )
    mastodon = fakes.mastodon
    for status in mastodon.statuses:
        urls["mastodon"][str(status.photo_ids[0])] = f"https://{mastodon.domain}/@{mastodon.username}/{status.id}"
    return urls


def assert_never_posted_twice_anywhere(fakes: FakeServers, entries: list[dict[str, Any]]) -> None:
    for network, ids in posted(fakes).items():
        assert None not in ids, f"a post on {network} carried an image the image host did not serve"
        assert len(ids) == len(set(ids)), f"a photo was posted twice on {network}: {ids}"
    assert_never_posted_twice(fakes.x, entries)


def latest(entries: list[dict[str, Any]], network: str, photo_id: str) -> dict[str, Any]:
    """The latest log entry of a photo on a network."""
    found = [e for e in entries if e["network"] == network and e["photo_id"] == photo_id]
    assert found, f"no {network} entry for photo {photo_id}: {entries}"
    return found[-1]


def error_lines(stderr: str) -> dict[str, str]:
    """The ``pierrot: error: NETWORK: ...`` lines of a several-network run, by network; nothing else on stderr."""
    lines = stderr.splitlines()
    by_network = {}
    for line in lines:
        display = line.removeprefix("pierrot: error: ").split(":", 1)[0]
        assert line.startswith("pierrot: error: ") and display in DISPLAY.values(), f"an unexpected line: {line}"
        by_network[next(n for n, d in DISPLAY.items() if d == display)] = line
    assert len(by_network) == len(lines), f"a network failed with more than one line:\n{stderr}"
    return by_network


def graphemes(text: str) -> list[str]:
    return list(regex.findall(r"\X", text))


def dry_run_blocks(stdout: str) -> dict[str, dict[str, str]]:
    """A several-network dry run's ``Network:`` blocks, each as its ``  key:  value`` lines."""
    blocks: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in stdout.splitlines():
        if line.endswith(":") and line[:-1] in DISPLAY.values():
            current = blocks.setdefault(line[:-1], {})
        elif current is not None and line.startswith("  ") and not line.startswith("    ") and ":" in line:
            key, value = line.strip().split(":", 1)
            current[key] = value.strip()
        elif not line.startswith("    "):
            current = None
    return blocks


# ==== one photo, three networks ===================================================================


def test_one_photo_goes_to_every_network_with_its_alt_text(
    pierrot: Pierrot, fakes: FakeServers, flickr: FlickrFake
) -> None:
    for photo in flickr.populate(3):
        photo.description = f"About <b>{photo.title}</b> &amp; the sea"
    assert pierrot("sync").returncode == 0

    result = pierrot("publish", *ALL)

    assert result.returncode == 0, result
    assert result.stderr == ""
    (tweet,) = fakes.x.posts
    (record,) = fakes.bluesky.posts
    (status,) = fakes.mastodon.statuses
    (photo_id,) = tweet.photo_ids
    assert record.photo_ids == status.photo_ids == [photo_id], "one photo, the same on every network"
    photo = flickr.photo(str(photo_id))
    assert tweet.text == record.text == status.text == photo.title
    alt = f"{photo.title}. About {photo.title} & the sea"
    (upload,) = fakes.x.uploads.values()
    assert upload.alt_text == alt
    assert record.alts == [alt]
    assert status.descriptions == [alt]
    # Each network got the largest size it takes: Bluesky's 1,000,000 bytes leave it the 1024 px one.
    assert record.blob_sizes == [400_000] and record.blob_sizes[0] <= BLOB_LIMIT
    assert record.record["embed"]["images"][0]["aspectRatio"] == {"width": 1024, "height": 683}
    assert upload.label == "h"
    assert status.visibility == "public"

    urls = post_urls(fakes)
    assert result.stdout.splitlines() == [f"{DISPLAY[n]}: {urls[n][photo.id]}" for n in NETWORKS]
    entries = pierrot.log_entries()
    assert [e["network"] for e in entries] == list(NETWORKS)
    ids = {"x": tweet.id, "bluesky": record.uri, "mastodon": status.id}
    for entry in entries:
        network = entry["network"]
        assert entry["photo_id"] == photo.id and entry["status"] == "published", entry
        assert entry["post_id"] == ids[network] and entry["post_url"] == urls[network][photo.id], entry
    assert entries[1]["key"] == record.rkey, "the Bluesky record key is the one pierrot chose and logged"
    assert fakes.mastodon.calls_to("/api/v1/statuses")[0].idempotency_key == entries[2]["key"]

    history = pierrot("history")
    assert history.returncode == 0, history
    for network in NETWORKS:
        assert urls[network][photo.id] in history.stdout


def test_dry_run_on_every_network_calls_none_and_shows_each_length_against_its_limit(
    pierrot: Pierrot, fakes: FakeServers, flickr: FlickrFake
) -> None:
    flickr.populate(4)
    assert pierrot("sync").returncode == 0
    assert pierrot("publish").returncode == 0  # so the log exists and must stay as it is
    before = pierrot.snapshot()
    fakes.x.calls.clear()
    no_credentials: dict[str, str | None] = dict.fromkeys(CREDENTIALS)

    result = pierrot("publish", "--dry-run", *ALL, env=no_credentials)

    assert result.returncode == 0, result
    assert fakes.x.calls == [] and fakes.bluesky.calls == [] and fakes.mastodon.calls == []
    assert pierrot.snapshot() == before
    assert "dry run: nothing was posted or written" in result.stdout
    blocks = dry_run_blocks(result.stdout)
    assert list(blocks) == ["X", "Bluesky", "Mastodon"], result.stdout
    for display, limit, unit, alt_limit in (
        ("X", 280, "weighted characters", 1000),
        ("Bluesky", 300, "graphemes", 2000),
        ("Mastodon", 500, "characters", 1500),
    ):
        # The text and the alt text are the title, "Photo 00000N": 12 on every network's measure.
        assert blocks[display]["text"] == f"12/{limit} {unit}", result.stdout
        assert blocks[display]["alt text"] == f"12/{alt_limit} characters", result.stdout


# ==== a kill after a network accepted, before its answer ============================================


def _hang_x(fakes: FakeServers) -> Callable[[], object]:
    fakes.x.inject(XFault("accept_then_hang", seconds=30))
    return lambda: fakes.x.posts


def _hang_bluesky(fakes: FakeServers) -> Callable[[], object]:
    fakes.bluesky.inject(BlueskyFault("accept_then_hang", seconds=30), method="com.atproto.repo.putRecord")
    return lambda: fakes.bluesky.posts


def _hang_mastodon(fakes: FakeServers) -> Callable[[], object]:
    fakes.mastodon.inject(MastodonFault("accept_then_hang", seconds=30), path="/api/v1/statuses")
    return lambda: fakes.mastodon.statuses


HANGS = {"x": _hang_x, "bluesky": _hang_bluesky, "mastodon": _hang_mastodon}


def _kill_after_accepted(pierrot: Pierrot, fakes: FakeServers, network: str) -> str:
    """Start a three-network publish, SIGKILL it once ``network`` made the post; the photo's id."""
    fakes.flickr.populate(4)
    assert pierrot("sync").returncode == 0
    accepted = HANGS[network](fakes)
    running = pierrot.start("publish", *ALL)
    wait_until(accepted, what=f"{network} to accept the post")
    pierrot.kill(running)
    claimed = pierrot.log_entries()
    (photo_id,) = {e["photo_id"] for e in claimed}
    before = NETWORKS[: NETWORKS.index(network)]  # posted in order: those before the hung one are done
    assert {e["network"]: e["status"] for e in claimed} == {
        name: "published" if name in before else "pending" for name in NETWORKS
    }
    return photo_id


def _assert_settled(pierrot: Pierrot, fakes: FakeServers, photo_id: str, network: str) -> None:
    """The photo is on each network once; Bluesky and Mastodon logged it published, X unknown if it was X's."""
    entries = pierrot.log_entries()
    assert_never_posted_twice_anywhere(fakes, entries)
    urls = post_urls(fakes)
    for name in ("bluesky", "mastodon"):
        assert posted(fakes)[name].count(photo_id) == 1, posted(fakes)
        entry = latest(entries, name, photo_id)
        assert entry["status"] == "published" and entry["post_url"] == urls[name][photo_id], entry
    x_entry = latest(entries, "x", photo_id)
    if network == "x":
        # X keeps no key to look a post up by: the photo stays unknown there until the user settles it.
        assert x_entry["status"] == "unknown", x_entry
        resolved = pierrot("resolve", photo_id, "--posted", urls["x"][photo_id])
        assert resolved.returncode == 0, resolved
        x_entry = latest(pierrot.log_entries(), "x", photo_id)
    assert x_entry["status"] == "published" and x_entry["post_url"] == urls["x"][photo_id], x_entry
    assert "pending" not in {e["status"] for e in pierrot.log_entries()}


@pytest.mark.parametrize("network", NETWORKS)
def test_sigkill_after_a_network_accepted_is_settled_by_the_next_run(
    pierrot: Pierrot, fakes: FakeServers, network: str
) -> None:
    photo_id = _kill_after_accepted(pierrot, fakes, network)
    pierrot.age_log(LATER)  # the next cron run: the dead run's claims are stale, its requests long over

    result = pierrot("publish", *ALL)

    assert result.returncode == 0, result
    _assert_settled(pierrot, fakes, photo_id, network)
    urls = post_urls(fakes)
    for name in NETWORKS[max(1, NETWORKS.index(network)) :]:  # the ones the dead run left pending
        assert urls[name][photo_id] in result.stdout, f"the user sees where the interrupted post is on {name}"
    # The run also posted one new photo, once, on every network that did not resume the old one.
    new = {pid for ids in posted(fakes).values() for pid in ids} - {photo_id}
    assert len(new) == 1, posted(fakes)


@pytest.mark.parametrize("network", NETWORKS)
def test_sigkill_after_a_network_accepted_never_posts_that_photo_twice(
    pierrot: Pierrot, fakes: FakeServers, network: str
) -> None:
    # Two more runs: whichever settles the interrupted entries, nothing is ever posted twice.
    photo_id = _kill_after_accepted(pierrot, fakes, network)
    results = []
    for _ in range(2):
        pierrot.age_log(LATER)
        results.append(pierrot("publish", *ALL))
        assert results[-1].returncode == 0, results[-1]
        assert_never_posted_twice_anywhere(fakes, pierrot.log_entries())

    _assert_settled(pierrot, fakes, photo_id, network)
    assert len(fakes.x.posts) == 3, "X: the interrupted photo, then one new photo a run"


def _accept_then_503(fakes: FakeServers, network: str) -> None:
    if network == "bluesky":
        fakes.bluesky.inject(BlueskyFault("accept_then_unavailable"), method="com.atproto.repo.putRecord")
    else:
        fakes.mastodon.inject(MastodonFault("accept_then_unavailable"), path="/api/v1/statuses")


@pytest.mark.parametrize(
    ("network", "later"),
    [("bluesky", LATER), ("mastodon", LATER), ("mastodon", 2 * 3600)],
    ids=["bluesky", "mastodon-by-idempotency-key", "mastodon-after-the-key-expired"],
)
def test_accepted_then_503_is_settled_as_published_by_a_later_run(
    pierrot: Pierrot, fakes: FakeServers, network: str, later: int
) -> None:
    fakes.flickr.populate(3)
    assert pierrot("sync").returncode == 0
    _accept_then_503(fakes, network)

    first = pierrot("publish", *ALL)

    assert first.returncode == 1, first
    line = error_lines(first.stderr)[network]
    assert "503" in line and "settles it" in line, line
    (photo_id,) = posted(fakes)[network]
    assert latest(pierrot.log_entries(), network, photo_id)["status"] == "unknown"
    assert [line.split(":")[0] for line in first.stdout.splitlines()] == [DISPLAY[n] for n in NETWORKS if n != network]
    # A run right after (the request may still be in flight) posts another photo, never this one again.
    soon = pierrot("publish", *ALL)
    assert soon.returncode == 0, soon
    assert_never_posted_twice_anywhere(fakes, pierrot.log_entries())
    pierrot.age_log(later)

    result = pierrot("publish", *ALL)

    assert result.returncode == 0, result
    entries = pierrot.log_entries()
    entry = latest(entries, network, photo_id)
    url = post_urls(fakes)[network][photo_id]
    assert entry["status"] == "published" and entry["post_url"] == url, entry
    assert url in result.stdout
    assert_never_posted_twice_anywhere(fakes, entries)
    assert posted(fakes)[network].count(photo_id) == 1


@pytest.mark.parametrize(
    "fault",
    [BlueskyFault("hang_then_drop", seconds=3), BlueskyFault("unavailable")],
    ids=["timeout-then-dropped", "503-before-creating"],
)
def test_a_bluesky_record_never_created_is_posted_again_under_the_same_key(
    pierrot: Pierrot, fakes: FakeServers, bluesky: BlueskyFake, fault: BlueskyFault
) -> None:
    fakes.flickr.populate(3)
    assert pierrot("sync").returncode == 0
    bluesky.inject(fault, method="com.atproto.repo.putRecord")

    first = pierrot("publish", *ALL, env={"PIERROT_HTTP_TIMEOUT": "1"})

    assert first.returncode == 1, first
    assert "bluesky" in error_lines(first.stderr)
    assert bluesky.posts == []
    (claim,) = [e for e in pierrot.log_entries() if e["network"] == "bluesky"]
    assert claim["status"] == "unknown" and claim["key"], claim
    pierrot.age_log(LATER)

    second = pierrot("publish", *ALL)

    assert second.returncode == 0, second
    (record,) = [r for r in bluesky.posts if r.photo_ids == [claim["photo_id"]]]
    assert record.rkey == claim["key"], "posted again under the record key of the first attempt"
    lookups = [c for c in bluesky.calls_to("com.atproto.repo.getRecord") if c.rkey == claim["key"]]
    assert [c.error for c in lookups] == ["RecordNotFound"], "the next run asked first, and found nothing"
    entry = latest(pierrot.log_entries(), "bluesky", claim["photo_id"])
    assert entry["status"] == "published", entry
    assert entry["post_url"] == post_urls(fakes)["bluesky"][claim["photo_id"]]
    assert_never_posted_twice_anywhere(fakes, pierrot.log_entries())


# ==== one network down ============================================================================


@pytest.mark.parametrize(
    "down",
    [("mastodon",), ("bluesky",), ("bluesky", "mastodon")],
    ids=["mastodon-503", "bluesky-login-refused", "both"],
)
def test_a_network_down_leaves_the_others_posting(pierrot: Pierrot, fakes: FakeServers, down: tuple[str, ...]) -> None:
    fakes.flickr.populate(3)
    assert pierrot("sync").returncode == 0
    wrong_password = "e2ew-rong-pass-word"
    env = {}
    if "mastodon" in down:
        fakes.mastodon.inject(MastodonFault("unavailable"), path="/api/v1/statuses")
    if "bluesky" in down:
        env["PIERROT_BLUESKY_APP_PASSWORD"] = wrong_password

    result = pierrot("publish", *ALL, env=env)

    assert result.returncode == 1, result
    failed = error_lines(result.stderr)
    assert sorted(failed) == sorted(down), result.stderr
    if "bluesky" in down:
        assert "login" in failed["bluesky"] and "PIERROT_BLUESKY_APP_PASSWORD" in failed["bluesky"]
        assert fakes.bluesky.calls_to("com.atproto.repo.uploadBlob") == [], "nothing is sent after a failed login"
    if "mastodon" in down:
        assert "503" in failed["mastodon"]
    assert wrong_password not in result.output
    up = [n for n in NETWORKS if n not in down]
    urls = post_urls(fakes)
    (photo_id,) = set(urls["x"])
    assert result.stdout.splitlines() == [f"{DISPLAY[n]}: {urls[n][photo_id]}" for n in up]
    entries = pierrot.log_entries()
    for network in up:
        assert latest(entries, network, photo_id)["status"] == "published"
    assert posted(fakes) == {n: [photo_id] if n in up else [] for n in NETWORKS}


# ==== hard texts within every network's limits =====================================================

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # one grapheme of seven code points
RAINBOW_FLAG = "\U0001f3f3\ufe0f\u200d\U0001f308"
URL = "https://example.org/nuit/tokyo?vue=1"
HEAD = f"{FAMILY} 東京の夜景 Cafe\u0301 de\u0301ja\u0300 vu {URL} #夜景 #photography #café"
FILLER = ["Ünïcödé", FAMILY, "漢字かな交じり", "Zoe\u0308", RAINBOW_FLAG, "naïve", "🇫🇷", "한국어", "ñ"]


def hard_text(length: int, head: str = HEAD) -> str:
    """Exactly ``length`` code points: ``head``, then emoji, CJK and combining accents, never cut inside one."""
    text = head
    for index in range(10_000):
        piece = " " + FILLER[index % len(FILLER)]
        if len(text) + len(piece) > length:
            break
        text += piece
    return text + "x" * (length - len(text))


def assert_cut_cleanly(text: str, whole: str) -> None:
    """``text`` is ``whole`` (NFC) or its start cut between graphemes, with an ellipsis."""
    whole = unicodedata.normalize("NFC", whole)
    if text == whole:
        return
    assert text.endswith("…"), text
    kept = graphemes(text.removesuffix("…"))
    assert kept == graphemes(whole)[: len(kept)], f"cut inside a grapheme: {text!r}"


@pytest.mark.parametrize(
    ("max_characters", "description_limit"), [(500, 1500), (120, 400)], ids=["mastodon-default", "small-instance"]
)
def test_hard_titles_and_descriptions_fit_every_network(
    pierrot: Pierrot, fakes: FakeServers, flickr: FlickrFake, max_characters: int, description_limit: int
) -> None:
    title = hard_text(400)
    assert len(title) == 400
    (photo,) = flickr.add(1, title=title, description=hard_text(3000, head="Prise depuis le pont. " + HEAD))
    fakes.mastodon.max_characters = max_characters
    fakes.mastodon.description_limit = description_limit
    assert pierrot("sync").returncode == 0

    result = pierrot("publish", *ALL)

    assert result.returncode == 0, result
    (tweet,) = fakes.x.posts
    (record,) = fakes.bluesky.posts
    (status,) = fakes.mastodon.statuses
    assert tweet.photo_ids == record.photo_ids == status.photo_ids == [photo.id]

    assert weighted_length(tweet.text) <= 280
    assert_cut_cleanly(tweet.text, title)

    text = record.text
    assert len(graphemes(text)) <= 300 and len(text.encode()) <= 3000
    assert_cut_cleanly(text, title)
    data = text.encode()
    features = []
    for facet in record.facets:
        (feature,) = facet["features"]
        covered = data[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode()
        if feature["$type"] == "app.bsky.richtext.facet#link":
            assert covered == feature["uri"], facet
        else:
            assert feature["$type"] == "app.bsky.richtext.facet#tag" and covered == "#" + feature["tag"], facet
        features.append(covered)
    assert features[:4] == [URL, "#夜景", "#photography", "#café"], features

    assert mastodon_count(status.text) <= max_characters
    assert_cut_cleanly(status.text, title)
    if max_characters == 500:
        assert status.text == unicodedata.normalize("NFC", title), "it fits whole: a URL counts 23"

    (upload,) = fakes.x.uploads.values()
    for alt, limit in ((upload.alt_text, 1000), (record.alts[0], 2000), (status.descriptions[0], description_limit)):
        assert alt is not None and 0 < len(alt) <= limit, (len(alt or ""), limit)
        assert alt.startswith(unicodedata.normalize("NFC", title)[:100])
        kept = graphemes(alt.rstrip("…."))
        assert kept == graphemes(unicodedata.normalize("NFC", f"{title}. {photo.description}"))[: len(kept)]


def test_a_bluesky_text_heavy_in_bytes_is_cut_to_3000_bytes(pierrot: Pierrot, fakes: FakeServers) -> None:
    # 300 graphemes would fit, but each family is 25 bytes of UTF-8 and each accented letter 41: over 3000.
    zalgo = "e" + "\u0301\u0302\u0303\u0304\u0306\u0307\u0308\u030a\u030b\u030c" * 2
    heavy = " ".join([FAMILY, zalgo] * 200)
    (photo,) = fakes.flickr.add(1, title="Heavy", description=heavy)
    assert pierrot("sync").returncode == 0

    result = pierrot("publish", "--network", "bluesky", env={"PIERROT_BLUESKY_TEMPLATE": "{description}"})

    assert result.returncode == 0, result
    (record,) = fakes.bluesky.posts
    assert record.photo_ids == [photo.id]
    assert len(record.text.encode()) <= 3000 and len(graphemes(record.text)) <= 300
    assert len(record.text.encode()) > 2900, "cut by bytes, not far short of them"
    assert_cut_cleanly(record.text, heavy)


# ==== no location leaves the machine ==============================================================


@pytest.mark.parametrize("keep", [False, True], ids=["stripped", "kept-on-purpose"])
def test_gps_is_gone_from_every_uploaded_image(
    pierrot: Pierrot, fakes: FakeServers, images: ImageHost, keep: bool
) -> None:
    fakes.flickr.populate(2)
    images.exif = gps_exif()  # every size Flickr serves is a phone's JPEG, with where it was taken
    assert pierrot("sync").returncode == 0
    env = {"PIERROT_PUBLISH_KEEP_LOCATION": "true"} if keep else {}

    result = pierrot("publish", *ALL, env=env)

    assert result.returncode == 0, result
    for network in NETWORKS:
        (image,) = fakes.uploaded(network)
        assert photo_tag(image) is not None, f"{network} received something else than the served image"
        assert has_location(image) is keep, f"{network}: location {'lost' if keep else 'left in'}"
        for coordinate in GPS_COORDINATES:
            assert (coordinate in image) is keep, f"{network}: the coordinate bytes are {'gone' if keep else 'there'}"


def test_a_dry_run_keeps_no_location_in_the_saved_image(
    pierrot: Pierrot, fakes: FakeServers, images: ImageHost
) -> None:
    fakes.flickr.populate(1)
    images.exif = gps_exif()
    assert pierrot("sync").returncode == 0
    output = pierrot.home / "kept"

    result = pierrot("publish", "--dry-run", *ALL, "--output", str(output))

    assert result.returncode == 0, result
    (kept,) = output.iterdir()
    data = kept.read_bytes()
    assert photo_tag(data) is not None and not has_location(data)
    assert not any(coordinate in data for coordinate in GPS_COORDINATES)


# ==== secrets =====================================================================================


def test_verbose_runs_on_every_network_never_show_a_secret_or_a_token(
    pierrot: Pierrot, fakes: FakeServers, bluesky: BlueskyFake, mastodon: MastodonFake, x: XFake
) -> None:
    fakes.flickr.populate(3)
    assert pierrot("sync").returncode == 0
    # An expired access token makes pierrot renew its session; error answers are shown with -v.
    bluesky.inject(BlueskyFault("expired_token"), method="com.atproto.repo.uploadBlob")
    mastodon.inject(MastodonFault("rate_limited"), path="/api/v1/statuses")

    results = [
        pierrot("-v", "publish", *ALL),
        pierrot("-v", "publish", *ALL),
        pierrot("-v", "check", env={"PIERROT_PUBLISH_NETWORKS": "x,bluesky,mastodon"}),
    ]

    assert [r.returncode for r in results] == [1, 0, 0], results
    assert list(error_lines(_errors_only(results[0].stderr))) == ["mastodon"]
    assert [c.auth for c in bluesky.calls_to("com.atproto.server.refreshSession")] == ["refresh"]
    secrets = {*fakes.secrets.values(), *bluesky.secrets(), mastodon.access_token}
    forms = {form for s in secrets for form in (s, urllib.parse.quote(s, safe=""), urllib.parse.quote_plus(s))}
    for result in results:
        for secret in forms:
            assert secret not in result.output, f"a secret appeared in the output of {result.args}"


def _errors_only(stderr: str) -> str:
    return "\n".join(line for line in stderr.splitlines() if line.startswith("pierrot: error: "))

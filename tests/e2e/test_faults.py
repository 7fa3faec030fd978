"""Crashes and faults: what a user sees when the process dies, a service misbehaves or a document is broken."""

from __future__ import annotations

import datetime as dt
import time
import urllib.parse
from collections.abc import Callable

import pytest

from tests.e2e.conftest import (
    CATALOGUE,
    LOG,
    META,
    Bucket,
    Pierrot,
    assert_never_posted_twice,
    latest_status,
    wait_until,
)
from tests.e2e.servers import FakeServers, FlickrFake, FlickrFault, S3Fake, XFake, XFault

pytestmark = pytest.mark.e2e

WRONG_SECRET = "fedcba9876543210"
LEASE = {"PIERROT_PUBLISH_LEASE_SECONDS": "1"}


def one_error_line(text: str) -> str:
    """The single ``pierrot: error:`` line of a failed run (no other output)."""
    lines = text.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pierrot: error: "), text
    return lines[0]


# ==== SIGKILL at each step of a publish =========================================================


def _kill_during_download(pierrot: Pierrot, fakes: FakeServers) -> None:
    fakes.images.stall(30, label="h")  # the 2048 px size is refused by its length, unread
    proc = pierrot.start("publish", env=LEASE)
    wait_until(lambda: fakes.images.requested("h"), what="the download to start")
    time.sleep(0.1)  # well inside the stalled body
    pierrot.kill(proc)


def _kill_after_upload(pierrot: Pierrot, fakes: FakeServers) -> None:
    fakes.x.inject(XFault("delay", seconds=30), path="/2/media/metadata")
    proc = pierrot.start("publish", env=LEASE)
    wait_until(lambda: fakes.x.calls_to("/2/media/metadata"), what="the alt text call")
    pierrot.kill(proc)


def _kill_before_x_answers(pierrot: Pierrot, fakes: FakeServers) -> None:
    # The post request reached X, which has not acted on it yet (and will not).
    fakes.x.inject(XFault("hang_then_drop", seconds=30))
    proc = pierrot.start("publish", env=LEASE)
    wait_until(lambda: fakes.x.calls_to("/2/tweets"), what="the post request")
    pierrot.kill(proc)


def _kill_after_x_accepted(pierrot: Pierrot, fakes: FakeServers) -> None:
    # X made the post, but the answer never came back.
    fakes.x.inject(XFault("accept_then_hang", seconds=30))
    proc = pierrot.start("publish", env=LEASE)
    wait_until(lambda: fakes.x.posts, what="X to accept the post")
    pierrot.kill(proc)


@pytest.mark.parametrize(
    "kill",
    [_kill_during_download, _kill_after_upload, _kill_before_x_answers, _kill_after_x_accepted],
    ids=["during-download", "after-upload", "post-sent-not-accepted", "post-accepted-answer-lost"],
)
def test_sigkill_at_any_step_never_posts_a_photo_twice(
    pierrot: Pierrot, fakes: FakeServers, kill: Callable[[Pierrot, FakeServers], None]
) -> None:
    fakes.flickr.populate(3)
    assert pierrot("sync").returncode == 0

    kill(pierrot, fakes)
    claimed = [e for e in pierrot.log_entries() if e["status"] == "pending"]
    assert bool(claimed) == bool(fakes.x.calls_to("/2/tweets")), "a post is sent only after its claim is written"
    if claimed:
        time.sleep(1.05)  # past the 1 s lease: the dead run's claim is now stale
    result = pierrot("publish", env=LEASE)

    assert result.returncode == 0, result
    assert_never_posted_twice(fakes.x, pierrot.log_entries())
    status = latest_status(pierrot.log_entries())
    assert list(status.values()).count("published") == 1
    for entry in claimed:
        assert status[entry["photo_id"]] == "unknown", "a claim by a dead run may have been posted"
    assert "pending" not in status.values()


def test_a_live_claim_blocks_a_second_publish(pierrot: Pierrot, fakes: FakeServers) -> None:
    fakes.flickr.populate(3)
    assert pierrot("sync").returncode == 0
    fakes.x.inject(XFault("accept_then_hang", seconds=30))
    first = pierrot.start("publish")
    wait_until(lambda: fakes.x.posts, what="X to accept the post")

    second = pierrot("publish")

    assert second.returncode == 1, second
    assert "another publish is running" in one_error_line(second.stderr)
    assert len(fakes.x.attempts) == 1
    pierrot.kill(first)


# ==== transient faults that must be survived ====================================================


def test_flickr_5xx_429_and_error_105_are_retried(pierrot: Pierrot, flickr: FlickrFake) -> None:
    flickr.populate(1600)
    flickr.inject(FlickrFault.http(500), per_page=1)
    flickr.inject(FlickrFault.http(500), page=2, per_page=500)
    flickr.inject(FlickrFault.stat(105), page=3, per_page=500)
    flickr.inject(FlickrFault.http(429), page=4, per_page=500)

    result = pierrot("sync")

    assert result.returncode == 0, result
    assert [p["id"] for p in pierrot.doc(CATALOGUE)["photos"]] == [p.id for p in flickr.photos]
    assert len(flickr.calls) == 1 + 4 + 4, "the minimum, plus one retry per fault"
    assert len(flickr.faults) == 0


def test_s3_slow_down_on_writes_is_retried(
    pierrot: Pierrot, bucket: Bucket, flickr: FlickrFake, s3: S3Fake, x: XFake
) -> None:
    flickr.populate(30)
    s3.slow_down_puts(times=1)  # the catalogue

    synced = pierrot("sync")

    assert synced.returncode == 0, synced
    assert len(s3.faults) == 0
    assert bucket.doc(META)["total"] == 30
    s3.slow_down_puts(times=1)  # the pending claim
    published = pierrot("publish")
    assert published.returncode == 0, published
    assert len(s3.faults) == 0
    assert latest_status(bucket.log_entries()) == {x.posts[0].photo_ids[0]: "published"}


def test_a_slow_network_is_only_slow(pierrot: Pierrot, fakes: FakeServers) -> None:
    fakes.flickr.populate(1200)
    fakes.flickr.latency = 0.25
    fakes.images.delay = 0.25
    fakes.x.latency = 0.25

    synced = pierrot("sync")
    published = pierrot("publish")

    assert synced.returncode == 0, synced
    assert published.returncode == 0, published
    assert len(fakes.x.posts) == 1
    # Pages come concurrently: the three listing pages take about one latency, not three.
    assert synced.seconds < 0.25 * 4 + 1.5


# ==== faults that must fail cleanly =============================================================


def test_x_rate_limit_fails_cleanly_and_the_next_run_posts(pierrot: Pierrot, flickr: FlickrFake, x: XFake) -> None:
    flickr.populate(3)
    assert pierrot("sync").returncode == 0
    reset = int(time.time()) + 15 * 60
    x.inject(XFault("rate_limited", reset=reset))

    limited = pierrot("publish")

    assert limited.returncode == 1, limited
    line = one_error_line(limited.stderr)
    assert "429" in line and "rate limit" in line
    when = dt.datetime.fromtimestamp(reset).astimezone().isoformat(timespec="seconds")
    assert when in line, "the message says when the limit resets"
    assert x.posts == []
    (refused,) = pierrot.log_entries()
    assert refused["status"] == "failed"

    again = pierrot("publish")

    assert again.returncode == 0, again
    assert len(x.posts) == 1
    assert list(latest_status(pierrot.log_entries()).values()).count("published") == 1


@pytest.mark.parametrize(
    "fault",
    [XFault("unavailable"), XFault("accept_then_unavailable"), XFault("accept_then_hang", seconds=10)],
    ids=["503", "accepted-then-503", "accepted-then-timeout"],
)
def test_x_5xx_or_a_timeout_on_the_post_leaves_the_photo_unknown(
    pierrot: Pierrot, flickr: FlickrFake, x: XFake, fault: XFault
) -> None:
    flickr.populate(2)
    assert pierrot("sync").returncode == 0
    x.inject(fault)

    result = pierrot("publish", env={"PIERROT_HTTP_TIMEOUT": "1"})

    assert result.returncode == 1, result
    line = one_error_line(result.stderr)
    (entry,) = pierrot.log_entries()
    assert entry["status"] == "unknown"
    assert f"pierrot resolve {entry['photo_id']}" in line
    assert ("503" in line) if fault.kind != "accept_then_hang" else ("no answer within 1 s" in line)
    # The next run never retries that photo: it takes the other one.
    assert pierrot("publish").returncode == 0
    assert_never_posted_twice(x, pierrot.log_entries())
    assert pierrot("publish").returncode == 3


def test_a_corrupt_publish_log_is_named_and_never_overwritten(pierrot: Pierrot, flickr: FlickrFake, x: XFake) -> None:
    flickr.populate(2)
    assert pierrot("sync").returncode == 0
    broken = b'{"version": 1, "entries": [{"photo_id": "1", '
    (pierrot.store / LOG).write_bytes(broken)

    published = pierrot("publish")
    synced = pierrot("sync", "--full")

    assert published.returncode == 1, published
    line = one_error_line(published.stderr)
    assert LOG in line and "not valid JSON" in line
    assert synced.returncode == 0, synced
    assert (pierrot.store / LOG).read_bytes() == broken
    assert x.calls == []


@pytest.mark.parametrize("document", [CATALOGUE, META])
def test_corrupt_derived_documents_are_named_then_rebuilt_by_sync(
    pierrot: Pierrot, flickr: FlickrFake, document: str
) -> None:
    flickr.populate(3)
    assert pierrot("sync").returncode == 0
    (pierrot.store / document).write_bytes(b"\x00garbage")

    synced = pierrot("sync")

    assert synced.returncode == 0, synced
    assert document in synced.stderr and "rebuilding" in synced.stderr
    assert [p["id"] for p in pierrot.doc(CATALOGUE)["photos"]] == [p.id for p in flickr.photos]
    assert pierrot("publish").returncode == 0


def test_publish_names_a_corrupt_catalogue(pierrot: Pierrot, flickr: FlickrFake, x: XFake) -> None:
    flickr.populate(2)
    assert pierrot("sync").returncode == 0
    (pierrot.store / CATALOGUE).write_text('{"version": 1, "photos": "nope"}')

    result = pierrot("publish")

    assert result.returncode == 1, result
    assert CATALOGUE in one_error_line(result.stderr)
    assert x.calls == []


def test_a_wrong_flickr_key_or_secret_fails_with_one_clear_line(pierrot: Pierrot, flickr: FlickrFake) -> None:
    flickr.populate(2)

    wrong_key = pierrot("sync", env={"PIERROT_FLICKR_API_KEY": "0123456789abcdef0123456789abcdef"})
    wrong_secret = pierrot("sync", env={"PIERROT_FLICKR_API_SECRET": WRONG_SECRET})

    assert wrong_key.returncode == 1, wrong_key
    assert "PIERROT_FLICKR_API_KEY" in one_error_line(wrong_key.stderr)
    assert wrong_secret.returncode == 1, wrong_secret
    assert "PIERROT_FLICKR_API_SECRET" in one_error_line(wrong_secret.stderr)
    assert not (pierrot.store / META).exists()


def test_wrong_x_credentials_fail_before_anything_is_claimed(pierrot: Pierrot, flickr: FlickrFake, x: XFake) -> None:
    flickr.populate(2)
    assert pierrot("sync").returncode == 0

    result = pierrot("publish", env={"PIERROT_X_ACCESS_TOKEN_SECRET": "not-the-right-secret"})

    assert result.returncode == 1, result
    line = one_error_line(result.stderr)
    assert "401" in line and "PIERROT_X_ACCESS_TOKEN_SECRET" in line
    assert [c.status for c in x.calls] == [401]
    assert not (pierrot.store / LOG).exists()


def test_a_missing_setting_is_named_with_exit_2(pierrot: Pierrot, flickr: FlickrFake) -> None:
    flickr.populate(1)
    assert pierrot("sync").returncode == 0

    result = pierrot("publish", env={"PIERROT_X_API_SECRET": None})

    assert result.returncode == 2, result
    assert "PIERROT_X_API_SECRET" in one_error_line(result.stderr)


def test_a_missing_bucket_fails_with_one_clear_line(pierrot: Pierrot, flickr: FlickrFake) -> None:
    flickr.populate(2)

    synced = pierrot("sync", env={"PIERROT_STORE": "s3://pierrot-e2e-no-such-bucket/pierrot"})
    published = pierrot("publish", env={"PIERROT_STORE": "s3://pierrot-e2e-no-such-bucket"})

    for result in (synced, published):
        assert result.returncode == 1, result
        assert "bucket pierrot-e2e-no-such-bucket does not exist" in one_error_line(result.stderr)


def test_an_unknown_user_fails_with_one_clear_line(pierrot: Pierrot, flickr: FlickrFake) -> None:
    flickr.populate(2)

    by_name = pierrot("sync", env={"PIERROT_FLICKR_USER": "nobody-here"})
    by_nsid = pierrot("sync", env={"PIERROT_FLICKR_USER": "99999999@N00"})

    for result in (by_name, by_nsid):
        assert result.returncode == 1, result
        assert "PIERROT_FLICKR_USER" in one_error_line(result.stderr)
    assert "nobody-here" in by_name.stderr


# ==== secrets ===================================================================================


def _secret_forms(fakes: FakeServers) -> list[str]:
    forms = set()
    for value in [*fakes.secrets.values(), WRONG_SECRET]:
        forms.update({value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)})
    return sorted(forms)


@pytest.mark.parametrize("store", ["local", "s3"])
def test_verbose_output_never_shows_a_secret(
    pierrot: Pierrot, fakes: FakeServers, store: str, request: pytest.FixtureRequest
) -> None:
    if store == "s3":
        request.getfixturevalue("bucket")
    fakes.flickr.populate(3)
    fakes.x.inject(XFault("rate_limited"))  # an error answer from X, shown with -v

    results = [
        pierrot("-v", "sync"),
        pierrot("-v", "sync", "--full"),
        pierrot("-v", "publish"),
        pierrot("-v", "publish"),
        pierrot("-v", "check"),
        pierrot("-v", "sync", env={"PIERROT_FLICKR_API_SECRET": WRONG_SECRET}),
    ]

    assert [r.returncode for r in results] == [0, 0, 1, 0, 0, 1], results
    assert any("DEBUG" in r.stderr for r in results), "-v shows the HTTP calls"
    for result in results:
        for secret in _secret_forms(fakes):
            assert secret not in result.output, f"a secret appeared in the output of {result.args}"


def test_verbose_output_never_shows_the_aws_session_token(pierrot: Pierrot, bucket: Bucket, flickr: FlickrFake) -> None:
    # Temporary credentials (SSO, assumed roles, Lambda) come with a session token: a credential like the rest.
    token = "E2eSessionTokenIQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD"
    flickr.populate(3)

    result = pierrot("-v", "sync", env={"AWS_SESSION_TOKEN": token})

    assert result.returncode == 0, result
    for form in {token, urllib.parse.quote(token, safe="")}:
        leaks = [line[:160] for line in result.stderr.splitlines() if form in line]
        assert leaks == [], f"the AWS session token appeared in -v output: {leaks[:2]}"

"""Several ``pierrot publish`` processes started at once: exactly one post, every other run says why not."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import CATALOGUE, Pierrot, assert_never_posted_twice, latest_status
from tests.e2e.servers import FakeServers

pytestmark = pytest.mark.e2e

RUNS = 6


@pytest.mark.parametrize("store", ["local", "s3"])
def test_six_publishes_at_once_make_exactly_one_post(
    pierrot: Pierrot, fakes: FakeServers, store: str, request: pytest.FixtureRequest
) -> None:
    entries = pierrot.log_entries
    if store == "s3":
        entries = request.getfixturevalue("bucket").log_entries  # moto served single-threaded: atomic puts
    fakes.flickr.populate(40)
    assert pierrot("sync").returncode == 0
    # Hold every upload until all six have read the log and uploaded: they all race for the claim.
    fakes.x.upload_barrier = RUNS

    procs = [pierrot.start("publish") for _ in range(RUNS)]
    results = [pierrot.finish(proc, timeout=60) for proc in procs]

    assert len(fakes.x.uploads) == RUNS, "every run got as far as the claim"
    assert len(fakes.x.attempts) == 1 and len(fakes.x.posts) == 1
    assert sorted(r.returncode for r in results) == [0] + [1] * (RUNS - 1), results
    for result in results:
        if result.returncode == 0:
            assert result.stdout.startswith("https://x.com/i/web/status/") and result.stderr == "", result
        else:
            lines = result.stderr.splitlines()
            assert result.stdout == "" and len(lines) == 1, result
            assert lines[0].startswith("pierrot: error: another publish "), result
    log = entries()
    assert_never_posted_twice(fakes.x, log)
    assert latest_status(log) == {fakes.x.posts[0].photo_ids[0]: "published"}


def test_six_syncs_at_once_leave_a_right_catalogue(pierrot: Pierrot, fakes: FakeServers) -> None:
    fakes.flickr.populate(1200)
    fakes.flickr.latency = 0.1  # so that the runs overlap

    results = [pierrot.finish(proc) for proc in [pierrot.start("sync") for _ in range(RUNS)]]

    assert 0 in {r.returncode for r in results}, results
    for result in results:
        assert result.returncode in (0, 1), result
        if result.returncode == 1:
            lines = result.stderr.splitlines()
            assert len(lines) == 1 and "changed by another run" in lines[0], result
    fakes.flickr.calls.clear()
    again = pierrot("sync")
    assert again.returncode == 0 and "no change" in again.stdout, again
    assert len(fakes.flickr.calls) == 1
    assert [p["id"] for p in pierrot.doc(CATALOGUE)["photos"]] == [p.id for p in fakes.flickr.photos]

"""The benchmark script (run by hand) still imports, and its naive sync counts Flickr calls as the fake sees them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.benchmarks import run as bench
from tests.e2e.servers import FlickrFake, Secrets, ServerThread


@pytest.fixture
def flickr() -> Iterator[tuple[FlickrFake, str]]:
    secrets = Secrets()
    fake = FlickrFake(secrets.flickr_key, secrets.flickr_secret)
    thread = ServerThread(fake)
    try:
        yield fake, thread.url + "/services/rest/"
    finally:
        fake.reset()
        thread.stop()


def test_minimal_calls() -> None:
    assert [bench.minimal_calls(n) for n in (0, 1, 500, 501, 20_000, 100_000)] == [1, 2, 2, 3, 41, 201]


def test_naive_sync_lists_everything_again_only_when_the_count_changed(flickr: tuple[FlickrFake, str]) -> None:
    fake, url = flickr
    fake.populate(1_234)
    key, secret = Secrets().flickr_key, Secrets().flickr_secret

    first = bench.naive_sync(url, key, secret, fake.nsid, None)
    assert (first.calls, first.total, len(first.items or [])) == (bench.minimal_calls(1_234), 1_234, 1_234)
    assert len(fake.calls) == first.calls

    unchanged = bench.naive_sync(url, key, secret, fake.nsid, 1_234)
    assert (unchanged.calls, unchanged.items) == (1, None)

    fake.add(1)
    again = bench.naive_sync(url, key, secret, fake.nsid, 1_234)
    assert again.calls == bench.minimal_calls(1_235)
    assert len(fake.calls) == first.calls + unchanged.calls + again.calls


def test_report_tables_line_up() -> None:
    text = bench.table(("a", "bb"), [("1", "2"), ("333", "4")])
    assert len({len(line) for line in text.splitlines()}) == 1

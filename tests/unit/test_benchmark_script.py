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


LAMBDA = (
    "<!-- lambda-section: written by hand, not by tests/benchmarks/run.py; a full run must carry it over -->\n"
    "## AWS Lambda: memory and cold start\n\nMeasured by hand.\n<!-- /lambda-section -->"
)


def test_a_full_run_keeps_the_hand_written_lambda_section(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "report", lambda results: "# Performance\n\nnew figures\n")
    monkeypatch.setattr(bench, "networks_section",
                        lambda results: f"{bench.NETWORKS_BEGIN}\nnew networks\n{bench.NETWORKS_END}")
    results = bench.Results(False, (1,), (1,), 1, 0.0, 1, "cmd", bench.dt.datetime.now(bench.dt.UTC), (0, 0, 0))
    previous = f"# Performance\n\nold figures\n\n{LAMBDA}\n"

    text = bench.full_report(results, previous)
    assert "new figures" in text and "old figures" not in text
    assert text.count(LAMBDA) == 1 and text.rstrip().endswith(LAMBDA)

    results.networks = [bench.NetworksRun(("x",), "sizes", {})]
    text = bench.full_report(results, previous)
    assert text.index("new networks") < text.index(LAMBDA)
    assert bench.full_report(results, text) == text  # a second run changes nothing: nothing is duplicated


def test_the_networks_case_replaces_only_its_own_section(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = iter(range(100))
    monkeypatch.setattr(bench, "networks_section",
                        lambda results: f"{bench.NETWORKS_BEGIN}\nfigures {next(counter)}\n{bench.NETWORKS_END}")
    results = bench.Results(False, (1,), (1,), 1, 0.0, 1, "cmd", bench.dt.datetime.now(bench.dt.UTC), (0, 0, 0))
    previous = f"# Performance\n\nthe sync tables\n\n\n{LAMBDA}\n"

    first = bench.with_networks_section(previous, results)
    assert first.index("the sync tables") < first.index("figures 0") < first.index(LAMBDA)
    second = bench.with_networks_section(first, results)
    assert second == first.replace("figures 0", "figures 1")
    assert bench.with_networks_section("", results).startswith(bench.NETWORKS_BEGIN)


def test_the_image_host_counts_the_bytes_it_sends() -> None:
    import requests

    from tests.e2e.servers import ImageHost

    host = ImageHost()
    counting = bench.CountingApp(host)
    thread = ServerThread(counting)
    try:
        host.sizes = {"k": 300_000}
        body = requests.get(f"{thread.url}/53000000003_k.jpg", timeout=10).content
        requests.get(f"{thread.url}/53000000003_h.jpg", timeout=10)
        answers = bench.settled_answers(counting)
    finally:
        host.reset()
        thread.stop()
    assert [(a.label, a.status, a.complete) for a in answers] == [("k", 200, True), ("h", 404, True)]
    assert answers[0].nbytes == answers[0].declared == len(body)


def test_a_size_requested_twice_in_a_run_misses_the_target() -> None:
    once = bench.NetworksRun(("x", "bluesky"), "sizes", {}, calls=[{}], used=[{"x": "k", "bluesky": "h"}],
                             images=[[bench.Sent("/1_k.jpg", 200), bench.Sent("/1_h.jpg", 200)]])
    twice = bench.NetworksRun(("x", "bluesky"), "sizes", {}, calls=[{}], used=[{"x": "k", "bluesky": "k"}],
                              images=[[bench.Sent("/1_k.jpg", 200), bench.Sent("/1_k.jpg", 200)]])
    rows = {row[0]: row for row in bench.networks_targets([once])}
    assert rows["image sizes requested per run"][3] == "met"
    rows = {row[0]: row for row in bench.networks_targets([once, twice])}
    assert rows["image sizes requested per run"][3] == "**missed**"
    assert "k ×2" in rows["image sizes requested per run"][2]


def test_the_networks_log_is_a_publish_log_pierrot_reads() -> None:
    from pierrot.domain import PUBLISHED, PublishLog

    plog = PublishLog.from_doc(bench.json.loads(bench.network_log([("1", "One"), ("2", "Two")], ("x", "bluesky"))))
    assert [(e.photo_id, e.network, e.status) for e in plog.entries] == [
        ("1", "x", PUBLISHED), ("1", "bluesky", PUBLISHED), ("2", "x", PUBLISHED), ("2", "bluesky", PUBLISHED)]
    assert all(e.key for e in plog.entries if e.network == "bluesky")

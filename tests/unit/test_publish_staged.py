"""service.publish settling a post the network still holds staged (Threads' FINISHED container): it publishes
that very staging, never a new upload beside it."""

from __future__ import annotations

from pierrot.adapters.networks.bluesky import RULES as BLUESKY
from pierrot.domain import PUBLISHED
from pierrot.ports import Settled
from tests.fakes import (
    KEY,
    NetworkPublisher,
    by_network,
    interrupted,
    make_store,
    photos,
    run,
)


def test_a_staged_post_is_published_as_it_is_without_a_new_upload() -> None:
    items = photos(2)
    store = make_store(items, [interrupted(items[0])])
    staged = Settled(posted=None, same_key=True, staged="blob-1", reason="container FINISHED")
    network = NetworkPublisher(BLUESKY, answers=[staged])

    report = run(store, [network])

    assert network.uploads == []  # nothing staged a second time
    assert network.media == [["blob-1"]]
    (again,) = by_network(store)["bluesky"]
    assert (again.photo_id, again.status, again.key, again.media_ids) == (items[0].id, PUBLISHED, KEY, ("blob-1",))
    assert report.results[0].post is not None

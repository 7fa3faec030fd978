"""service.sync against a fake photostream and a fake store: what it lists, what it writes, what it costs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from pierrot import service
from pierrot.domain import CATALOGUE_DOCUMENT, META_DOCUMENT, Catalogue
from pierrot.errors import EXIT_FAILURE, ConflictError, DocumentError, FlickrError
from tests.fakes import Crash, FakeFlickr, FakeStore, make_photo

NSID = "12345678@N00"
MOMENT = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)


def clock() -> dt.datetime:
    return MOMENT


def run(store: FakeStore, source: FakeFlickr, user: str = NSID, **kwargs: Any) -> service.SyncReport:
    return service.sync(store, source, user, now=clock, **kwargs)


def catalogue_ids(store: FakeStore) -> list[str]:
    return [p.id for p in Catalogue.from_doc(store.doc(CATALOGUE_DOCUMENT)).photos]


def pid(n: int) -> str:
    return make_photo(n).id


@pytest.fixture
def synced() -> tuple[FakeStore, FakeFlickr]:
    """A store already holding a sync of a ten-photo stream."""
    store, source = FakeStore(), FakeFlickr([make_photo(n) for n in range(1, 11)])
    run(store, source)
    store.writes.clear()
    return store, source


def test_first_sync_lists_everything_and_writes_the_catalogue_then_meta() -> None:
    store, source = FakeStore(), FakeFlickr([make_photo(n) for n in range(1, 8)])

    report = run(store, source)

    assert store.writes == [CATALOGUE_DOCUMENT, META_DOCUMENT]
    assert (report.mode, report.photos, report.added, report.removed) == ("full", 7, 7, 0)
    assert report.flickr_calls == source.calls == 2  # the summary, then one page
    assert catalogue_ids(store) == [pid(n) for n in range(7, 0, -1)]  # newest first
    meta = store.doc(META_DOCUMENT)
    assert meta["version"] == 1
    assert meta["total"] == 7
    assert meta["flickr_total"] == 7
    assert meta["nsid"] == NSID
    assert meta["newest_id"] == pid(7)
    assert meta["newest_upload"] == make_photo(7).date_uploaded
    assert meta["last_sync"] == "2025-06-01T12:00:00Z"


def test_catalogue_records_keep_what_publish_needs() -> None:
    store, source = FakeStore(), FakeFlickr([make_photo(1, title="Harbour", description="<b>dusk</b>")])

    run(store, source)

    record = store.doc(CATALOGUE_DOCUMENT)["photos"][0]
    assert record["id"] == pid(1)
    assert record["title"] == "Harbour"
    assert record["description"] == "<b>dusk</b>"
    assert record["sizes"]["k"] == {"url": make_photo(1).sizes[0].url, "width": 2048, "height": 1365}
    assert record["tags"] == ["harbour"]
    assert record["license"] == "4"


def test_a_large_first_sync_costs_one_call_per_page() -> None:
    store, source = FakeStore(), FakeFlickr([make_photo(n) for n in range(1, 1202)])

    report = run(store, source)

    assert report.flickr_calls == 1 + 3
    assert report.photos == 1201


def test_nothing_changed_costs_one_call_and_writes_nothing(synced: tuple[FakeStore, FakeFlickr]) -> None:
    store, source = synced
    before = source.calls

    report = run(store, source)

    assert source.calls - before == 1
    assert report.flickr_calls == 1
    assert store.writes == []
    assert (report.mode, report.photos, report.added, report.removed) == ("unchanged", 10, 0, 0)
    assert "no change" in report.summary()


@pytest.mark.parametrize(("k", "calls"), [(1, 2), (3, 2), (500, 2), (501, 3), (1200, 4)])
def test_k_new_photos_are_listed_incrementally(synced: tuple[FakeStore, FakeFlickr], k: int, calls: int) -> None:
    store, source = synced
    source.items += [make_photo(n) for n in range(11, 11 + k)]
    before = source.calls

    report = run(store, source)

    assert source.calls - before == calls  # 1 + ceil(k/500)
    assert report.flickr_calls == calls
    assert (report.mode, report.added, report.removed, report.photos) == ("incremental", k, 0, 10 + k)
    ids = catalogue_ids(store)
    assert ids == [pid(n) for n in range(10 + k, 0, -1)]
    assert store.writes == [CATALOGUE_DOCUMENT, META_DOCUMENT]
    assert store.doc(META_DOCUMENT)["newest_id"] == pid(10 + k)
    # and the new state is a fixed point: the next sync is the one-call no-op again
    assert run(store, source).mode == "unchanged"


def test_a_deleted_photo_is_removed_by_a_full_listing(synced: tuple[FakeStore, FakeFlickr]) -> None:
    store, source = synced
    source.items = [p for p in source.items if p.id != pid(4)]
    before = source.calls

    report = run(store, source)

    assert (report.mode, report.removed, report.added, report.photos) == ("full", 1, 0, 9)
    assert source.calls - before == 2
    assert pid(4) not in catalogue_ids(store)
    assert store.doc(META_DOCUMENT)["total"] == 9


def test_deleting_the_newest_photo_is_noticed(synced: tuple[FakeStore, FakeFlickr]) -> None:
    store, source = synced
    source.items = [p for p in source.items if p.id != pid(10)]

    report = run(store, source)

    assert report.removed == 1
    assert catalogue_ids(store)[0] == pid(9)
    assert store.doc(META_DOCUMENT)["newest_id"] == pid(9)


def test_a_deletion_plus_an_upload_with_the_same_total_is_detected(synced: tuple[FakeStore, FakeFlickr]) -> None:
    store, source = synced
    source.items = [p for p in source.items if p.id != pid(3)] + [make_photo(11)]

    report = run(store, source)

    assert (report.mode, report.added, report.removed, report.photos) == ("full", 1, 1, 10)
    ids = catalogue_ids(store)
    assert pid(3) not in ids
    assert ids[0] == pid(11)


def test_an_upload_older_than_the_newest_is_caught_by_a_full_listing(
    synced: tuple[FakeStore, FakeFlickr],
) -> None:
    # Flickr lets a user backdate an upload: the total grows but the incremental window cannot see it.
    store, source = synced
    source.items += [make_photo(11), make_photo(99, uploaded=1_500_000_000)]

    report = run(store, source)

    assert report.mode == "full"
    assert set(catalogue_ids(store)) >= {pid(11), pid(99)}
    assert report.photos == 12


def test_full_relists_and_picks_up_an_edited_title(synced: tuple[FakeStore, FakeFlickr]) -> None:
    store, source = synced
    source.items = [make_photo(5, title="Renamed") if p.id == pid(5) else p for p in source.items]
    assert run(store, source).mode == "unchanged"  # titles are invisible to the cheap check
    before = source.calls

    report = run(store, source, full=True)

    assert (report.mode, report.updated, report.added, report.removed) == ("full", 1, 0, 0)
    assert source.calls - before == 2
    titles = {p.id: p.title for p in Catalogue.from_doc(store.doc(CATALOGUE_DOCUMENT)).photos}
    assert titles[pid(5)] == "Renamed"
    assert "1 updated" in report.summary()


def test_videos_are_left_out_but_counted_so_the_next_sync_stays_cheap() -> None:
    items = [make_photo(n) for n in range(1, 6)] + [make_photo(6, media="video"), make_photo(7, media="video")]
    store, source = FakeStore(), FakeFlickr(items)

    report = run(store, source)

    assert report.photos == 5
    assert pid(6) not in catalogue_ids(store)
    meta = store.doc(META_DOCUMENT)
    assert (meta["total"], meta["flickr_total"]) == (5, 7)
    before = source.calls
    assert run(store, source).mode == "unchanged"
    assert source.calls - before == 1


def test_a_new_video_is_a_cheap_incremental_sync_that_adds_nothing(synced: tuple[FakeStore, FakeFlickr]) -> None:
    store, source = synced
    source.items.append(make_photo(11, media="video"))
    before = source.calls

    report = run(store, source)

    assert (report.mode, report.photos, report.added) == ("incremental", 10, 0)
    assert source.calls - before == 2
    assert pid(11) not in catalogue_ids(store)
    assert run(store, source).mode == "unchanged"


def test_a_username_is_resolved_once_and_remembered() -> None:
    store, source = FakeStore(), FakeFlickr([make_photo(n) for n in range(1, 4)])

    first = run(store, source, user="someone")
    assert first.flickr_calls == 3  # resolve, summary, one page
    assert store.doc(META_DOCUMENT)["nsid"] == NSID

    before = source.calls
    assert run(store, source, user="someone").mode == "unchanged"
    assert source.calls - before == 1
    assert [kind for kind, _ in source.log].count("resolve") == 1


def test_an_nsid_needs_no_resolving_call() -> None:
    store, source = FakeStore(), FakeFlickr([make_photo(1)])

    run(store, source, user=NSID)

    assert [kind for kind, _ in source.log] == ["summary", "list"]


def test_changing_user_replaces_the_catalogue() -> None:
    store, source = FakeStore(), FakeFlickr([make_photo(n) for n in range(1, 4)])
    run(store, source, user="someone")
    other = FakeFlickr([make_photo(n) for n in range(20, 22)], nsid="999@N01")
    other.usernames = {"other": "999@N01"}

    report = run(store, other, user="other")

    assert report.mode == "full"
    assert set(catalogue_ids(store)) == {pid(20), pid(21)}
    assert store.doc(META_DOCUMENT)["nsid"] == "999@N01"


def test_an_unknown_user_fails_before_any_write() -> None:
    store, source = FakeStore(), FakeFlickr([make_photo(1)])

    with pytest.raises(FlickrError, match="PIERROT_FLICKR_USER"):
        run(store, source, user="nobody")

    assert store.writes == []


def test_an_empty_photostream_gives_an_empty_catalogue() -> None:
    store, source = FakeStore(), FakeFlickr([])

    report = run(store, source)

    assert report.photos == 0
    assert catalogue_ids(store) == []
    assert run(store, source).mode == "unchanged"


# --- damaged documents ----------------------------------------------------------------------------

BAD_DOCS = {
    "missing fields": {"version": 1},
    "not an object": [1, 2, 3],
    "no version": {"total": 10},
    "bad field type": {"version": 1, "total": "many", "photos": "all of them"},
}


@pytest.mark.parametrize("new_upload", [False, True], ids=["same stream", "new upload"])
@pytest.mark.parametrize("name", [META_DOCUMENT, CATALOGUE_DOCUMENT])
@pytest.mark.parametrize("bad", list(BAD_DOCS), ids=list(BAD_DOCS))
def test_a_document_of_the_wrong_schema_is_rebuilt_with_a_warning(
    synced: tuple[FakeStore, FakeFlickr], name: str, bad: str, new_upload: bool
) -> None:
    store, source = synced
    store.put(name, BAD_DOCS[bad])
    if new_upload:
        source.items.append(make_photo(11))
    last = 11 if new_upload else 10

    report = run(store, source)

    assert any(name in w for w in report.warnings), report.warnings
    assert report.mode == "full"
    assert catalogue_ids(store) == [pid(n) for n in range(last, 0, -1)]
    assert store.doc(META_DOCUMENT)["total"] == last
    assert run(store, source).mode == "unchanged"


@pytest.mark.parametrize("name", [META_DOCUMENT, CATALOGUE_DOCUMENT])
def test_a_document_that_is_not_json_is_rebuilt_with_a_warning(synced: tuple[FakeStore, FakeFlickr], name: str) -> None:
    store, source = synced
    store.put_text(name, '{"version": 1, "tot')

    report = run(store, source)

    assert any(name in w and "not valid JSON" in w for w in report.warnings), report.warnings
    assert catalogue_ids(store) == [pid(n) for n in range(10, 0, -1)]
    assert run(store, source).mode == "unchanged"


def test_a_missing_catalogue_is_rebuilt_even_when_the_stream_did_not_change(
    synced: tuple[FakeStore, FakeFlickr],
) -> None:
    # publish says "run `pierrot sync`" when the catalogue is missing: that advice must work.
    store, source = synced
    del store.docs[CATALOGUE_DOCUMENT]

    report = run(store, source)

    assert report.mode == "full"
    assert len(catalogue_ids(store)) == 10


@pytest.mark.parametrize("name", [META_DOCUMENT, CATALOGUE_DOCUMENT])
def test_a_document_from_a_newer_pierrot_is_refused_not_downgraded(
    synced: tuple[FakeStore, FakeFlickr], name: str
) -> None:
    store, source = synced
    newer = dict(store.doc(name), version=2)
    store.put(name, newer)
    source.items.append(make_photo(11))  # so that sync has a reason to write

    with pytest.raises(DocumentError, match="upgrade pierrot") as caught:
        run(store, source)

    assert caught.value.exit_code == EXIT_FAILURE
    assert name in str(caught.value)
    assert store.writes == []
    assert store.doc(name) == newer


# --- crashes and races ----------------------------------------------------------------------------


def test_a_crash_between_the_catalogue_and_meta_writes_converges_on_the_next_run(
    synced: tuple[FakeStore, FakeFlickr],
) -> None:
    store, source = synced
    source.items = [p for p in source.items if p.id != pid(2)] + [make_photo(11), make_photo(12)]

    def crash_on_meta(name: str, doc: Any) -> None:
        if name == META_DOCUMENT:
            raise Crash("killed between the two writes")

    store.before_write = crash_on_meta
    with pytest.raises(Crash):
        run(store, source)
    assert store.writes == [CATALOGUE_DOCUMENT]

    store.before_write = None
    run(store, source)

    expected = [p.id for p in FakeFlickr(source.items)._stream()]
    assert catalogue_ids(store) == expected
    assert store.doc(META_DOCUMENT)["total"] == len(expected)
    assert store.doc(META_DOCUMENT)["newest_id"] == pid(12)
    assert run(store, source).mode == "unchanged"


def test_a_crash_in_the_first_sync_before_meta_converges() -> None:
    store, source = FakeStore(), FakeFlickr([make_photo(n) for n in range(1, 4)])
    store.before_write = lambda name, doc: (_ for _ in ()).throw(Crash()) if name == META_DOCUMENT else None
    with pytest.raises(Crash):
        run(store, source)

    store.before_write = None
    report = run(store, source)

    assert report.photos == 3
    assert store.doc(META_DOCUMENT)["total"] == 3


def test_a_conflict_on_the_catalogue_write_propagates_and_meta_is_not_written(
    synced: tuple[FakeStore, FakeFlickr],
) -> None:
    store, source = synced
    source.items.append(make_photo(11))
    meta_before = store.doc(META_DOCUMENT)

    def another_sync_writes_first(name: str, doc: Any) -> None:
        if name == CATALOGUE_DOCUMENT:
            store.put(CATALOGUE_DOCUMENT, doc)  # someone else's write lands in between

    store.before_write = another_sync_writes_first
    with pytest.raises(ConflictError) as caught:
        run(store, source)

    assert caught.value.exit_code == EXIT_FAILURE
    assert META_DOCUMENT not in store.writes
    assert store.doc(META_DOCUMENT) == meta_before


def test_no_change_sync_checks_the_catalogue_token_without_downloading_it() -> None:
    from pierrot.domain import CATALOGUE_DOCUMENT
    from pierrot.service import sync
    from tests.fakes import FakeFlickr, FakeStore, make_photo

    store, flickr = FakeStore(), FakeFlickr([make_photo(n) for n in range(1, 4)])
    sync(store, flickr, "12345678@N00")
    store.reads.clear()
    report = sync(store, flickr, "12345678@N00")
    assert report.mode == "unchanged"
    assert CATALOGUE_DOCUMENT not in store.reads
    assert store.token_checks == [CATALOGUE_DOCUMENT]
    # A catalogue replaced behind pierrot's back is read, found wanting and rebuilt.
    store.put(CATALOGUE_DOCUMENT, {"version": 1, "nsid": "12345678@N00", "photos": []})
    report = sync(store, flickr, "12345678@N00")
    assert report.mode != "unchanged"
    assert report.photos == 3
    assert len(Catalogue.from_doc(store.doc(CATALOGUE_DOCUMENT)).photos) == 3


def test_a_store_that_reports_a_damaged_catalogue_itself_is_rebuilt_over_its_token() -> None:
    from pierrot.domain import CATALOGUE_DOCUMENT
    from pierrot.errors import DocumentError
    from pierrot.service import sync
    from tests.fakes import FakeFlickr, FakeStore, make_photo

    class Refusing(FakeStore):
        """A store that parses on read (the port's default read_bytes) and finds the catalogue damaged."""

        def read_bytes(self, name: str) -> tuple[bytes, str] | None:
            if name == CATALOGUE_DOCUMENT and name in self.docs:
                raise DocumentError(name, "not valid JSON", token=self.docs[name][1])
            return super().read_bytes(name)

    store, flickr = Refusing(), FakeFlickr([make_photo(n) for n in range(1, 4)])
    store.put_text(CATALOGUE_DOCUMENT, "{broken")
    report = sync(store, flickr, "12345678@N00")
    assert report.mode == "full" and report.photos == 3
    assert any("rebuilding" in w for w in report.warnings)


# --- a catalogue that is not the one meta describes -------------------------------------------------


def test_a_restored_older_catalogue_is_brought_up_to_date_incrementally() -> None:
    store, source = FakeStore(), FakeFlickr([make_photo(n) for n in range(1, 6)])
    run(store, source)
    backup = store.doc(CATALOGUE_DOCUMENT)
    source.items += [make_photo(n) for n in range(6, 9)]
    run(store, source)
    store.put(CATALOGUE_DOCUMENT, backup)  # the user restores last week's version
    source.calls = 0

    report = run(store, source)

    assert report.mode == "incremental"
    assert (report.photos, report.added) == (8, 3)
    assert source.calls == 2  # the count, then one page since the backup's newest photo
    assert catalogue_ids(store) == [pid(n) for n in range(8, 0, -1)]
    assert any("not the catalogue" in w for w in report.warnings)
    store.reads.clear()
    assert run(store, source).mode == "unchanged"
    assert CATALOGUE_DOCUMENT not in store.reads


def test_a_restored_catalogue_with_a_deletion_since_is_relisted_in_full() -> None:
    store, source = FakeStore(), FakeFlickr([make_photo(n) for n in range(1, 6)])
    run(store, source)
    backup = store.doc(CATALOGUE_DOCUMENT)
    source.items = [p for p in source.items if p.id != pid(2)] + [make_photo(6)]
    run(store, source)
    store.put(CATALOGUE_DOCUMENT, backup)

    report = run(store, source)

    assert report.mode == "full"
    assert catalogue_ids(store) == [pid(n) for n in (6, 5, 4, 3, 1)]


def test_an_emptied_catalogue_is_rebuilt_so_publish_advice_is_not_a_loop(
    synced: tuple[FakeStore, FakeFlickr],
) -> None:
    store, source = synced
    store.put(CATALOGUE_DOCUMENT, {"version": 1, "nsid": NSID, "photos": []})

    report = run(store, source)

    assert report.mode == "full"
    assert len(catalogue_ids(store)) == 10


def test_a_full_sync_killed_before_meta_does_not_make_every_later_sync_download_the_catalogue(
    synced: tuple[FakeStore, FakeFlickr],
) -> None:
    store, source = synced
    source.items.append(make_photo(11))
    store.before_write = lambda name, doc: (_ for _ in ()).throw(Crash()) if name == META_DOCUMENT else None
    with pytest.raises(Crash):
        run(store, source, full=True)
    store.before_write = None
    source.calls = 0

    first = run(store, source)  # the newer catalogue is recognised and caught up cheaply
    assert first.mode == "incremental" and first.added == 0 and first.photos == 11
    assert source.calls == 2

    for _ in range(2):
        store.reads.clear()
        source.calls = 0
        assert run(store, source).mode == "unchanged"
        assert CATALOGUE_DOCUMENT not in store.reads
        assert source.calls == 1


def test_the_same_catalogue_under_a_new_token_is_trusted_and_remembered(
    synced: tuple[FakeStore, FakeFlickr],
) -> None:
    store, source = synced
    store.put(CATALOGUE_DOCUMENT, store.doc(CATALOGUE_DOCUMENT))  # copied back: same content, new token

    report = run(store, source)

    assert report.mode == "unchanged"
    assert store.writes == [META_DOCUMENT]
    assert store.doc(META_DOCUMENT)["catalogue_token"] == store.docs[CATALOGUE_DOCUMENT][1]
    store.reads.clear()
    store.writes.clear()
    assert run(store, source).mode == "unchanged"
    assert store.writes == [] and CATALOGUE_DOCUMENT not in store.reads

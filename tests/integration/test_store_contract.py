"""What every document store promises the service layer: reads, creates and compare-and-swap writes."""

from __future__ import annotations

import pytest

from pierrot.domain import CATALOGUE_DOCUMENT, LOG_DOCUMENT, META_DOCUMENT
from pierrot.errors import ConflictError, DocumentError

DOC = CATALOGUE_DOCUMENT


def test_a_missing_document_reads_as_none(any_store):
    assert any_store.store.read(DOC) is None


def test_a_created_document_reads_back_with_the_token_the_write_returned(any_store):
    token = any_store.store.write(DOC, {"photos": [1, 2, 3]}, None)

    got = any_store.store.read(DOC)

    assert got is not None
    assert got.doc == {"photos": [1, 2, 3]}
    assert got.token == token


def test_creating_a_document_that_exists_conflicts(any_store):
    any_store.store.write(DOC, {"first": True}, None)

    with pytest.raises(ConflictError) as caught:
        any_store.store.write(DOC, {"second": True}, None)

    assert caught.value.document == DOC
    assert any_store.store.read(DOC).doc == {"first": True}


def test_a_write_naming_the_current_token_replaces_the_document(any_store):
    first = any_store.store.write(DOC, {"v": 1}, None)

    second = any_store.store.write(DOC, {"v": 2}, first)
    third = any_store.store.write(DOC, {"v": 3}, second)

    assert len({first, second, third}) == 3
    got = any_store.store.read(DOC)
    assert (got.doc, got.token) == ({"v": 3}, third)


def test_a_write_with_a_stale_token_conflicts_and_keeps_the_other_write(any_store):
    store = any_store.store
    store.write(DOC, {"v": 1}, None)
    mine = store.read(DOC)
    theirs = store.write(DOC, {"v": "theirs"}, mine.token)  # another run got there first

    with pytest.raises(ConflictError):
        store.write(DOC, {"v": "mine"}, mine.token)

    got = store.read(DOC)
    assert (got.doc, got.token) == ({"v": "theirs"}, theirs)


def test_replacing_a_document_that_does_not_exist_conflicts(any_store):
    with pytest.raises(ConflictError):
        any_store.store.write(DOC, {"v": 1}, "a-token-from-a-document-since-deleted")

    assert any_store.store.read(DOC) is None


def test_documents_are_independent(any_store):
    store = any_store.store
    meta = store.write(META_DOCUMENT, {"total": 3}, None)
    store.write(LOG_DOCUMENT, {"entries": []}, None)

    store.write(META_DOCUMENT, {"total": 4}, meta)

    assert store.read(LOG_DOCUMENT).doc == {"entries": []}


def test_unicode_survives_the_round_trip_as_compact_utf8(any_store):
    doc = {"title": "Été à Kyōto — 東京の桜 🌸", "tags": ["naïve", "ü"], "n": [1, 2.5, None, True]}

    any_store.store.write(DOC, doc, None)

    assert any_store.store.read(DOC).doc == doc
    raw = any_store.get_raw(DOC)
    assert "東京の桜 🌸".encode() in raw
    assert b"\\u" not in raw and b", " not in raw


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b'{"photos": [1, 2,\n  oops]}', "line 2 column 3"),
        (b"", "line 1 column 1"),
        (b'{"title": "caf\xe9"}', "line 1"),  # Latin-1, not UTF-8
    ],
)
def test_a_corrupt_document_is_reported_by_name_and_left_alone(any_store, raw, where):
    any_store.put_raw(DOC, raw)

    with pytest.raises(DocumentError) as caught:
        any_store.store.read(DOC)

    message = str(caught.value)
    assert caught.value.document == DOC
    assert message.startswith(f"{DOC} is unreadable: not valid JSON (")
    assert where in message
    assert "pierrot sync --full" in message
    assert any_store.get_raw(DOC) == raw


def test_a_corrupt_publish_log_is_not_to_be_rebuilt(any_store):
    any_store.put_raw(LOG_DOCUMENT, b"{")

    with pytest.raises(DocumentError) as caught:
        any_store.store.read(LOG_DOCUMENT)

    assert "restore it from a backup or fix it by hand; pierrot will not overwrite it" in str(caught.value)
    assert "sync --full" not in str(caught.value)


def test_token_without_reading_matches_the_written_token(any_store):
    from pierrot.ports import Encoded

    assert any_store.store.token(DOC) is None
    token = any_store.store.write(DOC, Encoded(lambda: [b'{"version":1,', b'"photos":[]}']), None)
    assert any_store.store.token(DOC) == token
    assert any_store.store.read(DOC).doc == {"version": 1, "photos": []}
    assert any_store.store.read(DOC).token == token

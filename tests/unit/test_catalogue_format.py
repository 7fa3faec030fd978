"""pierrot-db.json: valid JSON that pierrot writes one record a line and reads back a line at a time."""

from __future__ import annotations

import json

import pytest

from pierrot.domain import Catalogue, NewerSchemaError, StoredCatalogue
from pierrot.errors import DocumentError
from tests.fakes import make_photo


def written(photos: list, nsid: str | None = "12345678@N00") -> bytes:
    return b"".join(Catalogue(nsid, photos).json_chunks(batch=2))


@pytest.mark.parametrize("count", [0, 1, 2, 5])
def test_what_sync_writes_is_plain_json_and_reads_back_record_for_record(count: int) -> None:
    photos = [make_photo(n, title=f'Quote " and \\ and 夕焼け {n}') for n in range(count)]
    data = written(photos)

    assert Catalogue.from_doc(json.loads(data)).photos == photos
    stored = StoredCatalogue.parse(data)
    assert stored.nsid == "12345678@N00"
    assert stored.ids == [p.id for p in photos]
    assert list(stored.photos()) == photos
    assert data.count(b"\n") == max(count, 1) + 2  # a line each, beside the head and the foot


def test_a_catalogue_edited_by_hand_is_still_read_the_slow_way() -> None:
    photos = [make_photo(n) for n in range(3)]
    pretty = json.dumps(Catalogue("x", photos).to_doc(), indent=2).encode()

    assert list(StoredCatalogue.parse(pretty).photos()) == photos


def test_a_malformed_line_is_named_with_the_token_so_sync_can_rebuild_over_it() -> None:
    data = written([make_photo(n) for n in range(3)]).replace(b'{"id":"50000000001"', b'{"id":"50000000001"!!', 1)

    with pytest.raises(DocumentError) as caught:
        StoredCatalogue.parse(data, token="tok")

    assert "pierrot-db.json" in str(caught.value) and "line 3" in str(caught.value)
    assert caught.value.token == "tok"


def test_invalid_json_in_another_layout_carries_the_token() -> None:
    with pytest.raises(DocumentError) as caught:
        StoredCatalogue.parse(b"{not json", token="tok")
    assert caught.value.token == "tok"


def test_a_newer_schema_is_refused() -> None:
    data = written([make_photo(1)]).replace(b'"version":1', b'"version":9', 1)
    with pytest.raises(NewerSchemaError):
        StoredCatalogue.parse(data)


def test_videos_are_known_without_parsing_every_record() -> None:
    stored = StoredCatalogue.parse(written([make_photo(1), make_photo(2, media="video")]))
    assert stored.videos == {1}

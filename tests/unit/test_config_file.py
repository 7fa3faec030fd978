"""The config file writer: what it writes tomllib reads back, 0600, and a failed write leaves the file as it was."""

from __future__ import annotations

import datetime as dt
import stat
import tomllib
from pathlib import Path

import pytest

from pierrot.entrypoints import config_file


def test_every_kind_of_value_round_trips() -> None:
    document = {
        "flickr": {"api_key": 'a"b\\c\n\td\x01\x7fé', "user": "12345678@N00"},
        "publish": {"link": True, "alt_text": False, "networks": ["x", "bluesky"], "lease_seconds": 900,
                    "taken_after": dt.date(2020, 1, 2)},
        "store": {"http_timeout": 12.5, "url": "s3://bucket/prefix"},
        "odd section": {"key with space": "v", "nested": {"a": 1}},
    }
    assert tomllib.loads(config_file.dumps(document)) == document


def test_merge_keeps_what_is_not_changed_and_names_what_is() -> None:
    merged, changed = config_file.merge(
        {"flickr": {"user": "old", "api_key": "k"}, "publish": {"template": "{title}"}},
        {("flickr", "user"): "new", ("flickr", "api_key"): "k", ("x", "api_key"): "xk"},
    )
    assert merged == {"flickr": {"user": "new", "api_key": "k"}, "publish": {"template": "{title}"},
                      "x": {"api_key": "xk"}}
    assert changed == ["[flickr] user", "[x] api_key"]


def test_write_makes_a_0600_file_in_a_0700_folder(tmp_path: Path) -> None:
    path = tmp_path / "new" / "pierrot" / "config.toml"
    config_file.write(path, {"flickr": {"api_secret": "s"}})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert config_file.read(path) == {"flickr": {"api_secret": "s"}}
    assert [p.name for p in path.parent.iterdir()] == ["config.toml"]


def test_a_failed_write_leaves_the_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[flickr]\nuser = "kept"\n')
    with pytest.raises(TypeError):
        config_file.write(path, {"flickr": {"user": object()}})
    assert path.read_text() == '[flickr]\nuser = "kept"\n'
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]


def test_an_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[flickr\n")
    from pierrot.errors import ConfigError

    with pytest.raises(ConfigError, match="cannot be read as TOML"):
        config_file.read(path)

"""What pierrot prints shows every control character instead of letting the terminal act on it."""

from __future__ import annotations

import json

import pytest

from pierrot.logs import printable, printable_json

ACTED_ON = ["\x00", "\x07", "\x08", "\t", "\r", "\x1b", "\x7f", "\x85", "\x9b", "\u061c", "\u200e", "\u200f",
            "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]


@pytest.mark.parametrize("char", ACTED_ON)
def test_each_control_is_shown_as_a_visible_escape(char: str) -> None:
    shown = printable(f"a{char}b")
    assert char not in shown
    assert shown.startswith("a\\") and shown.endswith("b")


def test_escape_sequences_are_shown_as_written() -> None:
    assert printable("\x1b]0;owned\x07") == "\\x1b]0;owned\\x07"
    assert printable("abc\u202edef") == "abc\\u202edef"
    assert printable("café, 東京, emoji 📷") == "café, 東京, emoji 📷", "printable text is left alone"


def test_a_newline_stays_only_where_several_lines_are_meant() -> None:
    assert printable("one\ntwo") == "one\\ntwo"
    assert printable("one\ntwo\x1b", multiline=True) == "one\ntwo\\x1b"


def test_json_keeps_its_value_and_loses_its_raw_controls() -> None:
    value = {"title": "Boats\x1b[2J\x7f\x9b\u202e é"}
    text = printable_json(json.dumps(value, ensure_ascii=False))
    assert json.loads(text) == value
    assert not any(c in text for c in ACTED_ON)
    assert "é" in text

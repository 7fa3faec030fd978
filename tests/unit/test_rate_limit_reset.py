"""When a rate limit resets, read from whichever header a network sends (the publishers' shared base)."""

from __future__ import annotations

import pytest
from requests.structures import CaseInsensitiveDict

from pierrot.adapters.http_failures import resets
from pierrot.adapters.networks.base import reset_time

NOW = 1_777_636_800.4  # 2026-05-01T12:00:00.4Z


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-RateLimit-Reset": "2026-05-01T12:10:00.000Z"}, 1_777_637_400),  # Mastodon: ISO 8601
        ({"X-RateLimit-Reset": "1777637400"}, 1_777_637_400),  # Laravel (Pixelfed): unix time
        ({"x-rate-limit-reset": "1777637400"}, 1_777_637_400),  # X
        ({"ratelimit-reset": "1777637400"}, 1_777_637_400),  # Bluesky's PDS: unix time
        ({"RateLimit-Reset": "600"}, 1_777_637_401),  # the IETF draft: seconds from now
        ({"Retry-After": "600"}, 1_777_637_401),
        ({"Retry-After": "Fri, 01 May 2026 12:10:00 GMT"}, 1_777_637_400),
        ({"X-RateLimit-Reset": "soon", "Retry-After": "60"}, 1_777_636_861),
        ({}, None),
        ({"Retry-After": "whenever"}, None),
    ],
)
def test_the_reset_is_read_from_each_network_s_header(headers: dict[str, str], expected: int | None) -> None:
    assert reset_time(CaseInsensitiveDict(headers), NOW) == expected


def test_the_reset_is_said_as_a_time_and_minutes_from_now() -> None:
    assert resets(None) == "try again later"
    assert resets(1_777_637_400, now=NOW).endswith("(in 10 minutes)")
    assert resets(1_777_636_800, now=NOW).endswith("(now)")

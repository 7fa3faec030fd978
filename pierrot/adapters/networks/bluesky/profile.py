"""The account's profile record: the `bot` self-label the Bluesky app shows as an automated account's badge."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests

from pierrot.adapters.networks.bluesky.answers import _Failure, _field
from pierrot.errors import PublishError
from pierrot.ports import BotFlag

if TYPE_CHECKING:
    from pierrot.adapters.networks.bluesky import BlueskyPublisher

PROFILE = "app.bsky.actor.profile"
SELF_LABELS = "com.atproto.label.defs#selfLabels"
# Not one of com.atproto.label.defs' global values: a value the Bluesky app reads since March 2026
# (bluesky-social/social-app#10008, "Automation label"); other apps may ignore it.
BOT_LABEL = "bot"
BOT_HOW = "Settings → Account → Automation label in the Bluesky app"


def bot_flag(publisher: BlueskyPublisher) -> BotFlag:
    """Whether the profile record carries the `bot` self-label."""
    profile, _ = _profile(publisher)
    return BotFlag(BOT_LABEL in _labels(profile), BOT_HOW, settable=True)


def set_bot_flag(publisher: BlueskyPublisher) -> None:
    """Add the `bot` self-label to the profile record, every other field kept (swapRecord: no edit lost)."""
    profile, cid = _profile(publisher)
    if BOT_LABEL in _labels(profile):
        return
    found = profile.get("labels")
    labels: dict[str, Any] = found if isinstance(found, dict) else {}
    values = [v for v in labels.get("values", []) if isinstance(v, dict)] + [{"val": BOT_LABEL}]
    record = {"$type": PROFILE, **profile, "labels": {**labels, "$type": SELF_LABELS, "values": values}}
    body = {"repo": publisher._login().did, "collection": PROFILE, "rkey": "self", "record": record,
            "swapRecord": cid}
    _call(publisher, "mark the account as automated", "com.atproto.repo.putRecord", json_body=body)


def _labels(profile: dict[str, Any]) -> set[str]:
    labels = profile.get("labels")
    values = labels.get("values") if isinstance(labels, dict) else None
    return {str(v.get("val")) for v in values if isinstance(v, dict)} if isinstance(values, list) else set()


def _profile(publisher: BlueskyPublisher) -> tuple[dict[str, Any], str | None]:
    """The profile record and its cid; an empty record and None when the account has none yet."""
    try:
        did = publisher._login().did
    except _Failure as exc:
        raise PublishError(str(exc)) from None
    response = _call(publisher, "read the profile", "com.atproto.repo.getRecord", ok=(200, 400),
                     params={"repo": did, "collection": PROFILE, "rkey": "self"})
    if response.status_code == 400:  # RecordNotFound: a profile never edited
        return {}, None
    value, cid = _field(response, "value"), _field(response, "cid")
    return (value if isinstance(value, dict) else {}), (cid if isinstance(cid, str) else None)


def _call(
    publisher: BlueskyPublisher, action: str, nsid: str, *, ok: tuple[int, ...] = (200,), **kwargs: Any
) -> requests.Response:
    method = "POST" if "json_body" in kwargs else "GET"
    try:
        response = publisher._xrpc(method, nsid, **kwargs)
    except _Failure as exc:
        raise PublishError(str(exc)) from None
    except requests.RequestException as exc:
        raise publisher._call_failed(action, exc) from None
    if response.status_code not in ok:
        raise PublishError(publisher._refusal(action, response))
    return response

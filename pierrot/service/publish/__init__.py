"""The publish use case, one module per step: options and report, the log protocol, choosing, images, texts,
posting, settling, and the run that strings them together (``run.publish``)."""

from __future__ import annotations

from pierrot.service.publish.choosing import MAX_PHOTO_TRIES
from pierrot.service.publish.log import FUTURE_TOLERANCE_SECONDS, longest_hold
from pierrot.service.publish.options import NetworkOptions, NetworkResult, PublishOptions, PublishReport
from pierrot.service.publish.run import publish
from pierrot.service.publish.texts import DUPLICATE_TEXT_REASON

__all__ = [
    "DUPLICATE_TEXT_REASON",
    "FUTURE_TOLERANCE_SECONDS",
    "MAX_PHOTO_TRIES",
    "NetworkOptions",
    "NetworkResult",
    "PublishOptions",
    "PublishReport",
    "longest_hold",
    "publish",
]

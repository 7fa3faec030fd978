"""The use cases: sync, publish, the read-only queries (status, history, checks) and resolve.

The CLI and the Lambda handlers call only this package. It talks to the outside through the ports alone:
it imports no SDK and names no network."""

from __future__ import annotations

from pierrot.service.gallery import Gallery, GalleryItem, PostLink, gallery
from pierrot.service.publish import (
    DUPLICATE_TEXT_REASON,
    FUTURE_TOLERANCE_SECONDS,
    MAX_PHOTO_TRIES,
    NetworkOptions,
    NetworkResult,
    PublishOptions,
    PublishReport,
    longest_hold,
    publish,
)
from pierrot.service.queries import (
    CheckResult,
    CheckWarning,
    HistoryItem,
    NetworkStatus,
    Status,
    check_bot,
    check_documents,
    check_flickr,
    check_silence,
    history,
    run_checks,
    status,
)
from pierrot.service.resolve import resolve
from pierrot.service.sync import SyncReport, sync

__all__ = [
    "DUPLICATE_TEXT_REASON",
    "FUTURE_TOLERANCE_SECONDS",
    "MAX_PHOTO_TRIES",
    "CheckResult",
    "CheckWarning",
    "Gallery",
    "GalleryItem",
    "HistoryItem",
    "NetworkOptions",
    "NetworkResult",
    "NetworkStatus",
    "PostLink",
    "PublishOptions",
    "PublishReport",
    "Status",
    "SyncReport",
    "check_bot",
    "check_documents",
    "check_flickr",
    "check_silence",
    "gallery",
    "history",
    "longest_hold",
    "publish",
    "resolve",
    "run_checks",
    "status",
    "sync",
]

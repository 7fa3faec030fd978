"""pierrot's own exceptions: each carries the one line a user needs and an exit code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NOTHING_TO_PUBLISH = 3


class PierrotError(Exception):
    """Base of every expected failure; ``str(err)`` is the line shown to the user."""

    exit_code = EXIT_FAILURE


class ConfigError(PierrotError):
    """A setting is missing or malformed."""

    exit_code = EXIT_USAGE


class UsageError(PierrotError):
    """The command line asks for something that cannot be done as asked."""

    exit_code = EXIT_USAGE


class NothingToPublish(PierrotError):
    """No photo is eligible for publishing."""

    exit_code = EXIT_NOTHING_TO_PUBLISH


class CatalogueMissing(NothingToPublish):
    """There is no catalogue to choose from: sync never ran, or the store location is wrong.

    The CLI keeps exit code 3 for it (as when nothing is left), but a scheduled publish must treat it as a
    failure: it means no photo will ever be posted until someone looks."""


class DuplicateEvent(PierrotError):
    """This scheduled event was already handled by an earlier invocation (the scheduler delivered it twice)."""

    exit_code = EXIT_OK


class StoreError(PierrotError):
    """The document store could not be read or written."""


class ConflictError(StoreError):
    """A conditional write lost: someone else wrote the document in between."""

    def __init__(self, document: str) -> None:
        super().__init__(f"{document} was changed by another run while this one worked; run again")
        self.document = document


class DocumentError(StoreError):
    """A document exists but is not valid JSON or not of the expected schema."""

    def __init__(self, document: str, problem: str, advice: str = "", *, token: str | None = None) -> None:
        text = f"{document} is unreadable: {problem}"
        if advice:
            text += f"; {advice}"
        super().__init__(text)
        self.document = document
        # The version token of the bad document, so that sync alone may rebuild derived data over it.
        self.token = token


class FlickrError(PierrotError):
    """Flickr refused a call or could not be reached."""


class PublishError(PierrotError):
    """The social network refused or failed a call."""


class ImageError(PierrotError):
    """No size of the photo could be downloaded as an acceptable image."""


class SizeUnavailable(ImageError):
    """One size of a photo cannot be used (refused, missing, too large, not an image); the next may."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status


class PhotoGone(ImageError):
    """Every size of the photo answers 404 or 410: deleted or made private on Flickr since the last sync."""


class AnotherRunActive(PierrotError):
    """Another publish holds a live lease in the publish log."""


class PostRefused(PublishError):
    """The network refused the post before publishing anything: the photo may be chosen again."""

    def __init__(self, message: str, *, status: int | None = None, reset_time: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reset_time = reset_time


class DuplicatePost(PublishError):
    """The network says this content is already posted."""


class PostOutcomeUnknown(PublishError):
    """The post request may or may not have been accepted (5xx, timeout, lost connection)."""

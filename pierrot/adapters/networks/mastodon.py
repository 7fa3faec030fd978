"""The Mastodon adapter (Pixelfed too): media with alt text, and posts made once with an Idempotency-Key.

Mastodon keeps the ``Idempotency-Key`` of a status for an hour after the status is saved: the same request
again returns the original. That is how an interrupted post is settled within the hour; after it, the account's
own recent statuses are searched for the uploaded media. Pixelfed stores the key *before* posting and answers a
repeat with 400 "Duplicate idempotency key.": evidence that the first request arrived, not the post itself.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import html
import logging
import math
import re
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import regex  # type: ignore[import-untyped,unused-ignore]
import requests

from pierrot import __version__
from pierrot.adapters.http import (
    DEADLINE_FACTOR,
    ApiSession,
    RedirectRefused,
    describe_failure,
    post_failure,
    require_safe_url,
    sent_credentials,
)
from pierrot.domain import parse_iso
from pierrot.errors import ConfigError, DuplicatePost, PostOutcomeUnknown, PostRefused, PublishError
from pierrot.logs import excerpt, scrub
from pierrot.ports import Attempt, FetchedImage, NetworkRules, Post, Publisher, Settled

log = logging.getLogger(__name__)

USER_AGENT = f"pierrot/{__version__} (+https://github.com/pierrot-photo/pierrot)"
URL_SETTING = "PIERROT_MASTODON_URL"
TOKEN_SETTING = "PIERROT_MASTODON_ACCESS_TOKEN"
VISIBILITY_SETTING = "PIERROT_MASTODON_VISIBILITY"
VISIBILITIES = ("public", "unlisted", "private", "direct")
CREDENTIALS_HELP = (
    f"check {TOKEN_SETTING}: the access token needs the scopes write:media write:statuses read:accounts, and "
    "read:statuses to settle an interrupted post that is not public (Pixelfed: read write)"
)

TEXT_LIMIT = 500
URL_CHARS = 23  # characters_reserved_per_url: every URL counts this many, whatever its length
ALT_LIMIT = 1500  # description_limit, reported since 4.4 and 1500 before it
IMAGE_BYTES = 16_777_216
IMAGE_PIXELS = 33_177_600  # image_matrix_limit: the largest image an instance accepts
# ...but what it keeps: media_attachment.rb's IMAGE_STYLES scale every original to 8,294,400 pixels (3840x2160).
# Anything larger is only bandwidth spent to be thrown away, so pierrot sends at most this.
KEPT_PIXELS = 8_294_400
PIXELFED_ALT_LIMIT = 1000  # pixelfed.max_altext_length, not reported by the instance
PIXELFED_IMAGE_BYTES = 15_000 * 1024  # pixelfed.max_photo_size, in KB

MEDIA_WAIT = 60.0  # the longest wait for the server to process an upload, in seconds
MEDIA_POLL_FIRST = 1.0
MEDIA_POLL_MAX = 5.0
# Mastodon keeps an Idempotency-Key for an hour after the status is saved; past this age, it may be gone.
KEY_WINDOW = 55 * 60
STATUSES_PAGE = 40  # the most /api/v1/accounts/:id/statuses gives at once
STATUSES_PAGES = 2
CLOCK_SKEW = 300  # how far the server's clock may be behind ours when a status's time is compared
UPLOAD_SPEED = 256 * 1024  # bytes per second an upload is allowed, beyond the usual deadline of a call

# ---- how Mastodon counts a status ---------------------------------------------------------------------------
# StatusLengthValidator: the text is stripped, every URL with a scheme counts characters_reserved_per_url, a
# mention @user@domain counts as @user, and the rest counts in grapheme clusters. The URL expression follows
# twitter-text as Mastodon patches it (config/initializers/twitter_regex.rb), except that any alphabetic TLD
# is accepted where twitter-text wants one from its list.

_GENERAL = r"[^\p{White_Space}<>()?]"
_BALANCED = rf"\((?:{_GENERAL}+|{_GENERAL}*\({_GENERAL}+\){_GENERAL}*)\)"
_ENDING = rf"(?:[^\p{{White_Space}}()?!*\"'「」<>;:=,.$%\[\]~&|@]|{_BALANCED})"
_PATH = rf"(?:{_GENERAL}*(?:{_BALANCED}{_GENERAL}*)*{_ENDING}|{_GENERAL}+/)"
_UCHARS = "\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef\U00010000-\U0010fffd"
_LABEL_CHAR = r"[^\p{White_Space}\p{Cc}!-/:-@\[-`{-~]"  # anything but spaces, controls and ASCII punctuation
_URL = regex.compile(
    rf"""
    (?<![A-Za-z0-9@＠$#＃])
    (?:https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini)://
    (?:{_LABEL_CHAR}(?:[_-]*{_LABEL_CHAR})*\.)+(?:xn--[a-z0-9-]+|\p{{L}}{{2,63}})(?![\p{{L}}\p{{N}}_@-])
    (?::[0-9]+)?
    (?:/{_PATH}*)?
    (?:\?[a-z0-9!?*'();:&=+$/%\#\[\]\-_.,~|@^{_UCHARS}]*[a-z0-9_&=\#/\-{_UCHARS}])?
    """,
    regex.VERBOSE | regex.IGNORECASE,
)
# Account::MENTION_RE; a mention followed by @, a Latin accent or :// is not one (twitter-text end_mention_match).
# Atomic, as Ruby scans: the longest mention is found first, then rejected, never shortened until it fits.
_MENTION = regex.compile(
    r"(?<![=/\w])@(?>([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@\w+(?:[.-]+\w+)*)?)"
    r"(?![@＠\u00c0-\u024f\u0300-\u036f\u1e00-\u1eff]|://)",
    regex.IGNORECASE,
)
_GRAPHEME = regex.compile(r"\X")
_RUBY_SPACE = " \t\n\v\f\r\0"  # what Ruby's String#strip removes


def mastodon_length(text: str, url_chars: int = URL_CHARS) -> int:
    """The length Mastodon counts against max_characters: graphemes, a URL as ``url_chars``, @user@domain as @user."""
    text = text.strip(_RUBY_SPACE)
    entities = [(m.start(), m.end(), "x" * url_chars) for m in _URL.finditer(text)]
    entities += [(m.start(), m.end(), "@" + m.group(1)) for m in _MENTION.finditer(text)]
    entities.sort()
    parts: list[str] = []
    position = 0
    for start, end, replacement in entities:
        if start < position:  # overlaps one kept before it (a mention inside a URL): the first wins
            continue
        parts += [text[position:start], replacement]
        position = end
    parts.append(text[position:])
    return sum(1 for _ in _GRAPHEME.finditer("".join(parts)))


def pixelfed_length(text: str) -> int:
    """The length Pixelfed counts against its caption limit: code points of the trimmed text (Laravel ``max``)."""
    return len(text.strip())


DEFAULT_RULES = NetworkRules(
    name="mastodon",
    display="Mastodon",
    text_limit=TEXT_LIMIT,
    measure=mastodon_length,
    unit="characters",
    alt_limit=ALT_LIMIT,
    max_image_bytes=IMAGE_BYTES,
    max_image_pixels=KEPT_PIXELS,
    settles_unknown=True,
)


def is_pixelfed(doc: Any) -> bool:
    """True when an instance document is Pixelfed's (its version says "compatible; Pixelfed ...")."""
    return isinstance(doc, dict) and "pixelfed" in str(doc.get("version", "")).lower()


def rules_from_instance(doc: Any) -> NetworkRules:
    """The rules an instance document (/api/v2/instance or /api/v1/instance) declares, defaults where it is silent."""
    doc = doc if isinstance(doc, dict) else {}
    configuration = _mapping(doc.get("configuration"))
    statuses = _mapping(configuration.get("statuses"))
    media = _mapping(configuration.get("media_attachments"))
    pixelfed = is_pixelfed(doc)
    text_limit = _count(statuses.get("max_characters")) or _count(doc.get("max_toot_chars")) or TEXT_LIMIT
    reserved = _count(statuses.get("characters_reserved_per_url"), zero=True)
    url_chars = URL_CHARS if reserved is None else reserved
    max_bytes = _count(media.get("image_size_limit")) or _count(doc.get("upload_limit"))
    alt_limit = _count(media.get("description_limit")) or _count(doc.get("description_limit"))
    if pixelfed:
        return NetworkRules(
            name=DEFAULT_RULES.name,
            display="Pixelfed",
            text_limit=text_limit,
            measure=pixelfed_length,
            unit="characters",
            alt_limit=alt_limit or PIXELFED_ALT_LIMIT,
            max_image_bytes=max_bytes or PIXELFED_IMAGE_BYTES,
            max_image_pixels=_count(media.get("image_matrix_limit")),
            settles_unknown=True,
        )
    measure = mastodon_length if url_chars == URL_CHARS else functools.partial(mastodon_length, url_chars=url_chars)
    return NetworkRules(
        name=DEFAULT_RULES.name,
        display=DEFAULT_RULES.display,
        text_limit=text_limit,
        measure=measure,
        unit="characters",
        alt_limit=alt_limit or ALT_LIMIT,
        max_image_bytes=max_bytes or IMAGE_BYTES,
        max_image_pixels=min(_count(media.get("image_matrix_limit")) or IMAGE_PIXELS, KEPT_PIXELS),
        settles_unknown=True,
    )


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(value: Any, *, zero: bool = False) -> int | None:
    """A positive whole number from a JSON value (or its digits as a string), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and (value > 0 or (zero and value == 0)):
        return value
    return None


def cut_alt_text(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters (code points, as the servers count), never inside a grapheme."""
    if len(text) <= limit:
        return text
    kept = 0
    for grapheme in _GRAPHEME.finditer(text):
        if grapheme.end() > limit:
            break
        kept = grapheme.end()
    return text[:kept].rstrip()


# ---- the adapter --------------------------------------------------------------------------------------------


class _CredentialsRefused(PublishError):
    """401 or 403: the token is wrong or lacks a scope (asking again cannot help)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class MastodonPublisher(Publisher):
    """One Mastodon (or Pixelfed) account, with a bearer access token."""

    def __init__(
        self,
        *,
        url: str,
        access_token: str,
        visibility: str = "public",
        timeout: float = 30.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        require_safe_url(url, URL_SETTING)
        if visibility not in VISIBILITIES:
            raise ConfigError(f"{VISIBILITY_SETTING}={visibility!r} is not one of {', '.join(VISIBILITIES)}")
        self.rules = DEFAULT_RULES
        self._url = url.rstrip("/")
        self._host = urlsplit(self._url).hostname or self._url
        self._domain = self._host
        self._token = access_token
        self._visibility = visibility
        self._searched_back = False  # whether the last search read back past the attempt (or the whole listing)
        self._searched = 0  # how many statuses the last search read
        self._timeout = timeout
        self._session = session or ApiSession(timeout, user_agent=USER_AGENT)
        self._sleep = sleep
        self._clock = clock
        self._prepared = False
        self._account_id: str | None = None

    # ---- once per run ----------------------------------------------------------------------------------------

    def prepare(self) -> NetworkRules:
        """Read the instance's limits (once); returns the rules in force."""
        if self._prepared:
            return self.rules
        action = "read the instance's limits"
        response = self._call(action, "GET", "/api/v2/instance", ok=(200, 404, 410), auth=False)
        if response.status_code != 200:  # before Mastodon 4.0, or a server with only the first version
            response = self._call(action, "GET", "/api/v1/instance", auth=False)
        doc = _json(response)
        if not isinstance(doc, dict):
            raise PublishError(
                f"{self._url} did not answer /api/v2/instance with an instance document: check {URL_SETTING}"
            )
        self.rules = rules_from_instance(doc)
        domain = doc.get("domain") or doc.get("uri")  # v2 says domain; v1's uri is the domain too
        if isinstance(domain, str) and re.fullmatch(r"[A-Za-z0-9.-]{1,253}", domain):
            self._domain = domain
        self._prepared = True
        log.debug("%s limits: %s", self.rules.display, self.rules)
        return self.rules

    def account(self) -> str | None:
        """The account id the token belongs to (one call, once per run)."""
        return self._account()

    def new_attempt(self, created_at: str) -> Attempt:
        """A fresh Idempotency-Key for a new post."""
        return Attempt(key=uuid.uuid4().hex, created_at=created_at)

    def whoami(self) -> str:
        """The handle of the account the token belongs to, as @user@domain."""
        account = self._verify_credentials()
        acct = str(account.get("acct") or account.get("username") or "")
        if not acct:
            raise PublishError(f"{self.rules.display} accepted the token but did not say which account it is")
        return f"@{acct}" if "@" in acct else f"@{acct}@{self._domain}"

    # ---- nothing public yet: any failure is a plain PublishError ---------------------------------------------

    def upload_media(self, image: FetchedImage, alt_text: str | None, *, text: str = "") -> str:
        """Upload the image with its alt text, wait until the server has processed it; returns the media id."""
        rules = self.rules
        if image.nbytes > rules.max_image_bytes:
            raise PublishError(
                f"the image is {image.nbytes:,} bytes and {rules.display} accepts at most "
                f"{rules.max_image_bytes:,}: choose a smaller size"
            )
        if rules.max_image_pixels and image.width * image.height > rules.max_image_pixels:
            raise PublishError(
                f"the image is {image.width}×{image.height} pixels and {rules.display} accepts at most "
                f"{rules.max_image_pixels:,} pixels: choose a smaller size"
            )
        data = {"description": cut_alt_text(alt_text, rules.alt_limit)} if alt_text else {}
        try:
            with image.path.open("rb") as media, self._upload_budget(image.nbytes):
                response = self._call(
                    "upload the image",
                    "POST",
                    "/api/v2/media",
                    ok=(200, 202),
                    files={"file": (image.path.name, media, image.mime_type)},
                    data=data,
                )
        except OSError as exc:
            raise PublishError(f"cannot read the image {image.path}: {exc.strerror or exc}") from None
        media_id = _field(_json(response), "id")
        if media_id is None:
            raise PublishError(
                f"{rules.display} accepted the image upload but its answer has no media id "
                f"(HTTP {response.status_code})"
            )
        if response.status_code == 202:
            self._wait_for_processing(media_id)
        return media_id

    def _wait_for_processing(self, media_id: str) -> None:
        """Poll the media until the server has processed it (206 while it works), for at most MEDIA_WAIT."""
        deadline = self._clock() + MEDIA_WAIT
        interval = MEDIA_POLL_FIRST
        while True:
            left = deadline - self._clock()
            if left <= 0:
                raise PublishError(
                    f"{self.rules.display} was still processing the image {MEDIA_WAIT:g} s after the upload; "
                    "try again later"
                )
            self._sleep(min(interval, left))
            interval = min(interval + 1, MEDIA_POLL_MAX)
            response = self._call(
                "check the uploaded image", "GET", f"/api/v1/media/{quote(media_id, safe='')}", ok=(200, 206)
            )
            if response.status_code == 200:
                return

    @contextlib.contextmanager
    def _upload_budget(self, nbytes: int) -> Iterator[None]:
        """Give the upload call time to send its bytes, beyond the usual deadline of a call."""
        session = self._session
        if not isinstance(session, ApiSession):
            yield
            return
        usual = session.budget
        session.budget = DEADLINE_FACTOR * self._timeout + nbytes / UPLOAD_SPEED
        try:
            yield
        finally:
            session.budget = usual

    # ---- the post ----------------------------------------------------------------------------------------------

    def create_post(self, text: str, media_ids: list[str], attempt: Attempt) -> Post:
        """Publish with the attempt's Idempotency-Key; PostRefused, DuplicatePost or PostOutcomeUnknown otherwise."""
        display = self.rules.display
        form = [("status", text), *(("media_ids[]", m) for m in media_ids), ("visibility", self._visibility)]
        headers = {"Idempotency-Key": attempt.key} if attempt.key else {}
        try:
            response = self._send("POST", "/api/v1/statuses", data=form, headers=headers)
        except requests.RequestException as exc:
            redirected = self._scrub(self._redirected("post", exc)) if isinstance(exc, RedirectRefused) else ""
            raise post_failure(exc, display, reason=self._scrub(self._reason(exc)), redirected=redirected) from exc
        status = response.status_code
        if status == 200:
            post = self._post_from(_json(response))
            if post is None:
                raise PostOutcomeUnknown(f"{display} answered the post request without a status id")
            return post
        detail = _error_text(response)
        if _is_duplicate_key(status, detail):
            raise DuplicatePost(
                f"{display} has already seen this post's Idempotency-Key ({status}: {detail}): an earlier attempt "
                "reached it"
            )
        if status == 422 and _is_media_taken(detail):
            raise DuplicatePost(
                f"{display} says the image is already attached to a post (422: {detail}): an earlier attempt was posted"
            )
        if 400 <= status < 500:
            reset = _reset_time(response, self._clock) if status == 429 else None
            raise PostRefused(self._scrub(self._refusal("post", response)), status=status, reset_time=reset)
        raise PostOutcomeUnknown(f"{display} answered HTTP {status} to the post request")

    def settle(self, attempt: Attempt, text: str, started_at: str) -> Settled:
        """Whether an interrupted post exists: within the hour its Idempotency-Key settles it, else a search.

        Within the hour nothing is sent from here: the answer is ``same_key``, and the publish run sends the post
        again with the same key under a lease of its own, so that one run makes at most one post and two runs
        never send it together. Mastodon answers the repeat with the original status if there is one."""
        started = parse_iso(started_at)
        try:
            recent = started is not None and self._clock() - started.timestamp() < KEY_WINDOW
            if attempt.key and started is not None and recent:
                return Settled(posted=None, same_key=True,
                               reason=f"within the hour of its Idempotency-Key, {self.rules.display} keeps one post")
            return self._settle_by_search(attempt, text, started)
        except _CredentialsRefused:
            raise
        except PublishError as exc:
            return Settled(posted=None, reason=f"{self.rules.display} cannot tell: {exc}")

    def _settle_by_search(self, attempt: Attempt, text: str, started: dt.datetime | None) -> Settled:
        found = self._search(attempt, text, started)
        if found is not None:
            return Settled(posted=True, post=found)
        if not self._searched_back:
            # The account posted more since than the pages read: its absence there proves nothing.
            return Settled(posted=None, reason=(
                f"the account's latest {STATUSES_PAGE * STATUSES_PAGES} statuses on {self.rules.display} do not "
                "reach back to the attempt; check the account, then `pierrot resolve --network mastodon`"))
        what = (f"the image{'s' if len(attempt.media_ids) > 1 else ''} {', '.join(attempt.media_ids)}"
                if attempt.media_ids else "no image")
        return Settled(
            posted=False,
            reason=(
                f"no status of the account on {self.rules.display} since the attempt ({self._searched} read) "
                f"has {what} or this text"
            ),
        )

    def _search(self, attempt: Attempt, text: str, started: dt.datetime | None) -> Post | None:
        """The account's recent status with the attempt's media (or, made since it started, its text)."""
        account_id = self._account()
        wanted = _plain(text)
        since = None if started is None else started.timestamp() - CLOCK_SKEW
        same_text: Post | None = None
        max_id: str | None = None
        self._searched_back = False
        self._searched = 0
        # A token without read:statuses is refused the list (403); the public can read public and unlisted posts.
        anonymous = False
        for _ in range(STATUSES_PAGES):
            params = {"limit": str(STATUSES_PAGE), "exclude_reblogs": "true"}
            if max_id:
                params["max_id"] = max_id
            route = f"/api/v1/accounts/{quote(account_id, safe='')}/statuses"
            action = "read the account's statuses"
            try:
                response = self._call(action, "GET", route, params=params, auth=not anonymous)
            except _CredentialsRefused as exc:
                if anonymous or exc.status != 403 or self._visibility not in ("public", "unlisted"):
                    raise
                anonymous = True
                response = self._call(action, "GET", route, params=params, auth=False)
            page = _json(response)
            if not isinstance(page, list):
                raise PublishError(f"{self.rules.display} answered the list of statuses with something else")
            statuses = [s for s in page if isinstance(s, dict)]
            self._searched += len(statuses)
            for status in statuses:
                if not _media_ids(status).isdisjoint(attempt.media_ids):
                    return self._post_from(status)
                made = parse_iso(str(status.get("created_at") or ""))
                if (
                    same_text is None
                    and not attempt.media_ids  # with media ids, only the media says which status is this one's
                    and since is not None
                    and made is not None
                    and made.timestamp() >= since
                    and _status_text(status) == wanted
                ):
                    same_text = self._post_from(status)
            oldest = parse_iso(str(statuses[-1].get("created_at") or "")) if statuses else None
            if (not statuses or len(statuses) < STATUSES_PAGE
                    or (since is not None and oldest is not None and oldest.timestamp() < since)):
                self._searched_back = True
                break  # the whole listing was read, or nothing older can be this attempt's
            max_id = _field(statuses[-1], "id")
            if max_id is None:
                break
        return same_text

    def _account(self) -> str:
        if self._account_id is None:
            self._verify_credentials()
        if self._account_id is None:
            raise PublishError(f"{self.rules.display} accepted the token but did not say which account it is")
        return self._account_id

    def _verify_credentials(self) -> dict[str, Any]:
        doc = _json(self._call("check the access token", "GET", "/api/v1/accounts/verify_credentials"))
        if not isinstance(doc, dict):
            raise PublishError(f"{self.rules.display} answered the credentials check with something that is not JSON")
        self._account_id = _field(doc, "id")
        return doc

    def _post_from(self, doc: Any) -> Post | None:
        post_id = _field(doc, "id")
        if post_id is None:
            return None
        url = _field(doc, "url") or _field(doc, "uri") or f"{self._url}/statuses/{post_id}"
        return Post(post_id, url)

    # ---- plumbing ----------------------------------------------------------------------------------------------

    def _send(self, method: str, route: str, *, auth: bool = True, **kwargs: Any) -> requests.Response:
        """One request with the token, the timeout, and no redirect followed (whatever session was given)."""
        # Laravel (Pixelfed) answers an error in JSON only to a client that asks for JSON.
        headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
        if auth:
            headers["Authorization"] = f"Bearer {self._token}"
        response = self._session.request(
            method, self._url + route, headers=headers, timeout=self._timeout, allow_redirects=False, **kwargs
        )
        if 300 <= response.status_code < 400:
            response.close()
            raise RedirectRefused(response.status_code, "another location", response=response)
        log.debug("%s %s %s: HTTP %s", self.rules.display, method, route, response.status_code)
        return response

    def _call(
        self, action: str, method: str, route: str, *, ok: tuple[int, ...] = (200,), **kwargs: Any
    ) -> requests.Response:
        """A request whose failure is a PublishError saying what to do (a _CredentialsRefused for 401 and 403)."""
        try:
            response = self._send(method, route, **kwargs)
        except RedirectRefused as exc:
            raise PublishError(self._scrub(self._redirected(action, exc))) from exc
        except requests.RequestException as exc:
            raise PublishError(
                self._scrub(f"could not reach {self.rules.display} to {action}: {self._reason(exc)}")
            ) from exc
        if response.status_code in ok:
            return response
        message = self._scrub(self._refusal(action, response))
        if response.status_code in (401, 403):
            raise _CredentialsRefused(message, response.status_code)
        raise PublishError(message)

    def _refusal(self, action: str, response: requests.Response) -> str:
        """One line for an HTTP error answer."""
        display = self.rules.display
        status = response.status_code
        detail = _error_text(response)
        said = f": {detail}" if detail else ""
        if status == 401:
            return f"{display} rejected the access token (401{said}); {CREDENTIALS_HELP}"
        if status == 403:
            return f"{display} refused the request to {action} (403 Forbidden{said}); {CREDENTIALS_HELP}"
        if status == 404:
            return f"{display} answered 404 Not Found when asked to {action}{said}: check {URL_SETTING}"
        if status == 413:
            return f"{display} refused the request to {action}: too large for the server (413)"
        if status == 429:
            return (
                f"{display} refused the request to {action}: rate limit reached (429); "
                f"{_resets(_reset_time(response, self._clock), self._clock)}"
            )
        if status >= 500:
            return f"{display} failed the request to {action} (HTTP {status}{said}); try again later"
        return f"{display} refused the request to {action} (HTTP {status}{said})"

    def _redirected(self, action: str, exc: RedirectRefused) -> str:
        return (
            f"{self.rules.display} answered the request to {action} with a redirect (HTTP {exc.status} to "
            f"{exc.target}); pierrot never follows one on an API call: check {URL_SETTING}"
        )

    def _reason(self, exc: requests.RequestException) -> str:
        return describe_failure(exc, self._host, self._timeout)

    def _scrub(self, text: str) -> str:
        return scrub(text, [self._token] if self._token else [])


# ---- reading answers ------------------------------------------------------------------------------------------


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _field(doc: Any, name: str) -> str | None:
    value = doc.get(name) if isinstance(doc, dict) else None
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        return None
    return str(value)


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")


def _media_ids(status: dict[str, Any]) -> set[str]:
    media = status.get("media_attachments")
    return {str(m.get("id")) for m in media if isinstance(m, dict)} if isinstance(media, list) else set()


def _error_text(response: requests.Response) -> str:
    """The server's own error message (Mastodon's ``error``, Laravel's ``message``), on one printable line, without
    the credentials the request carried (scrubbed before it is cut)."""
    doc = _json(response)
    text = ""
    if isinstance(doc, dict):
        for key in ("error", "message", "error_description"):
            if isinstance(doc.get(key), str) and doc[key].strip():
                text = doc[key]
                break
    return excerpt(_UNPRINTABLE.sub(" ", text).strip(), sent_credentials(response))


def _is_duplicate_key(status: int, detail: str) -> bool:
    """Pixelfed's answer to a repeated Idempotency-Key."""
    return status in (400, 409, 422) and "idempotency key" in detail.lower() and "duplicate" in detail.lower()


def _is_media_taken(detail: str) -> bool:
    # Mastodon says "Media 123 not found or already attached to another post" for both cases: with media this
    # run uploaded, it is attached.
    return "already attached" in detail.lower()


def _reset_time(response: requests.Response, clock: Callable[[], float]) -> int | None:
    """When a rate limit resets, as unix time: X-RateLimit-Reset is ISO 8601 (Mastodon) or unix time (Laravel)."""
    reset = response.headers.get("X-RateLimit-Reset", "").strip()
    if reset.isdigit():
        return int(reset)
    moment = parse_iso(reset)
    if moment is not None:
        return math.ceil(moment.timestamp())
    retry = response.headers.get("Retry-After", "").strip()
    if retry.isdigit():
        return math.ceil(clock()) + int(retry)
    return None


def _resets(reset_time: int | None, clock: Callable[[], float]) -> str:
    if reset_time is None:
        return "try again later"
    when = dt.datetime.fromtimestamp(reset_time).astimezone().isoformat(timespec="seconds")
    minutes = max(0, math.ceil((reset_time - clock()) / 60))
    wait = "now" if minutes == 0 else f"in {minutes} minute{'s' if minutes != 1 else ''}"
    return f"the limit resets at {when} ({wait})"


_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_PARAGRAPH = re.compile(r"</p>\s*<p[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")


def _status_text(status: dict[str, Any]) -> str:
    """A status's text as posted, near enough to compare: Pixelfed's content_text, or Mastodon's HTML undone."""
    plain = status.get("content_text")
    if isinstance(plain, str):
        return _plain(plain)
    content = status.get("content")
    if not isinstance(content, str):
        return ""
    content = _PARAGRAPH.sub("\n\n", _BREAK.sub("\n", content))
    return _plain(html.unescape(_TAG.sub("", content)))


def _plain(text: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()



# ==== the network, as the registry reads it =======================================================

from collections.abc import Mapping  # noqa: E402  (the declaration is kept apart from the adapter, at its end)

from pierrot.adapters.networks import Context, Network, PostRef, template_specs  # noqa: E402
from pierrot.specs import Spec  # noqa: E402

_POST = re.compile(r"https://[^/\s]+/(?:@[^/\s]+|users/[^/\s]+/statuses)/([0-9]+)/?")


def read_post(value: str, settings: Mapping[str, Any]) -> PostRef:
    """A status's id or its URL (its URL needs the account's name, so an id alone has none)."""
    text = value.strip()
    found = _POST.fullmatch(text)
    if found:
        return PostRef(found.group(1), text)
    if re.fullmatch(r"[0-9]+", text):
        return PostRef(text, None)
    raise ValueError(f"{value!r} is not a Mastodon post: give its URL or its id")


def _build(settings: Mapping[str, Any], context: Context) -> MastodonPublisher:
    return MastodonPublisher(
        url=settings["mastodon_url"],
        access_token=settings["mastodon_access_token"],
        visibility=settings["mastodon_visibility"],
        timeout=context.timeout,
    )


NETWORK = Network(
    name="mastodon",
    display="Mastodon",
    specs=(
        Spec("mastodon_url", URL_SETTING, "mastodon", "url", kind="url", deploy=True,
             help="the Mastodon (or Pixelfed) instance, e.g. https://mastodon.social"),
        Spec("mastodon_access_token", TOKEN_SETTING, "mastodon", "access_token", secret=True,
             help="a token with write:media write:statuses read:accounts (Pixelfed: write read)"),
        Spec("mastodon_visibility", VISIBILITY_SETTING, "mastodon", "visibility", kind="choice", default="public",
             choices=("public", "unlisted", "private"), deploy=True, help="public, unlisted or private"),
        *template_specs("mastodon", "Mastodon"),
    ),
    required=("mastodon_url", "mastodon_access_token"),
    rules=DEFAULT_RULES,
    build=_build,
    read_post=read_post,
)

"""The Bluesky adapter: one login per run, the image as a blob, the post as a record under a key pierrot chose."""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import regex  # type: ignore[import-untyped,unused-ignore]
import requests

from pierrot import __version__
from pierrot.adapters.http import (
    ApiSession,
    RedirectRefused,
    describe_failure,
    post_failure,
    require_safe_url,
    resets,
    sent_credentials,
)
from pierrot.errors import DuplicatePost, PostOutcomeUnknown, PostRefused, PublishError
from pierrot.logs import excerpt, scrub
from pierrot.ports import Attempt, FetchedImage, NetworkRules, Post, Publisher, Settled

log = logging.getLogger(__name__)

DEFAULT_SERVICE = "https://bsky.social"
SERVICE_SETTING = "PIERROT_BLUESKY_SERVICE"
USER_AGENT = f"pierrot/{__version__} (+https://github.com/pierrot-photo/pierrot)"
# Bluesky answers a few KB (a login carries a DID document): anything near this is not Bluesky.
MAX_ANSWER_BYTES = 1024 * 1024
POST_COLLECTION = "app.bsky.feed.post"
MAX_IMAGES = 4
CREDENTIALS_HELP = (
    "check PIERROT_BLUESKY_HANDLE and PIERROT_BLUESKY_APP_PASSWORD (an app password from Settings → Privacy and "
    "security → App passwords, never the account password)"
)

_GRAPHEME = regex.compile(r"\X")


def grapheme_count(text: str) -> int:
    """The length of ``text`` as Bluesky counts it: user-perceived characters (an emoji family is one)."""
    return len(_GRAPHEME.findall(text))


RULES = NetworkRules(
    name="bluesky",
    display="Bluesky",
    text_limit=300,
    measure=grapheme_count,
    unit="graphemes",
    alt_limit=2000,
    # Current PDSes take 2,000,000 bytes, but self-hosted ones not upgraded since April 2026 refuse over 1,000,000.
    max_image_bytes=1_000_000,
    max_text_bytes=3000,
    settles_unknown=True,
)


# ---- record keys -------------------------------------------------------------------------------------------

TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
TID_PATTERN = regex.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")
_tid_lock = threading.Lock()
_last_micros = 0


def tid(micros: int, clock_id: int) -> str:
    """The TID for a time in microseconds since the epoch and a 10-bit clock id: 13 base32-sortable characters."""
    if not 0 <= micros < 1 << 53 or not 0 <= clock_id < 1 << 10:
        raise ValueError(f"a TID holds 53 bits of microseconds and a 10-bit clock id, not {micros}, {clock_id}")
    value = micros << 10 | clock_id  # 63 bits: the top bit of the 64 stays 0
    return "".join(TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


def parse_tid(text: str) -> tuple[int, int]:
    """The (microseconds, clock id) of a TID; ValueError if ``text`` is not one."""
    if not TID_PATTERN.fullmatch(text):
        raise ValueError(f"{text!r} is not a TID")
    value = 0
    for char in text:
        value = value << 5 | TID_ALPHABET.index(char)
    return value >> 10, value & 1023


def new_tid() -> str:
    """A fresh TID: now, later than every other this process made, with a random clock id."""
    global _last_micros
    with _tid_lock:
        micros = max(time.time_ns() // 1000, _last_micros + 1)
        _last_micros = micros
    return tid(micros, secrets.randbelow(1024))


def record_time(created_at: str = "") -> str:
    """``created_at`` (ISO 8601; naive means UTC) as a record's ``createdAt``: UTC, milliseconds, Z. Empty: now."""
    moment: dt.datetime | None = None
    if created_at:
        try:
            moment = dt.datetime.fromisoformat(created_at.strip())
        except ValueError:
            moment = None
    if moment is None:
        moment = dt.datetime.now(dt.UTC)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# ---- rich text -------------------------------------------------------------------------------------------

# A link starts the text or follows a space or an opening bracket or quote, and runs to the next space.
_LINK = regex.compile(r"(?<![^\s(\[{<«\"'“‘])https?://[\w\-\[][^\s]*", regex.IGNORECASE)
_LINK_TAIL = ".,;:!?'\"’”»>"
_CLOSERS = {")": "(", "]": "[", "}": "{"}
# Bluesky's own hashtag rule (packages/api/src/rich-text/util.ts): after the start or a space, not all digits.
_INVISIBLE = r"\u00AD\u2060\u200A\u200B\u200C\u200D\u20e2"
_TAG = regex.compile(rf"(?<!\S)[#＃]((?!\ufe0f)[^\s{_INVISIBLE}]*[^\d\s\p{{P}}{_INVISIBLE}]+[^\s{_INVISIBLE}]*)?")
_TRAILING_PUNCTUATION = regex.compile(r"\p{P}+$")
MAX_TAG_GRAPHEMES = 64


def facets(text: str) -> list[dict[str, Any]]:
    """The link and hashtag facets of ``text``, in text order, indexed in UTF-8 bytes."""
    spans: list[tuple[int, int, dict[str, Any]]] = []
    for found in _LINK.finditer(text):
        start, end = found.span()
        end = _trim_link(text, start, end)
        if end - start > len("https://"):
            spans.append((start, end, {"$type": "app.bsky.richtext.facet#link", "uri": text[start:end]}))
    for found in _TAG.finditer(text):
        tag = found.group(1)
        if not tag:
            continue
        tag = _TRAILING_PUNCTUATION.sub("", tag.strip())
        if not tag or grapheme_count(tag) > MAX_TAG_GRAPHEMES:
            continue
        start = found.start()
        end = start + 1 + len(tag)
        if any(start < link_end and link_start < end for link_start, link_end, _ in spans):
            continue
        spans.append((start, end, {"$type": "app.bsky.richtext.facet#tag", "tag": tag}))
    spans.sort(key=lambda span: span[0])
    return [
        {"index": {"byteStart": _utf8_offset(text, start), "byteEnd": _utf8_offset(text, end)}, "features": [feature]}
        for start, end, feature in spans
    ]


def _trim_link(text: str, start: int, end: int) -> int:
    """Where a link really ends: sentence punctuation and unmatched closing brackets are not part of it."""
    while end > start:
        last = text[end - 1]
        opener = _CLOSERS.get(last)
        if last in _LINK_TAIL or (opener and text.count(opener, start, end) < text.count(last, start, end)):
            end -= 1
            continue
        break
    return end


def _utf8_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def post_record(text: str, created_at: str, images: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``app.bsky.feed.post`` record: the same arguments always give the same record, field for field."""
    record: dict[str, Any] = {"$type": POST_COLLECTION, "text": text, "createdAt": created_at}
    found = facets(text)
    if found:
        record["facets"] = found
    if images:
        record["embed"] = {"$type": "app.bsky.embed.images", "images": images}
    return record


def _dumps(value: Any, *, sort_keys: bool = False) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys)


# ---- the adapter ---------------------------------------------------------------------------------------


class _Failure(Exception):
    """A failed call, described; the public methods turn it into the exception their callers expect.

    ``answered``: the server answered, so a retry cannot help (credentials, limits) unless ``status`` is 5xx."""

    def __init__(
        self, message: str, *, answered: bool, status: int | None = None, reset_time: int | None = None
    ) -> None:
        super().__init__(message)
        self.answered = answered
        self.status = status
        self.reset_time = reset_time

    @property
    def transient(self) -> bool:
        return not self.answered or (self.status or 0) >= 500


@dataclass
class _Session:
    did: str
    handle: str
    access: str = field(repr=False)
    refresh: str = field(repr=False)


class BlueskyPublisher(Publisher):
    """One Bluesky account, with its handle and an app password; logs in at most once."""

    rules = RULES

    def __init__(
        self,
        *,
        handle: str,
        app_password: str,
        service: str = DEFAULT_SERVICE,
        timeout: float = 30.0,
        session: requests.Session | None = None,
    ) -> None:
        require_safe_url(service, SERVICE_SETTING)
        self._service = service.rstrip("/")
        self._host = urlsplit(self._service).hostname or self._service
        self._handle = handle.strip().removeprefix("@")
        self._password = app_password
        self._timeout = timeout
        self._http = session or ApiSession(timeout, user_agent=USER_AGENT, max_bytes=MAX_ANSWER_BYTES)
        self._secrets = [app_password] if app_password else []
        self._session: _Session | None = None
        self._login_failure: _Failure | None = None

    # ---- the port -----------------------------------------------------------------------------------

    def prepare(self) -> NetworkRules:
        """Log in now, so that a credential problem stops the run before anything else; returns the rules."""
        self._login_or_raise()
        return self.rules

    def account(self) -> str | None:
        """The account's DID, as the login answers it."""
        return self._login_or_raise().did

    def whoami(self) -> str:
        """The handle of the account, as the login answers it."""
        return self._login_or_raise().handle

    def new_attempt(self, created_at: str) -> Attempt:
        """A fresh record key (TID) and the post's ``createdAt``, both kept so that a retry is the same record."""
        return Attempt(key=new_tid(), created_at=record_time(created_at))

    def upload_media(self, image: FetchedImage, alt_text: str | None, *, text: str = "") -> str:
        """Upload the image as a blob; the media id carries the blob, the alt text and the aspect ratio."""
        limit = self.rules.max_image_bytes
        if image.nbytes > limit:
            raise PublishError(_too_big(image.nbytes, limit))
        try:
            data = image.path.read_bytes()
        except OSError as exc:
            raise PublishError(f"cannot read the image {image.path}: {exc.strerror or exc}") from None
        if len(data) > limit:
            raise PublishError(_too_big(len(data), limit))
        try:
            self._login()
            response = self._send(
                "POST",
                "com.atproto.repo.uploadBlob",
                data=data,
                content_type=image.mime_type or "application/octet-stream",
            )
        except _Failure as exc:
            raise PublishError(str(exc)) from None
        except requests.RequestException as exc:
            raise PublishError(
                self._scrub(f"could not reach Bluesky to upload the image: {self._reason(exc)}")
            ) from None
        if not 200 <= response.status_code < 300:
            raise PublishError(self._refusal("upload the image", response)) from None
        blob = _field(response, "blob")
        if not _is_blob(blob):
            raise PublishError(
                f"Bluesky accepted the image upload but its answer has no blob (HTTP {response.status_code})"
            )
        media: dict[str, Any] = {"blob": blob, "alt": alt_text or ""}
        if image.width > 0 and image.height > 0:
            media["aspectRatio"] = {"width": image.width, "height": image.height}
        return _dumps(media, sort_keys=True)

    def create_post(self, text: str, media_ids: list[str], attempt: Attempt) -> Post:
        """putRecord under the attempt's key: PostRefused, DuplicatePost or PostOutcomeUnknown when not plainly done."""
        if not TID_PATTERN.fullmatch(attempt.key):
            raise PostRefused(f"the post has no valid Bluesky record key ({attempt.key!r}); nothing was sent")
        if len(media_ids) > MAX_IMAGES:
            raise PostRefused(f"Bluesky takes at most {MAX_IMAGES} images per post, not {len(media_ids)}")
        images = [_image(media_id) for media_id in media_ids]
        try:
            session = self._login()
        except _Failure as exc:
            raise PostRefused(str(exc), status=exc.status, reset_time=exc.reset_time) from None
        body = {
            "repo": session.did,
            "collection": POST_COLLECTION,
            "rkey": attempt.key,
            # null, not absent: create the record if the key is free, change nothing if it holds this very record.
            "swapRecord": None,
            "record": post_record(text, attempt.created_at, images),
        }
        try:
            response = self._send("POST", "com.atproto.repo.putRecord", json_body=body)
        except _Failure as exc:  # the session could not be renewed: the expired token was refused, nothing posted
            raise PostRefused(str(exc), status=exc.status) from None
        except requests.RequestException as exc:
            redirected = self._redirected("post", exc) if isinstance(exc, RedirectRefused) else ""
            raise post_failure(exc, "Bluesky", reason=self._scrub(self._reason(exc)), redirected=redirected) from None
        status = response.status_code
        if 200 <= status < 300:
            uri = _field(response, "uri")
            if not isinstance(uri, str) or not uri.startswith("at://"):
                raise PostOutcomeUnknown(f"Bluesky answered the post request (HTTP {status}) without the post's uri")
            return Post(uri, self._web_url(session, attempt.key))
        error, _ = _error_of(response)
        if status == 400 and error == "InvalidSwap":
            raise DuplicatePost(
                f"Bluesky already holds a different post under record key {attempt.key} (InvalidSwap): an earlier "
                f"attempt with this key was posted, see {self._web_url(session, attempt.key)}"
            )
        if 400 <= status < 500:
            reset = _reset_time(response) if status == 429 else None
            raise PostRefused(self._refusal("post", response), status=status, reset_time=reset)
        raise PostOutcomeUnknown(
            f"Bluesky answered the post request with HTTP {status}{self._detail(response)}: it may or may not be posted"
        )

    def settle(self, attempt: Attempt, text: str, started_at: str) -> Settled:
        """Look the attempt's record key up: there (posted), RecordNotFound (post again, same key), or cannot tell."""
        if not TID_PATTERN.fullmatch(attempt.key):
            return Settled(posted=None, reason="no Bluesky record key was kept for this post")
        try:
            session = self._login()
            response = self._send(
                "GET",
                "com.atproto.repo.getRecord",
                params={"repo": session.did, "collection": POST_COLLECTION, "rkey": attempt.key},
            )
        except _Failure as exc:
            if exc.transient:
                return Settled(posted=None, reason=str(exc))
            raise PublishError(str(exc)) from None
        except requests.RequestException as exc:
            return Settled(
                posted=None, reason=self._scrub(f"could not ask Bluesky whether it was posted: {self._reason(exc)}")
            )
        status = response.status_code
        if status == 200:
            uri = _field(response, "uri")
            if isinstance(uri, str) and uri.startswith("at://"):
                return Settled(
                    posted=True,
                    post=Post(uri, self._web_url(session, attempt.key)),
                    reason=f"Bluesky has the post under record key {attempt.key}",
                )
            return Settled(posted=None, reason="Bluesky answered the look-up without the post's uri")
        error, _ = _error_of(response)
        if status == 400 and error == "RecordNotFound":
            return Settled(
                posted=False,
                same_key=True,
                reason=f"Bluesky has no post under record key {attempt.key}: it was not posted",
            )
        if status in (401, 403):
            raise PublishError(self._refusal("look the post up", response))
        return Settled(posted=None, reason=self._refusal("look the post up", response))

    # ---- the session: one login per run, renewed with the refresh token -------------------------------

    def _login_or_raise(self) -> _Session:
        try:
            return self._login()
        except _Failure as exc:
            raise PublishError(str(exc)) from None

    def _login(self) -> _Session:
        """The session, logging in on first need; a failed login is not tried again in this run."""
        if self._session is not None:
            return self._session
        if self._login_failure is not None:
            raise self._login_failure
        try:
            self._session = self._create_session()
        except _Failure as exc:
            self._login_failure = exc
            raise
        return self._session

    def _create_session(self) -> _Session:
        body = {"identifier": self._handle, "password": self._password}
        try:
            response = self._post_json("com.atproto.server.createSession", body, bearer=None)
        except RedirectRefused as exc:
            raise _Failure(self._redirected("log in", exc), answered=True, status=exc.status) from None
        except requests.RequestException as exc:
            raise _Failure(
                self._scrub(f"could not reach Bluesky to log in: {self._reason(exc)}"), answered=False
            ) from None
        status = response.status_code
        if status == 429:
            reset = _reset_time(response)
            raise _Failure(
                "Bluesky refused to log in: too many logins for this account (rate limit, HTTP 429); "
                f"{resets(reset)}. Logging in too often locks the account out: pierrot logs in once per run, "
                "so run it less often and never in a retry loop",
                answered=True,
                status=429,
                reset_time=reset,
            )
        if not 200 <= status < 300:
            error, _ = _error_of(response)
            if status >= 500:
                raise _Failure(
                    self._scrub(f"Bluesky failed to log in (HTTP {status}{self._detail(response)}); try again later"),
                    answered=True,
                    status=status,
                )
            if error == "AuthFactorTokenRequired":
                advice = (
                    "the account asks for a code sent by email, so PIERROT_BLUESKY_APP_PASSWORD holds the account "
                    "password: create an app password in Settings → Privacy and security → App passwords"
                )
            elif error == "AccountTakedown":
                advice = "the account is taken down"
            else:
                advice = CREDENTIALS_HELP
            raise _Failure(
                self._scrub(f"Bluesky refused the login (HTTP {status}{self._detail(response)}): {advice}"),
                answered=True,
                status=status,
            )
        return self._read_session(response, "log in")

    def _renew(self, session: _Session) -> None:
        """Swap an expired access token for a new one with the refresh token (never by logging in again)."""
        try:
            response = self._post_json("com.atproto.server.refreshSession", None, bearer=session.refresh)
        except RedirectRefused as exc:
            raise _Failure(self._redirected("renew the session", exc), answered=True, status=exc.status) from None
        except requests.RequestException as exc:
            raise _Failure(
                self._scrub(f"could not reach Bluesky to renew the session: {self._reason(exc)}"), answered=False
            ) from None
        if not 200 <= response.status_code < 300:
            raise _Failure(
                self._scrub(
                    f"the Bluesky session expired and could not be renewed (HTTP {response.status_code}"
                    f"{self._detail(response)}); run again later: pierrot logs in once per run"
                ),
                answered=True,
                status=response.status_code,
            )
        renewed = self._read_session(response, "renew the session")
        session.access, session.refresh = renewed.access, renewed.refresh
        log.debug("Bluesky session renewed")

    def _read_session(self, response: requests.Response, action: str) -> _Session:
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise _Failure(f"Bluesky answered the request to {action} with something that is not JSON", answered=True)
        access, refresh, did = answer.get("accessJwt"), answer.get("refreshJwt"), answer.get("did")
        handle = answer.get("handle")
        if not (isinstance(access, str) and access and isinstance(refresh, str) and refresh):
            raise _Failure(f"Bluesky answered the request to {action} without the session tokens", answered=True)
        self._secrets.extend((access, refresh))
        if not isinstance(did, str) or not did.startswith("did:"):
            raise _Failure(f"Bluesky answered the request to {action} without the account's DID", answered=True)
        handle = handle if isinstance(handle, str) and handle else self._handle
        return _Session(did=did, handle=handle, access=access, refresh=refresh)

    # ---- calls ---------------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        nsid: str,
        *,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
    ) -> requests.Response:
        """One authenticated call; an expired access token is renewed once and the call sent again.

        Raises requests' exceptions (RedirectRefused included) for the call, _Failure for the renewal."""
        session = self._login()
        if json_body is not None:
            data, content_type = _dumps(json_body).encode(), "application/json"
        response = self._request(method, nsid, session.access, params=params, data=data, content_type=content_type)
        if response.status_code in (400, 401) and _error_of(response)[0] == "ExpiredToken":
            self._renew(session)
            response = self._request(method, nsid, session.access, params=params, data=data, content_type=content_type)
        return response

    def _post_json(self, nsid: str, body: Any, *, bearer: str | None) -> requests.Response:
        data = None if body is None else _dumps(body).encode()
        return self._request("POST", nsid, bearer, data=data, content_type=None if data is None else "application/json")

    def _request(
        self,
        method: str,
        nsid: str,
        bearer: str | None,
        *,
        params: dict[str, str] | None = None,
        data: bytes | None = None,
        content_type: str | None = None,
    ) -> requests.Response:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        if content_type:
            headers["Content-Type"] = content_type
        # Never redirected, whatever session was given: a redirect would carry the password or a token elsewhere.
        response = self._http.request(
            method,
            f"{self._service}/xrpc/{nsid}",
            params=params,
            data=data,
            headers=headers,
            timeout=self._timeout,
            allow_redirects=False,
        )
        if 300 <= response.status_code < 400:
            raise RedirectRefused(response.status_code, "another location", response=response)
        log.debug("Bluesky %s: HTTP %s", nsid, response.status_code)
        return response

    # ---- messages ------------------------------------------------------------------------------------

    def _refusal(self, action: str, response: requests.Response) -> str:
        """One line for an error answer from Bluesky."""
        status = response.status_code
        detail = self._detail(response)
        if status == 429:
            text = (
                f"Bluesky refused to {action}: rate limit reached (HTTP 429{detail}); {resets(_reset_time(response))}"
            )
        elif status == 401:
            text = f"Bluesky refused to {action} (HTTP 401{detail}): {CREDENTIALS_HELP}"
        elif status == 413:
            text = f"Bluesky refused to {action}: the image is too large for this server (HTTP 413{detail})"
        elif status >= 500:
            text = f"Bluesky failed to {action} (HTTP {status}{detail}); try again later"
        else:
            text = f"Bluesky refused to {action} (HTTP {status}{detail})"
        return self._scrub(text)

    def _detail(self, response: requests.Response) -> str:
        """`` ErrorName: message`` of an error answer, without secrets, cut to one short line."""
        error, message = _error_of(response)
        text = " ".join(": ".join(part for part in (error, message) if part).split())
        text = excerpt(text, [*self._secrets, *sent_credentials(response)])
        return f" {text}" if text else ""

    def _redirected(self, action: str, exc: RedirectRefused) -> str:
        return self._scrub(
            f"Bluesky answered the request to {action} with a redirect (HTTP {exc.status} to {exc.target}); pierrot "
            f"never follows one on an API call: check {SERVICE_SETTING}"
        )

    def _web_url(self, session: _Session, rkey: str) -> str:
        profile = session.handle if session.handle != "handle.invalid" else session.did
        return f"https://bsky.app/profile/{profile}/post/{rkey}"

    def _reason(self, exc: requests.RequestException) -> str:
        return describe_failure(exc, self._host, self._timeout)

    def _scrub(self, text: str) -> str:
        return scrub(text, self._secrets)


# ---- answers ---------------------------------------------------------------------------------------------


def _image(media_id: str) -> dict[str, Any]:
    """The embedded image that a media id from upload_media stands for, its fields in a fixed order."""
    try:
        media = json.loads(media_id)
    except ValueError:
        media = None
    if not isinstance(media, dict) or not _is_blob(media.get("blob")):
        raise PostRefused(f"{media_id[:40]!r} is not a media id from a Bluesky upload; nothing was sent")
    image: dict[str, Any] = {"image": media["blob"], "alt": str(media.get("alt") or "")}
    ratio = media.get("aspectRatio")
    if isinstance(ratio, dict) and set(ratio) == {"width", "height"}:
        image["aspectRatio"] = {"width": ratio["width"], "height": ratio["height"]}
    return image


def _is_blob(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("ref"), dict) and bool(value["ref"].get("$link"))


def _field(response: requests.Response, name: str) -> Any:
    try:
        answer = response.json()
    except ValueError:
        return None
    return answer.get(name) if isinstance(answer, dict) else None


def _error_of(response: requests.Response) -> tuple[str, str]:
    """The XRPC error name and message of an error answer (``{"error": ..., "message": ...}``), or empty strings."""
    try:
        answer = response.json()
    except ValueError:
        return "", ""
    if not isinstance(answer, dict):
        return "", ""
    error, message = answer.get("error"), answer.get("message")
    return (error if isinstance(error, str) else ""), (message if isinstance(message, str) else "")


def _reset_time(response: requests.Response) -> int | None:
    value = response.headers.get("ratelimit-reset", "").strip()
    return int(value) if value.isdigit() else None



def _too_big(nbytes: int, limit: int) -> str:
    return f"the image is {nbytes:,} bytes, over the {limit:,} bytes that every Bluesky server accepts; not uploaded"



# ==== the network, as the registry reads it =======================================================

import re  # noqa: E402  (the declaration is kept apart from the adapter, at its end)
from collections.abc import Mapping  # noqa: E402

from pierrot.adapters.networks import Context, Network, PostRef, template_specs  # noqa: E402
from pierrot.specs import Spec  # noqa: E402

_POST = re.compile(r"https://bsky\.app/profile/[^/\s]+/post/([a-z2-7]{13})/?|at://[^/\s]+/app\.bsky\.feed\.post/"
                   r"([a-z2-7]{13})")


def read_post(value: str, settings: Mapping[str, Any]) -> PostRef:
    """A post's record key, its bsky.app URL or its at:// URI; from a key alone, its URL on the account's handle."""
    text = value.strip()
    found = _POST.fullmatch(text)
    if found:
        return PostRef(found.group(1) or found.group(2), text)
    if re.fullmatch(r"[a-z2-7]{13}", text):
        handle = settings.get("bluesky_handle")
        return PostRef(text, f"https://bsky.app/profile/{handle}/post/{text}" if handle else None)
    raise ValueError(f"{value!r} is not a Bluesky post: give its https://bsky.app/profile/.../post/... URL or its "
                     "record key")


def _build(settings: Mapping[str, Any], context: Context) -> BlueskyPublisher:
    return BlueskyPublisher(
        handle=settings["bluesky_handle"],
        app_password=settings["bluesky_app_password"],
        service=settings["bluesky_service"],
        timeout=context.timeout,
    )


NETWORK = Network(
    name="bluesky",
    display="Bluesky",
    specs=(
        Spec("bluesky_handle", "PIERROT_BLUESKY_HANDLE", "bluesky", "handle", deploy=True,
             help="the Bluesky account, e.g. someone.bsky.social"),
        Spec("bluesky_app_password", "PIERROT_BLUESKY_APP_PASSWORD", "bluesky", "app_password", secret=True,
             help="a Bluesky app password (Settings, Privacy and security, App passwords), never the account "
                  "password"),
        Spec("bluesky_service", SERVICE_SETTING, "bluesky", "service", kind="url", default=DEFAULT_SERVICE,
             deploy=True, help="the Bluesky PDS or entryway; https, or http on loopback only"),
        *template_specs("bluesky", "Bluesky"),
    ),
    required=("bluesky_handle", "bluesky_app_password"),
    rules=RULES,
    build=_build,
    read_post=read_post,
)

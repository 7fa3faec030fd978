"""The Bluesky adapter: one login per run, the image as a blob, the post as a record under a key pierrot chose."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from pierrot import __version__
from pierrot.adapters.http_failures import RedirectRefused
from pierrot.adapters.networks import Context, Network, PostRef, template_specs
from pierrot.adapters.networks.base import HttpPublisher, json_of
from pierrot.adapters.networks.bluesky import profile
from pierrot.adapters.networks.bluesky.answers import _error_of, _Failure, _field, _too_big
from pierrot.adapters.networks.bluesky.rules import (
    POST_COLLECTION,
    SELF_LABELS,
    TID_PATTERN,
    compact_json,
    embedded_image,
    is_blob,
    new_tid,
    post_record,
    record_time,
)
from pierrot.adapters.networks.bluesky.rules import RULES as RULES
from pierrot.errors import DuplicatePost, PostOutcomeUnknown, PostRefused, PublishError
from pierrot.ports import NO_OPTIONS, Attempt, BotFlag, FetchedImage, NetworkRules, Post, PostOptions, Settled
from pierrot.specs import Spec

log = logging.getLogger(__name__)

DEFAULT_SERVICE = "https://bsky.social"
DEFAULT_LABEL = "nudity"
SERVICE_SETTING = "PIERROT_BLUESKY_SERVICE"
USER_AGENT = f"pierrot/{__version__} (+https://github.com/pierrot-photo/pierrot)"
# Bluesky answers a few KB (a login carries a DID document): anything near this is not Bluesky.
MAX_ANSWER_BYTES = 1024 * 1024
MAX_IMAGES = 4
CREDENTIALS_HELP = (
    "check PIERROT_BLUESKY_HANDLE and PIERROT_BLUESKY_APP_PASSWORD (an app password from Settings → Privacy and "
    "security → App passwords, never the account password)"
)


# ---- the adapter ---------------------------------------------------------------------------------------


@dataclass
class _Session:
    did: str
    handle: str
    access: str = field(repr=False)
    refresh: str = field(repr=False)


class BlueskyPublisher(HttpPublisher):
    """One Bluesky account, with its handle and an app password; logs in at most once."""

    rules = RULES
    url_setting = SERVICE_SETTING
    credentials_help = CREDENTIALS_HELP

    def __init__(
        self,
        *,
        handle: str,
        app_password: str,
        service: str = DEFAULT_SERVICE,
        timeout: float = 30.0,
        session: requests.Session | None = None,
        label: str = DEFAULT_LABEL,
    ) -> None:
        self.label = label  # the self-label of a post with a warning
        super().__init__(
            url=service,
            timeout=timeout,
            secrets=[app_password],
            user_agent=USER_AGENT,
            session=session,
            max_bytes=MAX_ANSWER_BYTES,
        )
        self._handle = handle.strip().removeprefix("@")
        self._password = app_password
        self._login_session: _Session | None = None
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

    def bot_flag(self) -> BotFlag:
        return profile.bot_flag(self)

    def set_bot_flag(self) -> None:
        profile.set_bot_flag(self)

    def new_attempt(self, created_at: str) -> Attempt:
        """A fresh record key (TID) and the post's ``createdAt``, both kept so that a retry is the same record."""
        return Attempt(key=new_tid(), created_at=record_time(created_at))

    def upload_media(
        self, image: FetchedImage, alt_text: str | None, *, text: str = "",
        options: PostOptions = NO_OPTIONS,
    ) -> str:
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
            response = self._xrpc(
                "POST",
                "com.atproto.repo.uploadBlob",
                data=data,
                content_type=image.mime_type or "application/octet-stream",
            )
        except _Failure as exc:
            raise PublishError(str(exc)) from None
        except requests.RequestException as exc:
            raise self._call_failed("upload the image", exc) from None
        if not 200 <= response.status_code < 300:
            raise PublishError(self._refusal("upload the image", response)) from None
        blob = _field(response, "blob")
        if not is_blob(blob):
            raise PublishError(
                f"Bluesky accepted the image upload but its answer has no blob (HTTP {response.status_code})"
            )
        media: dict[str, Any] = {"blob": blob, "alt": alt_text or ""}
        if image.width > 0 and image.height > 0:
            media["aspectRatio"] = {"width": image.width, "height": image.height}
        return compact_json(media, sort_keys=True)

    def create_post(
        self, text: str, media_ids: list[str], attempt: Attempt, options: PostOptions = NO_OPTIONS
    ) -> Post:
        """putRecord under the attempt's key: PostRefused, DuplicatePost or PostOutcomeUnknown when not plainly done."""
        if not TID_PATTERN.fullmatch(attempt.key):
            raise PostRefused(f"the post has no valid Bluesky record key ({attempt.key!r}); nothing was sent")
        if len(media_ids) > MAX_IMAGES:
            raise PostRefused(f"Bluesky takes at most {MAX_IMAGES} images per post, not {len(media_ids)}")
        images = [image for image in map(embedded_image, media_ids) if image is not None]
        if len(images) < len(media_ids):
            bad = next(media_id for media_id in media_ids if embedded_image(media_id) is None)
            raise PostRefused(f"{bad[:40]!r} is not a media id from a Bluesky upload; nothing was sent")
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
            "record": post_record(text, attempt.created_at, images, language=options.language,
                                  label=self.label if options.warning else None),
        }
        try:
            response = self._xrpc("POST", "com.atproto.repo.putRecord", json_body=body)
        except _Failure as exc:  # the session could not be renewed: the expired token was refused, nothing posted
            raise PostRefused(str(exc), status=exc.status) from None
        except requests.RequestException as exc:
            raise self._post_lost(exc) from None
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
        raise self._post_refused(response)

    def settle(self, attempt: Attempt, text: str, started_at: str) -> Settled:
        """Look the attempt's record key up: there (posted), RecordNotFound (post again, same key), or cannot tell."""
        if not TID_PATTERN.fullmatch(attempt.key):
            return Settled(posted=None, reason="no Bluesky record key was kept for this post")
        try:
            session = self._login()
            response = self._xrpc(
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
        if self._login_session is not None:
            return self._login_session
        if self._login_failure is not None:
            raise self._login_failure
        try:
            self._login_session = self._create_session()
        except _Failure as exc:
            self._login_failure = exc
            raise
        return self._login_session

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
            reset = self._reset_time(response)
            raise _Failure(
                "Bluesky refused to log in: too many logins for this account (rate limit, HTTP 429); "
                f"{self._resets(reset)}. Logging in too often locks the account out: pierrot logs in once per run, "
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
        answer = json_of(response)
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

    def _xrpc(
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
            data, content_type = compact_json(json_body).encode(), "application/json"
        response = self._request(method, nsid, session.access, params=params, data=data, content_type=content_type)
        if response.status_code in (400, 401) and _error_of(response)[0] == "ExpiredToken":
            self._renew(session)
            response = self._request(method, nsid, session.access, params=params, data=data, content_type=content_type)
        return response

    def _post_json(self, nsid: str, body: Any, *, bearer: str | None) -> requests.Response:
        data = None if body is None else compact_json(body).encode()
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
        return self._send(method, f"/xrpc/{nsid}", params=params, data=data, headers=headers)

    # ---- messages ------------------------------------------------------------------------------------

    def _server_says(self, response: requests.Response) -> str:
        """``ErrorName: message`` of an XRPC error answer."""
        return ": ".join(part for part in _error_of(response) if part)

    def _web_url(self, session: _Session, rkey: str) -> str:
        profile = session.handle if session.handle != "handle.invalid" else session.did
        return f"https://bsky.app/profile/{profile}/post/{rkey}"


# ==== the network, as the registry reads it =======================================================



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
        label=settings["bluesky_label"],
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
        Spec("bluesky_label", "PIERROT_BLUESKY_LABEL", "bluesky", "label", kind="choice", default=DEFAULT_LABEL,
             choices=SELF_LABELS, help="the self-label of a photo with a sensitive tag: " + ", ".join(SELF_LABELS)),
        *template_specs("bluesky", "Bluesky"),
    ),
    required=("bluesky_handle", "bluesky_app_password"),
    rules=RULES,
    build=_build,
    read_post=read_post,
)

"""A fake Mastodon instance (or Pixelfed, with ``pixelfed=True``) for the end-to-end tests.

It answers what pierrot calls: the instance document, media upload with processing (202, then 206 while it
"works"), statuses with the ``Idempotency-Key`` kept per account for an hour, the credentials check and the
account's own statuses. Like the fakes in ``servers.py`` it records every call, takes faults for the next
matching calls, and forgets everything on ``reset()``. ``clock`` is the fake's idea of now (unix time); pierrot
reads the wall clock, so to let time pass between two runs, ``age()`` the fake's past (with ``Pierrot.age_log``,
or both at once with ``Pierrot.pass_time``): its keys expire after their hour, its statuses date back.
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import regex  # type: ignore[import-untyped,unused-ignore]
from werkzeug.wrappers import Request, Response

from tests.e2e.servers import _Faults, _json, _wait, photo_tag

SETTINGS = (
    "pixelfed",
    "max_media_attachments",
    "max_characters",
    "characters_reserved_per_url",
    "image_size_limit",
    "image_matrix_limit",
    "description_limit",
    "api_v2",
    "processing_polls",
    "clock",
)
AUTHORIZATION_CODE = "E2E-CODE"  # what the fake's /oauth/authorize page "shows": it exchanges for a token
KEY_LIFETIME = 3600  # Mastodon keeps an Idempotency-Key this long after the status is saved
MAX_MEDIA = 4


@dataclass(frozen=True)
class MastodonFault:
    """What the fake does instead of (or around) its normal answer.

    kinds: ``unavailable`` (503, nothing done), ``server_error`` (500, nothing done), ``unprocessable`` (422
    with ``message``, nothing done), ``rate_limited`` (429 with X-RateLimit-Reset at ``reset``, unix time),
    ``delay`` (nothing for ``seconds``, then the normal answer), ``accept_then_unavailable`` (the status is
    made, then 503: the answer is lost), ``accept_then_hang`` (the status is made, then nothing for
    ``seconds`` before the normal answer).
    """

    kind: str
    seconds: float = 0.0
    message: str = ""
    reset: float | None = None


@dataclass
class MastodonCall:
    method: str
    path: str
    at: float
    idempotency_key: str | None = None
    status: int = 0
    fault: MastodonFault | None = None


@dataclass
class FakeAccount:
    id: str
    username: str
    token: str
    scopes: set[str]
    bot: bool = False  # "This is a bot account"


@dataclass
class FakeMedia:
    id: str
    account_id: str
    nbytes: int
    mime_type: str
    description: str | None
    photo_id: str | None
    label: str | None
    polls_left: int  # answers of 206 still to give before the media is processed
    status_id: str | None = None


@dataclass
class FakeStatus:
    id: str
    account_id: str
    text: str
    media: list[FakeMedia]
    visibility: str
    created_at: float
    idempotency_key: str | None = None
    # Every field of the request as received (a repeated field as a list): language, sensitive, spoiler_text...
    received: dict[str, Any] = field(default_factory=dict)

    @property
    def descriptions(self) -> list[str | None]:
        return [m.description for m in self.media]

    @property
    def sizes(self) -> list[int]:
        return [m.nbytes for m in self.media]

    @property
    def photo_ids(self) -> list[str | None]:
        return [m.photo_id for m in self.media]


@dataclass
class MastodonFake:
    """Mastodon's API as pierrot calls it, with the bearer token checked and the instance's limits configurable."""

    access_token: str
    username: str = "someone"
    domain: str = "photos.example"
    pixelfed: bool = False
    # the limits /api/v2/instance declares; the fake enforces all but image_matrix_limit (its JPEGs are tiny)
    max_characters: int = 500
    characters_reserved_per_url: int = 23
    image_size_limit: int = 16_777_216
    image_matrix_limit: int = 33_177_600
    max_media_attachments: int = MAX_MEDIA
    description_limit: int | None = 1500  # None: not declared, as before 4.4 (1500 enforced); Pixelfed: 1000, silent
    api_v2: bool = True  # False: /api/v2/instance answers 404, as before Mastodon 4.0
    processing_polls: int = 0  # 0: uploads answer 200 at once (Pixelfed: 202 all the same); N: 202, then N × 206
    scopes: set[str] | None = None  # None: what pierrot needs (Pixelfed: read write)
    clock: Callable[[], float] = time.time
    calls: list[MastodonCall] = field(default_factory=list)
    faults: _Faults = field(default_factory=_Faults)
    accounts: dict[str, FakeAccount] = field(default_factory=dict)  # by token
    media: dict[str, FakeMedia] = field(default_factory=dict)
    created: list[FakeStatus] = field(default_factory=list)  # oldest first
    keys: dict[tuple[str, str], tuple[str, float]] = field(default_factory=dict)  # (account, key) -> (status, time)
    apps: dict[str, dict[str, str]] = field(default_factory=dict)  # registered by /api/v1/apps, by client id

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ids = itertools.count(111_000_000_000_000_001)
        self._settings = {name: getattr(self, name) for name in SETTINGS}
        self.add_account(self.access_token, self.username, self.scopes)

    # ---- test controls -------------------------------------------------------------------------

    @property
    def version(self) -> str:
        return "3.5.3 (compatible; Pixelfed 0.12.5)" if self.pixelfed else "4.5.2"

    @property
    def statuses(self) -> list[FakeStatus]:
        """Every status the fake made (published), oldest first, whatever it answered."""
        return list(self.created)

    def add_account(self, token: str, username: str, scopes: set[str] | None = None) -> FakeAccount:
        default = {"read", "write"} if self.pixelfed else {"write:media", "write:statuses", "read:accounts"}
        account = FakeAccount(str(next(self._ids)), username, token, set(default if scopes is None else scopes))
        self.accounts[token] = account
        return account

    def reset(self) -> None:
        self._stop.set()
        self._stop = threading.Event()
        with self._lock:
            self.calls = []
            self.media = {}
            self.created = []
            self.keys = {}
            self.apps = {}
            for account in list(self.accounts.values()):
                account.bot = False
                if account.token != self.access_token:
                    del self.accounts[account.token]
        self.faults.clear()
        for name, value in self._settings.items():  # the limits and modes it was made with
            setattr(self, name, value)

    def age(self, seconds: float) -> None:
        """Make everything the fake did ``seconds`` older, as if that long had passed (``Pierrot.age_log``'s twin).

        Statuses' ``created_at`` and the times Idempotency-Keys were kept move back, so a key expires once its
        hour is over and the account's listing dates its statuses as a user would see them then."""
        with self._lock:
            for status in self.created:
                status.created_at -= seconds
            self.keys = {k: (status_id, kept - seconds) for k, (status_id, kept) in self.keys.items()}

    def statuses_of(self, account: FakeAccount | str) -> list[FakeStatus]:
        """The statuses one account made (an account or its id), oldest first."""
        account_id = account if isinstance(account, str) else account.id
        return [s for s in self.created if s.account_id == account_id]

    @property
    def account(self) -> FakeAccount:
        """The account of the access token the fake was made with."""
        return self.accounts[self.access_token]

    def inject(self, fault: MastodonFault, *, path: str = "/api/v1/statuses", times: int = 1) -> None:
        """Apply ``fault`` to the next ``times`` authorised calls to ``path`` (a prefix for /api/v1/media/)."""
        self.faults.add(fault, lambda call: call["path"] == path or call["path"].startswith(path + "/"), times)

    def calls_to(self, path: str, method: str | None = None) -> list[MastodonCall]:
        return [c for c in self.calls if c.path == path and (method is None or c.method == method)]

    # ---- WSGI ----------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        call = MastodonCall(request.method, request.path, time.monotonic(), request.headers.get("Idempotency-Key"))
        with self._lock:
            self.calls.append(call)
        response = self._handle(request, call)
        call.status = response.status_code
        return response(environ, start_response)

    def _handle(self, request: Request, call: MastodonCall) -> Response:
        stop = self._stop
        method, path = request.method, request.path
        if method == "GET" and path == "/api/v2/instance":
            return self._instance(2) if self.api_v2 else _json({"error": "Record not found"}, 404)
        if method == "GET" and path == "/api/v1/instance":
            return self._instance(1)
        if method == "POST" and path == "/api/v1/apps":
            return self._register_app(request)
        if method == "POST" and path == "/oauth/token":
            return self._exchange_code(request)
        routes: list[tuple[str, str, str, Callable[..., Response]]] = [
            ("POST", r"/api/v2/media", "write:media", self._upload),
            ("GET", r"/api/v1/media/(\w+)", "write:media", self._media),
            ("POST", r"/api/v1/statuses", "write:statuses", self._post),
            ("GET", r"/api/v1/accounts/verify_credentials", "read:accounts", self._me),
            ("PATCH", r"/api/v1/accounts/update_credentials", "write:accounts", self._update_me),
            ("GET", r"/api/v1/accounts/(\w+)/statuses", "read:statuses", self._account_statuses),
        ]
        for verb, pattern, scope, handler in routes:
            found = re.fullmatch(pattern, path)
            if verb != method or not found:
                continue
            account = self._account(request)
            if account is None and scope == "read:statuses" and "Authorization" not in request.headers:
                account = ANONYMOUS  # authorize_if_got_token!: without a token, the public's view
            elif account is None:
                return _json({"error": "The access token is invalid"}, 401)
            elif not _allows(account.scopes, scope):
                return _json({"error": "This action is outside the authorized scopes"}, 403)
            fault = self.faults.take({"path": path})
            call.fault = fault
            if fault is not None:
                early = self._early_fault(fault, stop)
                if early is not None:
                    return early
            answer: Response = handler(request, account, fault, stop, *found.groups())
            return answer
        return _json({"error": "Not Found"}, 404)

    def _early_fault(self, fault: MastodonFault, stop: threading.Event) -> Response | None:
        if fault.kind == "unavailable":
            return _json({"error": "Service Unavailable"}, 503)
        if fault.kind == "server_error":
            return _json({"error": "We're sorry, but something went wrong on our end."}, 500)
        if fault.kind == "unprocessable":
            return _json({"error": fault.message or "Validation failed"}, 422)
        if fault.kind == "rate_limited":
            reset = fault.reset if fault.reset is not None else self.clock() + 300
            when = _timestamp(reset)
            headers = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": when}
            return _json({"error": "Too many requests"}, 429, headers)
        if fault.kind == "delay":
            _wait(stop, fault.seconds)
        return None

    def _account(self, request: Request) -> FakeAccount | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        return self.accounts.get(header[len("Bearer ") :])

    # ---- OAuth: an application registered, then the code its user pastes exchanged for a token -----------------

    def _register_app(self, request: Request) -> Response:
        form = request.form
        if not form.get("client_name") or not form.get("redirect_uris"):
            return _json({"error": "Validation failed: Name can't be blank, Redirect URI can't be blank"}, 422)
        client_id = f"e2e-client-{len(self.apps) + 1}"
        app = {"client_id": client_id, "client_secret": f"{client_id}-secret", "name": form["client_name"],
               "redirect_uri": form["redirect_uris"], "scopes": form.get("scopes", "read")}
        with self._lock:
            self.apps[client_id] = app
        return _json({"id": str(len(self.apps)), "name": app["name"], "website": form.get("website"),
                      "redirect_uri": app["redirect_uri"], "client_id": client_id,
                      "client_secret": app["client_secret"], "vapid_key": "e2e"})

    def _exchange_code(self, request: Request) -> Response:
        form = request.form
        app = self.apps.get(form.get("client_id", ""))
        if app is None or form.get("client_secret") != app["client_secret"]:
            return _json({"error": "invalid_client", "error_description": "Client authentication failed"}, 401)
        if (form.get("grant_type") != "authorization_code" or form.get("code") != AUTHORIZATION_CODE
                or form.get("redirect_uri") != app["redirect_uri"]):
            return _json({"error": "invalid_grant", "error_description": "The provided authorization grant is "
                          "invalid, expired, revoked, does not match the redirection URI used in the authorization "
                          "request, or was issued to another client."}, 400)
        token = f"E2eOauthToken-{app['client_id']}-{int(self.clock())}"
        owner = self.account
        with self._lock:
            self.accounts[token] = FakeAccount(owner.id, owner.username, token, set(app["scopes"].split()))
        return _json({"access_token": token, "token_type": "Bearer", "scope": app["scopes"],
                      "created_at": int(self.clock())})

    # ---- the instance --------------------------------------------------------------------------

    def _instance(self, version: int) -> Response:
        media: dict[str, Any] = {
            "supported_mime_types": ["image/jpeg", "image/png", "image/webp", "image/gif"],
            "image_size_limit": self.image_size_limit,
            "image_matrix_limit": self.image_matrix_limit,
        }
        if self.description_limit is not None and not self.pixelfed:
            media["description_limit"] = self.description_limit
        configuration = {
            "statuses": {
                "max_characters": self.max_characters,
                "max_media_attachments": self.max_media_attachments,
                "characters_reserved_per_url": self.characters_reserved_per_url,
            },
            "media_attachments": media,
        }
        if version == 2:
            return _json(
                {"domain": self.domain, "title": "Fake", "version": self.version, "configuration": configuration}
            )
        return _json(
            {
                "uri": self.domain,
                "title": "Fake",
                "version": self.version,
                "max_toot_chars": self.max_characters,
                "configuration": configuration,
            }
        )

    # ---- media ---------------------------------------------------------------------------------

    def _alt_limit(self) -> int:
        if self.pixelfed:
            return 1000  # pixelfed.max_altext_length, which its instance document does not declare
        return 1500 if self.description_limit is None else self.description_limit

    def _upload(self, request: Request, account: FakeAccount, fault: MastodonFault | None, stop: Any) -> Response:
        upload = request.files.get("file")
        if upload is None:
            return _json({"error": "Validation failed: File can't be blank"}, 422)
        data = upload.read()
        description = request.form.get("description")
        if len(data) > self.image_size_limit:
            limit = self.image_size_limit // (1024 * 1024)
            return _json({"error": f"Validation failed: File file size must be less than {limit} MB"}, 422)
        if not data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")):
            return _json({"error": "File type of uploaded media could not be verified"}, 422)
        if description is not None and len(description) > self._alt_limit():
            return _json(
                {"error": f"Validation failed: Description is too long (maximum is {self._alt_limit()} characters)"},
                422,
            )
        tag = photo_tag(data)
        media = FakeMedia(
            str(next(self._ids)),
            account.id,
            len(data),
            upload.mimetype or "application/octet-stream",
            description,
            tag[0] if tag else None,
            tag[1] if tag else None,
            self.processing_polls,
        )
        with self._lock:
            self.media[media.id] = media
        processing = media.polls_left > 0
        return _json(self._media_json(media, processing), 202 if processing or self.pixelfed else 200)

    def _media(
        self, request: Request, account: FakeAccount, fault: MastodonFault | None, stop: Any, media_id: str
    ) -> Response:
        media = self.media.get(media_id)
        if media is None or media.account_id != account.id or media.status_id is not None:
            return _json({"error": "Record not found"}, 404)
        with self._lock:
            processing = media.polls_left > 0
            if processing:
                media.polls_left -= 1
        return _json(self._media_json(media, processing), 206 if processing else 200)

    def _media_json(self, media: FakeMedia, processing: bool) -> dict[str, Any]:
        url = None if processing else f"https://{self.domain}/system/media/{media.id}.jpg"
        return {
            "id": media.id,
            "type": "image",
            "url": url,
            "preview_url": url,
            "remote_url": None,
            "description": media.description,
            "blurhash": None,
            "meta": {},
        }

    # ---- statuses ------------------------------------------------------------------------------

    def _post(self, request: Request, account: FakeAccount, fault: MastodonFault | None, stop: Any) -> Response:
        body = request.get_json(silent=True) if request.is_json else None
        if isinstance(body, dict):
            text = str(body.get("status") or "")
            ids = [str(i) for i in body.get("media_ids") or []]
            visibility = str(body.get("visibility") or "public")
        else:
            text = request.form.get("status", "")
            ids = request.form.getlist("media_ids[]") or request.form.getlist("media_ids")
            visibility = request.form.get("visibility", "public")
        key = request.headers.get("Idempotency-Key") or None
        received = body if isinstance(body, dict) else {
            name: values if len(values) > 1 else values[0] for name, values in request.form.lists()}
        spoiler = str(received.get("spoiler_text") or "")
        if self.pixelfed:
            return self._post_pixelfed(account, text, ids, visibility, key, fault, stop)
        with self._lock:
            if key is not None:
                known = self.keys.get((account.id, key))
                if known is not None and self.clock() - known[1] < KEY_LIFETIME:
                    # The repeat is answered before anything else is looked at: its media ids are ignored (left
                    # unattached), and the answer can be lost like the first one.
                    original = next(s for s in self.created if s.id == known[0])
                    return self._answer(original, account, fault, stop)
            if len(ids) > self.max_media_attachments:
                return _json({"error": "Validation failed: You can't attach more than "
                              f"{self.max_media_attachments} files"}, 422)
            free = [self.media.get(i) for i in ids]
            missing = [
                i for i, m in zip(ids, free, strict=True) if m is None or m.status_id or m.account_id != account.id
            ]
            if missing:
                return _json(
                    {"error": f"Media {', '.join(missing)} not found or already attached to another post"}, 422
                )
            media = [m for m in free if m is not None]
            if any(m.polls_left > 0 for m in media):
                return _json(
                    {"error": "Cannot attach files that have not finished processing. Try again in a moment!"}, 422
                )
            if not text.strip() and not media:
                return _json({"error": "Validation failed: Text can't be blank"}, 422)
            # Mastodon counts the content warning against the limit too (StatusLengthValidator).
            if mastodon_count(text + spoiler, self.characters_reserved_per_url) > self.max_characters:
                return _json(
                    {"error": f"Validation failed: Text character limit of {self.max_characters} exceeded"}, 422
                )
            status = self._create(account, text, media, visibility, key)
            status.received = received
            if key is not None:  # kept once the status is saved
                self.keys[(account.id, key)] = (status.id, self.clock())
        return self._answer(status, account, fault, stop)

    def _post_pixelfed(
        self,
        account: FakeAccount,
        text: str,
        ids: list[str],
        visibility: str,
        key: str | None,
        fault: MastodonFault | None,
        stop: Any,
    ) -> Response:
        # Pixelfed validates, then stores the key before it does anything else (ApiV1Controller::statusCreate).
        if len(text.strip()) > self.max_characters:
            message = f"The status field must not be greater than {self.max_characters} characters."
            return _json({"message": message, "errors": {"status": [message]}}, 422)
        with self._lock:
            if key is not None:
                known = self.keys.get((account.id, key))
                if known is not None and self.clock() - known[1] < KEY_LIFETIME:
                    return _json({"message": "Duplicate idempotency key."}, 400)
                self.keys[(account.id, key)] = ("", self.clock())
            media: list[FakeMedia] = []
            for media_id in ids:
                found = self.media.get(media_id)
                if found is None:
                    return _json({"message": "No query results for model [App\\Media]."}, 404)
                if found.account_id != account.id or found.status_id:
                    return _json({"message": "Invalid media id"}, 403)
                media.append(found)
            status = self._create(account, text, media, visibility, key)
        return self._answer(status, account, fault, stop)

    def _create(
        self, account: FakeAccount, text: str, media: list[FakeMedia], visibility: str, key: str | None
    ) -> FakeStatus:
        status = FakeStatus(str(next(self._ids)), account.id, text, media, visibility, self.clock(), key)
        for item in media:
            item.status_id = status.id
        self.created.append(status)
        return status

    def _answer(self, status: FakeStatus, account: FakeAccount, fault: MastodonFault | None, stop: Any) -> Response:
        if fault is not None and fault.kind == "accept_then_unavailable":
            return _json({"error": "Service Unavailable"}, 503)
        if fault is not None and fault.kind == "accept_then_hang":
            _wait(stop, fault.seconds)
        return _json(self._status_json(status, account))

    def _status_json(self, status: FakeStatus, account: FakeAccount) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": status.id,
            "created_at": _timestamp(status.created_at),
            "visibility": status.visibility,
            "uri": f"https://{self.domain}/users/{account.username}/statuses/{status.id}",
            "url": f"https://{self.domain}/@{account.username}/{status.id}",
            "content": _render(status.text),
            "media_attachments": [self._media_json(m, False) for m in status.media],
            "account": self._account_json(account),
        }
        if self.pixelfed:
            doc["content_text"] = status.text
        return doc

    # ---- the account ---------------------------------------------------------------------------

    def _account_json(self, account: FakeAccount) -> dict[str, Any]:
        return {
            "id": account.id,
            "username": account.username,
            "acct": account.username,
            "display_name": account.username.title(),
            "url": f"https://{self.domain}/@{account.username}",
            "bot": account.bot,
        }

    def _me(self, request: Request, account: FakeAccount, fault: MastodonFault | None, stop: Any) -> Response:
        return _json(self._account_json(account))

    def _update_me(self, request: Request, account: FakeAccount, fault: MastodonFault | None, stop: Any) -> Response:
        if "bot" in request.form:
            account.bot = request.form["bot"] in ("true", "1")
        return _json(self._account_json(account))

    def _account_statuses(
        self, request: Request, account: FakeAccount, fault: MastodonFault | None, stop: Any, account_id: str
    ) -> Response:
        owner = next((a for a in self.accounts.values() if a.id == account_id), None)
        if owner is None:
            return _json({"error": "Record not found"}, 404)
        try:
            limit = min(40, max(1, int(request.args.get("limit", "20"))))
        except ValueError:
            limit = 20
        max_id = request.args.get("max_id")
        mine = [s for s in reversed(self.created) if s.account_id == owner.id]
        if account is ANONYMOUS:
            mine = [s for s in mine if s.visibility in ("public", "unlisted")]
        if max_id:
            mine = [s for s in mine if int(s.id) < int(max_id)]
        return _json([self._status_json(s, owner) for s in mine[:limit]])


ANONYMOUS = FakeAccount("", "", "", set())


def _timestamp(moment: float) -> str:
    """Unix time as Mastodon writes times: ISO 8601 in UTC, to the millisecond."""
    return dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _allows(scopes: set[str], needed: str) -> bool:
    """OAuth scopes as Mastodon reads them: ``write`` covers ``write:media``; ``profile`` reads the own account."""
    family = needed.split(":", 1)[0]
    return needed in scopes or family in scopes or (needed == "read:accounts" and "profile" in scopes)


_COUNTED_URL = re.compile(r"https?://[^\s<>]*[^\s<>.,;:!?'\")\]]")
_DOMAIN_MENTION = re.compile(r"(?<![\w/=])@(\w+)@[\w.-]*\w")


def mastodon_count(text: str, url_chars: int = 23) -> int:
    """Mastodon's count, written independently of pierrot's (simpler: the fake's URLs are plain)."""
    text = _DOMAIN_MENTION.sub(r"@\1", _COUNTED_URL.sub("x" * url_chars, text.strip()))
    return len(regex.findall(r"\X", text))


def _render(text: str) -> str:
    """The status's HTML as Mastodon renders it: paragraphs, line breaks, and links in their spans."""

    def link(found: re.Match[str]) -> str:
        url = found.group(0)
        scheme, rest = url.split("://", 1)
        return (
            f'<a href="{html.escape(url)}" target="_blank" rel="nofollow noopener" translate="no">'
            f'<span class="invisible">{scheme}://</span><span class="ellipsis">{html.escape(rest[:30])}</span>'
            f'<span class="invisible">{html.escape(rest[30:])}</span></a>'
        )

    paragraphs = []
    for paragraph in re.split(r"\n\n+", text.strip()):
        parts = []
        position = 0
        for found in _COUNTED_URL.finditer(paragraph):
            parts.append(html.escape(paragraph[position : found.start()]))
            parts.append(link(found))
            position = found.end()
        parts.append(html.escape(paragraph[position:]))
        paragraphs.append("<p>" + "".join(parts).replace("\n", "<br />") + "</p>")
    return "".join(paragraphs)


def main() -> None:
    """Run the fake by hand on a free port: prints the settings that point pierrot at it."""
    from tests.e2e.servers import ServerThread

    fake = MastodonFake("e2e-mastodon-token-Qw3Er5Ty7Ui9Op1", processing_polls=2)
    server = ServerThread(fake)
    print(f"export PIERROT_MASTODON_URL={server.url!r}")
    print(f"export PIERROT_MASTODON_ACCESS_TOKEN={fake.access_token!r}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()

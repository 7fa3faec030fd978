"""A fake Bluesky PDS for the end-to-end tests, as pierrot calls it: XRPC over JSON, with a PDS's own answers.

Sessions (createSession with an app password, rate limited per the PDS code; refreshSession), uploadBlob,
createRecord (an rkey that exists answers HTTP 500, as the real PDS does), putRecord (``swapRecord: null``
creates when absent, is a no-op for the identical record and answers 400 InvalidSwap for another),
getRecord (400 RecordNotFound) and listRecords. Every call is recorded; faults wait for the next matching
calls; ``posts`` lists the posts that exist, with their text, alt texts, blob sizes and record keys.
Like the fakes in ``servers.py`` it is a WSGI app: serve it with ``servers.ServerThread(BlueskyFake())``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import regex  # type: ignore[import-untyped,unused-ignore]
from werkzeug.wrappers import Request, Response

from tests.e2e.servers import ServerThread, _Faults, _json, _wait, photo_tag

BLOB_LIMIT = 1_000_000  # a PDS not upgraded since April 2026 (current ones take 2,000,000)
TEXT_GRAPHEMES = 300
TEXT_BYTES = 3000
LOGIN_WINDOW = 300  # seconds: the PDS allows 30 logins per 5 minutes per account and address
POST = "app.bsky.feed.post"
S32 = "234567abcdefghijklmnopqrstuvwxyz"
TID = regex.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")
ERROR_NAMES = {
    400: "InvalidRequest",
    401: "AuthenticationRequired",
    403: "Forbidden",
    404: "XRPCNotSupported",
    413: "PayloadTooLarge",
    429: "RateLimitExceeded",
    500: "InternalServerError",
    501: "MethodNotImplemented",
    502: "UpstreamFailure",
    503: "NotEnoughResources",
    504: "UpstreamTimeout",
}
ERROR_MESSAGES = {
    429: "Rate Limit Exceeded",
    500: "Internal Server Error",
    502: "Upstream Failure",
    503: "Not Enough Resources",
    504: "Upstream Timeout",
}


@dataclass(frozen=True)
class BlueskyFault:
    """What the fake does instead of (or around) its normal answer to one call.

    kinds: ``unavailable`` (answer ``status``, 503 by default, doing nothing), ``rate_limited`` (429 with
    RateLimit-Reset ``reset``), ``expired_token`` (400 ExpiredToken, as when the access token runs out),
    ``accept_then_unavailable`` (do the call, then answer 503: the answer is lost), ``accept_then_hang`` (do
    the call, then nothing for ``seconds``), ``hang_then_drop`` (nothing for ``seconds``, then 503 without
    doing it), ``delay`` (nothing for ``seconds``, then the normal answer).
    """

    kind: str
    status: int = 503
    seconds: float = 0.0
    reset: int | None = None


@dataclass
class BlueskyCall:
    nsid: str
    method: str
    at: float
    auth: str = ""  # which token came as bearer: "", "access", "refresh", "expired", "unknown"
    status: int = 0
    error: str = ""
    fault: BlueskyFault | None = None
    rkey: str | None = None
    user_agent: str = ""


@dataclass
class BlueskyBlob:
    cid: str
    mime_type: str
    size: int
    photo_id: str | None
    label: str | None


@dataclass
class BlueskyRecord:
    collection: str
    rkey: str
    cid: str
    value: dict[str, Any]
    via: str  # the call that wrote it: createRecord or putRecord
    serial: int


@dataclass
class BlueskyPost:
    """A post that exists on the fake."""

    rkey: str
    uri: str
    cid: str
    text: str
    created_at: str
    alts: list[str]
    blob_sizes: list[int]
    photo_ids: list[str | None]
    facets: list[dict[str, Any]]
    record: dict[str, Any]
    via: str


class _Answer(Exception):
    """An XRPC error answer, raised from deep in a handler."""

    def __init__(self, status: int, error: str | None = None, message: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error or ERROR_NAMES.get(status, "InvalidRequest")
        self.message = message or ERROR_MESSAGES.get(status, self.error)

    def response(self, headers: dict[str, str] | None = None) -> Response:
        return _json({"error": self.error, "message": self.message}, self.status, headers)


class BlueskyFake:
    """One account on a PDS: its sessions, blobs and records."""

    def __init__(
        self,
        *,
        handle: str = "pierrot-e2e.bsky.social",
        app_password: str = "e2e7-app2-pass-word",
        account_password: str = "E2eAccountPasswordNeverUse9",
        did: str = "did:plc:e2efake7pierrotbsky2xq4",
        login_limit: int | None = 30,
    ) -> None:
        self.handle = handle
        self.app_password = app_password
        self.account_password = account_password
        self.did = did
        self.login_limit = login_limit
        self.faults = _Faults()
        self.calls: list[BlueskyCall] = []
        self.blobs: dict[str, BlueskyBlob] = {}
        self.records: dict[tuple[str, str], BlueskyRecord] = {}
        self.logins = 0  # every createSession that reached the fake, refused ones included
        self._access: set[str] = set()
        self._refresh: set[str] = set()
        self._expired: set[str] = set()
        self._retired: list[str] = []
        self._serial = 0
        self._last_micros = 0
        self._lock = threading.RLock()
        self._stop = threading.Event()

    # ---- test controls -------------------------------------------------------------------------

    def reset(self) -> None:
        self._stop.set()
        self._stop = threading.Event()
        with self._lock:
            self.calls = []
            self.blobs = {}
            self.records = {}
            self.logins = 0
            self._access, self._refresh, self._expired = set(), set(), set()
            self._retired = []
        self.faults.clear()

    def inject(self, fault: BlueskyFault, *, method: str = "com.atproto.repo.putRecord", times: int = 1) -> None:
        """Apply ``fault`` to the next ``times`` calls of ``method`` (an NSID) that pass authentication."""
        self.faults.add(fault, lambda call: call["nsid"] == method, times)

    def expire_tokens(self, *, access: bool = True, refresh: bool = False) -> None:
        """Every token handed out so far answers 400 ExpiredToken from now on."""
        with self._lock:
            if access:
                self._expired |= self._access
                self._access = set()
            if refresh:
                self._expired |= self._refresh
                self._refresh = set()

    def calls_to(self, nsid: str) -> list[BlueskyCall]:
        return [c for c in self.calls if c.nsid == nsid]

    def environment(self, url: str) -> dict[str, str]:
        """The settings that point pierrot at this fake, served at ``url``."""
        return {
            "PIERROT_BLUESKY_SERVICE": url,
            "PIERROT_BLUESKY_HANDLE": self.handle,
            "PIERROT_BLUESKY_APP_PASSWORD": self.app_password,
        }

    def secrets(self) -> list[str]:
        """The password values and every token handed out: none may appear in pierrot's output."""
        with self._lock:
            return [
                self.app_password,
                self.account_password,
                *self._access,
                *self._refresh,
                *self._expired,
                *self._retired,
            ]

    @property
    def posts(self) -> list[BlueskyPost]:
        """The posts that exist, oldest write first."""
        with self._lock:
            records = sorted((r for r in self.records.values() if r.collection == POST), key=lambda r: r.serial)
            blobs = dict(self.blobs)
        posts = []
        for record in records:
            value = record.value
            images = ((value.get("embed") or {}).get("images")) or []
            found = [blobs.get(_blob_cid(image.get("image")) or "") for image in images]
            posts.append(
                BlueskyPost(
                    rkey=record.rkey,
                    uri=self._uri(POST, record.rkey),
                    cid=record.cid,
                    text=str(value.get("text", "")),
                    created_at=str(value.get("createdAt", "")),
                    alts=[str(image.get("alt", "")) for image in images],
                    blob_sizes=[blob.size if blob else -1 for blob in found],
                    photo_ids=[blob.photo_id if blob else None for blob in found],
                    facets=list(value.get("facets") or []),
                    record=value,
                    via=record.via,
                )
            )
        return posts

    # ---- WSGI ----------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        nsid = request.path.removeprefix("/xrpc/") if request.path.startswith("/xrpc/") else request.path
        call = BlueskyCall(nsid, request.method, time.monotonic(), user_agent=request.headers.get("User-Agent", ""))
        with self._lock:
            self.calls.append(call)
        response = self._handle(request, call)
        call.status = response.status_code
        if response.status_code >= 400:
            try:
                call.error = str(json.loads(response.get_data()).get("error", ""))
            except (ValueError, AttributeError):
                call.error = ""
        return response(environ, start_response)

    def _handle(self, request: Request, call: BlueskyCall) -> Response:
        stop = self._stop
        routes: dict[str, tuple[str, str, Callable[[Request, BlueskyCall], Response]]] = {
            # nsid: (HTTP method, the token it takes, handler)
            "com.atproto.server.createSession": ("POST", "", self._create_session),
            "com.atproto.server.refreshSession": ("POST", "refresh", self._refresh_session),
            "com.atproto.repo.uploadBlob": ("POST", "access", self._upload_blob),
            "com.atproto.repo.createRecord": ("POST", "access", self._create_record),
            "com.atproto.repo.putRecord": ("POST", "access", self._put_record),
            "com.atproto.repo.getRecord": ("GET", "", self._get_record),
            "com.atproto.repo.listRecords": ("GET", "", self._list_records),
        }
        route = routes.get(call.nsid)
        if route is None:
            request.get_data()
            return _Answer(501, message="Method Not Implemented").response()
        method, token, handler = route
        try:
            if request.method != method:
                raise _Answer(400, message=f"Incorrect HTTP method ({request.method}) expected {method}")
            call.auth = self._token_kind(request)
            if token:
                self._authorise(call.auth, token)
        except _Answer as answer:
            request.get_data()  # drain the body so the client reads the answer, not a reset
            return answer.response()
        fault = self.faults.take({"nsid": call.nsid})
        call.fault = fault
        if fault is not None:
            request.get_data()
            if fault.kind == "rate_limited":
                return self._rate_limited(fault.reset, limit=self.login_limit or 30)
            if fault.kind == "unavailable":
                return _Answer(fault.status).response()
            if fault.kind == "expired_token":
                return _Answer(400, "ExpiredToken", "Token has expired").response()
            if fault.kind == "hang_then_drop":
                _wait(stop, fault.seconds)
                return _Answer(503).response()
            if fault.kind == "delay":
                _wait(stop, fault.seconds)
        try:
            response = handler(request, call)
        except _Answer as answer:
            return answer.response()
        if fault is not None and response.status_code < 300:
            if fault.kind == "accept_then_unavailable":
                return _Answer(503).response()
            if fault.kind == "accept_then_hang":
                _wait(stop, fault.seconds)
        return response

    # ---- sessions ------------------------------------------------------------------------------

    def _token_kind(self, request: Request) -> str:
        header = request.headers.get("Authorization", "")
        if not header:
            return ""
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        with self._lock:
            if token in self._access:
                return "access"
            if token in self._refresh:
                return "refresh"
            if token in self._expired:
                return "expired"
        return "unknown"

    @staticmethod
    def _authorise(kind: str, needed: str) -> None:
        if kind == "":
            raise _Answer(401, "AuthMissing", "Authentication Required")
        if kind == "expired":
            raise _Answer(400, "ExpiredToken", "Token has expired")
        if kind == "unknown":
            raise _Answer(400, "InvalidToken", "Token could not be verified")
        if kind != needed:
            raise _Answer(400, "InvalidToken", "Bad token scope")

    def _create_session(self, request: Request, call: BlueskyCall) -> Response:
        body = _body(request)
        with self._lock:
            self.logins += 1
            over = self.login_limit is not None and self.logins > self.login_limit
        if over:
            return self._rate_limited(None, limit=self.login_limit or 0)
        identifier = str(body.get("identifier", "")).strip().removeprefix("@").lower()
        password = body.get("password")
        if not isinstance(password, str) or not identifier:
            raise _Answer(400, message="Input must have the properties identifier and password")
        if identifier not in (self.handle.lower(), self.did):
            raise _Answer(401, message="Invalid identifier or password")
        if password == self.account_password:
            raise _Answer(401, "AuthFactorTokenRequired", "A sign in code has been sent to your email address")
        if password != self.app_password:
            raise _Answer(401, message="Invalid identifier or password")
        return _json(self._new_session(request, email=True))

    def _refresh_session(self, request: Request, call: BlueskyCall) -> Response:
        used = request.headers["Authorization"].removeprefix("Bearer ").strip()
        with self._lock:
            self._refresh.discard(used)  # a refresh token serves once: used again, it is unknown
            self._retired.append(used)
        return _json(self._new_session(request, email=False))

    def _new_session(self, request: Request, *, email: bool) -> dict[str, Any]:
        access = (
            "eyJ0eXAiOiJhdCtqd3QiLCJhbGciOiJFUzI1NksifQ." + secrets.token_urlsafe(48) + "." + secrets.token_urlsafe(32)
        )
        refresh = "eyJ0eXAiOiJyZWZyZXNoK2p3dCJ9." + secrets.token_urlsafe(48) + "." + secrets.token_urlsafe(32)
        with self._lock:
            self._access.add(access)
            self._refresh.add(refresh)
        answer: dict[str, Any] = {
            "did": self.did,
            "didDoc": {
                "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
                "id": self.did,
                "alsoKnownAs": [f"at://{self.handle}"],
                "service": [
                    {
                        "id": "#atproto_pds",
                        "type": "AtprotoPersonalDataServer",
                        "serviceEndpoint": request.host_url.rstrip("/"),
                    }
                ],
            },
            "handle": self.handle,
            "accessJwt": access,
            "refreshJwt": refresh,
            "active": True,
        }
        if email:
            answer.update(email="pierrot-e2e@example.com", emailConfirmed=True, emailAuthFactor=False)
        return answer

    def _rate_limited(self, reset: int | None, *, limit: int) -> Response:
        reset = reset if reset is not None else int(time.time()) + LOGIN_WINDOW
        headers = {
            "RateLimit-Limit": str(limit),
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(reset),
            "RateLimit-Policy": f"{limit};w={LOGIN_WINDOW}",
        }
        return _Answer(429).response(headers)

    # ---- blobs and records ---------------------------------------------------------------------

    def _upload_blob(self, request: Request, call: BlueskyCall) -> Response:
        data = request.get_data()
        if len(data) > BLOB_LIMIT:
            raise _Answer(
                400,
                "BlobTooLarge",
                f"This file is too large. It is {len(data) / 1e6:.2f}MB but the maximum size is "
                f"{BLOB_LIMIT / 1e6:.2f}MB",
            )
        if not data:
            raise _Answer(400, message="Request body is empty")
        cid = "bafkrei" + base64.b32encode(hashlib.sha256(data).digest()).decode().lower().rstrip("=")
        tag = photo_tag(data)
        mime = _sniff(data) or request.headers.get("Content-Type", "application/octet-stream")
        with self._lock:
            self.blobs[cid] = BlueskyBlob(cid, mime, len(data), tag[0] if tag else None, tag[1] if tag else None)
        return _json({"blob": {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": len(data)}})

    def _create_record(self, request: Request, call: BlueskyCall) -> Response:
        body = _body(request)
        collection, record = self._check_write(body)
        rkey = body.get("rkey")
        if rkey is None:
            rkey = self._next_tid()
        call.rkey = str(rkey)
        self._check_rkey(collection, rkey)
        cid = _record_cid(record)
        with self._lock:
            if (collection, rkey) in self.records:
                # What the real PDS answers (atproto issues 3718, 4725): nothing is written.
                raise _Answer(500)
            self._store(collection, rkey, cid, record, "createRecord")
        return _json(self._write_answer(collection, rkey, cid, commit=True))

    def _put_record(self, request: Request, call: BlueskyCall) -> Response:
        body = _body(request)
        collection, record = self._check_write(body)
        rkey = body.get("rkey")
        call.rkey = str(rkey) if rkey is not None else None
        if not isinstance(rkey, str):
            raise _Answer(400, message='Input must have the property "rkey"')
        self._check_rkey(collection, rkey)
        cid = _record_cid(record)
        with self._lock:
            current = self.records.get((collection, rkey))
            if current is not None and current.cid == cid:
                return _json(self._write_answer(collection, rkey, cid, commit=False))  # no-op: the identical record
            if "swapRecord" in body:
                swap = body["swapRecord"]
                held = current.cid if current is not None else None
                if swap != held:
                    raise _Answer(400, "InvalidSwap", f"Record was at {held}")
            self._store(collection, rkey, cid, record, "putRecord")
        return _json(self._write_answer(collection, rkey, cid, commit=True))

    def _get_record(self, request: Request, call: BlueskyCall) -> Response:
        repo, collection = request.args.get("repo", ""), request.args.get("collection", "")
        rkey = request.args.get("rkey", "")
        call.rkey = rkey
        if not (repo and collection and rkey):
            raise _Answer(400, message="Params must have the properties repo, collection and rkey")
        self._check_repo(repo, status=400)
        with self._lock:
            found = self.records.get((collection, rkey))
        if found is None:
            raise _Answer(400, "RecordNotFound", f"Could not locate record: {self._uri(collection, rkey)}")
        return _json({"uri": self._uri(collection, rkey), "cid": found.cid, "value": found.value})

    def _list_records(self, request: Request, call: BlueskyCall) -> Response:
        repo, collection = request.args.get("repo", ""), request.args.get("collection", "")
        if not (repo and collection):
            raise _Answer(400, message="Params must have the properties repo and collection")
        self._check_repo(repo, status=400)
        try:
            limit = int(request.args.get("limit", "50"))
        except ValueError:
            raise _Answer(400, message="limit must be an integer") from None
        if not 1 <= limit <= 100:
            raise _Answer(400, message="limit can not be greater than 100")
        ascending = request.args.get("reverse", "false") == "true"
        cursor = request.args.get("cursor")
        with self._lock:
            records = sorted(
                (r for r in self.records.values() if r.collection == collection),
                key=lambda r: r.rkey,
                reverse=not ascending,
            )
        if cursor:
            records = [r for r in records if (r.rkey > cursor if ascending else r.rkey < cursor)]
        page = records[:limit]
        answer: dict[str, Any] = {
            "records": [{"uri": self._uri(collection, r.rkey), "cid": r.cid, "value": r.value} for r in page]
        }
        if len(page) == limit and len(records) > limit:
            answer["cursor"] = page[-1].rkey
        return _json(answer)

    # ---- checks as the PDS makes them ------------------------------------------------------------

    def _check_repo(self, repo: str, *, status: int) -> None:
        if repo not in (self.did, self.handle):
            if status == 401:
                raise _Answer(401, message="Authentication Required")
            raise _Answer(400, message=f"Could not find repo: {repo}")

    def _check_write(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        repo, collection, record = body.get("repo"), body.get("collection"), body.get("record")
        if not isinstance(repo, str) or not isinstance(collection, str) or not isinstance(record, dict):
            raise _Answer(400, message="Input must have the properties repo, collection and record")
        self._check_repo(repo, status=401)
        if record.get("$type") != collection:
            raise _Answer(400, message=f"Invalid $type: expected {collection}, got {record.get('$type')}")
        if collection == POST:
            self._check_post(record)
        return collection, record

    def _check_rkey(self, collection: str, rkey: Any) -> None:
        if not isinstance(rkey, str) or (collection == POST and not TID.fullmatch(rkey)):
            raise _Answer(400, message=f"Invalid record key: {rkey!r} is not a TID")

    def _check_post(self, record: dict[str, Any]) -> None:
        problem = "Invalid app.bsky.feed.post record: "
        text = record.get("text")
        if not isinstance(text, str):
            raise _Answer(400, message=problem + 'Record must have the property "text"')
        if len(regex.findall(r"\X", text)) > TEXT_GRAPHEMES:
            raise _Answer(400, message=problem + f"Record/text must not be longer than {TEXT_GRAPHEMES} graphemes")
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > TEXT_BYTES:
            raise _Answer(400, message=problem + f"Record/text must not be longer than {TEXT_BYTES} characters")
        created = record.get("createdAt")
        try:
            dt.datetime.fromisoformat(str(created))
        except ValueError:
            raise _Answer(400, message=problem + "Record/createdAt must be an valid atproto datetime") from None
        for number, facet in enumerate(record.get("facets") or []):
            index = facet.get("index") or {}
            start, end = index.get("byteStart"), index.get("byteEnd")
            if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= size):
                raise _Answer(400, message=problem + f"Record/facets/{number}/index is out of the text")
        # The lexicon: langs, at most 3 language tags; labels, a selfLabels object of at most 10 {val} items.
        langs = record.get("langs", [])
        if not isinstance(langs, list) or len(langs) > 3 or not all(isinstance(x, str) and x for x in langs):
            raise _Answer(400, message=problem + "Record/langs must be an array of at most 3 language tags")
        labels = record.get("labels", {"$type": "com.atproto.label.defs#selfLabels", "values": []})
        values = labels.get("values") if isinstance(labels, dict) else None
        if (not isinstance(values, list) or labels.get("$type") != "com.atproto.label.defs#selfLabels"
                or len(values) > 10 or not all(isinstance(v, dict) and isinstance(v.get("val"), str) for v in values)):
            raise _Answer(400, message=problem + "Record/labels must be com.atproto.label.defs#selfLabels")
        embed = record.get("embed")
        if embed is None:
            return
        if embed.get("$type") != "app.bsky.embed.images":
            raise _Answer(400, message=problem + "Record/embed must be app.bsky.embed.images in this fake")
        images = embed.get("images")
        if not isinstance(images, list) or not 1 <= len(images) <= 4:
            raise _Answer(400, message=problem + "Record/embed/images must hold 1 to 4 images")
        for number, image in enumerate(images):
            where = f"Record/embed/images/{number}"
            if not isinstance(image.get("alt"), str):
                raise _Answer(400, message=problem + f'{where} must have the property "alt"')
            ratio = image.get("aspectRatio")
            if ratio is not None and not all(
                isinstance(ratio.get(k), int) and ratio[k] >= 1 for k in ("width", "height")
            ):
                raise _Answer(400, message=problem + f"{where}/aspectRatio must have a width and height of 1 or more")
            cid = _blob_cid(image.get("image"))
            with self._lock:
                blob = self.blobs.get(cid or "")
            if blob is None:
                raise _Answer(400, "BlobNotFound", f"Could not find blob: {cid}")
            if blob.size > BLOB_LIMIT:
                raise _Answer(400, "BlobTooLarge", f"This file is too large. It is {blob.size} bytes")
            if not blob.mime_type.startswith("image/"):
                raise _Answer(
                    400, "InvalidMimeType", f"Wrong type of file. It is {blob.mime_type} but must match image/*"
                )

    # ---- helpers -------------------------------------------------------------------------------

    def _store(self, collection: str, rkey: str, cid: str, record: dict[str, Any], via: str) -> None:
        self._serial += 1
        self.records[(collection, rkey)] = BlueskyRecord(collection, rkey, cid, record, via, self._serial)

    def _write_answer(self, collection: str, rkey: str, cid: str, *, commit: bool) -> dict[str, Any]:
        answer: dict[str, Any] = {"uri": self._uri(collection, rkey), "cid": cid}
        if commit:
            answer["commit"] = {"cid": "bafyreic" + cid[-50:], "rev": self._next_tid()}
        answer["validationStatus"] = "valid"
        return answer

    def _uri(self, collection: str, rkey: str) -> str:
        return f"at://{self.did}/{collection}/{rkey}"

    def _next_tid(self) -> str:
        with self._lock:
            micros = max(time.time_ns() // 1000, self._last_micros + 1)
            self._last_micros = micros
        value = micros << 10 | 7
        return "".join(S32[(value >> shift) & 31] for shift in range(60, -1, -5))


def _body(request: Request) -> dict[str, Any]:
    if request.mimetype != "application/json":
        request.get_data()
        raise _Answer(400, message=f"Wrong request encoding (Content-Type): {request.mimetype or 'none'}")
    try:
        body = json.loads(request.get_data())
    except ValueError:
        raise _Answer(400, message="Invalid JSON body") from None
    if not isinstance(body, dict):
        raise _Answer(400, message="Input must be an object")
    return body


def _blob_cid(blob: Any) -> str | None:
    if isinstance(blob, dict) and isinstance(blob.get("ref"), dict):
        link = blob["ref"].get("$link")
        return link if isinstance(link, str) else None
    return None


def _record_cid(record: dict[str, Any]) -> str:
    """Equal records, equal cids (the real one hashes the record's DAG-CBOR, whose keys are ordered too)."""
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return "bafyrei" + base64.b32encode(hashlib.sha256(canonical).digest()).decode().lower().rstrip("=")


def _sniff(data: bytes) -> str | None:
    """The type the PDS reads from the bytes themselves, whatever Content-Type said."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass
class BlueskyServer:
    """The fake served on 127.0.0.1 from a daemon thread."""

    fake: BlueskyFake = field(default_factory=BlueskyFake)

    def __post_init__(self) -> None:
        self.thread = ServerThread(self.fake)
        self.url = self.thread.url

    def stop(self) -> None:
        self.fake._stop.set()
        self.thread.stop()

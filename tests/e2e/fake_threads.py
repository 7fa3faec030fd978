"""A fake of Meta's Threads Graph API for the end-to-end tests.

It answers what pierrot calls: ``/v1.0/me``, IMAGE containers (``POST /v1.0/me/threads``) whose image it FETCHES
from ``image_url`` itself, as Meta does, refusing one that tells where it was taken; carousels (IMAGE containers
with ``is_carousel_item=true``, never published on their own, then a CAROUSEL container whose ``children`` are 2 to
20 FINISHED items of the same user, published as one post showing them all: ``FakeContainer.images``); the
container's status
(IN_PROGRESS for ``processing_polls`` reads, then FINISHED; EXPIRED 24 h after it was made, by the fake's clock;
PUBLISHED once published); ``threads_publish`` (a container publishes once: a second time is an error), with the
250-a-day limit; the post's permalink; the profile's posts; ``threads_publishing_limit``; ``debug_token``; and
``/refresh_access_token``. Like the other fakes it records every call, takes faults for the next matching calls
and forgets everything on ``reset()``; ``age()`` moves its past back.

Error shapes follow the Graph API's ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``.
The codes for "already published" and "publishing limit reached" are NOT documented by Meta for Threads: the
fake uses Instagram's content-publishing ones (code 9 / subcode 2207042 for the limit), and code 10 with subcode
4279009 (invented) for a container published twice.
"""

from __future__ import annotations

import itertools
import math
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import requests
from werkzeug.wrappers import Request, Response

from pierrot.adapters.images.exif import has_location
from tests.e2e.servers import _Faults, _json, _wait, photo_tag

DAY = 86400
TOKEN_LIFETIME = 60 * DAY
POSTS_PER_DAY = 250
CONTAINER_LIFETIME = DAY
IMAGE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class ThreadsFault:
    """``unavailable`` (503, nothing done), ``accept_then_unavailable`` (done, then 503: the answer is lost),
    ``accept_then_hang`` (done, then nothing for ``seconds``), ``hang`` (nothing for ``seconds``, then 503 with
    nothing done: a run killed meanwhile never had its request acted on), ``refused`` (HTTP 400, code 100, nothing
    done), ``rate_limited`` (HTTP 400, code 4, Retry-After: 600 s, or until ``reset`` when given)."""

    kind: str
    seconds: float = 0.0
    reset: int | None = None


@dataclass
class ThreadsCall:
    method: str
    path: str
    at: float
    status: int = 0
    fault: ThreadsFault | None = None


@dataclass
class FakeContainer:
    id: str
    user_id: str
    text: str
    alt_text: str | None
    image_url: str
    nbytes: int
    photo: tuple[str, str] | None  # (photo id, size label) from the fake image host's tag
    created_at: float
    polls_left: int
    status: str = "IN_PROGRESS"
    error_message: str | None = None
    post_id: str | None = None
    spoiler: bool = False  # is_spoiler_media: the image blurred until tapped
    carousel_item: bool = False  # is_carousel_item: only ever published inside a CAROUSEL container
    children: tuple[FakeContainer, ...] = ()  # a CAROUSEL container's items, in order

    @property
    def images(self) -> tuple[FakeContainer, ...]:
        """The image containers a post made of this container shows, in order."""
        return self.children or (self,)


@dataclass
class FakeThread:
    id: str
    user_id: str
    username: str
    container: FakeContainer
    created_at: float

    @property
    def permalink(self) -> str:
        return f"https://www.threads.com/@{self.username}/post/C{self.id[-8:]}"


@dataclass
class ThreadsFake:
    """Threads' Graph API as pierrot calls it, with bearer or query tokens checked."""

    access_token: str
    username: str = "someone"
    user_id: str = "17841400000000001"
    processing_polls: int = 0  # reads of a new container that answer IN_PROGRESS before FINISHED
    token_age: float = DAY * 2  # how old the configured token is, for debug_token and refresh
    token_left: float = TOKEN_LIFETIME - DAY * 2  # how long it has to live
    clock: Callable[[], float] = time.time
    calls: list[ThreadsCall] = field(default_factory=list)
    faults: _Faults = field(default_factory=_Faults)
    containers: dict[str, FakeContainer] = field(default_factory=dict)
    threads: list[FakeThread] = field(default_factory=list)
    fetched: list[tuple[str, int]] = field(default_factory=list)  # (image_url, HTTP status of the fetch)
    tokens: dict[str, tuple[float, float]] = field(default_factory=dict)  # token -> (issued_at, expires_at)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ids = itertools.count(18_000_000_000_000_001)
        self._settings = {"processing_polls": self.processing_polls, "token_age": self.token_age,
                          "token_left": self.token_left}
        self._issue(self.access_token)

    # ---- test controls -------------------------------------------------------------------------

    def _issue(self, token: str) -> None:
        now = self.clock()
        self.tokens[token] = (now - self.token_age, now + self.token_left)

    def reset(self) -> None:
        self._stop.set()
        self._stop = threading.Event()
        with self._lock:
            self.calls, self.containers, self.threads, self.fetched, self.tokens = [], {}, [], [], {}
        self.faults.clear()
        for name, value in self._settings.items():
            setattr(self, name, value)
        self._issue(self.access_token)

    def age(self, seconds: float) -> None:
        """Make everything the fake did ``seconds`` older: containers expire after their 24 hours."""
        with self._lock:
            for container in self.containers.values():
                container.created_at -= seconds
            for thread in self.threads:
                thread.created_at -= seconds
            self.tokens = {t: (i - seconds, e - seconds) for t, (i, e) in self.tokens.items()}

    def inject(self, fault: ThreadsFault, *, path: str = "/v1.0/me/threads_publish", times: int = 1) -> None:
        self.faults.add(fault, lambda call: call["path"] == path, times)

    def calls_to(self, path: str, method: str | None = None) -> list[ThreadsCall]:
        return [c for c in self.calls if c.path == path and (method is None or c.method == method)]

    # ---- WSGI ----------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        call = ThreadsCall(request.method, request.path, time.monotonic())
        with self._lock:
            self.calls.append(call)
        response = self._handle(request, call)
        call.status = response.status_code
        return response(environ, start_response)

    def _handle(self, request: Request, call: ThreadsCall) -> Response:
        method, path = request.method, request.path
        if method == "GET" and path == "/refresh_access_token":
            return self._refresh(request)
        token = self._token(request)
        if token is None:
            return _error("Invalid OAuth access token - Cannot parse access token", 190, status=400)
        routes: list[tuple[str, str, Callable[..., Response]]] = [
            ("GET", r"/v1\.0/me", self._me),
            ("GET", r"/v1\.0/debug_token", self._debug_token),
            ("GET", r"/v1\.0/me/threads_publishing_limit", self._limit),
            ("POST", r"/v1\.0/me/threads", self._create),
            ("GET", r"/v1\.0/me/threads", self._list),
            ("POST", r"/v1\.0/me/threads_publish", self._publish),
            ("GET", r"/v1\.0/(\d+)", self._object),
        ]
        for verb, pattern, handler in routes:
            found = re.fullmatch(pattern, path)
            if verb != method or not found:
                continue
            fault = self.faults.take({"path": path})
            call.fault = fault
            if fault is not None and fault.kind == "unavailable":
                return _error("An unexpected error has occurred. Please retry your request later.", 2, status=503)
            if fault is not None and fault.kind == "hang":
                _wait(self._stop, fault.seconds)
                return _error("An unexpected error has occurred. Please retry your request later.", 2, status=503)
            if fault is not None and fault.kind == "refused":
                return _error("Invalid parameter", 100, status=400)
            if fault is not None and fault.kind == "rate_limited":
                retry = 600 if fault.reset is None else fault.reset - math.ceil(time.time())
                return _error("Application request limit reached", 4, status=400, headers={"Retry-After": str(retry)})
            answer: Response = handler(request, token, *found.groups())
            if fault is not None and fault.kind == "accept_then_unavailable":
                return _error("An unexpected error has occurred.", 2, status=503)
            if fault is not None and fault.kind == "accept_then_hang":
                _wait(self._stop, fault.seconds)
            return answer
        return _error(f"Unsupported request - method type: {method.lower()}", 100, status=400)

    def _token(self, request: Request) -> str | None:
        header = request.headers.get("Authorization", "")
        token = header[len("Bearer "):] if header.startswith("Bearer ") else request.values.get("access_token")
        times = self.tokens.get(token or "")
        if token is None or times is None or times[1] <= self.clock():
            return None
        return token

    # ---- the profile and the token ---------------------------------------------------------------

    def _me(self, request: Request, token: str) -> Response:
        return _json({"id": self.user_id, "username": self.username})

    def _debug_token(self, request: Request, token: str) -> Response:
        issued, expires = self.tokens.get(request.args.get("input_token", ""), (0.0, 0.0))
        return _json({"data": {"type": "USER", "application": "pierrot", "is_valid": expires > self.clock(),
                               "issued_at": int(issued), "expires_at": int(expires),
                               "scopes": ["threads_basic", "threads_content_publish"], "user_id": self.user_id}})

    def _refresh(self, request: Request) -> Response:
        old = request.args.get("access_token", "")
        times = self.tokens.get(old)
        if request.args.get("grant_type") != "th_refresh_token":
            return _error("Unsupported grant_type", 100, status=400)
        if times is None or times[1] <= self.clock():
            return _error("Error validating access token: Session has expired", 190, status=400)
        if self.clock() - times[0] < DAY:
            return _error("The access token can be refreshed once it is at least 24 hours old", 100, status=400)
        new = f"THQ{next(self._ids)}"
        now = self.clock()
        self.tokens[new] = (now, now + TOKEN_LIFETIME)
        return _json({"access_token": new, "token_type": "bearer", "expires_in": TOKEN_LIFETIME})

    def _published_today(self) -> int:
        since = self.clock() - DAY
        return sum(1 for t in self.threads if t.created_at > since)

    def _limit(self, request: Request, token: str) -> Response:
        return _json({"data": [{"quota_usage": self._published_today(),
                                "config": {"quota_total": POSTS_PER_DAY, "quota_duration": DAY}}]})

    # ---- containers and posts --------------------------------------------------------------------

    def _create(self, request: Request, token: str) -> Response:
        form = request.form
        text, alt = form.get("text", ""), form.get("alt_text")
        if len(text) > 500:
            return _error("Param text must be at most 500 characters long", 100, status=400)
        if form.get("media_type") == "CAROUSEL":
            return self._create_carousel(form.get("children", ""), text, form.get("is_spoiler_media") == "true")
        if form.get("media_type") != "IMAGE":
            return _error("Param media_type must be one of {TEXT, IMAGE, VIDEO, CAROUSEL}", 100, status=400)
        url = form.get("image_url", "")
        if alt is not None and len(alt) > 1000:
            return _error("Param alt_text must be at most 1000 characters long", 100, status=400)
        try:  # Meta fetches the image itself, from the public URL it was given
            fetched = requests.get(url, timeout=10)
        except requests.RequestException:
            self.fetched.append((url, 0))
            return _error("Media download has failed.: The media could not be fetched from the URI", 9004,
                          subcode=2207052, status=400)
        self.fetched.append((url, fetched.status_code))
        data = fetched.content
        if fetched.status_code != 200 or not data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")):
            return _error("Media download has failed.: The media URI doesn't meet our requirements", 9004,
                          subcode=2207052, status=400)
        if len(data) > IMAGE_BYTES:
            return _error("The image is too large", 100, subcode=2207004, status=400)
        if has_location(data):
            # Not Meta's behaviour (it strips metadata itself): the fake refuses so no test passes with a location sent.
            return _error("FAKE: this image tells where it was taken; pierrot must never hand one out", 100,
                          status=400)
        container = FakeContainer(str(next(self._ids)), self.user_id, text, alt, url, len(data), photo_tag(data),
                                  self.clock(), self.processing_polls)
        container.spoiler = form.get("is_spoiler_media") == "true"
        container.carousel_item = form.get("is_carousel_item") == "true"
        with self._lock:
            self.containers[container.id] = container
        return _json({"id": container.id})

    def _create_carousel(self, children: str, text: str, spoiler: bool) -> Response:
        """A CAROUSEL container of 2 to 20 FINISHED carousel items of this user, each used once."""
        ids = [c.strip() for c in children.split(",") if c.strip()]
        if not 2 <= len(ids) <= 20:
            return _error("Param children must list 2 to 20 container ids", 100, status=400)
        items = []
        used = {i.id for c in self.containers.values() for i in c.children}
        for child in ids:
            item = self.containers.get(child)
            if item is None or item.user_id != self.user_id or not item.carousel_item or item.children:
                return _error(f"Invalid parameter: children ({child} is not a carousel item of this user)", 100,
                              status=400)
            if self._status(item) != "FINISHED" or child in used:
                return _error(f"The media is not ready to be published (child {child} status "
                              f"{self._status(item)})", 9007, subcode=2207027, status=400)
            items.append(item)
        container = FakeContainer(str(next(self._ids)), self.user_id, text, None, "", sum(i.nbytes for i in items),
                                  None, self.clock(), self.processing_polls, spoiler=spoiler, children=tuple(items))
        with self._lock:
            self.containers[container.id] = container
        return _json({"id": container.id})

    def _status(self, container: FakeContainer) -> str:
        if container.status in ("IN_PROGRESS", "FINISHED") and self.clock() - container.created_at > CONTAINER_LIFETIME:
            container.status = "EXPIRED"
        return container.status

    def _object(self, request: Request, token: str, object_id: str) -> Response:
        container = self.containers.get(object_id)
        if container is not None:
            status = self._status(container)
            if status == "IN_PROGRESS":
                container.polls_left -= 1
                if container.polls_left < 0:
                    container.status = status = "FINISHED"
            doc: dict[str, Any] = {"id": container.id, "status": status}
            if container.error_message:
                doc["error_message"] = container.error_message
            return _json(doc)
        thread = next((t for t in self.threads if t.id == object_id), None)
        if thread is None:
            return _error(f"Unsupported get request. Object with ID '{object_id}' does not exist", 100,
                          subcode=33, status=400)
        return _json({"id": thread.id, "permalink": thread.permalink})

    def _publish(self, request: Request, token: str) -> Response:
        container = self.containers.get(request.values.get("creation_id", ""))
        if container is None:
            return _error("Invalid parameter: creation_id", 100, status=400)
        status = self._status(container)
        if status == "PUBLISHED":
            return _error("The media has already been published", 10, subcode=4279009, status=400)
        if container.carousel_item:  # an item goes out only inside its carousel
            return _error("Invalid parameter: creation_id (a carousel item cannot be published on its own)", 100,
                          status=400)
        if status != "FINISHED":
            return _error(f"The media is not ready to be published (status {status})", 9007, subcode=2207027,
                          status=400)
        if self._published_today() >= POSTS_PER_DAY:
            return _error("You have reached the maximum number of posts allowed in 24 hours", 9,
                          subcode=2207042, status=400)
        thread = FakeThread(str(next(self._ids)), self.user_id, self.username, container, self.clock())
        with self._lock:
            container.status, container.post_id = "PUBLISHED", thread.id
            self.threads.append(thread)
        return _json({"id": thread.id})

    def _list(self, request: Request, token: str) -> Response:
        limit = int(request.args.get("limit", "25"))
        newest = sorted(self.threads, key=lambda t: t.created_at, reverse=True)[:limit]
        return _json({"data": [{"id": t.id, "permalink": t.permalink, "text": t.container.text,
                                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(t.created_at))}
                               for t in newest]})


def _error(message: str, code: int, *, subcode: int | None = None, status: int = 400,
           headers: dict[str, str] | None = None) -> Response:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AfakeTrace"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return _json({"error": error}, status, headers)

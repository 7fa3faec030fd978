"""The Threads adapter (Meta's Threads Graph API): an IMAGE or CAROUSEL container, published once.

Threads fetches the image itself from a public URL, so the image is first hosted (``Context.image_host``) as bytes
pierrot has checked for location. The container holds the whole post (image, text, alt text); its id is the
"media id" the publish log keeps before anything is public. Several photos are one CAROUSEL container
(``stage_post``) of item containers, one per image: the carousel's id alone is logged, the post's one key.
Publishing a container is exactly-once on Meta's side: a container publishes at most once, and its status
(``PUBLISHED``, ``FINISHED``, ``EXPIRED``, ``ERROR``) tells an interrupted post's fate. How the Graph API speaks,
and the token it renews, are in ``threads_graph.py``.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import requests

from pierrot import __version__
from pierrot.adapters.networks import Context, Network, PostRef, template_specs
from pierrot.adapters.networks.base import CredentialsRefused, json_of
from pierrot.adapters.networks.threads.graph import TOKEN_ATTR, TOKEN_SETTING, GraphPublisher, field_of, whole
from pierrot.adapters.networks.threads.graph import TokenStatus as TokenStatus

# Re-exported: the rules are the network's, whatever module holds their counting.
from pierrot.adapters.networks.threads.rules import IMAGE_TYPES
from pierrot.adapters.networks.threads.rules import RULES as RULES
from pierrot.adapters.networks.threads.rules import cut_alt_text as cut_alt_text
from pierrot.adapters.networks.threads.rules import threads_length as threads_length
from pierrot.domain import parse_iso
from pierrot.errors import ConfigError, DuplicatePost, ImageError, PostOutcomeUnknown, PostRefused, PublishError
from pierrot.logs import excerpt
from pierrot.ports import (
    NO_OPTIONS,
    Attempt,
    FetchedImage,
    HostedImage,
    ImageHost,
    NetworkRules,
    Post,
    PostOptions,
    Settled,
)
from pierrot.specs import Spec

log = logging.getLogger(__name__)

USER_AGENT = f"pierrot/{__version__} (+https://github.com/pierrot-photo/pierrot)"
URL_SETTING = "PIERROT_THREADS_API_URL"
DEFAULT_API_URL = "https://graph.threads.net"
POSTS_PER_DAY = 250  # API-published posts per profile in a moving 24 h

CAROUSEL_ITEMS = 20  # Meta: a carousel has 2 to 20 items
CONTAINER_WAIT = 60.0  # the longest wait for a container to be FINISHED (Meta: "about 30 s")
POLL_FIRST = 2.0
POLL_MAX = 10.0
HOSTED_LEFTOVERS = 86400  # images hosted longer ago than this belong to runs that died: take them down
RECENT_THREADS = 25  # the account's latest posts read to find the post of a container published elsewhere
CLOCK_SKEW = 300
CREDENTIALS_HELP = (
    f"check {TOKEN_SETTING}: a long-lived Threads user token with threads_basic and threads_content_publish "
    "(docs/operations.md, Threads)"
)


class ThreadsPublisher(GraphPublisher):
    """One Threads profile, with a long-lived user access token."""

    url_setting = URL_SETTING
    credentials = "access token"
    credentials_help = CREDENTIALS_HELP

    def __init__(
        self,
        *,
        access_token: str,
        api_url: str = DEFAULT_API_URL,
        image_host: ImageHost | None = None,
        keep_secret: Callable[[str, str], None] | None = None,
        timeout: float = 30.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not access_token:
            raise ConfigError(f"{TOKEN_SETTING} is not set")
        self.rules = RULES
        super().__init__(access_token=access_token, keep_secret=keep_secret, url=api_url, timeout=timeout,
                         user_agent=USER_AGENT, session=session, clock=clock)
        self._image_host = image_host
        self._sleep = sleep
        self._prepared = False
        self._user: dict[str, str] | None = None
        self._hosted: dict[str, list[HostedImage]] = {}  # container id -> its hosted images, released once settled

    # ---- once per run ----------------------------------------------------------------------------------------

    def prepare(self) -> NetworkRules:
        """Renew the token if it is due, take down images left by killed runs, check the day's publishing quota."""
        if self._prepared:
            return self.rules
        self._renew_if_due()
        if self._image_host is not None:
            try:
                swept = self._image_host.sweep(HOSTED_LEFTOVERS)
            except ImageError as exc:
                log.warning("Threads: could not take down images left by earlier runs: %s", exc)
            else:
                if swept:
                    log.info("Threads: took down %d image(s) left by earlier runs", swept)
        self._check_quota()
        self._prepared = True
        return self.rules

    def account(self) -> str | None:
        """The Threads user id the token belongs to."""
        return self._me().get("id")

    def new_attempt(self, created_at: str) -> Attempt:
        # Threads has no key of its own (the container is the key); the log needs one to settle the entry.
        return Attempt(key=uuid.uuid4().hex, created_at=created_at)

    def whoami(self) -> str:
        """The profile's @username, with when its token expires."""
        username = self._me().get("username")
        if not username:
            raise PublishError("Threads accepted the token but did not say which profile it is")
        return f"@{username} ({self.token_status().note})"

    # ---- nothing public yet: any failure is a plain PublishError ---------------------------------------------

    def upload_media(
        self, image: FetchedImage, alt_text: str | None, *, text: str = "", options: PostOptions = NO_OPTIONS
    ) -> str:
        """Host the image, create the IMAGE container with the post's text and alt text, wait until it is FINISHED;
        returns the container id."""
        hosted = self._put_online(image)
        try:
            form = {"media_type": "IMAGE", "image_url": hosted.url, "text": text, **self._alt(alt_text)}
            if options.warning:  # the image blurred until tapped; Threads has no field for the warning's text
                form["is_spoiler_media"] = "true"
            container = self._new_container("upload the image to a new container", form)
            self._wait_until_finished(container)
        except BaseException:
            self._release(hosted)
            raise
        self._hosted[container] = [hosted]
        return container

    def stage_post(
        self, images: list[tuple[FetchedImage, str | None]], *, text: str, options: PostOptions = NO_OPTIONS
    ) -> str | None:
        """Several images as one CAROUSEL container: an item container per image (with its alt text), each
        FINISHED, then the carousel of them with the post's text, FINISHED; returns the carousel's id. The items
        are never published on their own: the carousel is the post's one key, settled like an IMAGE container."""
        if len(images) < 2:
            return None
        if len(images) > CAROUSEL_ITEMS:
            raise PublishError(f"a Threads carousel takes at most {CAROUSEL_ITEMS} images, not {len(images)}")
        hosted: list[HostedImage] = []
        try:
            items = []
            for number, (image, alt_text) in enumerate(images, 1):
                hosted.append(self._put_online(image))
                form = {"media_type": "IMAGE", "image_url": hosted[-1].url, "is_carousel_item": "true",
                        **self._alt(alt_text)}
                items.append(self._new_container(f"upload image {number} to a new carousel item", form))
            for item in items:  # Meta fetches them meanwhile: waiting after making them all waits the least
                self._wait_until_finished(item)
            form = {"media_type": "CAROUSEL", "children": ",".join(items), "text": text}
            if options.warning:  # every image of the carousel blurred until tapped
                form["is_spoiler_media"] = "true"
            container = self._new_container("create the carousel container", form)
            self._wait_until_finished(container)
        except BaseException:
            for each in hosted:
                self._release(each)
            raise
        self._hosted[container] = hosted
        return container

    def _put_online(self, image: FetchedImage) -> HostedImage:
        """The image, checked against Threads' limits, put where Meta can fetch it."""
        if image.mime_type not in IMAGE_TYPES:
            raise PublishError(f"Threads takes JPEG or PNG images, not {image.mime_type}")
        if image.nbytes > self.rules.max_image_bytes:
            raise PublishError(f"the image is {image.nbytes:,} bytes and Threads accepts at most "
                               f"{self.rules.max_image_bytes:,}: choose a smaller size")
        if self._image_host is None:
            raise PublishError("Threads fetches the image from a URL, and no image host is set up for it "
                               "(the entry point must give one)")
        return self._image_host.host(image)

    def _alt(self, alt_text: str | None) -> dict[str, str]:
        return {"alt_text": cut_alt_text(alt_text, self.rules.alt_limit)} if alt_text else {}

    def _new_container(self, what: str, form: dict[str, str]) -> str:
        """A new container's id (not yet FINISHED)."""
        container = field_of(json_of(self._call(what, "POST", "/me/threads", data=form)), "id")
        if container is None:
            raise PublishError("Threads accepted the container but its answer has no id")
        return container

    def _wait_until_finished(self, container: str) -> None:
        """Poll the container until Meta has fetched and processed the image, for at most CONTAINER_WAIT."""
        deadline = self._clock() + CONTAINER_WAIT
        interval = POLL_FIRST
        while True:
            status, error = self._container_status(container)
            if status == "FINISHED":
                return
            if status in ("ERROR", "EXPIRED"):
                raise PublishError(f"Threads could not prepare the post (container {status}"
                                   + (f": {error}" if error else "") + "); nothing was posted")
            if status == "PUBLISHED":  # cannot be for a container just made; never publish it again
                raise PublishError(f"Threads says the new container {container} is already published")
            left = deadline - self._clock()
            if left <= 0:
                raise PublishError(f"Threads was still preparing the post {CONTAINER_WAIT:g} s after the container "
                                   "was created; nothing was posted, try again later")
            self._sleep(min(interval, left))
            interval = min(interval * 2, POLL_MAX)

    # ---- the post ----------------------------------------------------------------------------------------------

    def create_post(
        self, text: str, media_ids: list[str], attempt: Attempt, options: PostOptions = NO_OPTIONS
    ) -> Post:
        """Publish the container (the text is in it already); PostRefused, DuplicatePost or PostOutcomeUnknown."""
        if len(media_ids) != 1:
            raise PostRefused(f"a Threads post is one container, not {len(media_ids)}")
        container = media_ids[0]
        try:
            response = self._send("POST", "/me/threads_publish", data={"creation_id": container})
        except requests.RequestException as exc:
            raise self._post_lost(exc) from exc
        if response.status_code == 200:
            post_id = field_of(json_of(response), "id")
            if post_id is None:
                raise PostOutcomeUnknown("Threads answered the publish request without the post's id")
            self._release_container(container)
            return Post(post_id, self._permalink(post_id))
        if 400 <= response.status_code < 500 and self._status(response) not in (401, 403):
            # The refusal may be Meta's answer to a container already published (an earlier attempt's): ask it.
            try:
                state, _ = self._container_status(container)
            except PublishError:
                state = None
            if state == "PUBLISHED":
                self._release_container(container)
                raise DuplicatePost(f"Threads says container {container} is already published: an earlier "
                                    "attempt went through")
        raise self._post_refused(response)

    def settle(self, attempt: Attempt, text: str, started_at: str) -> Settled:
        """An interrupted post's fate, from its container: PUBLISHED, FINISHED (publish that same one), or gone."""
        if not attempt.media_ids:
            return Settled(posted=False, reason="no container was made for it")
        states: dict[str, str | None] = {}
        try:
            for container in attempt.media_ids:
                states[container], _ = self._container_status(container)
        except CredentialsRefused:
            raise
        except PublishError as exc:
            return Settled(posted=None, reason=f"Threads cannot tell: {exc}")
        published = [c for c, s in states.items() if s == "PUBLISHED"]
        if published:
            post = self._find_post(text, started_at)
            return Settled(posted=True, post=post, reason=f"container {published[0]} is PUBLISHED")
        last = attempt.media_ids[-1]
        if states[last] == "FINISHED":
            return Settled(posted=None, same_key=True, staged=last,
                           reason=f"container {last} is FINISHED and unpublished: publishing that same container "
                           "makes at most one post")
        pending = {c: s for c, s in states.items() if s not in ("EXPIRED", "ERROR")}
        if pending:
            # Still in progress, or an earlier attempt's container still publishable: it ends EXPIRED within 24 h.
            said = ", ".join(f"{c} {s or 'without a status'}" for c, s in pending.items())
            return Settled(posted=None, reason=f"container {said}: not settled yet; the next run asks again")
        return Settled(posted=False, reason="its container" + ("s are" if len(states) > 1 else " is")
                       + f" {'/'.join(sorted(set(filter(None, states.values()))))}: never published")

    def _find_post(self, text: str, started_at: str) -> Post | None:
        """The account's recent post with this text made since the attempt started (the container does not name
        the post it became)."""
        started = parse_iso(started_at)
        since = None if started is None else started.timestamp() - CLOCK_SKEW
        try:
            doc = json_of(self._call("read the profile's posts", "GET", "/me/threads",
                                   params={"fields": "id,permalink,text,timestamp", "limit": str(RECENT_THREADS)}))
        except PublishError:
            return None
        items = doc.get("data") if isinstance(doc, dict) else None
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or _plain(str(item.get("text") or "")) != _plain(text):
                continue
            made = parse_iso(str(item.get("timestamp") or ""))
            if since is not None and made is not None and made.timestamp() < since:
                continue
            post_id, url = field_of(item, "id"), field_of(item, "permalink")
            if post_id:
                return Post(post_id, url or self._profile_url())
        return None

    def _permalink(self, post_id: str) -> str:
        try:
            doc = json_of(self._call("read the post's link", "GET", f"/{quote(post_id, safe='')}",
                                   params={"fields": "permalink"}))
        except PublishError as exc:
            log.warning("Threads: published post %s but could not read its link: %s", post_id, exc)
            return self._profile_url()
        return field_of(doc, "permalink") or self._profile_url()

    def _profile_url(self) -> str:
        username = (self._user or {}).get("username")
        return f"https://www.threads.com/@{username}" if username else "https://www.threads.com/"

    # ---- the container and the hosted image ----------------------------------------------------------------------

    def _container_status(self, container: str) -> tuple[str | None, str | None]:
        doc = json_of(self._call("read the container's status", "GET", f"/{quote(container, safe='')}",
                               params={"fields": "id,status,error_message"}))
        status, error = field_of(doc, "status"), field_of(doc, "error_message")
        return status, (excerpt(error) if error else None)

    def _release_container(self, container: str) -> None:
        for hosted in self._hosted.pop(container, []):
            self._release(hosted)

    def _release(self, hosted: HostedImage) -> None:
        if self._image_host is None:
            return
        try:
            self._image_host.release(hosted)
        except ImageError as exc:  # the sweep of a later run takes it down
            log.warning("Threads: could not take down the hosted image: %s", exc)

    # ---- the token and the quota --------------------------------------------------------------------------------

    def _me(self) -> dict[str, str]:
        if self._user is None:
            doc = json_of(self._call("read the profile", "GET", "/me", params={"fields": "id,username"}))
            user_id, username = field_of(doc, "id"), field_of(doc, "username")
            if user_id is None:
                raise PublishError("Threads accepted the token but did not say which profile it is")
            self._user = {"id": user_id, **({"username": username} if username else {})}
        return self._user

    def _check_quota(self) -> None:
        """PostRefused-like PublishError when today's 250 posts are used up: nothing would be published."""
        try:
            doc = json_of(self._call("read the publishing quota", "GET", "/me/threads_publishing_limit",
                                   params={"fields": "quota_usage,config"}))
        except CredentialsRefused:
            raise
        except PublishError as exc:
            log.debug("Threads quota unknown: %s", exc)
            return
        items = doc.get("data") if isinstance(doc, dict) else None
        first = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}
        used = whole(first.get("quota_usage"))
        config = first.get("config")
        config = config if isinstance(config, dict) else {}
        total = whole(config.get("quota_total")) or POSTS_PER_DAY
        if used is not None and used >= total:
            raise PublishError(f"Threads' limit of {total} API posts in 24 hours is used up ({used}); the oldest "
                               "of them frees a place 24 hours after it was made: try again later")

# ---- reading answers ------------------------------------------------------------------------------------------


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# ---- the network, as the registry reads it ----------------------------------------------------------------------

_POST_URL = re.compile(r"https://(?:www\.)?threads\.(?:net|com)/@[A-Za-z0-9._]+/post/([A-Za-z0-9_-]+)/?")


def read_post(value: str, settings: Mapping[str, Any]) -> PostRef:
    """A Threads post as `resolve --posted` takes it: its numeric media id, or its URL (the URL's code is not the
    id: kept as the URL, the id left as the code)."""
    value = value.strip()
    if value.isdigit():
        return PostRef(value, None)
    match = _POST_URL.fullmatch(value)
    if match:
        return PostRef(match.group(1), value)
    raise ValueError(f"{value!r} is neither a Threads post id (digits) nor a Threads post URL "
                     "(https://www.threads.com/@user/post/...)")


def build(settings: Mapping[str, Any], context: Context) -> ThreadsPublisher:
    """The publisher from the settings (``settings.values``)."""
    return ThreadsPublisher(
        access_token=str(settings.get(TOKEN_ATTR) or ""),
        api_url=str(settings.get("threads_api_url") or DEFAULT_API_URL),
        image_host=context.image_host,
        keep_secret=context.keep_secret,
        timeout=context.timeout,
    )


SPECS: tuple[Spec, ...] = (
    Spec(TOKEN_ATTR, TOKEN_SETTING, "threads", "access_token", secret=True, renewed=True,
         help="Threads long-lived user access token (renewed by pierrot when fewer than 30 days are left)"),
    Spec("threads_api_url", URL_SETTING, "threads", "api_url", kind="url", default=DEFAULT_API_URL,
         help="Threads Graph API; https, or http on loopback only (for testing against a fake)"),
    *template_specs("threads", "Threads"),
)

NETWORK = Network(
    name="threads",
    display="Threads",
    specs=SPECS,
    required=(TOKEN_ATTR,),
    rules=RULES,
    build=build,
    read_post=read_post,
)

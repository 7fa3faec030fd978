"""The Mastodon adapter (Pixelfed too): media with alt text, and posts made once with an Idempotency-Key.

Mastodon keeps the ``Idempotency-Key`` of a status for an hour after the status is saved: the same request
again returns the original. That is how an interrupted post is settled within the hour; after it, the account's
own recent statuses are searched for the uploaded media. Pixelfed stores the key *before* posting and answers a
repeat with 400 "Duplicate idempotency key.": evidence that the first request arrived, not the post itself.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import requests

from pierrot import __version__
from pierrot.adapters.http import DEADLINE_FACTOR, ApiSession
from pierrot.adapters.networks import Asker, Context, Network, PostRef, template_specs
from pierrot.adapters.networks.base import CredentialsRefused, HttpPublisher, json_of
from pierrot.adapters.networks.mastodon.answers import (
    _field,
    _is_duplicate_key,
    _is_media_taken,
    _media_ids,
    _plain,
    _status_text,
)

# Re-exported: the rules are the network's, whatever module holds their counting.
from pierrot.adapters.networks.mastodon.rules import DEFAULT_RULES as DEFAULT_RULES
from pierrot.adapters.networks.mastodon.rules import cut_alt_text, rules_from_instance
from pierrot.adapters.networks.mastodon.rules import mastodon_length as mastodon_length
from pierrot.domain import parse_iso
from pierrot.errors import ConfigError, DuplicatePost, PostOutcomeUnknown, PublishError
from pierrot.ports import NO_OPTIONS, Attempt, BotFlag, FetchedImage, NetworkRules, Post, PostOptions, Settled
from pierrot.specs import Spec

log = logging.getLogger(__name__)
BOT_HOW = 'Preferences → Profile → "This is a bot account"'

USER_AGENT = f"pierrot/{__version__} (+https://github.com/pierrot-photo/pierrot)"
URL_SETTING = "PIERROT_MASTODON_URL"
TOKEN_SETTING = "PIERROT_MASTODON_ACCESS_TOKEN"
VISIBILITY_SETTING = "PIERROT_MASTODON_VISIBILITY"
VISIBILITIES = ("public", "unlisted", "private", "direct")
CREDENTIALS_HELP = (
    f"check {TOKEN_SETTING}: the access token needs the scopes write:media write:statuses read:accounts, and "
    "read:statuses to settle an interrupted post that is not public (Pixelfed: read write)"
)

MEDIA_WAIT = 60.0  # the longest wait for the server to process an upload, in seconds
MEDIA_POLL_FIRST = 1.0
MEDIA_POLL_MAX = 5.0
# Mastodon keeps an Idempotency-Key for an hour after the status is saved; past this age, it may be gone.
KEY_WINDOW = 55 * 60
STATUSES_PAGE = 40  # the most /api/v1/accounts/:id/statuses gives at once
STATUSES_PAGES = 2
CLOCK_SKEW = 300  # how far the server's clock may be behind ours when a status's time is compared
UPLOAD_SPEED = 256 * 1024  # bytes per second an upload is allowed, beyond the usual deadline of a call


# ---- the adapter --------------------------------------------------------------------------------------------


class MastodonPublisher(HttpPublisher):
    """One Mastodon (or Pixelfed) account, with a bearer access token."""

    url_setting = URL_SETTING
    credentials = "access token"
    credentials_help = CREDENTIALS_HELP

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
        if visibility not in VISIBILITIES:
            raise ConfigError(f"{VISIBILITY_SETTING}={visibility!r} is not one of {', '.join(VISIBILITIES)}")
        self.rules = DEFAULT_RULES
        super().__init__(
            url=url, timeout=timeout, secrets=[access_token], user_agent=USER_AGENT, session=session, clock=clock
        )
        self._domain = self._host
        self._token = access_token
        self._visibility = visibility
        self._searched_back = False  # whether the last search read back past the attempt (or the whole listing)
        self._searched = 0  # how many statuses the last search read
        self._sleep = sleep
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
        doc = json_of(response)
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

    def bot_flag(self) -> BotFlag:
        """The account's `bot` flag, as verify_credentials answers it."""
        flag = self._verify_credentials().get("bot")
        return BotFlag(flag if isinstance(flag, bool) else None, BOT_HOW, settable=True)

    def set_bot_flag(self) -> None:
        """Mark the account as a bot (update_credentials; the token needs the scope write:accounts)."""
        self._call(f"mark the account as a bot (the token needs the scope write:accounts; else {BOT_HOW})", "PATCH",
                   "/api/v1/accounts/update_credentials", data={"bot": "true"})

    # ---- nothing public yet: any failure is a plain PublishError ---------------------------------------------

    def upload_media(
        self, image: FetchedImage, alt_text: str | None, *, text: str = "",
        options: PostOptions = NO_OPTIONS,
    ) -> str:
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
        media_id = _field(json_of(response), "id")
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

    def create_post(
        self, text: str, media_ids: list[str], attempt: Attempt, options: PostOptions = NO_OPTIONS
    ) -> Post:
        """Publish with the attempt's Idempotency-Key; PostRefused, DuplicatePost or PostOutcomeUnknown otherwise."""
        display = self.rules.display
        form = [("status", text), *(("media_ids[]", m) for m in media_ids), ("visibility", self._visibility)]
        if options.language and self.rules.languages:
            form.append(("language", options.language))
        if options.warning:  # shown before the status, which it hides with the image
            form += [("sensitive", "true"), ("spoiler_text", options.warning)]
        headers = {"Idempotency-Key": attempt.key} if attempt.key else {}
        try:
            response = self._send("POST", "/api/v1/statuses", data=form, headers=headers)
        except requests.RequestException as exc:
            raise self._post_lost(exc) from exc
        status = response.status_code
        if status == 200:
            post = self._post_from(json_of(response))
            if post is None:
                raise PostOutcomeUnknown(f"{display} answered the post request without a status id")
            return post
        detail = self._detail(response)
        if _is_duplicate_key(status, detail):
            raise DuplicatePost(
                f"{display} has already seen this post's Idempotency-Key (HTTP {status}{detail}): an earlier attempt "
                "reached it"
            )
        if status == 422 and _is_media_taken(detail):
            raise DuplicatePost(
                f"{display} says the image is already attached to a post (HTTP 422{detail}): an earlier attempt was "
                "posted"
            )
        raise self._post_refused(response)

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
        except CredentialsRefused:
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
            except CredentialsRefused as exc:
                if anonymous or exc.status != 403 or self._visibility not in ("public", "unlisted"):
                    raise
                anonymous = True
                response = self._call(action, "GET", route, params=params, auth=False)
            page = json_of(response)
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
        doc = json_of(self._call("check the access token", "GET", "/api/v1/accounts/verify_credentials"))
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
        """One request, with the token unless ``auth`` is False."""
        # Laravel (Pixelfed) answers an error in JSON only to a client that asks for JSON.
        headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
        if auth:
            headers["Authorization"] = f"Bearer {self._token}"
        return super()._send(method, route, headers=headers, **kwargs)


# ==== the network, as the registry reads it =======================================================



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


def setup(ask: Asker, current: Mapping[str, Any], context: Context) -> dict[str, Any]:
    """`pierrot init`: the instance, then an access token by OAuth's code flow, verified (see oauth.py)."""
    from pierrot.adapters.networks.mastodon import oauth

    return oauth.setup(ask, current, context)


NETWORK = dataclasses.replace(NETWORK, setup=setup)

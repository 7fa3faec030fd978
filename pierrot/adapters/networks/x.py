"""The X adapter: v2 media upload and alt text over signed requests, posting through tweepy's Client."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import requests
import tweepy

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
from pierrot.adapters.networks.xtext import RULES
from pierrot.errors import DuplicatePost, PostOutcomeUnknown, PostRefused, PublishError
from pierrot.logs import excerpt, scrub
from pierrot.ports import Attempt, FetchedImage, Post, Publisher

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.x.com"
USER_AGENT = f"pierrot/{__version__} (+https://github.com/pierrot-photo/pierrot)"
# The host tweepy's Client sends every request to, whatever we would like.
TWEEPY_HOST = "https://api.twitter.com"
CREDENTIALS_HELP = (
    "check PIERROT_X_API_KEY, PIERROT_X_API_SECRET, PIERROT_X_ACCESS_TOKEN and PIERROT_X_ACCESS_TOKEN_SECRET "
    "and that the app has Read and Write permission; regenerate the access token after changing permissions"
)


class _Session(ApiSession):
    """The session of every X call: no redirects, bounded answers, and tweepy's hard-coded host pointed at ours."""

    def __init__(self, timeout: float, api_url: str) -> None:
        super().__init__(timeout, user_agent=USER_AGENT)  # tweepy sends its own User-Agent on its calls
        self.api_url = api_url

    def rewrite(self, url: str) -> str:
        if url.startswith(TWEEPY_HOST + "/"):
            return self.api_url + url[len(TWEEPY_HOST) :]
        return url


class XPublisher(Publisher):
    """One X account, with OAuth 1.0a user-context credentials."""

    rules = RULES

    def __init__(
        self,
        *,
        api_key: str,
        api_secret: str,
        access_token: str,
        access_token_secret: str,
        api_url: str = DEFAULT_API_URL,
        timeout: float = 30.0,
        session: requests.Session | None = None,
    ) -> None:
        require_safe_url(api_url, "PIERROT_X_API_URL")
        self._api_url = api_url.rstrip("/")
        self._host = urlsplit(self._api_url).hostname or self._api_url
        self._timeout = timeout
        self._secrets = [s for s in (api_key, api_secret, access_token, access_token_secret) if s]
        self._auth = tweepy.OAuth1UserHandler(api_key, api_secret, access_token, access_token_secret).apply_auth()
        self._session = session or _Session(timeout, self._api_url)
        self._client = tweepy.Client(
            consumer_key=api_key,
            consumer_secret=api_secret,
            access_token=access_token,
            access_token_secret=access_token_secret,
        )
        # Every call goes to the configured base, api.x.com by default, tweepy's posting and credential check too.
        self._client.session = _Session(timeout, self._api_url)

    # ---- nothing public yet: any failure is a plain PublishError -------------------------------

    def upload_media(self, image: FetchedImage, alt_text: str | None = None, *, text: str = "") -> str:
        """Upload the image (v2 simple upload) and set its alt text; returns the media id."""
        media_id = self._upload(image)
        if alt_text:
            self.set_alt_text(media_id, alt_text)
        return media_id

    def _upload(self, image: FetchedImage) -> str:
        try:
            with image.path.open("rb") as media:
                response = self._call(
                    "upload the image",
                    "/2/media/upload",
                    files={"media": (image.path.name, media, image.mime_type)},
                    data={"media_category": "tweet_image"},
                )
        except OSError as exc:
            raise PublishError(f"cannot read the image {image.path}: {exc.strerror or exc}") from None
        # v2 answers {"data": {"id": ...}}; an answer in the v1.1 shape ({"media_id_string": ...}) is read too.
        media_id = _data_field(response, "id") or _top_field(response, "media_id_string")
        if media_id is None:
            raise PublishError(
                f"X accepted the image upload but its answer has no media id (HTTP {response.status_code})"
            )
        return media_id

    def set_alt_text(self, media_id: str, text: str) -> None:
        """Attach alt text to uploaded media."""
        self._call(
            "set the alt text",
            "/2/media/metadata",
            json={"id": media_id, "metadata": {"alt_text": {"text": text}}},
        )

    def whoami(self) -> str:
        """The handle of the account the credentials belong to."""
        try:
            response = self._client.get_me(user_auth=True)
        except tweepy.HTTPException as exc:
            raise PublishError(self._scrub(_refusal("check the credentials", exc))) from exc
        except requests.JSONDecodeError as exc:
            raise PublishError("X answered the credentials check with something that is not JSON") from exc
        except RedirectRefused as exc:
            raise PublishError(self._scrub(_redirected("check the credentials", exc))) from exc
        except requests.RequestException as exc:
            raise PublishError(self._scrub(f"could not reach X: {self._reason(exc)}")) from exc
        username = getattr(response.data, "username", None)
        if not username:
            raise PublishError("X accepted the credentials but did not say which account they belong to")
        return str(username)

    # ---- the post ------------------------------------------------------------------------------

    def create_post(self, text: str, media_ids: list[str], attempt: Attempt | None = None) -> Post:
        """Publish; PostRefused when nothing was posted, PostOutcomeUnknown when it may have been."""
        try:
            response = self._client.create_tweet(text=text, media_ids=media_ids, user_auth=True)
        except tweepy.HTTPException as exc:
            status = exc.response.status_code
            if status == 403 and _is_duplicate(exc):
                raise DuplicatePost("X refused the post as duplicate content (403)") from exc
            if 400 <= status < 500:
                reset = getattr(exc, "reset_time", None)
                raise PostRefused(self._scrub(_refusal("post", exc)), status=status, reset_time=reset) from exc
            raise PostOutcomeUnknown(f"X answered HTTP {status} to the post request") from exc
        except requests.JSONDecodeError as exc:
            raise PostOutcomeUnknown("X answered the post request with something that is not JSON") from exc
        except requests.RequestException as exc:
            redirected = self._scrub(_redirected("post", exc)) if isinstance(exc, RedirectRefused) else ""
            raise post_failure(exc, "X", reason=self._scrub(self._reason(exc)), redirected=redirected) from exc
        data = response.data if isinstance(response.data, dict) else {}
        post_id = data.get("id")
        if not post_id:
            raise PostOutcomeUnknown("X answered the post request without a post id")
        return Post(str(post_id), f"https://x.com/i/web/status/{post_id}")

    # ---- plumbing ------------------------------------------------------------------------------

    def _call(self, action: str, route: str, **kwargs: Any) -> requests.Response:
        """POST a signed request; any failure becomes a PublishError saying what to do."""
        try:
            # Never redirected, whatever session was given: a redirect would post the image elsewhere.
            response = self._session.post(
                self._api_url + route, auth=self._auth, timeout=self._timeout, allow_redirects=False, **kwargs
            )
            if 300 <= response.status_code < 400:
                raise RedirectRefused(response.status_code, "another location", response=response)
        except RedirectRefused as exc:
            raise PublishError(self._scrub(_redirected(action, exc))) from exc
        except requests.RequestException as exc:
            raise PublishError(self._scrub(f"could not reach X to {action}: {self._reason(exc)}")) from exc
        log.debug("X %s: HTTP %s", route, response.status_code)
        if not 200 <= response.status_code < 300:
            raise PublishError(self._scrub(_refusal(action, _as_tweepy_error(response)))) from None
        return response

    def _reason(self, exc: requests.RequestException) -> str:
        return describe_failure(exc, self._host, self._timeout)

    def _scrub(self, text: str) -> str:
        return scrub(text, self._secrets)


def _data_field(response: requests.Response, name: str) -> str | None:
    try:
        value = response.json()["data"][name]
    except (ValueError, KeyError, TypeError):
        return None
    return str(value) if value else None


def _top_field(response: requests.Response, name: str) -> str | None:
    try:
        value = response.json()[name]
    except (ValueError, KeyError, TypeError):
        return None
    return str(value) if value else None


def _as_tweepy_error(response: requests.Response) -> tweepy.HTTPException:
    """tweepy's reading of an error answer (its messages and rate-limit reset), for one mapping of both."""
    reset = response.headers.get("x-rate-limit-reset")
    try:
        error = tweepy.HTTPException(response)
    except (AttributeError, TypeError):  # a JSON answer that is not an object
        error = tweepy.HTTPException(response, response_json={})
    error.reset_time = int(reset) if reset and reset.isdigit() else None
    return error


def _refusal(action: str, exc: tweepy.HTTPException) -> str:
    """One line for an HTTP error answer from X."""
    status = exc.response.status_code
    detail = excerpt("; ".join(str(m) for m in exc.api_messages if m), sent_credentials(exc.response))
    detail = f": {detail}" if detail else ""
    if status == 401:
        return f"X rejected the credentials (401): {CREDENTIALS_HELP}"
    if status == 403:
        return (
            f"X refused to {action} (403 Forbidden{detail}); check that the app has Read and Write permission "
            "and that your X API access covers it"
        )
    if status == 429:
        return f"X refused to {action}: rate limit reached (429); {resets(getattr(exc, 'reset_time', None))}"
    if status >= 500:
        return f"X failed to {action} (HTTP {status}{detail}); try again later"
    return f"X refused to {action} (HTTP {status}{detail})"



def _is_duplicate(exc: tweepy.HTTPException) -> bool:
    texts = [str(m) for m in exc.api_messages]
    texts.append(str(getattr(exc.response, "text", "")))
    return any("duplicate content" in t.lower() for t in texts)



def _redirected(action: str, exc: RedirectRefused) -> str:
    return (
        f"X answered the request to {action} with a redirect (HTTP {exc.status} to {exc.target}); pierrot never "
        "follows one on an API call: check PIERROT_X_API_URL"
    )


# ==== the network, as the registry reads it =======================================================

import re  # noqa: E402  (the declaration is kept apart from the adapter, at its end)
from collections.abc import Mapping  # noqa: E402

from pierrot.adapters.networks import Context, Network, PostRef, template_specs  # noqa: E402
from pierrot.specs import Spec  # noqa: E402

# A post's address as X shows or shares it: x.com or twitter.com, /i/web/status/ID or /USER/status/ID, any tail.
_POST_HOSTS = {f"{sub}{domain}" for sub in ("", "www.", "mobile.") for domain in ("x.com", "twitter.com")}
_POST_PATH = re.compile(r"/(?:i/web|i|[A-Za-z0-9_]+)/status(?:es)?/([0-9]+)(?:/.*)?")


def read_post(value: str, settings: Mapping[str, Any]) -> PostRef:
    """A post's id, or its x.com/twitter.com URL; the URL recorded is X's address for any post."""
    text = value.strip()
    post_id = text if re.fullmatch(r"[0-9]+", text) else None
    if post_id is None:
        parts = urlsplit(text if "://" in text else f"https://{text}")
        found = (_POST_PATH.fullmatch(parts.path) if parts.scheme in ("http", "https")
                 and (parts.hostname or "") in _POST_HOSTS else None)
        if not found:
            raise ValueError(f"{value!r} is not a post id nor a post's URL: give the digits at the end of the "
                             "post's URL, or the URL itself (https://x.com/you/status/123...)")
        post_id = found.group(1)
    return PostRef(post_id, f"https://x.com/i/web/status/{post_id}")


def _build(settings: Mapping[str, Any], context: Context) -> XPublisher:
    return XPublisher(
        api_key=settings["x_api_key"],
        api_secret=settings["x_api_secret"],
        access_token=settings["x_access_token"],
        access_token_secret=settings["x_access_token_secret"],
        api_url=settings["x_api_url"],
        timeout=context.timeout,
    )


NETWORK = Network(
    name="x",
    display="X",
    specs=(
        Spec("x_api_key", "PIERROT_X_API_KEY", "x", "api_key", secret=True, help="X API key (consumer key)"),
        Spec("x_api_secret", "PIERROT_X_API_SECRET", "x", "api_secret", secret=True, help="X API key secret"),
        Spec("x_access_token", "PIERROT_X_ACCESS_TOKEN", "x", "access_token", secret=True, help="X access token"),
        Spec("x_access_token_secret", "PIERROT_X_ACCESS_TOKEN_SECRET", "x", "access_token_secret", secret=True,
             help="X access token secret"),
        Spec("x_api_url", "PIERROT_X_API_URL", "x", "api_url", kind="url", default=DEFAULT_API_URL,
             # A base given with its version ("…/2") means the host.
             normalise=lambda url: re.sub(r"(/2)?/*$", "", url),
             help="X API base URL for every X call; https, or http on loopback only (for testing against a fake)"),
        *template_specs("x", "X"),
    ),
    required=("x_api_key", "x_api_secret", "x_access_token", "x_access_token_secret"),
    rules=RULES,
    build=_build,
    read_post=read_post,
)

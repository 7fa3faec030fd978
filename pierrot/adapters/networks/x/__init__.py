"""The X adapter: v2 media upload and alt text over signed requests, posting through tweepy's Client."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
import tweepy

from pierrot import __version__
from pierrot.adapters.http import ApiSession
from pierrot.adapters.networks import Context, Network, PostRef, template_specs
from pierrot.adapters.networks.base import HttpPublisher
from pierrot.adapters.networks.x.text import RULES
from pierrot.errors import DuplicatePost, PostOutcomeUnknown, PublishError
from pierrot.ports import NO_OPTIONS, Attempt, BotFlag, FetchedImage, Post, PostOptions
from pierrot.specs import Spec

DEFAULT_API_URL = "https://api.x.com"
USER_AGENT = f"pierrot/{__version__} (+https://github.com/pierrot-photo/pierrot)"
# The host tweepy's Client sends every request to, whatever we would like.
TWEEPY_HOST = "https://api.twitter.com"
CREDENTIALS_HELP = (
    "check PIERROT_X_API_KEY, PIERROT_X_API_SECRET, PIERROT_X_ACCESS_TOKEN and PIERROT_X_ACCESS_TOKEN_SECRET "
    "and that the app has Read and Write permission; regenerate the access token after changing permissions"
)
FORBIDDEN_HELP = "check that the app has Read and Write permission and that your X API access covers it"


class _Session(ApiSession):
    """The session of every X call: no redirects, bounded answers, and tweepy's hard-coded host pointed at ours."""

    def __init__(self, timeout: float, api_url: str) -> None:
        super().__init__(timeout, user_agent=USER_AGENT)  # tweepy sends its own User-Agent on its calls
        self.api_url = api_url

    def rewrite(self, url: str) -> str:
        if url.startswith(TWEEPY_HOST + "/"):
            return self.api_url + url[len(TWEEPY_HOST) :]
        return url


class XPublisher(HttpPublisher):
    """One X account, with OAuth 1.0a user-context credentials: tweepy's Client posts, over pierrot's session."""

    rules = RULES
    url_setting = "PIERROT_X_API_URL"
    credentials_help = CREDENTIALS_HELP
    forbidden_help = FORBIDDEN_HELP

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
        super().__init__(
            url=api_url,
            timeout=timeout,
            secrets=[api_key, api_secret, access_token, access_token_secret],
            user_agent=USER_AGENT,
            session=session or _Session(timeout, api_url.rstrip("/")),
        )
        self._auth = tweepy.OAuth1UserHandler(api_key, api_secret, access_token, access_token_secret).apply_auth()
        self._client = tweepy.Client(
            consumer_key=api_key,
            consumer_secret=api_secret,
            access_token=access_token,
            access_token_secret=access_token_secret,
        )
        # Every call goes to the configured base, api.x.com by default, tweepy's posting and credential check too.
        self._client.session = _Session(timeout, self._url)

    # ---- nothing public yet: any failure is a plain PublishError -------------------------------

    def upload_media(
        self, image: FetchedImage, alt_text: str | None = None, *, text: str = "",
        options: PostOptions = NO_OPTIONS,
    ) -> str:
        """Upload the image (v2 simple upload) and set its alt text; returns the media id."""
        media_id = self._upload(image)
        if alt_text:
            self.set_alt_text(media_id, alt_text)
        return media_id

    def _upload(self, image: FetchedImage) -> str:
        try:
            with image.path.open("rb") as media:
                response = self._signed(
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
        self._signed(
            "set the alt text",
            "/2/media/metadata",
            json={"id": media_id, "metadata": {"alt_text": {"text": text}}},
        )

    def bot_flag(self) -> BotFlag:
        """X's "Automated" label: set in the account's settings, the API neither reads nor sets it."""
        return BotFlag(None, "X's API cannot read it: set it in Settings → Your account → Account information → "
                             "Automation (it names the account that runs it)")

    def whoami(self) -> str:
        """The handle of the account the credentials belong to."""
        try:
            response = self._client.get_me(user_auth=True)
        except tweepy.HTTPException as exc:
            raise PublishError(self._refusal("check the credentials", exc.response)) from exc
        except requests.JSONDecodeError as exc:
            raise PublishError("X answered the credentials check with something that is not JSON") from exc
        except requests.RequestException as exc:
            raise self._call_failed("check the credentials", exc) from exc
        username = getattr(response.data, "username", None)
        if not username:
            raise PublishError("X accepted the credentials but did not say which account they belong to")
        return str(username)

    # ---- the post ------------------------------------------------------------------------------

    def create_post(
        self, text: str, media_ids: list[str], attempt: Attempt | None = None, options: PostOptions = NO_OPTIONS
    ) -> Post:
        """Publish; PostRefused when nothing was posted, PostOutcomeUnknown when it may have been."""
        try:
            response = self._client.create_tweet(text=text, media_ids=media_ids, user_auth=True)
        except tweepy.HTTPException as exc:  # tweepy's reading of an error answer, mapped as every network's is
            if exc.response.status_code == 403 and _is_duplicate(exc):
                raise DuplicatePost("X refused the post as duplicate content (HTTP 403)") from exc
            raise self._post_refused(exc.response) from exc
        except requests.JSONDecodeError as exc:
            raise PostOutcomeUnknown("X answered the post request with something that is not JSON") from exc
        except requests.RequestException as exc:
            raise self._post_lost(exc) from exc
        data = response.data if isinstance(response.data, dict) else {}
        post_id = data.get("id")
        if not post_id:
            raise PostOutcomeUnknown("X answered the post request without a post id")
        return Post(str(post_id), f"https://x.com/i/web/status/{post_id}")

    # ---- plumbing ------------------------------------------------------------------------------

    def _server_says(self, response: requests.Response) -> str:
        """X's error messages, as tweepy reads them (v2 ``detail`` and ``errors``, v1.1 ``errors``)."""
        return "; ".join(str(message) for message in _as_tweepy_error(response).api_messages if message)

    def _signed(self, action: str, route: str, **kwargs: Any) -> requests.Response:
        """POST a signed request; any failure becomes a PublishError saying what to do."""
        return self._call(action, "POST", route, ok=tuple(range(200, 300)), auth=self._auth, **kwargs)


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
    """tweepy's reading of an error answer, so that X's messages are read as tweepy reads them when it posts."""
    try:
        return tweepy.HTTPException(response)
    except (AttributeError, TypeError):  # a JSON answer that is not an object
        return tweepy.HTTPException(response, response_json={})


def _is_duplicate(exc: tweepy.HTTPException) -> bool:
    texts = [str(m) for m in exc.api_messages]
    texts.append(str(getattr(exc.response, "text", "")))
    return any("duplicate content" in t.lower() for t in texts)


# ==== the network, as the registry reads it =======================================================



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

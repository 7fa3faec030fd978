"""`pierrot init` for Mastodon and Pixelfed: register pierrot on the instance and walk OAuth's code flow.

The user pastes a code instead of creating an application by hand, and the token gets exactly the scopes pierrot
needs: those of CREDENTIALS_HELP."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from pierrot.adapters.networks import Asker, Context
from pierrot.adapters.networks.base import json_of
from pierrot.adapters.networks.mastodon import (
    TOKEN_SETTING,
    URL_SETTING,
    VISIBILITY_SETTING,
    MastodonPublisher,
)
from pierrot.config_values import check_api_url
from pierrot.errors import PublishError
from pierrot.specs import Spec

OUT_OF_BAND = "urn:ietf:wg:oauth:2.0:oob"  # the instance shows the code instead of redirecting to us
CODE_SETTING = "PIERROT_MASTODON_CODE"
CHOICES = ("public", "unlisted", "private")


def scopes(pixelfed: bool, visibility: str) -> str:
    """What pierrot asks for: posting with media and knowing its account; reading its statuses to settle a post that
    is not public; Pixelfed knows only read and write."""
    if pixelfed:
        return "read write"
    return "write:media write:statuses read:accounts" + (" read:statuses" if visibility == "private" else "")


def _instance_url(text: str) -> str:
    url = text.strip().rstrip("/")
    if not re.match(r"^[a-z]+://", url):
        url = "https://" + url
    check_api_url(Spec("mastodon_url", URL_SETTING, "mastodon", "url", kind="url"), url, URL_SETTING)
    return url


def _authorize(ask: Asker, url: str, visibility: str, timeout: float) -> str:
    """Register pierrot, have the user authorize it in a browser, and exchange the code for an access token."""
    client = MastodonPublisher(url=url, access_token="", visibility=visibility, timeout=timeout)
    pixelfed = client.prepare().display == "Pixelfed"
    wanted = scopes(pixelfed, visibility)
    app = json_of(client._call("register pierrot as an application", "POST", "/api/v1/apps", auth=False, data={
        "client_name": "pierrot", "redirect_uris": OUT_OF_BAND, "scopes": wanted,
        "website": "https://github.com/pierrot-photo/pierrot"}))
    if not isinstance(app, dict) or not app.get("client_id") or not app.get("client_secret"):
        raise PublishError(f"{url} did not answer /api/v1/apps with a client id and secret: check {URL_SETTING}")
    query = urlencode({"client_id": app["client_id"], "scope": wanted, "redirect_uri": OUT_OF_BAND,
                       "response_type": "code"})
    ask.echo(f"Open this address, log in as the account pierrot posts as, and authorize pierrot ({wanted}):\n"
             f"  {url}/oauth/authorize?{query}")
    code = ask.secret(CODE_SETTING, "The authorization code it shows")
    answer = json_of(client._call("exchange the authorization code", "POST", "/oauth/token", auth=False, data={
        "grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
        "client_secret": app["client_secret"], "redirect_uri": OUT_OF_BAND, "scope": wanted}))
    token = answer.get("access_token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not token:
        raise PublishError(f"{url} did not answer /oauth/token with an access token")
    return token


def setup(ask: Asker, current: Mapping[str, Any], context: Context) -> dict[str, Any]:
    """The instance, the visibility, then a token: the current one if kept, else one authorized now; verified."""
    url = _instance_url(ask.text(URL_SETTING, "Mastodon or Pixelfed instance (https://...)",
                                 current.get("mastodon_url")))
    visibility = ask.choice(VISIBILITY_SETTING, "Visibility of the posts", CHOICES,
                            str(current.get("mastodon_visibility") or "public"))
    kept = str(current.get("mastodon_access_token") or "") if current.get("mastodon_url") == url else ""
    if not ask.interactive:
        token = ask.secret(TOKEN_SETTING, "Access token", kept or None)
    elif kept and ask.confirm("Keep the current access token?", True):
        token = kept
    else:
        token = _authorize(ask, url, visibility, context.timeout)
    who = MastodonPublisher(url=url, access_token=token, visibility=visibility, timeout=context.timeout).whoami()
    ask.echo(f"Mastodon: credentials accepted for {who}")
    return {"mastodon_url": url, "mastodon_access_token": token, "mastodon_visibility": visibility}

"""`pierrot init` as a person runs it, at a pseudo-terminal, against the fakes; then `check` with no PIERROT_*."""

from __future__ import annotations

import stat
import subprocess
import tomllib
from pathlib import Path

import pexpect
import pytest

from tests.e2e.conftest import Pierrot
from tests.e2e.fake_mastodon import AUTHORIZATION_CODE, MastodonFake
from tests.e2e.servers import FlickrFake, clean_environment

# Where the fakes are: settings too, given as variables at init and saved by it (a real user has the defaults).
LOCATIONS = ("PIERROT_FLICKR_API_URL", "PIERROT_FLICKR_IMAGE_HOSTS", "PIERROT_X_API_URL", "PIERROT_BLUESKY_SERVICE",
             "PIERROT_STORE", "PIERROT_HTTP_TIMEOUT")


def _init_env(pierrot: Pierrot) -> dict[str, str]:
    return {**clean_environment(pierrot.home), "TERM": "dumb", "NO_COLOR": "1",
            **{name: pierrot.env[name] for name in LOCATIONS}}


def _config(pierrot: Pierrot) -> Path:
    return pierrot.home / "config" / "pierrot" / "config.toml"


def _answer(child: pexpect.spawn, prompt: str, answer: str) -> None:
    child.expect_exact(prompt)
    child.sendline(answer)


def _spawn(pierrot: Pierrot, *args: str) -> tuple[pexpect.spawn, list[str]]:
    transcript: list[str] = []

    class Log:
        def write(self, text: str) -> None:
            transcript.append(text)

        def flush(self) -> None:
            pass

    child = pexpect.spawn(pierrot.executable, ["init", *args], env=_init_env(pierrot), encoding="utf-8",
                          timeout=30, dimensions=(50, 200))
    child.logfile_read = Log()
    return child, transcript


def test_init_at_a_terminal_then_check_passes_with_no_pierrot_variable(
        pierrot: Pierrot, flickr: FlickrFake, mastodon: MastodonFake) -> None:
    flickr.populate(3)
    secrets = pierrot.servers.secrets
    child, transcript = _spawn(pierrot)

    _answer(child, "Flickr API key (hidden):", secrets.flickr_key)
    _answer(child, "Flickr API secret (hidden):", secrets.flickr_secret)
    _answer(child, "Flickr user", flickr.nsid)
    child.expect_exact("has 3 public photos")
    _answer(child, "Networks to post to", "x,bluesky,mastodon")
    _answer(child, "X api key (hidden):", secrets.x_api_key)
    _answer(child, "X api secret (hidden):", secrets.x_api_secret)
    _answer(child, "X access token (hidden):", secrets.x_access_token)
    _answer(child, "X access token secret (hidden):", secrets.x_access_token_secret)
    child.expect_exact("X: credentials accepted")
    _answer(child, "Bluesky handle", pierrot.env["PIERROT_BLUESKY_HANDLE"])
    _answer(child, "Bluesky app password (hidden):", secrets.bluesky_account_password)
    child.expect_exact("holds the account password: create an app password")
    _answer(child, "Bluesky handle", "")  # asked again, the handle given before as its default
    _answer(child, "Bluesky app password (hidden):", secrets.bluesky_app_password)
    child.expect_exact("Bluesky: credentials accepted")
    _answer(child, "Mastodon or Pixelfed instance", pierrot.env["PIERROT_MASTODON_URL"])
    _answer(child, "Visibility of the posts", "")
    child.expect_exact("/oauth/authorize?client_id=")
    _answer(child, "The authorization code it shows (hidden):", "WRONG-CODE")
    child.expect_exact("invalid_grant")
    _answer(child, "Mastodon or Pixelfed instance", "")  # asked again; Enter keeps the answer given
    _answer(child, "Visibility of the posts", "")
    _answer(child, "The authorization code it shows (hidden):", AUTHORIZATION_CODE)
    child.expect_exact("Mastodon: credentials accepted for @someone")
    child.expect_exact("wrote ")
    child.expect_exact("crontab -e")
    child.expect(pexpect.EOF)
    child.close()
    output = "".join(transcript)

    assert child.exitstatus == 0, output
    for secret in [*secrets.values(), secrets.bluesky_account_password, AUTHORIZATION_CODE, "WRONG-CODE"]:
        assert secret not in output
    path = _config(pierrot)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = tomllib.loads(path.read_text())
    assert document["publish"]["networks"] == ["x", "bluesky", "mastodon"]
    assert document["x"]["access_token"] == secrets.x_access_token
    assert document["mastodon"]["access_token"].startswith("E2eOauthToken-")
    assert [(app["scopes"], app["redirect_uri"]) for app in mastodon.apps.values()] == [
        ("write:media write:statuses read:accounts", "urn:ietf:wg:oauth:2.0:oob")] * 2  # one per try
    assert pierrot.executable in output  # the crontab lines name this pierrot by its full path

    check = subprocess.run([pierrot.executable, "check"], env=clean_environment(pierrot.home), capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "credentials accepted for @someone" in check.stdout


def test_init_yes_writes_the_file_and_ctrl_c_leaves_it_untouched(pierrot: Pierrot, flickr: FlickrFake) -> None:
    flickr.populate(2)
    env = {**_init_env(pierrot), **{k: v for k, v in pierrot.env.items() if k.startswith("PIERROT_")}}
    done = subprocess.run([pierrot.executable, "init", "--yes", "--networks", "x,bluesky"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    before = _config(pierrot).read_bytes()

    child, _ = _spawn(pierrot)
    child.expect_exact("Flickr API key")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()

    assert child.exitstatus != 0 or child.signalstatus is not None
    assert _config(pierrot).read_bytes() == before


@pytest.mark.parametrize("missing", ["PIERROT_FLICKR_USER", "PIERROT_X_ACCESS_TOKEN"])
def test_init_yes_without_a_value_is_exit_2_naming_it(pierrot: Pierrot, flickr: FlickrFake, missing: str) -> None:
    env = {**_init_env(pierrot), **{k: v for k, v in pierrot.env.items() if k.startswith("PIERROT_")}}
    del env[missing]
    done = subprocess.run([pierrot.executable, "init", "--yes"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert missing in done.stderr
    assert not _config(pierrot).exists()


def test_init_on_pixelfed_asks_for_read_write_and_keeps_a_token_already_there(
        pierrot: Pierrot, flickr: FlickrFake, mastodon: MastodonFake) -> None:
    flickr.populate(1)
    mastodon.pixelfed = True
    secrets = pierrot.servers.secrets

    def run(keep: bool) -> str:
        child, transcript = _spawn(pierrot, "--networks", "mastodon", "--no-check")
        _answer(child, "Flickr API key (hidden", secrets.flickr_key)
        _answer(child, "Flickr API secret (hidden", secrets.flickr_secret)
        _answer(child, "Flickr user", flickr.nsid)
        _answer(child, "Networks to post to", "")  # --networks gave the default
        _answer(child, "Mastodon or Pixelfed instance", pierrot.env["PIERROT_MASTODON_URL"])
        _answer(child, "Visibility of the posts", "unlisted")
        if keep:
            _answer(child, "Keep the current access token?", "y")
        else:
            child.expect_exact("authorize pierrot (read write)")
            _answer(child, "The authorization code it shows (hidden):", AUTHORIZATION_CODE)
        child.expect_exact("Mastodon: credentials accepted for @someone")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0, "".join(transcript)
        return "".join(transcript)

    run(keep=False)
    token = tomllib.loads(_config(pierrot).read_text())["mastodon"]["access_token"]
    second = run(keep=True)

    assert [app["scopes"] for app in mastodon.apps.values()] == ["read write"]
    assert tomllib.loads(_config(pierrot).read_text())["mastodon"] == {
        "url": pierrot.env["PIERROT_MASTODON_URL"], "access_token": token, "visibility": "unlisted"}
    assert "nothing changed" in second

"""The Lambda handlers against moto (S3, SSM) and the fakes of Flickr, the image fetcher and X."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pierrot.config import Settings
from pierrot.entrypoints import aws_lambda, wiring
from pierrot.errors import CatalogueMissing, ConfigError, DocumentError, FlickrError, PierrotError, UsageError
from tests.fakes import FakeFetcher, FakeFlickr, FakePublisher, make_photo

BUCKET = "pierrot-lambda-test"
PREFIX = "photostream"
SECRETS = {
    "PIERROT_FLICKR_API_KEY": ("/pierrot/flickr/api_key", "flickr-key-from-ssm-0001"),
    "PIERROT_FLICKR_API_SECRET": ("/pierrot/flickr/api_secret", "flickr-secret-from-ssm-0002"),
    "PIERROT_X_API_KEY": ("/pierrot/x/api_key", "x-key-from-ssm-0003"),
    "PIERROT_X_API_SECRET": ("/pierrot/x/api_secret", "x-secret-from-ssm-0004"),
    "PIERROT_X_ACCESS_TOKEN": ("/pierrot/x/access_token", "x-token-from-ssm-0005"),
    "PIERROT_X_ACCESS_TOKEN_SECRET": ("/pierrot/x/access_token_secret", "x-token-secret-from-ssm-0006"),
}
# What EventBridge sends on a schedule: none of it is an option.
SCHEDULED_EVENT = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2025-06-09T09:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/pierrot-publish"],
    "detail": {},
}


class Adapters:
    """The fakes the handlers get from wiring, and the settings each was built with."""

    def __init__(self) -> None:
        self.flickr = FakeFlickr([make_photo(n) for n in range(1, 6)])
        self.fetcher = FakeFetcher()
        self.publisher = FakePublisher()
        self.settings: list[Settings] = []

    def source(self, settings: Settings) -> FakeFlickr:
        self.settings.append(settings)
        return self.flickr

    def fetch(self, settings: Settings) -> FakeFetcher:
        self.settings.append(settings)
        return self.fetcher

    def publish(self, settings: Settings, network: str = "x", *, keeper: Any = None) -> FakePublisher:
        self.settings.append(settings)
        return self.publisher


@pytest.fixture(autouse=True)
def cold_start(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test is a fresh Lambda container: no secrets remembered, logging levels restored afterwards."""
    monkeypatch.setattr(aws_lambda, "_secrets_cache", {})
    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in list(logging.root.manager.loggerDict))]
    levels = {lg: lg.level for lg in loggers}
    yield
    for lg, level in levels.items():
        lg.setLevel(level)


@pytest.fixture
def lambda_env(aws_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The function's environment as the template sets it, with fake AWS credentials and nothing of the developer's."""
    for name in list(os.environ):
        if name.startswith("PIERROT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    monkeypatch.setenv("PIERROT_STORE", f"s3://{BUCKET}/{PREFIX}")
    monkeypatch.setenv("PIERROT_FLICKR_USER", "someone")
    for env, (parameter, _) in SECRETS.items():
        monkeypatch.setenv(f"{env}_SSM", parameter)


@pytest.fixture
def aws(lambda_env: None) -> Iterator[Any]:
    """Moto's S3 and SSM with the bucket and the SecureString parameters; yields an S3 client."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        ssm = boto3.client("ssm")
        for parameter, value in SECRETS.values():
            ssm.put_parameter(Name=parameter, Value=value, Type="SecureString")
        yield s3


@pytest.fixture
def adapters(monkeypatch: pytest.MonkeyPatch) -> Adapters:
    fakes = Adapters()
    monkeypatch.setattr(wiring, "build_source", fakes.source)
    monkeypatch.setattr(wiring, "build_fetcher", fakes.fetch)
    monkeypatch.setattr(wiring, "build_publisher", fakes.publish)
    return fakes


@pytest.fixture
def get_parameters_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The Names of every SSM GetParameters call any boto3 client makes."""
    import boto3

    calls: list[list[str]] = []
    real_client = boto3.session.Session.client

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append(list(params["Names"]))

    def client(self: Any, *args: Any, **kwargs: Any) -> Any:
        made = real_client(self, *args, **kwargs)
        made.meta.events.register("before-parameter-build.ssm.GetParameters", record)
        return made

    monkeypatch.setattr(boto3.session.Session, "client", client)
    return calls


def s3_doc(s3: Any, name: str) -> Any:
    return json.loads(s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/{name}")["Body"].read())


def s3_keys(s3: Any) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


# ==== sync =======================================================================================


def test_sync_handler_writes_both_documents_to_s3_and_returns_the_summary(aws: Any, adapters: Adapters) -> None:
    answer = aws_lambda.sync_handler(SCHEDULED_EVENT, None)

    assert answer["ok"] is True
    assert answer["mode"] == "full"
    assert answer["photos"] == 5
    assert answer["added"] == 5
    json.dumps(answer)  # Lambda must be able to serialise it
    assert s3_keys(aws) == [f"{PREFIX}/pierrot-db.json", f"{PREFIX}/pierrot-meta.json"]
    assert {p["id"] for p in s3_doc(aws, "pierrot-db.json")["photos"]} == {make_photo(n).id for n in range(1, 6)}


def test_sync_handler_second_run_is_unchanged_and_full_option_lists_again(aws: Any, adapters: Adapters) -> None:
    aws_lambda.sync_handler({}, None)

    assert aws_lambda.sync_handler(SCHEDULED_EVENT, None)["mode"] == "unchanged"
    assert aws_lambda.sync_handler({"full": True}, None)["mode"] == "full"


def test_a_malformed_event_option_raises(aws: Any, adapters: Adapters) -> None:
    with pytest.raises(UsageError, match="full"):
        aws_lambda.sync_handler({"full": "yes"}, None)
    with pytest.raises(UsageError, match="photo"):
        aws_lambda.publish_handler({"photo": ["1"]}, None)
    assert s3_keys(aws) == []


# ==== publish ====================================================================================


def test_publish_handler_posts_and_returns_the_post_url(aws: Any, adapters: Adapters) -> None:
    aws_lambda.sync_handler(SCHEDULED_EVENT, None)

    answer = aws_lambda.publish_handler(SCHEDULED_EVENT, None)

    assert answer["ok"] is True
    assert answer["published"] is True
    [(post_id, _)] = adapters.publisher.accepted
    assert answer["post_id"] == post_id
    assert answer["post_url"] == f"https://x.com/i/web/status/{post_id}"
    json.dumps(answer)
    [entry] = s3_doc(aws, "pierrot-wal.json")["entries"]
    assert entry["status"] == "published"
    assert entry["photo_id"] == answer["photo_id"]


def test_publish_handler_dry_run_with_a_chosen_photo_posts_and_writes_nothing(aws: Any, adapters: Adapters) -> None:
    aws_lambda.sync_handler({}, None)
    photo = make_photo(3).id

    answer = aws_lambda.publish_handler({"dry_run": True, "photo": photo}, None)

    assert answer["published"] is False
    assert answer["dry_run"] is True
    assert answer["photo_id"] == photo
    assert adapters.publisher.calls == []
    assert f"{PREFIX}/pierrot-wal.json" not in s3_keys(aws)


def test_nothing_left_to_publish_is_answered_not_raised(aws: Any, adapters: Adapters) -> None:
    adapters.flickr.items = [make_photo(1)]
    aws_lambda.sync_handler({}, None)
    aws_lambda.publish_handler({}, None)

    answer = aws_lambda.publish_handler(SCHEDULED_EVENT, None)

    assert answer["ok"] is True
    assert answer["published"] is False
    assert answer["exit_code"] == 3
    assert "every photo" in answer["reason"]
    assert len(adapters.publisher.accepted) == 1


def test_filters_that_exclude_every_photo_are_answered_not_raised(
    aws: Any, adapters: Adapters, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws_lambda.sync_handler({}, None)
    monkeypatch.setenv("PIERROT_PUBLISH_INCLUDE_TAGS", "no-photo-has-this-tag")

    answer = aws_lambda.publish_handler(SCHEDULED_EVENT, None)

    assert answer["published"] is False
    assert answer["exit_code"] == 3
    assert "filters" in answer["reason"]
    assert adapters.publisher.calls == []


def test_a_missing_catalogue_fails_the_invocation(
    aws: Any, adapters: Adapters, caplog: pytest.LogCaptureFixture
) -> None:
    # No sync ever ran under this prefix (or PIERROT_STORE names the wrong one): the alarm must fire.
    with pytest.raises(CatalogueMissing, match=f"s3://{BUCKET}/{PREFIX}"):
        aws_lambda.publish_handler(SCHEDULED_EVENT, None)

    [line] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert line.getMessage().startswith("pierrot publish failed: the catalogue is missing")
    assert adapters.fetcher.calls == 0
    assert adapters.publisher.calls == []
    assert s3_keys(aws) == []


def test_an_unreadable_catalogue_fails_the_invocation(aws: Any, adapters: Adapters) -> None:
    aws_lambda.sync_handler({}, None)
    aws.put_object(Bucket=BUCKET, Key=f"{PREFIX}/pierrot-db.json", Body=b'{"version": 1, "photos": [{"id"')

    with pytest.raises(DocumentError, match=r"pierrot-db\.json"):
        aws_lambda.publish_handler(SCHEDULED_EVENT, None)

    assert adapters.publisher.calls == []
    assert f"{PREFIX}/pierrot-wal.json" not in s3_keys(aws)


# ==== one schedule, one post =====================================================================


def test_a_second_delivery_of_the_same_scheduled_event_posts_nothing(
    aws: Any, adapters: Adapters, caplog: pytest.LogCaptureFixture
) -> None:
    aws_lambda.sync_handler({}, None)
    first = aws_lambda.publish_handler(SCHEDULED_EVENT, None)
    caplog.clear()

    again = aws_lambda.publish_handler(dict(SCHEDULED_EVENT), None)

    assert first["published"] is True
    assert again["ok"] is True
    assert again["published"] is False
    assert again["reason"]
    assert again["event_id"] == SCHEDULED_EVENT["id"]
    assert len(adapters.publisher.accepted) == 1
    assert adapters.publisher.calls.count("post") == 1
    [entry] = s3_doc(aws, "pierrot-wal.json")["entries"]
    assert entry["status"] == "published"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert SCHEDULED_EVENT["id"] in warning


def test_the_next_scheduled_event_and_hand_made_events_post_again(aws: Any, adapters: Adapters) -> None:
    aws_lambda.sync_handler({}, None)
    aws_lambda.publish_handler(SCHEDULED_EVENT, None)

    next_week = aws_lambda.publish_handler({**SCHEDULED_EVENT, "id": "0c5e8a3e-9f7a-4c1e-a3b2-7f6d1e2c3b4a"}, None)
    by_hand = [aws_lambda.publish_handler({}, None) for _ in range(2)]

    assert next_week["published"] is True
    assert [answer["published"] for answer in by_hand] == [True, True]
    assert len(adapters.publisher.accepted) == 4


def test_a_malformed_event_id_raises(aws: Any, adapters: Adapters) -> None:
    aws_lambda.sync_handler({}, None)

    with pytest.raises(UsageError, match="'id'"):
        aws_lambda.publish_handler({**SCHEDULED_EVENT, "id": 42}, None)
    assert adapters.publisher.calls == []


# ==== secrets from SSM ===========================================================================


def test_ssm_secrets_are_read_once_per_cold_start_and_reach_the_settings(
    aws: Any, adapters: Adapters, get_parameters_calls: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    aws_lambda.sync_handler({}, None)
    aws_lambda.sync_handler({}, None)
    aws_lambda.publish_handler({}, None)

    assert get_parameters_calls == [sorted(parameter for parameter, _ in SECRETS.values())]
    publisher_settings = adapters.settings[-1]
    for env, (_, value) in SECRETS.items():
        attr = env.removeprefix("PIERROT_").lower()
        assert getattr(publisher_settings, attr) == value
    assert adapters.settings[0].flickr_api_key == SECRETS["PIERROT_FLICKR_API_KEY"][1]

    monkeypatch.setattr(aws_lambda, "_secrets_cache", {})  # a new container
    aws_lambda.sync_handler({}, None)
    assert len(get_parameters_calls) == 2


def test_without_ssm_variables_no_parameter_is_read(
    aws: Any, adapters: Adapters, get_parameters_calls: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for env in SECRETS:
        monkeypatch.delenv(f"{env}_SSM")
    monkeypatch.setenv("PIERROT_FLICKR_API_KEY", "plain-key")
    monkeypatch.setenv("PIERROT_FLICKR_API_SECRET", "plain-secret")

    assert aws_lambda.sync_handler({}, None)["ok"] is True
    assert get_parameters_calls == []
    assert adapters.settings[0].flickr_api_key == "plain-key"


def test_a_missing_ssm_parameter_raises_naming_it(aws: Any, adapters: Adapters) -> None:
    import boto3

    boto3.client("ssm").delete_parameter(Name="/pierrot/x/access_token")

    with pytest.raises(ConfigError, match="/pierrot/x/access_token") as raised:
        aws_lambda.sync_handler({}, None)

    assert "PIERROT_X_ACCESS_TOKEN_SSM" in str(raised.value)
    assert "/pierrot/x/api_key" not in str(raised.value)
    assert adapters.flickr.calls == 0
    assert s3_keys(aws) == []


def test_a_secret_with_no_ssm_variable_is_named_with_its_ssm_variable(
    aws: Any, adapters: Adapters, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PIERROT_X_API_SECRET_SSM")
    aws_lambda.sync_handler({}, None)

    with pytest.raises(ConfigError, match="PIERROT_X_API_SECRET_SSM"):
        aws_lambda.publish_handler({}, None)
    assert adapters.publisher.calls == []


# ==== failures ===================================================================================


def test_a_flickr_failure_raises_and_is_logged_in_one_line(
    aws: Any, adapters: Adapters, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(nsid: str) -> Any:
        raise FlickrError("Flickr is unavailable (HTTP 503): try again later")

    monkeypatch.setattr(adapters.flickr, "summary", refuse)

    with pytest.raises(FlickrError, match="HTTP 503"):
        aws_lambda.sync_handler(SCHEDULED_EVENT, None)

    [line] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert line.getMessage() == "pierrot sync failed: Flickr is unavailable (HTTP 503): try again later"
    assert s3_keys(aws) == []


def test_an_unexpected_failure_raises(aws: Any, adapters: Adapters) -> None:
    adapters.fetcher.fail = OSError("disk full")
    aws_lambda.sync_handler({}, None)

    with pytest.raises(OSError, match="disk full"):
        aws_lambda.publish_handler({}, None)
    assert adapters.publisher.accepted == []


def test_secrets_never_appear_in_the_logs_or_the_raised_error(
    aws: Any, adapters: Adapters, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    aws_lambda.sync_handler({}, None)
    aws_lambda.publish_handler({}, None)
    key = SECRETS["PIERROT_FLICKR_API_KEY"][1]

    def leak(nsid: str) -> Any:
        # An adapter that wrongly logs a signed URL and puts it in its message.
        url = f"https://api.flickr.com/services/rest/?api_key={key}&method=x"
        logging.getLogger("pierrot.adapters.flickr").info("GET %s", url)
        raise FlickrError(f"cannot reach {url}")

    monkeypatch.setattr(adapters.flickr, "summary", leak)
    with pytest.raises(FlickrError) as raised:
        aws_lambda.sync_handler({"full": True}, None)

    assert "GET https://api.flickr.com" in caplog.text
    assert "cannot reach https://api.flickr.com" in caplog.text
    for _, value in SECRETS.values():
        assert value not in caplog.text
        assert value not in str(raised.value)


# --- several networks -----------------------------------------------------------------------------------------


@pytest.fixture
def two_networks(aws: Any, adapters: Adapters, monkeypatch: pytest.MonkeyPatch) -> dict[str, FakePublisher]:
    """X and Bluesky, the Bluesky app password in SSM like the others; a publisher fake for each network."""
    import boto3

    from pierrot.adapters.networks.bluesky import RULES as BLUESKY

    boto3.client("ssm").put_parameter(Name="/pierrot/bluesky/app_password", Value="bsky-app-password-0007",
                                      Type="SecureString")
    monkeypatch.setenv("PIERROT_PUBLISH_NETWORKS", "x,bluesky")
    monkeypatch.setenv("PIERROT_BLUESKY_HANDLE", "someone.bsky.social")
    monkeypatch.setenv("PIERROT_BLUESKY_APP_PASSWORD_SSM", "/pierrot/bluesky/app_password")
    publishers = {"x": adapters.publisher, "bluesky": FakePublisher(rules=BLUESKY)}

    def publish(settings: Settings, network: str = "x", *, keeper: Any = None) -> FakePublisher:
        assert network != "bluesky" or settings.bluesky_app_password == "bsky-app-password-0007"
        return publishers[network]

    monkeypatch.setattr(wiring, "build_publisher", publish)
    return publishers


def test_publish_handler_posts_one_photo_to_every_configured_network(
    aws: Any, two_networks: dict[str, FakePublisher]
) -> None:
    aws_lambda.sync_handler(SCHEDULED_EVENT, None)

    answer = aws_lambda.publish_handler(SCHEDULED_EVENT, None)

    assert answer["published"] is True
    assert set(answer["networks"]) == {"x", "bluesky"}
    assert all(len(p.accepted) == 1 for p in two_networks.values())
    entries = s3_doc(aws, "pierrot-wal.json")["entries"]
    assert {(e["network"], e["status"]) for e in entries} == {("x", "published"), ("bluesky", "published")}
    assert len({e["photo_id"] for e in entries}) == 1
    json.dumps(answer)


def test_one_network_failing_fails_the_invocation_after_the_others_posted(
    aws: Any, two_networks: dict[str, FakePublisher]
) -> None:
    from pierrot.errors import PostRefused

    aws_lambda.sync_handler(SCHEDULED_EVENT, None)
    two_networks["bluesky"].fail_at["upload"] = PostRefused("Bluesky refused the image (400)")

    with pytest.raises(PierrotError, match="Bluesky"):
        aws_lambda.publish_handler(SCHEDULED_EVENT, None)

    assert len(two_networks["x"].accepted) == 1  # X posted all the same; the alarm fires for Bluesky
    entries = s3_doc(aws, "pierrot-wal.json")["entries"]
    assert [(e["network"], e["status"]) for e in entries] == [("x", "published")]


def test_more_than_ten_ssm_parameters_are_read_ten_at_a_time(
    aws: Any, get_parameters_calls: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from pierrot.specs import Spec

    # More secret settings than one GetParameters call takes, as a few more networks would bring.
    extra = [Spec(f"extra_{i}", f"PIERROT_EXTRA_{i}", "extra", f"s{i}", secret=True) for i in range(7)]
    monkeypatch.setattr(aws_lambda, "SPECS", (*aws_lambda.SPECS, *extra))
    for spec in extra:
        boto3.client("ssm").put_parameter(Name=f"/pierrot/extra/{spec.key}", Value=f"value-{spec.key}",
                                          Type="SecureString")
        monkeypatch.setenv(f"{spec.env}_SSM", f"/pierrot/extra/{spec.key}")

    found = aws_lambda._resolve_secrets(dict(os.environ))

    assert len(found) == len(SECRETS) + len(extra) > 10
    assert found["PIERROT_EXTRA_6"] == "value-s6"
    assert [len(names) for names in get_parameters_calls] == [10, len(SECRETS) + len(extra) - 10]


def test_an_unknown_network_in_the_settings_is_a_configuration_error(
    aws: Any, adapters: Adapters, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIERROT_PUBLISH_NETWORKS", "x,myspace")

    with pytest.raises(ConfigError, match="myspace") as raised:
        aws_lambda.publish_handler({}, None)

    assert raised.value.exit_code == 2 and "\n" not in str(raised.value)

"""The S3 store on moto: keys under the prefix, conditional puts, and one clear line for every failure."""

from __future__ import annotations

import socket
import uuid

import pytest
from botocore.awsrequest import AWSResponse

from pierrot.adapters.stores import open_store
from pierrot.adapters.stores.s3 import S3Store
from pierrot.config import parse_store
from pierrot.domain import CATALOGUE_DOCUMENT
from pierrot.errors import ConflictError, StoreError

DOC = CATALOGUE_DOCUMENT


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **kwargs):
        yield self.data


@pytest.fixture(scope="module")
def moto_server():
    """A moto S3 server on localhost, for the fault injection tests.

    botocore calls every before-send handler and keeps the first answer, so under in-process moto an
    injected failure would still reach moto's own handler and take effect; against a server, an injected
    answer means the request is never sent, as with a real S3 that failed it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def served_bucket(aws_env, moto_server, monkeypatch):
    """An empty bucket on the moto server, which the store reaches through AWS_ENDPOINT_URL."""
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    bucket = f"pierrot-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    return bucket


def inject(store, operation, status, code, *, times=None):
    """Make the next ``times`` sends of ``operation`` (all of them if None) answer ``status``/``code``."""
    sent = []

    def answer(request, **kwargs):
        sent.append(request.url)
        if times is not None and len(sent) > times:
            return None
        # A HEAD answer has no body: botocore then takes the status as the code.
        body = "" if not code else f"<Error><Code>{code}</Code><Message>injected</Message></Error>"
        return AWSResponse(request.url, status, {"Content-Type": "application/xml"}, _Body(body.encode()))

    store.client.meta.events.register(f"before-send.s3.{operation}", answer)
    return sent


def test_documents_live_under_the_prefix(s3, bucket):
    store = open_store(parse_store(f"s3://{bucket}/team/pierrot/"))

    store.write(DOC, {"v": 1}, None)

    assert store.location == f"s3://{bucket}/team/pierrot"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == [f"team/pierrot/{DOC}"]
    assert s3.head_object(Bucket=bucket, Key=keys[0])["ContentType"] == "application/json"


def test_without_a_prefix_documents_are_at_the_top_of_the_bucket(s3, bucket):
    store = open_store(parse_store(f"s3://{bucket}"), timeout=7)

    token = store.write(DOC, {"v": 1}, None)

    assert store.location == f"s3://{bucket}"
    assert s3.head_object(Bucket=bucket, Key=DOC)["ETag"] == token
    assert store.read(DOC).token == token
    assert store.client.meta.config.connect_timeout == store.client.meta.config.read_timeout == 7


def test_a_lost_race_answered_412_is_a_conflict(s3, bucket):
    store = S3Store(bucket)
    first = store.write(DOC, {"v": 1}, None)
    s3.put_object(Bucket=bucket, Key=DOC, Body=b'{"v": "theirs"}')

    with pytest.raises(ConflictError):
        store.write(DOC, {"v": 2}, first)

    assert store.read(DOC).doc == {"v": "theirs"}


def test_concurrent_conditional_writes_answered_409_are_a_conflict(served_bucket):
    store = S3Store(served_bucket)
    token = store.write(DOC, {"v": 1}, None)
    inject(store, "PutObject", 409, "ConditionalRequestConflict")

    with pytest.raises(ConflictError):
        store.write(DOC, {"v": 2}, token)

    assert store.read(DOC).doc == {"v": 1}


def test_a_missing_bucket_names_the_bucket(s3):
    store = S3Store("no-such-bucket", "p")

    for attempt in (lambda: store.read(DOC), lambda: store.write(DOC, {}, None), store.check):
        with pytest.raises(StoreError) as caught:
            attempt()
        assert str(caught.value) == "bucket no-such-bucket does not exist: create it or fix PIERROT_STORE"


def test_check_passes_on_a_bucket_that_exists(s3, bucket):
    S3Store(bucket, "p").check()


@pytest.mark.parametrize(
    ("operation", "status", "code", "message"),
    [
        (
            "GetObject",
            403,
            "AccessDenied",
            "access denied to s3://{bucket}/p/pierrot-db.json: the credentials need s3:GetObject/s3:PutObject on it",
        ),
        (
            "ListObjectsV2",
            403,
            "",
            "access denied to s3://{bucket}: the credentials need s3:ListBucket on it "
            "and s3:GetObject/s3:PutObject on s3://{bucket}/p/*",
        ),
        (
            "PutObject",
            403,
            "InvalidAccessKeyId",
            "S3 refused the AWS credentials (InvalidAccessKeyId): check AWS_PROFILE or AWS_ACCESS_KEY_ID/",
        ),
        ("ListObjectsV2", 400, "", "cannot use s3://{bucket}/p: S3 answered HTTP 400"),
    ],
)
def test_refusals_are_one_line_saying_what_to_do(served_bucket, operation, status, code, message):
    store = S3Store(served_bucket, "p")
    inject(store, operation, status, code)
    attempt = {"GetObject": lambda: store.read(DOC), "PutObject": lambda: store.write(DOC, {}, None)}

    with pytest.raises(StoreError) as caught:
        attempt.get(operation, store.check)()

    assert str(caught.value).startswith(message.format(bucket=served_bucket))


def test_a_slowdown_is_retried_until_it_passes(served_bucket, no_retry_delay):
    store = S3Store(served_bucket)
    sent = inject(store, "PutObject", 503, "SlowDown", times=2)

    token = store.write(DOC, {"v": 1}, None)

    assert len(sent) == 3
    assert store.read(DOC).token == token


def test_a_failure_that_outlasts_the_retries_is_one_line_with_the_code(served_bucket, no_retry_delay):
    store = S3Store(served_bucket)
    sent = inject(store, "PutObject", 500, "InternalError")

    with pytest.raises(StoreError) as caught:
        store.write(DOC, {"v": 1}, None)

    assert len(sent) == 5
    assert str(caught.value) == (
        f"cannot write s3://{served_bucket}/{DOC}: S3 answered InternalError, HTTP 500 (injected)"
    )
    assert store.read(DOC) is None


def test_no_credentials_is_a_store_error_saying_how_to_set_them(aws_env, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")  # never the real S3, should signing pass

    with pytest.raises(StoreError) as caught:
        S3Store("pierrot-test").read(DOC)

    assert str(caught.value) == ("no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")


def test_an_unreachable_endpoint_is_a_store_error_naming_it(aws_env, monkeypatch, no_retry_delay):
    with socket.socket() as closed:  # bound but not listening: connections are refused at once
        closed.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{closed.getsockname()[1]}"
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)

        with pytest.raises(StoreError) as caught:
            S3Store("pierrot-test").write(DOC, {}, None)

    assert str(caught.value).startswith(f"cannot reach S3 at {endpoint}: ")

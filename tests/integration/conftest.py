"""Fixtures for the document store tests: a folder, a moto bucket, and both behind one harness."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pierrot.ports import DocumentStore

BUCKET = "pierrot-test"


@pytest.fixture
def bucket() -> str:
    """The name of the bucket that ``s3`` creates."""
    return BUCKET


@pytest.fixture
def s3(aws_env: None, bucket: str) -> Iterator[Any]:
    """A boto3 S3 client on in-process moto, with the bucket created."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=bucket)
        yield client


@pytest.fixture
def no_retry_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore retries without sleeping, so retry tests stay fast."""
    from botocore.retries import standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)


@dataclass
class StoreUnderTest:
    """A store plus a way round it to plant and inspect the raw bytes of a document."""

    store: DocumentStore
    put_raw: Callable[[str, bytes], None]
    get_raw: Callable[[str], bytes | None]


@pytest.fixture(params=["local", "s3"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreUnderTest:
    """Each real store in turn, empty."""
    if request.param == "local":
        from pierrot.adapters.stores.local import LocalStore

        folder = tmp_path / "store"

        def put_local(name: str, data: bytes) -> None:
            folder.mkdir(exist_ok=True)
            (folder / name).write_bytes(data)

        def get_local(name: str) -> bytes | None:
            path = folder / name
            return path.read_bytes() if path.exists() else None

        return StoreUnderTest(LocalStore(folder), put_local, get_local)

    from pierrot.adapters.stores.s3 import S3Store

    client = request.getfixturevalue("s3")
    prefix = "backups/pierrot"

    def put_s3(name: str, data: bytes) -> None:
        client.put_object(Bucket=BUCKET, Key=f"{prefix}/{name}", Body=data)

    def get_s3(name: str) -> bytes | None:
        try:
            return bytes(client.get_object(Bucket=BUCKET, Key=f"{prefix}/{name}")["Body"].read())
        except client.exceptions.NoSuchKey:
            return None

    return StoreUnderTest(S3Store(BUCKET, prefix, timeout=5), put_s3, get_s3)

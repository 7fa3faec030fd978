"""The document store adapters: a local folder or an S3 bucket."""

from __future__ import annotations

from pierrot.config import StoreLocation
from pierrot.ports import DocumentStore


def open_store(location: StoreLocation, *, timeout: float = 30.0) -> DocumentStore:
    """The store that ``location`` names."""
    # Each adapter is imported only when used: importing boto3 costs a noticeable part of start-up.
    if location.kind == "s3" and location.bucket:
        from pierrot.adapters.stores.s3 import S3Store

        return S3Store(location.bucket, location.prefix, timeout=timeout)
    if location.kind == "local" and location.path is not None:
        from pierrot.adapters.stores.local import LocalStore

        return LocalStore(location.path)
    raise ValueError(f"not a store location: {location!r}")

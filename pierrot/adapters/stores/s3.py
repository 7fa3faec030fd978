"""The document store in an S3 bucket: one object per document, replaced with conditional puts."""

from __future__ import annotations

import tempfile
from typing import IO, TYPE_CHECKING, Any, NoReturn

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from pierrot.adapters.stores.codec import decode, encode, encode_chunks
from pierrot.errors import ConflictError, StoreError
from pierrot.logs import REDACT
from pierrot.ports import DocumentStore, Encoded, Versioned

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import PutObjectRequestTypeDef

# The write lost a race (412), or S3 saw two conditional writes at once (409): either way, re-read.
CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}
BAD_CREDENTIAL_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"}
SPOOL_BYTES = 16 * 1024 * 1024
UNREACHABLE = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)


class S3Store(DocumentStore):
    """Documents as objects under ``s3://bucket/prefix``; the token is the object's ETag."""

    def __init__(self, bucket: str, prefix: str = "", *, timeout: float = 30.0) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.location = f"s3://{bucket}/{self.prefix}".rstrip("/")
        config = Config(
            retries={"mode": "standard", "total_max_attempts": 5},
            connect_timeout=timeout,
            read_timeout=timeout,
            # Checksums only where S3 requires them: several S3-compatible stores (R2, older MinIO) refuse
            # the CRC headers botocore has sent by default since 1.36.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            # Presigned links (the gallery's) in Signature Version 4: botocore still signs them in version 2 for
            # us-east-1, which buckets made since 2020 refuse.
            signature_version="s3v4",
        )
        # The standard chain: AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL(_S3) and the rest work unchanged.
        try:
            session = boto3.session.Session()
            self.client: S3Client = session.client("s3", config=config)
            credentials = session.get_credentials()
            # botocore's debug lines show the signed request, session token included: never print them.
            frozen = credentials.get_frozen_credentials() if credentials is not None else None
        except (BotoCoreError, ClientError) as exc:
            raise StoreError(f"cannot set up S3 for {self.location}: {exc}") from exc
        if frozen is not None:
            REDACT.add(s for s in (frozen.secret_key, frozen.token) if s)

    def key(self, name: str) -> str:
        """The object key of a document."""
        return f"{self.prefix}/{name}" if self.prefix else name

    def read(self, name: str) -> Versioned | None:
        """The parsed document and its ETag, or None if there is no such object."""
        found = self.read_bytes(name)
        if found is None:
            return None
        data, etag = found
        return Versioned(decode(name, data, etag), etag)

    def read_bytes(self, name: str) -> tuple[bytes, str] | None:
        """The object's bytes and its ETag, unparsed, or None if there is no such object."""
        key = self.key(name)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            with response["Body"] as body:
                data = body.read()
        except ClientError as exc:
            if _code(exc) == "NoSuchKey":
                return None
            self._fail(exc, f"cannot read s3://{self.bucket}/{key}", key)
        except BotoCoreError as exc:
            self._fail(exc, f"cannot read s3://{self.bucket}/{key}", key)
        return data, response["ETag"]

    def token(self, name: str) -> str | None:
        """The object's ETag from a HEAD request, without downloading it."""
        key = self.key(name)
        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)["ETag"]
        except ClientError as exc:
            if _code(exc) in {"NoSuchKey", "404", "NotFound"}:
                return None
            self._fail(exc, f"cannot read s3://{self.bucket}/{key}", key)
        except BotoCoreError as exc:
            self._fail(exc, f"cannot read s3://{self.bucket}/{key}", key)

    def write(self, name: str, doc: Any, expected: str | None) -> str:
        """Put the document if its ETag is still ``expected`` (None: it must not exist yet)."""
        key = self.key(name)
        body: bytes | IO[bytes]
        if isinstance(doc, Encoded):
            # A big document is spooled to disk rather than joined in memory.
            spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed below
            for chunk in encode_chunks(doc):
                spool.write(chunk)
            spool.seek(0)
            body = spool
        else:
            body = encode(doc)
        request: PutObjectRequestTypeDef = {
            "Bucket": self.bucket,
            "Key": key,
            "Body": body,
            "ContentType": "application/json",
        }
        if expected is None:
            request["IfNoneMatch"] = "*"
        else:
            request["IfMatch"] = expected
        try:
            response = self.client.put_object(**request)
        except ClientError as exc:
            # A replace (IfMatch) of an object someone deleted answers 404 NoSuchKey: a conflict as well.
            if _code(exc) in CONFLICT_CODES or (expected is not None and _code(exc) == "NoSuchKey"):
                raise ConflictError(name) from None
            self._fail(exc, f"cannot write s3://{self.bucket}/{key}", key)
        except BotoCoreError as exc:
            self._fail(exc, f"cannot write s3://{self.bucket}/{key}", key)
        finally:
            if not isinstance(body, bytes):
                body.close()
        return response["ETag"]

    def put_page(self, name: str, data: bytes, content_type: str, *, expires: int = 24 * 3600) -> str:
        """Put a page next to the documents, private, and return a presigned URL that opens it for ``expires``
        seconds (at most until the credentials that sign it expire)."""
        key = self.key(name)
        try:
            # No ACL: the object stays as private as the documents; only the signed link opens it.
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type,
                                   CacheControl="no-store")
            return self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires
            )
        except (ClientError, BotoCoreError) as exc:
            self._fail(exc, f"cannot write s3://{self.bucket}/{key}", key)

    def check(self) -> None:
        """Fail with StoreError unless the bucket exists and these credentials may use it."""
        try:
            # Listing the prefix, not HeadBucket: a policy may grant s3:ListBucket for the prefix alone.
            prefix = f"{self.prefix}/" if self.prefix else ""
            self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=1)
        except (ClientError, BotoCoreError) as exc:
            self._fail(exc, f"cannot use {self.location}", None)

    def _fail(self, exc: ClientError | BotoCoreError, doing: str, key: str | None) -> NoReturn:
        """Raise the one-line StoreError that says what went wrong and what to do (key None: the bucket)."""
        raise StoreError(self._message(exc, doing, key)) from exc

    def _message(self, exc: ClientError | BotoCoreError, doing: str, key: str | None) -> str:
        if isinstance(exc, NoCredentialsError):
            return "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        if isinstance(exc, UNREACHABLE):
            return f"cannot reach S3 at {self.client.meta.endpoint_url}: {exc}"
        if isinstance(exc, BotoCoreError):
            return f"{doing}: {exc}"
        code = _code(exc)
        # HEAD answers carry no body, so the code is only the HTTP status.
        if code in {"NoSuchBucket", "404"}:
            return f"bucket {self.bucket} does not exist: create it or fix PIERROT_STORE"
        if code in {"AccessDenied", "403", "AllAccessDisabled"}:
            if key is None:
                return (
                    f"access denied to s3://{self.bucket}: the credentials need s3:ListBucket on it "
                    f"and s3:GetObject/s3:PutObject on {self.location}/*"
                )
            return (
                f"access denied to s3://{self.bucket}/{key}: the credentials need s3:GetObject/s3:PutObject "
                "on it (and s3:ListBucket on the bucket, or a missing document looks like this)"
            )
        if code in BAD_CREDENTIAL_CODES:
            return (
                f"S3 refused the AWS credentials ({code}): check AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
            )
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = exc.response.get("Error", {}).get("Message")
        detail = f"HTTP {status}" if code in ("", str(status)) else f"{code}, HTTP {status}"
        return f"{doing}: S3 answered {detail}" + (f" ({message})" if message else "")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))

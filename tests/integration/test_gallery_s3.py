"""pierrot gallery with an S3 store: the page next to the documents, private, opened by a presigned link."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from pierrot.adapters.stores.s3 import S3Store
from pierrot.domain import CATALOGUE_DOCUMENT, LOG_DOCUMENT, PUBLISHED, Catalogue
from pierrot.entrypoints import aws_lambda
from tests.fakes import cli_run, entry, isolated_settings, make_photo
from tests.integration import test_aws_lambda as lam

BUCKET = "pierrot-test"
PUBLIC = "http://acs.amazonaws.com/groups/global/AllUsers"

# The Lambda tests' moto, fakes and cold start, shared.
aws, adapters, lambda_env, cold_start = lam.aws, lam.adapters, lam.lambda_env, lam.cold_start


def test_put_page_keeps_the_page_private_as_html_and_returns_a_link_for_a_day(s3: Any) -> None:
    store = S3Store(BUCKET, "photostream", timeout=5)

    url = store.put_page("pierrot-gallery.html", b"<!doctype html><p>hello</p>", "text/html; charset=utf-8")

    head = s3.head_object(Bucket=BUCKET, Key="photostream/pierrot-gallery.html")
    assert head["ContentType"] == "text/html; charset=utf-8"
    grants = s3.get_object_acl(Bucket=BUCKET, Key="photostream/pierrot-gallery.html")["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
    assert all(g["Grantee"].get("URI") != PUBLIC for g in grants)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.path.endswith("/photostream/pierrot-gallery.html")
    assert query["X-Amz-Expires"] == ["86400"] and "X-Amz-Signature" in query


def test_the_command_uploads_and_prints_the_link(s3: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    photo = make_photo(1, title="Boats <b>")
    store = S3Store(BUCKET, "p", timeout=5)
    store.write(CATALOGUE_DOCUMENT, Catalogue("12345678@N00", [photo]).to_doc(), None)
    store.write(LOG_DOCUMENT, {"version": 1, "entries": [entry(photo, "x", PUBLISHED)]}, None)
    isolated_settings(monkeypatch, tmp_path, {"PIERROT_STORE": f"s3://{BUCKET}/p"})
    monkeypatch.chdir(tmp_path)

    result = cli_run("gallery", "--upload")

    assert result.exit_code == 0, result.output
    assert result.output.startswith("https://") and "p/pierrot-gallery.html" in result.output
    page = s3.get_object(Bucket=BUCKET, Key="p/pierrot-gallery.html")["Body"].read().decode()
    assert "Boats &lt;b&gt;" in page and f"https://example.com/x/{photo.id}" in page
    assert not (tmp_path / "pierrot-gallery.html").exists()


def test_the_publish_function_writes_the_page_when_asked(
    aws: Any, adapters: lam.Adapters, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws_lambda.sync_handler(lam.SCHEDULED_EVENT, None)
    monkeypatch.setenv("PIERROT_GALLERY", "true")

    answer = aws_lambda.publish_handler(lam.SCHEDULED_EVENT, None)

    page = aws.get_object(Bucket=lam.BUCKET, Key=f"{lam.PREFIX}/pierrot-gallery.html")
    assert page["ContentType"].startswith("text/html")
    assert answer["post_url"] in page["Body"].read().decode()


def test_a_page_that_cannot_be_written_is_a_warning_not_a_failed_publish(
    aws: Any, adapters: lam.Adapters, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    aws_lambda.sync_handler(lam.SCHEDULED_EVENT, None)
    monkeypatch.setenv("PIERROT_GALLERY", "true")

    def refuse(*args: Any, **kwargs: Any) -> str:
        from pierrot.errors import StoreError

        raise StoreError("access denied to s3://bucket/pierrot-gallery.html")

    monkeypatch.setattr(S3Store, "put_page", refuse)
    with caplog.at_level(logging.WARNING):
        answer = aws_lambda.publish_handler(lam.SCHEDULED_EVENT, None)

    assert answer["published"] is True
    assert "the gallery page could not be written: access denied" in caplog.text
    json.dumps(answer)


def test_without_the_setting_no_page_is_written(aws: Any, adapters: lam.Adapters) -> None:
    aws_lambda.sync_handler(lam.SCHEDULED_EVENT, None)
    aws_lambda.publish_handler(lam.SCHEDULED_EVENT, None)
    keys = [o["Key"] for o in aws.list_objects_v2(Bucket=lam.BUCKET).get("Contents", [])]
    assert not any(k.endswith("pierrot-gallery.html") for k in keys)

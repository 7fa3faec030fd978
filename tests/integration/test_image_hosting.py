"""Image hosts for Threads (S3 on moto, Flickr's URL) and the keepers of a renewed token (a 0600 file, SSM on moto)."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from pierrot.adapters.images import exif
from pierrot.adapters.images.hosting import FOLDER, FlickrImageHost, S3ImageHost
from pierrot.adapters.secrets import FileSecretKeeper, SsmSecretKeeper
from pierrot.errors import ConfigError, ImageError, PierrotError
from pierrot.ports import FetchedImage, HostedImage
from tests.e2e.servers import gps_exif, jpeg

FLICKR_URL = "https://live.staticflickr.com/65535/1_abc_k.jpg"


def _image(tmp_path: Path, data: bytes, **changes: Any) -> FetchedImage:
    path = tmp_path / "photo_k.jpg"
    path.write_bytes(data)
    return FetchedImage(path, "k", 2048, 1365, len(data), "image/jpeg", **changes)


# ---- S3 ---------------------------------------------------------------------------------------------------


def test_s3_hosts_the_cleaned_bytes_under_the_prefix_with_a_short_presigned_url(s3: Any, bucket: str,
                                                                               tmp_path: Path) -> None:
    host = S3ImageHost(s3, bucket, "photos/")
    located = jpeg(exif=gps_exif())
    hosted = host.host(_image(tmp_path, located))
    assert hosted.key is not None and hosted.key.startswith(f"photos/{FOLDER}/") and hosted.key.endswith(".jpg")
    stored = s3.get_object(Bucket=bucket, Key=hosted.key)["Body"].read()
    assert not exif.has_location(stored) and stored == exif.strip_location(located)
    assert "X-Amz-Expires=3600" in hosted.url or "Expires=" in hosted.url
    host.release(hosted)
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


def test_s3_sweeps_only_leftovers_older_than_asked(s3: Any, bucket: str, tmp_path: Path) -> None:
    host = S3ImageHost(s3, bucket)
    old = host.host(_image(tmp_path, jpeg()))
    s3.put_object(Bucket=bucket, Key="catalogue.json", Body=b"{}")  # never the store's documents
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    with mock.patch("pierrot.adapters.images.hosting.dt.datetime") as clock:
        clock.now.return_value = later
        assert host.sweep(86400) == 1
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == ["catalogue.json"] and old.key not in keys
    fresh = host.host(_image(tmp_path, jpeg()))
    assert host.sweep(86400) == 0
    host.release(HostedImage("https://elsewhere.example/x.jpg", "catalogue.json"))  # outside its folder: ignored
    assert {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]} == {"catalogue.json", fresh.key}


def test_s3_failures_are_one_line(s3: Any, tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="NoSuchBucket"):
        S3ImageHost(s3, "no-such-bucket").host(_image(tmp_path, jpeg()))


# ---- Flickr's URL -----------------------------------------------------------------------------------------


def test_flickr_url_only_for_a_size_that_had_nothing_to_remove(tmp_path: Path) -> None:
    host = FlickrImageHost()
    clean = _image(tmp_path, jpeg(), source_url=FLICKR_URL, location_removed=False)
    assert host.host(clean) == HostedImage(FLICKR_URL, None)
    with pytest.raises(ImageError, match=r"tells where it was taken.*S3 store"):
        host.host(_image(tmp_path, jpeg(), source_url=FLICKR_URL, location_removed=True))
    with pytest.raises(ImageError, match="did not check it"):
        host.host(_image(tmp_path, jpeg(), source_url=FLICKR_URL, location_removed=None))
    with pytest.raises(ImageError):
        host.host(_image(tmp_path, jpeg(), location_removed=False))


# ---- keeping a renewed token ------------------------------------------------------------------------------


def test_the_file_keeper_writes_0600_and_is_used_while_the_setting_is_unchanged(tmp_path: Path) -> None:
    folder = tmp_path / "pierrot"
    keeper = FileSecretKeeper(folder, {"threads_access_token": "first"})
    assert keeper.current("threads_access_token") is None
    keeper("threads_access_token", "second")
    path = folder / "threads-access-token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "second" in path.read_text() and "first" not in path.read_text()
    assert keeper.current("threads_access_token") == "second"
    keeper("threads_access_token", "third")  # a renewal of the renewal still stands for the configured one
    assert FileSecretKeeper(folder, {"threads_access_token": "first"}).current("threads_access_token") == "third"
    # a person who puts a new token in the settings means that one
    assert FileSecretKeeper(folder, {"threads_access_token": "fresh"}).current("threads_access_token") is None
    assert [p.name for p in folder.iterdir()] == ["threads-access-token"]  # no temporary file left


def test_the_file_keeper_refuses_a_file_others_can_read(tmp_path: Path) -> None:
    keeper = FileSecretKeeper(tmp_path, {"threads_access_token": "first"})
    keeper("threads_access_token", "second")
    (tmp_path / "threads-access-token").chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        keeper.current("threads_access_token")


def test_the_ssm_keeper_puts_the_one_parameter(aws_env: None) -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("ssm")
        client.put_parameter(Name="/pierrot/threads/token", Value="old", Type="SecureString")
        keeper = SsmSecretKeeper({"threads_access_token": "/pierrot/threads/token"}, client)
        keeper("threads_access_token", "new")
        value = client.get_parameter(Name="/pierrot/threads/token", WithDecryption=True)["Parameter"]
        assert value["Value"] == "new" and value["Type"] == "SecureString"
        with pytest.raises(ConfigError):
            keeper("x_access_token", "nope")
        with mock.patch.object(client, "put_parameter", side_effect=_denied()), \
                pytest.raises(PierrotError, match="ssm:PutParameter"):
            keeper("threads_access_token", "newer")


def _denied() -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "PutParameter")


def test_the_store_decides_the_host_and_the_environment_the_keepers(aws_env: None, tmp_path: Path) -> None:
    from pierrot.adapters.images.hosting import image_host_for
    from pierrot.adapters.stores.local import LocalStore
    from pierrot.adapters.stores.s3 import S3Store

    assert isinstance(image_host_for(S3Store("a-bucket", "pre")), S3ImageHost)
    assert isinstance(image_host_for(LocalStore(tmp_path)), FlickrImageHost)
    keeper = FileSecretKeeper.in_config_folder({"XDG_CONFIG_HOME": str(tmp_path)}, {})
    assert keeper.path("threads_access_token") == tmp_path / "pierrot" / "threads-access-token"
    env = {"PIERROT_THREADS_ACCESS_TOKEN_SSM": "/p/threads"}
    ssm = SsmSecretKeeper.from_env(env, {"threads_access_token": "PIERROT_THREADS_ACCESS_TOKEN",
                                         "x_access_token": "PIERROT_X_ACCESS_TOKEN"})
    assert ssm.parameters == {"threads_access_token": "/p/threads"}

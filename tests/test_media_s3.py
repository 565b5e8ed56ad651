"""Kept files in S3-compatible object storage (bot/media/s3.py), against moto's S3 on 127.0.0.1,
and the setting that chooses it.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

from bot.media.s3 import S3Storage, parse_s3_url
from bot.media.storage import content_key
from bot.platform.config import Settings, SettingsError

PHOTO = b"\xff\xd8\xff\xe0" + b"a rash, photographed" * 20


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """Run moto's S3 on loopback for this module, with a bucket, and fake credentials for boto3."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    with pytest.MonkeyPatch.context() as env:
        for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_DEFAULT_REGION", "ap-south-1")):
            env.setenv(name, value)
        boto3.client("s3", endpoint_url=url).create_bucket(Bucket="teleopd-media", CreateBucketConfiguration={"LocationConstraint": "ap-south-1"})
        yield url
    server.stop()


def test_a_file_is_kept_once_under_the_prefix_read_back_and_deleted(endpoint: str) -> None:
    storage = S3Storage("s3://teleopd-media/up/varanasi", endpoint_url=endpoint)
    key, digest = storage.put(PHOTO)
    assert (key, digest) == content_key(PHOTO)
    assert storage.put(PHOTO) == (key, digest)
    listed = storage.client.list_objects_v2(Bucket="teleopd-media")["Contents"]
    assert [o["Key"] for o in listed] == [f"up/varanasi/{key}"]
    head = storage.client.head_object(Bucket="teleopd-media", Key=f"up/varanasi/{key}")
    assert head["ServerSideEncryption"] == "AES256"
    assert storage.get(key) == PHOTO
    storage.delete(key)
    storage.delete(key)
    assert storage.get(key) is None
    with pytest.raises(ValueError):
        storage.get("../secrets")


@pytest.mark.parametrize(("url", "bucket", "prefix"), [
    ("s3://teleopd-media", "teleopd-media", ""),
    ("s3://teleopd-media/", "teleopd-media", ""),
    ("s3://teleopd-media/a/b/", "teleopd-media", "a/b/"),
])
def test_the_url_names_a_bucket_and_a_prefix(url: str, bucket: str, prefix: str) -> None:
    assert parse_s3_url(url) == (bucket, prefix)


@pytest.mark.parametrize(("value", "ok"), [
    ("s3://teleopd-media/prefix", True),
    ("/var/lib/teleopd/media", True),
    ("s3://Bad_Bucket", False),
    ("s3://ab", False),
    ("s3://teleopd-media//x", False),
    ("https://example.org/media", False),
])
def test_the_storage_setting_is_a_folder_or_a_bucket(value: str, ok: bool) -> None:
    if ok:
        assert Settings.from_env({"TELEOPD_MEDIA_STORAGE": value}).media_storage == value
    else:
        with pytest.raises(SettingsError, match="TELEOPD_MEDIA_STORAGE"):
            Settings.from_env({"TELEOPD_MEDIA_STORAGE": value})

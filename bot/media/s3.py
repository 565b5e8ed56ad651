"""Kept files in S3-compatible object storage (TELEOPD_MEDIA_STORAGE=s3://bucket/prefix), through boto3.

For a deployment with several machines: every web and worker process reads the same bucket.
Any S3-compatible service works (AWS S3, MinIO, Ceph, a state data centre's object store):
TELEOPD_MEDIA_S3_ENDPOINT names its URL, and boto3 takes the credentials and region where it
always does (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, or an instance
role; https://boto3.amazonaws.com/v1/documentation/api/latest/guide/credentials.html). Keys are
the folder storage's (content hashes), under the prefix; objects are written with
server-side encryption asked for (AES256), as a health record should be at rest.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from bot.media.storage import check_key, content_key

# The status and error codes S3 answers for an object that is not there.
_MISSING = {"404", "NoSuchKey", "NotFound"}


def parse_s3_url(url: str) -> tuple[str, str]:
    """Return the bucket and the key prefix ("" or ending in "/") of an s3://bucket/prefix URL."""
    rest = url.removeprefix("s3://")
    bucket, _, prefix = rest.partition("/")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


class S3Storage:
    """Keeps files as objects in one bucket, under a prefix."""

    def __init__(self, url: str, endpoint_url: str | None = None, client: Any = None):
        self.bucket, self.prefix = parse_s3_url(url)
        self.client = client or boto3.client(
            "s3", endpoint_url=endpoint_url,
            config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"}),
        )

    def put(self, data: bytes) -> tuple[str, str]:
        """Store the bytes (the same bytes land on the same key); return their key and SHA-256."""
        key, digest = content_key(data)
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=data, ServerSideEncryption="AES256")
        return key, digest

    def get(self, key: str) -> bytes | None:
        """Return a stored file's bytes, or None when there is none under the key."""
        check_key(key)
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in _MISSING:
                return None
            raise
        return answer["Body"].read()  # type: ignore[no-any-return]

    def delete(self, key: str) -> None:
        """Delete a stored file (S3 answers a delete of a missing key with success too)."""
        check_key(key)
        self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)

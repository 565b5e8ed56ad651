"""Where kept files live: a folder (TELEOPD_MEDIA_STORAGE, ./media by default), or object storage (s3.py).

Files are named by the SHA-256 of their bytes, so the same photo sent twice is stored once,
and a name says nothing about whose it is. A file is written to a temporary name and moved
into place (os.replace is atomic on POSIX), so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

_KEY = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}$")


def check_key(key: str) -> str:
    """Return a storage key, or raise ValueError for anything not ours (a path someone could point elsewhere)."""
    if not _KEY.match(key):
        raise ValueError("not a storage key")
    return key


def content_key(data: bytes) -> tuple[str, str]:
    """Return the storage key and the SHA-256 (hex) of a file's bytes."""
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest[:2]}/{digest}", digest


class Storage(Protocol):
    """Where files are kept: a folder, or an S3-compatible bucket (bot/media/s3.py)."""

    def put(self, data: bytes) -> tuple[str, str]:
        """Store the bytes; return their key and SHA-256."""
        ...

    def get(self, key: str) -> bytes | None:
        """Return a stored file's bytes, or None."""
        ...

    def delete(self, key: str) -> None:
        """Delete a stored file."""
        ...


class FolderStorage:
    """Keeps files in a folder, two hex digits of fan-out deep."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    def put(self, data: bytes) -> tuple[str, str]:
        """Store the bytes (once, whoever sends them again); return their key and SHA-256."""
        key, digest = content_key(data)
        path = self._path(key)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return key, digest

    def get(self, key: str) -> bytes | None:
        """Return a stored file's bytes, or None when there is none under the key."""
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        """Delete a stored file (nothing happens when it is already gone)."""
        self._path(key).unlink(missing_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

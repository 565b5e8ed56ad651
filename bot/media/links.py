"""Signed, expiring links to a kept file, for the doctor (served by webhooks/media.py).

A link carries the file's id signed with TELEOPD_SECRET_KEY (or the key kept in the database
when it is unset, as the operators' sessions do) by itsdangerous, with the time it was made:
it opens for LINK_MAX_AGE and nobody can make one for another file.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

from itsdangerous import BadSignature, URLSafeTimedSerializer

PATH = "/media/"
SALT = "teleopd.media"
# Long enough for a doctor to look again after the consultation (follow-ups), short enough
# that a forwarded link stops working.
LINK_MAX_AGE = dt.timedelta(days=7)


class MediaLinks:
    """Makes and reads the links to kept files."""

    def __init__(self, public_url: str, key: Callable[[], str]):
        self.public_url = public_url.rstrip("/")
        self._key_source = key
        self._serializer: URLSafeTimedSerializer | None = None
        self._lock = threading.Lock()

    def ready(self) -> None:
        """Fetch the signing key now (it may be read from the database): call outside a write transaction."""
        with self._lock:
            if self._serializer is None:
                self._serializer = URLSafeTimedSerializer(self._key_source(), salt=SALT)

    def url(self, media_id: int) -> str:
        """Return the link to a kept file."""
        self.ready()
        assert self._serializer is not None
        return f"{self.public_url}{PATH}{self._serializer.dumps(media_id)}"

    def media_id(self, signed: str, max_age: dt.timedelta = LINK_MAX_AGE) -> int | None:
        """Return the id a link names, or None when it is forged, altered or too old."""
        self.ready()
        assert self._serializer is not None
        try:
            value = self._serializer.loads(signed, max_age=int(max_age.total_seconds()))
        except BadSignature:  # SignatureExpired is one
            return None
        return value if type(value) is int else None

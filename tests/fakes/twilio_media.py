"""The fake Twilio API's media: the files of inbound messages, at their media URLs.

Twilio: an inbound message's files are at
/2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}/Media/{MediaSid}, given to the webhook as
MediaUrl{N} with MediaContentType{N}; fetching one takes the account's credentials (HTTP basic
auth) when the account asks for it (https://www.twilio.com/docs/messaging/api/media-resource).
This fake always asks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MEDIA = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Messages/(MM[0-9a-f]{32})/Media/(ME[0-9a-f]{32})$")


@dataclass
class MediaStore:
    """The files on the fake, and every fetch of one (its path and whether its credentials were right)."""

    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # path → (bytes, content type)
    fetches: list[tuple[str, bool]] = field(default_factory=list)

    def add(self, base_url: str, account_sid: str, n: int, data: bytes, content_type: str) -> str:
        """Keep a file; return its media URL."""
        path = f"/2010-04-01/Accounts/{account_sid}/Messages/MM{n:032x}/Media/ME{n:032x}"
        self.files[path] = (data, content_type)
        return base_url + path

    def answer(self, path: str, authorized: bool) -> tuple[int, bytes, str] | None:
        """Return (status, body, content type) for a GET of a media path, or None when it is none."""
        if MEDIA.match(path) is None:
            return None
        self.fetches.append((path, authorized))
        if not authorized:
            return 401, b'{"code": 20003, "message": "Authenticate", "status": 401}', "application/json"
        found = self.files.get(path)
        if found is None:
            return 404, b'{"code": 20404, "message": "The requested resource was not found", "status": 404}', "application/json"
        return 200, found[0], found[1]

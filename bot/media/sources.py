"""Fetching a file from its provider: Telegram's getFile, Twilio's media URLs.

Each source reads at most max_bytes + 1 bytes, so an oversized file is refused without being
held whole; a failure is a FetchError that says whether trying again may help.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

import requests

from bot.channels.base import SendError

if TYPE_CHECKING:  # the runtime builds it only when Telegram is on: no PTB import here
    from bot.channels.telegram import TelegramChannel

# Seconds to connect, and between bytes of the answer.
HTTP_TIMEOUT_S = (5.0, 30.0)
# Telegram: "bots can download files of up to 20 MB in size" (https://core.telegram.org/bots/api#getfile).
TELEGRAM_MAX_BYTES = 20 * 1024 * 1024


class FetchError(Exception):
    """A file that could not be fetched; `retryable` says whether another try may get it."""

    def __init__(self, message: str, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


class TooBig(FetchError):
    """A file over the size limit: refused, not fetched whole."""

    def __init__(self) -> None:
        super().__init__("over the size limit", retryable=False)


class MediaSource(Protocol):
    """One provider's files."""

    def fetch(self, ref: str, max_bytes: int) -> bytes:
        """Return a file's bytes, or raise FetchError (TooBig when it is over max_bytes)."""
        ...


class TelegramFiles:
    """Telegram files through python-telegram-bot: getFile, then the file's download URL."""

    def __init__(self, channel: TelegramChannel):
        self.channel = channel

    def fetch(self, ref: str, max_bytes: int) -> bytes:
        """Return the bytes of the file with this file_id."""

        async def download(bot):  # type: ignore[no-untyped-def]
            file = await bot.get_file(ref)
            if file.file_size is not None and file.file_size > max_bytes:
                raise TooBig()
            return bytes(await file.download_as_bytearray())

        try:
            data = self.channel.run(download)
        except SendError as exc:  # a bad request ("wrong file_id") is permanent, a timeout is not
            raise FetchError(f"Telegram: {type(exc).__name__} {exc.code or ''}", retryable=exc.retryable) from None
        if len(data) > max_bytes:
            raise TooBig()
        return data


class TwilioMedia:
    """Twilio media URLs, fetched with the account's credentials (HTTP basic auth).

    Twilio: media URLs need basic auth when the account enforces it, and answer with a
    redirect to the file (https://www.twilio.com/docs/messaging/api/media-resource); requests
    drops the Authorization header when it follows a redirect to another host. Only URLs on
    the configured API host are fetched: a URL is never a way to make us call elsewhere.
    """

    def __init__(self, account_sid: str, auth_token: str, api_url: str = "https://api.twilio.com"):
        self.auth = (account_sid, auth_token)
        self.host = urlsplit(api_url).netloc.lower()
        self.session = requests.Session()

    def fetch(self, ref: str, max_bytes: int) -> bytes:
        """Return the bytes at a MediaUrl."""
        parts = urlsplit(ref)
        if parts.netloc.lower() != self.host or parts.scheme not in ("https", "http"):
            raise FetchError("a media URL off the Twilio API's host", retryable=False)
        try:
            with self.session.get(ref, auth=self.auth, timeout=HTTP_TIMEOUT_S, stream=True) as answer:
                if answer.status_code in (401, 403, 404):
                    raise FetchError(f"Twilio answered {answer.status_code}", retryable=False)
                if answer.status_code != 200:
                    raise FetchError(f"Twilio answered {answer.status_code}")
                declared = answer.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise TooBig()
                data = bytearray()
                for chunk in answer.iter_content(64 * 1024):
                    data += chunk
                    if len(data) > max_bytes:
                        raise TooBig()
                return bytes(data)
        except requests.RequestException as exc:
            raise FetchError(f"Twilio media: {type(exc).__name__}") from None

"""Documents that go with outbox messages, made when the message is sent: a consultation's
e-prescription, or a patient's photo, PDF or voice note forwarded to their doctor.

A payload names its document (flows/messages.py Attachment); the worker asks `documents`
for it while translating the row. The bytes are read or made only if the channel uploads
them (Telegram); Twilio fetches the signed link itself (webhooks/prescriptions.py,
webhooks/media.py), and the web chat and SMS show the link.

A patient's file erased since the message was queued (its row deleted, or marked erased)
is not sent: the message goes without it (`None`), as the text it always was. A
prescription that is gone is a message not to send at all (DocumentGone): its whole point
was the document.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.channels.base import OutgoingDocument
from bot.media.links import MediaLinks
from bot.media.storage import Storage
from bot.services.prescriptions import PRESCRIPTION, Prescriptions
from bot.store.db import Database
from bot.store.models import MediaItem, MediaStatus
from flows.steps.media import MEDIA  # a patient's kept file: ref is the media row's id

# What a forwarded file is called where the channel shows a name (Telegram's documents).
_EXTENSIONS = {
    "image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "application/pdf": ".pdf",
    "audio/ogg": ".ogg", "audio/amr": ".amr", "audio/mp4": ".m4a",
}


class DocumentGone(LookupError):
    """The document's record is not there (the patient was erased, the consultation is not done): nothing to send."""


@dataclass(frozen=True)
class KeptFile:
    """A stored patient's file, as the outbox needs it."""

    id: int
    kind: str  # photo, document, voice
    mime: str  # as its bytes were checked to be (bot/media/checks.py)
    storage_key: str
    size: int | None = None  # bytes


class KeptFiles:
    """Finds a patient's stored files, and reads their bytes, for the worker."""

    def __init__(self, db: Database, storage: Storage, links: MediaLinks):
        self.db = db
        self.storage = storage
        self.links = links

    def __call__(self, media_id: int) -> KeptFile | None:
        """Return a stored file, or None when it is not (yet, or any more) kept."""
        with self.db.read() as session:
            item = session.get(MediaItem, media_id)
            if item is None or item.status != MediaStatus.STORED or not item.storage_key:
                return None
            return KeptFile(item.id, item.kind, item.mime or "", item.storage_key, item.size)

    def content(self, file: KeptFile) -> bytes:
        """Return a file's bytes; raise DocumentGone if it was deleted since it was found."""
        data = self.storage.get(file.storage_key)
        if data is None:
            raise DocumentGone(f"media {file.id} is no longer stored")
        return data


class Documents:
    """Makes the document an outbox payload names, for the worker."""

    def __init__(self, prescriptions: Prescriptions, files: KeptFiles | None = None):
        self.prescriptions = prescriptions
        self.files = files

    def __call__(self, attachment: Mapping[str, object], lang: str) -> OutgoingDocument | None:
        """Return the document of an attachment in a language (None: a file erased since); raise DocumentGone or ValueError."""
        kind, ref = attachment.get("kind"), attachment.get("ref")
        if not isinstance(ref, int):
            raise ValueError(f"no such document: {kind!r} {ref!r}")
        if kind == MEDIA:
            return self._media(ref)
        if kind != PRESCRIPTION:
            raise ValueError(f"no such document: {kind!r}")
        facts = self.prescriptions.facts(ref)
        if facts is None:
            raise DocumentGone(f"consultation {ref} has no prescription")
        return OutgoingDocument(
            filename=self.prescriptions.filename(facts),
            url=self.prescriptions.link(ref, lang),
            content=lambda: self.prescriptions.pdf(facts, lang),
        )

    def _media(self, media_id: int) -> OutgoingDocument | None:
        files = self.files
        if files is None:
            raise ValueError("this worker forwards no patients' files (media is off)")
        file = files(media_id)
        if file is None:
            return None  # erased (or never stored): the text goes on its own
        content: Callable[[], bytes] = lambda: files.content(file)  # noqa: E731
        return OutgoingDocument(
            filename=f"{file.kind}-{file.id}{_EXTENSIONS.get(file.mime, '')}",
            url=files.links.url(file.id),
            content=content,
            mime_type=file.mime,
            media_kind=file.kind,
            size=file.size,
        )

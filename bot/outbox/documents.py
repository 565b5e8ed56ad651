"""Documents that go with outbox messages, made when the message is sent: a consultation's e-prescription.

A payload names its document (flows/messages.py Attachment); the worker asks `documents`
for it while translating the row. The PDF's bytes are made only if the channel uploads them
(Telegram); Twilio fetches the signed link itself (webhooks/prescriptions.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.channels.base import OutgoingDocument
from bot.services.prescriptions import PRESCRIPTION, Prescriptions


class DocumentGone(LookupError):
    """The document's record is not there (the patient was erased, the consultation is not done): nothing to send."""


class Documents:
    """Makes the document an outbox payload names, for the worker."""

    def __init__(self, prescriptions: Prescriptions):
        self.prescriptions = prescriptions

    def __call__(self, attachment: Mapping[str, object], lang: str) -> OutgoingDocument:
        """Return the document of an attachment in a language; raise DocumentGone or ValueError."""
        kind, ref = attachment.get("kind"), attachment.get("ref")
        if kind != PRESCRIPTION or not isinstance(ref, int):
            raise ValueError(f"no such document: {kind!r}")
        facts = self.prescriptions.facts(ref)
        if facts is None:
            raise DocumentGone(f"consultation {ref} has no prescription")
        return OutgoingDocument(
            filename=self.prescriptions.filename(facts),
            url=self.prescriptions.link(ref, lang),
            content=lambda: self.prescriptions.pdf(facts, lang),
        )

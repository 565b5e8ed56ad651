"""A patient's file forwarded to the doctor: what the outbox makes of the notice, per kind.

The notice (flows/steps/media.py arrived) names the file; the worker's Documents
(bot/outbox/documents.py) finds it in storage when the message goes: a photo, a PDF and a
voice note each become an OutgoingDocument of their type, which Telegram uploads by the
method that shows it (sendPhoto, sendVoice…), and whose signed link WhatsApp's MediaUrl and
the text carry. A file erased meanwhile is not sent, and the message goes without it. The web
desk's JSON marks only this server's /media/ links for showing inline.
One small SQLite database and storage folder for the module.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.channels.base import OutgoingDocument
from bot.channels.local import ShownMessage, shown_media
from bot.channels.telegram.send import _upload_method
from bot.channels.twilio import whatsapp_can_fetch
from bot.media.links import MediaLinks
from bot.media.storage import FolderStorage
from bot.outbox.documents import Documents, KeptFiles
from bot.outbox.payloads import translate
from bot.services.prescriptions import Prescriptions
from bot.store.db import Database
from bot.store.models import MediaItem, MediaStatus
from flows.messages import Attachment, reply_to_json
from flows.steps.media import MEDIA, arrived

PUBLIC = "https://teleopd.example.org"
JPEG = b"\xff\xd8\xff\xe0" + b"a rash" * 20
PDF = b"%PDF-1.4\n" + b"a report" * 20
OGG = b"OggS\x00\x02" + b"a voice note" * 20
LANGUAGES = ("en", "hi", "hi-Latn")


@pytest.fixture(scope="module")
def kept(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory, catalogs) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """A database with a stored photo, PDF and voice note, an erased file and one still pending."""
    folder = tmp_path_factory.mktemp("forward")
    shutil.copy(sqlite_template, folder / "teleopd.db")
    db = Database(f"sqlite:///{folder / 'teleopd.db'}")
    storage = FolderStorage(folder / "files")
    links = MediaLinks(PUBLIC, lambda: "a test signing key")
    ids: dict[str, int] = {}
    with db.write() as session:
        for name, kind, data, mime, status in (
            ("photo", "photo", JPEG, "image/jpeg", MediaStatus.STORED),
            ("pdf", "document", PDF, "application/pdf", MediaStatus.STORED),
            ("voice", "voice", OGG, "audio/ogg", MediaStatus.STORED),
            ("erased", "photo", JPEG, "image/jpeg", MediaStatus.ERASED),
            ("pending", "photo", b"", "", MediaStatus.PENDING),
        ):
            key = storage.put(data)[0] if data else None
            item = MediaItem(channel="telegram", kind=kind, mime=mime, storage_key=key, provider_key=name.ljust(64, "0"),
                             status=status, due_at=dt.datetime(2026, 12, 7, tzinfo=dt.UTC))
            session.add(item)
            session.flush()
            ids[name] = item.id
    documents = Documents(Prescriptions(db, catalogs, PUBLIC, "a test key"), KeptFiles(db, storage, links))
    yield {"documents": documents, "ids": ids, "links": links}
    db.dispose()


@pytest.mark.parametrize(("name", "mime", "data", "method"), [
    ("photo", "image/jpeg", JPEG, "send_photo"),
    ("pdf", "application/pdf", PDF, "send_document"),
    ("voice", "audio/ogg", OGG, "send_voice"),
])
def test_each_kind_of_file_becomes_the_document_its_channel_shows(kept: dict[str, Any], name: str, mime: str, data: bytes,
                                                                   method: str) -> None:
    media_id = kept["ids"][name]
    document = kept["documents"]({"kind": MEDIA, "ref": media_id}, "en")
    assert isinstance(document, OutgoingDocument)
    assert (document.mime_type, document.content()) == (mime, data)
    assert document.url.startswith(PUBLIC + "/media/") and kept["links"].media_id(document.url.rpartition("/")[2]) == media_id
    assert _upload_method(document, len(data))[0] == method


@pytest.mark.parametrize("name", ["erased", "pending", "missing"])
def test_a_file_not_kept_is_not_sent_and_the_message_still_goes(kept: dict[str, Any], name: str) -> None:
    assert kept["documents"]({"kind": MEDIA, "ref": kept["ids"].get(name, 10**9)}, "en") is None


def test_telegram_sends_big_photos_and_other_audio_as_they_show_best() -> None:
    def doc(kind: str, mime: str) -> OutgoingDocument:
        return OutgoingDocument("f", "u", lambda: b"", mime_type=mime, media_kind=kind)

    assert _upload_method(doc("photo", "image/png"), 11 * 1024 * 1024)[0] == "send_document"  # sendPhoto: 10 MB at most
    assert _upload_method(doc("document", "image/jpeg"), 100)[0] == "send_document"  # a photo sent as a file stays one
    assert _upload_method(doc("voice", "audio/mp4"), 100)[0] == "send_audio"
    assert _upload_method(doc("voice", "audio/amr"), 100)[0] == "send_document"  # sendAudio plays MP3 and M4A only
    assert _upload_method(OutgoingDocument("rx.pdf", "u", lambda: b""), 100)[0] == "send_document"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_notice_names_the_file_and_carries_its_link(kept: dict[str, Any], catalogs, lang: str) -> None:  # type: ignore[no-untyped-def]
    media_id = kept["ids"]["photo"]
    reply = arrived(12, "photo", "https://old.example/stale", media_id)
    assert reply.attachment == Attachment(MEDIA, media_id) and reply.kind == "push"
    document = kept["documents"]({"kind": MEDIA, "ref": media_id}, lang)
    message = translate(catalogs, reply_to_json(reply), lang, document=document)
    # The link made at sending time, in the caption Telegram shows and the text SMS and the web chat show.
    assert document.url in message.text and "stale" not in message.text and "12" in message.text
    assert message.to_json()["media"] == {"kind": "photo", "type": "image/jpeg", "url": document.url}
    # Erased since: the text as it was queued, with no file.
    alone = translate(catalogs, reply_to_json(reply), lang, document=None)
    assert "https://old.example/stale" in alone.text and "media" not in alone.to_json()


@pytest.mark.parametrize(("media", "shown"), [
    ({"kind": "photo", "type": "image/jpeg", "url": PUBLIC + "/media/abc.def"}, True),
    ({"kind": "voice", "type": "audio/ogg", "url": "/media/abc.def"}, True),  # no TELEOPD_PUBLIC_URL: the page's own origin
    ({"kind": "document", "type": "image/png", "url": "/media/abc.def"}, True),  # a photo sent as a file
    ({"kind": "photo", "type": "image/jpeg", "url": "https://evil.example/media/../x.png?a=1"}, False),
    ({"kind": "photo", "type": "image/jpeg", "url": "https://evil.example/phish.png"}, False),
    ({"kind": "photo", "type": "image/jpeg", "url": "javascript:alert(1)//media/"}, False),
    ({"kind": "photo", "type": "text/html", "url": PUBLIC + "/media/abc.def"}, False),
    ({"kind": "video", "type": "video/mp4", "url": PUBLIC + "/media/abc.def"}, False),
    ("https://teleopd.example.org/media/abc", False),
])
def test_the_web_chat_marks_only_this_servers_media_links(media: object, shown: bool) -> None:
    marked = shown_media({"text": "Token 1", "media": media})
    assert (marked is not None) is shown
    message = ShownMessage(1, "Token 1", (), dt.datetime(2026, 12, 7, tzinfo=dt.UTC), media=marked).to_json()
    assert ("media" in message) is shown


@pytest.mark.parametrize(("url", "mime", "size", "fetched"), [
    ("https://opd.example.gov.in/media/x", "image/jpeg", 4 * 1024 * 1024, True),
    ("https://opd.example.gov.in/media/x", "image/jpeg", 6 * 1024 * 1024, False),  # over WhatsApp's 5 MB for images
    ("https://opd.example.gov.in/media/x", "audio/ogg", 6 * 1024 * 1024, True),
    ("https://opd.example.gov.in/rx/x", "application/pdf", None, True),  # an e-prescription: its size is not known before it is drawn
    ("/media/x", "image/jpeg", 1024, False),  # no TELEOPD_PUBLIC_URL: a path Twilio cannot fetch
])
def test_whatsapp_gets_a_file_only_where_twilio_can_fetch_it(url: str, mime: str, size: int | None, fetched: bool) -> None:
    document = OutgoingDocument("f", url, lambda: b"", mime_type=mime, size=size)
    assert whatsapp_can_fetch(document) is fetched

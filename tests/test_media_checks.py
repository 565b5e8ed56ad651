"""Media checks without a database: magic bytes against each kind, the size limit, the folder
storage (content keys, stored once, deleted, no path escapes), the signed links, and what the
channels parse out of a Telegram update and a Twilio form.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bot.channels.base import DOCUMENT, PHOTO, VOICE, MediaRef
from bot.channels.telegram.parse import parse_update
from bot.channels.telegram.send import file_base_url
from bot.channels.twilio import parse_inbound
from bot.media.checks import check, sniff
from bot.media.links import MediaLinks
from bot.media.storage import FolderStorage, content_key

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 50
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 50
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 40
PDF = b"%PDF-1.7\n" + b"\x00" * 50
OGG = b"OggS\x00\x02" + b"\x00" * 50
AMR = b"#!AMR\n" + b"\x00" * 50
M4A = b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00" + b"\x00" * 40
MP4_VIDEO = b"\x00\x00\x00\x20ftypavc1\x00\x00\x00\x00" + b"\x00" * 40
EXE = b"MZ\x90\x00" + b"\x00" * 60
HTML = b"<html><script>alert(1)</script></html>"
ZIP = b"PK\x03\x04" + b"\x00" * 60

CASES = [
    # label, kind, bytes, verdict: a media type kept, or why not
    ("jpeg photo", PHOTO, JPEG, "image/jpeg"),
    ("png photo", PHOTO, PNG, "image/png"),
    ("webp photo", PHOTO, WEBP, "image/webp"),
    ("pdf as a photo", PHOTO, PDF, "wrong_type"),
    ("a program named photo.jpg", PHOTO, EXE, "wrong_type"),
    ("html as a photo", PHOTO, HTML, "wrong_type"),
    ("pdf document", DOCUMENT, PDF, "application/pdf"),
    ("photo sent as a file", DOCUMENT, JPEG, "image/jpeg"),
    ("zip as a document", DOCUMENT, ZIP, "wrong_type"),
    ("ogg/opus voice note", VOICE, OGG, "audio/ogg"),
    ("amr voice note", VOICE, AMR, "audio/amr"),
    ("m4a voice note", VOICE, M4A, "audio/mp4"),
    ("a video as a voice note", VOICE, MP4_VIDEO, "wrong_type"),
    ("a photo as a voice note", VOICE, JPEG, "wrong_type"),
    ("empty", PHOTO, b"", "wrong_type"),
    ("one byte over the limit", PHOTO, JPEG + b"\x00" * (1000 - len(JPEG) + 1), "too_big"),
    ("at the limit", PHOTO, JPEG + b"\x00" * (1000 - len(JPEG)), "image/jpeg"),
]


@pytest.mark.parametrize(("label", "kind", "data", "expected"), CASES, ids=[c[0] for c in CASES])
def test_the_bytes_decide_not_the_declared_type(label: str, kind: str, data: bytes, expected: str) -> None:
    verdict = check(kind, data, max_bytes=1000)
    assert (verdict.mime or verdict.refused) == expected
    assert (verdict.mime is None) == (verdict.refused is not None)


def test_sniff_knows_nothing_else() -> None:
    assert [sniff(b) for b in (EXE, HTML, ZIP, b"RIFF\x00\x00\x00\x00WAVE")] == [None] * 4


def test_folder_storage_keeps_a_file_once_by_its_content_and_deletes_it(tmp_path) -> None:
    storage = FolderStorage(tmp_path / "media")
    key, digest = storage.put(JPEG)
    assert (key, digest) == content_key(JPEG) and key == f"{digest[:2]}/{digest}"
    assert storage.put(JPEG) == (key, digest)  # the same photo twice: one file
    assert storage.get(key) == JPEG
    assert [p.name for p in (tmp_path / "media").rglob("*") if p.is_file()] == [digest]  # no temporary left behind
    storage.delete(key)
    storage.delete(key)  # gone already: nothing happens
    assert storage.get(key) is None


@pytest.mark.parametrize("key", ["../../etc/passwd", "/etc/passwd", "ab/../../x", "AB/" + "A" * 64, ""])
def test_folder_storage_refuses_a_key_that_is_not_its_own(tmp_path, key: str) -> None:
    with pytest.raises(ValueError):
        FolderStorage(tmp_path).get(key)


def test_links_are_signed_expire_and_name_one_file() -> None:
    links = MediaLinks("https://teleopd.example.org/", lambda: "k" * 43)
    url = links.url(42)
    assert url.startswith("https://teleopd.example.org/media/")
    signed = url.rsplit("/", 1)[1]
    assert links.media_id(signed) == 42
    assert links.media_id(signed[:-2] + ("AA" if not signed.endswith("AA") else "BB")) is None  # altered
    assert MediaLinks("", lambda: "x" * 43).media_id(signed) is None  # another key
    # Made "now" and read with a negative age limit: as a week-old link is read with a week's.
    assert links.media_id(signed, max_age=dt.timedelta(seconds=-1)) is None  # expired


def _telegram(message: dict) -> dict:
    return {"update_id": 9001, "message": {"message_id": 1, "date": 1764000000, "chat": {"id": 555, "type": "private"},
                                           "from": {"id": 555, "is_bot": False, "first_name": "S"}, **message}}


def test_telegram_photo_voice_and_document_carry_their_file() -> None:
    photo = parse_update(_telegram({"caption": "rash", "photo": [
        {"file_id": "small", "file_unique_id": "u-small", "width": 90, "height": 90, "file_size": 1000},
        {"file_id": "big", "file_unique_id": "u-big", "width": 1280, "height": 960, "file_size": 90000},
    ]}))
    assert photo.text == "rash" and photo.kind == "photo"
    assert photo.media == (MediaRef(PHOTO, "big", "u-big", "image/jpeg", 90000),)
    voice = parse_update(_telegram({"voice": {"file_id": "v1", "file_unique_id": "uv1", "duration": 4, "mime_type": "audio/ogg", "file_size": 7000}}))
    assert voice.media == (MediaRef(VOICE, "v1", "uv1", "audio/ogg", 7000),)
    document = parse_update(_telegram({"document": {"file_id": "d1", "file_unique_id": "ud1", "mime_type": "application/pdf"}}))
    assert document.media == (MediaRef(DOCUMENT, "d1", "ud1", "application/pdf", None),)
    sticker = parse_update(_telegram({"sticker": {"file_id": "s", "file_unique_id": "us", "type": "regular", "width": 1, "height": 1,
                                                  "is_animated": False, "is_video": False}}))
    assert sticker.kind == "sticker" and sticker.media == ()


def test_twilio_media_urls_become_files_and_other_types_none() -> None:
    form = {
        "MessageSid": "MM" + "a" * 32, "From": "whatsapp:+919876543210", "Body": "", "NumMedia": "3",
        "MediaUrl0": "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", "MediaContentType0": "audio/ogg",
        "MediaUrl1": "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2", "MediaContentType1": "video/mp4",
        "MediaUrl2": "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME3", "MediaContentType2": "image/jpeg",
    }
    message = parse_inbound("whatsapp", form)
    assert message.kind == "media"
    assert [(m.kind, m.ref.rsplit("/", 1)[1], m.mime) for m in message.media] == [(VOICE, "ME1", "audio/ogg"), (PHOTO, "ME3", "image/jpeg")]


@pytest.mark.parametrize(("api", "files"), [
    ("https://api.telegram.org/bot", "https://api.telegram.org/file/bot"),
    ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/file/bot"),
])
def test_telegram_files_are_fetched_beside_the_api(api: str, files: str) -> None:
    assert file_base_url(api) == files

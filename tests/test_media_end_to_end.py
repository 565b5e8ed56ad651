"""Media in, against the fakes: a Telegram photo and a WhatsApp voice note reach the doctor's desk.

One service (Telegram and WhatsApp on, pointed at tests/fakes) and one database for the whole
module, in order: a doctor on Telegram, a Telegram patient and a WhatsApp patient registered
and booked. The Telegram patient's photo comes through the webhook, is fetched by the media
fetcher through getFile, stored and listed with a signed link in the doctor's summary; a
second photo during the consultation is forwarded to the doctor's Telegram desk. The WhatsApp
patient's voice note comes through the signed webhook, is fetched from the fake's media URL
with the account's credentials and forwarded too. A file whose bytes are no photo is refused
with a reply to the patient, a provider's retry is kept once, and erasure removes the files.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select, update
from twilio.request_validator import RequestValidator

from bot.channels.base import InboundMessage
from bot.outbox.payloads import translate
from bot.platform.config import Settings
from bot.runtime import Services, build_services
from bot.services.erasure import erase_identity
from bot.store.db import Database
from bot.store.models import (
    Identity,
    MediaItem,
    MediaStatus,
    OutboxMessage,
    OutboxStatus,
    utcnow,
)
from tests.doctor_helpers import (
    ANSWERS,
    COMPLAINT,
    OPEN,
    REGISTER,
    add_doctor_code,
    step_of,
    tokens_of,
)
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.telegram_helpers import deliver
from webhooks import create_app

TOKEN = "123456:" + "M" * 35
SECRET = "media-webhook-secret"
SID = "AC" + "4" * 32
AUTH = "5" * 32
PUBLIC = "https://teleopd.example.org"
WA_FROM = "whatsapp:+14155238886"
DOCTOR, PATIENT = 6660001, 6660002
WHATSAPP = "whatsapp:+919812300077"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
JPEG_2 = b"\xff\xd8\xff\xe1" + b"second photo" * 40
OGG = b"OggS\x00\x02" + b"opus voice note" * 50
NOT_A_PHOTO = b"MZ\x90\x00this program says it is a photo" * 10
_ids = itertools.count(50_000)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(sqlite_demo_template: Path, tmp_path_factory: pytest.TempPathFactory, catalogs) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Start the fakes and the service once, with a doctor and two patients booked."""
    folder = tmp_path_factory.mktemp("media")
    db_path = folder / "teleopd.db"
    db_path.write_bytes(sqlite_demo_template.read_bytes())
    db = Database(f"sqlite:///{db_path}")
    with FakeTelegram() as telegram, FakeTwilio(SID, AUTH) as twilio:
        settings = Settings(
            database_url=db.url, public_url=PUBLIC, inbound_per_minute=1000,
            telegram_token=TOKEN, telegram_secret=SECRET, telegram_api_url=telegram.base_url,
            twilio_account_sid=SID, twilio_auth_token=AUTH, twilio_whatsapp_from=WA_FROM, twilio_api_url=twilio.url,
            twilio_whatsapp_mps=1000, media_storage=str(folder / "files"), media_max_per_visit=4,
        )
        services = build_services(settings, db=db, catalogs=catalogs)
        world = {"services": services, "telegram": telegram, "twilio": twilio, "client": create_app(services=services).test_client(),
                 "files": folder / "files"}
        _say(services, "telegram", str(DOCTOR), *OPEN["en"], f"enroll {add_doctor_code(services)}")
        _register_and_book(services, "telegram", str(PATIENT))
        _register_and_book(services, "whatsapp", WHATSAPP)
        with db.write() as session:
            # Registering and booking are other tests' business: their dozens of replies are not
            # sent through the fakes here (Telegram paces a chat at one message a second).
            session.execute(update(OutboxMessage).values(status=OutboxStatus.SENT))
        yield world
        services.close()


def _say(services: Services, channel: str, address: str, *lines: str) -> None:
    for line in lines:
        phone = address.removeprefix("whatsapp:") if channel == "whatsapp" else None
        services.dispatcher.dispatch(InboundMessage(channel, address, f"e2e-{next(_ids)}", text=line, channel_phone=phone))


def _register_and_book(services: Services, channel: str, address: str) -> None:
    _say(services, channel, address, *OPEN["en"], *(line.format(name="Sunita Devi") for line in REGISTER["en"]), COMPLAINT["en"])
    answers = {**ANSWERS["en"], "opd_pick": "GEN24", "opd_suggest": "1"}
    while (step := step_of(services, address)) != "menu":
        _say(services, channel, address, answers[step])
    assert tokens_of(services, address)


def _replies(services: Services, address: str, after: int = 0) -> list[str]:
    """Return the English texts queued for an address after an outbox id."""
    with services.db.read() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.address == address, OutboxMessage.id > after).order_by(OutboxMessage.id))
        return [str(translate(services.catalogs, row.payload, "en").text) for row in rows if row.kind != "ack"]


def _last_outbox_id(services: Services) -> int:
    with services.db.read() as session:
        return session.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).limit(1)) or 0


def _media(services: Services) -> list[MediaItem]:
    with services.db.read() as session:
        return list(session.scalars(select(MediaItem).order_by(MediaItem.id)))


def _telegram_photo(world: dict[str, Any], data: bytes, caption: str | None = None, update_id: int | None = None,
                    file: tuple[str, str] | None = None) -> tuple[int, int]:
    file_id, unique = file or world["telegram"].add_file(data)
    update_id = update_id or next(_ids)
    message = {"message_id": update_id, "date": 1764000000, "chat": {"id": PATIENT, "type": "private"},
               "from": {"id": PATIENT, "is_bot": False, "first_name": "Sunita"},
               "photo": [{"file_id": file_id, "file_unique_id": unique, "width": 800, "height": 600, "file_size": len(data)}],
               **({"caption": caption} if caption else {})}
    body = json.dumps({"update_id": update_id, "message": message})
    answer = world["client"].post("/webhooks/telegram", data=body, content_type="application/json",
                                  headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    return answer.status_code, update_id


def _whatsapp_file(world: dict[str, Any], data: bytes, content_type: str) -> int:
    url = world["twilio"].add_media(data, content_type)
    sid = f"MM{next(_ids):032x}"
    form = {"MessageSid": sid, "SmsSid": sid, "AccountSid": SID, "From": WHATSAPP, "To": WA_FROM, "Body": "",
            "NumMedia": "1", "MediaUrl0": url, "MediaContentType0": content_type}
    path = "/webhooks/twilio/whatsapp"
    signature = RequestValidator(AUTH).compute_signature(PUBLIC + path, form)
    answer = world["client"].post(path, data=urlencode(form), content_type="application/x-www-form-urlencoded",
                                  headers={"X-Twilio-Signature": signature}, base_url=PUBLIC)
    return answer.status_code


def _link_in(text: str) -> str:
    return next(word for word in text.split() if word.startswith(PUBLIC + "/media/"))


def test_a_telegram_photo_reaches_the_doctor(world: dict[str, Any]) -> None:
    services, client = world["services"], world["client"]
    before = _last_outbox_id(services)
    status, update_id = _telegram_photo(world, JPEG)
    assert status == 200
    assert "The doctor will see your photo when they call you." in _replies(services, str(PATIENT), before)
    # The webhook only recorded it; a provider's retry of the same update adds nothing.
    assert _telegram_photo(world, JPEG, update_id=update_id)[0] == 200
    # And the same file sent again (Telegram's file_unique_id) from this chat is kept once.
    file_id, unique = next((f, u) for f, (u, _p, d) in world["telegram"]._files.items() if d == JPEG)
    assert _telegram_photo(world, JPEG, file=(file_id, unique))[0] == 200
    assert [(m.kind, m.status) for m in _media(services)] == [("photo", MediaStatus.PENDING)]
    assert world["telegram"].requests("getFile") == []

    assert services.media is not None and services.media.drain() >= 1
    [item] = _media(services)
    assert item.status == MediaStatus.STORED and item.mime == "image/jpeg" and item.size == len(JPEG)
    assert (world["files"] / item.storage_key).read_bytes() == JPEG

    # The doctor calls the patient: the summary lists the photo with a link that opens it.
    before = _last_outbox_id(services)
    _say(services, "telegram", str(DOCTOR), "next")
    [line] = [text for text in _replies(services, str(DOCTOR), before) if text.startswith("From the patient:")]
    assert "1 photo" in line
    answer = client.get(_link_in(line).removeprefix(PUBLIC), base_url=PUBLIC)
    assert answer.status_code == 200 and answer.data == JPEG and answer.mimetype == "image/jpeg"
    assert answer.headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in answer.headers["Content-Security-Policy"]
    assert client.get(_link_in(line).removeprefix(PUBLIC)[:-3] + "xyz", base_url=PUBLIC).status_code == 404

    # During the consultation a second photo is forwarded to the doctor's Telegram desk.
    before = _last_outbox_id(services)
    assert _telegram_photo(world, JPEG_2, caption="it itches more today")[0] == 200
    assert "I have sent your photo to the doctor." in _replies(services, str(PATIENT), before)
    services.media.drain()
    deliver(services)
    forwarded = [m["text"] for m in world["telegram"].sent(DOCTOR) if "your patient sent a photo" in m["text"]]
    assert len(forwarded) == 1
    assert client.get(_link_in(forwarded[0]).removeprefix(PUBLIC), base_url=PUBLIC).data == JPEG_2
    _say(services, "telegram", str(DOCTOR), "done")


def test_a_whatsapp_voice_note_reaches_the_doctor(world: dict[str, Any]) -> None:
    services, twilio = world["services"], world["twilio"]
    _say(services, "telegram", str(DOCTOR), "next")  # the WhatsApp patient's turn
    before = _last_outbox_id(services)
    assert _whatsapp_file(world, OGG, "audio/ogg") == 200
    [reply] = [t for t in _replies(services, WHATSAPP, before) if "voice note" in t]
    assert reply.startswith("The doctor will hear your voice note.") and "108" in reply
    assert services.media is not None and services.media.drain() >= 1
    # Fetched once, with the account's credentials (the fake refuses a fetch without them).
    assert [authorized for _path, authorized in twilio.media_fetches()] == [True]
    voice = _media(services)[-1]
    assert (voice.kind, voice.status, voice.mime) == ("voice", MediaStatus.STORED, "audio/ogg")
    deliver(services)
    forwarded = [m["text"] for m in world["telegram"].sent(DOCTOR) if "your patient sent a voice note" in m["text"]]
    assert len(forwarded) == 1
    answer = world["client"].get(_link_in(forwarded[0]).removeprefix(PUBLIC), base_url=PUBLIC)
    assert answer.data == OGG and answer.mimetype == "audio/ogg"


def test_a_file_that_is_not_what_it_says_is_refused_with_a_reply(world: dict[str, Any]) -> None:
    services = world["services"]
    before = _last_outbox_id(services)
    assert _whatsapp_file(world, NOT_A_PHOTO, "image/jpeg") == 200
    assert services.media is not None and services.media.drain() >= 1
    refused = _media(services)[-1]
    assert (refused.status, refused.storage_key, refused.error) == (MediaStatus.REFUSED, None, "wrong_type")
    assert any(text.startswith("I could not keep your file") for text in _replies(services, WHATSAPP, before))
    assert NOT_A_PHOTO not in [p.read_bytes() for p in world["files"].rglob("*") if p.is_file()]


def test_a_fetch_that_fails_is_tried_again_later(world: dict[str, Any]) -> None:
    services, telegram = world["services"], world["telegram"]
    telegram.fail_next(1, status=502, methods=("getFile",))
    before = _last_outbox_id(services)
    assert _telegram_photo(world, JPEG_2 + b"later")[0] == 200
    # No token now: kept for the next one the patient books.
    assert "I have kept your photo. The doctor will see it when you book a token." in _replies(services, str(PATIENT), before)
    assert services.media is not None
    services.media.drain()
    photo = _media(services)[-1]
    assert (photo.status, photo.attempts, photo.token_id) == (MediaStatus.PENDING, 1, None) and photo.error
    services.media.clock = lambda: utcnow() + dt.timedelta(minutes=1)
    services.media.drain()
    assert _media(services)[-1].status == MediaStatus.STORED
    services.media.clock = utcnow


def test_erasure_removes_the_files_and_rows(world: dict[str, Any]) -> None:
    services = world["services"]
    kept = [m.storage_key for m in _media(services) if m.status == MediaStatus.STORED]
    assert len(kept) == 4
    with services.db.write() as session:
        for address in (str(PATIENT), WHATSAPP):
            identity = session.scalars(select(Identity).where(Identity.address == address)).one()
            erase_identity(session, identity, utcnow())
    assert {m.status for m in _media(services)} == {MediaStatus.ERASED}
    assert services.media is not None
    services.media.run_once()
    assert _media(services) == []
    assert [p for p in world["files"].rglob("*") if p.is_file()] == []

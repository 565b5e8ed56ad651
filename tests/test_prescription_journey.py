"""The e-prescription end to end: a doctor's DONE, the PDF on Telegram and WhatsApp, the link on SMS and in the chat.

One consultation is held once for the module (a doctor and a Hindi-speaking patient on the
local chat, the real dispatcher and worker; a private note among the advice). Its
prescription then goes out through the outbox as the flow queues it, to the patient's
Telegram chat, WhatsApp and SMS, against the fake Telegram and Twilio APIs through their real
client libraries: Telegram gets the PDF uploaded (sendDocument), WhatsApp a MediaUrl, SMS the
link in its text. The link, fetched from the web app, is the PDF, whose text extracts as the
advice in Devanagari; an altered, expired or unknown link gets a kind page.
"""

from __future__ import annotations

import dataclasses
import io
import shutil
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pypdf
import pytest
from itsdangerous import TimestampSigner

import webhooks
from bot.outbox.enqueue import enqueue
from bot.platform.config import Settings
from bot.platform.i18n import Catalogs
from bot.runtime import Services, build_services
from bot.services.doctor_details import set_details
from bot.services.erasure import erase_person
from bot.services.identities import ensure_identity
from bot.services.prescriptions import LINK_MAX_AGE, LINK_SALT
from bot.store.db import Database
from bot.store.models import Consultation, OutboxMessage, OutboxStatus, Person, utcnow
from flows.messages import reply_to_json
from flows.steps import visit
from tests.doctor_helpers import (
    DOCTOR,
    NAMES,
    WORDS,
    book,
    consultations,
    enrolled_doctor,
    registered,
)
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

PUBLIC = "https://teleopd.example.org"
TELEGRAM_TOKEN = "123456:" + "R" * 35
SID, AUTH = "AC" + "7" * 32, "8" * 32
WA_FROM, SMS_FROM = "whatsapp:+14155238886", "+15005550006"
CHAT, WHATSAPP, PHONE = "5551234", "whatsapp:+919812300011", "+919812300011"
ADVICE = ("किसी भी दिन स्वास्थ्य बिगड़े तो तुरंत दिखाएँ।", "पैरासिटामोल 500 mg दिन में दो बार, खाने के बाद।")
NOTE = "NOTE: शायद वायरल"


@dataclasses.dataclass
class World:
    services: Services
    telegram: FakeTelegram
    twilio: FakeTwilio
    consultation_id: int
    patient_texts: list[str]


def _pdf_text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(unicodedata.normalize("NFC", "\n".join(p.extract_text() for p in reader.pages)).split())


def _advice_in(text: str) -> bool:
    return all(" ".join(line.split()) in text for line in ADVICE)


@pytest.fixture(scope="module")
def world(sqlite_demo_template: Path, tmp_path_factory: pytest.TempPathFactory, catalogs: Catalogs) -> Iterator[World]:
    """A finished consultation, and the runtime with Telegram, WhatsApp and SMS on, pointed at the fakes."""
    path = tmp_path_factory.mktemp("prescriptions") / "teleopd.db"
    shutil.copy(sqlite_demo_template, path)
    db = Database(f"sqlite:///{path}")
    with FakeTelegram() as telegram, FakeTwilio(SID, AUTH) as twilio:
        settings = Settings(
            database_url=db.url, public_url=PUBLIC, inbound_per_minute=1000, secret_key="s" * 43,
            telegram_token=TELEGRAM_TOKEN, telegram_secret="prescription-secret", telegram_api_url=telegram.base_url,
            twilio_account_sid=SID, twilio_auth_token=AUTH, twilio_whatsapp_from=WA_FROM, twilio_sms_from=SMS_FROM,
            twilio_api_url=twilio.url, twilio_whatsapp_mps=1000, twilio_sms_mps=1000,
        )
        services = build_services(settings, db=db, catalogs=catalogs)
        patient = registered(services, "pat", "hi", NAMES["hi"][0])
        book(services, patient)
        doctor = enrolled_doctor(services, "doc", "en")
        doctor.say(WORDS["en"]["next"])
        patient.receive()
        for line in (*ADVICE, NOTE):
            doctor.say(line)
        doctor.say(WORDS["en"]["done"])
        texts = patient.receive().texts
        [consultation] = consultations(services)
        try:
            yield World(services, telegram, twilio, consultation.id, texts)
        finally:
            services.close()
    db.dispose()


def _send_prescription(world: World, channel: str, address: str) -> OutboxMessage:
    """Queue the prescription as the doctor's DONE queues it, to the patient on another channel, and send it."""
    reply = visit.prescription(world.consultation_id, DOCTOR)
    with world.services.db.write() as session:
        identity = ensure_identity(session, channel, address)
        identity.last_inbound_at = utcnow()  # the patient wrote today: WhatsApp's 24 h window is open
        enqueue(session, identity_id=identity.id, channel=channel, address=address, language="hi",
                kind=reply.kind, payload=reply_to_json(reply), due_at=utcnow())
    world.services.worker.drain(channel=channel)
    with world.services.db.read() as session:
        row = session.query(OutboxMessage).filter_by(channel=channel, address=address).one()
        session.expunge(row)
    return row


def _get(world: World, link: str):  # type: ignore[no-untyped-def]
    client = webhooks.create_app(services=world.services).test_client()
    return client.get(urlsplit(link).path)


def test_the_patient_gets_the_advice_then_the_prescription_link_in_the_chat(world: World) -> None:
    *_, advice, prescription = world.patient_texts
    assert ADVICE[0] in advice and "शायद वायरल" not in advice
    assert "ई-पर्चा" in prescription and f"{PUBLIC}/rx/" in prescription, prescription


def test_the_pdf_reaches_telegram_as_a_document(world: World) -> None:
    row = _send_prescription(world, "telegram", CHAT)
    assert row.status == OutboxStatus.SENT, (row.error_code, row.error)
    [sent] = world.telegram.documents(CHAT)
    document = sent["document"]
    assert document["filename"].startswith(f"e-prescription-{world.consultation_id}-") and document["filename"].endswith(".pdf")
    assert document["content"].startswith(b"%PDF-")
    text = _pdf_text(document["content"])
    assert _advice_in(text), text
    assert "शायद वायरल" not in text  # the private note stays with doctors
    # The message itself is the caption: the doctor's name and the link, in Hindi.
    assert "ई-पर्चा" in sent["caption"] and f"{PUBLIC}/rx/" in sent["caption"]
    assert world.telegram.sent(CHAT) == []  # one message: the file with its caption


def test_the_pdf_reaches_whatsapp_as_media_served_by_teleopd(world: World) -> None:
    row = _send_prescription(world, "whatsapp", WHATSAPP)
    assert row.status == OutboxStatus.SENT, (row.error_code, row.error)
    # The text with its link, then the file alone: Twilio sets no caption on a WhatsApp document.
    text, media = [m for m in world.twilio.sent() if m.get("To") == WHATSAPP]
    link = media["MediaUrl"]
    assert link.startswith(f"{PUBLIC}/rx/") and link in text["Body"] and "MediaUrl" not in text
    assert not media.get("Body")
    # What Twilio fetches from that URL: the PDF, never kept by a proxy.
    answer = _get(world, link)
    assert answer.status_code == 200
    assert answer.mimetype == "application/pdf"
    assert "no-store" in answer.headers["Cache-Control"] and "private" in answer.headers["Cache-Control"]
    assert answer.headers["Content-Disposition"].startswith("inline; filename=")
    assert _advice_in(_pdf_text(answer.data))


def test_sms_carries_the_link_within_two_segments_and_no_media(world: World) -> None:
    from bot.channels.sms_text import segments

    row = _send_prescription(world, "sms", PHONE)
    assert row.status == OutboxStatus.SENT, (row.error_code, row.error)
    [sent] = [m for m in world.twilio.sent() if m.get("To") == PHONE]
    assert "MediaUrl" not in sent
    assert f"{PUBLIC}/rx/" in sent["Body"] and segments(sent["Body"]) <= 2, sent["Body"]


def _page(world: World, link: str, status: int, why: str, words: str) -> None:
    answer = _get(world, link)
    assert answer.status_code == status
    assert answer.mimetype == "text/html"
    assert "no-store" in answer.headers["Cache-Control"]
    page = answer.get_data(as_text=True)
    assert f'data-why="{why}"' in page and words in page, page


def test_an_altered_link_gets_a_kind_page(world: World) -> None:
    link = world.services.prescriptions.link(world.consultation_id, "en")  # type: ignore[union-attr]
    # One character of the signature changed (not its last: base64's spare bits live there).
    flipped = "A" if link[-5] != "A" else "B"
    _page(world, f"{link[:-5]}{flipped}{link[-4:]}", 404, "invalid", "This link is not valid.")
    # Another consultation's number under this one's signature.
    token = link.rsplit("/", 1)[1]
    _page(world, f"{PUBLIC}/rx/{world.consultation_id + 1}{token[len(str(world.consultation_id)):]}", 404, "invalid", "not valid")
    _page(world, f"{PUBLIC}/rx/" + "x" * 500, 404, "invalid", "not valid")


def test_an_expired_link_gets_a_kind_page_in_its_language(world: World) -> None:
    key = world.services.settings.secret_key
    assert key is not None

    class LastWeek(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - LINK_MAX_AGE.total_seconds() - 60)

    token = LastWeek(key, salt=LINK_SALT).sign(f"{world.consultation_id}.hi").decode()
    _page(world, f"{PUBLIC}/rx/{token}", 410, "expired", "यह लिंक पुराना हो गया है")


def test_a_link_to_no_prescription_gets_a_kind_page(world: World) -> None:
    link = world.services.prescriptions.link(world.consultation_id + 1000, "en")  # type: ignore[union-attr]
    _page(world, link, 410, "gone", "no longer available")


def test_the_pdf_prints_the_registration_number_once_it_is_on_file(world: World) -> None:
    link = world.services.prescriptions.link(world.consultation_id, "hi")  # type: ignore[union-attr]
    assert "रजिस्ट्रेशन नंबर हमारे पास दर्ज नहीं है" in _pdf_text(_get(world, link).data)
    with world.services.db.write() as session:
        doctor_id = session.get(Consultation, world.consultation_id).doctor_id  # type: ignore[union-attr]
        set_details(session, doctor_id, registration="DMC/R/12345", degrees="MBBS, MD (Medicine)")
    text = _pdf_text(_get(world, link).data)
    assert "मेडिकल रजिस्ट्रेशन नंबर: DMC/R/12345" in text and "MBBS, MD (Medicine)" in text
    assert "दर्ज नहीं" not in text


def test_after_the_patient_erases_their_data_the_prescription_is_gone(world: World) -> None:
    """Last in this module: it erases the patient. No copy of the PDF is stored, so none is left to serve or send."""
    link = world.services.prescriptions.link(world.consultation_id, "hi")  # type: ignore[union-attr]
    documents_before = len(world.telegram.documents())
    with world.services.db.write() as session:
        consultation = session.get(Consultation, world.consultation_id)
        assert consultation is not None
        erase_person(session, session.get(Person, consultation.patient_id), utcnow())  # type: ignore[arg-type]
    _page(world, link, 410, "gone", "यह पर्चा अब उपलब्ध नहीं है")
    row = _send_prescription(world, "telegram", "5559999")
    assert (row.status, row.error_code) == (OutboxStatus.FAILED, "document_gone")
    assert len(world.telegram.documents()) == documents_before

"""The whole service on real channels: `teleopd serve` between fake Telegram and Twilio servers.

One patient registers and books over Telegram (buttons, a shared contact) in English, another
over WhatsApp in Hindi; a health worker books a feature-phone patient, who gets SMS; the
doctor, on Telegram, calls the Telegram patient, gets the summary and is pinged when the
patient joins. Every message the outbox sent reached the fake provider exactly once.
"""

from __future__ import annotations

import itertools
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from bot.cli.main import main as teleopd
from bot.store.db import Database
from bot.store.models import Identity, OutboxMessage, OutboxStatus
from tests.conftest import BACKENDS
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.serving import ServeProcess, free_port

pytestmark = pytest.mark.slow

TOKEN = "123456:" + "E" * 35
SECRET = "e2e-webhook-secret"  # 16+ characters, as Settings.from_env asks
ACCOUNT_SID = "AC" + "e" * 32
AUTH_TOKEN = "d" * 32
WHATSAPP_FROM = "whatsapp:+14155238886"
SMS_FROM = "+15005550006"
DOCTOR_CHAT, PATIENT_CHAT, WORKER_CHAT = 5550001, 5550002, 5550003
WHATSAPP_PATIENT = "whatsapp:+919812300001"
WALKIN_PHONE = "+919812300002"
PENDING = (OutboxStatus.PENDING, OutboxStatus.SENDING)
_ids = itertools.count(1000)


class Service(ServeProcess):
    """`teleopd serve` in a subprocess, and what a provider would send it."""

    def __init__(self, db: Database, env: dict[str, str], port: int, log: Path):
        self.db = db
        super().__init__(env, port, log)

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        request = urllib.request.Request(self.base + path, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code

    def telegram(self, update: dict[str, Any]) -> int:
        return self.post("/webhooks/telegram", json.dumps(update).encode(),
                         {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET})

    def twilio(self, channel: str, sender: str, text: str) -> int:
        form = {"MessageSid": f"SM{next(_ids):032x}", "AccountSid": ACCOUNT_SID, "From": sender,
                "To": WHATSAPP_FROM if channel == "whatsapp" else SMS_FROM, "Body": text, "NumMedia": "0"}
        path = f"/webhooks/twilio/{channel}"
        signature = RequestValidator(AUTH_TOKEN).compute_signature(self.base + path, form)
        return self.post(path, urlencode(form).encode(), {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until the outbox has nothing left to send (Telegram paces a chat at 1 a second)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.db.read() as session:
                if session.scalars(select(OutboxMessage.id).where(OutboxMessage.status.in_(PENDING)).limit(1)).first() is None:
                    return
            time.sleep(0.1)
        raise AssertionError("the outbox did not drain")


class TelegramUser:
    """Someone in a private Telegram chat with the bot, reading what the fake Bot API was sent."""

    def __init__(self, service: Service, fake: FakeTelegram, chat_id: int):
        self.service, self.fake, self.chat_id, self.seen = service, fake, chat_id, 0

    def _user(self) -> dict[str, Any]:
        return {"id": self.chat_id, "is_bot": False, "first_name": "User"}

    def _message(self, **fields: Any) -> dict[str, Any]:
        update_id = next(_ids)
        chat = {"id": self.chat_id, "type": "private", "first_name": "User"}
        return {"update_id": update_id, "message": {"message_id": update_id, "from": self._user(), "chat": chat, "date": int(time.time()), **fields}}

    def _deliver(self, update: dict[str, Any]) -> list[dict[str, Any]]:
        assert self.service.telegram(update) == 200
        # Telegram retries what it is not sure reached us: the same update again changes nothing.
        assert self.service.telegram(update) == 200
        self.service.settle()
        sent = self.fake.sent(self.chat_id)
        new, self.seen = sent[self.seen:], len(sent)
        assert new, f"no reply to {update}"
        return new

    def say(self, text: str) -> list[dict[str, Any]]:
        return self._deliver(self._message(text=text))

    def press(self, label: str) -> list[dict[str, Any]]:
        """Press the button with this label under the last message that had buttons."""
        key = self.button(label)
        update_id = next(_ids)
        chat = {"id": self.chat_id, "type": "private", "first_name": "User"}
        query = {"id": f"q{update_id}", "from": self._user(), "chat_instance": "1", "data": key,
                 "message": {"message_id": 1, "chat": chat, "date": int(time.time()), "text": "?"}}
        replies = self._deliver({"update_id": update_id, "callback_query": query})
        answered = [r.params.get("callback_query_id") for r in self.fake.requests("answerCallbackQuery")]
        assert answered.count(f"q{update_id}") == 1, "each button press is answered once"
        return replies

    def share_contact(self, phone: str) -> list[dict[str, Any]]:
        assert any("request_contact" in str(m.get("reply_markup")) for m in self.fake.sent(self.chat_id)[-2:])
        return self._deliver(self._message(contact={"phone_number": phone.lstrip("+"), "first_name": "User", "user_id": self.chat_id}))

    def buttons(self, last_only: bool = False) -> list[dict[str, str]]:
        """Return the inline buttons under the messages sent to this chat, newest first."""
        sent = self.fake.sent(self.chat_id)
        found = []
        for params in reversed(sent[-1:] if last_only else sent):
            markup = params.get("reply_markup")
            markup = json.loads(markup) if isinstance(markup, str) else markup
            found += [button for row in (markup or {}).get("inline_keyboard", []) for button in row]
        return found

    def button(self, label: str) -> str:
        """Return the key of the newest button with this label."""
        for button in self.buttons():
            if button["text"] == label:
                return str(button["callback_data"])
        raise AssertionError(f"no button {label!r} in {self.fake.sent(self.chat_id)[-1]}")


class TwilioUser:
    """Someone on WhatsApp (or SMS), reading what the fake Twilio API was asked to send them."""

    def __init__(self, service: Service, fake: FakeTwilio, channel: str, address: str):
        self.service, self.fake, self.channel, self.address, self.seen = service, fake, channel, address, 0

    def received(self) -> list[str]:
        return [p.get("Body", "") for p in self.fake.sent() if p.get("To") == self.address]

    def say(self, text: str) -> str:
        assert self.service.twilio(self.channel, self.address, text) == 200
        self.service.settle()
        bodies = self.received()
        new, self.seen = bodies[self.seen:], len(bodies)
        assert new, f"no reply to {text!r}"
        return "\n".join(new)


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("text", "")) for m in messages)


@pytest.fixture
def fakes() -> Iterator[tuple[FakeTelegram, FakeTwilio]]:
    with FakeTelegram() as telegram, FakeTwilio(ACCOUNT_SID, AUTH_TOKEN) as twilio:
        yield telegram, twilio


@pytest.fixture
def service(db: Database, fakes: tuple[FakeTelegram, FakeTwilio], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
            capsys: pytest.CaptureFixture[str]) -> Iterator[tuple[Service, dict[str, str]]]:
    telegram, twilio = fakes
    port = free_port()
    env = {
        "TELEOPD_DATABASE_URL": db.url, "TELEOPD_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "TELEOPD_TELEGRAM_TOKEN": TOKEN, "TELEOPD_TELEGRAM_SECRET": SECRET, "TELEOPD_TELEGRAM_API_URL": telegram.base_url,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TELEOPD_TWILIO_API_URL": twilio.url,
        "TELEOPD_TWILIO_WHATSAPP_FROM": WHATSAPP_FROM, "TELEOPD_TWILIO_SMS_FROM": SMS_FROM, "TELEOPD_TWILIO_SMS_MPS": "10",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert teleopd(["demo"]) == 0
    assert teleopd(["doctor", "add", "--name", "Anita Sharma", "--opd", "GEN24"]) == 0
    doctor_code = capsys.readouterr().out.strip().splitlines()[-1]
    assert teleopd(["worker-user", "add", "--name", "Kamla", "--clinic", "PHC Gaya"]) == 0
    worker_code = capsys.readouterr().out.strip().splitlines()[-1]
    running = Service(db, {**os.environ, **env}, port, tmp_path / "serve.log")
    try:
        yield running, {"doctor": doctor_code, "worker": worker_code}
    finally:
        running.stop()


# On the production database when one is configured (PostgreSQL: LISTEN/NOTIFY wakes the
# worker, SKIP LOCKED claims), else the embedded SQLite. The database is not what is tested
# here, and the run is about 45 s of Telegram's pacing (one message a second per chat); the
# SQLite `teleopd serve` is driven end to end by tests/test_cli.py and the browser tests.
@pytest.mark.parametrize("db", [BACKENDS[-1]], indirect=True)
def test_patients_book_on_telegram_whatsapp_and_sms_and_the_doctor_calls_on_telegram(db, fakes, service) -> None:  # type: ignore[no-untyped-def]
    telegram, twilio = fakes
    running, codes = service

    doctor = TelegramUser(running, telegram, DOCTOR_CHAT)
    assert "This chat is now your doctor's desk." in texts(doctor.say(f"enroll {codes['doctor']}"))

    # An English patient on Telegram: buttons, and the number shared from the contact button.
    patient = TelegramUser(running, telegram, PATIENT_CHAT)
    assert "Which language" in texts(patient.say("/start"))
    assert "Do you agree?" in texts(patient.press("English"))
    assert "What is your full name?" in texts(patient.press("I agree"))
    for line in ("Sunita Devi", "34", "female", "Uttar Pradesh"):
        patient.say(line)
    assert "Please share your mobile number with the button below" in texts(patient.say("Varanasi"))
    assert "Mobile: +919811112222" in texts(patient.share_contact("+919811112222"))
    assert "you are registered." in texts(patient.say("yes"))
    for line in ("I have fever and cough", "myself", "3 days"):
        patient.say(line)
    assert "Shall I book a token there?" in texts(patient.say("moderate"))
    assert "Your token is booked." in texts(patient.press(_label(patient, "Yes")))

    # A Hindi patient on WhatsApp: numbered choices; the number comes with the channel.
    sita = TwilioUser(running, twilio, "whatsapp", WHATSAPP_PATIENT)
    assert "1. English\n2. हिन्दी" in sita.say("नमस्ते")
    assert "1. मैं सहमत हूँ" in sita.say("2")
    for line in ("हाँ", "सीता देवी", "३४", "महिला", "उत्तर प्रदेश"):
        sita.say(line)
    assert "मोबाइल: +919812300001" in sita.say("वाराणसी")  # WhatsApp vouches for the number: no question
    assert "आपका रजिस्ट्रेशन हो गया है" in sita.say("हाँ")
    for line in ("मुझे बुखार और खांसी है", "मैं खुद", "३ दिन से"):
        sita.say(line)
    assert "1. हाँ, टोकन बुक करें" in sita.say("मध्यम")
    assert "आपका टोकन बुक हो गया है।" in sita.say("1")

    # A health worker books a walk-in patient with a feature phone, who gets SMS.
    worker = TelegramUser(running, telegram, WORKER_CHAT)
    assert "linked to your health worker account" in texts(worker.say(f"enroll {codes['worker']}"))
    for line in ("1", WALKIN_PHONE.removeprefix("+91"), "English", "Ramesh Kumar", "60", "male", "fever since 2 days"):
        worker.say(line)
    assert "Booked for Ramesh Kumar (+919812300002): token 3" in texts(worker.say("1"))
    walkin = TwilioUser(running, twilio, "sms", WALKIN_PHONE)
    [token_sms] = walkin.received()
    assert token_sms.startswith("Token 3, General Medicine") and "Be at the clinic at your turn" in token_sms
    assert [p["From"] for p in twilio.sent() if p["To"] == WALKIN_PHONE] == [SMS_FROM]

    # The doctor calls the next patient: the Telegram patient (booked first).
    summary = texts(doctor.say("next"))
    assert "Sunita Devi" in summary
    called = texts(telegram.sent(PATIENT_CHAT)[-2:])
    assert "Dr. Anita Sharma" in called
    patient.press(_join_label(patient))
    running.settle()
    assert "Token 1: the patient is joining the call." in texts(telegram.sent(DOCTOR_CHAT)[-1:])
    doctor.say("Drink plenty of water and rest.")
    doctor.say("done")
    assert "Drink plenty of water and rest." in texts(telegram.sent(PATIENT_CHAT))

    # Next in line: the WhatsApp patient hears in Hindi, then the walk-in patient by SMS,
    # and the health worker who booked for them is told.
    assert "सीता देवी" in texts(doctor.say("next"))
    assert any("डॉ. Anita Sharma अब आपके लिए तैयार हैं।" in body for body in sita.received()[-2:])
    doctor.say("done")
    assert "Ramesh Kumar" in texts(doctor.say("next"))
    running.settle()
    [call_sms] = walkin.received()[1:]
    # The walk-in goes to the health worker, who has the room; the answers are numbered in the text (no second list under it).
    assert call_sms == "The doctor is ready now. Please go to your health worker at the clinic.\n1 I am coming 2 I cannot come now"
    told = texts(telegram.sent(WORKER_CHAT)[-1:])
    assert "the doctor is calling the patient now" in told and "https://" in told

    # DONE sent each patient their e-prescription: the PDF uploaded to Telegram, and to WhatsApp
    # a MediaUrl that teleopd itself serves (TELEOPD_PUBLIC_URL is this server).
    [document] = telegram.documents(PATIENT_CHAT)
    assert document["document"]["content"].startswith(b"%PDF-") and "/rx/" in document["caption"]
    [media_url] = [p["MediaUrl"] for p in twilio.sent() if "MediaUrl" in p]
    with urllib.request.urlopen(media_url, timeout=10) as answer:
        assert answer.headers["Content-Type"] == "application/pdf" and answer.read().startswith(b"%PDF-")

    # Every message the outbox sent reached its provider exactly once.
    _assert_each_sent_once(db, telegram, twilio)


def _label(user: TelegramUser, starts: str) -> str:
    """Return the label of the last message's button that starts with these words."""
    labels = [b["text"] for b in user.buttons(last_only=True)]
    return next((label for label in labels if label.startswith(starts)), None) or _missing(f"a button starting {starts!r}", labels)


def _join_label(user: TelegramUser) -> str:
    """Return the label of the newest "I am joining" button."""
    labels = [b["text"] for b in user.buttons()]
    return next((label for label in labels if "join" in label.lower()), None) or _missing("a join button", labels)


def _missing(what: str, labels: list[str]) -> str:
    raise AssertionError(f"no {what} among {labels}")


def _assert_each_sent_once(db: Database, telegram: FakeTelegram, twilio: FakeTwilio) -> None:
    with db.read() as session:
        rows = session.execute(
            select(OutboxMessage.channel, OutboxMessage.address, OutboxMessage.rendered)
            .where(OutboxMessage.status.in_((OutboxStatus.SENT, OutboxStatus.DELIVERED)), OutboxMessage.kind != "ack")
        ).all()
        assert not session.scalars(select(Identity.id).where(Identity.opted_out.is_(True))).all()
    expected: dict[tuple[str, str], int] = {}
    for channel, address, rendered in rows:
        parts = int((rendered or {}).get("parts", 1))
        expected[(channel, address)] = expected.get((channel, address), 0) + parts
    got: dict[tuple[str, str], int] = {}
    for params in [*telegram.sent(), *telegram.documents()]:
        got[("telegram", str(params["chat_id"]))] = got.get(("telegram", str(params["chat_id"])), 0) + 1
    for params in twilio.sent():
        channel = "whatsapp" if params["From"] == WHATSAPP_FROM else "sms"
        got[(channel, params["To"])] = got.get((channel, params["To"]), 0) + 1
    assert got == expected

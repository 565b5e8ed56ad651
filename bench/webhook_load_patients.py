"""The patients of bench/webhook_load.py: the fake providers' credentials, the journeys of
tests/test_channels_end_to_end.py, and patients whose messages (Telegram updates, signed WhatsApp
forms) are made before the clock starts.
"""

from __future__ import annotations

import itertools
import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

TOKEN = "123456:" + "W" * 35
SECRET = "bench-webhook-secret"
ACCOUNT_SID = "AC" + "d" * 32
AUTH_TOKEN = "a" * 32
WHATSAPP_FROM = "whatsapp:+14155238886"
SMS_FROM = "+15005550006"
REDIS_URL = "redis://127.0.0.1:6379/0"
CLEANUP_RESERVE_S = 30
SETTLE_TIMEOUT_S = 120

# The answers of tests/test_channels_end_to_end.py. Telegram: ("text", …), ("press", key) a
# button's callback_data (the flows' choice keys), ("contact", None) the shared number.
TELEGRAM_JOURNEY: tuple[tuple[str, str | None], ...] = (
    ("text", "/start"), ("press", "en"), ("press", "agree"), ("text", "Sunita Devi"), ("text", "34"),
    ("text", "female"), ("text", "Uttar Pradesh"), ("text", "Varanasi"), ("contact", None), ("text", "yes"),
    ("text", "I have fever and cough"), ("text", "myself"), ("text", "3 days"), ("text", "moderate"), ("press", "book"),
)
WHATSAPP_JOURNEY: tuple[str, ...] = (
    "नमस्ते", "2", "हाँ", "सीता देवी", "३४", "महिला", "उत्तर प्रदेश", "वाराणसी", "हाँ",
    "मुझे बुखार और खांसी है", "मैं खुद", "३ दिन से", "मध्यम", "1",
)


@dataclass
class Message:
    """One webhook call, ready to send: path, body, headers, and what the reply is matched by."""

    path: str
    body: bytes
    headers: dict[str, str]
    provider_id: str


@dataclass
class Patient:
    """A simulated patient: one channel, one address, the whole journey's calls in order."""

    channel: str  # "telegram" | "whatsapp"
    address: str  # chat id or whatsapp:+91…, as the fake records it
    messages: list[Message]
    sent: int = 0


@dataclass
class Record:
    """What became of one call."""

    channel: str
    address: str
    provider_id: str
    due_wall: float  # time.time() the call was due (open loop) or started (closed loop)
    latency_s: float
    status: int


class Patients:
    """Makes patients on demand, alternating Telegram and WhatsApp, with addresses unique to this run."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.validator = RequestValidator(AUTH_TOKEN)
        seed = random.randrange(10**7, 9 * 10**7)
        self._chat_ids = itertools.count(6_000_000_000 + seed * 10)
        self._numbers = itertools.count(seed)
        self._ids = itertools.count(random.randrange(10**8, 10**9))
        self._turn = itertools.count()

    def __iter__(self) -> Iterator[Patient]:
        return self

    def __next__(self) -> Patient:
        return self.telegram() if next(self._turn) % 2 == 0 else self.whatsapp()

    def telegram(self) -> Patient:
        chat_id = next(self._chat_ids)
        phone = f"9170{next(self._numbers) % 10**8:08d}"
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
        user = {"id": chat_id, "is_bot": False, "first_name": "Bench"}
        chat = {"id": chat_id, "type": "private", "first_name": "Bench"}
        messages = []
        for kind, value in TELEGRAM_JOURNEY:
            update_id = next(self._ids)
            now = int(time.time())
            if kind == "press":
                update: dict[str, Any] = {"update_id": update_id, "callback_query": {
                    "id": f"q{update_id}", "from": user, "chat_instance": "1", "data": value,
                    "message": {"message_id": 1, "chat": chat, "date": now, "text": "?"}}}
            else:
                fields: dict[str, Any] = {"text": value} if kind == "text" else {
                    "contact": {"phone_number": phone, "first_name": "Bench", "user_id": chat_id}}
                update = {"update_id": update_id, "message": {"message_id": update_id, "from": user, "chat": chat, "date": now, **fields}}
            messages.append(Message("/webhooks/telegram", json.dumps(update).encode(), headers, str(update_id)))
        return Patient("telegram", str(chat_id), messages)

    def whatsapp(self) -> Patient:
        address = f"whatsapp:+9197{next(self._numbers) % 10**8:08d}"
        path = "/webhooks/twilio/whatsapp"
        messages = []
        for answer in WHATSAPP_JOURNEY:
            sid = f"SM{next(self._ids):032x}"
            form = {"MessageSid": sid, "AccountSid": ACCOUNT_SID, "From": address, "To": WHATSAPP_FROM,
                    "Body": answer, "NumMedia": "0"}
            headers = {"Content-Type": "application/x-www-form-urlencoded",
                       "X-Twilio-Signature": self.validator.compute_signature(self.base_url + path, form)}
            messages.append(Message(path, urlencode(form).encode(), headers, sid))
        return Patient("whatsapp", address, messages)

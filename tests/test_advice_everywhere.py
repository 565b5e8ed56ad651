"""The doctor's advice reaches the patient whole on every channel, and a call's SMS carries its room.

Each message goes the way the worker sends it (bot/outbox/payloads.py translate, then the
channel's laying out): the web and terminal chat show the text, Telegram its parts, WhatsApp its
bodies, SMS its numbered parts (a WhatsApp message that falls back to SMS takes the SMS form).
Before: the SMS form said "Your consultation is over" in place of the advice, and "The doctor
will call you now" in place of the video link.
"""

from __future__ import annotations

import json

import pytest

from bot.channels.sms_text import render_sms, sms_parts
from bot.channels.telegram.render import render as render_telegram
from bot.channels.whatsapp_text import render_whatsapp
from bot.outbox.payloads import translate
from bot.platform.i18n import Catalogs
from flows.messages import Reply, reply_to_json
from flows.steps import visit

ROOM = "https://meet.jit.si/teleopd-AbCdEfGhIjKlMnOpQrStUv"
ADVICE = {
    "en": "Paracetamol 500 mg every 6 hours for 3 days, after food. Drink plenty of water and rest. "
    "Come back if the fever lasts beyond 3 days, and call 108 at once if you cannot breathe.",
    "hi": "पैरासिटामोल 500 मिलीग्राम, 3 दिन तक हर 6 घंटे पर, खाने के बाद। खूब पानी पिएँ और आराम करें। "
    "बुख़ार 3 दिन से ज़्यादा रहे तो फिर दिखाएँ, और सांस न आए तो तुरंत 108 पर कॉल करें।",
}


def _payload(reply: Reply) -> dict[str, object]:
    """Return a reply as the outbox keeps it."""
    return json.loads(json.dumps(reply_to_json(reply)))


def _words(text: str) -> str:
    return " ".join(text.split())


def _unnumbered(parts: list[str]) -> str:
    """Return SMS parts joined as the patient reads them, without their "1/3" marks."""
    return " ".join(part.split(" ", 1)[1] if len(parts) > 1 else part for part in parts)


def shown_on_every_channel(catalogs: Catalogs, reply: Reply, lang: str) -> dict[str, str]:
    """Return what the patient reads of a message on each channel, as one text per channel."""
    payload = _payload(reply)
    full = translate(catalogs, payload, lang)
    short = translate(catalogs, payload, lang, sms=True)
    return {
        "web and terminal chat": full.text,
        "telegram": " ".join(part.text for part in render_telegram(full)),
        "whatsapp": " ".join(render_whatsapp(full)),
        "sms and whatsapp's sms fallback": _unnumbered(sms_parts(render_sms(short))),
    }


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_the_advice_reaches_the_patient_word_for_word_on_every_channel(catalogs: Catalogs, lang: str) -> None:
    shown = shown_on_every_channel(catalogs, visit.advice(7, "Anita Sharma", ADVICE[lang]), lang)
    missing = [channel for channel, text in shown.items() if _words(ADVICE[lang]) not in _words(text)]
    assert missing == []


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_a_long_advice_over_sms_is_whole_in_numbered_parts(catalogs: Catalogs, lang: str) -> None:
    words = " ".join([ADVICE[lang]] * 5)
    parts = sms_parts(render_sms(translate(catalogs, _payload(visit.advice(7, "Anita Sharma", words)), lang, sms=True)))
    assert len(parts) >= 3 and parts[0].startswith("1/") and parts[-1].startswith(f"{len(parts)}/{len(parts)} ")
    assert _words(words) in _words(_unnumbered(parts))


@pytest.mark.parametrize("lang", ["en", "hi"])
@pytest.mark.parametrize("kind", ["doctor_ready", "reminder"])
def test_a_call_carries_its_video_room_on_every_channel(catalogs: Catalogs, lang: str, kind: str) -> None:
    reply = getattr(visit, kind)(7, "Anita Sharma", ROOM)
    shown = shown_on_every_channel(catalogs, reply, lang)
    assert [channel for channel, text in shown.items() if ROOM not in text] == []
    # Over SMS the answers are numbered in the text, as a feature phone has no buttons.
    sms = shown["sms and whatsapp's sms fallback"]
    assert "1 " in sms and "2 " in sms

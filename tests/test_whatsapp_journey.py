"""WhatsApp with its own buttons and lists, end to end: webhook (signed) → flow → worker → fake Twilio.

The contents are made by `teleopd whatsapp sync --apply` against the fake Content API, and the
patient presses what the fake shows them (ButtonPayload for a reply button, ListId for a list
item), the way the Telegram end-to-end test presses inline buttons. A press books; a stale
press of an old list is asked again, kindly; outside the 24-hour window a Hindi patient gets the
Hindi template, an English patient the English one.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.channels.twilio import TwilioChannel
from bot.cli.main import main
from bot.outbox.enqueue import enqueue_reply
from bot.outbox.payloads import translate
from bot.outbox.template_keys import template_key
from bot.platform.ratelimit import RateLimiter
from bot.runtime import Services, build_services
from bot.services.opds import load_demo
from bot.store.models import Identity, OutboxMessage, Token
from flows.engine import LANGUAGES
from flows.messages import Reply, reply_to_json, t
from tests.fakes.twilio_api import FakeTwilio
from tests.twilio_helpers import PUBLIC, SID, TOKEN, WA_FROM, _message, _post, _settings
from webhooks import create_app

GET_READY = "Get ready: you are 3rd in the queue for {opd} (token {number}). The doctor will call you soon; please stay near your phone."
HINDI_PATIENT = "+919812300011"
ENGLISH_PATIENT = "+919812300012"


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeTwilio, Path]]:
    """Return a fake Twilio whose contents `teleopd whatsapp sync --apply` made, and the templates file it wrote."""
    path = tmp_path_factory.mktemp("whatsapp") / "whatsapp.json"
    path.write_text(json.dumps({template_key(GET_READY): {}}))
    with FakeTwilio(SID, TOKEN) as fake, pytest.MonkeyPatch.context() as env:
        for name, value in {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN, "TELEOPD_TWILIO_WHATSAPP_FROM": WA_FROM,
                            "TELEOPD_PUBLIC_URL": PUBLIC, "TELEOPD_TWILIO_CONTENT_API_URL": fake.url}.items():
            env.setenv(name, value)
        assert main(["whatsapp", "sync", "--apply", "--file", str(path)]) == 0
        _quiet_logs()
        yield fake, path


@pytest.fixture
def whatsapp(db, catalogs, synced: tuple[FakeTwilio, Path]) -> Iterator[tuple[Any, Services, FakeTwilio]]:  # type: ignore[no-untyped-def]
    """Return a web client and services (the demo OPDs) whose WhatsApp channel uses the synced contents."""
    fake, path = synced
    with db.write() as session:
        load_demo(session)
    services = build_services(_settings(db.url, fake, whatsapp_templates_file=str(path)), db=db, catalogs=catalogs)
    try:
        yield create_app(services=services).test_client(), services, fake
    finally:
        services.close()


def _quiet_logs() -> None:
    """Take off the log handler main() put on stderr: pytest's captured stream closes after the test."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == "teleopd"]:
        root.removeHandler(handler)


class Patient:
    """Someone on WhatsApp who reads what the fake shows them and presses it."""

    def __init__(self, client: Any, services: Services, fake: FakeTwilio, phone: str):
        self.client, self.services, self.fake, self.phone, self.seen = client, services, fake, phone, 0

    def _send(self, form: dict[str, str]) -> list[dict[str, Any]]:
        response = _post(self.client, "/webhooks/twilio/whatsapp", form)
        assert response.status_code == 200, response.get_data(as_text=True)
        self.services.worker.drain()
        sent = [p for p in self.fake.sent() if p.get("To") == f"whatsapp:{self.phone}"]
        new, self.seen = sent[self.seen:], len(sent)
        assert new, f"no reply to {form}"
        return [self.shown(p) for p in new]

    def shown(self, params: dict[str, str]) -> dict[str, Any]:
        if "ContentSid" in params:
            return self.fake.content.shown(params["ContentSid"], json.loads(params.get("ContentVariables") or "{}"))
        return {"type": "text", "body": params["Body"]}

    def say(self, text: str) -> list[dict[str, Any]]:
        return self._send(_message(text, sender=f"whatsapp:{self.phone}"))

    def press(self, title: str, shown: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Press the button or list item with this title in the newest message that has one."""
        for message in reversed(shown or self.history()):
            for field, pairs in (("ButtonPayload", message.get("buttons")), ("ListId", message.get("items"))):
                for label, key in pairs or ():
                    if label == title:
                        text = "ButtonText" if field == "ButtonPayload" else "ListTitle"
                        return self._send(_message(title, sender=f"whatsapp:{self.phone}", **{field: key, text: title}))
        raise AssertionError(f"nothing titled {title!r} in {(shown or self.history())[-1]}")

    def history(self) -> list[dict[str, Any]]:
        return [self.shown(p) for p in self.fake.sent() if p.get("To") == f"whatsapp:{self.phone}"]


def _bodies(shown: list[dict[str, Any]]) -> str:
    return "\n".join(m["body"] for m in shown)


def _tokens(services: Services) -> list[Token]:
    with services.db.read() as session:
        return list(session.scalars(select(Token)))


def test_a_hindi_patient_books_by_pressing_buttons_and_outside_the_window_gets_the_hindi_template(whatsapp) -> None:  # type: ignore[no-untyped-def]
    client, services, fake = whatsapp
    sita = Patient(client, services, fake, HINDI_PATIENT)
    languages = sita.say("नमस्ते")[-1]
    assert languages["type"] == "twilio/list-picker" and ("हिन्दी", "hi") in languages["items"]
    sita.press("हिन्दी")
    for line in ("हाँ", "सीता देवी", "३४"):
        sita.say(line)
    assert sita.history()[-1]["buttons"] == [("महिला", "female"), ("पुरुष", "male"), ("अन्य", "other")]
    for line in ("महिला", "उत्तर प्रदेश", "वाराणसी"):
        sita.say(line)
    sita.press("हाँ, सही है")
    for line in ("मुझे बुखार और खांसी है", "मैं खुद", "३ दिन से"):
        sita.say(line)
    [offer] = sita.press("मध्यम")
    assert offer["type"] == "twilio/quick-reply" and "क्या वहाँ टोकन बुक कर दूँ?" in offer["body"]
    assert offer["buttons"] == [("हाँ, टोकन बुक करें", "book"), ("दूसरी ओपीडी चुनें", "other")]

    booked = sita.press("हाँ, टोकन बुक करें", [offer])
    assert "आपका टोकन बुक हो गया है।" in _bodies(booked)
    assert len(_tokens(services)) == 1
    # Every choice went as WhatsApp's own buttons or lists, none as a numbered list.
    assert not any(m["type"] == "text" and "\n1. " in m["body"] for m in sita.history() if "राज्य" not in m["body"])
    with services.db.read() as session:
        kept = [r.rendered for r in session.scalars(select(OutboxMessage).where(OutboxMessage.address == f"whatsapp:{HINDI_PATIENT}"))]
    assert sum("content_sid" in (r or {}).get("detail", {}) for r in kept) >= 8, "the outbox row names the content sent"

    # A press on an old list (the severity, answered long ago) books nothing and asks again, kindly.
    again = sita.press("गंभीर")
    assert "यह बटन पिछले सवाल का है।" in _bodies(again) and len(_tokens(services)) == 1

    # Two days later, outside WhatsApp's 24-hour window: the Hindi template, with its values.
    with services.db.write() as session:
        session.execute(update(Identity).values(last_inbound_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=2)))
        identity = session.scalars(select(Identity).where(Identity.address == f"whatsapp:{HINDI_PATIENT}")).one()
        enqueue_reply(session, identity, Reply(t(GET_READY, opd="सामान्य चिकित्सा", number=7)), dt.datetime.now(dt.UTC))
    services.worker.drain()
    last = fake.sent()[-1]
    assert last["To"] == f"whatsapp:{HINDI_PATIENT}" and "Body" not in last
    hindi = fake.content.contents[last["ContentSid"]]
    assert (hindi["friendly_name"], hindi["language"]) == (f"teleopd_{template_key(GET_READY)}_hi", "hi")
    assert fake.content.shown(last["ContentSid"], json.loads(last["ContentVariables"]))["body"].startswith(
        "तैयार रहें: सामान्य चिकित्सा की कतार में आप तीसरे नंबर पर हैं (टोकन 7)"
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_outside_the_window_each_language_gets_its_own_template(synced: tuple[FakeTwilio, Path], catalogs, tmp_path: Path, lang: str) -> None:  # type: ignore[no-untyped-def]
    fake, path = synced
    settings = _settings(f"sqlite:///{tmp_path / 'unused.db'}", fake, whatsapp_templates_file=str(path))
    channel = TwilioChannel.from_settings(settings, "whatsapp", RateLimiter())
    message = translate(catalogs, reply_to_json(Reply(t(GET_READY, opd="General Medicine", number=7))), lang, session_open=False)
    result = channel.send(f"whatsapp:{ENGLISH_PATIENT}", message, 1)
    sent = fake.sent()[-1]
    content = fake.content.contents[sent["ContentSid"]]
    assert result.detail["content_sid"] == sent["ContentSid"] and "Body" not in sent
    assert content["friendly_name"] == f"teleopd_{template_key(GET_READY)}_{lang.lower().replace('-', '_')}"
    assert fake.content.shown(sent["ContentSid"], json.loads(sent["ContentVariables"]))["body"] == message.text


def test_a_template_value_goes_on_one_line(synced: tuple[FakeTwilio, Path], catalogs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fake, path = synced
    channel = TwilioChannel.from_settings(_settings(f"sqlite:///{tmp_path / 'unused.db'}", fake, whatsapp_templates_file=str(path)), "whatsapp", RateLimiter())
    message = translate(catalogs, reply_to_json(Reply(t(GET_READY, opd="General\nMedicine\t(24 hours)", number=7))), "en", session_open=False)
    channel.send(f"whatsapp:{ENGLISH_PATIENT}", message, 2)
    assert json.loads(fake.sent()[-1]["ContentVariables"]) == {"1": "General Medicine (24 hours)", "2": "7"}

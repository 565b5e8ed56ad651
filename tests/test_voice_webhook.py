"""The voice line end to end: signed Twilio Voice webhooks in, TwiML out (read as XML), on the database.

A patient registered by SMS with a token at the demo's round-the-clock OPD calls the voice
number; a missed call to the missed-call number comes back as an SMS at the fake Twilio API's
Messages resource; "the doctor is ready" reaches a patient who pressed 4 as a call at its
Calls resource, and the key they press there joins the consultation.
"""

from __future__ import annotations

import datetime as dt
import secrets
import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import func, select

from bot.channels.sms_text import segments
from bot.platform.config import Settings, SettingsError
from bot.platform.i18n import Catalogs
from bot.runtime import Services, build_services
from bot.services.booking import BookingRecords
from bot.services.enrolment import add_health_worker
from bot.services.identities import ensure_identity
from bot.services.opds import find_opd
from bot.services.patients import PatientRecords
from bot.store.models import (
    CallbackRequest,
    Consultation,
    Identity,
    Opd,
    OutboxMessage,
    Token,
    TokenStatus,
)
from flows.ports import Intake, Profile
from tests.booking_helpers import _clear_of_midnight_ist  # noqa: F401  (fixture)
from tests.doctor_helpers import WORDS, enrolled_doctor, open_chat
from tests.fakes.twilio_api import FakeTwilio
from tests.twilio_helpers import INDIAN, PUBLIC, SID, _post, _settings, client, fake  # noqa: F401  (fixtures)
from webhooks import create_app

VOICE_FROM = "+911140000000"
MISSED = "+911140000001"
VOICE_URL = PUBLIC + "/webhooks/twilio/voice"
LANGS = ("en", "hi")
LANGUAGE_KEY = {"hi": "1", "en": "2"}
SPOKEN_AS = {"hi": "hi-IN", "en": "en-IN"}


@pytest.fixture
def services(db, catalogs: Catalogs, fake: FakeTwilio) -> Services:  # type: ignore[no-untyped-def]
    """The runtime with SMS, WhatsApp and the voice line on, pointed at the fake Twilio API."""
    settings = _settings(db.url, fake, twilio_voice_from=VOICE_FROM, twilio_missed_call_number=MISSED, inbound_per_minute=1000)
    return build_services(settings, db=db, catalogs=catalogs)


def patient(services: Services, lang: str, phone: str = INDIAN) -> int:
    """Register a patient who writes by SMS from a phone, book them a token at GEN24; return its number."""
    now = dt.datetime.now(dt.UTC)
    with services.db.write() as session:
        chat = ensure_identity(session, "sms", phone)
        chat.phone, chat.language, chat.last_inbound_at = phone, lang, now
        PatientRecords(session, chat, now).save_profile(Profile("Sunita Devi", 34, "female", "IN-UP", "Varanasi", phone, now))
        chat.person.language = lang  # type: ignore[union-attr]
        opd = session.scalars(select(Opd).where(Opd.code == "GEN24")).one()
        result = BookingRecords(session, chat, now).book(opd.id, None, Intake("fever"), False)
        assert result.token is not None
        return result.token.number


def call_form(sid: str, digits: str | None = None, to: str = VOICE_FROM, caller: str = INDIAN, direction: str = "inbound") -> dict[str, str]:
    """Return the form Twilio posts for a call (https://www.twilio.com/docs/voice/twiml#request-parameters)."""
    ours, theirs = (caller, to) if direction == "inbound" else (to, caller)
    form = {"CallSid": sid, "AccountSid": SID, "From": ours, "To": theirs, "Direction": direction, "CallStatus": "in-progress"}
    return {**form, **({"Digits": digits} if digits is not None else {})}


def new_sid() -> str:
    return "CA" + secrets.token_hex(16)


def post(client, form: dict[str, str], action: str | None = None) -> ET.Element:  # type: ignore[no-untyped-def]
    """POST a signed voice webhook (to a Gather's action URL, query and all); return its TwiML as XML."""
    query = urlsplit(action).query if action else ""
    response = _post(client, "/webhooks/twilio/voice", form, query=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/xml"
    return ET.fromstring(response.get_data())


def says(root: ET.Element) -> list[tuple[str, str, str]]:
    """Return every <Say> as (text, language, voice), in order."""
    return [(el.text or "", el.get("language", ""), el.get("voice", "")) for el in root.iter("Say")]


def gather_action(root: ET.Element) -> str:
    gather = root.find("Gather")
    assert gather is not None and gather.get("input") == "dtmf" and gather.get("numDigits") == "1"
    action = gather.get("action") or ""
    assert action.startswith(VOICE_URL + "?")
    return action


def heard(root: ET.Element) -> str:
    return " ".join(text for text, _, _ in says(root))


# --- the line ----------------------------------------------------------------------------


def test_an_unsigned_or_forged_call_is_refused_before_anything_is_kept(client, services: Services) -> None:  # type: ignore[no-untyped-def]
    form = call_form(new_sid())
    assert _post(client, "/webhooks/twilio/voice", form, signature="").status_code == 403
    assert _post(client, "/webhooks/twilio/voice", form, token="0" * 32).status_code == 403
    with services.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Identity).where(Identity.channel == "voice")) == 0


@pytest.mark.parametrize("lang", LANGS)
def test_a_patients_call_names_their_token_in_their_language(client, demo: Services, lang: str) -> None:  # type: ignore[no-untyped-def]
    number = patient(demo, lang)
    status = post(client, call_form(new_sid()))
    assert {(lang_, voice) for _, lang_, voice in says(status)} == {(SPOKEN_AS[lang], "Polly.Aditi")}
    assert {"en": f"Your token number is {number}", "hi": f"आपका टोकन नंबर {number} है"}[lang] in heard(status)
    assert {"en": "General Medicine", "hi": "सामान्य"}[lang] in heard(status)
    assert dict(parse_qsl(urlsplit(gather_action(status)).query)) == {"stage": "menu", "n": "1"}
    # Whoever presses nothing hears goodbye after the Gather, and the call ends.
    assert status.find("Say") is not None and status.find("Hangup") is not None


@pytest.mark.parametrize("lang", LANGS)
def test_a_caller_we_do_not_know_is_asked_the_language_once(client, demo: Services, lang: str) -> None:  # type: ignore[no-untyped-def]
    stranger = "+919812345678"
    sid = new_sid()
    first = post(client, call_form(sid, caller=stranger))
    assert [(lang_, voice) for _, lang_, voice in says(first)][:2] == [("hi-IN", "Polly.Aditi"), ("en-IN", "Polly.Aditi")]
    answer = post(client, call_form(sid, LANGUAGE_KEY[lang], caller=stranger), gather_action(first))
    assert {lang_ for _, lang_, _ in says(answer)} == {SPOKEN_AS[lang]}
    assert {"en": "could not find a token", "hi": "कोई टोकन नहीं मिला"}[lang] in heard(answer)
    assert "1 5 0 0 5 5 5 0 0 0 6" in heard(answer)  # the SMS number to book on, digit by digit
    again = post(client, call_form(new_sid(), caller=stranger))  # remembered: no question
    assert {lang_ for _, lang_, _ in says(again)} == {SPOKEN_AS[lang]}


@pytest.mark.both_databases
@pytest.mark.parametrize("lang", LANGS)
def test_cancel_takes_a_confirmation_and_a_retried_key_cancels_nothing_twice(client, demo: Services, lang: str) -> None:  # type: ignore[no-untyped-def]
    patient(demo, lang)
    sid = new_sid()
    menu = post(client, call_form(sid))  # the patient's chat language is the line's
    confirm = post(client, call_form(sid, "2"), gather_action(menu))
    action = gather_action(confirm)
    assert dict(parse_qsl(urlsplit(action).query))["stage"].startswith("cancel:")
    done = post(client, call_form(sid, "1"), action)
    assert {"en": "is cancelled", "hi": "रद्द कर दिया गया"}[lang] in heard(done)
    with demo.db.read() as session:
        cancelled_rows = session.scalar(select(func.count()).select_from(OutboxMessage))
    retried = post(client, call_form(sid, "1"), action)  # Twilio retrying the same action
    assert {"en": "You have no token booked", "hi": "आपका कोई टोकन बुक नहीं है"}[lang] in heard(retried)
    with demo.db.read() as session:
        assert [t.status for t in session.scalars(select(Token))] == [TokenStatus.CANCELLED]
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == cancelled_rows


def test_the_same_key_pressed_again_later_is_a_new_answer(client, demo: Services) -> None:  # type: ignore[no-untyped-def]
    patient(demo, "en")
    sid = new_sid()
    menu = post(client, call_form(sid))
    confirm = post(client, call_form(sid, "2"), gather_action(menu))
    kept = post(client, call_form(sid, "5"), gather_action(confirm))
    assert "Your token is kept" in heard(kept)
    again = post(client, call_form(sid, "2"), gather_action(kept))  # "2" at the menu, a second time in this call
    assert "To cancel token" in heard(again)


@pytest.mark.both_databases
def test_key_3_leaves_one_open_callback_request(client, demo: Services) -> None:  # type: ignore[no-untyped-def]
    patient(demo, "hi")
    for _ in range(2):
        sid = new_sid()
        menu = post(client, call_form(sid))
        post(client, call_form(sid, "3"), gather_action(menu))
    with demo.db.read() as session:
        rows = session.scalars(select(CallbackRequest)).all()
        assert [(r.phone, r.open_phone, r.language) for r in rows] == [(INDIAN, INDIAN, "hi")]
        assert rows[0].person_id is not None


def test_the_line_is_off_without_twilio_and_its_settings_are_checked(db, catalogs: Catalogs) -> None:  # type: ignore[no-untyped-def]
    app = create_app(build_services(Settings(database_url=db.url), db=db, catalogs=catalogs))
    assert _post(app.test_client(), "/webhooks/twilio/voice", call_form(new_sid())).status_code == 404
    with pytest.raises(SettingsError, match="^TWILIO_ACCOUNT_SID must be set when TELEOPD_TWILIO_VOICE_FROM"):
        Settings.from_env({"TELEOPD_TWILIO_VOICE_FROM": VOICE_FROM})
    with pytest.raises(SettingsError, match="^TELEOPD_TWILIO_MISSED_CALL_NUMBER must be an E.164"):
        Settings.from_env({"TELEOPD_TWILIO_MISSED_CALL_NUMBER": "12345"})
    twilio = {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": "f" * 32, "TELEOPD_TWILIO_SMS_FROM": "+15005550006", "TELEOPD_PUBLIC_URL": PUBLIC}
    assert Settings.from_env(twilio | {"TELEOPD_TWILIO_VOICE_FROM": VOICE_FROM, "TELEOPD_TWILIO_MISSED_CALL_NUMBER": MISSED}).channel_status_lines()[-2] == (
        f"voice: on (calls from {VOICE_FROM}; missed calls to {MISSED}; calls in at /webhooks/twilio/voice)"
    )
    assert not any(line.startswith("voice") for line in Settings.from_env(twilio).channel_status_lines())


@pytest.mark.parametrize("form", [
    {"From": ""}, {"From": "Anonymous"}, {"CallSid": "not-a-call"}, {"Digits": "12345"},
], ids=["no-from", "withheld", "no-call-sid", "long-digits"])
def test_bad_input_gets_a_kind_spoken_answer_never_an_error(client, services: Services, form: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    root = post(client, {**call_form(new_sid()), **form})
    assert says(root), ET.tostring(root)


# --- the missed-call number --------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_a_missed_call_is_rejected_unanswered_and_the_status_comes_by_sms(client, demo: Services, fake: FakeTwilio, lang: str) -> None:  # type: ignore[no-untyped-def]
    number = patient(demo, lang)
    sid = new_sid()
    root = post(client, call_form(sid, to=MISSED))
    reject = root.find("Reject")
    assert reject is not None and reject.get("reason") == "busy" and not says(root)
    post(client, call_form(sid, to=MISSED))  # Twilio's retry: no second SMS
    withheld = post(client, {**call_form(new_sid(), to=MISSED), "From": "Anonymous"})
    assert withheld.find("Reject") is not None and not says(withheld)  # unanswered all the same, nobody to text
    demo.worker.drain()
    texts = [m["Body"] for m in fake.sent() if m["To"] == INDIAN]
    assert len(texts) == 1 and str(number) in texts[0] and segments(texts[0]) <= 2, texts
    assert {"en": "Token", "hi": "टोकन"}[lang] in texts[0]


def test_a_missed_call_from_a_number_we_do_not_know_says_how_to_book(client, demo: Services, fake: FakeTwilio) -> None:  # type: ignore[no-untyped-def]
    post(client, call_form(new_sid(), to=MISSED, caller="+919812345678"))
    demo.worker.drain()
    assert [m["Body"] for m in fake.sent() if m["To"] == "+919812345678"] == ["You have no token. Send MENU to book."]


# --- "the doctor is ready", as a phone call -----------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_the_doctor_ready_call_is_placed_and_its_key_1_joins(client, demo: Services, fake: FakeTwilio, lang: str) -> None:  # type: ignore[no-untyped-def]
    patient(demo, lang)
    sid = new_sid()
    menu = post(client, call_form(sid))
    chose = post(client, call_form(sid, "4"), gather_action(menu))
    assert {"en": "we will phone you", "hi": "हम इसी नंबर पर आपको फ़ोन करेंगे"}[lang] in heard(chose)
    doctor = enrolled_doctor(demo, "doc-voice", lang)
    doctor.say(WORDS[lang]["next"])
    demo.worker.drain()
    calls = fake.calls()
    assert [(c["To"], c["From"]) for c in calls] == [(INDIAN, VOICE_FROM)]
    twiml = ET.fromstring(calls[0]["Twiml"])
    spoken = says(twiml)
    assert len(spoken) == 2 and spoken[0] == spoken[1] and spoken[0][1] == SPOKEN_AS[lang]  # said, then said once more
    assert "Anita Sharma" in spoken[0][0] and {"en": "Press 1", "hi": "1 दबाएँ"}[lang] in spoken[0][0]
    action = gather_action(twiml)
    with demo.db.read() as session:
        consultation = session.scalars(select(Consultation)).one()
    assert dict(parse_qsl(urlsplit(action).query)) == {"keys": f"join:{consultation.id}|leave:{consultation.id}"}
    # The SMS with the room still goes.
    assert any("meet.jit.si" in m.get("Body", "") for m in fake.sent() if m["To"] == INDIAN)
    answered = post(client, call_form(new_sid(), "1", direction="outbound-api"), action)
    assert {"en": "The doctor knows you are coming", "hi": "डॉक्टर को पता है"}[lang] in heard(answered)
    assert answered.find("Hangup") is not None
    with demo.db.read() as session:
        assert session.get(Consultation, consultation.id).joined_at is not None  # type: ignore[union-attr]


def test_without_the_wish_no_call_is_placed(client, demo: Services, fake: FakeTwilio) -> None:  # type: ignore[no-untyped-def]
    patient(demo, "hi")
    doctor = enrolled_doctor(demo, "doc-quiet", "hi")
    doctor.say(WORDS["hi"]["next"])
    demo.worker.drain()
    assert fake.calls() == [] and any(m["To"] == INDIAN for m in fake.sent())


def test_a_walk_in_whose_health_worker_chose_a_call_is_phoned_when_the_doctor_is_ready(client, demo: Services, fake: FakeTwilio) -> None:  # type: ignore[no-untyped-def]
    with demo.db.write() as session:
        _, code = add_health_worker(session, "Asha Kumari", "PHC Sarnath")
        opd_id = find_opd(session, "GEN24").id  # type: ignore[union-attr]
    worker = open_chat(demo, "asha", "hi")
    worker.say(f"enroll {code}")
    worker.say(choice="book")
    worker.say("97457 86257")
    worker.say(choice="hi")  # the walk-in's SMS in Hindi
    for line in ("रमेश कुमार", "६०"):
        worker.say(line)
    worker.say(choice="male")
    worker.say("बुखार 2 दिन से")
    asked = worker.say(choice=f"opd:{opd_id}")
    assert "फ़ोन कॉल भी आए" in asked.all_text, asked.texts
    assert "फ़ोन कॉल आएगी" in worker.say("हाँ").all_text
    doctor = enrolled_doctor(demo, "doc-walk-in", "en")
    doctor.say(WORDS["en"]["next"])
    demo.worker.drain()
    [call] = fake.calls()
    assert call["To"] == INDIAN and says(ET.fromstring(call["Twiml"]))[0][1] == "hi-IN"
    # The walk-in calls the voice line and presses 3: their health worker is told, as well as the dashboard.
    sid = new_sid()
    menu = post(client, call_form(sid))
    post(client, call_form(sid, "3"), gather_action(menu))
    assert "रमेश कुमार" in worker.receive().all_text and "+919745786257" in worker.seen[-1]

"""The voice line's keys on the pure flow (flows/steps/voice.py), with in-memory ports, in Hindi and English.

Every answer is rendered the way the webhook renders it (each line through the catalogs, in
the language whose voice says it), so a Hindi caller hears Devanagari and an English one none.
hi-Latn, where the language exists, is a written form: its callers hear Hindi.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

import pytest

from bot.channels import voice as voice_channel
from bot.channels.base import OutgoingChoice, OutgoingMessage, PermanentError
from bot.platform.i18n import Catalogs
from flows.engine import LANGUAGES, State
from flows.notices import Notify
from flows.ports import BookedBy, CallEnded, Joined, NewCall, Party
from flows.steps import visit, voice
from tests.helpers import (
    FAKE_OPDS,
    IN_MEMORY_NOW,
    FakeBookings,
    FakeWalkins,
    FlowChat,
    consultation_view,
)

DEVANAGARI = re.compile(r"[\u0900-\u097F]")
SPOKEN = ("en", "hi")


@dataclass
class FakeLine:
    """The VoiceLine port in memory: a registered caller (or not), their callbacks and call-me choice."""

    known: bool = True
    callbacks: int = 0
    calls: bool = False
    walk_in: BookedBy | None = None

    def registered(self) -> bool:
        return self.known

    def request_callback(self) -> bool:
        if self.callbacks:
            return False
        self.callbacks += 1
        return True

    def booked_by(self) -> BookedBy | None:
        return self.walk_in

    def call_me(self) -> bool:
        return self.calls

    def set_call_me(self, on: bool) -> None:
        self.calls = on


@dataclass
class FakeVisits:
    """The patient's side of one call in memory: joined once, or declined."""

    joined: list[int] = field(default_factory=list)
    declined: list[int] = field(default_factory=list)

    def join(self, consultation_id: int) -> Joined | None:
        self.joined.append(consultation_id)
        return Joined(consultation_id, 4, Party(99), first=len(self.joined) == 1)

    def decline(self, consultation_id: int) -> CallEnded | None:
        self.declined.append(consultation_id)
        return CallEnded(consultation_id, 4, Party(99)) if len(self.declined) == 1 else None

    def rate(self, consultation_id: int, stars: int) -> bool:
        return False

    def follow_up(self, consultation_id: int):  # type: ignore[no-untyped-def]
        return None


def _booked(number: int = 4) -> FakeBookings:
    bookings = FakeBookings()
    bookings.tokens.append(bookings.token(FAKE_OPDS[0], number, IN_MEMORY_NOW))
    return bookings


def _caller(line: FakeLine | None = None, bookings: FakeBookings | None = None, visits: FakeVisits | None = None) -> voice.Caller:
    return voice.Caller(line or FakeLine(), bookings if bookings is not None else _booked(), IN_MEMORY_NOW, "+919876543210", visits)


def heard(catalogs: Catalogs, turn: voice.VoiceTurn) -> str:
    """Return what the caller hears, each line in its own language, checked like the webhook's TwiML."""
    lines = [(catalogs.translate(s.text, s.language), s.language) for s in turn.spoken.lines]
    for text, lang in lines:
        assert text.strip() and "{" not in text, text
        assert bool(DEVANAGARI.search(text)) == (lang == "hi"), (lang, text)
    voice_channel.speak(lines)  # lays out as TwiML
    return " ".join(text for text, _ in lines)


def test_a_first_call_asks_the_language_each_choice_in_its_own_voice(catalogs: Catalogs) -> None:
    turn = voice.answer(None, None, None, _caller())
    assert turn.spoken.gather == voice.LANGUAGE
    assert [s.language for s in turn.spoken.lines] == ["hi", "en"]
    said = heard(catalogs, turn)
    assert "हिन्दी के लिए 1 दबाएँ" in said and "For English, press 2" in said


@pytest.mark.parametrize(("key", "lang"), [("1", "hi"), ("2", "en")])
def test_the_language_key_is_kept_and_the_status_follows_in_it(catalogs: Catalogs, key: str, lang: str) -> None:
    turn = voice.answer(voice.LANGUAGE, key, None, _caller())
    assert turn.language == lang and turn.spoken.gather == voice.MENU
    said = heard(catalogs, turn)
    assert {s.language for s in turn.spoken.lines} == {lang}
    expected = {"en": ["Your token number is 4", "General Medicine", "You are number 4 in the queue", "about 30 minutes"],
                "hi": ["आपका टोकन नंबर 4 है", "सामान्य चिकित्सा", "कतार में आपका नंबर 4 है", "लगभग 30 मिनट"]}[lang]
    assert all(piece in said for piece in expected), said


def test_an_unknown_key_for_the_language_asks_again(catalogs: Catalogs) -> None:
    turn = voice.answer(voice.LANGUAGE, "7", None, _caller())
    assert turn.spoken.gather == voice.LANGUAGE and turn.language is None


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_written_language_is_spoken_as_hindi_or_english(catalogs: Catalogs, lang: str) -> None:
    turn = voice.answer(voice.START, None, lang, _caller())
    assert {s.language for s in turn.spoken.lines} == {voice.spoken_language(lang)}
    assert voice.spoken_language(lang) in SPOKEN
    heard(catalogs, turn)


@pytest.mark.parametrize("lang", SPOKEN)
def test_key_2_cancels_only_after_1_confirms_and_a_retry_cancels_nothing(catalogs: Catalogs, lang: str) -> None:
    bookings = _booked()
    caller = _caller(bookings=bookings)
    ask = voice.answer(voice.MENU, "2", lang, caller)
    token = bookings.tokens[0]
    assert ask.spoken.gather == f"{voice.CANCEL}:{token.id}"
    assert {"en": "press 1", "hi": "1 दबाएँ"}[lang] in heard(catalogs, ask)
    kept = voice.answer(ask.spoken.gather, "5", lang, caller)
    assert bookings.live_tokens() and {"en": "Your token is kept", "hi": "टोकन बना रहेगा"}[lang] in heard(catalogs, kept)
    done = voice.answer(ask.spoken.gather, "1", lang, caller)
    assert not bookings.live_tokens()
    assert {"en": "is cancelled", "hi": "रद्द कर दिया गया"}[lang] in heard(catalogs, done)
    again = voice.answer(ask.spoken.gather, "1", lang, caller)
    assert {"en": "no longer booked", "hi": "अब बुक नहीं"}[lang] in heard(catalogs, again)
    assert [t for t in bookings.tokens if t.status == "cancelled"] == [bookings.tokens[0]]


@pytest.mark.parametrize("lang", SPOKEN)
def test_key_3_asks_a_call_back_once(catalogs: Catalogs, lang: str) -> None:
    line = FakeLine()
    first = heard(catalogs, voice.answer(voice.MENU, "3", lang, _caller(line)))
    second = heard(catalogs, voice.answer(voice.MENU, "3", lang, _caller(line)))
    assert line.callbacks == 1
    assert {"en": "will call you back on this number", "hi": "इसी नंबर पर आपको फ़ोन करेंगे"}[lang] in first
    assert {"en": "already asked", "hi": "पहले ही"}[lang] in second


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_walk_ins_call_back_request_reaches_their_health_worker_too(catalogs: Catalogs, lang: str) -> None:
    line = FakeLine(walk_in=BookedBy(health_worker=42, patient_name="Ramesh Kumar", token_number=4, phone="+919876543210"))
    first = voice.answer(voice.MENU, "3", voice.spoken_language(lang), _caller(line))
    [notice] = first.notices
    assert isinstance(notice, Notify) and notice.identity_id == 42 and notice.exact
    told = catalogs.translate(notice.reply.text, lang)
    assert "Ramesh Kumar" in told and "+919876543210" in told and "4" in told
    assert voice.answer(voice.MENU, "3", "hi", _caller(line)).notices == []  # asked already: told once


@pytest.mark.parametrize("lang", SPOKEN)
def test_key_4_turns_the_doctors_phone_call_on_and_off(catalogs: Catalogs, lang: str) -> None:
    line = FakeLine()
    on = heard(catalogs, voice.answer(voice.MENU, "4", lang, _caller(line)))
    assert line.calls and {"en": "we will phone you", "hi": "हम इसी नंबर पर आपको फ़ोन करेंगे"}[lang] in on
    assert {"en": "Press 4 to stop", "hi": "फ़ोन कॉल बंद करने के लिए 4"}[lang] in on
    voice.answer(voice.MENU, "4", lang, _caller(line))
    assert not line.calls


@pytest.mark.parametrize("lang", SPOKEN)
def test_key_9_asks_the_language_and_a_wrong_key_hears_the_menu(catalogs: Catalogs, lang: str) -> None:
    assert voice.answer(voice.MENU, "9", lang, _caller()).spoken.gather == voice.LANGUAGE
    wrong = voice.answer(voice.MENU, "#", lang, _caller())
    assert wrong.spoken.gather == voice.MENU
    assert {"en": "not one of the choices", "hi": "यह बटन सही नहीं"}[lang] in heard(catalogs, wrong)


@pytest.mark.parametrize("lang", SPOKEN)
def test_a_caller_we_do_not_know_hears_how_to_book_with_the_number_digit_by_digit(catalogs: Catalogs, lang: str) -> None:
    line = FakeLine(known=False)
    turn = voice.answer(voice.START, None, lang, _caller(line, bookings=FakeBookings()))
    said = heard(catalogs, turn)
    assert "9 8 7 6 5 4 3 2 1 0" in said
    assert {"en": "could not find a token", "hi": "कोई टोकन नहीं मिला"}[lang] in said
    # No token to cancel and no call to ring: 2 and 4 are not offered and do nothing.
    assert "2" not in said.replace("9 8 7 6 5 4 3 2 1 0", "")
    assert voice.answer(voice.MENU, "4", lang, _caller(line)).spoken.gather == voice.MENU and not line.calls


@pytest.mark.parametrize("lang", SPOKEN)
def test_a_placed_call_joins_on_1_and_frees_the_doctor_on_2(catalogs: Catalogs, lang: str) -> None:
    visits = FakeVisits()
    joined = voice.answer(voice.CALL, "join:7", lang, _caller(visits=visits))
    assert visits.joined == [7] and joined.spoken.gather is None
    assert any(getattr(n, "identity_id", None) == 99 for n in joined.notices)  # the doctor hears "joining"
    assert {"en": "The doctor knows you are coming", "hi": "डॉक्टर को पता है"}[lang] in heard(catalogs, joined)
    left = voice.answer(voice.CALL, "leave:7", lang, _caller(visits=FakeVisits()))
    assert left.notices and left.spoken.gather is None
    other = voice.answer(voice.CALL, None, lang, _caller(visits=visits))
    assert other.spoken.gather == voice.CALL and visits.joined == [7]


def test_the_doctor_ready_call_reaches_the_patient_who_asked_for_it() -> None:
    view = dataclasses.replace(consultation_view(7), patient=Party(5, about=6), doctor="Anita Sharma",
                               call=NewCall(120, ring=Party(8, about=6)))
    notices = visit.called_notices(view, IN_MEMORY_NOW)
    rings = [n for n in notices if getattr(n, "identity_id", None) == 8]
    assert len(rings) == 1 and rings[0].exact and [c.key for c in rings[0].reply.choices] == ["join:7", "leave:7"]
    # Without the wish, no call: the SMS with the room is enough.
    quiet = visit.called_notices(dataclasses.replace(view, call=NewCall(120)), IN_MEMORY_NOW)
    assert not [n for n in quiet if getattr(n, "identity_id", None) == 8]


def test_without_a_number_to_call_from_key_4_is_not_offered(catalogs: Catalogs) -> None:
    line = FakeLine()
    caller = dataclasses.replace(_caller(line), can_ring=False)
    assert "Press 4" not in heard(catalogs, voice.answer(voice.START, None, "en", caller))
    voice.answer(voice.MENU, "4", "en", caller)
    assert not line.calls


def test_a_placed_calls_twiml_keeps_within_the_calls_apis_4000_characters() -> None:
    choices = (OutgoingChoice("join:7", "I am joining"), OutgoingChoice("leave:7", "I cannot come now"))
    short = voice_channel.render_call(OutgoingMessage("नमस्ते। डॉक्टर तैयार हैं।", choices), "https://teleopd.example.org")
    assert short.count("<Say") == 2 and 'language="hi-IN"' in short and "keys=join%3A7%7Cleave%3A7" in short
    long_text = "Namaste. " * 220  # about 2,000 characters: twice would pass 4,000
    once = voice_channel.render_call(OutgoingMessage(long_text, choices), "https://teleopd.example.org")
    assert once.count("<Say") == 1 and len(once) <= voice_channel.MAX_TWIML_CHARS
    with pytest.raises(PermanentError):
        voice_channel.render_call(OutgoingMessage(long_text * 3, choices), "https://teleopd.example.org")


WALK_IN = [("choice", "book"), ("text", "98765 43210"), ("choice", "hi"), ("text", "Ramesh"), ("text", "40"), ("choice", "male"), ("text", "bukhar 2 din se")]
ASKED = {"en": "Should Ramesh also get a phone call when the doctor is ready?", "hi": "क्या Ramesh को फ़ोन कॉल भी आए?"}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("answer", "rung"), [("1", ["+919876543210"]), ("2", [])])
def test_the_health_worker_is_asked_whether_a_walk_in_is_phoned_too(catalogs: Catalogs, lang: str, answer: str, rung: list[str]) -> None:
    walkins = FakeWalkins(rings=True)
    chat = FlowChat(catalogs, lang, State(step="hw_home", language=lang), role="health_worker", walkins=walkins, bookings=walkins.bookings)
    for kind, value in WALK_IN:
        chat.send(**{kind: value})
    texts = chat.send(choice=f"opd:{FAKE_OPDS[0].id}")
    assert chat.state.step == "hw_call_me" and walkins.booked
    if lang in ASKED:
        assert ASKED[lang] in texts[-1], texts
    texts = chat.send(answer)
    assert walkins.rung == rung and chat.state.step == "hw_home", texts
    assert "hw_ring_phone" not in chat.state.data


def test_without_calls_the_health_worker_is_not_asked(catalogs: Catalogs) -> None:
    walkins = FakeWalkins()
    chat = FlowChat(catalogs, "en", State(step="hw_home", language="en"), role="health_worker", walkins=walkins, bookings=walkins.bookings)
    for kind, value in WALK_IN:
        chat.send(**{kind: value})
    chat.send(choice=f"opd:{FAKE_OPDS[0].id}")
    assert chat.state.step == "hw_home" and walkins.rung == []

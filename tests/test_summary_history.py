"""A returning patient's summary on the pure flows (issue 16 item 2), in English, Hindi and romanised
Hindi: the last consultations under "Earlier consultations" (date, doctor, advice shortened, the
danger signs then and the private note, marked as such), whose consultation a follow-up follows, and
the private notes staying with doctors: nothing the patient or their health worker is told holds them.
The patient's own token says whose follow-up it is.

The database side (which consultations, in which order, whose) is tests/test_summary_history_records.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from bot.outbox.payloads import translate
from bot.platform.i18n import Catalogs
from flows.engine import LANGUAGES, State
from flows.messages import reply_to_json
from flows.notices import Notify
from flows.ports import DoctorState, FollowUpOf, NewCall, Party, PastConsultation
from flows.steps.doctor import HISTORY_ADVICE_MAX, shortened
from tests.helpers import (
    FAKE_OPDS,
    IN_MEMORY_NOW,
    FakeBookings,
    FakeDesk,
    FlowChat,
    consultation_view,
    registered_chat,
)

NEXT = {"en": "next", "hi": "अगला", "hi-Latn": "agla"}
DONE = {"en": "done", "hi": "हो गया", "hi-Latn": "ho gaya"}
SECRET = "suspect TB, keep an eye"

HISTORY = (
    PastConsultation(dt.date(2026, 11, 20), "Anita Sharma", "Paracetamol 500 mg twice a day.\nRest.", SECRET, ("chest_pain",)),
    PastConsultation(dt.date(2026, 10, 2), "Rajesh Kumar", "", "", (), referred=True),
    PastConsultation(dt.date(2026, 9, 15), "Anita Sharma", "Drink water.", "", ("seizure",)),
)

# What the summary says between "Danger signs" and "Video room", per language.
EARLIER = {
    "en": (
        "Earlier consultations: 5\n"
        "• 20 November 2026, Dr. Anita Sharma: Paracetamol 500 mg twice a day. / Rest.\n"
        f"Danger signs then: chest pain. Private note: {SECRET}\n"
        "• 2 October 2026, Dr. Rajesh Kumar (referred): -\n"
        "• 15 September 2026, Dr. Anita Sharma: Drink water.\n"
        "Danger signs then: seizure\n"
        "Video room: "
    ),
    "hi": (
        "पहले के परामर्श: 5\n"
        "• 20 नवंबर 2026, डॉ. Anita Sharma: Paracetamol 500 mg twice a day. / Rest.\n"
        f"उस समय ख़तरे के लक्षण: सीने में दर्द। निजी नोट: {SECRET}\n"
        "• 2 अक्टूबर 2026, डॉ. Rajesh Kumar (रेफ़र किया): -\n"
        "• 15 सितंबर 2026, डॉ. Anita Sharma: Drink water.\n"
        "उस समय ख़तरे के लक्षण: दौरा (झटके)\n"
        "वीडियो रूम: "
    ),
    "hi-Latn": (
        "Pehle ke consultation: 5\n"
        "- 20 November, 2026, Dr. Anita Sharma: Paracetamol 500 mg twice a day. / Rest.\n"
        f"Us samay khatre ke lakshan: seene mein dard. Niji note: {SECRET}\n"
        "- 2 October, 2026, Dr. Rajesh Kumar (refer kiya): -\n"
        "- 15 September, 2026, Dr. Anita Sharma: Drink water.\n"
        "Us samay khatre ke lakshan: daura (jhatke)\n"
        "Video room: "
    ),
}
FOLLOW_UP = {
    "en": "Token 1, General Medicine (24 hours)\nFollow-up of Dr. Anita Sharma's consultation on 20 November 2026\nPatient: ",
    "hi": "टोकन 1, सामान्य चिकित्सा (24 घंटे)\nडॉ. Anita Sharma के 20 नवंबर 2026 के परामर्श का फ़ॉलो-अप\nमरीज़: ",
    "hi-Latn": "Token 1, General Medicine (24 hours)\nDr. Anita Sharma ke 20 November, 2026 ke consultation ka follow-up\nMareez: ",
}
NO_HISTORY = {"en": "Earlier consultations: 0\nVideo room: ", "hi": "पहले के परामर्श: 0\nवीडियो रूम: ", "hi-Latn": "Pehle ke consultation: 0\nVideo room: "}


def doctor_calls(catalogs: Catalogs, lang: str, **view: object) -> tuple[FlowChat, FakeDesk, str]:
    """A free doctor sends NEXT for one waiting patient; return the chat, the desk and the summary."""
    desk = FakeDesk(status=DoctorState.FREE, waiting=[dataclasses.replace(consultation_view(), **view)])  # type: ignore[arg-type]
    chat = FlowChat(catalogs, lang, State(step="doctor_home", language=lang), desk=desk, role="doctor")
    texts = chat.send(NEXT[lang])
    assert chat.state.step == "consulting"
    return chat, desk, texts[0]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_summary_lists_the_last_consultations_newest_first_with_notes_marked_and_danger_signs_then(catalogs: Catalogs, lang: str) -> None:
    _, _, summary = doctor_calls(catalogs, lang, earlier_consultations=5, history=HISTORY)
    assert EARLIER[lang] in summary, summary


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_first_visit_says_none_came_before_and_lists_nothing(catalogs: Catalogs, lang: str) -> None:
    _, _, summary = doctor_calls(catalogs, lang)
    assert NO_HISTORY[lang] in summary, summary
    assert "•" not in summary and "\n- " not in summary


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_follow_up_says_whose_consultation_it_follows(catalogs: Catalogs, lang: str) -> None:
    _, _, summary = doctor_calls(catalogs, lang, follow_up_of=FollowUpOf("Anita Sharma", dt.date(2026, 11, 20)))
    assert summary.startswith(FOLLOW_UP[lang]), summary


def test_long_advice_is_cut_at_a_word_on_one_line() -> None:
    advice = "Paracetamol 500 mg twice a day for three days.\n\nDrink plenty of water, rest, and come back if the fever lasts."
    short = shortened(advice, HISTORY_ADVICE_MAX)
    assert short == "Paracetamol 500 mg twice a day for three days. / Drink plenty of water, rest…"
    assert len(short) <= HISTORY_ADVICE_MAX and "\n" not in short
    # Hindi is cut between words too, never inside a letter and its vowel sign.
    hindi = "खूब पानी पिएँ और आराम करें। " * 6
    cut = shortened(hindi, 40)
    assert cut.endswith("…") and len(cut) <= 40 and hindi.startswith(cut[:-1]) and hindi[len(cut) - 1] == " "
    assert shortened("  \n ", 40) == "" and shortened("Rest.", 40) == "Rest."


@pytest.mark.parametrize("lang", LANGUAGES)
def test_private_notes_reach_no_patient_and_no_health_worker(catalogs: Catalogs, lang: str) -> None:
    """The summary of a walk-in (their health worker is told too) carries a note; the call and the advice do not."""
    chat, desk, summary = doctor_calls(
        catalogs, lang, history=HISTORY, earlier_consultations=3, call=NewCall(120.0), patient=Party(5, about=55), health_worker=9,
        walk_in_phone="+919812345678", clinic="PHC Sarnath", advice="Rest well and drink water.",
    )
    assert SECRET in summary  # the doctor reads it
    told = list(chat.notices)
    chat.send(DONE[lang])
    told += chat.notices
    notified = [notice for notice in told if isinstance(notice, Notify)]
    assert {notice.identity_id for notice in notified} == {5, 9}
    advice_seen = False
    for notice in notified:
        for reply_lang in LANGUAGES:
            for form in (notice.reply, dataclasses.replace(notice.reply, text=notice.reply.sms) if notice.reply.sms else None):
                if form is None:
                    continue
                text = translate(catalogs, reply_to_json(form), reply_lang).text or ""
                assert SECRET not in text and "likely" not in text, text
                advice_seen |= "Rest well and drink water." in text
    assert advice_seen  # the advice did go out: it is the notes, not everything, that stay behind
    # Nor does any other notice carry them (the patient's chat moved, timers).
    assert all(SECRET not in json.dumps(dataclasses.asdict(notice), default=str, ensure_ascii=False) for notice in told)
    assert desk.consultation is None


# --- whose follow-up it is, as the patient sees it --------------------------------------------

WHOSE = {
    "en": "25 November 2026\nFollow-up with Dr. Anita Sharma.\nPlace in the queue: 3.",
    "hi": "25 नवंबर 2026\nडॉ. Anita Sharma के साथ फ़ॉलो-अप।\nकतार में जगह: 3।",
    "hi-Latn": "25 November, 2026\nDr. Anita Sharma ke saath follow-up.\nLine mein jagah: 3.",
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_my_token_says_whose_follow_up_it_is(catalogs: Catalogs, lang: str) -> None:
    bookings = FakeBookings()
    token = bookings.token(FAKE_OPDS[0], 3, IN_MEMORY_NOW)
    bookings.tokens.append(dataclasses.replace(token, follow_up_doctor="Anita Sharma"))
    shown = registered_chat(catalogs, lang, bookings=bookings).send(choice="token")[0]
    assert WHOSE[lang] in shown, shown
    # Any other token says nothing of the kind.
    bookings.tokens[0] = token
    shown = registered_chat(catalogs, lang, bookings=bookings).send(choice="token")[0]
    assert "Anita Sharma" not in shown and "\n" + WHOSE[lang].split("\n")[2] in shown

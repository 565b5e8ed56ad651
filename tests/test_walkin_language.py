"""A walk-in's SMS language is asked, kept as theirs, and their token SMS says what happens at their turn.

The health worker asks it in front of the patient (English / हिन्दी / Hindi in English letters,
for phones without Hindi); the walk-in's SMS go in it, whatever the health worker's own
language. A walk-in is seen at the clinic: when the doctor calls, the health worker gets the
video room and joins with them (flows/steps/visit.py), so the SMS says to be at the clinic.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from bot.channels.sms_text import is_gsm7, render_sms, segments
from bot.outbox.payloads import translate
from bot.platform.i18n import Catalogs
from bot.runtime import Services
from bot.services.enrolment import add_health_worker
from bot.services.opds import find_opd
from bot.store.models import Identity, OutboxMessage, Person, Token
from flows.engine import LANGUAGES, State
from flows.messages import Reply, reply_to_json
from flows.notices import Notify
from flows.ports import Party
from flows.steps.health_worker import patient_token_sms
from tests.doctor_helpers import open_chat, step_of  # noqa: F401  (fixtures)
from tests.helpers import FAKE_OPDS, FakeWalkins, FlowChat

PATIENT = Party(41, about=9)
# What each language's walk-in reads at the end of the token SMS: be at the clinic at your turn.
WHAT_NEXT = {
    "en": "Be at the clinic at your turn: the doctor sees you there by video.",
    "hi": "बारी पर क्लिनिक आएँ: डॉक्टर वहीं देखेंगे।",
    "hi-Latn": "Apni baari par clinic mein rahein: doctor wahin video par dekhenge.",
}
QUESTION = {
    "en": "Which language should the patient's SMS be in?",
    "hi": "मरीज़ को एसएमएस किस भाषा में भेजें?",
    "hi-Latn": "Mareez ko SMS kis bhasha mein bhejein?",
}
ROMANISED_LABEL = {
    "en": "Hindi in English letters, for phones without Hindi",
    "hi": "अंग्रेज़ी अक्षरों में हिन्दी, उन फ़ोन के लिए जिनमें हिन्दी नहीं दिखती",
    "hi-Latn": "Hindi English akshar mein, jin phone mein Hindi nahi dikhti",
}


def _as_sms(catalogs: Catalogs, reply: Reply, lang: str) -> str:
    """Return a message as the SMS channel sends it to a reader of lang (as the outbox keeps it)."""
    return render_sms(translate(catalogs, json.loads(json.dumps(reply_to_json(reply))), lang, sms=True))


def _worker_at_the_language_question(catalogs: Catalogs, lang: str) -> tuple[FlowChat, FakeWalkins]:
    walkins = FakeWalkins(patient_chat=PATIENT)
    chat = FlowChat(catalogs, lang, State(step="hw_home", language=lang), role="health_worker", walkins=walkins, bookings=walkins.bookings)
    chat.send(choice="book")
    texts = chat.send("98765 43210")
    assert chat.state.step == "hw_language"
    assert texts[-1].startswith(QUESTION[lang])
    return chat, walkins


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_health_worker_is_asked_the_walk_ins_sms_language_after_the_number(catalogs: Catalogs, lang: str) -> None:
    chat, _ = _worker_at_the_language_question(catalogs, lang)
    assert chat.last_choices == ["en", "hi", "hi-Latn"]
    labels = [catalogs.format_value(choice.label, lang) for choice in chat.replies[-1].choices]
    assert labels[2] == ROMANISED_LABEL[lang]
    chat.send("kuch bhi")  # none of them: asked again
    assert chat.state.step == "hw_language"


@pytest.mark.parametrize("worker_lang", LANGUAGES)
@pytest.mark.parametrize(("answer", "chosen"), [("1", "en"), ("हिन्दी", "hi"), ("hinglish", "hi-Latn"), ("3", "hi-Latn")])
def test_the_walk_ins_token_sms_is_in_their_language_and_says_what_happens_next(
    catalogs: Catalogs, worker_lang: str, answer: str, chosen: str
) -> None:
    chat, walkins = _worker_at_the_language_question(catalogs, worker_lang)
    chat.send(answer)
    for said in ("Ramesh Kumar", "60"):
        chat.send(said)
    chat.send(choice="male")
    chat.send("bukhar 2 din se")
    texts = chat.send(choice=f"opd:{FAKE_OPDS[0].id}")
    assert chat.state.step == "hw_home", texts
    [(patient, _intake, _priority)] = walkins.booked
    assert patient.language == chosen
    assert "hw_language" not in chat.state.data  # a next walk-in is asked afresh
    [notice] = chat.notices
    assert isinstance(notice, Notify) and notice.identity_id == PATIENT.identity_id
    body = _as_sms(catalogs, notice.reply, chosen)
    assert body.endswith(WHAT_NEXT[chosen]), body
    assert segments(body) <= 2
    assert is_gsm7(body) == (chosen != "hi"), body


def _hw_books(services: Services, lang: str, phone: str, sms_language: str, name: str) -> Token:
    with services.db.write() as session:
        _, code = add_health_worker(session, "Asha Kumari", "PHC Sarnath")
        opd = find_opd(session, "GEN24")
        assert opd is not None
        opd_id = opd.id
    worker = open_chat(services, f"asha-{name}", lang)
    worker.say(f"enroll {code}")
    worker.say(choice="book")
    for said in (phone, sms_language, name, "60"):
        worker.say(said)
    worker.say(choice="male")
    worker.say("bukhar 2 din se")
    answer = worker.say(choice=f"opd:{opd_id}")
    assert step_of(services, worker.user) == "hw_home", answer.texts
    with services.db.read() as session:
        return session.scalars(select(Token).order_by(Token.id.desc())).first()  # type: ignore[return-value]


@pytest.mark.both_databases
def test_a_walk_in_booked_by_a_hindi_health_worker_gets_romanised_hindi_sms(demo: Services, catalogs: Catalogs) -> None:
    token = _hw_books(demo, "hi", "98123 45678", "hinglish", "Ramesh Kumar")
    with demo.db.read() as session:
        sms_chat = session.scalars(select(Identity).where(Identity.channel == "sms", Identity.address == "+919812345678")).one()
        walk_in = session.get(Person, token.person_id)
        assert walk_in is not None and walk_in.language == "hi-Latn"
        assert sms_chat.language == "hi-Latn" and sms_chat.person_id == walk_in.id
        [row] = session.scalars(select(OutboxMessage).where(OutboxMessage.identity_id == sms_chat.id)).all()
        assert row.language == "hi-Latn"
        body = render_sms(translate(catalogs, row.payload, row.language, sms=True))
    assert body.startswith(f"Token {token.number}, General Medicine") and body.endswith(WHAT_NEXT["hi-Latn"]), body
    assert is_gsm7(body) and segments(body) <= 2


@pytest.mark.both_databases
def test_the_language_chosen_is_the_phones_and_nobody_elses_record_changes(demo: Services, catalogs: Catalogs) -> None:
    """Sita was booked on this number in Hindi; Ramesh, on the same phone, cannot read Devanagari on it.

    His token comes in romanised Hindi (the number's SMS chat speaks it now); Sita's own record
    keeps her name and her Hindi: a typed number changes nothing of hers.
    """
    _hw_books(demo, "en", "98123 45678", "हिन्दी", "Sita Devi")
    token = _hw_books(demo, "en", "98123 45678", "hinglish", "Ramesh Kumar")
    with demo.db.read() as session:
        sms_chat = session.scalars(select(Identity).where(Identity.channel == "sms")).one()
        walk_in = session.get(Person, token.person_id)
        assert walk_in is not None and walk_in.language == "hi-Latn"
        holder = session.get(Person, sms_chat.person_id)
        assert holder is not None and (holder.name, holder.language) == ("Sita Devi", "hi")
        assert sms_chat.language == "hi-Latn"
        last = session.scalars(select(OutboxMessage).where(OutboxMessage.identity_id == sms_chat.id).order_by(OutboxMessage.id.desc())).first()
        assert last is not None and last.language == "hi-Latn"
        assert is_gsm7(render_sms(translate(catalogs, last.payload, last.language, sms=True)))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_walk_in_first_in_line_is_told_they_are_next_not_place_1_about_0_minutes(catalogs: Catalogs, lang: str) -> None:
    first = translate(catalogs, json.loads(json.dumps(reply_to_json(patient_token_sms(4, FAKE_OPDS[0].name, dt.date(2026, 12, 8), 1, 0)))), lang, sms=True)
    later = translate(catalogs, json.loads(json.dumps(reply_to_json(patient_token_sms(4, FAKE_OPDS[0].name, dt.date(2026, 12, 8), 3, 20)))), lang, sms=True)
    next_words = {"en": "You are next", "hi": "अगली बारी आपकी है", "hi-Latn": "Agli baari aapki hai"}[lang]
    assert next_words in first.text and "~0" not in first.text
    assert next_words not in later.text and "3" in later.text and "20" in later.text

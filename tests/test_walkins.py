"""A health worker's walk-in patient is a person of their own: a typed number joins them to nobody.

The number a health worker types is the walk-in's SMS address, not proof of who they are: a
patient already registered on that number (on WhatsApp, say) keeps their name, age and sex,
hears nothing about the walk-in's token, and their "delete my data" leaves the walk-in's
token alone. The number links the walk-in to other chats only once the walk-in answers by
SMS from it (the provider vouches for the sender). In English and Hindi, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.outbox.timers import TimerStatus
from bot.runtime import Services
from bot.services.enrolment import add_health_worker
from bot.services.opds import find_opd
from bot.store.models import (
    Consultation,
    Identity,
    OutboxMessage,
    Patient,
    Person,
    Timer,
    Token,
    TokenStatus,
)
from tests.doctor_helpers import (  # noqa: F401  (fixtures)
    COMPLAINT,
    LANGS,
    OPEN,
    WORDS,
    Chat,
    _clear_of_midnight_ist,
    enrolled_doctor,
    open_chat,
    step_of,
)
from tests.helpers import PhoneUser

# The database is what is tested here: a walk-in's identity linked later by phone (unique identities, upserts).
pytestmark = pytest.mark.both_databases

PHONE = "+919812345678"
TYPED = "98123 45678"  # as the health worker types it
SUNITA = {"en": "Sunita Real", "hi": "सुनीता रियल"}
WALK_IN = {"en": "Wrong Person", "hi": "रमेश कुमार"}
AGE = {"en": ("40", "70"), "hi": ("४०", "७०")}
REGISTER = {
    "en": ["yes", "{name}", "{age}", "female", "Uttar Pradesh", "Varanasi", "yes"],
    "hi": ["हाँ", "{name}", "{age}", "महिला", "उत्तर प्रदेश", "वाराणसी", "हाँ"],
}
ERASE = {"en": ("delete my data", "yes"), "hi": ("मेरा डेटा हटाएं", "हाँ")}


def whatsapp_patient(services: Services, lang: str) -> PhoneUser:
    """Sunita registers herself on WhatsApp (the number comes with the channel); ends at the menu."""
    sunita = PhoneUser(services, "whatsapp", PHONE)
    for line in (*OPEN[lang], *REGISTER[lang]):
        sunita.say(line.format(name=SUNITA[lang], age=AGE[lang][0]))
    assert step_of(services, sunita.address) == "menu"
    return sunita


def health_worker(services: Services, lang: str, user: str = "asha") -> Chat:
    """A health worker enrols in a chat of their language; ends at their menu."""
    with services.db.write() as session:
        _, code = add_health_worker(session, "Asha Kumari", "PHC Sarnath")
    worker = open_chat(services, user, lang)
    worker.say(f"enroll {code}")
    assert step_of(services, user) == "hw_home"
    return worker


def book_walk_in(services: Services, worker: Chat, name: str, age: str) -> Token:
    """The health worker books a male walk-in on the typed number at GEN24; return the token."""
    with services.db.read() as session:
        opd = find_opd(session, "GEN24")
        assert opd is not None
        opd_id = opd.id
    worker.say(choice="book")
    worker.say(TYPED)
    worker.say(choice=worker.lang)  # the walk-in's SMS in the health worker's language, as before it was asked
    for line in (name, age):
        worker.say(line)
    worker.say(choice="male")
    worker.say(COMPLAINT[worker.lang])
    answer = worker.say(choice=f"opd:{opd_id}")
    assert step_of(services, worker.user) == "hw_home", answer.texts
    with services.db.read() as session:
        return session.scalars(select(Token).order_by(Token.id.desc())).first()  # type: ignore[return-value]


def person_of(services: Services, address: str) -> tuple[int | None, str | None, int | None, str | None]:
    """Return the person behind a chat: id, name, age, sex."""
    with services.db.read() as session:
        row = session.execute(
            select(Person.id, Person.name, Patient.age, Patient.sex)
            .select_from(Identity)
            .outerjoin(Person, Person.id == Identity.person_id)
            .outerjoin(Patient, Patient.person_id == Person.id)
            .where(Identity.address == address)
        ).one()
    return row.id, row.name, row.age, row.sex


@pytest.mark.parametrize("lang", LANGS)
def test_a_walk_in_on_a_registered_patients_number_takes_nothing_of_hers(demo: Services, lang: str) -> None:
    sunita = whatsapp_patient(demo, lang)
    hers = person_of(demo, sunita.address)
    assert hers[1:] == (SUNITA[lang], 40, "female")
    worker = health_worker(demo, lang)
    with demo.db.read() as session:
        last_row = session.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).limit(1))

    token = book_walk_in(demo, worker, WALK_IN[lang], AGE[lang][1])

    assert person_of(demo, sunita.address) == hers  # not renamed, not re-aged
    with demo.db.read() as session:
        walk_in = session.get(Person, token.person_id)
        assert walk_in is not None and walk_in.id != hers[0]
        assert (walk_in.name, walk_in.patient.age, walk_in.patient.sex) == (WALK_IN[lang], 70, "male")
        since = list(session.scalars(select(OutboxMessage).where(OutboxMessage.id > last_row)))
    # The token's text goes to the typed number by SMS, and nothing to Sunita's WhatsApp.
    assert [(row.channel, row.address) for row in since if row.address != worker.user] == [("sms", PHONE)]

    # Sunita deletes her data: the walk-in's token and details stay.
    for line in ERASE[lang]:
        sunita.say(line)
    with demo.db.read() as session:
        assert session.get(Person, hers[0]).name == ""  # type: ignore[union-attr]  (she is erased)
        assert session.get(Token, token.id).status == TokenStatus.WAITING
        walk_in = session.get(Person, token.person_id)
        assert walk_in is not None and walk_in.name == WALK_IN[lang]


@pytest.mark.parametrize("lang", LANGS)
def test_the_typed_number_links_the_walk_in_to_other_chats_only_after_their_sms_reply(demo: Services, lang: str) -> None:
    worker = health_worker(demo, lang)
    token = book_walk_in(demo, worker, WALK_IN[lang], AGE[lang][1])
    # Someone writes from the number on WhatsApp: a newcomer, not the walk-in the worker typed it for.
    whatsapp = PhoneUser(demo, "whatsapp", PHONE)
    whatsapp.say(OPEN[lang][0])
    assert person_of(demo, whatsapp.address)[0] is None
    assert step_of(demo, whatsapp.address) == "language"
    # The walk-in answers by SMS from the number: now the number is theirs, and joins their chats.
    PhoneUser(demo, "sms", PHONE).say("status" if lang == "en" else "स्थिति")
    assert person_of(demo, PHONE)[0] == token.person_id
    assert person_of(demo, whatsapp.address)[0] == token.person_id


@pytest.mark.parametrize("lang", LANGS)
def test_the_same_walk_in_booked_again_is_the_same_person(demo: Services, lang: str) -> None:
    worker = health_worker(demo, lang)
    first = book_walk_in(demo, worker, WALK_IN[lang], AGE[lang][1])
    with demo.db.write() as session:  # seen, so the same OPD may be booked again today
        session.get(Token, first.id).status = TokenStatus.DONE  # type: ignore[union-attr]
    again = book_walk_in(demo, worker, WALK_IN[lang].upper() if lang == "en" else WALK_IN[lang], AGE[lang][1])
    assert again.id != first.id and again.person_id == first.person_id


@pytest.mark.parametrize("lang", LANGS)
def test_a_walk_in_on_a_number_whose_texts_reach_another_patient_hears_by_sms_only(demo: Services, lang: str) -> None:
    """Sunita proved the number by SMS too (two-way SMS): the walk-in's texts still go by SMS, never to her WhatsApp."""
    sunita = whatsapp_patient(demo, lang)
    PhoneUser(demo, "sms", PHONE).say(OPEN[lang][0])
    sunita.say("menu" if lang == "en" else "मेनू")  # WhatsApp is where she wrote last
    assert person_of(demo, PHONE)[0] == person_of(demo, sunita.address)[0]
    worker = health_worker(demo, lang)
    with demo.db.read() as session:
        last_row = session.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).limit(1))

    token = book_walk_in(demo, worker, WALK_IN[lang], AGE[lang][1])

    with demo.db.read() as session:
        since = list(session.scalars(select(OutboxMessage).where(OutboxMessage.id > last_row)))
        assert session.get(Person, token.person_id).name == WALK_IN[lang]  # type: ignore[union-attr]
    assert [(row.channel, row.address) for row in since if row.address != worker.user] == [("sms", PHONE)]
    assert person_of(demo, sunita.address)[1] == SUNITA[lang]


WALK_IN_SUMMARY = {"en": "walk-in at PHC Sarnath, phone +919812345678", "hi": "PHC Sarnath पर आए मरीज़, फ़ोन +919812345678"}


@pytest.mark.parametrize("lang", LANGS)
def test_the_doctor_sees_the_walk_ins_number_and_clinic_and_the_health_worker_gets_the_room_then_the_advice(demo: Services, lang: str) -> None:
    """Before: "Patient: Ramesh Kumar, 60, male, -", no room for the health worker, no advice for anyone at the clinic."""
    worker = health_worker(demo, lang)
    book_walk_in(demo, worker, WALK_IN[lang], AGE[lang][0])
    doctor = enrolled_doctor(demo, f"doctor-{lang}", lang)
    summary = "\n".join(doctor.say(WORDS[lang]["next"]).texts)
    assert WALK_IN_SUMMARY[lang] in summary, summary
    with demo.db.read() as session:
        consultation_id, room = session.execute(select(Consultation.id, Consultation.room_url)).one()
        # The walk-in's own SMS sends them to the health worker: a room link is no use on a feature phone.
        called = session.scalars(select(OutboxMessage).where(OutboxMessage.address == PHONE).order_by(OutboxMessage.id.desc())).first()
    assert called is not None and called.payload["text"]["id"].startswith("Dr. {doctor} is ready for you now. Please go to the health worker")
    told = worker.receive()
    assert room in told.all_text and [c["label"] for c in told.choices[-1]] == [{"en": "We are joining", "hi": "हम जुड़ रहे हैं"}[lang]]
    # The health worker joins with the walk-in: the doctor is told and the no-show timers stop.
    assert worker.say(choice=f"hwjoin:{consultation_id}").texts == [
        {"en": "Thank you. The doctor knows you are joining with the patient.", "hi": "धन्यवाद। डॉक्टर को पता है कि आप मरीज़ के साथ जुड़ रहे हैं।"}[lang]
    ]
    with demo.db.read() as session:
        assert session.get(Consultation, consultation_id).joined_at is not None  # type: ignore[union-attr]
        assert [t.status for t in session.scalars(select(Timer).where(Timer.kind == "call_reminder"))] == [TimerStatus.CANCELLED]
    assert doctor.t("joining", number=1) in doctor.receive().all_text
    advice = {"en": "Rest, and drink plenty of water.", "hi": "आराम करें और खूब पानी पिएँ।"}[lang]
    doctor.say(advice)
    doctor.say(WORDS[lang]["done"])
    assert advice in "\n".join(worker.receive().texts)

"""Whole booking journeys as dialog tables, in English, Devanagari Hindi and romanised Hindi.

A new user registers and books as a real user would type ("mujhe bukhar hai", "3 din se",
"haan", numbers for choices); every token the bot shows is checked against the database: the
journey to a token and its place, a child to paediatrics, the suggested OPD fitting the
complaint, and choosing another OPD by number and by name. Tests run at the real current
time on the demo's round-the-clock General OPD (GEN24), or with every OPD open.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.runtime import Services
from bot.store.models import (
    Identity,
    Opd,
    Patient,
    Person,
    TokenStatus,
)
from tests.booking_helpers import (  # noqa: F401  (fixtures are used by being imported)
    CHILD,
    JOURNEY,
    NAMES,
    OTHER_OPD,
    SEX,
    STATUS_WORD,
    STYLES,
    YES,
    Q,
    _clear_of_midnight_ist,
    all_open,
    assert_clean,
    live_position,
    message_with,
    read_token,
    register,
    run,
    today_ist,
    tokens_of,
)

# The second patient says it differently and names the duration at once.
SECOND_JOURNEY = {
    "english": [("headache since 2 days", Q["en"]["who"]), ("1", Q["en"]["how_bad"]), ("mild", Q["en"]["suggest"]), ("1", Q["en"]["booked"])],
    "hindi": [("२ दिन से सिर दर्द", Q["hi"]["who"]), ("मैं खुद", Q["hi"]["how_bad"]), ("हल्का", Q["hi"]["suggest"]), ("१", Q["hi"]["booked"])],
    "romanised": [("kal se sar dard hai", Q["hi"]["who"]), ("khud", Q["hi"]["how_bad"]), ("1", Q["hi"]["suggest"]), ("theek hai", Q["hi"]["booked"])],
}
GEN24_NAME = {"en": "General Medicine (24 hours)", "hi": "सामान्य चिकित्सा (24 घंटे)"}


@pytest.mark.parametrize("style", STYLES)
def test_journey_ends_with_a_token_and_status_tells_the_place(demo: Services, style: str) -> None:
    first = register(demo, style, f"first-{style}")
    ui = first.ui
    answer = run(first, JOURNEY[style])
    shown = message_with(answer, Q[ui]["booked"])
    assert GEN24_NAME[ui] in shown
    number, place = read_token(shown, ui)
    assert first.q("next") in shown
    assert first.q("menu") in answer.texts[-1]  # back at the menu, with something to do

    [token] = tokens_of(demo, first.user)
    assert (token.opd.code, token.day, token.status) == ("GEN24", today_ist(), TokenStatus.WAITING)
    assert (token.number, live_position(demo, token.id)) == (number, place) == (1, 1)
    assert token.priority is False and token.red_flags == []
    assert token.person.name == NAMES[style][0]
    assert token.intake["symptoms"] == ["fever"] + (["cough"] if style == "english" else [])
    assert token.intake["severity"] in ("mild", "moderate")

    # A second patient, booked later, is behind the first: one consultation's wait.
    second = register(demo, style, f"second-{style}", NAMES[style][1], "male")
    answer = run(second, SECOND_JOURNEY[style])
    shown = message_with(answer, Q[ui]["booked"])
    number2, place2 = read_token(shown, ui)
    [token2] = tokens_of(demo, second.user)
    with demo.db.read() as session:
        per_patient = session.scalars(select(Opd.consult_minutes).where(Opd.code == "GEN24")).one()
    assert (token2.opd.code, token2.number, live_position(demo, token2.id)) == ("GEN24", number2, place2) == ("GEN24", 2, 2)
    assert second.q("minutes", n=1 * per_patient) in shown and second.q("per_patient", n=per_patient) in shown

    # Later, "status" in the user's own words gives each their place and wait.
    status = first.say(STATUS_WORD[style])
    assert read_token(status.texts[0], ui) == (1, 1)
    assert first.q("next") in status.texts[0]
    assert first.q("menu") in status.texts[-1]
    status = second.say(STATUS_WORD[style])
    assert read_token(status.texts[0], ui) == (2, 2)
    assert second.q("minutes", n=per_patient) in status.texts[0]
    assert_clean(first)
    assert_clean(second)


CHILD_NAME = {"english": "Guddu", "hindi": "गुड्डू", "romanised": "Guddu"}


@pytest.mark.parametrize("style", STYLES)
def test_a_child_goes_to_paediatrics_and_is_offered_by_name_next_time(all_open: Services, style: str) -> None:
    parent = register(all_open, style, f"parent-{style}")
    parent.names.add(CHILD_NAME[style])
    answer = run(parent, CHILD[style])
    shown = message_with(answer, parent.q("booked"))
    number, place = read_token(shown, parent.ui)
    assert CHILD_NAME[style] in shown
    [token] = tokens_of(all_open, parent.user)
    assert (token.opd.code, token.opd.specialty, token.number, live_position(all_open, token.id)) == (
        "PAED", "paediatrics", number, place,
    )
    with all_open.db.read() as session:
        child = session.get(Person, token.person_id)
        parent_person = session.scalars(select(Identity.person_id).where(Identity.address == parent.user)).one()
        record = session.get(Patient, token.person_id)
        assert child is not None and record is not None
        assert (child.name, child.guardian_id, record.age, record.sex) == (CHILD_NAME[style], parent_person, 5, "male")

    # Next time the child is one of the answers to "Who is the patient?" — and asking for
    # the same OPD on the same day shows the token the child already has.
    answer = parent.say({"english": "See a doctor", "hindi": "डॉक्टर से सलाह लें", "romanised": "doctor"}[style])
    assert parent.q("symptoms") in answer.texts[-1]
    answer = parent.say({"english": "he has loose motions", "hindi": "दस्त हो रहे हैं", "romanised": "dast ho rahe hain"}[style])
    assert parent.q("who") in answer.texts[-1]
    assert CHILD_NAME[style] in answer.last_choices
    run(
        parent,
        [
            (CHILD_NAME[style], parent.q("since")),
            ({"english": "2 days", "hindi": "२ दिन", "romanised": "do din se"}[style], parent.q("how_bad")),
            ("1", parent.q("suggest")),
        ],
    )
    answer = parent.say(YES[style])
    assert parent.q("existing") in answer.all_text
    assert read_token(message_with(answer, CHILD_NAME[style]), parent.ui)[0] == number
    assert len(tokens_of(all_open, parent.user)) == 1
    with all_open.db.read() as session:
        assert len(session.scalars(select(Person).where(Person.name == CHILD_NAME[style])).all()) == 1
    assert_clean(parent)


@pytest.mark.parametrize("style", STYLES)
def test_a_child_with_the_real_hours_still_goes_to_paediatrics(demo: Services, style: str) -> None:
    """With the demo's own hours: a token today if Paediatrics is open, else its next session."""
    parent = register(demo, style, f"real-{style}")
    parent.names.add(CHILD_NAME[style])
    run(parent, CHILD[style][:-1])
    answer = parent.say(YES[style])
    if parent.q("offer") in answer.texts[-1]:
        assert parent.q("closed") in answer.texts[-1]
        answer = parent.say(YES[style])
    assert parent.q("booked") in answer.all_text
    [token] = tokens_of(demo, parent.user)
    assert token.opd.specialty == "paediatrics" and token.day >= today_ist()
    assert_clean(parent)


# (style, what the patient says, sex, the OPD the bot must suggest, its code)
FITTING_OPD = [
    ("english", "I have a rash on my arms", "male", "The Dermatology OPD fits these symptoms.", "DERM"),
    ("hindi", "त्वचा पर चकत्ते और खुजली", "male", "इन तकलीफ़ों के लिए त्वचा रोग ओपीडी ठीक रहेगी।", "DERM"),
    ("romanised", "skin par rash hai", "female", "इन तकलीफ़ों के लिए त्वचा रोग ओपीडी ठीक रहेगी।", "DERM"),
    ("english", "I am pregnant, I need a checkup", "female", "The Obstetrics & Gynaecology OPD fits these symptoms.", "OBG"),
    ("hindi", "मैं गर्भवती हूँ, जाँच करानी है", "female", "इन तकलीफ़ों के लिए स्त्री एवं प्रसूति रोग ओपीडी ठीक रहेगी।", "OBG"),
    ("romanised", "pregnant hoon, checkup karana hai", "female", "इन तकलीफ़ों के लिए स्त्री एवं प्रसूति रोग ओपीडी ठीक रहेगी।", "OBG"),
]


@pytest.mark.parametrize(("style", "said", "sex", "suggestion", "code"), FITTING_OPD, ids=lambda v: v if isinstance(v, str) and len(v) < 12 else None)
def test_the_suggested_opd_fits_the_complaint(all_open: Services, style: str, said: str, sex: str, suggestion: str, code: str) -> None:
    patient = register(all_open, style, f"fit-{code}-{style}", sex=sex)
    since = {"english": "1 week", "hindi": "एक हफ़्ते से", "romanised": "ek hafte se"}[style]
    run(patient, [(said, patient.q("who")), ("1", patient.q("since")), (since, patient.q("how_bad")), ("1", suggestion)])
    answer = patient.say(YES[style])
    number, place = read_token(message_with(answer, patient.q("booked")), patient.ui)
    [token] = tokens_of(all_open, patient.user)
    assert (token.opd.code, token.number, live_position(all_open, token.id), token.day) == (code, number, place, today_ist())
    assert_clean(patient)


BY_NAME = {"english": ("Dermatology", "DERM"), "hindi": ("नेत्र रोग", "EYE"), "romanised": ("ent", "ENT")}


@pytest.mark.parametrize("style", STYLES)
def test_choose_another_opd_by_number_and_by_name(all_open: Services, style: str) -> None:
    patient = register(all_open, style, f"other-{style}")
    patient.names.add("Kamla Devi")
    complaint = {"english": "fever", "hindi": "बुखार", "romanised": "bukhar"}[style]
    since = {"english": "2 days", "hindi": "२ दिन", "romanised": "2 din"}[style]

    listed = run(
        patient,
        [
            (complaint, patient.q("who")),
            ("1", patient.q("since")),
            (since, patient.q("how_bad")),
            ("1", patient.q("suggest")),
            (OTHER_OPD[style], patient.q("pick")),
        ],
    )
    # The list is numbered in catalogue order, with the OPDs that see an adult woman (no
    # Paediatrics): the 5th is ENT.
    assert len(listed.choices[-1]) >= 5
    answer = patient.say("5")
    assert patient.q("booked") in answer.all_text
    # …and by name (the family's second booking: a new family member).
    run(patient, [("menu", patient.q("menu")), (complaint, patient.q("who"))])
    run(
        patient,
        [
            ({"english": "Another family member", "hindi": "परिवार का कोई और सदस्य", "romanised": "parivar"}[style], patient.q("dep_name")),
            ({"english": "Kamla Devi", "hindi": "कमला देवी", "romanised": "Kamla Devi"}[style], patient.q("dep_age")),
            ({"english": "62", "hindi": "६२", "romanised": "62 saal"}[style], patient.q("dep_sex")),
            (SEX[style]["female"], patient.q("since")),
            (since, patient.q("how_bad")),
            ("3", patient.q("suggest")),
            (OTHER_OPD[style], patient.q("pick")),
        ],
    )
    name, code = BY_NAME[style]
    answer = patient.say(name)
    assert patient.q("booked") in answer.all_text
    first, second = tokens_of(all_open, patient.user)
    assert first.opd.code == "ENT" and second.opd.code == code
    assert second.person.name in ("Kamla Devi", "कमला देवी")
    assert_clean(patient)

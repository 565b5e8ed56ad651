"""The web chat as a demo: roles. A patient is a patient; a doctor's or health worker's tab enrols with
the code it was given, as printed, and never registers a patient.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from bot.runtime import Services
from bot.services.enrolment import add_doctor, add_health_worker
from flows.steps.enrolment import code_in
from tests.webchat_push_helpers import (
    API,
    LANGS,
    _get,
    client,  # noqa: F401  (fixtures)
)
from webhooks.webchat import DEMO_STAFF_SUFFIXES, ENROL_WORD

# --- roles ------------------------------------------------------------------------------------


def test_before_the_first_message_the_role_is_null(client) -> None:
    assert _get(client, "nobody-yet")[0]["role"] is None


@pytest.mark.parametrize("lang", LANGS)
def test_a_patient_is_a_patient(services, client, lang: str) -> None:
    client.post(API.format(user=f"pat-{lang}"), json={"text": "नमस्ते" if lang == "hi" else "hello"})
    services.worker.drain()
    assert _get(client, f"pat-{lang}")[0]["role"] == "patient"


STAFF = [
    pytest.param("doctor", "Welcome, Dr. Anita Sharma.", "स्वागत है, डॉ. Anita Sharma।", id="doctor"),
    pytest.param("health_worker", "Welcome, Asha Kumari.", "स्वागत है, Asha Kumari जी।", id="health-worker"),
]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("role", "welcome_en", "welcome_hi"), STAFF)
def test_enrolling_with_the_pages_message_gives_the_role(services, client, lang: str, role: str, welcome_en: str, welcome_hi: str) -> None:
    with services.db.write() as session:
        if role == "doctor":
            _, code = add_doctor(session, "Anita Sharma", [])
        else:
            _, code = add_health_worker(session, "Asha Kumari", "PHC Sarnath")
    user = f"web-abc12345-{role}-{lang}"
    # What the page's enrolment form sends: its language's word, a space, the code.
    assert client.post(API.format(user=user), json={"text": f"{ENROL_WORD[lang]} {code}"}).status_code == 202
    services.worker.drain()
    body, _ = _get(client, user)
    assert body["role"] == role
    assert (welcome_hi if lang == "hi" else welcome_en) in body["messages"][0]["text"]


@pytest.mark.parametrize("lang", LANGS)
def test_a_wrong_code_leaves_the_role_as_it_was(services, client, lang: str) -> None:
    user = f"web-wrong.doctor-{lang}"
    client.post(API.format(user=user), json={"text": f"{ENROL_WORD[lang]} ABCD2345"})
    services.worker.drain()
    body, _ = _get(client, user)
    assert body["role"] == "patient"
    assert body["messages"], "the bot says the code is not valid"


# What reaches the bot from a staff tab, for a code as `teleopd doctor add` / `demo` print it
# ("ENROLL CODE", "enroll CODE", the code alone): pasted into the enrolment box (which puts
# its own word first), or typed into the message box.
PASTED = {
    "box_printed_line": lambda word, code: f"{word} ENROLL {code}",
    "box_demo_line": lambda word, code: f"{word} enroll {code.lower()}",
    "box_with_dash": lambda word, code: f"{word} {code[:4]}-{code[4:]}",
    "message_code_alone": lambda word, code: f" {code[:4]} {code[4:].lower()} ",
    "message_printed_line": lambda word, code: f"ENROLL: {code}",
}


def _read(services: Services, client: FlaskClient, user: str) -> tuple[str, list[str]]:
    services.worker.drain()
    body, _ = _get(client, user)
    return body["role"], [m["text"] for m in body["messages"]]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("role", "welcome_en", "welcome_hi"), STAFF)
@pytest.mark.parametrize("form", PASTED)
def test_a_staff_tab_takes_the_code_as_it_was_printed(services, client, lang: str, role: str, welcome_en: str, welcome_hi: str, form: str) -> None:
    with services.db.write() as session:
        if role == "doctor":
            _, code = add_doctor(session, "Anita Sharma", [])
        else:
            _, code = add_health_worker(session, "Asha Kumari", "PHC Sarnath")
    suffix = next(suffix for suffix, made_for in DEMO_STAFF_SUFFIXES.items() if made_for == role)
    user = f"web-{form.replace('_', '')}{lang}{suffix}"
    if lang == "hi" and form.startswith("message"):  # typed in the message box of the Hindi page
        client.post(API.format(user=user), json={"text": "नमस्ते"})
    client.post(API.format(user=user), json={"text": PASTED[form](ENROL_WORD[lang], code)})
    got, texts = _read(services, client, user)
    assert got == role, texts
    assert any((welcome_hi if lang == "hi" else welcome_en) in text for text in texts), texts


ASK_CODE = {"en": "This chat is for doctors and health workers.", "hi": "यह चैट डॉक्टरों और स्वास्थ्य कर्मियों के लिए है।"}
REFUSED = {"en": "That code did not work.", "hi": "यह कोड काम नहीं आया।"}
LANGUAGE_QUESTION = {"en": "Which language", "hi": "किस भाषा"}
HELLO = {"en": "hello", "hi": "नमस्ते"}
EMERGENCY = {"en": ("I have chest pain", "Call 108"), "hi": ("सीने में दर्द है", "108")}


@pytest.mark.parametrize("lang", LANGS)
def test_a_doctors_tab_asks_for_the_code_and_never_registers_a_patient(services, client, lang: str) -> None:
    user = f"web-tab{lang}.doctor"
    client.post(API.format(user=user), json={"text": f"{ENROL_WORD[lang]} WRONG234"})
    role, texts = _read(services, client, user)
    assert role == "patient" and REFUSED[lang] in texts[0] and ASK_CODE[lang] in texts[-1], texts
    cursor = len(texts)
    for said in (HELLO[lang], "menu", EMERGENCY[lang][0]):
        client.post(API.format(user=user), json={"text": said})
        role, texts = _read(services, client, user)
        new = texts[cursor:]
        cursor = len(texts)
        assert ASK_CODE[lang] in new[-1], (said, new)
    assert EMERGENCY[lang][1] in new[0]  # danger signs get 108/112 first, even here
    assert not any(LANGUAGE_QUESTION[lang] in text for text in texts), texts
    with services.db.write() as session:
        _, code = add_doctor(session, "Anita Sharma", [])
    client.post(API.format(user=user), json={"text": code})
    role, texts = _read(services, client, user)
    assert role == "doctor", texts[cursor:]


@pytest.mark.parametrize("lang", LANGS)
def test_the_enrolment_word_is_one_the_bot_takes(lang: str) -> None:
    assert code_in(f"{ENROL_WORD[lang]} ABCD2345") == "ABCD2345"

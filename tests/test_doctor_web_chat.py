"""The doctor's side through the web chat API: a forged consultation button gets a reply, not a
500, and a scripted day with two OPDs calls every patient once.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select

import webhooks
from bot.runtime import Services
from bot.services.opds import OpdSpec, find_opd, upsert_opd
from bot.services.reports import build_report
from bot.store.models import (
    Consultation,
    ConsultationOutcome,
    Token,
    TokenStatus,
)
from tests.doctor_helpers import (  # noqa: F401  (fixtures are used by being imported)
    ANSWERS,
    COMPLAINT,
    LANGS,
    OPEN,
    REGISTER,
    T,
    _clear_of_midnight_ist,
    add_doctor_code,
    consultations,
    opd_names,
    step_of,
    today_ist,
    tokens_of,
)


@pytest.mark.parametrize("choice", ["join:abc", "leave:", "rate:1:x", "rate:x", "followup:1e9", "join:99999999999999999999999"])
def test_a_forged_consultation_button_gets_a_reply_not_a_500(demo: Services, choice: str) -> None:
    """DESIGN.md: never 500 for anything a sender can put in a request; a web chat choice is any short string."""
    client = webhooks.create_app(demo, local_demo=True).test_client()
    user = WebUser(demo, client, "forger")
    for line in OPEN["en"] + [line.format(name="Forger") for line in REGISTER["en"]]:
        user.say(line)
    response = client.post(API.format(user=user.user), json={"choice": choice})
    assert response.status_code == 202, (choice, response.status_code, response.get_data(as_text=True))
    assert user.poll(), "the user is answered"


# --- the scripted day, through the web chat API ----------------------------------------------------

API = "/api/chat/{user}/messages"


class WebUser:
    """One web chat user, talking to the app only over HTTP."""

    def __init__(self, services: Services, client: Any, user: str):
        self.services = services
        self.client = client
        self.user = user
        self.cursor = ""

    def say(self, text: str | None = None, choice: str | None = None) -> list[dict[str, Any]]:
        body = {"text": text} if choice is None else {"choice": choice}
        response = self.client.post(API.format(user=self.user), json=body)
        assert response.status_code == 202, (body, response.status_code, response.get_data(as_text=True))
        return self.poll()

    def poll(self) -> list[dict[str, Any]]:
        self.services.worker.drain()
        response = self.client.get(API.format(user=self.user), query_string={"after": self.cursor})
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        self.cursor = body["cursor"]
        return body["messages"]


def web_text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m["text"] for m in messages)


SECOND_OPD = OpdSpec("GENB", "General Medicine B (24 hours)", "सामान्य चिकित्सा बी (24 घंटे)", "general_medicine", "24h", "all", 500)


PATIENTS = 12


def test_a_scripted_day_through_the_web_chat_calls_every_patient_once(demo: Services) -> None:
    services = demo
    with services.db.write() as session:
        upsert_opd(session, SECOND_OPD)
    client = webhooks.create_app(services, local_demo=True).test_client()

    # Three doctors: one per OPD and one in both; each enrols over the web chat.
    plan = {"doc-a": ("GEN24",), "doc-b": ("GENB",), "doc-c": ("GEN24", "GENB")}
    doctors: dict[str, WebUser] = {}
    for i, (user, opds) in enumerate(plan.items()):
        code = add_doctor_code(services, f"Doctor {'ABC'[i]}", opds)
        doctors[user] = WebUser(services, client, user)
        lang = LANGS[i % 2]
        for line in OPEN[lang]:
            doctors[user].say(line)
        shown = web_text(doctors[user].say(f"enroll {code}"))
        assert T[lang]["welcome"].format(name=f"Doctor {'ABC'[i]}") in shown, shown

    # Twelve patients (enough for every doctor to call several) register and book, alternating languages and OPDs.
    with services.db.read() as session:
        opd_ids = {code: find_opd(session, code).id for code in ("GEN24", "GENB")}  # type: ignore[union-attr]
    patients: dict[tuple[str, int], tuple[WebUser, str]] = {}
    for i in range(PATIENTS):
        lang, opd = LANGS[(i // 2) % 2], ("GEN24", "GENB")[i % 2]
        patient = WebUser(services, client, f"web-pat-{i:02d}")
        for line in OPEN[lang] + [line.format(name=f"Patient {i:02d}") for line in REGISTER[lang]]:
            patient.say(line)
        shown = web_text(patient.say(COMPLAINT[lang]))
        for _ in range(10):
            step = step_of(services, patient.user)
            if step == "menu":
                break
            if step == "opd_suggest":
                reply = "1" if opd_names(services, opd)[lang] in shown else "2"
            else:
                reply = {**ANSWERS[lang], "opd_pick": opd}[step]
            shown = web_text(patient.say(reply))
        assert T[lang]["booked"] in shown, shown
        [booked] = tokens_of(services, patient.user)
        assert (booked.opd_id, booked.status) == (opd_ids[opd], TokenStatus.WAITING)
        patients[(opd, booked.number)] = (patient, lang)
    assert Counter(opd for opd, _ in patients) == {"GEN24": PATIENTS // 2, "GENB": PATIENTS // 2}

    # The doctors work until nobody waits: NEXT → the patient joins → advice → DONE.
    label = re.compile(r"^(?:Token|टोकन) (\d+), (.+)$", re.MULTILINE)
    opd_by_name = {}
    with services.db.read() as session:
        for code in ("GEN24", "GENB"):
            opd = find_opd(session, code)
            assert opd is not None
            opd_by_name[opd.name_en] = opd_by_name[opd.name_hi] = code
    idle: set[str] = set()
    calls: list[tuple[str, str, int]] = []
    for _ in range(40):
        if len(idle) == len(doctors):
            break
        for user, doctor in doctors.items():
            if user in idle:
                continue
            answer = doctor.say("next")
            summary = answer[0]["text"]
            found = label.search(summary)
            if found is None:
                assert any(piece in summary for piece in (T["en"]["nobody"], T["hi"]["nobody"])), summary
                idle.add(user)
                continue
            idle.discard(user)
            key = (opd_by_name[found.group(2)], int(found.group(1)))
            assert key[0] in plan[user], (user, key)
            patient, lang = patients[key]
            ready = patient.poll()
            join = [c["key"] for m in ready for c in m["choices"] if c["key"].startswith("join:")]
            assert len(join) == 1, ready
            assert T[lang]["joining_ack"] in web_text(patient.say(choice=join[0]))
            doctor.say(f"Advice for token {key[1]} at {key[0]}: rest and fluids.")
            doctor.say(f"NOTE: seen by {user}")
            closed = web_text(doctor.say("done"))
            assert "Patient " in closed, closed
            framed = web_text(patient.poll())
            assert f"Advice for token {key[1]} at {key[0]}: rest and fluids." in framed
            calls.append((user, *key))
    assert len(idle) == 3, "the doctors did not finish the queue"

    # Every patient called exactly once, every consultation logged with notes and advice.
    assert len(calls) == PATIENTS and len(set((opd, n) for _, opd, n in calls)) == PATIENTS
    rows = consultations(services)
    assert len(rows) == PATIENTS
    assert len({row.token_id for row in rows}) == PATIENTS
    assert len({row.patient_id for row in rows}) == PATIENTS
    assert all(row.outcome == ConsultationOutcome.DONE for row in rows)
    assert all(row.notes.startswith("seen by doc-") and row.advice.endswith("rest and fluids.") for row in rows)
    assert all(row.called_at <= row.joined_at <= row.ended_at for row in rows)  # type: ignore[operator]
    with services.db.read() as session:
        statuses = Counter(session.scalars(select(Token.status)))
        assert statuses == {TokenStatus.DONE: PATIENTS}
        assert session.scalar(select(func.count()).select_from(Consultation).where(Consultation.outcome.is_(None))) == 0
    per_doctor = Counter(user for user, _, _ in calls)
    assert sum(per_doctor.values()) == PATIENTS and all(per_doctor[user] > 0 for user in doctors), per_doctor

    # The report's totals match the log.
    with services.db.read() as session:
        report = build_report(session, today_ist(), today_ist())
    assert report.total.consultations == PATIENTS and report.total.done == PATIENTS
    assert report.total.patients == PATIENTS
    assert report.total.no_shows == 0 and report.total.other_calls == 0
    assert sum(o.figures.consultations for o in report.opds) == PATIENTS
    assert {o.code: o.figures.consultations for o in report.opds if o.figures.consultations} == {"GEN24": PATIENTS // 2, "GENB": PATIENTS // 2}
    assert sum(d.figures.consultations for d in report.doctors) == PATIENTS
    assert sum(s.consultations for s in report.states) == PATIENTS

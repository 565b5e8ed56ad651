"""Ten doctors pressing NEXT at the same instant never get the same patient.

50 patients wait in one OPD; 10 doctors of that OPD, released together by a barrier, each
call the next patient, then finish with DONE; round after round until nobody waits. Every
patient must be called exactly once: 50 consultations, 50 distinct tokens, no token in two
consultations, no errors. Once through the real dispatcher (each doctor with their own
enrolled chat identity, as "next" arrives from Telegram), once straight through
DeskRecords in db.write() transactions (no conversation lock in front of it), the flow's notices
applied as the dispatcher applies them. Both run on
SQLite and, with TELEOPD_TEST_DATABASE_URL, on PostgreSQL (FOR UPDATE SKIP LOCKED).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.channels import local
from bot.channels.base import InboundMessage
from bot.outbox.enqueue import apply_notices
from bot.runtime import Services
from bot.services.booking import BookingRecords
from bot.services.desk import DeskRecords
from bot.services.enrolment import add_doctor
from bot.services.opds import OpdSpec, upsert_opd
from bot.store.models import (
    Consultation,
    ConsultationOutcome,
    Doctor,
    Identity,
    OutboxMessage,
    Patient,
    Person,
    Role,
    Token,
    TokenStatus,
)
from flows.ports import Intake, VisitOutcome
from flows.steps import visit

# The database is what is tested here: row locks under contention (FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite).
pytestmark = pytest.mark.both_databases

IST = ZoneInfo("Asia/Kolkata")
DOCTORS = 10
PATIENTS = 50
MAX_ROUNDS = 12  # 50 / 10 = 5 rounds with a patient, then one with nobody; more means trouble
OPD = OpdSpec("RUSH", "General Medicine (rush)", "सामान्य चिकित्सा (भीड़)", "general_medicine", "24h", "all", 1000)


@pytest.fixture(autouse=True)
def _clear_of_midnight_ist() -> None:
    """Start well clear of midnight in India, so "today" is one day for the whole test."""
    now = dt.datetime.now(IST)
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(0), IST)
    if (midnight - now).total_seconds() < 120:
        time.sleep((midnight - now).total_seconds() + 1)


def setup_queue(services: Services) -> tuple[int, list[str]]:
    """Add the OPD, 50 waiting patients (registered, with tokens) and 10 doctors; return the OPD id and the doctors' codes."""
    now = dt.datetime.now(dt.UTC)
    with services.db.write() as session:
        opd = upsert_opd(session, OPD)
        opd_id = opd.id
        codes = [add_doctor(session, f"Doctor {i}", [opd])[1] for i in range(DOCTORS)]
        for i in range(PATIENTS):
            person = Person(role=Role.PATIENT, name=f"Patient {i}", language="hi")
            person.patient = Patient(age=20 + i, sex="female" if i % 2 else "male", state_code="IN-BR", district="Gaya", consent_at=now)
            identity = Identity(channel=local.NAME, address=f"rush-patient-{i}", person=person, language="hi", opted_out=False, created_at=now)
            session.add(identity)
            session.flush()
            result = BookingRecords(session, identity, now).book(opd_id, None, Intake(text="bukhar", symptoms=("fever",)), priority=i % 7 == 0)
            assert result.token is not None, result
    return opd_id, codes


def race(workers: list[Callable[[], object]]) -> tuple[list[object], list[str]]:
    """Run the workers at the same instant (a barrier); return their results and any errors."""
    gate = threading.Barrier(len(workers))
    errors: list[str] = []

    def run(work: Callable[[], object]) -> object:
        gate.wait(timeout=30)
        try:
            return work()
        except Exception:
            errors.append(traceback.format_exc())
            return None

    with ThreadPoolExecutor(len(workers)) as pool:
        results = list(pool.map(run, workers))
    return results, errors


def brief(errors: list[str]) -> str:
    """Return how many workers failed and with what, one line each, then the first traceback."""
    def cause(error: str) -> str:
        lines = [line for line in error.splitlines() if line and not line.startswith(" ")]
        return next((line for line in lines if line.startswith("psycopg.errors.")), lines[-1])

    lines = Counter(cause(e) for e in errors)
    return f"{len(errors)} of the doctors' transactions failed: {dict(lines)}\n{errors[0] if errors else ''}"


def check_log(services: Services, opd_id: int, first_round: set[int]) -> None:
    """Every patient called exactly once; every token done; nothing left open; priority first."""
    with services.db.read() as session:
        rows = session.scalars(select(Consultation).where(Consultation.opd_id == opd_id)).all()
        tokens = session.scalars(select(Token).where(Token.opd_id == opd_id)).all()
    assert len(tokens) == PATIENTS
    assert len(rows) == PATIENTS, f"{len(rows)} consultations for {PATIENTS} patients"
    per_token = Counter(row.token_id for row in rows)
    assert len(per_token) == PATIENTS and max(per_token.values()) == 1, per_token.most_common(3)
    assert {row.token_id for row in rows} == {t.id for t in tokens}
    assert len({row.patient_id for row in rows}) == PATIENTS
    assert all(row.outcome == ConsultationOutcome.DONE for row in rows)
    assert Counter(t.status for t in tokens) == {TokenStatus.DONE: PATIENTS}
    # Every doctor took part, and the priority tokens (fewer than the doctors) went in the first round.
    assert len({row.doctor_id for row in rows}) == DOCTORS
    priority = {t.id for t in tokens if t.priority}
    assert 0 < len(priority) < DOCTORS and priority <= first_round, (priority, first_round)
    # "Get ready" goes to waiting patients only: never to one a doctor has already called.
    with services.db.read() as session:
        pushed = session.execute(
            select(OutboxMessage.identity_id, OutboxMessage.id, OutboxMessage.payload)
            .join(Identity, Identity.id == OutboxMessage.identity_id)
            .where(Identity.address.like("rush-patient-%"))
            .order_by(OutboxMessage.id)
        ).all()
    called_at: dict[int, int] = {}
    late = []
    for identity_id, outbox_id, payload in pushed:
        words = json.dumps(payload, ensure_ascii=False)
        if "is ready for you now" in words:
            called_at.setdefault(identity_id, outbox_id)
        elif "Get ready" in words and identity_id in called_at:
            late.append(identity_id)
    assert len(called_at) == PATIENTS
    assert late == [], f"{len(late)} patients were told to get ready after being called"


def test_ten_doctors_pressing_next_at_once_through_the_dispatcher(services: Services) -> None:
    opd_id, codes = setup_queue(services)
    sequence = iter(range(1_000_000))
    lock = threading.Lock()

    def send(user: str, text: str) -> None:
        with lock:
            n = next(sequence)
        services.dispatcher.dispatch(InboundMessage(channel=local.NAME, address=user, provider_id=f"{user}:{n}", text=text))

    doctors = [f"rush-doctor-{i}" for i in range(DOCTORS)]
    for user, code in zip(doctors, codes, strict=True):
        send(user, f"enroll {code}")
    with services.db.read() as session:
        people = dict(session.execute(select(Identity.address, Identity.person_id).where(Identity.address.in_(doctors))).all())
        assert all(session.get(Doctor, people[user]) is not None for user in doctors)

    def open_calls() -> list[tuple[int, int]]:
        with services.db.read() as session:
            return list(session.execute(select(Consultation.doctor_id, Consultation.token_id).where(Consultation.outcome.is_(None))).all())  # type: ignore[arg-type]

    rounds: list[set[int]] = []
    for _ in range(MAX_ROUNDS):
        _, errors = race([lambda user=user: send(user, "next") for user in doctors])
        assert errors == [], brief(errors)
        calls = open_calls()
        assert len({doctor for doctor, _ in calls}) == len(calls), calls  # nobody holds two patients
        if not calls:
            break
        rounds.append({token_id for _, token_id in calls})
        _, errors = race([lambda user=user: send(user, "done") for user in doctors])
        assert errors == [], brief(errors)
        assert open_calls() == []
    else:
        pytest.fail(f"the queue was not empty after {MAX_ROUNDS} rounds")
    assert [len(r) for r in rounds] == [DOCTORS] * (PATIENTS // DOCTORS)
    check_log(services, opd_id, rounds[0])


def test_ten_doctors_pressing_next_at_once_straight_through_the_desk(services: Services) -> None:
    opd_id, codes = setup_queue(services)
    now = dt.datetime.now(dt.UTC)
    with services.db.write() as session:
        # Each doctor gets a chat identity of their own (what enrolment does).
        doctor_ids = list(session.scalars(select(Doctor.person_id).order_by(Doctor.person_id)))
        identity_ids = []
        for i, person_id in enumerate(doctor_ids):
            identity = Identity(channel=local.NAME, address=f"desk-doctor-{i}", person_id=person_id, language="en", opted_out=False, created_at=now)
            session.add(identity)
            session.flush()
            identity_ids.append(identity.id)
    base = services.settings.video_base_url

    def call(identity_id: int) -> int | None:
        with services.db.write() as session:
            now = dt.datetime.now(dt.UTC)
            desk = DeskRecords(session, session.get(Identity, identity_id), now, base)  # type: ignore[arg-type]
            view = desk.call_next()
            # What the flow's turn would return, carried out as the dispatcher does (the patient's call, place 3).
            apply_notices(session, visit.called_notices(view, now) if view else [], now)
            return view.id if view else None

    def finish(identity_id: int) -> None:
        with services.db.write() as session:
            now = dt.datetime.now(dt.UTC)
            desk = DeskRecords(session, session.get(Identity, identity_id), now, base)  # type: ignore[arg-type]
            desk.write("rest and fluids", private=False)
            ended = desk.finish(VisitOutcome.DONE)
            assert ended is not None
            apply_notices(session, visit.ended_notices(ended, VisitOutcome.DONE), now)

    called: list[int] = []
    rounds: list[set[int]] = []
    for _ in range(MAX_ROUNDS):
        results, errors = race([lambda i=i: call(i) for i in identity_ids])
        assert errors == [], brief(errors)
        got = [r for r in results if r is not None]
        assert len(got) == len(set(got))
        called += got
        if not got:
            break
        rounds.append(set(got))
        busy = [i for i, r in zip(identity_ids, results, strict=True) if r is not None]
        _, errors = race([lambda i=i: finish(i) for i in busy])
        assert errors == [], brief(errors)
    else:
        pytest.fail(f"the queue was not empty after {MAX_ROUNDS} rounds")
    assert len(called) == len(set(called)) == PATIENTS
    assert [len(r) for r in rounds] == [DOCTORS] * (PATIENTS // DOCTORS)
    with services.db.read() as session:
        first_tokens = set(session.scalars(select(Consultation.token_id).where(Consultation.id.in_(rounds[0]))))
    check_log(services, opd_id, first_tokens)

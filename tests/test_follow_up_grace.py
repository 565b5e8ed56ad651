"""A follow-up waits for its own doctor; when that doctor is off duty, any doctor of the OPD may call it
once the grace period (TELEOPD_FOLLOW_UP_GRACE_MINUTES) has passed since they went off and since its
session began, and the OPD's free doctors are pinged then (bot/services/desk.py callable_by,
bot/services/pings.py on_follow_up_open).

Dr. Sharma sees a patient on DAY at GEN24 (round the clock: its session starts at midnight in India)
and goes off duty at 18:00; the patient's follow-up is on the next day. Dr. Kumar is on duty then.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.outbox.payloads import translate
from bot.platform.config import Settings, SettingsError
from bot.platform.i18n import Catalogs
from bot.runtime import Services
from bot.services.booking import BookingRecords
from bot.services.desk import FOLLOW_UP_TIMER
from bot.services.pings import on_follow_up_open
from bot.store.models import Timer, Token
from flows.messages import reply_to_json
from flows.notices import Notify
from flows.ports import DoctorState, FollowUpOf
from tests.history_helpers import DAY, Clinic, at

NEXT_DAY = DAY + dt.timedelta(days=1)


def follow_up_waiting(services: Services, grace_minutes: int = 30) -> tuple[Clinic, int]:
    """Dr. Sharma's patient has a follow-up waiting on the next day, and Dr. Sharma went off duty; return the clinic and the token."""
    clinic = Clinic(services.db, grace=dt.timedelta(minutes=grace_minutes))
    clinic.doctor("asha", "Anita Sharma", at(DAY, "08:00"))
    clinic.doctor("raj", "Rajesh Kumar", at(DAY, "08:00"))
    clinic.patient("p1", "Sunita Devi", at(DAY, "09:00"))
    clinic.status("asha", DoctorState.FREE, at(DAY, "09:30"))
    seen = clinic.visit("p1", "asha", at(DAY, "10:00"), advice="Rest")
    assert clinic.follow_up("p1", seen, at(DAY, "10:20")) == NEXT_DAY
    clinic.status("asha", DoctorState.OFFLINE, at(DAY, "18:00"))
    clinic.status("raj", DoctorState.FREE, at(NEXT_DAY, "00:00"))
    with services.db.read() as session:
        token = session.scalars(select(Token.id).where(Token.day == NEXT_DAY)).one()
    return clinic, token


@pytest.mark.both_databases
def test_another_doctor_may_call_it_once_the_grace_has_passed_since_the_session_began(demo: Services) -> None:
    clinic, token = follow_up_waiting(demo)
    assert clinic.waiting("raj", at(NEXT_DAY, "00:29")) == 0
    assert clinic.call("raj", at(NEXT_DAY, "00:29")) is None
    assert clinic.waiting("raj", at(NEXT_DAY, "00:31")) == 1
    called = clinic.call("raj", at(NEXT_DAY, "00:31"))
    assert called is not None and called.doctor == "Rajesh Kumar"
    assert called.follow_up_of == FollowUpOf("Anita Sharma", DAY)


def test_its_own_doctor_back_on_duty_keeps_it(demo: Services) -> None:
    clinic, _ = follow_up_waiting(demo)
    clinic.status("asha", DoctorState.FREE, at(NEXT_DAY, "00:20"))
    assert clinic.call("raj", at(NEXT_DAY, "00:40")) is None
    assert clinic.waiting("asha", at(NEXT_DAY, "00:40")) == 1
    called = clinic.call("asha", at(NEXT_DAY, "00:40"))
    assert called is not None and called.doctor == "Anita Sharma"


def test_a_doctor_who_goes_off_in_the_session_has_the_grace_again(demo: Services) -> None:
    clinic, _ = follow_up_waiting(demo)
    clinic.status("asha", DoctorState.FREE, at(NEXT_DAY, "00:10"))
    clinic.status("asha", DoctorState.PAUSED, at(NEXT_DAY, "08:00"))  # on a break is on duty
    assert clinic.call("raj", at(NEXT_DAY, "08:45")) is None
    clinic.status("asha", DoctorState.OFFLINE, at(NEXT_DAY, "09:00"))
    assert clinic.call("raj", at(NEXT_DAY, "09:29")) is None
    assert clinic.call("raj", at(NEXT_DAY, "09:31")) is not None


def test_no_grace_opens_it_at_once(demo: Services) -> None:
    clinic, _ = follow_up_waiting(demo, grace_minutes=0)
    assert clinic.call("raj", at(NEXT_DAY, "00:01")) is not None


def _timer(services: Services) -> Timer:
    with services.db.read() as session:
        return session.scalars(select(Timer).where(Timer.kind == FOLLOW_UP_TIMER, Timer.status == "pending")).one()


def _fire(services: Services, timer: Timer) -> list[Notify]:
    with services.db.write() as session:
        notices = on_follow_up_open(session, session.get(Timer, timer.id), timer.due_at)  # type: ignore[arg-type]
    assert all(isinstance(n, Notify) for n in notices)
    return notices  # type: ignore[return-value]


@pytest.mark.parametrize("lang", ["en", "hi", "hi-Latn"])
def test_the_free_doctors_are_pinged_when_it_becomes_anyone_s(demo: Services, catalogs: Catalogs, lang: str) -> None:
    clinic, _ = follow_up_waiting(demo)
    timer = _timer(demo)
    assert timer.due_at == at(NEXT_DAY, "00:30")  # its session's start and the grace
    [ping] = _fire(demo, timer)
    with demo.db.read() as session:
        assert ping.identity_id == clinic.identity(session, "raj").id
    said = translate(catalogs, reply_to_json(ping.reply), lang).text
    assert said == {
        "en": "1 patient waiting in General Medicine (24 hours): send NEXT.",
        "hi": "सामान्य चिकित्सा (24 घंटे) में 1 मरीज़ इंतज़ार में है: “अगला” भेजें।",
        "hi-Latn": "General Medicine (24 hours) mein 1 mareez intezaar mein hai: NEXT bhejein.",
    }[lang]


def test_no_ping_when_its_doctor_is_back_and_a_new_one_when_they_go_off_again(demo: Services) -> None:
    clinic, _ = follow_up_waiting(demo)
    clinic.status("asha", DoctorState.FREE, at(NEXT_DAY, "00:20"))
    assert _fire(demo, _timer(demo)) == []
    clinic.status("asha", DoctorState.OFFLINE, at(NEXT_DAY, "09:00"))
    timer = _timer(demo)  # the one set as she went off, in place of the first
    assert timer.due_at == at(NEXT_DAY, "09:30")
    assert len(_fire(demo, timer)) == 1
    # Called meanwhile: nothing to say.
    assert clinic.call("raj", at(NEXT_DAY, "09:31")) is not None
    assert _fire(demo, timer) == []


def test_the_grace_setting_is_bounded() -> None:
    assert Settings.from_env({}).follow_up_grace_minutes == 30
    assert Settings.from_env({"TELEOPD_FOLLOW_UP_GRACE_MINUTES": "0"}).follow_up_grace_minutes == 0
    for bad in ("1441", "-5", "half an hour"):
        with pytest.raises(SettingsError, match="TELEOPD_FOLLOW_UP_GRACE_MINUTES"):
            Settings.from_env({"TELEOPD_FOLLOW_UP_GRACE_MINUTES": bad})


def test_a_moved_follow_up_is_still_its_doctor_s_and_says_so(demo: Services) -> None:
    clinic, token = follow_up_waiting(demo)
    later = NEXT_DAY + dt.timedelta(days=1)
    with demo.db.write() as session:
        moved = BookingRecords(session, clinic.identity(session, "p1"), at(DAY, "19:00"), follow_up_grace=clinic.grace).move(token, later)
    assert moved.token is not None and moved.token.day == later and moved.token.follow_up_doctor == "Anita Sharma"
    assert _timer(demo).payload["token"] == moved.token.id and _timer(demo).due_at == at(later, "00:30")
    assert clinic.call("raj", at(later, "00:29")) is None
    called = clinic.call("raj", at(later, "00:31"))
    assert called is not None and called.follow_up_of == FollowUpOf("Anita Sharma", DAY)

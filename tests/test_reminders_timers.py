"""A token's reminder on the durable timers, with a clock the tests move (TimerRunner(clock=...)).

A token for tomorrow gets exactly one reminder, at the set hour, and none once cancelled; a
moved token's reminder follows it; a worker down all evening does not say "tomorrow" the next
morning; quiet hours move a reminder to their end, or drop it when that is too late; booking
twice makes one timer (both databases). Tokens are booked through BookingRecords in their own
transactions, as a dispatched message does; what is sent is read from the outbox.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.outbox.timers import TimerRunner, TimerStatus
from bot.platform.config import Settings, SettingsError
from bot.services.enrolment import add_health_worker
from bot.services.reminders import (
    ReminderPolicy,
    drop,
    plan,
    timer_handlers,
    watch_missed_call,
)
from bot.services.walkins import WalkinRecords
from bot.store.db import Database
from bot.store.models import Identity, OutboxMessage, Timer, Token, TokenStatus
from flows.ports import WalkIn
from flows.steps import reminders
from tests.booking_records_helpers import (
    FRI,
    INTAKE,
    THU,
    WED,
    add_opd,
    add_patient,
    book,
    booked,
    ist,
    records,
    set_status,
)

EVENING_MSGID = "Reminder: tomorrow, {date}, from {time}: {opd}, token {number} for {name}. "
TODAY_MSGID = "Reminder: today from {time}: {opd}, token {number} for {name}. "


class Clock:
    """A clock the test moves."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def runner(db: Database, clock: Clock, policy: ReminderPolicy = ReminderPolicy()) -> TimerRunner:
    return TimerRunner(db, timer_handlers(policy), clock=clock)


def sent(db: Database, identity_id: int) -> list[tuple[str, dict, dt.datetime]]:  # type: ignore[type-arg]
    """Return the pushes queued to a chat: (msgid, parameters, due)."""
    with db.read() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.identity_id == identity_id, OutboxMessage.kind == "push").order_by(OutboxMessage.id))
        return [(row.payload["text"]["id"], row.payload["text"].get("params", {}), row.due_at) for row in rows]


def reminder_timers(db: Database, *kinds: str) -> list[Timer]:
    with db.read() as session:
        return list(session.scalars(select(Timer).where(Timer.kind.in_(kinds or reminders.KINDS)).order_by(Timer.id)))


@pytest.fixture
def opd(db: Database) -> int:
    return add_opd(db, "GEN", "09:00-17:00", "mon-sat")


def test_a_token_for_tomorrow_gets_exactly_one_reminder_at_the_set_hour(db: Database, opd: int) -> None:
    patient = add_patient(db)
    _, number = booked(book(db, patient, opd, ist(WED, 10), day=THU))
    clock = Clock(ist(WED, 17, 59))
    timers = runner(db, clock)
    assert timers.drain() == 0 and sent(db, patient) == []
    clock.now = ist(WED, 18)
    assert timers.drain() == 1
    ((msgid, params, due),) = sent(db, patient)
    assert msgid.startswith(EVENING_MSGID) and params["number"] == number and due == ist(WED, 18)
    # Later that evening, at night, the morning of the day: nothing more (no "before open" as well).
    for later in (ist(WED, 18, 1), ist(WED, 20), ist(THU, 8), ist(THU, 9), ist(THU, 16)):
        clock.now = later
        assert timers.drain() == 0
    assert len(sent(db, patient)) == 1


def test_no_reminder_after_cancelling(db: Database, opd: int) -> None:
    patient = add_patient(db)
    result = book(db, patient, opd, ist(WED, 10), day=THU)
    with db.write() as session:
        assert records(session, patient, ist(WED, 12)).cancel(result.token.id) is not None  # type: ignore[union-attr]
    assert [timer.status for timer in reminder_timers(db)] == [TimerStatus.CANCELLED]
    timers = runner(db, Clock(ist(WED, 18)))
    assert timers.drain() == 0 and sent(db, patient) == []


@pytest.mark.parametrize("status", [TokenStatus.CANCELLED, TokenStatus.CALLED, TokenStatus.DONE])
def test_a_token_no_longer_waiting_when_its_timer_fires_gets_nothing(db: Database, opd: int, status: TokenStatus) -> None:
    patient = add_patient(db)
    result = book(db, patient, opd, ist(WED, 10), day=THU)
    set_status(db, result.token.id, status)  # type: ignore[union-attr]  # behind the timer's back: its handler re-checks
    assert runner(db, Clock(ist(WED, 18))).drain() == 1
    assert sent(db, patient) == []


def test_a_moved_tokens_reminder_follows_it(db: Database, opd: int) -> None:
    patient = add_patient(db)
    result = book(db, patient, opd, ist(WED, 10), day=THU)
    with db.write() as session:
        moved = records(session, patient, ist(WED, 12)).move(result.token.id, FRI)  # type: ignore[union-attr]
    _, number = booked(moved)
    clock = Clock(ist(WED, 18))
    timers = runner(db, clock)
    assert timers.drain() == 0  # the old day's reminder was cancelled with the old token
    clock.now = ist(THU, 18)
    assert timers.drain() == 1
    ((msgid, params, _),) = sent(db, patient)
    assert msgid.startswith(EVENING_MSGID) and params["number"] == number and params["date"] == {"$date": FRI.isoformat()}


def test_a_worker_down_all_evening_does_not_say_tomorrow_the_next_morning(db: Database, opd: int) -> None:
    patient = add_patient(db)
    booked(book(db, patient, opd, ist(WED, 10), day=THU))
    timers = runner(db, Clock(ist(THU, 7, 30)))  # back up the next morning, the reminder overdue since 18:00
    assert timers.drain() == 1  # fired, and dropped: its moment (midnight before the token's day) has passed
    assert sent(db, patient) == []
    assert [timer.status for timer in reminder_timers(db)] == [TimerStatus.FIRED]


def test_a_worker_back_later_the_same_evening_still_reminds(db: Database, opd: int) -> None:
    patient = add_patient(db)
    booked(book(db, patient, opd, ist(WED, 10), day=THU))
    assert runner(db, Clock(ist(WED, 20, 30))).drain() == 1
    assert len(sent(db, patient)) == 1


def test_a_token_booked_for_today_is_reminded_before_its_opd_opens(db: Database, opd: int) -> None:
    patient = add_patient(db)
    booked(book(db, patient, opd, ist(THU, 7), day=THU))  # before quiet hours end, for today's session at 9:00
    (timer,) = reminder_timers(db)
    assert (timer.kind, timer.due_at) == (reminders.BEFORE_OPEN, ist(THU, 8))
    assert runner(db, Clock(ist(THU, 8))).drain() == 1
    ((msgid, _, _),) = sent(db, patient)
    assert msgid.startswith(TODAY_MSGID)


# Both databases: the handler replaces its own timer, which it holds locked (FOR UPDATE SKIP LOCKED must not skip it).
@pytest.mark.both_databases
def test_quiet_hours_move_a_reminder_to_their_end_or_drop_it(db: Database, opd: int) -> None:
    early = add_opd(db, "EARLY", "08:30-14:00", "mon-sat")
    patient, other = add_patient(db), add_patient(db)
    # 60 minutes before 8:30 is 7:30, in the quiet hours (21:00-08:00): sent at 8:00, still before the opening.
    booked(book(db, patient, early, ist(WED, 22), day=THU))
    (timer,) = reminder_timers(db)
    assert timer.due_at == ist(THU, 8)
    result = book(db, other, opd, ist(WED, 10), day=THU)
    with db.write() as session:
        token = session.get(Token, result.token.id)  # type: ignore[union-attr]
        drop(session, token.id)  # type: ignore[union-attr]
        # An evening reminder set at 22:00 would wait until 8:00, after midnight: too late to say "tomorrow".
        late_evening = ReminderPolicy(evening_at=dt.time(22, 0), before_open=dt.timedelta(0))
        assert plan(session, token, ist(WED, 12), late_evening) is None  # type: ignore[arg-type]
        assert plan(session, token, ist(WED, 12), ReminderPolicy(quiet=None)) == reminders.EVENING  # type: ignore[arg-type]
    # Quiet hours that came in after the timer was set: it waits for their end, then goes out once.
    clock = Clock(ist(WED, 18))
    timers = runner(db, clock, ReminderPolicy(quiet=(dt.time(17, 0), dt.time(19, 0))))
    assert timers.drain() == 1 and sent(db, other) == []
    clock.now = ist(WED, 19)
    assert timers.drain() == 1
    assert len(sent(db, other)) == 1


def test_each_kind_can_be_off(db: Database, opd: int) -> None:
    patient = add_patient(db)
    off = ReminderPolicy(evening_at=None, before_open=dt.timedelta(0))
    result = book(db, patient, opd, ist(WED, 10), day=THU)
    with db.write() as session:
        token = session.get(Token, result.token.id)  # type: ignore[union-attr]
        assert plan(session, token, ist(WED, 10), off) is None  # type: ignore[arg-type]
        evening_off = ReminderPolicy(evening_at=None)
        assert plan(session, token, ist(WED, 10), evening_off) == reminders.BEFORE_OPEN  # type: ignore[arg-type]


@pytest.mark.both_databases
def test_one_reminder_timer_per_token_however_often_it_is_booked_or_planned(db: Database, opd: int) -> None:
    patient = add_patient(db)
    first = book(db, patient, opd, ist(WED, 10), day=THU)
    again = book(db, patient, opd, ist(WED, 10, 5), day=THU)  # the same booking once more: the token it has
    assert again.token is not None and again.token.id == first.token.id  # type: ignore[union-attr]
    with db.write() as session:
        token = session.get(Token, first.token.id)  # type: ignore[union-attr]
        plan(session, token, ist(WED, 11), ReminderPolicy())  # type: ignore[arg-type]
    pending = [timer for timer in reminder_timers(db) if timer.status == TimerStatus.PENDING]
    assert [(timer.kind, timer.key) for timer in pending] == [(reminders.EVENING, f"token:{first.token.id}")]  # type: ignore[union-attr]
    clock = Clock(ist(WED, 18))
    assert runner(db, clock).drain() == 1
    assert len(sent(db, patient)) == 1


def no_show(db: Database, patient: int, opd: int, at: dt.datetime, policy: ReminderPolicy = ReminderPolicy()) -> int:
    """Book a token for today, and have its call end unanswered at `at` (as the call's timer or the doctor's NO SHOW do)."""
    result = book(db, patient, opd, ist(WED, 10))
    with db.write() as session:
        token = session.get(Token, result.token.id)  # type: ignore[union-attr]
        token.status = TokenStatus.NO_SHOW  # type: ignore[union-attr]
        watch_missed_call(session, token, at, policy)  # type: ignore[arg-type]
        return token.id  # type: ignore[union-attr]


def test_a_no_show_is_asked_once_hours_later_unless_they_booked_again(db: Database, opd: int) -> None:
    patient, again = add_patient(db), add_patient(db)
    no_show(db, patient, opd, ist(WED, 11))
    no_show(db, again, opd, ist(WED, 11))
    book(db, again, opd, ist(WED, 12), day=THU)  # booked again meanwhile: not asked
    clock = Clock(ist(WED, 12, 59))
    timers = runner(db, clock)
    assert timers.drain() == 0
    clock.now = ist(WED, 13)
    assert timers.drain() == 2
    ((msgid, params, _),) = sent(db, patient)
    assert msgid.startswith("The doctor called you for token {number}") and params["number"] == 1
    assert sent(db, again) == []
    clock.now = ist(WED, 16)
    assert timers.drain() == 0 and len(sent(db, patient)) == 1


def test_a_no_show_late_in_the_evening_is_asked_in_the_morning_or_not_at_all(db: Database, opd: int) -> None:
    patient, other = add_patient(db), add_patient(db)
    no_show(db, patient, opd, ist(WED, 20))  # 22:00 is quiet: asked at 8:00
    no_show(db, other, opd, ist(WED, 20), ReminderPolicy(missed_call_after=dt.timedelta(0)))  # off
    assert [timer.due_at for timer in reminder_timers(db, reminders.MISSED_CALL)] == [ist(THU, 8)]
    assert runner(db, Clock(ist(THU, 8))).drain() == 1
    assert len(sent(db, patient)) == 1 and sent(db, other) == []


def test_a_walk_ins_reminder_goes_by_sms_in_the_language_chosen_for_them(db: Database, opd: int) -> None:
    with db.write() as session:
        worker, _ = add_health_worker(session, "Asha Kumari", "PHC Sarnath")
        desk = Identity(channel="local", address="asha", person=worker, language="en")
        session.add(desk)
        session.flush()
        # At 18:30 the OPD is closed: the walk-in gets the next session, tomorrow, and so the reminder before it opens.
        walkins = WalkinRecords(session, desk, ist(WED, 18, 30))
        result = walkins.book(WalkIn("+919812345678", "Ramesh Kumar", 70, "male", "hi-Latn"), opd, INTAKE, priority=False)
        assert result.token is not None and result.token.day == THU
    (timer,) = reminder_timers(db)
    assert (timer.kind, timer.due_at) == (reminders.BEFORE_OPEN, ist(THU, 8))
    assert runner(db, Clock(ist(THU, 8))).drain() == 1
    with db.read() as session:
        (row,) = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "push"))
        assert (row.channel, row.address, row.language) == ("sms", "+919812345678", "hi-Latn")


@pytest.mark.parametrize(
    ("env", "policy"),
    [
        ({}, ReminderPolicy()),
        (
            {"TELEOPD_REMINDER_EVENING_AT": "off", "TELEOPD_REMINDER_BEFORE_OPEN_MINUTES": "0", "TELEOPD_REMINDER_FOLLOW_UP": "off",
             "TELEOPD_REMINDER_MISSED_CALL_HOURS": "0", "TELEOPD_QUIET_HOURS": "off"},
            ReminderPolicy(None, dt.timedelta(0), False, dt.timedelta(0), None),
        ),
        ({"TELEOPD_REMINDER_EVENING_AT": "19:30", "TELEOPD_QUIET_HOURS": "22:00-7:00"}, ReminderPolicy(evening_at=dt.time(19, 30), quiet=(dt.time(22), dt.time(7)))),
    ],
)
def test_the_settings_say_which_reminders_are_on_and_when(env: dict[str, str], policy: ReminderPolicy) -> None:
    assert ReminderPolicy.from_settings(Settings.from_env(env)) == policy


@pytest.mark.parametrize(
    ("variable", "value"),
    [("TELEOPD_REMINDER_EVENING_AT", "6pm"), ("TELEOPD_REMINDER_EVENING_AT", "24:00"), ("TELEOPD_QUIET_HOURS", "21:00"),
     ("TELEOPD_QUIET_HOURS", "08:00-08:00"), ("TELEOPD_REMINDER_BEFORE_OPEN_MINUTES", "-5"), ("TELEOPD_REMINDER_FOLLOW_UP", "maybe"),
     ("TELEOPD_REMINDER_MISSED_CALL_HOURS", "49")],
)
def test_a_wrong_reminder_setting_is_named(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"^{variable} must "):
        Settings.from_env({variable: value})

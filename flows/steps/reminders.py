"""Reminders of a booked token: the evening before its day, or before its OPD opens that day.

bot/services/reminders.py decides when (the timers, the settings, quiet hours, whether the
token still waits); this module decides the words. A reminder is a push (a patient who sent
STOP gets none) with two answers, "Cancel my token" and "I will come": the patient's chat,
when idle, is put at the reminder's own question for this token (ReminderAnswerStep), so one
tap, a typed "1" by SMS, or CANCEL answers it. "Yes" is no answer there: it could mean either.
CANCEL typed at any other step works as everywhere (flows/conversation.py, the cancel question).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flows.engine import Answer, Step, Turn, choose_again
from flows.messages import ByLanguage, Choice, Reply, Text, TimeOfDay, sms, t
from flows.notices import MoveConversation, Notice, Notify
from flows.ports import Party, TokenInfo
from flows.steps import visit
from flows.steps.booking import start_booking
from flows.steps.questions import NO_WORDS, YES_WORDS

# The step a reminded patient's idle chat is put at; and one who missed the doctor's call.
ANSWER_STEP = "reminder_answer"
MISSED_STEP = "missed_call_answer"
# Timer kinds (bot/outbox/timers.py), keyed per token (reminder_key): a live token's reminders
# (cancelled with it), and "do you still need a doctor?" after a call the patient never answered.
EVENING = "reminder_evening"
BEFORE_OPEN = "reminder_before_open"
KINDS = (EVENING, BEFORE_OPEN)
MISSED_CALL = "reminder_missed_call"


def reminder_key(token_id: int) -> str:
    """Return the timer key of a token's reminders: one of each kind per token, whoever books it again."""
    return f"token:{token_id}"


@dataclass(frozen=True)
class DueReminder:
    """A token's reminder whose moment has come, with what it says."""

    kind: str  # EVENING ("tomorrow") or BEFORE_OPEN ("today")
    patient: Party
    token_id: int
    number: int
    opd: ByLanguage
    name: str  # the patient's, for a family member's token
    day: dt.date
    starts_at: dt.datetime  # when the OPD's session opens that day
    doctor: str = ""  # a follow-up's doctor, who asked to see the patient again


def reminder_text(due: DueReminder) -> tuple[Text, Text]:
    """Return the reminder's full text and its SMS form."""
    time = TimeOfDay(due.starts_at)
    tomorrow = due.kind == EVENING
    if due.doctor and tomorrow:
        return (
            t(
                "Dr. {doctor} asked to see you again tomorrow, {date}, from {time}: {opd}, token {number} for {name}. "
                "If you cannot come, send CANCEL so that someone else can have the place.",
                doctor=due.doctor, date=due.day, time=time, opd=due.opd, number=due.number, name=due.name,
            ),
            # A doctor's name can be long: the SMS (2 segments at most) says whose follow-up without it.
            sms("Your follow-up is tomorrow {time}, token {number}. Cannot come? Send CANCEL.", time=time, number=due.number),
        )
    if due.doctor:
        return (
            t(
                "Dr. {doctor} asked to see you again today, from {time}: {opd}, token {number} for {name}. "
                "If you cannot come, send CANCEL so that someone else can have the place.",
                doctor=due.doctor, time=time, opd=due.opd, number=due.number, name=due.name,
            ),
            sms("Your follow-up is today {time}, token {number}. Cannot come? Send CANCEL.", time=time, number=due.number),
        )
    if tomorrow:
        return (
            t(
                "Reminder: tomorrow, {date}, from {time}: {opd}, token {number} for {name}. "
                "If you cannot come, send CANCEL so that someone else can have the place.",
                date=due.day, time=time, opd=due.opd, number=due.number, name=due.name,
            ),
            sms("Reminder: tomorrow {time}, {opd}, token {number}. Cannot come? Send CANCEL.", time=time, opd=due.opd, number=due.number),
        )
    return (
        t(
            "Reminder: today from {time}: {opd}, token {number} for {name}. Please keep your phone near you. "
            "If you cannot come, send CANCEL so that someone else can have the place.",
            time=time, opd=due.opd, number=due.number, name=due.name,
        ),
        sms("Reminder: today {time}, {opd}, token {number}. Cannot come? Send CANCEL.", time=time, opd=due.opd, number=due.number),
    )


def answers() -> tuple[Choice, ...]:
    """Return a reminder's two answers (plain words only: "yes" could mean either)."""
    return (
        Choice("cancel", t("Cancel my token"), ("cancel", "cancel token", "radd", "radd karo", "cancel karo", "token cancel karo", "mera token cancel karo", "रद्द", "रद्द करें")),
        Choice("keep", t("I will come"), ("come", "i will come", "aaunga", "aaungi", "aayenge", "main aaunga", "main aaungi", "hum aayenge", "zaroor", "आऊँगा", "आऊँगी", "आएँगे", "ज़रूर")),
    )


def reminder(due: DueReminder) -> Reply:
    """Return the reminder, with its two answers: cancel the token, or come."""
    text, short = reminder_text(due)
    return Reply(text, answers(), kind="push", sms=short)


def reminder_notices(due: DueReminder) -> list[Notice]:
    """Return the reminder to the patient, and their chat (when idle) at its question for this token."""
    return [
        Notify(due.patient.identity_id, reminder(due), about=due.patient.about),
        MoveConversation(due.patient.identity_id, ANSWER_STEP, {"token": due.token_id}),
    ]


def _token(turn: Turn) -> TokenInfo | None:
    return next((token for token in turn.ports.bookings.live_tokens() if token.id == turn.data.get("token")), None)


class ReminderAnswerStep(Step):
    """Asks a reminded patient whether they will come, or cancel the token."""

    name = ANSWER_STEP

    def ask(self, turn: Turn) -> Reply:
        token = _token(turn)
        if token is None:
            # The reminder's own answers still, so that its buttons are understood (and told the token is gone).
            return Reply(t("That token is no longer booked."), answers())
        return Reply(
            t("Token {number} at {opd} on {date}: will you come?", number=token.number, opd=token.opd_name, date=token.day),
            answers(),
            sms=sms("Token {number} on {date}: will you come?", number=token.number, date=token.day),
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Cancels the token, or thanks the patient for coming; then the menu."""
        token = _token(turn)
        if token is None:
            turn.say(t("That token is no longer booked."))
        elif answer.choice == "cancel":
            cancelled = turn.ports.bookings.cancel(token.id)
            if cancelled is None:
                turn.say(t("That token is no longer booked."))
            else:
                # The doctor who had called this token, and whoever moved up to place 3, are told.
                turn.notices.extend(visit.cancelled_notices(cancelled, turn.now))
                turn.say(
                    t("Token {number} at {opd} is cancelled.", number=token.number, opd=token.opd_name),
                    sms=sms("Token {number}, {opd} cancelled.", number=token.number, opd=token.opd_name),
                )
        elif answer.choice == "keep":
            turn.say(
                t("Thank you. Please keep your phone near you: the doctor will call you on token {number}.", number=token.number),
                sms=sms("Thank you. Keep your phone near you (token {number}).", number=token.number),
            )
        else:
            turn.ask_again(choose_again())
            return
        turn.data.pop("token", None)
        turn.goto("menu")


def missed_call_notices(patient: Party, number: int, opd: ByLanguage) -> list[Notice]:
    """Return "do you still need a doctor?" to a patient who never answered the doctor's call, their idle chat at its question."""
    reply = Reply(
        t("The doctor called you for token {number} ({opd}), but you did not join. Do you still need a doctor?", number=number, opd=opd),
        still_need_answers(),
        kind="push",
        sms=sms("You missed the doctor's call (token {number}). Still need a doctor?", number=number),
    )
    return [Notify(patient.identity_id, reply, about=patient.about), MoveConversation(patient.identity_id, MISSED_STEP, {})]


def still_need_answers() -> tuple[Choice, ...]:
    """Return the answers to "do you still need a doctor?"."""
    return (
        Choice("book", t("Yes, book a token"), YES_WORDS + ("book", "book karo")),
        Choice("no", t("No, thank you"), NO_WORDS + ("no thanks", "no thank you")),
    )


class MissedCallAnswerStep(Step):
    """Asks a patient who missed the doctor's call whether they still need a doctor."""

    name = MISSED_STEP

    def ask(self, turn: Turn) -> Reply:
        return Reply(t("Do you still need a doctor?"), still_need_answers(), sms=sms("Still need a doctor?"))

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Starts a booking, or wishes them well and goes back to the menu."""
        if answer.choice == "book":
            start_booking(turn)
        elif answer.choice == "no":
            turn.say(t("Get well soon. Send MENU whenever you need a doctor."))
            turn.goto("menu")
        else:
            turn.ask_again(choose_again())


STEPS: tuple[Step, ...] = (ReminderAnswerStep(), MissedCallAnswerStep())

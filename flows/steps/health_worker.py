"""A health worker at a spoke clinic books a token for a walk-in patient with a feature phone.

```mermaid
stateDiagram-v2
    hw_home --> hw_phone: book for a patient
    hw_phone --> hw_language --> hw_name --> hw_age --> hw_sex --> hw_symptoms --> hw_opd
    hw_opd --> hw_home: token booked; the patient gets SMS, the worker is told
    hw_opd --> hw_call_me --> hw_home: when the voice line places calls (flows/steps/voice_call.py)
```
Registration is minimal (mobile number, the language of their SMS, name, age, sex): the
patient is in front of the health worker, who explained what is stored. The patient then
gets SMS-form messages on their own number, in the language they chose (romanised Hindi for
a phone that shows Devanagari as boxes): the token, their place, and what happens at their
turn: the doctor sees them by video at the clinic, the health worker joining with them (the
health worker gets the room when the doctor calls, flows/steps/visit.py).
"""

from __future__ import annotations

import datetime as dt

from flows.engine import ROMANISED_HINDI, Answer, Step, Turn, choose_again
from flows.messages import Choice, Reply, Text, sms, t
from flows.notices import Notify
from flows.ports import BookingOutcome, Intake, WalkIn
from flows.steps.onboarding import LANGUAGE_CHOICES
from flows.steps.opd_choice import opds_seeing
from flows.steps.pings import ping_notices
from flows.steps.questions import AgeQuestion, NameQuestion, PhoneQuestion, SexQuestion
from flows.steps.token_text import token_wait, token_when
from flows.steps.voice_call import HwCallMeStep, ask_call_me
from flows.understanding.duration import parse_duration
from flows.understanding.specialty import specialty_for
from flows.understanding.symptoms import find_symptoms

HW_KEYS = ("hw_phone", "hw_language", "hw_name", "hw_age", "hw_sex", "hw_intake")


class HwHomeStep(Step):
    """The health worker's menu."""

    name = "hw_home"

    def ask(self, turn: Turn) -> Reply:
        worker, clinic = turn.ports.walkins.clinic() if turn.ports.walkins else ("", "")
        return Reply(
            t("{name}, {clinic}: what would you like to do?", name=worker, clinic=clinic),
            (
                Choice("book", t("Book a token for a patient"), ("book", "token", "new patient", "naya mareez", "बुक", "टोकन")),
                Choice("help", t("Help"), ("help", "madad", "मदद")),
            ),
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Starts a booking, or explains."""
        if answer.choice == "book":
            for key in HW_KEYS:
                turn.data.pop(key, None)
            turn.data.pop("red_flags", None)
            turn.goto("hw_phone")
        elif answer.choice == "help":
            turn.say(hw_help())
            turn.ask_again()
        else:
            turn.ask_again(choose_again())


def hw_help() -> Text:
    """Return the health worker's help."""
    return t(
        "To book for a walk-in patient, choose “Book a token for a patient” and give their mobile number, "
        "name, age, sex and the problem. They get the token and updates by SMS on their own phone, and you "
        "are told too. In an emergency, call 108 or 112 at once."
    )


def _age_question(turn: Turn) -> Text:
    return t("How old is {name}? Send the age in years; for a baby under one year, send 0.", name=turn.data.get("hw_name", ""))


def _sex_question(turn: Turn) -> Text:
    return t("Is {name} female, male or other?", name=turn.data.get("hw_name", ""))


# The patient's mobile number (their SMS updates go there), the language of those SMS, name, age and sex.
HW_PHONE = PhoneQuestion(
    "hw_phone", "hw_phone", t("What is the patient's mobile number? They will get their token and updates there by SMS."), "hw_language",
    invalid=t("That does not look like a mobile number. Please send 10 digits, for example 98765 43210."),
)


def sms_language_choices() -> tuple[Choice, ...]:
    """Return the languages a walk-in's SMS can be in: the language question's, romanised Hindi said in full."""
    return tuple(
        choice if choice.key != ROMANISED_HINDI
        else Choice(choice.key, t("Hindi in English letters, for phones without Hindi"), (*choice.aliases, "english letters"))
        for choice in LANGUAGE_CHOICES
    )


class HwLanguageStep(Step):
    """Asks the language of the walk-in's SMS: theirs, not the health worker's."""

    name = "hw_language"

    def ask(self, turn: Turn) -> Reply:
        return Reply(t("Which language should the patient's SMS be in?"), sms_language_choices())

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Keeps the language for the booking."""
        if answer.choice is None:
            turn.ask_again(choose_again())
            return
        turn.data["hw_language"] = answer.choice
        turn.goto("hw_name")
HW_NAME = NameQuestion("hw_name", "hw_name", t("What is the patient's name?"), "hw_age")
HW_AGE = AgeQuestion("hw_age", "hw_age", _age_question, "hw_sex")
HW_SEX = SexQuestion("hw_sex", "hw_sex", _sex_question, "hw_symptoms")


class HwSymptomsStep(Step):
    """Asks what the problem is, in the patient's words."""

    name = "hw_symptoms"

    def ask(self, turn: Turn) -> Reply:
        return Reply(t("What is the problem, and since when? For example: fever and cough for 3 days."))

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Keeps the complaint for the doctor."""
        finding = find_symptoms(answer.text)
        if not finding.symptoms and not finding.unknown:
            turn.ask_again(t("Please tell me the problem in words, for example: headache, or stomach pain since yesterday."))
            return
        duration = parse_duration(answer.text)
        turn.data["hw_intake"] = {
            "text": answer.text[:1000],
            "symptoms": [s.code for s in finding.symptoms],
            "unknown": list(finding.unknown),
            "duration_days": duration.days if duration else None,
            "duration_text": duration.text if duration else None,
        }
        turn.goto("hw_opd")


class HwOpdStep(Step):
    """Offers the OPDs, the one the complaint points to first, and books."""

    name = "hw_opd"

    def _opds(self, turn: Turn):  # type: ignore[no-untyped-def]
        """Return the OPDs that see the patient, the one the complaint points to first."""
        intake = turn.data.get("hw_intake") or {}
        age, sex = int(turn.data.get("hw_age", 30)), str(turn.data.get("hw_sex", "other"))
        wanted = specialty_for(find_symptoms(intake.get("text", "")), age, sex)
        opds = opds_seeing(turn.ports.bookings.opds(), age, sex, wanted)
        return sorted(opds, key=lambda o: (o.specialty != wanted, not o.open_now, o.next_session))

    def ask(self, turn: Turn) -> Reply:
        opds = self._opds(turn)
        if not opds:
            return Reply(t("No OPD is taking bookings at the moment. Please try again later; in an emergency call 108 or 112."), (Choice("home", t("Back to the menu")),))
        return Reply(
            t("Which OPD? The first one fits these symptoms best."),
            tuple(Choice(f"opd:{o.id}", o.name, (o.code,)) for o in opds),
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Books the chosen OPD for the patient and tells the health worker."""
        walkins = turn.ports.walkins
        if answer.choice == "home" or walkins is None:
            turn.goto("hw_home")
            return
        if answer.choice is None:
            turn.ask_again(t("I could not find that OPD. Please choose one from the list below: send its number, or type its name."))
            return
        data = turn.data
        intake_data = data.get("hw_intake") or {}
        red_flags = tuple(data.get("red_flags", ()))
        intake = Intake(
            text=intake_data.get("text", ""), symptoms=tuple(intake_data.get("symptoms", ())), unknown=tuple(intake_data.get("unknown", ())),
            duration_days=intake_data.get("duration_days"), duration_text=intake_data.get("duration_text"), red_flags=red_flags, for_whom="walk_in",
        )
        patient = WalkIn(
            phone=data["hw_phone"], name=data["hw_name"], age=int(data["hw_age"]), sex=data["hw_sex"], language=data.get("hw_language"),
        )
        result = walkins.book(patient, int(answer.choice.removeprefix("opd:")), intake, priority=bool(red_flags))
        turn.notices.extend(ping_notices(result, turn.now, turn.ports.danger_escalation_minutes))
        if result.token is not None and result.outcome in (BookingOutcome.BOOKED, BookingOutcome.EXISTING):
            token = result.token
            if result.patient_chat is not None:
                # The patient is told at once, by SMS on the number they gave (their chat, not the health worker's).
                sms_text = patient_token_sms(token.number, token.opd_name, token.day, token.position, token.wait_minutes)
                turn.notices.append(Notify(result.patient_chat.identity_id, sms_text, about=result.patient_chat.about))
            turn.say(
                t(
                    "Booked for {name} ({phone}): token {number} at {opd}, {when}. Place in the queue: {position}. "
                    "Estimated wait: {wait}. The patient gets this by SMS, and you will be told when the doctor calls.",
                    name=patient.name, phone=patient.phone, number=token.number, opd=token.opd_name, when=token_when(token, turn.now),
                    position=token.position, wait=token_wait(token),
                )
            )
            for key in (*HW_KEYS, "red_flags"):
                data.pop(key, None)
            if not ask_call_me(turn, patient.phone, patient.name):  # flows/steps/voice_call.py: "phone them too?"
                turn.goto("hw_home")
        else:
            turn.ask_again(t("This OPD has no free session in the next two weeks. Please choose another OPD."))


def patient_token_sms(number: int, opd: object, day: dt.date, position: int, minutes: int) -> Reply:
    """Return the SMS a walk-in patient gets with their token, and what happens at their turn.

    A walk-in is seen at the clinic: when the doctor calls, the health worker who booked gets
    the video room and joins from the clinic with the patient (flows/steps/visit.py), whose
    own phone may not open a video call. So the patient is told to be at the clinic then.
    """
    if position <= 1:
        # First in line: "place 1, about 0 minutes" reads like a fault; say it plainly.
        return Reply(
            t(
                "Your token for {opd}: number {number}, {date}. You are next in the queue. "
                "When your turn comes, the health worker at the clinic will connect you to the doctor by video: please be at the clinic then.",
                opd=opd, number=number, date=day,  # type: ignore[arg-type]
            ),
            kind="push",
            sms=sms(
                "Token {number}, {opd}, {date}. You are next. Be at the clinic at your turn: the doctor sees you there by video.",
                number=number, opd=opd, date=day,  # type: ignore[arg-type]
            ),
        )
    return Reply(
        t(
            "Your token for {opd}: number {number}, {date}. Place in the queue: {position}, about {minutes} minutes. "
            "When your turn comes, the health worker at the clinic will connect you to the doctor by video: please be at the clinic then.",
            opd=opd, number=number, date=day, position=position, minutes=minutes,  # type: ignore[arg-type]
        ),
        kind="push",
        sms=sms(
            "Token {number}, {opd}, {date}. Place {position}, ~{minutes} min. Be at the clinic at your turn: the doctor sees you there by video.",
            number=number, opd=opd, date=day, position=position, minutes=minutes,  # type: ignore[arg-type]
        ),
    )


def worker_call_notice(consultation_id: int, number: int, name: str, room: str) -> Reply:
    """Return the notice to the health worker that the doctor is calling their patient, with the room to join from the clinic.

    "We are joining" tells the doctor and stops the no-show timers (visit.walk_in_join_action):
    the walk-in may have no phone to answer the call's message with.
    """
    return Reply(
        t(
            "Token {number} ({name}): the doctor is calling the patient now. Join the video call with the patient now:\n{room}",
            number=number, name=name, room=room,
        ),
        (Choice(f"hwjoin:{consultation_id}", t("We are joining")),),
        kind="push",
    )


def worker_advice(number: int, name: str, doctor: str, words: str) -> Reply:
    """Return the doctor's advice for a walk-in, word for word, to the health worker who booked them."""
    return Reply(
        t("Advice from Dr. {doctor} for {name} (token {number}):\n{advice}", doctor=doctor, name=name, number=number, advice=words or "-"),
        kind="push",
    )


STEPS: tuple[Step, ...] = (HwHomeStep(), HW_PHONE, HwLanguageStep(), HW_NAME, HW_AGE, HW_SEX, HwSymptomsStep(), HwOpdStep(), HwCallMeStep())

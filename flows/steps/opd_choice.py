"""Booking, second half: which OPD (suggested, or picked from the list), the token, or the next session.

```mermaid
stateDiagram-v2
    opd_suggest --> menu: book → token
    opd_suggest --> opd_pick: choose another OPD
    opd_pick --> menu: book → token
    opd_suggest --> offer: closed now or full today
    offer --> menu: book the next session
```
The first half, the questions about the complaint and the patient, is flows/steps/booking.py.
This module also keeps the booking's working data (BOOKING_KEYS) that both halves fill in.
After danger signs the suggestion says "call 108 first" again and offers an OPD open now (the
token is called first) before the specialty's next session.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flows.engine import Answer, Step, Turn, choose_again
from flows.messages import Choice, Reply, Text, TimeOfDay, sms, t
from flows.ports import BookingOutcome, BookingResult, Intake, OpdInfo
from flows.steps.pings import ping_notices
from flows.steps.questions import NO_WORDS, YES_WORDS
from flows.steps.token_text import say_token
from flows.understanding.redflags import known_flags
from flows.understanding.specialty import sees_patient, specialty_for
from flows.understanding.symptoms import find_symptoms

# The conversation data the booking questions fill in.
BOOKING_KEYS = ("intake", "patient", "opd", "opd_later", "offer", "dep_name", "dep_age")


def intake_data(turn: Turn) -> dict[str, Any]:
    """Return the complaint as told so far (conversation data), for the doctor."""
    return turn.data.setdefault("intake", {})


def emergency_actions(turn: Turn) -> set[str]:
    """Return what the danger signs told so far call for: "ambulance" (108/112), "mental_health" (Tele-MANAS)."""
    action_of = {flag.code: flag.action for flag in known_flags()}
    # A code the detector no longer knows is still a danger sign: the ambulance is the safe reading.
    return {action_of.get(code, "ambulance") for code in turn.data.get("red_flags", ())}


def finish_booking(turn: Turn) -> None:
    """Forgets the booking's working data and the danger signs, and goes back to the menu."""
    for key in (*BOOKING_KEYS, "red_flags"):
        turn.data.pop(key, None)
    turn.goto("menu")


def _patient_age_sex(turn: Turn) -> tuple[int, str]:
    patient = turn.data.get("patient")
    if patient is not None:
        for dependent in turn.ports.bookings.dependents():
            if dependent.person_id == patient:
                return dependent.age, dependent.sex
    profile = turn.ports.patients.profile()
    return (profile.age, profile.sex) if profile else (30, "other")


def _wanted_specialty(turn: Turn) -> str:
    """Return the specialty the symptoms point to, for this patient's age and sex."""
    if emergency_actions(turn) == {"mental_health"}:
        return "psychiatry"  # thoughts of self-harm: the mental health OPD, where there is one
    age, sex = _patient_age_sex(turn)
    return specialty_for(find_symptoms(intake_data(turn).get("text", "")), age, sex)


def opds_seeing(opds: list[OpdInfo], age: int, sex: str, wanted: str) -> list[OpdInfo]:
    """Return the OPDs that see a patient of this age and sex, and those of the specialty their symptoms point to."""
    return [o for o in opds if o.specialty == wanted or sees_patient(o.specialty, age, sex)]


def opds_for_patient(turn: Turn) -> list[OpdInfo]:
    """Return the OPDs that see this booking's patient, and the one their symptoms point to."""
    age, sex = _patient_age_sex(turn)
    return opds_seeing(turn.ports.bookings.opds(), age, sex, _wanted_specialty(turn))


def suggested_opd(turn: Turn, opds: list[OpdInfo]) -> OpdInfo | None:
    """Return the OPD to suggest: the specialty the symptoms point to, open soonest."""
    if not opds:
        return None
    specialty = _wanted_specialty(turn)
    for wanted in (specialty, "general_medicine"):
        matching = sorted((o for o in opds if o.specialty == wanted), key=lambda o: (not o.open_now, o.next_session))
        if matching:
            return matching[0]
    return sorted(opds, key=lambda o: (not o.open_now, o.next_session))[0]


def open_now(opds: list[OpdInfo], specialty: str) -> OpdInfo | None:
    """Return an OPD open now: of the specialty if one is, else general medicine, else any."""
    candidates = [o for o in opds if o.open_now]
    for wanted in (specialty, "general_medicine"):
        found = next((o for o in candidates if o.specialty == wanted), None)
        if found is not None:
            return found
    return candidates[0] if candidates else None


def when_text(opd: OpdInfo) -> Text:
    """Return "open now" or when the next session starts."""
    if opd.open_now:
        return t("It is open now.")
    return t("Its next session starts on {date} at {time}.", date=opd.next_session.date(), time=TimeOfDay(opd.next_session))


class OpdSuggestStep(Step):
    """Suggests the OPD that fits the symptoms, age and sex, and lets the patient pick another."""

    name = "opd_suggest"

    def skip(self, turn: Turn) -> str | None:
        opds = opds_for_patient(turn)
        if not opds:
            turn.say(t("No OPD is taking bookings at the moment. Please try again later; in an emergency call 108 or 112."))
            return "menu"
        suggestion = suggested_opd(turn, opds)
        turn.data["opd"] = suggestion.id if suggestion else None
        turn.data.pop("opd_later", None)
        actions = emergency_actions(turn)
        if actions and suggestion is not None and not suggestion.open_now:
            # Danger signs: a doctor now comes before the specialty's next session.
            now = open_now(opds, suggestion.specialty)
            if now is not None:
                turn.data["opd"], turn.data["opd_later"] = now.id, suggestion.id
        if "ambulance" in actions:
            turn.say(t("Call 108 first, or 112: an online doctor cannot come to the patient."), sms=sms("Call 108 or 112 first."))
        return None

    def ask(self, turn: Turn) -> Reply:
        opd = _opd(turn, turn.data.get("opd"))
        if opd is None:
            return OpdPickStep().ask(turn)
        if turn.data.get("red_flags") and opd.open_now:
            return self._now(turn, opd)
        return Reply(
            t("The {opd} OPD fits these symptoms. {when}\nShall I book a token there?", opd=opd.name, when=when_text(opd)),
            sms=sms("Book a token at {opd}?", opd=opd.name),
            choices=(
                Choice("book", t("Yes, book a token"), YES_WORDS + ("book",)),
                Choice("other", t("Choose another OPD"), NO_WORDS + ("other", "another", "dusra", "दूसरा")),
            ),
        )

    def _now(self, turn: Turn, opd: OpdInfo) -> Reply:
        """Return the offer after danger signs: this OPD now, called first; then the specialty's next session."""
        choices = [Choice("book", t("Yes, book now"), YES_WORDS + ("book", "now", "abhi", "अभी", *_names(opd)))]
        later = _opd(turn, turn.data.get("opd_later"))
        # The SMS forms number their choices themselves, in the order of the choices: a label
        # with an OPD's name and a date does not fit an SMS beside the question otherwise.
        short = sms("{opd} is open now and you will be called first. Book a token?\n1 Yes, now 2 Other OPD", opd=opd.name)
        if later is not None:
            starts = later.next_session
            label = t("Book {opd} on {date} at {time}", opd=later.name, date=starts.date(), time=TimeOfDay(starts))
            choices.append(Choice("later", label, ("later", "baad mein", "बाद में", *_names(later))))
            # Two OPDs' names do not fit a Devanagari SMS: the one open now goes unnamed.
            short = sms("A doctor is free now and you will be called first.\n1 Book now 2 Book {later} on {date} 3 Other OPD", later=later.name, date=starts.date())
        choices.append(Choice("other", t("Choose another OPD"), NO_WORDS + ("other", "another", "dusra", "दूसरा")))
        return Reply(
            t("If you also want a doctor online now: the {opd} OPD is open now, and this token will be called first. Shall I book it?", opd=opd.name),
            tuple(choices),
            sms=short,
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Books the suggested OPD (or, after danger signs, the specialty's next session), or lists the others."""
        if answer.choice == "book" and turn.data.get("opd") is not None:
            # The suggestion already said when the OPD next opens: accepting it is accepting
            # that session, so it is booked without asking a second time.
            book(turn, turn.data["opd"], accept_next_session=True)
        elif answer.choice == "later" and turn.data.get("opd_later") is not None:
            book(turn, turn.data["opd_later"], accept_next_session=True)
        elif answer.choice == "other" or turn.data.get("opd") is None:
            turn.goto("opd_pick")
        else:
            turn.ask_again(choose_again())


def _names(opd: OpdInfo) -> tuple[str, ...]:
    """Return what an OPD is called by: its code and its name in each language."""
    return (opd.code, opd.name.en, opd.name.hi)


def _opd(turn: Turn, opd_id: int | None) -> OpdInfo | None:
    return next((o for o in turn.ports.bookings.opds() if o.id == opd_id), None)


class OpdPickStep(Step):
    """Lists the OPDs to choose from."""

    name = "opd_pick"

    def ask(self, turn: Turn) -> Reply:
        # Every OPD that sees the patient is offered; a channel that shows fewer rows at once
        # (WhatsApp lists: 10) pages them, and any OPD can also be typed by its name or code.
        opds = opds_for_patient(turn)
        return Reply(
            t("Which OPD would you like?"),
            tuple(Choice(f"opd:{o.id}", o.name, (o.code,)) for o in opds),
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Books the chosen OPD."""
        if answer.choice is None:
            turn.ask_again(t("I could not find that OPD. Please choose one from the list below: send its number, or type its name."))
            return
        opd_id = int(answer.choice.removeprefix("opd:"))
        turn.data["opd"] = opd_id
        book(turn, opd_id)


def _finish_intake(turn: Turn) -> Intake:
    data = intake_data(turn)
    return Intake(
        text=data.get("text", ""),
        symptoms=tuple(data.get("symptoms", ())),
        unknown=tuple(data.get("unknown", ())),
        duration_days=data.get("duration_days"),
        duration_text=data.get("duration_text"),
        severity=data.get("severity"),
        red_flags=tuple(turn.data.get("red_flags", ())),
        for_whom=data.get("for_whom", "self"),
    )


def book(turn: Turn, opd_id: int, day: dt.date | None = None, accept_next_session: bool = False) -> None:
    """Books a token and says so, or offers the next session."""
    complaint = _finish_intake(turn)
    bookings, patient, priority = turn.ports.bookings, turn.data.get("patient"), bool(complaint.red_flags)
    result = bookings.book(opd_id, patient, complaint, priority=priority, day=day)
    if accept_next_session and result.outcome is BookingOutcome.CLOSED and result.offer is not None:
        result = bookings.book(opd_id, patient, complaint, priority=priority, day=result.offer.day)
    _tell_result(turn, opd_id, result)
    turn.notices.extend(ping_notices(result, turn.now, turn.ports.danger_escalation_minutes))


def _tell_result(turn: Turn, opd_id: int, result: BookingResult) -> None:
    if result.outcome is BookingOutcome.BOOKED and result.token:
        say_token(turn, result.token, new=True)
        finish_booking(turn)
    elif result.outcome is BookingOutcome.EXISTING and result.token:
        turn.say(t("You already have a token for this OPD on that day. Here it is:"))
        say_token(turn, result.token, new=False)
        finish_booking(turn)
    elif result.outcome in (BookingOutcome.CLOSED, BookingOutcome.FULL) and result.offer:
        turn.data["offer"] = {"opd": opd_id, "day": result.offer.day.isoformat(), "starts_at": result.offer.starts_at.isoformat(), "why": result.outcome.value}
        turn.goto("offer")
    else:
        turn.say(t("This OPD has no free session in the next two weeks. Please choose another OPD."))
        turn.goto("opd_pick")


class OfferStep(Step):
    """Offers the next session when the OPD is closed now or full today."""

    name = "offer"

    def ask(self, turn: Turn) -> Reply:
        offer = turn.data.get("offer", {})
        opd = _opd(turn, offer.get("opd"))
        starts = dt.datetime.fromisoformat(offer["starts_at"]) if offer else turn.now
        name = opd.name if opd else ""
        why = (
            t("Today's tokens for {opd} are all taken.", opd=name)
            if offer.get("why") == BookingOutcome.FULL
            else t("{opd} is closed now.", opd=name)
        )
        return Reply(
            t("{why} The next session is on {date} at {time}. Shall I book a token for then?", why=why, date=starts.date(), time=TimeOfDay(starts)),
            # The SMS form numbers these choices itself, in this order: cut to fit by the
            # renderer, "No, not now" read "नहीं, अभी" ("No, now").
            sms=sms("{opd} opens next on {date} at {time}. Book then?\n1 Yes 2 Other OPD 3 No", opd=name, date=starts.date(), time=TimeOfDay(starts)),
            choices=(
                Choice("accept", t("Yes, book for then"), YES_WORDS + ("book",)),
                Choice("other", t("Choose another OPD"), ("other", "another", "dusra", "दूसरा")),
                Choice("no", t("No, not now"), NO_WORDS),
            ),
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Books the offered session, lists other OPDs, or leaves it."""
        offer = turn.data.get("offer") or {}
        if answer.choice == "accept" and offer:
            book(turn, offer["opd"], day=dt.date.fromisoformat(offer["day"]))
        elif answer.choice == "other":
            turn.goto("opd_pick")
        elif answer.choice == "no":
            turn.say(t("All right, no token was booked."))
            finish_booking(turn)
        else:
            turn.ask_again(choose_again())


STEPS: tuple[Step, ...] = (OpdSuggestStep(), OpdPickStep(), OfferStep())

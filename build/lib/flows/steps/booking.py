"""Booking: from "mujhe bukhar hai" to a token in hand, with an honest idea of the wait.

```mermaid
stateDiagram-v2
    menu --> symptoms: See a doctor (or symptoms typed at the menu)
    symptoms --> for_whom
    symptoms --> support_offer: thoughts of self-harm (after the Tele-MANAS reply)
    support_offer --> opd_suggest: yes
    support_offer --> menu: not now
    for_whom --> dep_name: my child / another family member
    dep_name --> dep_age --> dep_sex --> since_when
    for_whom --> since_when: myself / someone booked for before
    since_when --> severity: (passed by when the first message said since when)
    severity --> opd_suggest
    since_when --> opd_suggest: danger signs (108 first; since when and how bad wait for the doctor)
    opd_suggest --> menu: book → token
    opd_suggest --> opd_pick: choose another OPD
    opd_pick --> menu: book → token
    opd_suggest --> offer: closed now or full today
    offer --> menu: book the next session
```
The intake lives in the conversation's data until the token is booked; it then goes with
the token, for the doctor. After danger signs the suggestion says "call 108 first" again and
offers an OPD open now (the token is called first) before the specialty's next session.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flows.engine import Answer, Step, Turn, choose_again
from flows.messages import ByLanguage, Choice, Reply, Text, TimeOfDay, sms, t, tn
from flows.ports import BookingOutcome, BookingResult, Intake, OpdInfo, TokenInfo
from flows.steps.onboarding import (
    NAME_MAX,
    NO_WORDS,
    SEX_ALIASES,
    SEX_LABELS,
    YES_WORDS,
    FreeTextStep,
)
from flows.understanding.redflags import known_flags
from flows.understanding.symptoms import (
    find_symptoms,
    parse_duration,
    sees_patient,
    specialty_for,
)
from flows.understanding.text import parse_age

SEVERITY_LABELS = {
    "mild": t("Mild: can do daily work"),
    "moderate": t("Moderate: daily work is hard"),
    "severe": t("Severe: cannot do daily work"),
}
SEVERITY_ALIASES = {
    "mild": ("mild", "halka", "thoda", "हल्का", "थोड़ा", "kam"),
    "moderate": ("moderate", "medium", "beech ka", "madhyam", "मध्यम", "theek thaak"),
    "severe": ("severe", "bad", "very bad", "bahut", "bahut zyada", "zyada", "jyada", "tez", "बहुत", "बहुत ज़्यादा", "ज़्यादा", "तेज़"),
}


# The conversation data the booking questions fill in.
BOOKING_KEYS = ("intake", "patient", "opd", "opd_later", "offer", "dep_name", "dep_age")


def start_booking(turn: Turn, text: str | None = None) -> None:
    """Starts the booking questions; symptoms typed at the menu count as the first answer."""
    for key in BOOKING_KEYS:
        turn.data.pop(key, None)
    if not text:
        # A new booking from the menu: danger signs told before belong to an earlier one.
        turn.data.pop("red_flags", None)
    if text:
        SymptomsStep().answer(turn, Answer(text=text, key="", choice=None, inbound=turn.inbound))
    else:
        turn.goto("symptoms")


def _intake(turn: Turn) -> dict[str, Any]:
    return turn.data.setdefault("intake", {})


def emergency_actions(turn: Turn) -> set[str]:
    """Return what the danger signs told so far call for: "ambulance" (108/112), "mental_health" (Tele-MANAS)."""
    action_of = {flag.code: flag.action for flag in known_flags()}
    # A code the detector no longer knows is still a danger sign: the ambulance is the safe reading.
    return {action_of.get(code, "ambulance") for code in turn.data.get("red_flags", ())}


class SymptomsStep(Step):
    """Asks what is wrong, in the patient's own words."""

    name = "symptoms"

    def ask(self, turn: Turn) -> Reply:
        return Reply(
            t("What is the problem? Tell me in your own words, for example: fever and cough for 3 days."),
            sms=sms("What is the problem? e.g. fever and cough for 3 days"),
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Keeps the symptoms found and the patient's own words, for the doctor."""
        finding = find_symptoms(answer.text)
        if not finding.symptoms and not finding.unknown:
            turn.ask_again(t("Please tell me the problem in words, for example: headache, or stomach pain since yesterday."))
            return
        intake = _intake(turn)
        intake.update(text=answer.text[:1000], symptoms=[s.code for s in finding.symptoms], unknown=list(finding.unknown))
        duration = parse_duration(answer.text)
        if duration is not None:
            intake.update(duration_days=duration.days, duration_text=duration.text)
        # After the Tele-MANAS reply a form would be cold: a doctor is offered, gently, instead.
        turn.goto("support_offer" if emergency_actions(turn) == {"mental_health"} else "for_whom")


class ForWhomStep(Step):
    """Asks who the patient is: the user, someone booked for before, or a new family member."""

    name = "for_whom"

    def ask(self, turn: Turn) -> Reply:
        choices = [
            Choice(
                "self", t("Myself"),
                ("self", "me", "for me", "main", "mujhe", "khud", "main khud", "mere liye", "मैं", "खुद", "मुझे", "मैं खुद", "मेरे लिए", "apne liye", "अपने लिए"),
            )
        ]
        choices += [
            Choice(f"dep:{d.person_id}", ByLanguage(en=d.name, hi=d.name)) for d in turn.ports.bookings.dependents()[:6]
        ]
        choices += [
            Choice(
                "child", t("My child"),
                (
                    "child", "my son", "my daughter", "son", "daughter", "baby", "bachcha", "baccha", "beta", "beti", "mera bachcha",
                    "mera baccha", "mera beta", "meri beti", "बच्चा", "बच्ची", "बेटा", "बेटी", "मेरा बच्चा", "मेरा बेटा", "मेरी बेटी", "मेरी बच्ची",
                ),
            ),
            Choice(
                "family", t("Another family member"),
                (
                    "family", "parivar", "परिवार", "other", "someone else", "dusra", "koi aur", "कोई और", "mother", "father", "wife", "husband",
                    "maa", "mummy", "papa", "pita", "patni", "pati", "मां", "माँ", "पिता", "पत्नी", "पति", "dadi", "dada", "nani", "nana", "दादी", "दादा",
                ),
            ),
        ]
        return Reply(t("Who is the patient?"), tuple(choices), sms=sms("Who is the patient?"))

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Notes the patient, or asks about a new family member."""
        choice = answer.choice
        if choice is None:
            turn.ask_again(choose_again())
        elif choice == "self":
            turn.data["patient"] = None
            _intake(turn)["for_whom"] = "self"
            _after_patient(turn)
        elif choice.startswith("dep:"):
            turn.data["patient"] = int(choice.removeprefix("dep:"))
            _intake(turn)["for_whom"] = "family"
            _after_patient(turn)
        else:
            _intake(turn)["for_whom"] = choice
            turn.goto("dep_name")


def _after_patient(turn: Turn) -> None:
    turn.goto("severity" if _intake(turn).get("duration_days") is not None else "since_when")


class DependentNameStep(FreeTextStep):
    """Asks the family member's name."""

    name = field = "dep_name"
    next_step = "dep_age"
    max_length = NAME_MAX
    question = t("What is the patient's name?")
    needs_letters = t("A name needs letters. Please type the name, for example: Sunita Devi.")
    too_long = t("That is too long for a name. Please send only the name, in at most {limit} letters.", limit=NAME_MAX)


class DependentAgeStep(Step):
    """Asks the family member's age."""

    name = "dep_age"

    def ask(self, turn: Turn) -> Reply:
        return Reply(t("How old is {name}? Send the age in years; for a baby under one year, send 0.", name=turn.data.get("dep_name", "")))

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Stores an age from 0 to 120."""
        age = parse_age(answer.text)
        if age is None:
            turn.ask_again(t("Please send the age as a number of years from 0 to 120, for example 34. For a baby under one year, send 0."))
            return
        turn.data["dep_age"] = age
        turn.goto("dep_sex")


class DependentSexStep(Step):
    """Asks the family member's sex, then registers them under the user."""

    name = "dep_sex"

    def ask(self, turn: Turn) -> Reply:
        return Reply(
            t("Is {name} female, male or other?", name=turn.data.get("dep_name", "")),
            tuple(Choice(key, label, SEX_ALIASES[key]) for key, label in SEX_LABELS.items()),
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Registers the family member and goes on with the booking."""
        if answer.choice is None:
            turn.ask_again(choose_again())
            return
        name, age = turn.data.pop("dep_name"), turn.data.pop("dep_age")
        turn.data["patient"] = turn.ports.bookings.add_dependent(name, age, answer.choice)
        _after_patient(turn)


def _after_danger_signs(turn: Turn) -> str | None:
    # After danger signs the patient should be calling 108, not answering questions: since
    # when and how bad are for the doctor to ask, and the token is called first anyway.
    return "opd_suggest" if turn.data.get("red_flags") else None


class SinceWhenStep(Step):
    """Asks how long the problem has lasted."""

    name = "since_when"

    def skip(self, turn: Turn) -> str | None:
        return _after_danger_signs(turn)

    def ask(self, turn: Turn) -> Reply:
        return Reply(
            t("Since when? For example: since yesterday, 3 days, 2 weeks."),
            sms=sms("Since when? e.g. 3 days"),
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Stores the duration in days."""
        duration = parse_duration(answer.text)
        if duration is None:
            turn.ask_again(t("Please say how long, for example: 2 days, since yesterday, or 1 week."))
            return
        _intake(turn).update(duration_days=duration.days, duration_text=duration.text)
        turn.goto("severity")


class SeverityStep(Step):
    """Asks how bad the problem is."""

    name = "severity"

    def skip(self, turn: Turn) -> str | None:
        return _after_danger_signs(turn)

    def ask(self, turn: Turn) -> Reply:
        return Reply(
            t("How bad is it?"),
            sms=sms("How bad is it? 1 mild 2 moderate 3 severe"),
            choices=tuple(Choice(key, label, SEVERITY_ALIASES[key]) for key, label in SEVERITY_LABELS.items()),
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Stores the severity and suggests an OPD."""
        if answer.choice is None:
            turn.ask_again(choose_again())
            return
        _intake(turn)["severity"] = answer.choice
        turn.goto("opd_suggest")


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
    return specialty_for(find_symptoms(_intake(turn).get("text", "")), age, sex)


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
        if later is not None:
            starts = later.next_session
            label = t("Book {opd} on {date} at {time}", opd=later.name, date=starts.date(), time=TimeOfDay(starts))
            choices.append(Choice("later", label, ("later", "baad mein", "बाद में", *_names(later))))
        choices.append(Choice("other", t("Choose another OPD"), NO_WORDS + ("other", "another", "dusra", "दूसरा")))
        return Reply(
            t("If you also want a doctor online now: the {opd} OPD is open now, and this token will be called first. Shall I book it?", opd=opd.name),
            tuple(choices),
            sms=sms("{opd} is open now and you will be called first. Book a token?", opd=opd.name),
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
    data = _intake(turn)
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
    intake = _finish_intake(turn)
    bookings, patient, priority = turn.ports.bookings, turn.data.get("patient"), bool(intake.red_flags)
    result = bookings.book(opd_id, patient, intake, priority=priority, day=day)
    if accept_next_session and result.outcome is BookingOutcome.CLOSED and result.offer is not None:
        result = bookings.book(opd_id, patient, intake, priority=priority, day=result.offer.day)
    _tell_result(turn, opd_id, result)


def _tell_result(turn: Turn, opd_id: int, result: BookingResult) -> None:
    if result.outcome is BookingOutcome.BOOKED and result.token:
        say_token(turn, result.token, new=True)
        _done(turn)
    elif result.outcome is BookingOutcome.EXISTING and result.token:
        turn.say(t("You already have a token for this OPD on that day. Here it is:"))
        say_token(turn, result.token, new=False)
        _done(turn)
    elif result.outcome in (BookingOutcome.CLOSED, BookingOutcome.FULL) and result.offer:
        turn.data["offer"] = {"opd": opd_id, "day": result.offer.day.isoformat(), "starts_at": result.offer.starts_at.isoformat(), "why": result.outcome.value}
        turn.goto("offer")
    else:
        turn.say(t("This OPD has no free session in the next two weeks. Please choose another OPD."))
        turn.goto("opd_pick")


def _done(turn: Turn) -> None:
    for key in (*BOOKING_KEYS, "red_flags"):
        turn.data.pop(key, None)
    turn.goto("menu")


def token_when(token: TokenInfo, now: dt.datetime) -> Text:
    """Return the token's date, with the time the session starts when that is still to come."""
    if token.today and token.starts_at <= now:
        return t("today, {date}", date=token.day)
    return t("{date}, from {time}", date=token.day, time=TimeOfDay(token.starts_at))


def token_wait(token: TokenInfo) -> Text:
    """Return the estimated wait, saying when it is a standard estimate."""
    if token.position <= 1:
        return t("no wait, you are next")
    if token.wait_is_estimate_default:
        return tn(
            "about {count} minute (we count {per} minutes per patient until this OPD has enough consultations of its own)",
            "about {count} minutes (we count {per} minutes per patient until this OPD has enough consultations of its own)",
            token.wait_minutes,
            per=token.minutes_per_patient,
        )
    return tn("about {count} minute", "about {count} minutes", token.wait_minutes)


def say_token(turn: Turn, token: TokenInfo, new: bool) -> None:
    """Tells the patient their token plainly: OPD, number, date, place in the queue, wait."""
    if token.priority:
        turn.say(t("Because of the danger signs you told us about, you will be seen first."))
    params: dict[str, Any] = dict(
        opd=token.opd_name,
        number=token.number,
        name=token.patient_name,
        when=token_when(token, turn.now),
        position=token.position,
        wait=token_wait(token),
    )
    short = sms(
        "Token {number}, {opd}, {date}. Place {position}, wait ~{minutes} min. STATUS for updates.",
        number=token.number, opd=token.opd_name, date=token.day, position=token.position, minutes=token.wait_minutes,
    )
    if new:
        text = t(
            "Your token is booked.\nOPD: {opd}\nToken number: {number}\nPatient: {name}\nDate: {when}\n"
            "Place in the queue: {position}\nEstimated wait: {wait}\n"
            "We will message you when the doctor is ready for you. Send STATUS to see your place in the queue, or CANCEL to cancel.",
            **params,
        )
    else:
        text = t(
            "OPD: {opd}\nToken number: {number}\nPatient: {name}\nDate: {when}\nPlace in the queue: {position}\nEstimated wait: {wait}",
            **params,
        )
    turn.say(text, sms=short)


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
            _done(turn)
        else:
            turn.ask_again(choose_again())


class SupportOfferStep(Step):
    """After the Tele-MANAS reply: offers a doctor online, gently, with no questions to fill in."""

    name = "support_offer"

    def ask(self, turn: Turn) -> Reply:
        return Reply(
            t("Would you like to talk to a doctor online as well? If you say yes, I will book it now, and you will be called first."),
            (
                Choice("yes", t("Yes, please"), YES_WORDS),
                Choice("no", t("Not now"), NO_WORDS + ("later", "baad mein", "बाद में")),
            ),
            sms=sms("Talk to a doctor online too? You will be called first."),
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Goes to the OPD open now for the person writing, or leaves it there, kindly."""
        if answer.choice == "yes":
            turn.data["patient"] = None
            _intake(turn)["for_whom"] = "self"
            turn.goto("opd_suggest")
        elif answer.choice == "no":
            turn.say(t("All right. Tele-MANAS is there for you day and night on 14416, and you can write to me at any time."))
            _done(turn)
        else:
            turn.ask_again()


STEPS: tuple[Step, ...] = (
    SymptomsStep(), SupportOfferStep(), ForWhomStep(), DependentNameStep(), DependentAgeStep(), DependentSexStep(), SinceWhenStep(),
    SeverityStep(), OpdSuggestStep(), OpdPickStep(), OfferStep(),
)

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
```
This module asks about the complaint and the patient; flows/steps/opd_choice.py then
suggests an OPD (opd_suggest, opd_pick, offer) and books the token. The intake lives in the
conversation's data until the token is booked; it then goes with the token, for the doctor.
"""

from __future__ import annotations

from flows.engine import Answer, Step, Turn, choose_again
from flows.messages import ByLanguage, Choice, Reply, Text, sms, t
from flows.ports import Dependent
from flows.steps import opd_choice
from flows.steps.opd_choice import (
    BOOKING_KEYS,
    emergency_actions,
    finish_booking,
    intake_data,
)
from flows.steps.questions import AgeQuestion, NameQuestion, SexQuestion, YesNoQuestion
from flows.understanding.duration import parse_duration
from flows.understanding.symptoms import find_symptoms

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
        intake = intake_data(turn)
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
        dependents = turn.ports.bookings.dependents()[:6]
        choices += [Choice(f"dep:{d.person_id}", ByLanguage(en=d.name, hi=d.name)) for d in dependents]
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
        return Reply(t("Who is the patient?"), tuple(choices), sms=_for_whom_sms(dependents))

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Notes the patient, or asks about a new family member."""
        choice = answer.choice
        if choice is None:
            turn.ask_again(choose_again())
        elif choice == "self":
            turn.data["patient"] = None
            intake_data(turn)["for_whom"] = "self"
            _after_patient(turn)
        elif choice.startswith("dep:"):
            turn.data["patient"] = int(choice.removeprefix("dep:"))
            intake_data(turn)["for_whom"] = "family"
            _after_patient(turn)
        else:
            intake_data(turn)["for_whom"] = choice
            turn.goto("dep_name")


def _for_whom_sms(dependents: list[Dependent]) -> Text:
    """Return "who is the patient?" for SMS, its choices numbered in it: family members by first name.

    Whole names (up to 80 letters each) do not fit a Devanagari SMS beside the question; a first
    name is enough to tell one's own family apart, and the number is what is sent back.
    """
    if not dependents:
        return sms("Who is the patient?\n1 Myself 2 My child 3 Another family member")
    family = ", ".join(f"{n} {d.name.split()[0]}" for n, d in enumerate(dependents, 2))
    child = len(dependents) + 2
    return sms("Who is the patient?\n1 Myself, {family}\n{child} My child {other} Another family member", family=family, child=child, other=child + 1)


def _after_patient(turn: Turn) -> None:
    turn.goto("severity" if intake_data(turn).get("duration_days") is not None else "since_when")


def _add_dependent(turn: Turn) -> None:
    """Registers the family member under the user and goes on with the booking."""
    name, age, sex = turn.data.pop("dep_name"), turn.data.pop("dep_age"), turn.data.pop("dep_sex")
    turn.data["patient"] = turn.ports.bookings.add_dependent(name, age, sex)
    _after_patient(turn)


def _dependent_age_question(turn: Turn) -> Text:
    return t("How old is {name}? Send the age in years; for a baby under one year, send 0.", name=turn.data.get("dep_name", ""))


def _dependent_sex_question(turn: Turn) -> Text:
    return t("Is {name} female, male or other?", name=turn.data.get("dep_name", ""))


# The family member's name, age and sex; then they are registered under the user.
DEPENDENT_NAME = NameQuestion("dep_name", "dep_name", t("What is the patient's name?"), "dep_age")
DEPENDENT_AGE = AgeQuestion("dep_age", "dep_age", _dependent_age_question, "dep_sex")
DEPENDENT_SEX = SexQuestion("dep_sex", "dep_sex", _dependent_sex_question, _add_dependent)


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
        intake_data(turn).update(duration_days=duration.days, duration_text=duration.text)
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
        intake_data(turn)["severity"] = answer.choice
        turn.goto("opd_suggest")


def _support_accepted(turn: Turn) -> None:
    """Goes to the OPD open now for the person writing."""
    turn.data["patient"] = None
    intake_data(turn)["for_whom"] = "self"
    turn.goto("opd_suggest")


def _support_declined(turn: Turn) -> None:
    """Leaves it there, kindly."""
    turn.say(t("All right. Tele-MANAS is there for you day and night on 14416, and you can write to me at any time."))
    finish_booking(turn)


# After the Tele-MANAS reply: offers a doctor online, gently, with no questions to fill in.
SUPPORT_OFFER = YesNoQuestion(
    "support_offer",
    t("Would you like to talk to a doctor online as well? If you say yes, I will book it now, and you will be called first."),
    yes=("yes", t("Yes, please"), ()),
    no=("no", t("Not now"), ("later", "baad mein", "बाद में")),
    on_yes=_support_accepted,
    on_no=_support_declined,
    sms=sms("Talk to a doctor online too? You will be called first."),
)


STEPS: tuple[Step, ...] = (
    SymptomsStep(), SUPPORT_OFFER, ForWhomStep(), DEPENDENT_NAME, DEPENDENT_AGE, DEPENDENT_SEX, SinceWhenStep(),
    SeverityStep(), *opd_choice.STEPS,
)

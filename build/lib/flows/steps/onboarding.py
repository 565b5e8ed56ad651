"""Onboarding: language, consent, then the patient's details and a screen to correct them.

```mermaid
stateDiagram-v2
    [*] --> language
    language --> consent
    consent --> name: agree
    consent --> [*]: decline (opted out, nothing stored)
    name --> age --> sex --> state --> district --> phone --> confirm
    confirm --> menu: correct
    confirm --> name: change a field (then back to confirm)
```
Until the patient confirms, the details live only in the conversation's data; confirming
creates the patient record.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import phonenumbers

from flows.engine import Answer, Step, Turn, choose_again
from flows.messages import ByLanguage, Choice, Reply, Text, t
from flows.ports import Profile
from flows.understanding.india import match_state, state_by_code, state_menu_lines
from flows.understanding.text import has_letters, parse_age

NAME_MAX = 80
DISTRICT_MAX = 60
PROFILE_FIELDS = ("name", "age", "sex", "state", "district", "phone")

LANGUAGE_CHOICES = (
    # Each language is named in its own script, whatever the current language is.
    Choice("en", ByLanguage(en="English", hi="English"), aliases=("angrezi", "अंग्रेजी", "अंग्रेज़ी", "eng")),
    Choice("hi", ByLanguage(en="हिन्दी", hi="हिन्दी"), aliases=("hindi", "हिंदी", "hin")),
)

SEX_LABELS = {
    "female": t("Female"),
    "male": t("Male"),
    "other": t("Other"),
}
SEX_ALIASES = {
    "female": ("f", "woman", "girl", "mahila", "aurat", "stri", "ladki", "महिला", "औरत", "स्त्री", "लड़की"),
    "male": ("m", "man", "boy", "purush", "aadmi", "admi", "mard", "ladka", "पुरुष", "आदमी", "मर्द", "लड़का"),
    "other": ("o", "anya", "transgender", "अन्य", "third gender", "तृतीय लिंग"),
}

YES_WORDS = ("yes", "y", "ok", "okay", "haan", "han", "ha", "hanji", "haanji", "ji", "हाँ", "हां", "जी", "हाँ जी", "theek hai", "thik hai", "ठीक है", "sahi", "सही")
NO_WORDS = ("no", "n", "nahi", "nahin", "nhi", "na", "नहीं", "ना", "नही")


class LanguageStep(Step):
    """Asks which language to use; on first contact it leads to consent."""

    name = "language"

    def ask(self, turn: Turn) -> Reply:
        return Reply(t("Which language would you like to use?"), LANGUAGE_CHOICES)

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Stores the language and returns to where the user was, or starts with consent."""
        if answer.choice is None:
            turn.ask_again(t("Please choose a language below: send its number, or type it."))
            return
        turn.state.language = answer.choice
        resume = turn.data.pop("resume_step", None)
        if resume:
            turn.say(t("All right, from now on we will talk in this language."))
            turn.goto(resume)
        else:
            turn.goto("consent")


class ConsentStep(Step):
    """Explains what is stored and why, and asks for consent (India's DPDP Act, 2023)."""

    name = "consent"

    def ask(self, turn: Turn) -> Reply:
        return Reply(
            t(
                "Welcome to teleopd, the government's free online OPD. Before we begin:\n"
                "To book a consultation we store your name, age, sex, state, district, phone number "
                "and the health problems you tell us. Only the doctors and health workers of this "
                "service see them, to treat you. We do not share them with anyone else.\n"
                "You can stop at any time by sending STOP, and have your data deleted by sending DELETE MY DATA.\n"
                "Do you agree?"
            ),
            (
                Choice("agree", t("I agree"), aliases=YES_WORDS + ("agree", "sahmat", "सहमत", "manjur", "मंज़ूर")),
                Choice("decline", t("No, I do not agree"), aliases=NO_WORDS + ("decline", "disagree", "असहमत")),
            ),
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Starts registration on consent; on refusal keeps nothing but the opt-out."""
        if answer.choice == "agree":
            turn.data.clear()
            turn.data["consent_at"] = turn.now.isoformat()
            turn.goto("name")
        elif answer.choice == "decline":
            turn.data.clear()
            turn.state.opted_out = True
            turn.say(
                t(
                    "All right. We have not stored any of your details, and we will not message you again.\n"
                    "If you change your mind, send START."
                )
            )
        else:
            turn.ask_again(t("Please send 1 to agree or 2 to decline."))


def _after_field(turn: Turn, next_step: str) -> None:
    """Goes back to the confirmation screen after a correction, or on to the next field."""
    turn.goto("confirm" if turn.data.get("editing") else next_step)


class FreeTextStep(Step):
    """A question answered in the user's own words: kept as typed if it has letters and fits."""

    field: ClassVar[str]
    next_step: ClassVar[str]
    max_length: ClassVar[int]
    question: ClassVar[Text]
    needs_letters: ClassVar[Text]
    too_long: ClassVar[Text]

    def ask(self, turn: Turn) -> Reply:
        return Reply(self.question)

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Stores the answer if it has letters and a sensible length."""
        if not has_letters(answer.text):
            turn.ask_again(self.needs_letters)
        elif len(answer.text) > self.max_length:
            turn.ask_again(self.too_long)
        else:
            turn.data[self.field] = answer.text
            _after_field(turn, self.next_step)


class NameStep(FreeTextStep):
    """Asks for the patient's name."""

    name = field = "name"
    next_step = "age"
    max_length = NAME_MAX
    question = t("What is your full name?")
    needs_letters = t("A name needs letters. Please type the name, for example: Sunita Devi.")
    too_long = t("That is too long for a name. Please send only the name, in at most {limit} letters.", limit=NAME_MAX)


class AgeStep(Step):
    """Asks for the age in years."""

    name = "age"

    def ask(self, turn: Turn) -> Reply:
        return Reply(t("How old are you, {name}? Send your age in years, for example 34.", name=turn.data.get("name", "")))

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Stores an age from 0 to 120."""
        age = parse_age(answer.text)
        if age is None:
            turn.ask_again(t("Please send the age as a number of years from 0 to 120, for example 34. For a baby under one year, send 0."))
        else:
            turn.data["age"] = age
            _after_field(turn, "sex")


class SexStep(Step):
    """Asks for the patient's sex."""

    name = "sex"

    def ask(self, turn: Turn) -> Reply:
        return Reply(
            t("Are you female, male or other?"),
            tuple(Choice(key, label, SEX_ALIASES[key]) for key, label in SEX_LABELS.items()),
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Stores female, male or other."""
        if answer.choice is None:
            turn.ask_again(choose_again())
        else:
            turn.data["sex"] = answer.choice
            _after_field(turn, "state")


class StateStep(Step):
    """Asks for the state or union territory, by name or by number from the list."""

    name = "state"

    def ask(self, turn: Turn) -> Reply:
        return Reply(
            t(
                "Which state or union territory do you live in? Send its name or its number:\n{state_list}",
                state_list=ByLanguage(en="\n".join(state_menu_lines("en")), hi="\n".join(state_menu_lines("hi"))),
            )
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Stores the state's ISO 3166-2 code."""
        state = match_state(answer.text, turn.lang)
        if state is None:
            turn.ask_again(t("I could not find that state. Please send the name of an Indian state or union territory, or its number from the list."))
        else:
            turn.data["state"] = state.code
            _after_field(turn, "district")


class DistrictStep(FreeTextStep):
    """Asks for the district, as free text."""

    name = field = "district"
    next_step = "phone"
    max_length = DISTRICT_MAX
    question = t("Which district?")
    needs_letters = t("Please type the district's name, for example: Varanasi.")
    too_long = t("That is too long for a district. Please send only its name.")


def parse_phone(text: str) -> str | None:
    """Return an Indian (or international, with +) mobile number in E.164 form, or None."""
    if not text or len(text) > 40:
        return None
    try:
        number = phonenumbers.parse(text, "IN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class PhoneStep(Step):
    """Asks for a mobile number, unless the channel already carries it."""

    name = "phone"
    skip_words = ("skip", "no", "nahi", "नहीं", "छोड़ें", "chhodo", "chodo", "छोड़ो", "later", "baad mein")

    def skip(self, turn: Turn) -> str | None:
        if turn.inbound.channel_phone and not turn.data.get("editing"):
            turn.data["phone"] = turn.inbound.channel_phone
            return "confirm"
        return None

    def ask(self, turn: Turn) -> Reply:
        skip = Choice("skip", t("Skip"), self.skip_words)
        if turn.inbound.can_share_contact:
            return Reply(
                t("Please share your mobile number with the button below, or type it. We use it only to send you updates about your consultation."),
                (skip,),
                request_contact=True,
            )
        return Reply(
            t("What is your 10-digit mobile number? We use it only to send you updates about your consultation. Send SKIP to leave it out."),
            (skip,),
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Stores a valid number, or none when the user skips."""
        if turn.inbound.contact_phone:
            turn.data["phone"] = turn.inbound.contact_phone
        elif answer.choice == "skip":
            turn.data["phone"] = None
        else:
            phone = parse_phone(answer.text)
            if phone is None:
                turn.ask_again(t("That does not look like a mobile number. Please send 10 digits, for example 98765 43210, or send SKIP."))
                return
            turn.data["phone"] = phone
        turn.goto("confirm")


def profile_to_data(profile: Profile) -> dict[str, Any]:
    """Return a profile as the conversation data onboarding works on."""
    return {
        "name": profile.name,
        "age": profile.age,
        "sex": profile.sex,
        "state": profile.state_code,
        "district": profile.district,
        "phone": profile.phone,
        "consent_at": profile.consent_at.isoformat(),
    }


def profile_from_data(data: dict[str, Any]) -> Profile:
    """Return the profile onboarding collected in the conversation data."""
    return Profile(
        name=data["name"],
        age=data["age"],
        sex=data["sex"],
        state_code=data["state"],
        district=data["district"],
        phone=data.get("phone"),
        consent_at=dt.datetime.fromisoformat(data["consent_at"]),
    )


def profile_summary(data: dict[str, object]) -> Text:
    """Return the details screen text for the data collected so far."""
    state = state_by_code(str(data.get("state", "")))
    sex = SEX_LABELS.get(str(data.get("sex")), t("Not given"))
    return t(
        "Name: {name}\nAge: {age}\nSex: {sex}\nState: {state}\nDistrict: {district}\nMobile: {phone}",
        name=str(data.get("name", "")),
        age=int(data.get("age", 0)),  # type: ignore[call-overload]
        sex=sex,
        state=ByLanguage(en=state.name_en, hi=state.name_hi) if state else "",
        district=str(data.get("district", "")),
        phone=str(data["phone"]) if data.get("phone") else t("Not given"),
    )


class ConfirmStep(Step):
    """Shows the details and lets the user correct any of them before they are saved."""

    name = "confirm"

    def ask(self, turn: Turn) -> Reply:
        return Reply(
            t("Please check the details:\n{summary}\nIs everything correct?", summary=profile_summary(turn.data)),
            (
                Choice("confirm", t("Yes, correct"), YES_WORDS + ("correct", "confirm")),
                Choice("edit_name", t("Change name")),
                Choice("edit_age", t("Change age")),
                Choice("edit_sex", t("Change sex")),
                Choice("edit_state", t("Change state")),
                Choice("edit_district", t("Change district")),
                Choice("edit_phone", t("Change mobile number")),
            ),
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Saves the patient on confirmation, or asks again for the field to correct."""
        if answer.choice == "confirm":
            first_time = turn.data.get("mode") != "update"
            name = turn.data["name"]
            turn.ports.patients.save_profile(profile_from_data(turn.data))
            turn.data.clear()
            if first_time:
                turn.say(t("Thank you, {name}, you are registered.", name=name))
            else:
                turn.say(t("Your details are saved."))
            turn.goto("menu")
        elif answer.choice and answer.choice.startswith("edit_"):
            turn.data["editing"] = True
            turn.goto(answer.choice.removeprefix("edit_"))
        else:
            turn.ask_again(choose_again())


STEPS: tuple[Step, ...] = (
    LanguageStep(), ConsentStep(), NameStep(), AgeStep(), SexStep(), StateStep(), DistrictStep(), PhoneStep(), ConfirmStep(),
)

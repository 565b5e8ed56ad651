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

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from flows.engine import ROMANISED_HINDI, SMS, Answer, Step, Turn, choose_again
from flows.messages import ByLanguage, Choice, Reply, Text, sms, t
from flows.ports import Profile
from flows.steps.questions import (
    SEX_LABELS,
    YES_WORDS,
    AgeQuestion,
    NameQuestion,
    PhoneQuestion,
    SexQuestion,
    TextQuestion,
    YesNoQuestion,
)
from flows.understanding.hinglish import is_romanised_hindi
from flows.understanding.india import match_state, state_by_code, state_menu_lines
from flows.understanding.text import is_devanagari

DISTRICT_MAX = 60
PROFILE_FIELDS = ("name", "age", "sex", "state", "district", "phone")

# Romanised Hindi, named so that anyone can read it on any phone: in Latin letters, the way
# people call it ("Hinglish", Hindi in English letters), for phones that show Devanagari as
# boxes. Not "Hindi (...)": "Hindi" typed alone means Hindi in its own script.
ROMANISED_LABEL = "Hinglish: Hindi in English letters"
LANGUAGE_CHOICES = (
    # Each language is named in its own script, whatever the current language is; except that
    # a romanised Hindi reader's SMS stays in Latin letters (its phone may show Devanagari as
    # boxes, and one Devanagari letter makes the whole SMS UCS-2): there Hindi is "Hindi akshar".
    Choice("en", ByLanguage(en="English", hi="English"), aliases=("angrezi", "अंग्रेजी", "अंग्रेज़ी", "eng")),
    Choice("hi", ByLanguage(en="हिन्दी", hi="हिन्दी", latn="Hindi (Hindi akshar)"), aliases=("hindi", "हिंदी", "hin")),
    Choice(
        ROMANISED_HINDI,
        ByLanguage(en=ROMANISED_LABEL, hi=ROMANISED_LABEL, latn="Hinglish (English akshar)"),
        aliases=(
            "hinglish", "roman hindi", "romanised hindi", "romanized hindi", "roman", "hindi in english",
            "hindi english", "english letters", "english akshar", "angrezi akshar", "hindi angrezi akshar",
            "hindi roman", "latin", "हिंग्लिश", "रोमन हिंदी",
        ),
    ),
)


def language_choices(turn: Turn) -> tuple[Choice, ...]:
    """Return the languages in the order offered: romanised Hindi first when it is the suggestion.

    It is the suggestion when the conversation is in it already: chosen before, or guessed
    from romanised Hindi sent by SMS (flows/conversation.py). Numbers follow the order shown.
    """
    if turn.state.language != ROMANISED_HINDI:
        return LANGUAGE_CHOICES
    return tuple(sorted(LANGUAGE_CHOICES, key=lambda choice: choice.key != ROMANISED_HINDI))


def first_language(turn: Turn, text: str) -> str:
    """Return the language a first message suggests, until the person chooses one.

    Devanagari is Hindi. Hindi in Latin letters by SMS ("mujhe bukhar hai") is romanised
    Hindi: the phone may not show Devanagari (it shows boxes), so the language question
    comes in Latin letters with romanised Hindi first (LanguageStep, below). Other
    channels run on smartphones, which show Devanagari: there it is the default language.
    """
    if is_devanagari(text):
        return "hi"
    if turn.inbound.channel == SMS and is_romanised_hindi(text):
        return ROMANISED_HINDI
    return turn.ports.default_language


class LanguageStep(Step):
    """Asks which language to use; on first contact it leads to consent."""

    name = "language"

    def ask(self, turn: Turn) -> Reply:
        return Reply(t("Which language would you like to use?"), language_choices(turn))

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Stores the language and returns to where the user was, or starts with consent."""
        if answer.choice is None:
            if "resume_step" not in turn.data and turn.inbound.channel == SMS and is_romanised_hindi(answer.text):
                # Not chosen yet, and Hindi typed in Latin letters by SMS: ask again in it, offering it first.
                turn.state.language = ROMANISED_HINDI
            turn.ask_again(t("Please choose a language below: send its number, or type it."))
            return
        turn.state.language = answer.choice
        resume = turn.data.pop("resume_step", None)
        if resume:
            turn.say(t("All right, from now on we will talk in this language."))
            turn.goto(resume)
        else:
            turn.goto("consent")


def _consent_given(turn: Turn) -> None:
    """Starts registration on consent."""
    turn.data.clear()
    turn.data["consent_at"] = turn.now.isoformat()
    turn.goto("name")


def _consent_refused(turn: Turn) -> None:
    """On refusal keeps nothing but the opt-out."""
    turn.data.clear()
    turn.state.opted_out = True
    turn.say(
        t(
            "All right. We have not stored any of your details, and we will not message you again.\n"
            "If you change your mind, send START."
        )
    )


class ConsentQuestion(YesNoQuestion):
    """The consent: the notice of what is kept and why, then the question (India's DPDP Act 2023, s.5-6).

    Two messages, so that over SMS each fits 2 segments: the notice's SMS form says the
    essentials, the question's points to the full notice at /privacy (webhooks/pages.py). An
    unclear answer gets the question again, not the notice.
    """

    def skip(self, turn: Turn) -> str | None:
        turn.replies.append(consent_notice())
        return None

    def ask(self, turn: Turn) -> Reply:
        return dataclasses.replace(super().ask(turn), sms=consent_question_sms(turn))


def consent_notice() -> Reply:
    """Return what is stored and why, who sees it, and how to stop or have it deleted: the full text (also GET /privacy) and its SMS form."""
    return Reply(
        t(
            "Welcome to teleopd, the government's free online OPD. Before we begin:\n"
            "To book a consultation we store your name, age, sex, state, district, phone number "
            "and the health problems you tell us. Only the doctors and health workers of this "
            "service see them, to treat you. We do not share them with anyone else.\n"
            "You can stop at any time by sending STOP, and have your data deleted by sending DELETE MY DATA."
        ),
        sms=sms(
            "To treat you, we keep your name, age, sex, place, phone and health problems; only your doctors see them. "
            "Send STOP to stop, DELETE to erase them."
        ),
    )


def privacy_url(turn: Turn) -> str | None:
    """Return where the full consent notice is served in the patient's language, None without a public URL."""
    base = turn.ports.public_url.rstrip("/")
    return f"{base}/privacy?lang={turn.lang}" if base else None


def consent_question_sms(turn: Turn) -> Text:
    """Return the consent question's SMS form: the full notice's address, and the answers by number.

    A deployment without a public URL (the local demo, which has no SMS) has no page to point to.
    In India a link in an A2P SMS must be whitelisted with its DLT template (TRAI's direction of
    August 2024), as the video room's already must: the public URL's domain is registered once.
    """
    url = privacy_url(turn)
    if url is None:
        return sms("Do you agree?\n1 Yes 2 No")
    return sms("Full notice: {privacy_url}\nDo you agree?\n1 Yes 2 No", privacy_url=url)


# Asks for consent after the notice (consent_notice).
CONSENT = ConsentQuestion(
    "consent",
    t("Do you agree?"),
    yes=("agree", t("I agree"), ("agree", "sahmat", "सहमत", "manjur", "मंज़ूर")),
    no=("decline", t("No, I do not agree"), ("decline", "disagree", "असहमत")),
    on_yes=_consent_given,
    on_no=_consent_refused,
    unclear=t("Please send 1 to agree or 2 to decline."),
)


def _field_then(next_step: str) -> Callable[[Turn], None]:
    """Return what follows a detail: the confirmation screen after a correction, else the next detail."""

    def go_on(turn: Turn) -> None:
        turn.goto("confirm" if turn.data.get("editing") else next_step)

    return go_on


def _age_question(turn: Turn) -> Text:
    return t("How old are you, {name}? Send your age in years, for example 34.", name=turn.data.get("name", ""))


NAME = NameQuestion("name", "name", t("What is your full name?"), _field_then("age"))
AGE = AgeQuestion("age", "age", _age_question, _field_then("sex"))
SEX = SexQuestion("sex", "sex", t("Are you female, male or other?"), _field_then("state"))


class StateStep(Step):
    """Asks for the state or union territory, by name or by number from the list."""

    name = "state"

    def ask(self, turn: Turn) -> Reply:
        return Reply(
            t(
                "Which state or union territory do you live in? Send its name or its number:\n{state_list}",
                state_list=ByLanguage(en="\n".join(state_menu_lines("en")), hi="\n".join(state_menu_lines("hi"))),
            ),
            # A feature phone gets no 36-line list: the name is typed, and matched however it is spelled.
            sms=sms("Which state or union territory do you live in? Send its name, for example: Uttar Pradesh."),
        )

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Stores the state's ISO 3166-2 code."""
        state = match_state(answer.text, turn.lang)
        if state is None:
            turn.say(
                t("I could not find that state. Please send the name of an Indian state or union territory, or its number from the list."),
                sms=sms("I could not find that state. Please send its name again, for example: Bihar or Tamil Nadu."),
            )
            turn.ask_again()
        else:
            turn.data["state"] = state.code
            _field_then("district")(turn)


DISTRICT = TextQuestion(
    "district", "district", t("Which district?"), _field_then("phone"),
    max_length=DISTRICT_MAX,
    needs_letters=t("Please type the district's name, for example: Varanasi."),
    too_long=t("That is too long for a district. Please send only its name."),
)
# A mobile number, unless the channel already carries it; the patient may leave it out.
PHONE = PhoneQuestion(
    "phone", "phone",
    t("What is your 10-digit mobile number? We use it only to send you updates about your consultation. Send SKIP to leave it out."),
    "confirm",
    sms=sms("Your 10-digit mobile number? Only for updates on your consultation. Send 1 to skip."),
    invalid=t("That does not look like a mobile number. Please send 10 digits, for example 98765 43210, or send SKIP."),
    skippable=True,
    channel_phone=True,
    share_question=t(
        "Please share your mobile number with the button below, or type it. We use it only to send you updates about your consultation."
    ),
)


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


def _short_summary(data: dict[str, object]) -> dict[str, object]:
    """Return the details an SMS confirmation shows: those with a length the SMS can hold."""
    state = state_by_code(str(data.get("state", "")))
    return {
        "age": int(data.get("age", 0)),  # type: ignore[call-overload]
        "sex": SEX_LABELS.get(str(data.get("sex")), t("Not given")),
        "state": ByLanguage(en=state.name_en, hi=state.name_hi) if state else "-",
        "phone": str(data["phone"]) if data.get("phone") else t("Not given"),
    }


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
            # The name and district are left out: as typed they can fill an SMS on their own.
            sms=sms(
                "Check: age {age}, {sex}, {state}, mobile {phone}. Correct?\n1 Yes, or change: 2 name 3 age 4 sex 5 state 6 district 7 mobile",
                **_short_summary(turn.data),
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


STEPS: tuple[Step, ...] = (LanguageStep(), CONSENT, NAME, AGE, SEX, StateStep(), DISTRICT, PHONE, ConfirmStep())

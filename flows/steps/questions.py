"""The questions several flows ask: a name, an age, a sex, a mobile number, yes or no.

Each is one step class, parameterised by the step's name (what a saved conversation holds),
the question (a catalog text, or a function of the turn for one that names the patient),
the data key the answer is stored under and what comes next: a step name, or a function of
the turn for a flow that decides for itself (onboarding goes back to its confirmation
screen after a correction; booking registers a family member). What a bad answer is told
is the same wherever the question is asked.
"""

from __future__ import annotations

from collections.abc import Callable

import phonenumbers

from flows.engine import Answer, Step, Turn, choose_again
from flows.messages import Choice, Reply, Text, t
from flows.understanding.text import has_letters, parse_age

NAME_MAX = 80

YES_WORDS = ("yes", "y", "ok", "okay", "haan", "han", "ha", "hanji", "haanji", "ji", "हाँ", "हां", "जी", "हाँ जी", "theek hai", "thik hai", "ठीक है", "sahi", "सही")
NO_WORDS = ("no", "n", "nahi", "nahin", "nhi", "na", "नहीं", "ना", "नही")

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
SKIP_WORDS = ("skip", "no", "nahi", "नहीं", "छोड़ें", "chhodo", "chodo", "छोड़ो", "later", "baad mein")

# What comes after an answer: the next step's name, or a function that moves the turn on.
Then = str | Callable[[Turn], None]
# A question's text: fixed, or made from the turn (to name the patient asked about).
Wording = Text | Callable[[Turn], Text]


def go_on(turn: Turn, then: Then) -> None:
    """Move the conversation on after an answer."""
    if callable(then):
        then(turn)
    else:
        turn.goto(then)


def _text(turn: Turn, question: Wording) -> Text:
    return question(turn) if callable(question) else question


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


class Question(Step):
    """A question whose answer is stored under a data key, after which the flow goes on."""

    def __init__(self, name: str, field: str, question: Wording, then: Then):
        self.name = name
        self.field = field
        self.question = question
        self.then = then

    def choices(self) -> tuple[Choice, ...]:
        """Return the choices offered under the question."""
        return ()

    def ask(self, turn: Turn) -> Reply:
        return Reply(_text(turn, self.question), self.choices())

    def keep(self, turn: Turn, value: object) -> None:
        """Stores the answer and moves the conversation on."""
        turn.data[self.field] = value
        go_on(turn, self.then)


class TextQuestion(Question):
    """A question answered in the user's own words: kept as typed if it has letters and fits."""

    def __init__(self, name: str, field: str, question: Wording, then: Then, *, max_length: int, needs_letters: Text, too_long: Text):
        super().__init__(name, field, question, then)
        self.max_length = max_length
        self.needs_letters = needs_letters
        self.too_long = too_long

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Stores the answer if it has letters and a sensible length."""
        if not has_letters(answer.text):
            turn.ask_again(self.needs_letters)
        elif len(answer.text) > self.max_length:
            turn.ask_again(self.too_long)
        else:
            self.keep(turn, answer.text)


class NameQuestion(TextQuestion):
    """Asks for a person's name."""

    def __init__(self, name: str, field: str, question: Wording, then: Then):
        super().__init__(
            name, field, question, then,
            max_length=NAME_MAX,
            needs_letters=t("A name needs letters. Please type the name, for example: Sunita Devi."),
            too_long=t("That is too long for a name. Please send only the name, in at most {limit} letters.", limit=NAME_MAX),
        )


class AgeQuestion(Question):
    """Asks for an age in years, from 0 (a baby under one year) to 120."""

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Stores an age from 0 to 120."""
        age = parse_age(answer.text)
        if age is None:
            turn.ask_again(t("Please send the age as a number of years from 0 to 120, for example 34. For a baby under one year, send 0."))
        else:
            self.keep(turn, age)


class SexQuestion(Question):
    """Asks for a person's sex: female, male or other."""

    def choices(self) -> tuple[Choice, ...]:
        return tuple(Choice(key, label, SEX_ALIASES[key]) for key, label in SEX_LABELS.items())

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Stores female, male or other."""
        if answer.choice is None:
            turn.ask_again(choose_again())
        else:
            self.keep(turn, answer.choice)


class PhoneQuestion(Question):
    """Asks for a mobile number; optionally skippable, taken from the channel, or shared with a button.

    `channel_phone`: on a channel whose address is a phone number (WhatsApp, SMS) that number is
    taken without asking, unless the user is correcting it (data["editing"]); `then` must then
    be a step name. `share_question`: asked instead of `question` where the channel can share
    the user's own number with a button (Telegram).
    """

    def __init__(
        self, name: str, field: str, question: Text, then: Then, *,
        invalid: Text, skippable: bool = False, channel_phone: bool = False, share_question: Text | None = None,
        sms: Text | None = None,
    ):
        super().__init__(name, field, question, then)
        self.sms = sms
        self.invalid = invalid
        self.skippable = skippable
        self.channel_phone = channel_phone
        self.share_question = share_question

    def skip(self, turn: Turn) -> str | None:
        if self.channel_phone and turn.inbound.channel_phone and not turn.data.get("editing") and isinstance(self.then, str):
            turn.data[self.field] = turn.inbound.channel_phone
            return self.then
        return None

    def choices(self) -> tuple[Choice, ...]:
        return (Choice("skip", t("Skip"), SKIP_WORDS),) if self.skippable else ()

    def ask(self, turn: Turn) -> Reply:
        if self.share_question is not None and turn.inbound.can_share_contact:
            return Reply(self.share_question, self.choices(), request_contact=True)
        return Reply(_text(turn, self.question), self.choices(), sms=self.sms)

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Stores a valid number (or a shared one), or none when the user skips."""
        if self.share_question is not None and turn.inbound.contact_phone:
            self.keep(turn, turn.inbound.contact_phone)
        elif self.skippable and answer.choice == "skip":
            self.keep(turn, None)
        elif (phone := parse_phone(answer.text)) is None:
            turn.ask_again(self.invalid)
        else:
            self.keep(turn, phone)


class YesNoQuestion(Step):
    """Asks a yes-or-no question; each answer moves the turn on its own way.

    `yes` and `no` are (choice key, label, words beyond YES_WORDS/NO_WORDS); the keys are what
    buttons already sent carry, so they stay as they are. An answer that is neither gets
    `unclear` (or only the question again, when None).
    """

    def __init__(
        self, name: str, question: Text, *,
        yes: tuple[str, Text, tuple[str, ...]], no: tuple[str, Text, tuple[str, ...]],
        on_yes: Callable[[Turn], None], on_no: Callable[[Turn], None], unclear: Text | None = None, sms: Text | None = None,
    ):
        self.name = name
        self.question = question
        self.yes = yes
        self.no = no
        self.on_yes = on_yes
        self.on_no = on_no
        self.unclear = unclear
        self.sms = sms

    def ask(self, turn: Turn) -> Reply:
        (yes_key, yes_label, yes_words), (no_key, no_label, no_words) = self.yes, self.no
        choices = (Choice(yes_key, yes_label, YES_WORDS + yes_words), Choice(no_key, no_label, NO_WORDS + no_words))
        return Reply(self.question, choices, sms=self.sms)

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Goes on the yes way or the no way, or asks again."""
        if answer.choice == self.yes[0]:
            self.on_yes(turn)
        elif answer.choice == self.no[0]:
            self.on_no(turn)
        else:
            turn.ask_again(self.unclear)

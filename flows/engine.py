"""The pieces every conversation step is built from: state, inbound, ports, turn, step.

A step asks one question and understands its answers. The engine (flows.conversation) runs
one turn per inbound message: it resolves the answer against the step's choices, lets the
step move the conversation on, and collects the replies. Nothing here sends anything or
touches a database; the runtime (bot/) commits the outcome in one transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import cache
from typing import Any, ClassVar

from flows.messages import Choice, Reply, Text, t
from flows.notices import Notice
from flows.ports import Labels, Ports
from flows.understanding.text import consonants, fold, sound_key, to_ascii_digits

# "hi-Latn" is Hindi in Latin letters (romanised Hindi, as people type it on phones): for
# feature phones that cannot show Devanagari, and every one of its messages is GSM-7 (a
# Devanagari SMS turns into boxes there, and costs a UCS-2 segment every 70 characters).
LANGUAGES = ("en", "hi", "hi-Latn")
ROMANISED_HINDI = "hi-Latn"
# Inbound.channel of a text message (bot/channels/twilio.py SMS).
SMS = "sms"


@dataclass
class State:
    """What is remembered about one identity between messages."""

    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    language: str | None = None
    opted_out: bool = False
    # A coordinator has taken the chat over (bot/services/inbox.py): the flows answer only danger signs.
    held: bool = False
    # Answers in a row that fit none of the question's choices (flows/steps/human.py counts them).
    misses: int = 0


@dataclass(frozen=True)
class Inbound:
    """One message from a user, already stripped of everything provider-specific."""

    text: str = ""
    choice: str | None = None
    received_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    # The channel it came by ("sms", "whatsapp", "telegram", "web"…), where the runtime says:
    # romanised Hindi by SMS suggests a phone without Devanagari (flows/conversation.py).
    channel: str | None = None
    # The user's phone number when the channel address is one (WhatsApp, SMS), E.164.
    channel_phone: str | None = None
    # Whether the channel can send the user's own number on request (Telegram contact button).
    can_share_contact: bool = False
    # A number the user shared with that button (only their own, checked by the adapter).
    contact_phone: str | None = None
    # The role a chat was opened as, where the channel says (the web chat's doctor and
    # health-worker tabs): it asks for a code, never registers a patient. It grants nothing.
    opened_as: str | None = None
    # Not a message: the user blocked us on the channel (True) or let us back in (False).
    blocked: bool | None = None
    # The kinds of the files it carries for the doctor ("photo", "document", "voice"), one each.
    media: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answer:
    """The user's message as a step sees it."""

    text: str  # normalised, for keeping (names, districts)
    key: str  # folded, for matching
    choice: str | None  # the key of the choice it selects, if any
    inbound: Inbound


class Turn:
    """One message being handled: the state it may change, the replies and the notices to others it collects."""

    def __init__(self, state: State, inbound: Inbound, ports: Ports, steps: dict[str, Step]):
        self.state = state
        self.inbound = inbound
        self.ports = ports
        self.replies: list[Reply] = []
        # What this turn does to other people's conversations (flows/notices.py).
        self.notices: list[Notice] = []
        self._steps = steps

    @property
    def lang(self) -> str:
        """Return the language replies are rendered in."""
        return self.state.language or self.ports.default_language

    @property
    def data(self) -> dict[str, Any]:
        """Return the conversation's working data (saved with the state)."""
        return self.state.data

    @property
    def now(self) -> dt.datetime:
        """Return the time the message arrived (the clock of this turn)."""
        return self.inbound.received_at

    def say(self, text: Text, choices: Iterable[Choice] = (), **kwargs: Any) -> None:
        """Queue one reply."""
        self.replies.append(Reply(text, tuple(choices), **kwargs))

    def step(self, name: str | None = None) -> Step:
        """Return the named step, or the current one."""
        return self._steps[name or self.state.step or "language"]

    def goto(self, name: str) -> None:
        """Move to a step and ask its question (steps may pass themselves by)."""
        seen: set[str] = set()
        while True:
            self.state.step = name
            step = self._steps[name]
            following = step.skip(self)
            if following is None or following in seen:
                break
            seen.add(name)
            name = following
        self.replies.append(step.ask(self))

    def ask_again(self, problem: Text | None = None) -> None:
        """Say what was wrong, kindly, and ask the current question once more."""
        if problem is not None:
            self.say(problem)
        self.replies.append(self.step().ask(self))


def choose_again() -> Text:
    """Return what an answer that is none of the choices gets before the question comes again.

    It names no button: the terminal chat and SMS show numbered choices, and every channel
    takes the number or the words.
    """
    return t("Please choose one of the options below: send its number, or type it.")


class Step:
    """One question of a flow; subclasses define ask() and answer()."""

    name: ClassVar[str]

    def ask(self, turn: Turn) -> Reply:
        """Return the question, with its choices."""
        raise NotImplementedError

    def answer(self, turn: Turn, answer: Answer) -> None:
        """Understand an answer and move the conversation on (or ask again)."""
        raise NotImplementedError

    def skip(self, turn: Turn) -> str | None:
        """Return the step to go to instead of asking this one, or None to ask it."""
        return None


# A typed answer that means a choice and one more word for politeness or "it is": "zyada hai",
# "haan ji", "sahi h". Folded when first used.
_FILLER_WORDS = ("hai", "hain", "he", "h", "है", "हैं", "ji", "जी", "please", "pls", "plz", "kripya", "कृपया")
# Where a label divides into parts that each name the choice ("गंभीर: रोज़ का काम…", "हाँ, सही है").
_LABEL_PARTS = re.compile(r"[:,;()\[\]।|/–—]")
# Matching by sound is for answers a few words long, not for paragraphs.
_SOUND_MAX = 60
# A spelling this close to a label's (difflib ratio of sound keys) is that label, typed with a
# slip; the best choice must lead the next by the margin, or it is not clear which was meant.
_SOUND_THRESHOLD = 0.85
_SOUND_MARGIN = 0.05


def resolve_choice(inbound: Inbound, key: str, choices: tuple[Choice, ...], labels: Labels) -> str | None:
    """Return the key of the choice an answer selects: a pressed button, its number, its words.

    The words may be a whole label in either language, an alias, a part of a label ("गंभीर" of
    "गंभीर: रोज़ का काम नहीं कर पा रहे") with or without a filler word ("zyada hai"), or any
    of these spelled in Latin letters or with a slip ("gambhir", "haan sahi hai"). Words that
    fit two choices equally select neither.
    """
    keys = {c.key for c in choices}
    if inbound.choice is not None and inbound.choice in keys:
        return inbound.choice
    if not choices or not key:
        return None
    number = to_ascii_digits(key).strip(" .)")
    if number.isdigit() and 1 <= int(number) <= len(choices):
        return choices[int(number) - 1].key
    whole = {choice.key: {fold(v) for v in labels.variants(choice.label)} | {fold(a) for a in choice.aliases} for choice in choices}
    for choice in choices:
        if key in whole[choice.key]:
            return choice.key
    parts = {choice.key: _parts(choice, labels) | {_without_filler(w) for w in whole[choice.key]} for choice in choices}
    typed = _without_filler(key)
    found = [choice for choice, words in parts.items() if typed in words]
    if found:
        return found[0] if len(found) == 1 else None
    return _by_sound(typed, parts) if len(typed) <= _SOUND_MAX else None


def _parts(choice: Choice, labels: Labels) -> set[str]:
    """Return the folded parts of a choice's label in every language, filler words left out."""
    found = set()
    for variant in labels.variants(choice.label):
        for part in _LABEL_PARTS.split(variant):
            folded = _without_filler(fold(part))
            if folded:
                found.add(folded)
    return found


@cache
def _filler() -> frozenset[str]:
    return frozenset(fold(w) for w in _FILLER_WORDS)


def _without_filler(key: str) -> str:
    """Return folded words without filler words, unless nothing else is left."""
    words = [w for w in key.split() if w not in _filler()]
    return " ".join(words) if words else key


def _by_sound(typed: str, parts: dict[str, set[str]]) -> str | None:
    """Return the one choice whose words sound like the typed ones, if exactly one does."""
    heard = sound_key(typed)
    if len(heard) < 2:
        return None
    scores = sorted(((max(_sound_score(heard, sound_key(p)) for p in words), key) for key, words in parts.items()), reverse=True)
    best, chosen = scores[0]
    runner_up = scores[1][0] if len(scores) > 1 else 0.0
    return chosen if best >= _SOUND_THRESHOLD and best - runner_up >= _SOUND_MARGIN else None


def _sound_score(heard: str, label: str) -> float:
    """Return how alike two sound keys are: 1 for the same, a little less for the same consonants, else their ratio."""
    if heard == label:
        return 1.0
    if len(heard) < 4 or len(label) < 4 or heard[0] != label[0]:
        return 0.0
    if len(consonants(heard)) >= 5 and consonants(heard) == consonants(label):
        return 0.95
    return SequenceMatcher(None, heard, label, autojunk=False).ratio()

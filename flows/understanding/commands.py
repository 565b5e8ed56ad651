"""Global commands: words that work at every step, in English, Hindi and romanised Hindi."""

from __future__ import annotations

from enum import StrEnum

from flows.understanding.text import fold


class Command(StrEnum):
    """A command the user can send at any point of any conversation."""

    HELP = "help"
    MENU = "menu"
    LANGUAGE = "language"
    STOP = "stop"
    # A softer word that may mean "stop" or only "wait" ("ruko"): asked about before anything stops.
    MAYBE_STOP = "maybe_stop"
    START = "start"
    STATUS = "status"
    CANCEL = "cancel"
    ERASE = "erase"
    # A person instead of the bot: the chat goes to the coordinators' inbox (flows/steps/human.py).
    HUMAN = "human"
    # Health advisories (broadcasts), a consent of their own: stopped and started apart from other messages.
    ADVISORIES_OFF = "advisories_off"
    ADVISORIES_ON = "advisories_on"


# What people type for each command. Matched against the whole message after text.fold(),
# with a leading "/" removed (Telegram bot commands). Twilio's own opt-out words (STOP,
# STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT; START, UNSTOP) are included so our state agrees
# with the carrier's: https://help.twilio.com/articles/223134027 — except CANCEL, which our
# booking flow uses to cancel a token. "ruko" and "रुकें" mean "wait" as often as "stop", and
# "बंद" alone is half a sentence: they only ask (MAYBE_STOP).
_WORDS: dict[Command, tuple[str, ...]] = {
    Command.HELP: ("help", "मदद", "madad", "sahayata", "सहायता", "help me", "info"),
    Command.MENU: ("menu", "मेनू", "मेन्यू", "main menu", "mukhya menu", "मुख्य मेनू", "home", "options"),
    Command.LANGUAGE: (
        "language", "भाषा", "bhasha", "bhasa", "lang", "change language", "भाषा बदलें",
        "bhasha badlo", "bhasha badle", "भाषा बदलो",
    ),
    Command.STOP: (
        "stop", "stopall", "stop all", "unsubscribe", "end", "quit", "opt out", "band karo", "बंद करो",
        "संदेश बंद करो", "sandesh band karo", "message band karo", "messages band karo", "मैसेज बंद करो",
    ),
    Command.MAYBE_STOP: ("ruko", "रुको", "रुकें", "ruken", "rukein", "rukiye", "रुकिए", "बंद", "band"),
    Command.STATUS: (
        "status", "स्थिति", "sthiti", "stithi", "my status", "token status", "queue", "mera number",
        "kitna time", "kab aayega number", "position",
    ),
    Command.CANCEL: ("cancel", "रद्द", "radd", "rad", "cancel token", "टोकन रद्द करें", "token radd", "radd karo", "रद्द करें"),
    # The right to erasure (DPDP Act 2023, s.12): asked for in many ways, always confirmed.
    Command.ERASE: (
        "delete my data", "delete", "erase my data", "erase", "delete my details", "delete my account",
        "remove my data", "forget me", "मेरा डेटा हटाएं", "मेरा डेटा हटाओ", "मेरा डाटा हटाएं", "मेरा डाटा हटाओ",
        "मेरा डेटा डिलीट करो", "मेरी जानकारी हटाएं", "मेरी जानकारी हटाओ", "डेटा हटाएं", "mera data hatao",
        "mera data hatayen", "mera data hataye", "mera data delete karo", "mera data delete kar do",
        "meri jankari hatao", "data hatao", "data delete karo",
        # "मिटाना" (wipe out) as well as "हटाना" (remove): the consent once said "मिटाने".
        "मेरा डेटा मिटाओ", "मेरा डेटा मिटाएं", "मेरा डाटा मिटाओ", "मेरी जानकारी मिटाओ", "डेटा मिटाओ", "mera data mitao",
        "mera data mitaen", "mera data mitaye", "meri jankari mitao", "data mitao",
    ),
    # Asking for a person: whole messages only, so "mujhe insaan se baat karni hai, bukhar hai"
    # still reaches the steps (and the danger-sign screen before them).
    Command.HUMAN: (
        "human", "talk to a human", "talk to a person", "speak to a person", "speak to a human", "real person",
        "talk to someone", "speak to someone", "i want to talk to a person", "i want to talk to someone",
        "coordinator", "talk to coordinator", "talk to a coordinator", "customer care", "helpdesk",
        "किसी व्यक्ति से बात", "किसी व्यक्ति से बात करनी है", "किसी व्यक्ति से बात करें", "व्यक्ति से बात करनी है",
        "इंसान से बात करनी है", "किसी इंसान से बात करनी है", "इंसान से बात", "किसी से बात करनी है", "किसी से बात करवाइए",
        "मुझे किसी से बात करनी है", "कोऑर्डिनेटर", "कोऑर्डिनेटर से बात", "समन्वयक",
        "insaan se baat karni hai", "insan se baat karni hai", "insaan se baat", "insan se baat",
        "kisi insaan se baat karni hai", "kisi insan se baat karni hai", "kisi vyakti se baat", "kisi vyakti se baat karni hai",
        "kisi se baat karni hai", "kisi se baat karao", "mujhe kisi se baat karni hai", "coordinator se baat",
        "coordinator se baat karni hai", "aadmi se baat karni hai",
    ),
    Command.ADVISORIES_OFF: (
        "no advisories", "stop advisories", "advisories off", "no advisory", "stop advisory",
        "salaah band", "salah band", "salaah band karo", "salah band karo", "salaah nahi", "salah nahi",
        "सलाह बंद", "सलाह बंद करो", "सलाह बंद करें", "सलाह नहीं",
    ),
    Command.ADVISORIES_ON: (
        "advisories", "advisories on", "start advisories", "advisory", "salaah shuru", "salah shuru",
        "salaah shuru karo", "salah shuru karo", "सलाह शुरू", "सलाह शुरू करो", "सलाह शुरू करें",
    ),
    Command.START: ("start", "शुरू", "shuru", "शुरू करें", "shuru karo", "शुरू करो", "unstop", "subscribe", "resume"),
}


def match_command(text: str) -> Command | None:
    """Return the global command a whole message asks for, if it is one."""
    key = fold(text.strip().lstrip("/").split("@", 1)[0]) if text.strip().startswith("/") else fold(text)
    if not key:
        return None
    for command, words in _WORDS.items():
        if key in _folded(command, words):
            return command
    return None


_FOLDED: dict[Command, frozenset[str]] = {}


def _folded(command: Command, words: tuple[str, ...]) -> frozenset[str]:
    # Folded lazily, on first use: no work at import time.
    if command not in _FOLDED:
        _FOLDED[command] = frozenset(fold(w) for w in words)
    return _FOLDED[command]

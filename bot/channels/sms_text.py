"""How long an SMS is, in segments (what a feature-phone patient's message costs), and how a
message is laid out as SMS: its choices numbered, a long list on in the next SMS, a long text in
numbered parts.

GSM-7 carries 160 characters in one segment and 153 per part when split (the rest of each
part is the concatenation header); the characters of its extension table (^ { } \\ [ ~ ] |
€ and form feed) take two. Any character outside GSM-7 — Devanagari, curly quotes, an
en dash — forces UCS-2: 70 UTF-16 code units in one segment, 67 per part.
Sources: Twilio, "What the Heck is a Segment?" and "What is UCS-2 character encoding?";
3GPP TS 23.038 for the GSM-7 tables.
"""

from __future__ import annotations

import math
import re

from bot.channels.base import OutgoingMessage
from bot.channels.splitting import split_text

# 3GPP TS 23.038 default alphabet (basic character set).
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Its extension table: each of these costs an escape plus the character.
GSM7_EXTENSION = set("^{}\\[~]|€\f")

# DESIGN.md: every SMS stays within 2 segments (a Devanagari SMS is 67 characters a part).
MAX_SMS_SEGMENTS = 2
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


def is_gsm7(text: str) -> bool:
    """Return True if the text can go as GSM-7."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def units(text: str) -> int:
    """Return the text's length in its encoding's units: septets for GSM-7, UTF-16 units for UCS-2."""
    if is_gsm7(text):
        return len(text) + sum(ch in GSM7_EXTENSION for ch in text)
    return len(text.encode("utf-16-le")) // 2


def segments(text: str) -> int:
    """Return how many SMS segments the text takes."""
    gsm = is_gsm7(text)
    length = units(text)
    single, part = (GSM7_SINGLE, GSM7_PART) if gsm else (UCS2_SINGLE, UCS2_PART)
    if length <= single:
        return 1
    return math.ceil(length / part)


def _lists_its_choices(text: str, count: int) -> bool:
    """Tell whether an SMS form already names its numbered answers ("1 mild 2 moderate", "Reply 1-5", "1 से 5 भेजें")."""
    if re.search(rf"(?<!\d)1\s*(?:[-–]|to|से|se)\s*{count}(?!\d)", text):
        return True
    pattern = r".*?".join(rf"(?<![\d:.]){n}[.)]?\s+[^\W\d]" for n in range(1, count + 1))
    return re.search(pattern, text, re.DOTALL) is not None


def render_sms(message: OutgoingMessage) -> str:
    """Return the SMS body of a message: its short text, then its choices numbered one a line.

    Labels are never cut: a label cut to its first words or letters says something else
    ("नहीं, अभी" of "नहीं, अभी नहीं" reads "No, now"), and a line break costs no more than a
    space. A message whose labels do not fit beside it carries its choices numbered in its
    SMS form (flows/steps/*: "1 Yes 2 Other OPD 3 No"), which goes as it is; a long list goes
    on in a second SMS (sms_bodies). The SMS walk (tests/test_sms_walk.py) fails on any SMS
    over 2 segments. A Devanagari label turns
    an English SMS into UCS-2 (70 characters a segment), which is measured, not avoided:
    "हिन्दी" must stay readable.
    """
    text, choices = message.text.strip(), message.choices
    if not choices or _lists_its_choices(text, len(choices)):
        return text
    return text + "\n" + "\n".join(f"{n} {c.label.strip()}" for n, c in enumerate(choices, 1))


def sms_bodies(message: OutgoingMessage) -> list[str]:
    """Return the SMS a message is sent as, each within 2 segments where its parts allow.

    A message and its choices that fit go as one SMS (render_sms). A list of choices too long
    for one (a catalogue's OPDs in Devanagari) goes on in the next SMS with its numbers
    running on, as WhatsApp's list does: no label is cut, and "7" still picks the 7th choice.
    A text too long by itself (the doctor's advice, word for word) goes in numbered parts
    (sms_parts).
    """
    whole = render_sms(message)
    if segments(whole) <= MAX_SMS_SEGMENTS or whole == message.text.strip():
        return sms_parts(whole)
    bodies = sms_parts(message.text.strip())
    for n, choice in enumerate(message.choices, 1):
        line = f"{n} {choice.label.strip()}"
        if segments(f"{bodies[-1]}\n{line}") <= MAX_SMS_SEGMENTS:
            bodies[-1] = f"{bodies[-1]}\n{line}"
        else:
            bodies.append(line)
    return bodies


# Room for a part's number in front of it ("12/15 ").
PART_MARK_ROOM = "99/99 "


def sms_parts(body: str) -> list[str]:
    """Return an SMS body as it is sent: whole within 2 segments, else in numbered parts ("1/3 …").

    A text that cannot be shorter (a doctor's advice, word for word) is cut at sentences, lines
    or words, never mid-word, into parts of 2 segments each with their number in front: a
    feature phone shows each part as it comes, and "2/3" says more is on its way.
    """
    if segments(body) <= MAX_SMS_SEGMENTS:
        return [body]
    pieces = split_text(body, MAX_SMS_SEGMENTS, lambda piece: segments(PART_MARK_ROOM + piece))
    return [f"{n}/{len(pieces)} {piece}" for n, piece in enumerate(pieces, 1)]

"""How long an SMS is, in segments: what a feature-phone patient's message costs.

GSM-7 carries 160 characters in one segment and 153 per part when split (the rest of each
part is the concatenation header); the characters of its extension table (^ { } \\ [ ~ ] |
€ and form feed) take two. Any character outside GSM-7 — Devanagari, curly quotes, an
en dash — forces UCS-2: 70 UTF-16 code units in one segment, 67 per part.
Sources: Twilio, "What the Heck is a Segment?" and "What is UCS-2 character encoding?";
3GPP TS 23.038 for the GSM-7 tables.
"""

from __future__ import annotations

import math

# 3GPP TS 23.038 default alphabet (basic character set).
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Its extension table: each of these costs an escape plus the character.
GSM7_EXTENSION = set("^{}\\[~]|€\f")

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

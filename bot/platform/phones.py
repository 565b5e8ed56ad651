"""Phone numbers as teleopd keeps them: E.164, checked with `phonenumbers`."""

from __future__ import annotations

import functools

import phonenumbers

# Answers for strings up to this long are kept (E.164 numbers have at most 15 digits); a
# longer string, junk by then, is parsed each time rather than kept.
CACHED_UP_TO = 32


def e164(number: str) -> str | None:
    """Return an international number ("+" and country code) in E.164, or None when it is
    not one (a WhatsApp BSUID such as "IN.208…", a short code, junk)."""
    # Every WhatsApp and SMS webhook asks this of its sender: parsing cost 3.7 % of a web
    # worker's time (py-spy, bench/webhook_load.py), and a patient writes many times.
    return _e164_cached(number) if len(number) <= CACHED_UP_TO else _e164(number)


@functools.lru_cache(maxsize=8192)
def _e164_cached(number: str) -> str | None:
    return _e164(number)


def _e164(number: str) -> str | None:
    number = number.strip()
    if not number.startswith("+"):
        return None
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)

"""Phone numbers as teleopd keeps them: E.164, checked with `phonenumbers`."""

from __future__ import annotations

import phonenumbers


def e164(number: str) -> str | None:
    """Return an international number ("+" and country code) in E.164, or None when it is
    not one (a WhatsApp BSUID such as "IN.208…", a short code, junk)."""
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

"""What a doctor's prescriptions print about them: the registration number and the qualification.

India's Telemedicine Practice Guidelines 2020 (§3.7.4, and the prescription format in
Annexure 2) ask for the registered medical practitioner's registration number, issued by a
State Medical Council or the National Medical Commission, on every prescription. Councils
write it their own ways ("12345", "DMC/R/12345", "MMC 2004/05/1234", "UPMC-45678"), so the check
is loose: letters, digits and / - . spaces, with at least one digit.
"""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from bot.store.models import Doctor

REGISTRATION_MAX, QUALIFICATION_MAX = 40, 120
_REGISTRATION = re.compile(r"[A-Za-z0-9][A-Za-z0-9/.\- ]*")


class DetailsError(ValueError):
    """A registration number or qualification that cannot be printed as given."""


def registration_number(value: str) -> str:
    """Return a registration number as it is printed (spaces tidied); raise DetailsError if it is not one."""
    number = " ".join(value.split())
    if not number or len(number) > REGISTRATION_MAX or not _REGISTRATION.fullmatch(number) or not any(c.isdigit() for c in number):
        raise DetailsError(
            f"a registration number is 1-{REGISTRATION_MAX} letters, digits, '/', '-', '.' or spaces with at least one digit, "
            f"as the State Medical Council or the NMC issued it (for example DMC/R/12345); got {value!r}"
        )
    return number


def qualification(value: str) -> str:
    """Return a qualification as it is printed ("MBBS, MD (Medicine)"); raise DetailsError if it cannot be."""
    text = " ".join(value.split())
    if not text or len(text) > QUALIFICATION_MAX or not text.isprintable():
        raise DetailsError(f"a qualification is 1-{QUALIFICATION_MAX} printable characters, such as 'MBBS, MD (Medicine)'; got {value!r}")
    return text


def set_details(session: Session, doctor_id: int, registration: str | None = None, degrees: str | None = None) -> Doctor:
    """Set what is given of a doctor's registration number and qualification ("" clears one); return the doctor."""
    doctor = session.get(Doctor, doctor_id)
    if doctor is None:
        raise DetailsError(f"no doctor with id {doctor_id}")
    if registration is not None:
        doctor.registration_number = registration_number(registration) if registration.strip() else None
    if degrees is not None:
        doctor.qualification = qualification(degrees) if degrees.strip() else None
    return doctor

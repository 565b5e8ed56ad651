"""`teleopd patient erase --phone +91…`: a patient's erasure asked for by phone or helpline (DPDP Act s.12)."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli.common import CommandError, open_services
from bot.platform.config import Settings


def add_patient_parsers(commands: Any) -> None:
    """Add the `patient` command to the `teleopd` subcommands (an argparse subparsers action)."""
    patient = commands.add_parser("patient", help="patients: erase one's personal data when they ask")
    patient_commands = patient.add_subparsers(title="patient commands", metavar="PATIENT_COMMAND")
    patient_erase = patient_commands.add_parser("erase", help="erase a patient's personal data (a request by phone or helpline; DPDP Act s.12)")
    patient_erase.add_argument("--phone", required=True, help="the patient's mobile number, +91…")
    patient_erase.set_defaults(handler=cmd_patient_erase)


def cmd_patient_erase(settings: Settings, args: argparse.Namespace) -> int:
    """Erase every patient (and unregistered chat) known by a phone number; print what went."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.platform.phones import e164
    from bot.services.erasure import erase_by_phone

    phone = e164(args.phone)
    if phone is None:
        raise CommandError(f"--phone must be a mobile number with its country code, like +919876543210, got {args.phone!r}")
    services = open_services(settings, announce=False)
    with services.db.write() as session:
        erased, staff = erase_by_phone(session, phone)
    for line in staff:
        print(f"not erased: {line}; their details belong to their enrolment")
    if not erased:
        print("no patient or chat has that number")
        return 0 if staff else 1
    for result in erased:
        print(
            f"erased {result.people} people and {result.identities} chats: {result.tokens_cancelled} live tokens cancelled, "
            f"{result.consultations_anonymised} consultations kept without personal data, {result.messages_scrubbed} messages blanked"
        )
    return 0

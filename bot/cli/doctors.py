"""`teleopd doctor edit`: a doctor's registration number and qualification, as their e-prescriptions print them.

`teleopd doctor add` takes the same two options (bot/cli/staff.py); a doctor without a
registration number is warned about, since their prescriptions say "registration number not
on file" (bot/services/prescription_pdf.py).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.cli.common import CommandError, int_option, open_services
from bot.platform.config import Settings


def add_details_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --registration and --qualification to a doctor command."""
    parser.add_argument("--registration", help="the medical registration number (State Medical Council or NMC), printed on e-prescriptions")
    parser.add_argument("--qualification", help="degrees as printed on e-prescriptions, such as 'MBBS, MD (Medicine)'")


def add_doctor_edit_parser(doctor_commands: Any) -> None:
    """Add `teleopd doctor edit` to the doctor subcommands."""
    edit = doctor_commands.add_parser("edit", help="set a doctor's registration number and qualification (printed on e-prescriptions)")
    edit.add_argument("--id", required=True, help="the doctor's id, as `teleopd doctor list` prints it")
    add_details_arguments(edit)
    edit.set_defaults(handler=cmd_doctor_edit)


def save_details(session: Any, doctor_id: int, args: argparse.Namespace) -> tuple[str | None, str | None]:
    """Set the doctor's details from the options (in the caller's transaction); return them as stored."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.doctor_details import DetailsError, set_details

    try:
        doctor = set_details(session, doctor_id, args.registration, args.qualification)
    except DetailsError as exc:
        raise CommandError(f"{exc}") from exc
    return doctor.registration_number, doctor.qualification


def warn_if_unregistered(doctor_id: int, registration: str | None) -> None:
    """Say on stderr that a doctor's prescriptions will have no registration number, and how to set one."""
    if registration is None:
        print(
            f"warning: doctor {doctor_id} has no registration number on file: their e-prescriptions will say so. "
            f"Set it with: teleopd doctor edit --id {doctor_id} --registration NUMBER",
            file=sys.stderr,
        )


def cmd_doctor_edit(settings: Settings, args: argparse.Namespace) -> int:
    """Set a doctor's registration number and qualification."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.staff import StaffError, find_staff

    doctor_id = int_option("--id", args.id)
    if args.registration is None and args.qualification is None:
        raise CommandError("say what to change: --registration NUMBER and/or --qualification TEXT ('' clears one)")
    services = open_services(settings, announce=False)
    try:
        with services.db.write() as session:
            person = find_staff(session, "doctor", doctor_id)
            name = person.name
            registration, degrees = save_details(session, doctor_id, args)
    except StaffError as exc:
        raise CommandError(str(exc)) from exc
    print(f"doctor {name} (id {doctor_id}): registration number {registration or 'not on file'}; qualification {degrees or 'not on file'}")
    warn_if_unregistered(doctor_id, registration)
    return 0

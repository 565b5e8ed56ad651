"""`teleopd doctor ...` and `teleopd worker-user ...`: doctors and health workers.

add (prints a one-time enrolment code on the last line), list, and by the id `list` shows:
disable, enable, remove, new-code; `doctor edit` (bot/cli/doctors.py) sets what prescriptions print.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from bot.cli.common import CommandError, int_option, open_services, print_table
from bot.cli.doctors import (
    add_details_arguments,
    add_doctor_edit_parser,
    save_details,
    warn_if_unregistered,
)
from bot.platform.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bot.store.models import Person

T = TypeVar("T")


def add_staff_parsers(commands: Any) -> None:
    """Add the `doctor` and `worker-user` commands to the `teleopd` subcommands (an argparse subparsers action)."""
    doctor = commands.add_parser("doctor", help="doctors: add one (printing their enrolment code), or list them with their status")
    doctor_commands = doctor.add_subparsers(title="doctor commands", metavar="DOCTOR_COMMAND")
    doctor_add = doctor_commands.add_parser("add", help="add a doctor; prints a one-time enrolment code on the last line")
    doctor_add.add_argument("--name", required=True, help="the doctor's name")
    doctor_add.add_argument("--opd", required=True, action="append", help="an OPD's code or name, as `teleopd opd list` prints it (repeat for several)")
    doctor_add.add_argument("--languages", default="hi,en", help="languages the doctor speaks")
    add_details_arguments(doctor_add)
    doctor_add.set_defaults(handler=cmd_doctor_add)
    doctor_list = doctor_commands.add_parser("list", help="list doctors: OPDs, desk status, account, enrolled chats, enrolment code")
    doctor_list.set_defaults(handler=cmd_staff_list, role="doctor")
    _add_change_parsers(doctor_commands, "doctor", "doctor")
    add_doctor_edit_parser(doctor_commands)

    worker_user = commands.add_parser("worker-user", help="health workers at spoke clinics: add one (printing their enrolment code)")
    worker_user_commands = worker_user.add_subparsers(title="worker-user commands", metavar="WORKER_USER_COMMAND")
    worker_user_add = worker_user_commands.add_parser("add", help="add a health worker; prints a one-time enrolment code on the last line")
    worker_user_add.add_argument("--name", required=True, help="the health worker's name")
    worker_user_add.add_argument("--clinic", required=True, help="the spoke clinic")
    worker_user_add.set_defaults(handler=cmd_worker_user_add)
    worker_user_list = worker_user_commands.add_parser("list", help="list health workers: clinic, account, enrolled chats, enrolment code")
    worker_user_list.set_defaults(handler=cmd_staff_list, role="health_worker")
    _add_change_parsers(worker_user_commands, "health_worker", "health worker")


def _add_change_parsers(commands: argparse._SubParsersAction, role: str, noun: str) -> None:  # type: ignore[type-arg]
    """Add disable, enable, remove and new-code for doctors or health workers (by the id `list` shows)."""
    for name, handler, summary in (
        ("disable", cmd_staff_disable, f"turn a {noun}'s account off: no patients, their chats told (history kept; `enable` undoes it)"),
        ("enable", cmd_staff_enable, f"turn a {noun}'s account on again"),
        ("remove", cmd_staff_remove, f"remove a {noun} for good: off, codes revoked, chats unlinked (their consultations keep their name)"),
        ("new-code", cmd_staff_new_code, f"give a {noun} a new enrolment code (a lost phone): old codes stop, enrolled chats are unlinked"),
    ):
        command = commands.add_parser(name, help=summary)
        command.add_argument("--id", required=True, help=f"the {noun}'s id, as `list` prints it")
        command.set_defaults(handler=handler, role=role, noun=noun)


def cmd_doctor_add(settings: Settings, args: argparse.Namespace) -> int:
    """Add a doctor and print their one-time code (alone on the last line, for scripts)."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.enrolment import add_doctor
    from bot.services.opds import find_opd

    name = args.name.strip()
    if not name or len(name) > 120:
        raise CommandError("--name takes the doctor's name (1-120 characters)")
    services = open_services(settings, announce=False)
    with services.db.write() as session:
        opds = []
        for wanted in args.opd:
            opd = find_opd(session, wanted)
            if opd is None:
                raise CommandError(f"no OPD called {wanted!r}: see `teleopd opd list` for codes and names")
            opds.append(opd)
        person, code = add_doctor(session, name, opds, languages=args.languages)
        session.flush()
        registration, _ = save_details(session, person.id, args)
        opd_names = ", ".join(f"{o.code} ({o.name_en})" for o in opds)
    warn_if_unregistered(person.id, registration)
    print_enrolment(f"doctor {person.name} (id {person.id}) sees patients in {opd_names}", code)
    return 0


def cmd_worker_user_add(settings: Settings, args: argparse.Namespace) -> int:
    """Add a health worker and print their one-time code (alone on the last line)."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.enrolment import add_health_worker

    name, clinic = args.name.strip(), args.clinic.strip()
    if not name or not clinic:
        raise CommandError("--name and --clinic must not be empty")
    services = open_services(settings, announce=False)
    with services.db.write() as session:
        person, code = add_health_worker(session, name, clinic)
    print_enrolment(f"health worker {person.name} (id {person.id}) at {clinic}", code)
    return 0


def print_enrolment(who: str, code: str) -> None:
    """Print who was added, how they enrol, and the code alone on the last line (for scripts)."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.enrolment import CODE_LIFETIME

    print(who)
    print(f"they enrol by sending: ENROLL {code}  (from any channel; the code works once, for {CODE_LIFETIME.days} days)")
    print(code)


def cmd_staff_list(settings: Settings, args: argparse.Namespace) -> int:
    """Print the doctors (or health workers) with their account, enrolled chats and enrolment code."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.staff import staff_rows
    from bot.store.models import Role, utcnow

    services = open_services(settings, announce=False)
    with services.db.read() as session:
        rows = staff_rows(session, args.role, utcnow())
    if not rows:
        print("no doctors yet: add one with `teleopd doctor add --name ... --opd ...`" if args.role == Role.DOCTOR
              else "no health workers yet: add one with `teleopd worker-user add --name ... --clinic ...`")
        return 0
    if args.role == Role.DOCTOR:
        header = ("id", "name", "opds", "status", "account", "enrolled chats", "code")
        table = [(str(r.id), r.name, r.works_at, r.desk, r.account, r.chats, r.code) for r in rows]
    else:
        header = ("id", "name", "clinic", "account", "enrolled chats", "code")
        table = [(str(r.id), r.name, r.works_at, r.account, r.chats, r.code) for r in rows]
    print_table(header, table)
    return 0


def _staff_change(settings: Settings, args: argparse.Namespace, change: Callable[[Session, Person], T]) -> tuple[Person, T]:
    """Find the doctor or health worker by --id and change them in one transaction; a refusal is a CommandError."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.staff import StaffError, find_staff

    person_id = int_option("--id", args.id)
    services = open_services(settings, announce=False)
    try:
        with services.db.write() as session:
            person = find_staff(session, args.role, person_id)
            return person, change(session, person)
    except StaffError as exc:
        raise CommandError(str(exc)) from exc


def _who(args: argparse.Namespace, person: Person) -> str:
    return f"{args.noun} {person.name} (id {person.id})"


def cmd_staff_disable(settings: Settings, args: argparse.Namespace) -> int:
    """Turn a doctor's or health worker's account off."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.staff import disable
    from bot.store.models import utcnow

    person, changed = _staff_change(settings, args, lambda session, person: disable(session, person, utcnow()))
    if changed:
        print(f"{_who(args, person)} is turned off: no patients go to them, and their chats were told; `enable` turns them on again")
    else:
        print(f"{_who(args, person)} was turned off already")
    return 0


def cmd_staff_enable(settings: Settings, args: argparse.Namespace) -> int:
    """Turn a doctor's or health worker's account on again."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.staff import enable

    person, changed = _staff_change(settings, args, enable)
    print(f"{_who(args, person)} is on again" if changed else f"{_who(args, person)} was on already")
    return 0


def cmd_staff_remove(settings: Settings, args: argparse.Namespace) -> int:
    """Remove a doctor or health worker for good."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.staff import remove
    from bot.store.models import utcnow

    person, _ = _staff_change(settings, args, lambda session, person: remove(session, person, utcnow()))
    print(f"{_who(args, person)} removed: their codes no longer work and their chats are unlinked; their consultations keep their name")
    return 0


def cmd_staff_new_code(settings: Settings, args: argparse.Namespace) -> int:
    """Give a doctor or health worker a new code; the old codes stop and their chats are unlinked."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.staff import new_code
    from bot.store.models import utcnow

    person, code = _staff_change(settings, args, lambda session, person: new_code(session, person, utcnow()))
    who = f"{_who(args, person)}: earlier codes no longer work, and the chats enrolled until now are unlinked"
    if person.disabled_at is not None:
        who += f"\nnote: their account is turned off; the code works once `teleopd {'doctor' if args.role == 'doctor' else 'worker-user'} enable --id {person.id}` has run"
    print_enrolment(who, code)
    return 0

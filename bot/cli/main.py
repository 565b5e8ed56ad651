"""The `teleopd` command: serve, worker, chat, db.

Usage:
    teleopd serve [--host 127.0.0.1] [--port 8000]   web app + in-process worker
    teleopd worker                                     the outbox worker alone
    teleopd chat [--user ID] [--lang en|hi]            terminal chat on the local channel
    teleopd db upgrade                                 migrate the database to the newest schema
    teleopd opd add ... / teleopd opd list             the OPD catalogue
    teleopd demo                                       load the demo OPDs
    teleopd doctor add/list/disable/enable/remove/new-code   doctors (add and new-code print an enrolment code)
    teleopd worker-user add/list/disable/enable/remove/new-code   health workers, the same
    teleopd operator add/reset-password/remove/list    who signs in to the dashboard (prints a password)
    teleopd webchat list / teleopd webchat revoke CHAT  web chats beyond the local demo
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.exc import OperationalError

from bot.cli.reports import add_report_parser
from bot.cli.telegram import add_telegram_parser
from bot.cli.templates import add_templates_parser
from bot.platform.config import Settings, SettingsError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bot.store.models import Opd, Person

log = logging.getLogger("teleopd")
T = TypeVar("T")


class CommandError(Exception):
    """A problem to report to the operator as one line, without a traceback."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the teleopd command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        settings = Settings.from_env()
        _configure_logging(settings)
        return int(args.handler(settings, args) or 0)
    except (SettingsError, CommandError) as exc:
        print(f"teleopd: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    """Return the `teleopd` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="teleopd", description="Messaging front door of a tele-OPD service.")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the web app and a worker (embedded default: SQLite, web chat at /)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", default="8000", help="port to listen on (default 8000; 0 picks a free one)")
    serve.add_argument("--threads", type=int, default=8, help="web threads (default 8)")
    serve.set_defaults(handler=cmd_serve)

    worker = commands.add_parser("worker", help="run the outbox worker alone (for scaled deployments)")
    worker.set_defaults(handler=cmd_worker)

    chat = commands.add_parser("chat", help="chat with the bot in the terminal (reads stdin; scriptable)")
    chat.add_argument("--user", default="terminal", help="local chat user id (default: terminal)")
    chat.add_argument("--lang", choices=("en", "hi"), help="language for a new user (skips the language question)")
    chat.set_defaults(handler=cmd_chat)

    opd = commands.add_parser("opd", help="the OPD catalogue: add or update an OPD, or list them")
    opd_commands = opd.add_subparsers(title="opd commands", metavar="OPD_COMMAND")
    opd_add = opd_commands.add_parser("add", help="add an OPD (or update the one with the same code)")
    opd_add.add_argument("--code", required=True, help="short code, e.g. GEN")
    opd_add.add_argument("--name", required=True, help="name in English")
    opd_add.add_argument("--name-hi", required=True, help="name in Hindi")
    opd_add.add_argument("--specialty", required=True, help="general_medicine, paediatrics, obgyn, dermatology, ent, …")
    opd_add.add_argument("--hours", default="09:00-17:00", help="opening hours in India's time, HH:MM-HH:MM, or 24h")
    opd_add.add_argument("--days", default="mon-sat", help="working days: mon-sat, mon,wed,fri or all")
    opd_add.add_argument("--capacity", default="100", help="tokens a day")
    opd_add.add_argument("--languages", default="hi,en", help="languages the doctors speak")
    opd_add.add_argument("--minutes", default="10", help="minutes per consultation, until the OPD has its own figures")
    opd_add.set_defaults(handler=cmd_opd_add)
    opd_list = opd_commands.add_parser("list", help="list the OPDs with today's tokens")
    opd_list.set_defaults(handler=cmd_opd_list)

    doctor = commands.add_parser("doctor", help="doctors: add one (printing their enrolment code), or list them with their status")
    doctor_commands = doctor.add_subparsers(title="doctor commands", metavar="DOCTOR_COMMAND")
    doctor_add = doctor_commands.add_parser("add", help="add a doctor; prints a one-time enrolment code on the last line")
    doctor_add.add_argument("--name", required=True, help="the doctor's name")
    doctor_add.add_argument("--opd", required=True, action="append", help="an OPD's code or name, as `teleopd opd list` prints it (repeat for several)")
    doctor_add.add_argument("--languages", default="hi,en", help="languages the doctor speaks")
    doctor_add.set_defaults(handler=cmd_doctor_add)
    doctor_list = doctor_commands.add_parser("list", help="list doctors: OPDs, desk status, account, enrolled chats, enrolment code")
    doctor_list.set_defaults(handler=cmd_staff_list, role="doctor")
    _add_staff_parsers(doctor_commands, "doctor", "doctor")

    worker_user = commands.add_parser("worker-user", help="health workers at spoke clinics: add one (printing their enrolment code)")
    worker_user_commands = worker_user.add_subparsers(title="worker-user commands", metavar="WORKER_USER_COMMAND")
    worker_user_add = worker_user_commands.add_parser("add", help="add a health worker; prints a one-time enrolment code on the last line")
    worker_user_add.add_argument("--name", required=True, help="the health worker's name")
    worker_user_add.add_argument("--clinic", required=True, help="the spoke clinic")
    worker_user_add.set_defaults(handler=cmd_worker_user_add)
    worker_user_list = worker_user_commands.add_parser("list", help="list health workers: clinic, account, enrolled chats, enrolment code")
    worker_user_list.set_defaults(handler=cmd_staff_list, role="health_worker")
    _add_staff_parsers(worker_user_commands, "health_worker", "health worker")

    patient = commands.add_parser("patient", help="patients: erase one's personal data when they ask")
    patient_commands = patient.add_subparsers(title="patient commands", metavar="PATIENT_COMMAND")
    patient_erase = patient_commands.add_parser("erase", help="erase a patient's personal data (a request by phone or helpline; DPDP Act s.12)")
    patient_erase.add_argument("--phone", required=True, help="the patient's mobile number, +91…")
    patient_erase.set_defaults(handler=cmd_patient_erase)

    operator = commands.add_parser("operator", help="operators who sign in to the dashboard at /dashboard")
    operator_commands = operator.add_subparsers(title="operator commands", metavar="OPERATOR_COMMAND")
    operator_add = operator_commands.add_parser("add", help="add an operator; prints the name and a generated password on the last lines, once")
    operator_add.add_argument("--name", required=True, help="the name they sign in with (letters, digits and . _ @ -; case does not matter)")
    operator_add.set_defaults(handler=cmd_operator_add)
    operator_reset = operator_commands.add_parser("reset-password", help="give an operator a new password (printed once) and sign them out everywhere")
    operator_reset.add_argument("--name", required=True, help="the operator's name")
    operator_reset.set_defaults(handler=cmd_operator_reset_password)
    operator_remove = operator_commands.add_parser("remove", help="stop an operator signing in, ending their sessions")
    operator_remove.add_argument("--name", required=True, help="the operator's name")
    operator_remove.set_defaults(handler=cmd_operator_remove)
    operator_list = operator_commands.add_parser("list", help="list the operators who can sign in")
    operator_list.set_defaults(handler=cmd_operator_list)

    webchat = commands.add_parser("webchat", help="web chats beyond the local demo: each one a secret the server issued")
    webchat_commands = webchat.add_subparsers(title="webchat commands", metavar="WEBCHAT_COMMAND")
    webchat_list = webchat_commands.add_parser("list", help="list the open web chats: address, role, the staff member's name")
    webchat_list.set_defaults(handler=cmd_webchat_list)
    webchat_revoke = webchat_commands.add_parser("revoke", help="end a web chat for good (a lost phone's doctor desk): its secret opens nothing any more")
    webchat_revoke.add_argument("chat", help="the chat's address (web-…), as the chat page and `teleopd webchat list` show it")
    webchat_revoke.set_defaults(handler=cmd_webchat_revoke)

    demo = commands.add_parser("demo", help="load the demo OPDs, an operator and demo staff codes into the configured database")
    demo.set_defaults(handler=cmd_demo)

    add_report_parser(commands)
    add_templates_parser(commands)
    add_telegram_parser(commands)

    db = commands.add_parser("db", help="database administration: migrate the database to the newest schema")
    db_commands = db.add_subparsers(title="db commands", metavar="DB_COMMAND")
    upgrade = db_commands.add_parser("upgrade", help="migrate the database to the newest schema")
    upgrade.set_defaults(handler=cmd_db_upgrade)
    describe_subcommands(parser)
    return parser


def describe_subcommands(parser: argparse.ArgumentParser) -> None:
    """Give every subcommand's own --help page the line its parent's list shows for it."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help for choice in action._choices_actions}
        for name, subparser in action.choices.items():
            if subparser.description is None and helps.get(name):
                text = str(helps[name])
                subparser.description = text[0].upper() + text[1:] + "."
            describe_subcommands(subparser)


def _add_staff_parsers(commands: argparse._SubParsersAction, role: str, noun: str) -> None:  # type: ignore[type-arg]
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


def _port(value: str) -> int:
    """Parse a TCP port number, or say in one line why it is none."""
    if not value.isascii() or not value.isdigit() or not 0 <= int(value) <= 65535:
        raise CommandError(f"--port takes a number from 0 to 65535, not {value}")
    return int(value)


def _configure_logging(settings: Settings) -> None:
    """Log JSON lines (or text, TELEOPD_LOG_FORMAT) to stderr, masked, with request ids (bot/platform/logs.py)."""
    from bot.platform.logs import configure_logging

    configure_logging(settings)


def _services(settings: Settings, announce: bool = True):  # type: ignore[no-untyped-def]
    """Build the services, checking the database schema first."""
    from bot.runtime import build_services
    from bot.store.migrate import current_revision, head_revision, upgrade

    services = build_services(settings)
    try:
        revision = current_revision(services.db.engine)
    except OperationalError as exc:
        raise CommandError(f"cannot reach the database {settings.redacted_database_url}: {_reason(exc)}") from exc
    if revision != head_revision():
        if services.db.is_sqlite:
            # The embedded default migrates itself, so a fresh checkout just runs.
            upgrade(settings.database_url, services.db.engine)
        else:
            raise CommandError(f"the database is at revision {revision or 'none'}, not {head_revision()}: run `teleopd db upgrade`")
    if announce:
        for line in settings.channel_status_lines():
            log.info("%s", line)
    return services


def _reason(exc: OperationalError) -> str:
    """Return the first line of the database driver's own message."""
    return str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__


def _int_option(name: str, value: str) -> int:
    if not value.isascii() or not value.isdigit():
        raise CommandError(f"{name} takes a whole number, not {value}")
    return int(value)


def cmd_opd_add(settings: Settings, args: argparse.Namespace) -> int:
    """Add or update an OPD."""
    from bot.services.opds import (
        CatalogueError,
        OpdSpec,
        check_spec,
        days_text,
        hours_text,
        upsert_opd,
    )

    spec = OpdSpec(
        code=args.code, name_en=args.name, name_hi=args.name_hi, specialty=args.specialty, hours=args.hours, days=args.days,
        capacity=_int_option("--capacity", args.capacity), languages=args.languages, consult_minutes=_int_option("--minutes", args.minutes),
    )
    try:
        check_spec(spec)  # before touching the database: a refusal is one line and changes nothing
        services = _services(settings, announce=False)
        with services.db.write() as session:
            opd = upsert_opd(session, spec)
            line = f"{opd.code}\t{opd.name_en} / {opd.name_hi}\t{opd.specialty}\t{hours_text(opd)} IST\t{days_text(opd)}\t{opd.daily_capacity} tokens a day"
    except CatalogueError as exc:
        raise CommandError(str(exc)) from exc
    print(line)
    return 0


def cmd_opd_list(settings: Settings, args: argparse.Namespace) -> int:
    """Print the OPD catalogue with today's tokens."""
    from bot.services.opds import catalogue_rows
    from bot.store.models import utcnow

    services = _services(settings, announce=False)
    with services.db.read() as session:
        rows = catalogue_rows(session, utcnow())
    if not rows:
        print("no OPDs yet: add one with `teleopd opd add`, or load the demo set with `teleopd demo`")
        return 0
    header = ("code", "name", "specialty", "hours (IST)", "days", "capacity", "issued today", "waiting")
    _print_table(header, [
        (str(r["code"]), f"{r['name']} / {r['name_hi']}", str(r["specialty"]), str(r["hours_ist"]), str(r["days"]),
         str(r["capacity"]), str(r["issued_today"]), str(r["waiting"]))
        for r in rows
    ])
    return 0


def _print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Print rows under a header, in columns as wide as their widest cell."""
    table = [header, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def cmd_doctor_add(settings: Settings, args: argparse.Namespace) -> int:
    """Add a doctor and print their one-time code (alone on the last line, for scripts)."""
    from bot.services.enrolment import add_doctor
    from bot.services.opds import find_opd

    name = args.name.strip()
    if not name or len(name) > 120:
        raise CommandError("--name takes the doctor's name (1-120 characters)")
    services = _services(settings, announce=False)
    with services.db.write() as session:
        opds = []
        for wanted in args.opd:
            opd = find_opd(session, wanted)
            if opd is None:
                raise CommandError(f"no OPD called {wanted!r}: see `teleopd opd list` for codes and names")
            opds.append(opd)
        person, code = add_doctor(session, name, opds, languages=args.languages)
        opd_names = ", ".join(f"{o.code} ({o.name_en})" for o in opds)
    _print_enrolment(f"doctor {person.name} (id {person.id}) sees patients in {opd_names}", code)
    return 0


def _print_enrolment(who: str, code: str) -> None:
    """Print who was added, how they enrol, and the code alone on the last line (for scripts)."""
    from bot.services.enrolment import CODE_LIFETIME

    print(who)
    print(f"they enrol by sending: ENROLL {code}  (from any channel; the code works once, for {CODE_LIFETIME.days} days)")
    print(code)


def cmd_staff_list(settings: Settings, args: argparse.Namespace) -> int:
    """Print the doctors (or health workers) with their account, enrolled chats and enrolment code."""
    from bot.services.staff import staff_rows
    from bot.store.models import Role, utcnow

    services = _services(settings, announce=False)
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
    _print_table(header, table)
    return 0


def _staff_change(settings: Settings, args: argparse.Namespace, change: Callable[[Session, Person], T]) -> tuple[Person, T]:
    """Find the doctor or health worker by --id and change them in one transaction; a refusal is a CommandError."""
    from bot.services.staff import StaffError, find_staff

    person_id = _int_option("--id", args.id)
    services = _services(settings, announce=False)
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
    from bot.services.staff import enable

    person, changed = _staff_change(settings, args, enable)
    print(f"{_who(args, person)} is on again" if changed else f"{_who(args, person)} was on already")
    return 0


def cmd_staff_remove(settings: Settings, args: argparse.Namespace) -> int:
    """Remove a doctor or health worker for good."""
    from bot.services.staff import remove
    from bot.store.models import utcnow

    person, _ = _staff_change(settings, args, lambda session, person: remove(session, person, utcnow()))
    print(f"{_who(args, person)} removed: their codes no longer work and their chats are unlinked; their consultations keep their name")
    return 0


def cmd_staff_new_code(settings: Settings, args: argparse.Namespace) -> int:
    """Give a doctor or health worker a new code; the old codes stop and their chats are unlinked."""
    from bot.services.staff import new_code
    from bot.store.models import utcnow

    person, code = _staff_change(settings, args, lambda session, person: new_code(session, person, utcnow()))
    who = f"{_who(args, person)}: earlier codes no longer work, and the chats enrolled until now are unlinked"
    if person.disabled_at is not None:
        who += f"\nnote: their account is turned off; the code works once `teleopd {'doctor' if args.role == 'doctor' else 'worker-user'} enable --id {person.id}` has run"
    _print_enrolment(who, code)
    return 0


def cmd_worker_user_add(settings: Settings, args: argparse.Namespace) -> int:
    """Add a health worker and print their one-time code (alone on the last line)."""
    from bot.services.enrolment import add_health_worker

    name, clinic = args.name.strip(), args.clinic.strip()
    if not name or not clinic:
        raise CommandError("--name and --clinic must not be empty")
    services = _services(settings, announce=False)
    with services.db.write() as session:
        person, code = add_health_worker(session, name, clinic)
    _print_enrolment(f"health worker {person.name} (id {person.id}) at {clinic}", code)
    return 0


def cmd_patient_erase(settings: Settings, args: argparse.Namespace) -> int:
    """Erase every patient (and unregistered chat) known by a phone number; print what went."""
    from bot.platform.phones import e164
    from bot.services.erasure import erase_by_phone

    phone = e164(args.phone)
    if phone is None:
        raise CommandError(f"--phone must be a mobile number with its country code, like +919876543210, got {args.phone!r}")
    services = _services(settings, announce=False)
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


def _print_credential(username: str, password: str) -> None:
    """Print an operator's name and password on the last two lines (shown this once: only a hash is kept)."""
    print(f"username: {username}")
    print(f"password: {password}")


def _operator_change(settings: Settings, change: Callable[[Session], T]) -> T:
    """Run a change to the operators in one transaction; a refusal (duplicate, unknown name) is a CommandError."""
    from bot.services.operators import OperatorError

    services = _services(settings, announce=False)
    try:
        with services.db.write() as session:
            return change(session)
    except OperatorError as exc:
        raise CommandError(str(exc)) from exc


def cmd_operator_add(settings: Settings, args: argparse.Namespace) -> int:
    """Add an operator and print their generated password once."""
    from bot.services.operators import add_operator

    operator, password = _operator_change(settings, lambda session: add_operator(session, args.name))
    print(f"operator {operator.username} added: they sign in at /dashboard/login; the password is shown only now")
    _print_credential(operator.username, password)
    return 0


def cmd_operator_reset_password(settings: Settings, args: argparse.Namespace) -> int:
    """Give an operator a new password, printed once; their open sessions end."""
    from bot.services.operators import reset_password

    operator, password = _operator_change(settings, lambda session: reset_password(session, args.name))
    print(f"operator {operator.username} has a new password; sessions signed in with the old one have ended")
    _print_credential(operator.username, password)
    return 0


def cmd_operator_remove(settings: Settings, args: argparse.Namespace) -> int:
    """Stop an operator signing in; their open sessions end."""
    from bot.services.operators import remove_operator

    operator = _operator_change(settings, lambda session: remove_operator(session, args.name))
    print(f"operator {operator.username} removed: they can no longer sign in, and their sessions have ended")
    return 0


def cmd_operator_list(settings: Settings, args: argparse.Namespace) -> int:
    """Print the operators who can sign in."""
    from bot.services.operators import list_operators

    services = _services(settings, announce=False)
    with services.db.read() as session:
        rows = [
            (o.username, f"{o.created_at:%Y-%m-%d %H:%M} UTC", f"{o.last_login_at:%Y-%m-%d %H:%M} UTC" if o.last_login_at else "never")
            for o in list_operators(session)
        ]
    if not rows:
        print("no operators yet: add one with `teleopd operator add --name ...`")
        return 0
    _print_table(("username", "added", "last sign-in"), rows)
    return 0


def cmd_webchat_list(settings: Settings, args: argparse.Namespace) -> int:
    """Print the open web chats, the staff ones with their names."""
    from bot.services.webchats import open_chats

    services = _services(settings, announce=False)
    with services.db.read() as session:
        rows = [
            (
                chat.address, chat.role or "-", chat.name or "",
                f"{chat.opened_at:%Y-%m-%d %H:%M} UTC",
                f"{chat.last_message_at:%Y-%m-%d %H:%M} UTC" if chat.last_message_at else "never",
            )
            for chat in open_chats(session)
        ]
    if not rows:
        print("no open web chats")
        return 0
    _print_table(("chat", "role", "name", "opened", "last message"), rows)
    return 0


def cmd_webchat_revoke(settings: Settings, args: argparse.Namespace) -> int:
    """Revoke a web chat: its cookie opens nothing any more."""
    from bot.services.webchats import revoke

    services = _services(settings, announce=False)
    if not revoke(services.db, args.chat):
        raise CommandError(f"no open web chat {args.chat!r}: `teleopd webchat list` shows them")
    print(f"revoked {args.chat}: its browser is told the chat has ended, and its next message starts a new one")
    return 0


DEMO_OPERATOR = "admin"
# Staff are stored by name; the bot itself says "Dr." before a doctor's name.
DEMO_DOCTOR = "Anita Sharma"
DEMO_HEALTH_WORKER = "Kamla Devi"
DEMO_CLINIC = "Demo PHC"
DEMO_DOCTOR_OPD = "GEN24"  # the round-the-clock demo OPD: the demo works at any hour


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    """Load the demo OPDs, and print what a newcomer needs for the two-tab demo.

    The operator `admin`, the demo doctor and the demo health worker are created the first
    time and reused after; each run prints a new admin password and new one-time codes
    (the old ones are only stored hashed, so they cannot be shown again).
    """
    from bot.services.opds import load_demo
    from bot.store.models import Role

    services = _services(settings, announce=False)
    with services.db.write() as session:
        opds = load_demo(session)
        codes = [opd.code for opd in opds]
        password = _demo_operator_password(session)
        doctor_code = _demo_staff_code(session, DEMO_DOCTOR, Role.DOCTOR, [opd for opd in opds if opd.code == DEMO_DOCTOR_OPD])
        worker_code = _demo_staff_code(session, DEMO_HEALTH_WORKER, Role.HEALTH_WORKER, [])
    base = settings.public_url or "http://127.0.0.1:8000"
    print(f"loaded {len(codes)} demo OPDs: {', '.join(codes)}")
    print("after `teleopd serve`:")
    print(f"Patient: open {base}/ and say hello")
    print(f"Doctor (Dr. {DEMO_DOCTOR}, {DEMO_DOCTOR_OPD}): open {base}/?role=doctor and send: enroll {doctor_code}")
    print(f"Health worker ({DEMO_HEALTH_WORKER}, {DEMO_CLINIC}): open {base}/?role=health_worker and send: enroll {worker_code}")
    print(f"Dashboard: open {base}/dashboard and sign in as {DEMO_OPERATOR} (a new password each time `teleopd demo` runs)")
    _print_credential(DEMO_OPERATOR, password)
    return 0


def _demo_operator_password(session: Session) -> str:
    """Create the demo operator the first time, reset its password after; return the password."""
    from bot.services.operators import OperatorError, add_operator, reset_password

    try:
        return reset_password(session, DEMO_OPERATOR)[1]
    except OperatorError:  # not there yet (or removed): add it
        return add_operator(session, DEMO_OPERATOR)[1]


def _demo_staff_code(session: Session, name: str, role: str, opds: list[Opd]) -> str:
    """Return a fresh one-time code for the demo doctor or health worker, creating them the first time."""
    from sqlalchemy import select

    from bot.services.enrolment import add_doctor, add_health_worker, issue_code
    from bot.store.models import Person, Role

    person = session.scalars(
        select(Person).where(Person.role == role, Person.name == name, Person.removed_at.is_(None)).order_by(Person.id)
    ).first()
    if person is not None:
        return issue_code(session, person, role)
    if role == Role.DOCTOR:
        return add_doctor(session, name, opds)[1]
    return add_health_worker(session, name, DEMO_CLINIC)[1]


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    """Migrate the configured database to the newest schema."""
    from bot.store.db import Database
    from bot.store.migrate import current_revision, upgrade

    db = Database(settings.database_url)
    try:
        upgrade(settings.database_url, db.engine)
        print(f"database {settings.redacted_database_url} is at revision {current_revision(db.engine)}")
    except OperationalError as exc:
        raise CommandError(f"cannot reach the database {settings.redacted_database_url}: {_reason(exc)}") from exc
    finally:
        db.dispose()
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    """Run the web app with an in-process outbox worker until interrupted."""
    from waitress import create_server

    from webhooks import create_app
    from webhooks.webchat import long_polls_for

    port = _port(args.port)
    # On loopback this is the local demo, where any web chat user id works (scripts, curl);
    # anywhere else each web chat is a secret the server issues.
    local_demo = _is_loopback(args.host)
    services = _services(settings)
    app = create_app(services, local_demo=local_demo, long_polls=long_polls_for(args.threads))
    stop = threading.Event()
    worker = threading.Thread(target=services.worker.run, args=(stop, services.outbox_signal), name="outbox-worker", daemon=True)
    worker.start()
    timer_thread = threading.Thread(target=services.timers.run, args=(stop,), name="timers", daemon=True)
    timer_thread.start()
    try:
        server = create_server(app, host=args.host, port=port, threads=args.threads, ident="teleopd")
    except OSError as exc:
        stop.set()
        raise CommandError(f"cannot listen on {args.host}:{port}: {exc.strerror or exc}") from exc
    base = _base_url(args.host, server.effective_port)  # type: ignore[union-attr]
    log.info("web chat at %s/ (%s)", base,
             "the local demo: any chat id works" if local_demo else "each chat a secret the server issues")
    log.info("dashboard at %s/dashboard (sign in as an operator: `teleopd operator add --name ...`)", base)
    _say_if_no_opd(services)
    # SIGTERM (a process manager stopping us) ends the server loop the way Ctrl-C does, so
    # the in-process worker is stopped cleanly instead of leaving claimed rows behind.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.run()
    finally:
        stop.set()
        services.outbox_signal.set()
        worker.join(timeout=5)
        timer_thread.join(timeout=5)
        services.close()
    return 0


def _base_url(host: str, port: int) -> str:
    """Return the http address of the server (an IPv6 address in brackets)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _say_if_no_opd(services) -> None:  # type: ignore[no-untyped-def]
    """Warn when there is no OPD: the chat would answer every booking with "no OPD is open"."""
    from bot.services.opds import active_opd_count

    with services.db.read() as session:
        if active_opd_count(session) == 0:
            log.warning("no OPD loaded: run `teleopd demo` or `teleopd opd add`")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    """Run the outbox worker until SIGTERM or Ctrl-C."""
    services = _services(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    log.info("worker started")
    timer_thread = threading.Thread(target=services.timers.run, args=(stop,), name="timers", daemon=True)
    timer_thread.start()
    # PostgreSQL: woken by the web processes' commits (LISTEN/NOTIFY) instead of finding
    # replies at the next idle poll, up to half a second later.
    listener = threading.Thread(
        target=services.db.listen_outbox, args=(services.outbox_signal, stop), name="outbox-listener", daemon=True
    )
    listener.start()
    try:
        services.worker.run(stop, services.outbox_signal)
    except KeyboardInterrupt:
        stop.set()
    timer_thread.join(timeout=5)
    services.close()
    log.info("worker stopped")
    return 0


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    """Chat with the bot as a local user, line by line from stdin."""
    from bot.channels.local import valid_user_id
    from bot.cli.chat import TerminalChat

    if not valid_user_id(args.user):
        raise CommandError("--user takes 1-64 characters of letters, digits and . _ @ -")
    # The conversation is on stdout; only warnings belong on the terminal's stderr.
    logging.getLogger().setLevel(max(logging.getLogger().level, logging.WARNING))
    services = _services(settings, announce=False)
    chat = TerminalChat(services, args.user, language=args.lang, out=sys.stdout)
    return chat.run(sys.stdin, interactive=sys.stdin.isatty())

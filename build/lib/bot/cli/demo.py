"""`teleopd demo`: the demo OPDs, an operator, a demo doctor and health worker, and what a newcomer needs to try both sides."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from bot.cli.common import open_services, print_credential
from bot.platform.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bot.store.models import Opd

DEMO_OPERATOR = "admin"
# Staff are stored by name; the bot itself says "Dr." before a doctor's name.
DEMO_DOCTOR = "Anita Sharma"
DEMO_HEALTH_WORKER = "Kamla Devi"
DEMO_CLINIC = "Demo PHC"
DEMO_DOCTOR_OPD = "GEN24"  # the round-the-clock demo OPD: the demo works at any hour


def add_demo_parser(commands: Any) -> None:
    """Add the `demo` command to the `teleopd` subcommands (an argparse subparsers action)."""
    demo = commands.add_parser("demo", help="load the demo OPDs, an operator and demo staff codes into the configured database")
    demo.set_defaults(handler=cmd_demo)


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    """Load the demo OPDs, and print what a newcomer needs for the two-tab demo.

    The operator `admin`, the demo doctor and the demo health worker are created the first
    time and reused after; each run prints a new admin password and new one-time codes
    (the old ones are only stored hashed, so they cannot be shown again).
    """
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.opds import load_demo
    from bot.store.models import Role

    services = open_services(settings, announce=False)
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
    print_credential(DEMO_OPERATOR, password)
    return 0


def _demo_operator_password(session: Session) -> str:
    """Create the demo operator the first time, reset its password after; return the password."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
    from bot.services.operators import OperatorError, add_operator, reset_password

    try:
        return reset_password(session, DEMO_OPERATOR)[1]
    except OperatorError:  # not there yet (or removed): add it
        return add_operator(session, DEMO_OPERATOR)[1]


def _demo_staff_code(session: Session, name: str, role: str, opds: list[Opd]) -> str:
    """Return a fresh one-time code for the demo doctor or health worker, creating them the first time."""
    # Loaded when the command runs (bot/cli/__init__.py says why).
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

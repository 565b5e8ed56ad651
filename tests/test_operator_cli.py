"""`teleopd operator …` and the operator part of `teleopd demo`: main() in-process, on both databases.

What the commands print is used the way a newcomer uses it: the password signs in through
the real login form, the enrolment codes enrol a chat through the real dispatcher.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.cli.main import main
from bot.platform.config import Settings
from bot.platform.i18n import Catalogs
from bot.runtime import Services, build_services
from bot.services import operators
from bot.services.opds import DEMO_OPDS
from bot.store.db import Database
from bot.store.models import Doctor, Identity, Opd, Operator, Person, Role
from tests.helpers import LocalUser
from tests.operator_auth_helpers import build_app
from tests.operators import sign_in


@pytest.fixture
def teleopd(db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run `teleopd ARGS` on the test database; return (exit status, stdout lines, stderr)."""
    for name in ("TELEOPD_SECRET_KEY", "TELEOPD_OPERATOR_SESSION_HOURS", "TELEOPD_PUBLIC_URL", "TELEOPD_LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TELEOPD_DATABASE_URL", db.url)

    def run(*args: str) -> tuple[int, list[str], str]:
        status = main(list(args))
        out, err = capsys.readouterr()
        return status, out.splitlines(), err

    return run


@pytest.fixture
def web(db: Database, catalogs: Catalogs) -> Services:
    return build_services(Settings(database_url=db.url, inbound_per_minute=1000), db=db, catalogs=catalogs)


def credential(lines: list[str]) -> tuple[str, str]:
    """The username and password from the last two lines."""
    assert lines[-2].startswith("username: ") and lines[-1].startswith("password: "), lines
    return lines[-2].removeprefix("username: "), lines[-1].removeprefix("password: ")


def signs_in(web: Services, username: str, password: str) -> bool:
    """Whether the credential signs in through the login form and opens the dashboard."""
    client = build_app(web).test_client()
    response = sign_in(client, username, password)
    return response.status_code == 302 and client.get("/dashboard").status_code == 200


def test_operator_add_prints_a_credential_that_signs_in(teleopd, web: Services) -> None:  # type: ignore[no-untyped-def]
    status, lines, _ = teleopd("operator", "add", "--name", "Coord")
    assert status == 0
    username, password = credential(lines)
    assert username == "coord"
    assert signs_in(web, "Coord", password)
    status, lines, _ = teleopd("operator", "list")
    assert status == 0 and lines[0].split()[0] == "username" and lines[1].split()[0] == "coord"
    assert "never" not in lines[1]  # the sign-in is listed


def test_a_duplicate_or_a_bad_name_is_a_one_line_error(teleopd) -> None:  # type: ignore[no-untyped-def]
    assert teleopd("operator", "add", "--name", "coord")[0] == 0
    for args, mention in (
        (("operator", "add", "--name", "COORD"), "already an operator called 'coord'"),
        (("operator", "add", "--name", "two words"), "1-64 letters"),
        (("operator", "reset-password", "--name", "nobody"), "no operator called 'nobody'"),
        (("operator", "remove", "--name", "nobody"), "no operator called 'nobody'"),
    ):
        status, lines, err = teleopd(*args)
        assert status == 2 and lines == [], args
        assert err.count("\n") == 1 and err.startswith("teleopd: ") and mention in err, err
        assert "Traceback" not in err


def test_reset_password_prints_a_new_one_and_the_old_one_stops(teleopd, web: Services) -> None:  # type: ignore[no-untyped-def]
    _, old_password = credential(teleopd("operator", "add", "--name", "coord")[1])
    status, lines, _ = teleopd("operator", "reset-password", "--name", "Coord")
    assert status == 0
    username, new_password = credential(lines)
    assert username == "coord" and new_password != old_password
    assert not signs_in(web, "coord", old_password)
    assert signs_in(web, "coord", new_password)


def test_remove_stops_the_operator_and_the_list_says_so(teleopd, web: Services) -> None:  # type: ignore[no-untyped-def]
    _, password = credential(teleopd("operator", "add", "--name", "coord")[1])
    status, lines, _ = teleopd("operator", "remove", "--name", "coord")
    assert status == 0 and "removed" in lines[-1]
    assert not signs_in(web, "coord", password)
    assert teleopd("operator", "list")[1] == ["no operators yet: add one with `teleopd operator add --name ...`"]
    assert teleopd("operator", "remove", "--name", "coord")[0] == 2
    _, again = credential(teleopd("operator", "add", "--name", "coord")[1])  # the name can be given again
    assert signs_in(web, "coord", again)


def code_in(lines: list[str], role_label: str) -> str:
    [line] = [line for line in lines if line.startswith(role_label)]
    assert "send: enroll " in line, line
    return line.rsplit(" ", 1)[1]


def enrols_as(web: Services, user: str, code: str) -> str:
    """Send "enroll CODE" from a new local chat; return the role the chat then belongs to."""
    LocalUser(web, user).say(f"enroll {code}")
    with web.db.read() as session:
        identity = session.scalars(select(Identity).where(Identity.address == user)).one()
        return identity.person.role if identity.person is not None else Role.PATIENT


def test_demo_prints_what_the_two_tab_demo_needs(teleopd, web: Services) -> None:  # type: ignore[no-untyped-def]
    status, lines, _ = teleopd("demo")
    assert status == 0
    assert lines[0].startswith(f"loaded {len(DEMO_OPDS)} demo OPDs")
    doctor_line = next(line for line in lines if line.startswith("Doctor"))
    assert "http://127.0.0.1:8000/?role=doctor" in doctor_line and "GEN24" in doctor_line
    assert any("http://127.0.0.1:8000/?role=health_worker" in line for line in lines)
    username, password = credential(lines)
    assert username == "admin" and signs_in(web, "admin", password)
    assert enrols_as(web, "demo-doctor-tab", code_in(lines, "Doctor")) == Role.DOCTOR
    assert enrols_as(web, "demo-worker-tab", code_in(lines, "Health worker")) == Role.HEALTH_WORKER
    with web.db.read() as session:
        [doctor] = session.scalars(select(Doctor)).all()
        assert doctor.person.name == "Anita Sharma" and [opd.code for opd in doctor.opds] == ["GEN24"]


def test_demo_again_reuses_its_people_with_a_new_password_and_codes(teleopd, web: Services) -> None:  # type: ignore[no-untyped-def]
    first = teleopd("demo")[1]
    second = teleopd("demo")[1]
    _, old_password = credential(first)
    _, new_password = credential(second)
    assert new_password != old_password
    assert not signs_in(web, "admin", old_password) and signs_in(web, "admin", new_password)
    assert code_in(first, "Doctor") != code_in(second, "Doctor")
    assert enrols_as(web, "doctor-tab", code_in(second, "Doctor")) == Role.DOCTOR
    assert enrols_as(web, "worker-tab", code_in(second, "Health worker")) == Role.HEALTH_WORKER
    with web.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Operator)) == 1
        assert session.scalar(select(func.count()).select_from(Person).where(Person.role == Role.DOCTOR)) == 1
        assert session.scalar(select(func.count()).select_from(Person).where(Person.role == Role.HEALTH_WORKER)) == 1
        assert session.scalar(select(func.count()).select_from(Opd)) == len(DEMO_OPDS)
        assert [o.username for o in operators.list_operators(session)] == ["admin"]


def test_demo_brings_back_a_removed_admin(teleopd, web: Services) -> None:  # type: ignore[no-untyped-def]
    teleopd("demo")
    assert teleopd("operator", "remove", "--name", "admin")[0] == 0
    status, lines, _ = teleopd("demo")
    assert status == 0 and signs_in(web, *credential(lines))


def test_demo_links_use_the_public_url_when_set(teleopd, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TELEOPD_PUBLIC_URL", "https://opd.example.in")
    lines = teleopd("demo")[1]
    assert any("https://opd.example.in/?role=doctor" in line for line in lines)
    assert any("https://opd.example.in/dashboard" in line for line in lines)

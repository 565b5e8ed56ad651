"""`teleopd doctor add --registration/--qualification` and `teleopd doctor edit`: what a doctor's e-prescriptions print.

Run in-process (main()) on a copy of the demo database. A doctor without a registration
number is added all the same, with a warning saying how to set it (their prescriptions say
"registration number not on file"); bad input is refused with one clear line and changes nothing.
"""

from __future__ import annotations

import pytest

from bot.runtime import Services
from bot.store.models import Doctor, Person, Role
from tests.test_operator_cli import teleopd  # noqa: F401  (fixture)


def _doctor(demo: Services, name: str) -> Doctor | None:
    with demo.db.read() as session:
        person = session.query(Person).filter_by(name=name, role=Role.DOCTOR).one_or_none()
        return None if person is None else session.get(Doctor, person.id)


def test_add_with_a_registration_number_and_qualification(demo: Services, teleopd) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    status, out, err = teleopd("doctor", "add", "--name", "Anita Sharma", "--opd", "GEN24",
                               "--registration", "  DMC/R/12345 ", "--qualification", "MBBS,  MD (Medicine)")
    assert status == 0, err
    assert "warning" not in err
    doctor = _doctor(demo, "Anita Sharma")
    assert doctor is not None
    assert (doctor.registration_number, doctor.qualification) == ("DMC/R/12345", "MBBS, MD (Medicine)")
    assert len(out[-1]) >= 6 and " " not in out[-1]  # the enrolment code, alone on the last line


def test_add_without_a_registration_number_warns_how_to_set_it(demo: Services, teleopd) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    status, out, err = teleopd("doctor", "add", "--name", "Ravi Kumar", "--opd", "GEN24")
    assert status == 0, err
    doctor = _doctor(demo, "Ravi Kumar")
    assert doctor is not None and doctor.registration_number is None
    assert "no registration number on file" in err
    assert f"teleopd doctor edit --id {doctor.person_id} --registration NUMBER" in err


@pytest.mark.parametrize("option, value, says", [
    ("--registration", "<b>12345</b>", "a registration number is 1-40 letters, digits"),
    ("--registration", "DMC/R/ABCDE", "at least one digit"),
    ("--registration", "1" * 41, "1-40"),
    ("--qualification", "M" * 121, "a qualification is 1-120 printable characters"),
])
def test_add_refuses_what_cannot_be_printed_and_adds_nobody(demo: Services, teleopd, option: str, value: str, says: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    status, _, err = teleopd("doctor", "add", "--name", "Meera Rao", "--opd", "GEN24", option, value)
    assert status == 2
    assert says in err and err.startswith("teleopd: "), err
    assert _doctor(demo, "Meera Rao") is None


def test_edit_sets_and_clears_the_details(demo: Services, teleopd) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    teleopd("doctor", "add", "--name", "Anita Sharma", "--opd", "GEN24")
    doctor = _doctor(demo, "Anita Sharma")
    assert doctor is not None
    doctor_id = str(doctor.person_id)

    status, out, err = teleopd("doctor", "edit", "--id", doctor_id, "--registration", "UPMC-45678", "--qualification", "MBBS")
    assert status == 0, err
    assert out == [f"doctor Anita Sharma (id {doctor_id}): registration number UPMC-45678; qualification MBBS"]
    assert "warning" not in err
    doctor = _doctor(demo, "Anita Sharma")
    assert doctor is not None and (doctor.registration_number, doctor.qualification) == ("UPMC-45678", "MBBS")

    # Only what is given changes; '' clears, with the warning.
    status, out, err = teleopd("doctor", "edit", "--id", doctor_id, "--registration", "")
    assert status == 0, err
    doctor = _doctor(demo, "Anita Sharma")
    assert doctor is not None and (doctor.registration_number, doctor.qualification) == (None, "MBBS")
    assert "registration number not on file" in out[0] and "no registration number on file" in err


def test_edit_refusals(demo: Services, teleopd) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    teleopd("worker-user", "add", "--name", "Asha Worker", "--clinic", "PHC Sarnath")
    teleopd("doctor", "add", "--name", "Anita Sharma", "--opd", "GEN24", "--registration", "12345")
    doctor = _doctor(demo, "Anita Sharma")
    assert doctor is not None
    with demo.db.read() as session:
        worker_id = session.query(Person).filter_by(role=Role.HEALTH_WORKER).one().id
    for args, says in (
        (("--id", "999999", "--registration", "12345"), "there is no doctor with id 999999"),
        (("--id", str(worker_id), "--registration", "12345"), f"there is no doctor with id {worker_id}"),
        (("--id", "seven", "--registration", "12345"), "--id takes a whole number"),
        (("--id", str(doctor.person_id)), "say what to change"),
        (("--id", str(doctor.person_id), "--registration", "N/A"), "at least one digit"),
    ):
        status, _, err = teleopd("doctor", "edit", *args)
        assert status == 2 and says in err, (args, err)
    doctor = _doctor(demo, "Anita Sharma")
    assert doctor is not None and doctor.registration_number == "12345"

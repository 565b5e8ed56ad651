"""The OPD catalogue: adding and listing OPDs, and the demo set."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.services.booking import IST
from bot.store.models import (
    LIVE_TOKEN_STATUSES,
    Opd,
    OpdDay,
    Token,
    TokenStatus,
    utcnow,
)
from flows.ports import Specialty

DAY_NAMES = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}


class CatalogueError(ValueError):
    """An OPD definition that cannot be used, said in one line."""


def parse_hours(text: str) -> tuple[dt.time, dt.time]:
    """Parse "09:00-17:00" (IST) or "24h" (round the clock)."""
    if text.strip().lower() in ("24h", "24x7", "24/7", "00:00-24:00"):
        return dt.time(0), dt.time(0)
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text)
    if not match:
        raise CatalogueError(f"--hours takes HH:MM-HH:MM in India's time, or 24h; got {text!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if not (h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60):
        raise CatalogueError(f"--hours has an impossible time: {text!r}")
    opens, closes = dt.time(h1, m1), dt.time(h2, m2)
    if closes <= opens:
        raise CatalogueError(f"--hours must close after it opens on the same day (use 24h for round the clock): {text!r}")
    return opens, closes


def parse_days(text: str) -> str:
    """Parse "mon-sat", "mon,wed,fri", "all" or ISO digits "123456" into ISO weekday digits."""
    value = text.strip().lower()
    if value in ("all", "daily", "mon-sun"):
        return "1234567"
    if re.fullmatch(r"[1-7]{1,7}", value):
        return "".join(sorted(set(value)))
    days: set[int] = set()
    for part in value.split(","):
        if "-" in part:
            first, _, last = part.partition("-")
            if first not in DAY_NAMES or last not in DAY_NAMES or DAY_NAMES[first] > DAY_NAMES[last]:
                raise CatalogueError(f"--days takes ranges like mon-sat; got {text!r}")
            days.update(range(DAY_NAMES[first], DAY_NAMES[last] + 1))
        elif part in DAY_NAMES:
            days.add(DAY_NAMES[part])
        else:
            raise CatalogueError(f"--days takes mon-sat, mon,wed,fri, all or ISO digits like 123456; got {text!r}")
    return "".join(str(d) for d in sorted(days))


@dataclass(frozen=True)
class OpdSpec:
    """An OPD as an operator describes it."""

    code: str
    name_en: str
    name_hi: str
    specialty: str
    hours: str
    days: str
    capacity: int
    languages: str = "hi,en"
    consult_minutes: int = 10


def check_spec(spec: OpdSpec) -> None:
    """Raise CatalogueError, in one line, for an OPD definition that cannot be used."""
    code = spec.code.strip().upper()
    if not re.fullmatch(r"[A-Z0-9_-]{2,20}", code):
        raise CatalogueError(f"--code takes 2-20 letters, digits, _ or -; got {spec.code!r}")
    if spec.specialty not in {s.value for s in Specialty}:
        raise CatalogueError(f"--specialty must be one of {', '.join(s.value for s in Specialty)}; got {spec.specialty!r}")
    if not 1 <= spec.capacity <= 100_000:
        raise CatalogueError(f"--capacity takes a number of tokens a day from 1 to 100000; got {spec.capacity}")
    if not 1 <= spec.consult_minutes <= 240:
        raise CatalogueError(f"--minutes takes 1-240; got {spec.consult_minutes}")
    if not spec.name_en.strip() or not spec.name_hi.strip():
        raise CatalogueError("an OPD needs a name in English (--name) and in Hindi (--name-hi)")
    parse_hours(spec.hours)
    parse_days(spec.days)


def upsert_opd(session: Session, spec: OpdSpec, now: dt.datetime | None = None) -> Opd:
    """Add an OPD, or update the one with the same code (a new capacity applies from today)."""
    check_spec(spec)
    code = spec.code.strip().upper()
    opens, closes = parse_hours(spec.hours)
    opd = session.scalars(select(Opd).where(Opd.code == code)).first() or Opd(code=code)
    opd.name_en, opd.name_hi, opd.specialty = spec.name_en.strip(), spec.name_hi.strip(), spec.specialty
    opd.opens_at, opd.closes_at, opd.working_days = opens, closes, parse_days(spec.days)
    opd.daily_capacity, opd.languages, opd.consult_minutes, opd.active = spec.capacity, spec.languages, spec.consult_minutes, True
    session.add(opd)
    session.flush()
    today = (now or utcnow()).astimezone(IST).date()
    session.execute(update(OpdDay).where(OpdDay.opd_id == opd.id, OpdDay.day >= today).values(capacity=opd.daily_capacity))
    return opd


def find_opd(session: Session, name_or_code: str) -> Opd | None:
    """Return the OPD with this code or name (English or Hindi), if there is one."""
    wanted = name_or_code.strip()
    return session.scalars(
        select(Opd).where((func.upper(Opd.code) == wanted.upper()) | (func.lower(Opd.name_en) == wanted.lower()) | (Opd.name_hi == wanted))
    ).first()


def active_opd_count(session: Session) -> int:
    """Return how many OPDs patients can book in."""
    return session.scalar(select(func.count()).select_from(Opd).where(Opd.active.is_(True))) or 0


def hours_text(opd: Opd) -> str:
    """Return the opening hours as the list shows them."""
    return "24h" if opd.opens_at == opd.closes_at else f"{opd.opens_at:%H:%M}-{opd.closes_at:%H:%M}"


def days_text(opd: Opd) -> str:
    """Return the working days as names."""
    names = {v: k.capitalize() for k, v in DAY_NAMES.items()}
    return ",".join(names[int(d)] for d in opd.working_days) if opd.working_days != "1234567" else "every day"


def catalogue_rows(session: Session, now: dt.datetime) -> list[dict[str, object]]:
    """Return one row per OPD with today's tokens issued and waiting."""
    today = now.astimezone(IST).date()
    rows = []
    for opd in session.scalars(select(Opd).order_by(Opd.id)):
        issued = session.scalar(select(OpdDay.issued).where(OpdDay.opd_id == opd.id, OpdDay.day == today)) or 0
        waiting = session.scalar(
            select(func.count()).select_from(Token).where(Token.opd_id == opd.id, Token.day == today, Token.status == TokenStatus.WAITING)
        )
        live = session.scalar(
            select(func.count()).select_from(Token).where(Token.opd_id == opd.id, Token.day == today, Token.status.in_(LIVE_TOKEN_STATUSES))
        )
        rows.append(
            {
                "code": opd.code, "name": opd.name_en, "name_hi": opd.name_hi, "specialty": opd.specialty,
                "hours_ist": hours_text(opd), "days": days_text(opd), "capacity": opd.daily_capacity,
                "issued_today": issued, "waiting": waiting, "live": live, "active": opd.active,
            }
        )
    return rows


# A realistic catalogue for trying the service: the specialties eSanjeevani OPD runs, with
# a round-the-clock General OPD (some states run 24-hour OPDs) so a demo works at any hour.
DEMO_OPDS = (
    OpdSpec("GEN24", "General Medicine (24 hours)", "सामान्य चिकित्सा (24 घंटे)", "general_medicine", "24h", "all", 1000),
    OpdSpec("GEN", "General Medicine", "सामान्य चिकित्सा", "general_medicine", "09:00-17:00", "mon-sat", 300),
    OpdSpec("PAED", "Paediatrics", "बाल रोग", "paediatrics", "09:00-16:00", "mon-sat", 150),
    OpdSpec("OBG", "Obstetrics & Gynaecology", "स्त्री एवं प्रसूति रोग", "obgyn", "09:00-16:00", "mon-sat", 120),
    OpdSpec("DERM", "Dermatology", "त्वचा रोग", "dermatology", "10:00-16:00", "mon-fri", 100),
    OpdSpec("ENT", "ENT (Ear, Nose, Throat)", "नाक, कान, गला (ईएनटी)", "ent", "10:00-16:00", "mon-sat", 80),
    OpdSpec("EYE", "Ophthalmology (Eyes)", "नेत्र रोग", "ophthalmology", "10:00-15:00", "mon-fri", 80),
    OpdSpec("ORTHO", "Orthopaedics (Bones and Joints)", "हड्डी रोग", "orthopaedics", "09:00-15:00", "mon-sat", 100),
    OpdSpec("PSY", "Psychiatry (Mental Health)", "मनोरोग (मानसिक स्वास्थ्य)", "psychiatry", "10:00-17:00", "mon-sat", 60, consult_minutes=20),
    OpdSpec("DENT", "Dentistry", "दंत रोग", "dentistry", "09:00-14:00", "mon-sat", 60),
    OpdSpec("AYUSH", "AYUSH", "आयुष", "ayush", "09:00-17:00", "mon-sat", 100),
)


def load_demo(session: Session) -> list[Opd]:
    """Load the demo catalogue (again: it updates what it added before)."""
    return [upsert_opd(session, spec) for spec in DEMO_OPDS]

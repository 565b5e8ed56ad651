"""E-prescriptions: a finished consultation's facts, its PDF, and the signed link that serves it.

The doctor's DONE queues a message with the prescription attached (flows/steps/visit.py
prescription); the outbox worker makes the document when it sends it (bot/outbox/documents.py):
Telegram gets the PDF's bytes, WhatsApp a MediaUrl and SMS a short link, both the same
signed, expiring URL served by teleopd (webhooks/prescriptions.py). No copy of the PDF is
stored (a process keeps its last few in memory): it is drawn from the consultation, so
erasing the patient (bot/services/erasure.py) leaves nothing behind, and a follow-up booked
later shows on the next download.

The link is `<TELEOPD_PUBLIC_URL>/rx/<consultation>.<language>.<timestamp>.<signature>`:
itsdangerous's TimestampSigner (HMAC-SHA1, the key TELEOPD_SECRET_KEY or the one kept in the
database) over the consultation and language. Anyone holding it can read the prescription
for LINK_MAX_AGE, as with the advice in the chat itself; short enough that an SMS carries it
in two segments (tests/test_sms_walk.py).
"""

from __future__ import annotations

import datetime as dt
import threading
from functools import lru_cache

from itsdangerous import BadSignature, TimestampSigner
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.platform.clock import IST
from bot.platform.i18n import Catalogs
from bot.services.desk import symptom_names
from bot.services.operators import shared_secret_key
from bot.services.prescription_pdf import PrescriptionFacts, filename, render_pdf
from bot.store.db import Database
from bot.store.models import (
    LIVE_TOKEN_STATUSES,
    Consultation,
    ConsultationOutcome,
    Doctor,
    Patient,
    Person,
    Token,
)
from flows.engine import LANGUAGES
from flows.messages import ByLanguage

# How long a prescription link works. Twilio fetches a WhatsApp MediaUrl within seconds;
# the SMS link is for the patient to open, save or show at a pharmacy that week.
LINK_MAX_AGE = dt.timedelta(days=7)
LINK_PATH = "/rx/"
# Separates the salt's purpose from every other use of the same key (operators' cookies).
LINK_SALT = "teleopd.prescription.link"
PRESCRIPTION = "prescription"  # the attachment kind flows/steps/visit.py names
# PDFs kept per process (about 30 kB each; see Prescriptions.__init__).
PDF_CACHE = 32


class LinkError(Exception):
    """A prescription link that is not ours, was altered, or has expired (`expired` says which)."""

    def __init__(self, expired: bool, lang: str | None = None):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired
        self.lang = lang


def prescription_facts(session: Session, consultation_id: int) -> PrescriptionFacts | None:
    """Return what a finished consultation's prescription says, or None when there is none (not done, erased)."""
    consultation = session.get(Consultation, consultation_id)
    if consultation is None or consultation.outcome != ConsultationOutcome.DONE:
        return None
    token = consultation.token
    person = session.get(Person, consultation.patient_id)
    patient = session.get(Patient, consultation.patient_id)
    if patient is None and not (person and person.name):
        return None  # erased (bot/services/erasure.py): the name and the patient's details are gone, the advice too
    doctor = session.get(Doctor, consultation.doctor_id)
    doctor_person = session.get(Person, consultation.doctor_id)
    intake = consultation.intake or {}
    ended = consultation.ended_at or consultation.called_at
    return PrescriptionFacts(
        consultation_id=consultation.id,
        date=ended.astimezone(IST).date(),
        patient_name=person.name if person and person.name else "",
        age=patient.age if patient else None,
        sex=patient.sex if patient else "",
        doctor_name=doctor_person.name if doctor_person else "",
        registration_number=doctor.registration_number if doctor else None,
        qualification=doctor.qualification if doctor else None,
        opd=ByLanguage(en=token.opd.name_en, hi=token.opd.name_hi),
        token_number=token.number,
        complaints=tuple(symptom_names(intake.get("symptoms") or ())),
        own_words=str(intake.get("text") or ""),
        duration=str(intake.get("duration_text") or ""),
        advice=consultation.advice or "",
        follow_up=_follow_up_day(session, consultation, token),
    )


def _follow_up_day(session: Session, consultation: Consultation, token: Token) -> dt.date | None:
    """Return the day of a follow-up booked from this consultation (bot/services/visits.py follow_up), if one is live."""
    days = session.scalars(
        select(Token).where(Token.person_id == consultation.patient_id, Token.day > token.day, Token.status.in_(LIVE_TOKEN_STATUSES))
    ).all()
    booked = [t.day for t in days if (t.intake or {}).get("follow_up_of") == consultation.id]
    return min(booked) if booked else None


class Prescriptions:
    """Makes a consultation's prescription and its link; shared by the worker and the web app."""

    def __init__(self, db: Database, catalogs: Catalogs, public_url: str | None, secret_key: str | None):
        self.db = db
        self.catalogs = catalogs
        self.public_url = (public_url or "").rstrip("/")
        self._key = secret_key
        self._lock = threading.Lock()
        # The last few PDFs made, by their very facts: a link opened again (a patient's
        # reload, Twilio's fetch after the worker's send) costs no second drawing, and
        # anything that changes (a registration number, an erasure) is a new key or none.
        self._render = lru_cache(maxsize=PDF_CACHE)(lambda facts, lang: render_pdf(facts, catalogs, lang))

    def _signer(self) -> TimestampSigner:
        with self._lock:
            if self._key is None:
                # TELEOPD_SECRET_KEY unset: the key every web process already shares (operators' cookies).
                self._key = shared_secret_key(self.db)
        return TimestampSigner(self._key, salt=LINK_SALT)

    def facts(self, consultation_id: int) -> PrescriptionFacts | None:
        """Return a consultation's prescription facts, or None."""
        with self.db.read() as session:
            return prescription_facts(session, consultation_id)

    def pdf(self, facts: PrescriptionFacts, lang: str) -> bytes:
        """Return the prescription's PDF in a language."""
        return self._render(facts, lang)  # type: ignore[no-any-return]

    def filename(self, facts: PrescriptionFacts) -> str:
        """Return the PDF's file name."""
        return filename(facts)

    def link(self, consultation_id: int, lang: str) -> str:
        """Return the signed URL of a consultation's prescription in a language (absolute when TELEOPD_PUBLIC_URL is set)."""
        token = self._signer().sign(f"{consultation_id}.{lang}").decode("ascii")
        return f"{self.public_url}{LINK_PATH}{token}"

    def read_link(self, token: str, now: dt.datetime | None = None) -> tuple[int, str]:
        """Return the consultation and language a link names; raise LinkError if it is altered or expired."""
        signer = self._signer()
        try:
            value, signed_at = signer.unsign(token, return_timestamp=True)
        except BadSignature:
            raise LinkError(expired=False) from None
        consultation, _, lang = value.decode("ascii", "replace").partition(".")
        if not consultation.isdigit() or lang not in LANGUAGES:
            raise LinkError(expired=False)
        if (now or dt.datetime.now(dt.UTC)) - signed_at > LINK_MAX_AGE:
            raise LinkError(expired=True, lang=lang)
        return int(consultation), lang

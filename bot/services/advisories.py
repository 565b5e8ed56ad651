"""A registered patient's consent to health advisories: the database side of flows' Advisories port.

The consent lives on the patient (asked, opted in, opted out), so every identity of one person
(Telegram, WhatsApp, SMS) answers for all of them; the broadcast sender reads it when it
chooses recipients and again when it queues each one (bot/services/broadcast_sender.py).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from bot.store.models import Identity, Patient, utcnow
from flows.ports import AdvisoryConsent


class AdvisoryRecords:
    """Reads and records the advisories consent of the patient behind one identity, in the caller's transaction."""

    def __init__(self, session: Session, identity: Identity, per_month: int, now: dt.datetime | None = None):
        self.session = session
        self.identity = identity
        self.per_month = per_month
        self.now = now

    def _patient(self) -> Patient | None:
        person = self.identity.person
        return person.patient if person is not None else None

    def consent(self) -> AdvisoryConsent | None:
        """Return the patient's answer so far, or None when this identity has no registered patient."""
        patient = self._patient()
        if patient is None:
            return None
        return AdvisoryConsent(asked=patient.advisories_asked_at is not None, opted_in=patient.advisories_opted_in_at is not None)

    def mark_asked(self) -> None:
        """Record that the question was asked (kept as first asked)."""
        patient = self._patient()
        if patient is not None and patient.advisories_asked_at is None:
            patient.advisories_asked_at = self.now or utcnow()

    def opt_in(self) -> None:
        """Record a yes (the time of the latest one)."""
        patient = self._patient()
        if patient is not None:
            patient.advisories_opted_in_at = self.now or utcnow()
            patient.advisories_opted_out_at = None

    def opt_out(self) -> None:
        """Record a no or a revocation: the yes is cleared, so no advisory goes out after it."""
        patient = self._patient()
        if patient is not None:
            patient.advisories_opted_in_at = None
            patient.advisories_opted_out_at = self.now or utcnow()

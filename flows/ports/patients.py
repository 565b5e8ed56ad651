"""The patients' port: a patient's profile, and the labels choices are matched against."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from flows.messages import ByLanguage, Text
from flows.ports.clinic import Cancelled


@dataclass(frozen=True)
class Profile:
    """A registered patient's details, as collected by onboarding."""

    name: str
    age: int
    sex: str
    state_code: str
    district: str
    phone: str | None
    consent_at: dt.datetime


class Patients(Protocol):
    """Where registered patients' details are kept (bot/ implements it)."""

    def profile(self) -> Profile | None:
        """Return this identity's registered profile, if any."""

    def save_profile(self, profile: Profile) -> None:
        """Create or update this identity's patient record."""

    def erase(self) -> tuple[Cancelled, ...]:
        """Erase this person's personal data; keep only the anonymised consultation log.

        Returns the live tokens' cancellations: the doctors and patients the flow tells.
        """


@dataclass(frozen=True)
class AdvisoryConsent:
    """A registered patient's answer about health advisories (broadcasts), a consent of its own."""

    asked: bool
    opted_in: bool


class Advisories(Protocol):
    """Where a registered patient's consent to health advisories is kept (bot/services/advisories.py)."""

    # At most this many advisories a month (TELEOPD_ADVISORIES_PER_MONTH): what the question promises.
    per_month: int

    def consent(self) -> AdvisoryConsent | None:
        """Return this identity's patient's answer so far, or None when no patient is registered."""

    def mark_asked(self) -> None:
        """Record that the question was asked (it is asked once)."""

    def opt_in(self) -> None:
        """Record a yes: advisories are sent."""

    def opt_out(self) -> None:
        """Record a no, or a revocation: no more advisories."""


class Labels(Protocol):
    """Renders a label in every language, so a typed answer can match a choice in either."""

    def variants(self, label: Text | ByLanguage | dt.date) -> Iterable[str]:
        """Return the label's text in every supported language."""

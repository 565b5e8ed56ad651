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


class Labels(Protocol):
    """Renders a label in every language, so a typed answer can match a choice in either."""

    def variants(self, label: Text | ByLanguage | dt.date) -> Iterable[str]:
        """Return the label's text in every supported language."""

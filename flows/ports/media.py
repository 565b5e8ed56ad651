"""Media: the photos, documents and voice notes a patient sends, kept for their doctor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# Where kept media will be seen: in the consultation going on now, with the token waiting in
# the queue, or with the next token the patient books.
NOW = "now"
QUEUE = "queue"
NEXT_TOKEN = "next_token"


@dataclass(frozen=True)
class MediaKept:
    """What became of a message's files: kept (their kinds), refused for being too many, and where they go."""

    kept: tuple[str, ...]
    too_many: int = 0
    where: str = NEXT_TOKEN
    # The most files one visit keeps (TELEOPD_MEDIA_MAX_PER_VISIT), for the patient's answer.
    limit: int = 0


class Media(Protocol):
    """Keeps the files of the message being handled for the patient's doctor."""

    def keep(self) -> MediaKept:
        """Record this message's files with the patient's live token (or for their next one) and return what was kept."""
        ...

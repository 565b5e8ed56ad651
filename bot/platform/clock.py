"""India's time zone, the one the whole service keeps its days in (OPD days, reports, dates in messages)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

# India Standard Time (UTC+5:30, no daylight saving): the only place it is written.
IST = ZoneInfo("Asia/Kolkata")

"""India's time zone, the one the whole service keeps its days in (OPD days, reports, dates in messages)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

# India Standard Time (UTC+5:30): the only place it is written.
IST = ZoneInfo("Asia/Kolkata")
# India keeps no daylight saving, so its offset is one figure: what SQLite's date arithmetic adds.
IST_OFFSET_MINUTES = int(dt.datetime(2000, 1, 1, tzinfo=IST).utcoffset().total_seconds() // 60)  # type: ignore[union-attr]

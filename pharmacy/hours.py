"""Open now, closing time and next opening, from a pharmacy's weekly opening hours.

Pure functions over already-loaded `OpeningHours` rows, so a list of pharmacies costs one
prefetch query and no query per pharmacy. Times are local (settings.TIME_ZONE,
Asia/Shanghai), where the weekly hours are defined.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.utils import timezone

MIDNIGHT = time(0, 0)


@dataclass(frozen=True)
class OpeningStatus:
    open_now: bool
    closes_at: datetime | None  # when open: end of the current opening (None: never closes within a week)
    next_opening: datetime | None  # when closed: the next opening (None: no opening hours at all)


def _intervals(hours: Iterable, day_start: datetime) -> list[tuple[datetime, datetime]]:
    """Every opening interval from `day_start` (local midnight, yesterday) over nine days, as
    aware datetimes in order: enough to reach the same weekday next week."""
    by_weekday: dict[int, list] = {}
    for row in hours:
        by_weekday.setdefault(row.weekday, []).append(row)
    tz = day_start.tzinfo
    result = []
    for offset in range(9):
        day = (day_start + timedelta(days=offset)).date()
        for row in sorted(by_weekday.get(day.weekday(), []), key=lambda r: r.opens):
            start = datetime.combine(day, row.opens, tzinfo=tz)
            end_day = day + timedelta(days=1) if row.closes == MIDNIGHT else day
            end = datetime.combine(end_day, row.closes, tzinfo=tz)
            result.append((start, end))
    return result


def opening_status(hours: Iterable, at: datetime | None = None) -> OpeningStatus:
    """Whether the pharmacy is open at `at` (default now) and, if so, until when; if not,
    when it next opens. Adjoining intervals (a night shift across midnight) count as one
    opening, so a 24-hour pharmacy is open with no closing time."""
    local = timezone.localtime(at or timezone.now())
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    intervals = _intervals(hours, day_start - timedelta(days=1))
    current = next(((start, end) for start, end in intervals if start <= local < end), None)
    if current is None:
        upcoming = next((start for start, _ in intervals if start > local), None)
        return OpeningStatus(open_now=False, closes_at=None, next_opening=upcoming)
    closes_at = current[1]
    for start, end in intervals:
        if start <= closes_at < end:
            closes_at = end
    if closes_at >= intervals[-1][1]:
        return OpeningStatus(open_now=True, closes_at=None, next_opening=None)
    return OpeningStatus(open_now=True, closes_at=closes_at, next_opening=None)

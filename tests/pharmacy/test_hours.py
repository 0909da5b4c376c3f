"""Open now / next opening, in Asia/Shanghai local time, from plain interval rows."""

from datetime import datetime, time
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from pharmacy.hours import opening_status

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in the week of Monday 2026-03-02 (day 0) in Shanghai."""
    return datetime(2026, 3, 2 + day, hour, minute, tzinfo=SHANGHAI)


def rows(*spec):
    return [SimpleNamespace(weekday=d, opens=o, closes=c) for d, o, c in spec]


DAYTIME = rows(*[(d, time(8), time(21)) for d in range(7)])


def test_open_during_hours_with_closing_time():
    status = opening_status(DAYTIME, at(0, 10))
    assert status.open_now and status.closes_at == at(0, 21) and status.next_opening is None


def test_closed_before_opening_names_this_mornings_opening():
    status = opening_status(DAYTIME, at(2, 6, 30))
    assert not status.open_now and status.next_opening == at(2, 8)


def test_closed_at_closing_time_names_tomorrows_opening():
    status = opening_status(DAYTIME, at(2, 21))
    assert not status.open_now and status.next_opening == at(3, 8)


def test_utc_input_is_judged_in_shanghai_time():
    # 01:30 UTC is 09:30 in Shanghai.
    status = opening_status(DAYTIME, datetime(2026, 3, 2, 1, 30, tzinfo=ZoneInfo("UTC")))
    assert status.open_now


def test_lunch_break_is_closed_and_reopens_the_same_day():
    hours = rows((0, time(8), time(12)), (0, time(13, 30), time(18)))
    status = opening_status(hours, at(0, 12, 15))
    assert not status.open_now and status.next_opening == at(0, 13, 30)


def test_night_shift_across_midnight_counts_as_one_opening():
    hours = rows((4, time(20), time(0)), (5, time(0), time(8)))
    status = opening_status(hours, at(4, 23))
    assert status.open_now and status.closes_at == at(5, 8)
    assert opening_status(hours, at(5, 3)).open_now


def test_twenty_four_hour_pharmacy_is_open_without_closing_time():
    hours = rows(*[(d, time(0), time(0)) for d in range(7)])
    status = opening_status(hours, at(6, 3))
    assert status.open_now and status.closes_at is None


def test_closed_on_sunday_opens_on_monday():
    hours = rows(*[(d, time(9), time(17)) for d in range(6)])
    status = opening_status(hours, at(6, 10))
    assert not status.open_now and status.next_opening == at(7, 9)


def test_weekly_opening_after_it_passed_is_next_week():
    hours = rows((0, time(9), time(12)))
    assert opening_status(hours, at(0, 13)).next_opening == at(7, 9)


def test_no_opening_hours_means_closed_with_no_next_opening():
    status = opening_status([], at(0, 10))
    assert not status.open_now and status.next_opening is None

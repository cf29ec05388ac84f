"""SLA arithmetic: business calendars and clocks, as pure functions of times.

Nothing here reads the journal, the system clock or the machine's zone: callers pass every
instant (aware datetimes) and `now` explicitly, so the same journal gives the same clocks on
any machine, and the tests can check results against tables computed by hand.

A clock is a list of *running intervals* (the clock ticks inside them and not outside: a
pending-with-customer period is simply not an interval). Elapsed time is the business time
inside the intervals; the deadline is the instant where that sum reaches the target. A pause
therefore moves the deadline by exactly the business time it lasted, no more, no less.
"""

from __future__ import annotations

import calendar
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_DAY = 86_400
# Searching for a deadline gives up after this many calendar days (a calendar with hardly any
# working time would otherwise loop for ever).
MAX_SEARCH_DAYS = 3_660


@dataclass(frozen=True)
class Calendar:
    """When the clock ticks: working windows per weekday in one time zone, minus holidays.

    `windows[weekday]` holds (start, end) seconds after local midnight (0 = Monday);
    end may be 86400 (midnight at the end of the day). `always` is 24/7: no calendar at all.
    """

    zone: str
    windows: tuple[tuple[tuple[int, int], ...], ...] = ((),) * 7
    holidays: frozenset[date] = frozenset()
    always: bool = False

    @classmethod
    def twenty_four_seven(cls, zone: str = "UTC") -> Calendar:
        return cls(zone=zone, always=True)

    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def day_windows(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The working windows of one local date, as aware UTC instants."""
        if self.always:
            raise ValueError("a 24/7 calendar has no windows")
        return _day_windows(self, day)


@functools.lru_cache(maxsize=4096)
def _day_windows(cal: Calendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    # cached: a long incident asks for the same few days once per running interval
    if day in cal.holidays:
        return ()
    tz = cal.tz()
    return tuple(
        (_local(day, start, tz), _local(day, end, tz)) for start, end in cal.windows[day.weekday()]
    )


def _local(day: date, seconds: int, tz: ZoneInfo) -> datetime:
    if seconds >= _DAY:
        day, seconds = day + timedelta(days=1), seconds - _DAY
    hh, rest = divmod(seconds, 3600)
    mm, ss = divmod(rest, 60)
    return datetime.combine(day, time(hh, mm, ss), tzinfo=tz).astimezone(UTC)


def _check(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every SLA instant needs a zone")
    return moment.astimezone(UTC)


# From here on tzdata has no explicit transitions (zic writes them up to 2037; the latest
# listed by hand, Morocco's, end in 2087): a zone follows its POSIX rule, so a whole local
# year's working time depends only on whether it is a leap year and the weekday of 1
# January, once no holiday lies in or next to it.
_RULE_YEAR = 2100


def business_time(cal: Calendar, start: datetime, end: datetime) -> timedelta:
    """Working time between two instants (zero when end <= start).

    Day by day, except that whole local years are summed a year at a time (and years alike
    by rule are worked out once): a clock read across centuries, e.g. `--now 9998-12-31`,
    costs milliseconds, not a minute. Exact: working time over [a, c) is that over [a, b)
    plus that over [b, c) for any b.
    """
    start, end = _check(start), _check(end)
    if end <= start:
        return timedelta(0)
    if cal.always:
        return end - start
    tz = cal.tz()
    first, last = start.astimezone(tz).year + 1, end.astimezone(tz).year
    if last - first < 2:
        return _business_days(cal, tz, start, end)
    lo = datetime(first, 1, 1, tzinfo=tz).astimezone(UTC)
    hi = datetime(last, 1, 1, tzinfo=tz).astimezone(UTC)
    total = _business_days(cal, tz, start, lo) + _business_days(cal, tz, hi, end)
    latest_holiday = max((h.year for h in cal.holidays), default=0)
    for year in range(first, last):
        if year >= _RULE_YEAR and year > latest_holiday + 1:
            jan1 = date(year, 1, 1)
            total += _rule_year(cal, calendar.isleap(year), jan1.weekday())
        else:
            total += _year(cal, year)
    return total


@functools.lru_cache(maxsize=256)
def _rule_year(cal: Calendar, leap: bool, weekday: int) -> timedelta:
    """Working time of a rule-governed, holiday-free local year of this shape (the first such
    year in the 400-year Gregorian cycle after _RULE_YEAR stands for all of them)."""
    year = max(_RULE_YEAR, max((h.year for h in cal.holidays), default=0) + 2)
    while calendar.isleap(year) != leap or date(year, 1, 1).weekday() != weekday:
        year += 1
    return _year(cal, year)


@functools.lru_cache(maxsize=1024)
def _year(cal: Calendar, year: int) -> timedelta:
    tz = cal.tz()
    lo = datetime(year, 1, 1, tzinfo=tz).astimezone(UTC)
    hi = datetime(year + 1, 1, 1, tzinfo=tz).astimezone(UTC)
    return _business_days(cal, tz, lo, hi)


def _business_days(cal: Calendar, tz: ZoneInfo, start: datetime, end: datetime) -> timedelta:
    """Working time between two instants, one local day at a time."""
    if end <= start:
        return timedelta(0)
    day = start.astimezone(tz).date() - timedelta(days=1)  # a window may start the day before
    last = end.astimezone(tz).date()
    total = timedelta(0)
    while day <= last:
        for ws, we in cal.day_windows(day):
            lo, hi = max(ws, start), min(we, end)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total


def add_business(cal: Calendar, start: datetime, amount: timedelta) -> datetime:
    """The instant at which `amount` of working time has passed after `start`."""
    start = _check(start)
    if amount <= timedelta(0):
        return start
    if cal.always:
        return start + amount
    tz = cal.tz()
    day = start.astimezone(tz).date() - timedelta(days=1)
    remaining = amount
    for _ in range(MAX_SEARCH_DAYS):
        for ws, we in cal.day_windows(day):
            lo = max(ws, start)
            if we <= lo:
                continue
            if remaining <= we - lo:
                return lo + remaining
            remaining -= we - lo
        day += timedelta(days=1)
    raise ValueError(f"the calendar has too little working time to fit {amount}")


Interval = tuple[datetime, datetime | None]  # None: still running


@dataclass(frozen=True)
class ClockReading:
    """One clock at `now`: what a dashboard row and a KPI need."""

    name: str
    target: timedelta
    elapsed: timedelta
    status: str  # running | paused | met | breached | not-started
    deadline: datetime | None  # when elapsed reaches (or reached) the target; None if unknown
    stopped: datetime | None  # when the clock stopped for good (target met or missed)
    warn: bool  # at or past the warning share of the target
    permille: int  # elapsed / target, in thousandths (1000 = 100 %)

    @property
    def breached(self) -> bool:
        return self.elapsed > self.target

    @property
    def left(self) -> timedelta:
        return self.target - self.elapsed


def read_clock(
    name: str,
    cal: Calendar,
    target: timedelta,
    intervals: Sequence[Interval],
    now: datetime,
    *,
    stopped: datetime | None = None,
    warn_permille: int = 750,
) -> ClockReading:
    """Fold running intervals into a reading at `now`.

    `stopped` says the clock has stopped for good at that instant (the target event happened);
    otherwise a clock with no open interval is paused. Intervals must be in order and
    non-overlapping; an open interval is counted up to `now`.
    """
    now = _check(now)
    elapsed = timedelta(0)
    deadline: datetime | None = None
    for begin, end in intervals:
        begin = _check(begin)
        finish = now if end is None else min(_check(end), now)
        part = business_time(cal, begin, finish)
        if deadline is None and (elapsed + part >= target or end is None):
            try:
                deadline = add_business(cal, begin, target - elapsed)
            except ValueError:
                # a valid target (up to ten years) on a sparse calendar lies beyond the
                # search: the deadline is unknown, the reading itself still exact
                deadline = None
        elapsed += part
    running = bool(intervals) and intervals[-1][1] is None
    if elapsed > target:
        status = "breached"
    elif stopped is not None:
        status = "met"
    elif running:
        status = "running"
    elif intervals:
        status = "paused"
    else:
        status = "not-started"
    if stopped is not None and elapsed <= target:
        deadline = None if not running else deadline
    # in whole microseconds: elapsed * 1000 as a timedelta overflows past 2,700 years
    tick = timedelta(microseconds=1)
    permille = 0 if target <= timedelta(0) else (elapsed // tick) * 1000 // (target // tick)
    return ClockReading(
        name=name,
        target=target,
        elapsed=elapsed,
        status=status,
        deadline=deadline,
        stopped=stopped,
        warn=permille >= warn_permille,
        permille=permille,
    )


def seconds(delta: timedelta) -> int:
    """Whole seconds, rounded toward zero (tables and KPIs are kept in seconds)."""
    whole = abs(delta) // timedelta(seconds=1)
    return whole if delta >= timedelta(0) else -whole


def format_duration(delta: timedelta) -> str:
    """`45:00:00`-style hours, signed. Hours, not days: a business "day" is not 24 hours,
    so `1d` would mislead on a working-hours clock."""
    total = seconds(delta)
    sign = "-" if total < 0 else ""
    hh, rest = divmod(abs(total), 3600)
    mm, ss = divmod(rest, 60)
    return f"{sign}{hh:02d}:{mm:02d}:{ss:02d}"

"""SLA arithmetic on fixed clocks, against tables computed by hand (exact to the second).

The office calendar: Europe/Berlin, Mon–Fri 08:00–17:00, holiday Fri 2026-12-25. In December
Berlin is UTC+1, so 08:00 local = 07:00Z. 2026-12-24 is a Thursday, 2026-12-28 a Monday.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from irkit.errors import InputError
from irkit.incident.settings import parse_duration, preset, settings_from_toml
from irkit.incident.sla import Calendar, add_business, business_time, format_duration, read_clock

H = 3600
WEEKDAY_8_17 = (((8 * H, 17 * H),),) * 5 + ((), ())
OFFICE = Calendar("Europe/Berlin", WEEKDAY_8_17, frozenset({date(2026, 12, 25)}))
NEW_YORK = Calendar("America/New_York", WEEKDAY_8_17)
BERLIN_NO_HOLIDAY = Calendar("Europe/Berlin", WEEKDAY_8_17)


def z(text: str) -> datetime:
    """A UTC instant from a short ISO string."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# (calendar, start UTC, end UTC, business seconds) — worked out by hand in the comments
BUSINESS_TIME = [
    # Thu 16:00–17:00 local (1 h) + Fri holiday + weekend + Mon 08:00–09:00 (1 h)
    (OFFICE, "2026-12-24T15:00:00", "2026-12-28T08:00:00", 2 * H),
    # same span without the holiday: + Fri 9 h
    (BERLIN_NO_HOLIDAY, "2026-12-24T15:00:00", "2026-12-28T08:00:00", 11 * H),
    # inside one window, odd seconds: 07:00:01Z..07:59:58Z = 3597 s
    (OFFICE, "2026-12-28T07:00:01", "2026-12-28T07:59:58", 3597),
    # all in the night: nothing
    (OFFICE, "2026-12-28T17:00:00", "2026-12-29T06:59:59", 0),
    # Saturday only: nothing
    (OFFICE, "2026-12-26T00:00:00", "2026-12-27T23:59:59", 0),
    # zones, Mon 2026-03-02 14:00Z–23:00Z. Berlin (UTC+1): window 07–16Z -> 2 h.
    (BERLIN_NO_HOLIDAY, "2026-03-02T14:00:00", "2026-03-02T23:00:00", 2 * H),
    # New York (UTC-5 until 8 March): window 13–22Z -> 8 h.
    (NEW_YORK, "2026-03-02T14:00:00", "2026-03-02T23:00:00", 8 * H),
    # New York after its DST switch (UTC-4 from 8 March): Mon 9 March window 12–21Z -> 7 h
    (NEW_YORK, "2026-03-09T14:00:00", "2026-03-10T00:00:00", 7 * H),
    # 24/7 across Berlin's spring-forward night: local midnight to midnight is 23 real hours
    (
        Calendar.twenty_four_seven("Europe/Berlin"),
        "2026-03-28T23:00:00",
        "2026-03-29T22:00:00",
        23 * H,
    ),
    # end before start: zero
    (OFFICE, "2026-12-28T10:00:00", "2026-12-28T09:00:00", 0),
]


@pytest.mark.parametrize(("cal", "start", "end", "expected"), BUSINESS_TIME)
def test_business_time_table(cal: Calendar, start: str, end: str, expected: int) -> None:
    assert business_time(cal, z(start), z(end)) == timedelta(seconds=expected)


# (calendar, start UTC, business seconds to add, expected instant UTC)
ADD_BUSINESS = [
    # Thu 16:00 local + 4 h: 1 h on Thu, Fri holiday, weekend, Mon 08:00 + 3 h = 11:00 (10:00Z)
    (OFFICE, "2026-12-24T15:00:00", 4 * H, "2026-12-28T10:00:00"),
    # exactly the rest of Thursday lands at Thu 17:00 local, not Monday morning
    (OFFICE, "2026-12-24T15:00:00", 1 * H, "2026-12-24T16:00:00"),
    # started at night (Sun): Mon 08:00 + 30 min
    (OFFICE, "2026-12-27T20:00:00", 1800, "2026-12-28T07:30:00"),
    # 27 business hours from Mon 08:00: Mon 9 + Tue 9 + Wed 9 = Wed 17:00 local
    (OFFICE, "2026-12-28T07:00:00", 27 * H, "2026-12-30T16:00:00"),
    # New York, Fri 6 March 20:00Z (15:00 local, UTC-5) + 4 h: 2 h Fri, Mon 9 March (UTC-4)
    # 08:00 + 2 h = 10:00 local = 14:00Z
    (NEW_YORK, "2026-03-06T20:00:00", 4 * H, "2026-03-09T14:00:00"),
    # zero: the start itself
    (OFFICE, "2026-12-26T12:00:00", 0, "2026-12-26T12:00:00"),
]


@pytest.mark.parametrize(("cal", "start", "amount", "expected"), ADD_BUSINESS)
def test_add_business_table(cal: Calendar, start: str, amount: int, expected: str) -> None:
    got = add_business(cal, z(start), timedelta(seconds=amount))
    assert got == z(expected)
    # and the two functions agree with each other
    assert business_time(cal, z(start), got) == timedelta(seconds=amount)


def test_pause_over_a_night_moves_the_deadline_by_the_pending_business_time() -> None:
    # Mon 28 Dec: running 16:00–16:30 local, pending (customer) until Tue 10:00, then running.
    # Target 4 h. Without the pause: Mon 16–17 (1 h) + Tue 08:00 + 3 h = Tue 11:00 local.
    # Pause in business time: Mon 16:30–17:00 (30 min) + Tue 08:00–10:00 (2 h) = 2 h 30 min,
    # so the deadline is Tue 13:30 local = 12:30Z. At Tue 11:00 local (10:00Z) the clock has
    # used 30 min + 1 h = 1 h 30 min.
    intervals = [
        (z("2026-12-28T15:00:00"), z("2026-12-28T15:30:00")),
        (z("2026-12-29T09:00:00"), None),
    ]
    r = read_clock("resolve", OFFICE, timedelta(hours=4), intervals, z("2026-12-29T10:00:00"))
    assert r.status == "running"
    assert r.elapsed == timedelta(hours=1, minutes=30)
    assert r.deadline == z("2026-12-29T12:30:00")
    assert r.permille == 375 and not r.warn
    unpaused = read_clock(
        "resolve",
        OFFICE,
        timedelta(hours=4),
        [(z("2026-12-28T15:00:00"), None)],
        z("2026-12-28T15:00:00"),
    )
    assert unpaused.deadline == z("2026-12-29T10:00:00")
    paused_business = business_time(OFFICE, z("2026-12-28T15:30:00"), z("2026-12-29T09:00:00"))
    assert paused_business == timedelta(hours=2, minutes=30)
    assert r.deadline == add_business(OFFICE, unpaused.deadline, paused_business)


def test_two_pauses_on_a_24x7_clock_shift_the_deadline_by_exactly_their_length() -> None:
    # Target 10 h from 00:00. Running 00:00–02:00, paused 02:00–03:15 (1 h 15 min), running
    # 03:15–05:00, paused 05:00:00–05:00:30 (30 s), running from 05:00:30. At 06:00:
    # elapsed 2 h + 1 h 45 min + 59 min 30 s = 17070 s; deadline 10:00 + 1:15:30 = 11:15:30.
    cal = Calendar.twenty_four_seven("UTC")
    intervals = [
        (z("2026-05-01T00:00:00"), z("2026-05-01T02:00:00")),
        (z("2026-05-01T03:15:00"), z("2026-05-01T05:00:00")),
        (z("2026-05-01T05:00:30"), None),
    ]
    r = read_clock("resolve", cal, timedelta(hours=10), intervals, z("2026-05-01T06:00:00"))
    assert r.elapsed == timedelta(seconds=17070)
    assert r.deadline == z("2026-05-01T11:15:30")
    assert r.left == timedelta(seconds=36000 - 17070)


def test_warning_and_breach_thresholds() -> None:
    cal = Calendar.twenty_four_seven()
    start = z("2026-05-01T00:00:00")
    target = timedelta(hours=4)

    def at(minutes: int) -> str:
        r = read_clock("x", cal, target, [(start, None)], start + timedelta(minutes=minutes))
        return f"{r.status}{'+warn' if r.warn else ''}"

    assert at(179) == "running"  # 74.6 %
    assert at(180) == "running+warn"  # 75 %
    assert at(240) == "running+warn"  # exactly 100 %: not yet breached
    assert at(241) == "breached+warn"


def test_breached_stopped_clock_keeps_its_deadline() -> None:
    cal = Calendar.twenty_four_seven()
    start = z("2026-05-01T00:00:00")
    stop = start + timedelta(hours=5)
    r = read_clock(
        "x", cal, timedelta(hours=4), [(start, stop)], stop + timedelta(days=1), stopped=stop
    )
    assert r.status == "breached"
    assert r.deadline == start + timedelta(hours=4)
    assert r.left == -timedelta(hours=1)
    met = read_clock("x", cal, timedelta(hours=6), [(start, stop)], stop, stopped=stop)
    assert met.status == "met" and met.deadline is None


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        business_time(OFFICE, datetime(2026, 1, 1), z("2026-01-02T00:00:00"))


def test_format_duration() -> None:
    assert format_duration(timedelta(seconds=3661)) == "01:01:01"
    assert format_duration(timedelta(days=1, seconds=5)) == "24:00:05"
    assert format_duration(-timedelta(seconds=90)) == "-00:01:30"


def test_settings_presets_and_toml() -> None:
    itil3 = preset("itil3")
    assert [[itil3.priority(i, u) for u in (1, 2, 3)] for i in (1, 2, 3)] == [
        [1, 2, 3],
        [2, 3, 4],
        [3, 4, 5],
    ]
    itil5 = preset("itil5")
    assert itil5.priority(1, 1) == 1 and itil5.priority(5, 5) == 5 and itil5.priority(2, 3) == 2
    custom = settings_from_toml(
        'preset = "itil3"\nzone = "Europe/Berlin"\n[priorities.2]\nresolve = "6h"\n'
        '[calendars.business]\nholidays = ["2026-12-25"]\n'
    )
    assert custom.priorities["2"].resolve == 6 * H
    cal = custom.calendar("business")
    assert cal.zone == "Europe/Berlin" and date(2026, 12, 25) in cal.holidays
    assert parse_duration("1d 2h 3m 4s") == 93784
    with pytest.raises(InputError):
        parse_duration("soon")
    with pytest.raises(InputError, match="time zone"):
        settings_from_toml('zone = "Mars/Olympus"\n')
    with pytest.raises(InputError, match="calendar"):
        settings_from_toml('[priorities.1]\ncalendar = "nowhere"\n')


BASE = datetime(2026, 12, 20, tzinfo=UTC)
instants = st.integers(0, 20 * 86_400).map(lambda s: BASE + timedelta(seconds=s))
amounts = st.integers(0, 60 * H).map(lambda s: timedelta(seconds=s))


@settings(max_examples=60, deadline=None)
@given(start=instants, amount=amounts)
def test_add_business_inverts_business_time(start: datetime, amount: timedelta) -> None:
    for cal in (OFFICE, NEW_YORK):
        end = add_business(cal, start, amount)
        assert business_time(cal, start, end) == amount
        if amount:  # and not a second later than needed
            assert business_time(cal, start, end - timedelta(seconds=1)) < amount


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.tuples(st.integers(1, 5 * H), st.integers(0, 5 * H)), min_size=1, max_size=5),
    target=st.integers(1, 40 * H),
)
def test_pauses_move_a_24x7_deadline_by_exactly_their_length(
    gaps: list[tuple[int, int]], target: int
) -> None:
    # running stretches of `run` seconds separated by pauses of `pause` seconds
    cal = Calendar.twenty_four_seven("Europe/Berlin")
    t = BASE
    intervals: list[tuple[datetime, datetime | None]] = []
    paused = 0
    for run, pause in gaps:
        intervals.append((t, t + timedelta(seconds=run)))
        t += timedelta(seconds=run + pause)
        paused += pause
    intervals.append((t, None))
    r = read_clock("x", cal, timedelta(seconds=target), intervals, t)
    ran = sum(run for run, _ in gaps)
    if ran < target:
        assert r.deadline == BASE + timedelta(seconds=target + paused)
    assert r.elapsed == timedelta(seconds=ran)

"""Times: every time irkit writes carries its zone; entry times are UTC with microseconds."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from irkit.errors import InputError

Clock = Callable[[], datetime]

_UTC_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z\Z")

# The times irkit accepts and writes (docs/FORMAT.md section 5, "Time range"): 1970-01-01 up
# to the end of 9998 in UTC. The margin of a year below datetime's limit keeps every offset
# conversion and SLA calendar step (a day either side) inside what datetime can represent.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)  # exclusive
RANGE_TEXT = "1970-01-01 to 9998-12-31 UTC"


def in_range(moment: datetime) -> bool:
    """Whether an aware `moment` lies in the accepted range (comparison never overflows)."""
    return EARLIEST <= moment < LATEST


def check_range(moment: datetime, text: str | None = None) -> datetime:
    """`moment`, or InputError when it lies outside the accepted range."""
    if moment.tzinfo is None or not in_range(moment):
        shown = text if text is not None else moment.isoformat()
        raise InputError(
            f"invalid time {shown!r}: out of range: irkit takes times from {RANGE_TEXT}"
        )
    return moment


def zoned_instant(text: str) -> datetime | None:
    """A stored zoned time as an aware UTC datetime, or None when it cannot be one: not ISO
    8601, no zone, or outside the accepted range (what an older version may have written,
    e.g. 0001-01-01T00:00+14:00). Readers show such a time as recorded, with a marker."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        return None
    if moment.tzinfo is None or not in_range(moment):
        return None
    return moment.astimezone(UTC)


def system_clock() -> datetime:
    return datetime.now(UTC)


def format_utc(moment: datetime) -> str:
    """`2026-11-22T22:31:07.123456Z`: fixed width, sorts as text, no zone ambiguity."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def is_utc_stamp(text: str) -> bool:
    return bool(_UTC_RE.match(text))


def parse_utc(text: str) -> datetime:
    if not is_utc_stamp(text):
        raise ValueError(f"not a UTC timestamp: {text!r}")
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def parse_user_time(text: str, *, now: datetime | None = None) -> datetime:
    """Read a time typed by a responder in a hurry.

    Accepts ISO 8601 with or without zone (without: the machine's local zone, made explicit),
    `HH:MM` / `HH:MM:SS` (today, local), and `-15m` / `+3d` (relative to now: s, m, h, d,
    w). A local time the clocks skip (the spring-forward gap) is refused, and one they show
    twice (the fall-back hour) is refused unless an offset says which: irkit never guesses
    an hour. The result lies in the accepted range (1970 to 9998, UTC), else InputError.
    """
    try:
        return check_range(_parse_user_time(text, now), text)
    except OverflowError as exc:  # -99999999999d, or an offset pushing past year 1 / 9999
        raise InputError(
            f"invalid time {text!r}: out of range: irkit takes times from {RANGE_TEXT}"
        ) from exc


def _parse_user_time(text: str, now: datetime | None) -> datetime:
    raw = text.strip()
    current = now or datetime.now(UTC)
    rel = re.fullmatch(r"([-+])(\d{1,15})([smhdw])", raw)
    if rel:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
        step = timedelta(**{unit[rel.group(3)]: int(rel.group(2))})
        return current - step if rel.group(1) == "-" else current + step
    clock_only = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", raw)
    if clock_only:
        local_now = current.astimezone()
        hour, minute = int(clock_only.group(1)), int(clock_only.group(2))
        second = int(clock_only.group(3) or 0)
        try:
            naive = local_now.replace(
                hour=hour, minute=minute, second=second, microsecond=0, tzinfo=None
            )
        except ValueError as exc:
            raise InputError(f"invalid time {text!r}: {exc}") from exc
        return _local(naive, text)
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00") if raw.endswith("Z") else raw)
    except ValueError as exc:
        raise InputError(
            f"invalid time {text!r}: use ISO 8601 (2026-11-22T14:05+01:00), HH:MM, -15m or +3d"
        ) from exc
    if parsed.tzinfo is None:
        return _local(parsed, text)
    return parsed


def _local(naive: datetime, text: str) -> datetime:
    """`naive` read as a wall-clock time in the machine's zone, made explicit; refused when
    the clocks skip it or show it twice (PEP 495's fold tells the two readings apart)."""
    try:
        first = naive.replace(fold=0).astimezone()
        second = naive.replace(fold=1).astimezone()
    except ValueError as exc:  # 0001-01-01 east of UTC: year 0
        raise OverflowError(str(exc)) from exc
    if first.utcoffset() == second.utcoffset():
        return first
    shown = naive.isoformat(timespec="minutes" if naive.second == 0 else "seconds")
    if first.replace(tzinfo=None) != naive or second.replace(tzinfo=None) != naive:
        raise InputError(
            f"invalid time {text!r}: {shown} does not exist in the local time zone "
            f"({first.tzname()}/{second.tzname()}): the clocks skip that hour",
            hint="give the time as a clock showed it (before or after the jump), or with an "
            f"explicit offset such as {_with_offset(naive, first)}",
        )
    early, late = sorted((first, second), key=lambda m: m.astimezone(UTC))
    raise InputError(
        f"invalid time {text!r}: {shown} happens twice in the local time zone (the clocks "
        f"go back): give {_with_offset(naive, early)} for the first ({early.tzname()}) or "
        f"{_with_offset(naive, late)} for the second ({late.tzname()})"
    )


def _with_offset(naive: datetime, zoned: datetime) -> str:
    spec = "minutes" if naive.second == 0 else "seconds"
    return naive.replace(tzinfo=zoned.tzinfo).isoformat(timespec=spec)


FUTURE_GRACE = timedelta(minutes=5)  # clocks of two laptops disagree by this much


def check_past(
    moment: datetime,
    text: str,
    *,
    now: datetime | None = None,
    what: str = "event time",
    override: str | None = "--future",
) -> datetime:
    """`moment`, or InputError when it lies ahead of now (more than FUTURE_GRACE): an event
    time records what already happened, so `14:05` typed at 08:06 is a slip, not a plan.
    Callers let `--future` skip this."""
    current = now or datetime.now(UTC)
    if moment <= current + FUTURE_GRACE:
        return moment
    minutes = round((moment - current).total_seconds() / 60)
    hours, rest = divmod(minutes, 60)
    days = round(minutes / 1440)
    span = f"{hours} h {rest} min" if hours < 48 else f"{days} days"
    tail = f", or {override} if it really lies ahead" if override else ""
    hint = f"give the date too (e.g. yesterday's){tail}"
    if re.fullmatch(r"\d{1,2}:\d{2}(?::\d{2})?", text.strip()):
        yesterday = (moment - timedelta(days=1)).astimezone()
        hint = (
            f"{text.strip()} today has not happened yet; yesterday's is "
            f"{yesterday.isoformat(timespec='minutes')}{tail}"
        )
    raise InputError(
        f"{what} {text!r} is {span} in the future ({display_moment(moment)})", hint=hint
    )


def display(text: str) -> str:
    """A recorded time for people, in the one format the CLI shows: UTC to the second,
    `2026-11-22 22:31:07 UTC` (the JSON output keeps the recorded text exactly). Text that
    is not a time is returned as is."""
    moment = zoned_instant(text)
    return text if moment is None else display_moment(moment)


def display_moment(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def format_zoned(moment: datetime) -> str:
    """ISO 8601 with its offset, seconds precision unless finer was given; refuses a time
    outside the accepted range, so none is ever written."""
    check_range(moment)
    spec = "seconds" if moment.microsecond == 0 else "microseconds"
    return moment.isoformat(timespec=spec)

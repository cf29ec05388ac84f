"""Times: every time irkit writes carries its zone; entry times are UTC with microseconds."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from irkit.errors import InputError

Clock = Callable[[], datetime]

_UTC_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")

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
    `HH:MM` / `HH:MM:SS` (today, local), and `-15m` / `-2h` (relative to now). The result
    lies in the accepted range (1970 to 9998, UTC), else InputError.
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
    rel = re.fullmatch(r"-(\d{1,15})([smhd])", raw)
    if rel:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[rel.group(2)]
        return current - timedelta(**{unit: int(rel.group(1))})
    clock_only = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", raw)
    if clock_only:
        local_now = current.astimezone()
        hour, minute = int(clock_only.group(1)), int(clock_only.group(2))
        second = int(clock_only.group(3) or 0)
        try:
            return local_now.replace(hour=hour, minute=minute, second=second, microsecond=0)
        except ValueError as exc:
            raise InputError(f"invalid time {text!r}: {exc}") from exc
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00") if raw.endswith("Z") else raw)
    except ValueError as exc:
        raise InputError(
            f"invalid time {text!r}: use ISO 8601 (2026-11-22T14:05+01:00), HH:MM, or -15m"
        ) from exc
    if parsed.tzinfo is None:
        try:
            parsed = parsed.astimezone()  # local zone, recorded explicitly
        except ValueError as exc:  # 0001-01-01 east of UTC: year 0
            raise OverflowError(str(exc)) from exc
    return parsed


def format_zoned(moment: datetime) -> str:
    """ISO 8601 with its offset, seconds precision unless finer was given; refuses a time
    outside the accepted range, so none is ever written."""
    check_range(moment)
    spec = "seconds" if moment.microsecond == 0 else "microseconds"
    return moment.isoformat(timespec=spec)

"""Times: every time irkit writes carries its zone; entry times are UTC with microseconds."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from irkit.errors import InputError

Clock = Callable[[], datetime]

_UTC_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


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
    `HH:MM` / `HH:MM:SS` (today, local), and `-15m` / `-2h` (relative to now).
    """
    raw = text.strip()
    current = now or datetime.now(UTC)
    rel = re.fullmatch(r"-(\d+)([smhd])", raw)
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
        parsed = parsed.astimezone()  # local zone, recorded explicitly
    return parsed


def format_zoned(moment: datetime) -> str:
    """ISO 8601 with its offset, seconds precision unless finer was given."""
    spec = "seconds" if moment.microsecond == 0 else "microseconds"
    return moment.isoformat(timespec=spec)

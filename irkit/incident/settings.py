"""Case settings for the incident lifecycle: priority matrix, SLA targets, business calendars.

Settings live in the journal as the body of a signed `incident.configured` entry (the last
one wins), never in a side file: clocks read later are computed from exactly what was signed.
People write them as TOML (durations like "4h", hours like "08:00-17:00"); the entry holds
the normalised form (integer seconds, zone name, ISO dates), see docs/FORMAT.md.
"""

from __future__ import annotations

import functools
import re
from datetime import date
from typing import Annotated, Any

from pydantic import Field, StringConstraints, ValidationError, model_validator

from irkit.errors import InputError
from irkit.incident.sla import Calendar
from irkit.incident.vocab import PRESETS, WaitingFor
from irkit.record.bodies import Body, Label

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Seconds = Annotated[int, Field(ge=0, le=10 * 366 * 86_400)]
Level = Annotated[int, Field(ge=1, le=9)]
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")]
HoursText = Annotated[
    str,
    StringConstraints(
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
    ),
]
DateText = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]


class CalendarSpec(Body):
    zone: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "UTC"
    always: bool = False
    hours: dict[str, list[HoursText]] = Field(default_factory=dict)
    holidays: list[DateText] = Field(default_factory=list)

    @model_validator(mode="after")
    def _valid(self) -> CalendarSpec:
        for day in self.hours:
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r} (use {', '.join(WEEKDAYS)})")
        for text in self.holidays:
            date.fromisoformat(text)
        for spans in self.hours.values():
            for span in spans:
                lo, hi = _span(span)
                if hi <= lo:
                    raise ValueError(f"working hours {span!r} end before they start")
        if not self.always and not any(self.hours.values()):
            raise ValueError("a calendar needs working hours or always = true")
        return self

    def calendar(self) -> Calendar:
        if self.always:
            return Calendar.twenty_four_seven(self.zone)
        windows = tuple(
            tuple(sorted(_span(s) for s in self.hours.get(day, []))) for day in WEEKDAYS
        )
        return Calendar(
            zone=self.zone,
            windows=windows,
            holidays=frozenset(date.fromisoformat(h) for h in self.holidays),
        )


def _span(text: str) -> tuple[int, int]:
    lo, hi = text.split("-")
    return _clock(lo), _clock(hi)


def _clock(text: str) -> int:
    hh, mm = text.split(":")
    return int(hh) * 3600 + int(mm) * 60


class PriorityTarget(Body):
    name: Label
    respond: Seconds
    resolve: Seconds
    update: Seconds
    calendar: Name = "business"


class TierTarget(Body):
    acknowledge: Seconds
    resolve: Seconds
    calendar: Name = "business"


PauseReason = WaitingFor  # the reasons an incident may wait for can pause its clocks


def _default_pauses() -> list[PauseReason]:
    return ["customer", "vendor"]


class Settings(Body):
    """What the clocks and the priority are computed from (one signed document)."""

    preset: Label = "custom"
    matrix: list[list[Level]]  # matrix[impact-1][urgency-1] = priority (1 = most urgent)
    priorities: dict[str, PriorityTarget]  # "1".. -> targets
    tiers: dict[str, TierTarget] = Field(
        default_factory=dict
    )  # internal targets per support tier ("2", "3", ...)
    calendars: dict[str, CalendarSpec]
    pause_reasons: list[PauseReason] = Field(default_factory=_default_pauses)
    warn_permille: Annotated[int, Field(ge=1, le=1000)] = 750
    auto_close_days: Annotated[int, Field(ge=1, le=365)] = 5

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if not self.matrix or any(len(row) != len(self.matrix[0]) for row in self.matrix):
            raise ValueError("the impact × urgency matrix must be a non-empty rectangle")
        for row in self.matrix:
            for p in row:
                if str(p) not in self.priorities:
                    raise ValueError(f"matrix names priority {p} but no target is set for it")
        refs = [t.calendar for t in self.priorities.values()]
        refs += [t.calendar for t in self.tiers.values()]
        for ref in refs:
            if ref not in self.calendars:
                raise ValueError(f"calendar {ref!r} is used but not defined")
        for spec in self.calendars.values():
            try:
                spec.calendar().tz()
            except (KeyError, ValueError, OSError) as exc:
                raise ValueError(f"unknown time zone {spec.zone!r}") from exc
        return self

    @property
    def impact_levels(self) -> int:
        return len(self.matrix)

    @property
    def urgency_levels(self) -> int:
        return len(self.matrix[0])

    def priority(self, impact: int, urgency: int) -> int:
        if not (1 <= impact <= self.impact_levels and 1 <= urgency <= self.urgency_levels):
            raise InputError(
                f"impact must be 1..{self.impact_levels} and urgency 1..{self.urgency_levels}"
            )
        return self.matrix[impact - 1][urgency - 1]

    def calendar(self, name: str) -> Calendar:
        return self.calendars[name].calendar()


_H = 3600
_D = 86_400


def _office(zone: str) -> dict[str, Any]:
    return {
        "zone": zone,
        "hours": {d: ["08:00-17:00"] for d in WEEKDAYS[:5]},
        "holidays": [],
    }


@functools.lru_cache(maxsize=16)
def preset(name: str, zone: str = "UTC") -> Settings:
    """Built-in settings. itil3: the ITIL 3×3 impact × urgency table giving priorities 1–5;
    itil5: a 5×5 table (priority = ceil((impact + urgency - 1) / 2)). Targets are common
    service-desk defaults (P1 runs 24/7, the rest in office hours Mon–Fri 08:00–17:00).

    These values are part of the format: a case with no `incident.configured` entry is
    read with `preset("itil3")` in UTC, so they must never change (add a new preset instead).
    """
    if name == "itil3":
        matrix = [[1, 2, 3], [2, 3, 4], [3, 4, 5]]
    elif name == "itil5":
        matrix = [[(i + u) // 2 for u in range(1, 6)] for i in range(1, 6)]
    else:
        raise InputError(f"unknown preset {name!r} (use {' or '.join(PRESETS)})")
    doc: dict[str, Any] = {
        "preset": name,
        "matrix": matrix,
        "priorities": {
            "1": {
                "name": "critical",
                "respond": 15 * 60,
                "resolve": 4 * _H,
                "update": 30 * 60,
                "calendar": "24x7",
            },
            "2": {"name": "high", "respond": 30 * 60, "resolve": 8 * _H, "update": 2 * _H},
            "3": {"name": "medium", "respond": 1 * _H, "resolve": 3 * 9 * _H, "update": 4 * _H},
            "4": {"name": "low", "respond": 4 * _H, "resolve": 5 * 9 * _H, "update": 9 * _H},
            "5": {
                "name": "planning",
                "respond": 9 * _H,
                "resolve": 10 * 9 * _H,
                "update": 5 * 9 * _H,
            },
        },
        "tiers": {
            "1": {"acknowledge": 15 * 60, "resolve": 4 * _H},
            "2": {"acknowledge": 30 * 60, "resolve": 8 * _H},
            "3": {"acknowledge": 1 * _H, "resolve": 2 * 9 * _H},
        },
        "calendars": {"business": _office(zone), "24x7": {"zone": zone, "always": True}},
    }
    return parse_settings(doc)


def parse_settings(doc: dict[str, Any]) -> Settings:
    """Validate a settings document (normalised form); one clear line on error."""
    try:
        return Settings.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        msg = first["msg"].removeprefix("Value error, ")
        raise InputError(f"invalid case settings: {where}: {msg}") from exc


# at most 12 digits a unit: int() of a huge digit string is itself an error, and every
# duration is bounded by the settings model anyway
_DURATION = re.compile(
    r"^\s*(?:(\d{1,12})d)?\s*(?:(\d{1,12})h)?\s*(?:(\d{1,12})m)?\s*(?:(\d{1,12})s)?\s*$"
)


def parse_duration(text: str | int) -> int:
    """ "4h", "1d 2h", "30m", "90s" or a number of seconds -> seconds."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    match = _DURATION.match(str(text))
    if not match or not any(match.groups()):
        raise InputError(f"invalid duration {text!r}: use e.g. 30m, 4h, 1d 2h")
    d, h, m, s = (int(g or 0) for g in match.groups())
    return d * 86_400 + h * 3600 + m * 60 + s  # integers: no timedelta overflow


def settings_from_toml(text: str, zone: str | None = None) -> Settings:
    """Read a TOML settings file: a preset to start from, then overrides.

    ```toml
    preset = "itil3"          # start from a built-in preset (optional)
    zone = "Europe/Berlin"    # zone of every calendar not naming its own
    [priorities.2]
    resolve = "6h"
    [calendars.business]
    hours = { mon = ["08:00-12:00", "13:00-17:00"], fri = ["08:00-14:00"] }
    holidays = ["2026-12-25"]
    ```
    """
    import tomllib

    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"settings file is not valid TOML: {exc}") from exc
    except RecursionError as exc:
        raise InputError("settings file is nested too deeply to read") from exc
    base_zone = raw.pop("zone", zone or "UTC")
    preset_name = raw.pop("preset", "itil3")
    for key, value in (("zone", base_zone), ("preset", preset_name)):
        if not isinstance(value, str):
            raise InputError(f"invalid case settings: {key}: must be a string")
    try:
        base = preset(preset_name, base_zone).model_dump()
    except InputError as exc:
        raise InputError(f"invalid case settings: {exc.message}") from exc
    base["preset"] = "custom"
    _merge(base, raw)
    for group in ("priorities", "tiers"):
        targets = base.get(group)
        if not isinstance(targets, dict):
            continue  # the model names the wrong type in one line
        for name, target in targets.items():
            if isinstance(target, dict):
                for key in ("respond", "resolve", "update", "acknowledge"):
                    if key in target:
                        try:
                            target[key] = parse_duration(target[key])
                        except InputError as exc:
                            where = f"{group}.{name}.{key}"
                            raise InputError(f"invalid case settings: {where}: {exc}") from exc
    return parse_settings(base)


def _merge(into: dict[str, Any], over: dict[str, Any]) -> None:
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value

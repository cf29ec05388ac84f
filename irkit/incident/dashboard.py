"""The `irkit case show --json` document: a contract scripts depend on, so it is built here,
in the library, from the folded incident; the CLI only formats it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypedDict

from irkit.formats.timefmt import format_utc
from irkit.incident.lifecycle import Clocks, Incident
from irkit.incident.sla import ClockReading, seconds
from irkit.record.case import CaseInfo
from irkit.record.summary import summarize


class ClockView(TypedDict):
    """One SLA clock as at `now`; times are UTC strings, durations whole seconds."""

    clock: str
    status: str  # running | paused | met | breached | not-started
    warning: bool
    target_s: int
    elapsed_s: int
    left_s: int
    permille: int
    percent: float | None
    deadline: str | None
    deadline_local: str | None  # the deadline in the calendar's zone, ISO 8601 with offset
    stopped: str | None


class HistoryRow(TypedDict):
    seq: int
    recorded: str
    kind: str
    by: str
    summary: str


class Dashboard(TypedDict):
    """What `irkit case show --json` prints (keys in this order)."""

    case_id: str
    title: str
    now: str
    state: str
    since: str | None
    pending_reason: str | None
    priority: int | None
    priority_name: str | None
    settings: str
    configured: bool
    fields: dict[str, Any]
    calendar: str | None
    zone: str | None
    clocks: list[ClockView]
    internal_clocks: list[ClockView]
    missed_updates: int
    escalations: list[dict[str, Any]]
    links: list[dict[str, Any]]
    consents: list[dict[str, Any]]
    resolution: dict[str, Any] | None
    confirmation: dict[str, Any] | None
    closure: dict[str, Any] | None
    followups: list[dict[str, Any]]
    reopens: int
    history: list[HistoryRow]
    problems: list[dict[str, Any]]


def _short_fp(fingerprint: str) -> str:
    """A signer no roster name covers, as the CLI shows fingerprints (16 hex digits)."""
    return fingerprint.removeprefix("ed25519:")[:16]


def _clock(r: ClockReading, zone: str | None) -> ClockView:
    deadline_local = None
    if r.deadline is not None and zone:
        from zoneinfo import ZoneInfo

        deadline_local = r.deadline.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")
    return {
        "clock": r.name,
        "status": r.status,
        "warning": r.warn and r.status in ("running", "paused"),
        "target_s": seconds(r.target),
        "elapsed_s": seconds(r.elapsed),
        "left_s": seconds(r.left),
        "permille": r.permille,
        "percent": round(100 * r.elapsed / r.target, 2) if r.target > timedelta(0) else None,
        "deadline": format_utc(r.deadline) if r.deadline else None,
        "deadline_local": deadline_local,
        "stopped": format_utc(r.stopped) if r.stopped else None,
    }


def dashboard(
    info: CaseInfo, inc: Incident, clocks: Clocks, now: datetime, names: dict[str, str]
) -> Dashboard:
    """The dashboard as at `now`: JSON-able, and a contract scripts read."""

    def who(fp: str) -> str:
        return names.get(fp, _short_fp(fp))

    settings = inc.settings
    effective = inc.effective_settings
    zone = None
    calendar = None
    target_name = None
    if inc.priority is not None:
        target = effective.priorities[str(inc.priority)]
        target_name = target.name
        zone = effective.calendars[target.calendar].zone
        calendar = target.calendar
    since = inc.periods[-1].start if inc.periods else None
    return {
        "case_id": info.case_id,
        "title": info.title,
        "now": format_utc(now),
        "state": inc.state,
        "since": format_utc(since) if since else None,
        "pending_reason": inc.pending_reason,
        "priority": inc.priority,
        "priority_name": target_name,
        "settings": settings.preset if settings else "itil3 (built-in default, UTC)",
        "configured": settings is not None,
        "fields": inc.fields,
        "calendar": calendar,
        "zone": zone,
        "clocks": [_clock(r, zone) for r in clocks.customer],
        "internal_clocks": [_clock(r, zone) for r in clocks.internal],
        "missed_updates": clocks.missed_updates,
        "escalations": [
            {
                "seq": e.seq,
                "at": format_utc(e.at),
                "by": who(e.actor),
                **e.body,
                "acknowledged": (
                    {
                        "seq": e.acknowledged[0],
                        "at": format_utc(e.acknowledged[1]),
                        "by": who(e.acknowledged[2]),
                    }
                    if e.acknowledged
                    else None
                ),
            }
            for e in inc.escalations
        ],
        "links": list(inc.links.values()),
        "consents": list(inc.consents.values()),
        "resolution": inc.resolution,
        "confirmation": inc.confirmation[1] if inc.confirmation else None,
        "closure": inc.closure,
        "followups": list(inc.followups.values()),
        "reopens": inc.reopens,
        "history": [
            {
                "seq": e.seq,
                "recorded": e.recorded,
                "kind": e.kind,
                "by": who(e.actor),
                "summary": summarize(e),
            }
            for e in inc.history
        ],
        "problems": [{"seq": s, "code": c, "message": m} for s, c, m in inc.problems],
    }

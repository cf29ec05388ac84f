"""The `irkit case show` dashboard: a JSON-able view of the fold, and its text rendering."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from irkit._cli._common import short_fp
from irkit.formats.timefmt import format_utc
from irkit.incident.lifecycle import Clocks, Incident
from irkit.incident.sla import ClockReading, format_duration, seconds
from irkit.record.case import CaseInfo
from irkit.record.summary import percent, summarize


def _clock(r: ClockReading, zone: str | None) -> dict[str, Any]:
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
) -> dict[str, Any]:
    def who(fp: str) -> str:
        return names.get(fp, short_fp(fp))

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


def _dur(value: int) -> str:
    from datetime import timedelta

    return format_duration(timedelta(seconds=value))


def _t(value: object) -> str:
    """A time of the view as the CLI shows every time (timefmt.display); JSON keeps it."""
    from irkit.formats.timefmt import display

    return display(value) if isinstance(value, str) else str(value)


def render(v: dict[str, Any]) -> list[str]:
    out = [f"{v['case_id']}: {v['title']}    (as at {_t(v['now'])})"]
    state = v["state"].replace("_", " ")
    if v["pending_reason"]:
        state += f" (waiting for {v['pending_reason']})"
    out.append(f"  state      {state} since {_t(v['since'])}")
    prio = "not set (set impact and urgency)"
    if v["priority"] is not None:
        f = v["fields"]
        prio = (
            f"P{v['priority']} {v['priority_name']} (impact {f.get('impact')} × urgency "
            f"{f.get('urgency')}, settings {v['settings']})"
        )
    out.append(f"  priority   {prio}")
    for name in ("severity", "category", "phase", "assignee", "owner"):
        if name in v["fields"]:
            out.append(f"  {name:<10} {v['fields'][name]}")
    if v["fields"].get("assets"):
        out.append(f"  assets     {', '.join(v['fields']['assets'])}")
    if v["clocks"]:
        out.append(f"SLA clocks (calendar {v['calendar']}, {v['zone']}; internal: tier targets)")
        for c in v["clocks"] + v["internal_clocks"]:
            out.append("  " + _clock_line(c))
        if v["missed_updates"]:
            out.append(f"  customer updates missed: {v['missed_updates']}")
    elif v["configured"]:
        out.append("SLA clocks: none yet (set impact and urgency)")
    else:
        out.append(
            "SLA clocks: none yet (set impact and urgency; the built-in itil3 settings, UTC, "
            "apply until `irkit case configure`)"
        )
    open_esc = [e for e in v["escalations"] if e["acknowledged"] is None]
    if v["escalations"]:
        out.append(f"Escalations ({len(open_esc)} not acknowledged)")
        for e in v["escalations"]:
            where = f"tier {e['tier']}" if e.get("tier") else ""
            where = f"{where} {e.get('team') or ''}".strip()
            ack = e["acknowledged"]
            ack_text = f"acknowledged by {ack['by']} {_t(ack['at'])}" if ack else "NOT ACKNOWLEDGED"
            out.append(
                f"  #{e['seq']} {e['kind']} to {where} ({e['trigger']}) by {e['by']} "
                f"{_t(e['at'])}: {e['reason']}; {ack_text}"
            )
    for link in v["links"]:
        extra = f" [{link['change_type']}]" if link.get("change_type") else ""
        extra += f" workaround: {link['workaround']}" if link.get("workaround") else ""
        out.append(f"  link {link['link']} {link['ref']}{extra}")
    if v["consents"]:
        out.append("Consent")
        for c in v["consents"]:
            status = (
                f"WITHDRAWN #{c['withdrawn']['seq']} {_t(c['withdrawn']['at'])}"
                if c["withdrawn"]
                else "in force"
            )
            out.append(
                f"  #{c['seq']} {c['by']} allowed {c['scope']} ({c['method']}, "
                f"{_t(c.get('given_at') or c['at'])}): {status}"
            )
    if v["resolution"]:
        r = v["resolution"]
        out.append(f"Resolution [{r['code']}] {r['outcome']}: {r['solution']}")
        if r.get("impact"):
            out.append(f"  impact: {r['impact']}")
    if v["confirmation"]:
        c = v["confirmation"]
        score = f", satisfaction {c['satisfaction']}/5" if c.get("satisfaction") else ""
        said = f": {c['comment']}" if c.get("comment") else ""
        out.append(f"Confirmed by {c['by']} ({c['channel']}{score}){said}")
    if v["closure"]:
        out.append(f"Closed: {v['closure']['how']}")
    for fu in v["followups"]:
        done = f"done #{fu['done']['seq']}" if fu["done"] else "open"
        due = _t(fu["due"]) if fu.get("due") else "-"
        out.append(f"Follow-up #{fu['seq']} due {due}: {fu['note']} ({done})")
    out.append("History")
    for h in v["history"]:
        out.append(f"  #{h['seq']:<4} {_t(h['recorded'])}  {h['by']:<14} {h['summary']}")
    for p in v["problems"]:
        out.append(f"  PROBLEM #{p['seq']} {p['code']}: {p['message']}")
    return out


def _clock_line(c: dict[str, Any]) -> str:
    status = c["status"].upper() if c["status"] == "breached" else c["status"]
    if c["warning"] and c["status"] != "breached":
        status += " (WARNING)"
    line = (
        f"{c['clock']:<26} {status:<18} used {_dur(c['elapsed_s'])} of "
        f"{_dur(c['target_s'])} ({'-' if c['percent'] is None else percent(c['percent'], 100)})"
    )
    if c["status"] in ("running", "paused", "not-started"):
        line += f", left {_dur(c['left_s'])}"
    elif c["status"] == "breached":
        line += f", over by {_dur(-c['left_s'])}"
    if c["deadline"]:
        line += f"; deadline {_t(c['deadline'])}"
        if c["deadline_local"]:
            local = datetime.fromisoformat(c["deadline_local"])
            line += f" ({local:%Y-%m-%d %H:%M:%S} local, {local.isoformat()[-6:]})"
    elif c["status"] == "paused":
        line += "; deadline moves while paused"
    if c["stopped"]:
        line += f"; stopped {_t(c['stopped'])}"
    return line

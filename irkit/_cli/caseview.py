"""The `irkit case show` dashboard's text rendering; the document itself is built by
irkit.incident.dashboard (it is what `--json` prints)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from irkit.incident.sla import format_duration
from irkit.record.summary import percent

if TYPE_CHECKING:
    from irkit.incident.dashboard import ClockView, Dashboard


def _dur(value: int) -> str:
    from datetime import timedelta

    return format_duration(timedelta(seconds=value))


def _t(value: object) -> str:
    """A time of the view as the CLI shows every time (timefmt.display); JSON keeps it."""
    from irkit.formats.timefmt import display

    return display(value) if isinstance(value, str) else str(value)


def render(v: Dashboard) -> list[str]:
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
        for clock in v["clocks"] + v["internal_clocks"]:
            out.append("  " + _clock_line(clock))
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


def _clock_line(c: ClockView) -> str:
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

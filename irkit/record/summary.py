"""One-line human summaries of entries and the name map used by listings."""

from __future__ import annotations

from collections.abc import Iterable

from irkit.record.entry import Entry


def names_from(entries: Iterable[Entry]) -> dict[str, str]:
    """Fingerprint -> member name, as the journal (not keys/) states it."""
    names: dict[str, str] = {}
    for e in entries:
        if e.kind == "case.opened":
            info = e.body.get("opener", {})
        elif e.kind == "member.added":
            info = e.body.get("member", {})
        else:
            continue
        if "fingerprint" in info:
            names[info["fingerprint"]] = str(info.get("name", ""))
    return names


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`1 event`, `2 events`: a count with its noun agreeing (`many` for irregular ones)."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def percent(part: float, whole: float) -> str:
    """`88.89%`: a share rounded (never truncated) to two decimals, trailing zeros dropped."""
    if whole <= 0:
        return "-"
    text = f"{100 * part / whole:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def shown_value(value: object) -> str:
    """A field value as a person reads it: `unset` for none, a list comma-separated, text
    as typed (never Python's `None` or `['a', 'b']`)."""
    if value is None:
        return "unset"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return _clip(str(value), 40)


def _clip(text: str, width: int = 70) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def summarize(e: Entry) -> str:
    b = e.body
    match e.kind:
        case "case.opened":
            return f"{b.get('case_id')}: {_clip(str(b.get('title', '')))}"
        case "member.added":
            m = b.get("member", {})
            return f"{m.get('name')} as {m.get('role')}"
        case "member.removed":
            return f"{b.get('fingerprint', '')[:24]}… ({_clip(str(b.get('reason', '')), 40)})"
        case "evidence.collected":
            items = b.get("items", [])
            ids = f"{items[0]['id']}..{items[-1]['id']}" if len(items) > 1 else items[0]["id"]
            where = f" at {b['location']}" if b.get("location") else ""
            desc = _clip(str(b.get("description", "")), 40)
            return f"{plural(len(items), 'item')} {ids}{where}: {desc}"
        case "custody.released":
            return (
                f"{b['transfer']}: {', '.join(b['items'])} to {b['to'][:24]}… "
                f"for {_clip(str(b['purpose']), 40)}"
            )
        case "backup.verified":
            signed = " signed off" if b.get("signed_off") else ""
            checks = plural(int(str(b.get("checks_failed") or 0)), "check")
            return (
                f"{b.get('verdict')} {_clip(str(b.get('artifact', '')), 40)}: "
                f"{b.get('matched')} matched, {b.get('missing')} missing, "
                f"{b.get('changed')} changed, {checks} failed{signed}"
            )
        case "custody.accepted":
            failed = [c["item"] for c in b.get("checks", []) if not c["ok"]]
            return f"{b['transfer']} accepted" + (f"; CHECK FAILED {failed}" if failed else "")
        case "custody.checked" | "custody.stored" | "custody.returned" | "custody.disposed":
            what = b.get("location") or b.get("reason") or ""
            return f"{', '.join(b['items'])} {_clip(str(what), 50)}".strip()
        case "note.added" | "note.corrected":
            prefix = f"corrects #{b.get('corrects')}: " if e.kind == "note.corrected" else ""
            files = b.get("attachments")
            extra = f" [+{plural(len(files), 'file')}]" if isinstance(files, list) and files else ""
            secret = " [confidential]" if b.get("confidential") else ""
            return prefix + _clip(str(b.get("text", ""))) + extra + secret
        case "note.witnessed":
            return f"witnesses note #{b.get('note')}: {_clip(str(b.get('statement', '')), 50)}"
    if e.kind.startswith("incident."):
        return incident_summary(e.kind, b)
    return ""


def incident_summary(kind: str, b: dict[str, object]) -> str:
    """old -> new and why, for the help-desk entries (irkit/incident/lifecycle.py)."""
    why = _clip(str(b.get("reason") or ""), 40)
    match kind.removeprefix("incident."):
        case "configured":
            settings = b.get("settings")
            name = settings.get("preset") if isinstance(settings, dict) else "?"
            return f"settings ({name}): {why}"
        case "state":
            wait = f" (waiting for {b['waiting_for']})" if b.get("waiting_for") else ""
            res = b.get("resolution")
            code = f" [{res.get('code')}]" if isinstance(res, dict) else ""
            clo = b.get("closure")
            how = f" [{clo.get('how')}]" if isinstance(clo, dict) else ""
            return f"state {b.get('old')} -> {b.get('new')}{wait}{code}{how}: {why}"
        case "field":
            prio = f" => priority {b['priority']}" if b.get("priority") is not None else ""
            new = shown_value(b.get("new"))
            if b.get("assignee"):
                new += f" [{str(b['assignee'])[:24]}]"
            elif b.get("external"):
                new += " (not a case member)"
            return f"{b.get('field')}: {shown_value(b.get('old'))} -> {new}{prio}: {why}"
        case "linked":
            return f"{b.get('action', 'add')} {b.get('link')} link {b.get('ref')}: {why}"
        case "escalated":
            where = f"tier {b['tier']}" if b.get("tier") is not None else ""
            where += f" {b['team']}" if b.get("team") else ""
            return f"{b.get('kind')} escalation to {where.strip()} ({b.get('trigger')}): {why}"
        case "acknowledged":
            own = f" (their own: {_clip(str(b['self_ack']), 40)})" if b.get("self_ack") else ""
            return f"acknowledges escalation #{b.get('escalation')}{own}"
        case "consent":
            return (
                f"consent {b.get('action')} by {b.get('by')} for {_clip(str(b.get('scope')), 40)}"
            )
        case "informed":
            return f"customer informed ({b.get('channel')}): {_clip(str(b.get('summary')), 40)}"
        case "confirmed":
            score = f" satisfaction {b['satisfaction']}/5" if b.get("satisfaction") else ""
            return f"confirmed by {b.get('by')} ({b.get('channel')}){score}"
        case "followup":
            return f"follow-up {b.get('action')}: {_clip(str(b.get('note')), 40)}"
    return ""

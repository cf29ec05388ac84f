"""The incident lifecycle folded for the report: facts, SLA, escalations, consent, customer
updates, the outcome (root cause to follow-up), KPIs and the timeline's key events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from irkit.record.entry import Entry
from irkit.report.model import (
    Phase,
    ReportModel,
    human_moment,
    human_time,
    masked,
)


def duration(secs: int | None) -> str:
    if secs is None:
        return "not reached"
    hours, rest = divmod(secs, 3600)
    return f"{hours} h {rest // 60:02d} min {rest % 60:02d} s"


def fold_incident(model: ReportModel, entries: Sequence[Entry], names: dict[str, str]) -> None:
    from irkit.incident import kpi, lifecycle

    inc = lifecycle.fold(entries)
    z = model.zone
    model.state = inc.state
    model.phases = [Phase(p.state, p.start, p.end, p.waiting_for or "") for p in inc.periods]
    facts = [("State", inc.state)]
    if inc.pending_reason:
        facts.append(("Waiting for", str(inc.pending_reason)))
    if inc.priority is not None:
        model.priority = f"P{inc.priority}"
        facts.append(("Priority", model.priority))

    def field_value(name: str) -> str:
        secret = name in inc.secret_fields
        return masked(model, inc.fields[name], secret, inc.field_salts.get(name), "new")

    # what it is (priority with the impact and urgency that give it, category), who has
    # it, the other fields by name; then when it was opened and answered, and the outcome
    first = ("impact", "urgency", "category", "assignee", "owner")
    order: list[str] = [n for n in first if n in inc.fields]
    order += sorted(n for n in inc.fields if n not in order)
    for name in order:
        if name in ("root-cause", "lessons-learned") or inc.fields[name] is None:
            continue  # long text: their own sections show it
        facts.append((name.capitalize(), field_value(name)))
    if inc.opened is not None:
        facts.append(("Opened", human_moment(inc.opened, z)))
    if inc.first_response is not None:
        facts.append(("First response", human_moment(inc.first_response, z)))
    if inc.resolution is not None:
        res = inc.resolution
        solution = masked(
            model,
            res.get("solution"),
            res.get("confidential"),
            res.get("salt"),
            "resolution.solution",
        )
        facts.append(("Resolution", f"{res.get('code')}: {solution}"))
    if inc.closure is not None:
        facts.append(("Closure", str(inc.closure.get("how"))))
    model.incident_facts = facts
    for key in ("assignee", "owner"):
        if inc.fields.get(key):
            setattr(model, "handler" if key == "assignee" else "owner", field_value(key))
    for esc in inc.escalations:
        b = esc.body
        to = " ".join(
            x for x in (f"tier {b['tier']}" if b.get("tier") else "", str(b.get("team") or "")) if x
        )
        trigger = str(b.get("trigger", "manual"))
        if b.get("clock"):
            trigger += f" ({b['clock']} clock)"
        if esc.acknowledged:
            ack_seq, ack_at, ack_by = esc.acknowledged
            who = names.get(ack_by, ack_by)
            ack = f"acknowledged {human_moment(ack_at, z)} by {who} (#{ack_seq})"
        else:
            ack = "NOT ACKNOWLEDGED"
        reason = masked(model, b.get("reason"), b.get("confidential"), b.get("salt"), "reason")
        model.escalations.append(
            (
                f"#{esc.seq}",
                human_moment(esc.at, z),
                f"{b.get('kind')} to {to or '?'}",
                trigger,
                f"{reason} (by {names.get(esc.actor, esc.actor)})",
                ack,
            )
        )
    for grant in inc.consents.values():
        secret, salt = grant.get("confidential"), grant.get("salt")
        given = f"; given {human_time(grant['given_at'], z)}" if grant.get("given_at") else ""
        state = "in force"
        if grant.get("withdrawn"):
            w = grant["withdrawn"]
            why = masked(model, w.get("reason"), w.get("confidential"), w.get("salt"), "reason")
            state = f"WITHDRAWN {human_time(w['at'], z)} (#{w['seq']})" + (
                f": {why}" if w.get("reason") else ""
            )
        model.consents.append(
            (
                f"#{grant['seq']}",
                human_time(str(grant["at"]), z) + given,
                masked(model, grant.get("by"), secret, salt, "by"),
                f"{masked(model, grant.get('scope'), secret, salt, 'scope')} "
                f"(via {grant.get('method')})",
                state,
            )
        )
    for e in inc.history:
        if e.kind == "incident.informed":
            b = e.body
            model.informed.append(
                (
                    f"#{e.seq}",
                    human_time(e.recorded, z),
                    f"{b.get('channel')} by {names.get(e.actor, e.actor)}",
                    masked(
                        model, b.get("summary"), b.get("confidential"), b.get("salt"), "summary"
                    ),
                )
            )
    fold_outcome(model, inc, names)
    if entries and inc.opened is not None:
        now = lifecycle.when(entries[-1])
        model.sla = sla_rows(inc, now)
        readings = lifecycle.clocks(inc, now)
        model.deadlines = [
            (r.deadline, f"{r.name} due") for r in readings.customer if r.deadline is not None
        ]
        k = kpi.case_kpi(model.case_id, entries, now)
        model.kpis = [
            ("Time to acknowledge", duration(k.time_to_acknowledge)),
            ("Time to resolve (business hours)", duration(k.time_to_resolve)),
            ("Time pending", duration(k.pending)),
            ("Customer SLA breaches", str(k.breaches)),
            ("Internal (tier) breaches", str(k.internal_breaches)),
            ("Escalations", str(k.escalations)),
            ("Reopens", str(k.reopens)),
            ("First-contact resolution", "yes" if k.first_contact_resolution else "no"),
            (
                "Customer satisfaction",
                f"{k.satisfaction}/5" if k.satisfaction is not None else "not recorded",
            ),
        ]


def fold_outcome(model: ReportModel, inc: Any, names: dict[str, str]) -> None:
    """Root cause, workaround, resolution, confirmation and follow-up from the fold."""
    by_seq = {e.seq: e for e in inc.history}
    res = inc.resolution
    if res is not None:
        model.root_cause += [
            ("Resolution code", str(res.get("code"))),
            ("Outcome", str(res.get("outcome"))),
        ]
    if inc.fields.get("root-cause"):
        cause = masked(
            model,
            inc.fields["root-cause"],
            "root-cause" in inc.secret_fields,
            inc.field_salts.get("root-cause"),
            "new",
        )
        model.root_cause.append(("Root cause", cause))
    if inc.fields.get("lessons-learned"):
        secret = "lessons-learned" in inc.secret_fields
        salt = inc.field_salts.get("lessons-learned")
        model.lessons.append(masked(model, inc.fields["lessons-learned"], secret, salt, "new"))
    if inc.fields.get("category"):
        category = masked(
            model,
            inc.fields["category"],
            "category" in inc.secret_fields,
            inc.field_salts.get("category"),
            "new",
        )
        model.root_cause.append(("Category", category))
    for (link, ref), body in sorted(inc.links.items()):
        if link in ("problem", "known-error"):
            model.root_cause.append((f"Linked {link} record", ref))
        if body.get("workaround"):
            workaround = masked(
                model, body["workaround"], body.get("confidential"), body.get("salt"), "workaround"
            )
            model.workarounds.append(f"{link} {ref}: {workaround}")
    if res is not None:
        resolved = next(
            (
                e
                for e in reversed(inc.history)
                if e.kind == "incident.state" and e.body.get("new") == "resolved"
            ),
            None,
        )
        secret, salt = res.get("confidential"), res.get("salt")
        model.resolution = [
            ("Code", str(res.get("code"))),
            ("Solution", masked(model, res.get("solution"), secret, salt, "resolution.solution")),
            ("Outcome", str(res.get("outcome"))),
            (
                "Impact",
                masked(model, res["impact"], secret, salt, "resolution.impact")
                if res.get("impact")
                else "not recorded",
            ),
        ]
        if resolved is not None:
            model.resolution.append(
                (
                    "Resolved",
                    f"{human_time(resolved.recorded, model.zone)} by "
                    f"{names.get(resolved.actor, resolved.actor)} (#{resolved.seq})",
                )
            )
    if inc.confirmation is not None:
        seq, body = inc.confirmation
        at = human_time(by_seq[seq].recorded, model.zone) if seq in by_seq else "?"
        secret, salt = body.get("confidential"), body.get("salt")
        model.confirmation = [
            (
                "Confirmed by",
                f"{masked(model, body.get('by'), secret, salt, 'by')} via {body.get('channel')} "
                f"at {at} (#{seq})",
            ),
            (
                "Satisfaction",
                f"{body['satisfaction']}/5" if body.get("satisfaction") else "not recorded",
            ),
            (
                "Comment",
                masked(model, body["comment"], secret, salt, "comment")
                if body.get("comment")
                else "none",
            ),
        ]
    if inc.closure is not None:
        how = str(inc.closure.get("how"))
        if how == "auto":
            how += f" after {inc.closure.get('after_days')} days without an answer"
        model.confirmation.append(("Closure", how))
    for seq, f in sorted(inc.followups.items()):
        due = f" due {human_time(f['due'], model.zone)}" if f.get("due") else ""
        done = "; open"
        if f.get("done"):
            d = f["done"]
            note = masked(model, d.get("note"), d.get("confidential"), d.get("salt"), "note")
            done = f"; done {human_time(d['at'], model.zone)} (#{d['seq']}): {note}"
        note = masked(model, f.get("note"), f.get("confidential"), f.get("salt"), "note")
        model.followups.append(f"#{seq} scheduled{due}: {note}{done}")


def key_events(model: ReportModel, entries: Sequence[Entry]) -> None:
    """What the timeline figure labels: the moments a reader of the report looks for."""
    from irkit.incident.lifecycle import when

    out = model.key_events
    first = True
    for e in entries:
        try:
            at = when(e)
        except ValueError:
            continue
        b = e.body
        if e.kind == "case.opened":
            out.append((at, "opened", "case", e.seq))
        elif e.kind == "incident.state":
            new = str(b.get("new"))
            if first and new != "new":
                out.append((at, "first response", "case", e.seq))
                first = False
            if new in ("resolved", "closed"):
                out.append((at, new, "case", e.seq))
        elif e.kind == "incident.escalated":
            to = f"tier {b['tier']}" if b.get("tier") else str(b.get("team") or "")
            out.append((at, f"escalated ({to})", "escalation", e.seq))
        elif e.kind == "evidence.collected":
            model.collected_at.append(at)
            out.append((at, f"collected {len(b.get('items', []))} item(s)", "evidence", e.seq))
        elif e.kind == "custody.released":
            out.append((at, f"{b.get('transfer')} released", "custody", e.seq))
        elif e.kind == "custody.accepted":
            out.append((at, f"{b.get('transfer')} accepted", "custody", e.seq))


def sla_rows(inc: Any, now: datetime) -> list[tuple[str, str, str]]:
    """Each SLA clock as (clock, target, result) at the report's as-of time."""
    from irkit.incident import lifecycle

    readings = lifecycle.clocks(inc, now)
    rows = []
    for group, items in (("customer", readings.customer), ("internal", readings.internal)):
        for r in items:
            rows.append(
                (f"{group} {r.name}", str(r.target), f"{r.status} ({r.permille / 10:.1f} %)")
            )
    return rows

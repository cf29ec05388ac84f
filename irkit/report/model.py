"""The report model: everything a report shows, folded from a journal prefix.

Kept apart from rendering so tests and `--check` can reason about what a PDF must contain
without reportlab, and so redaction happens once, before any text reaches the renderer.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from irkit.notes.notes import TimelineItem, timeline
from irkit.record.entry import Entry
from irkit.record.roster import Roster

REDACTED = "[REDACTED]"
REPORT_KIND = "report.exported"


@dataclass(frozen=True)
class Signer:
    name: str
    role: str
    fingerprint: str
    active: bool


@dataclass(frozen=True)
class NoteRow:
    seq: int
    event_time: str
    recorded: str
    author: str
    text: str  # REDACTED + digest when withheld
    confidential: bool
    witnesses: tuple[str, ...]
    corrects: int | None
    corrected_by: tuple[int, ...]
    reason: str | None
    tags: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()  # "name (size bytes, sha256 …)" each
    links: tuple[str, ...] = ()  # evidence item ids
    starred: bool = False
    template: str = ""
    fields: tuple[tuple[str, str], ...] = ()  # a note template's answered fields
    statements: tuple[str, ...] = ()  # witnesses' countersigned statements


@dataclass(frozen=True)
class Phase:
    state: str
    start: datetime
    end: datetime | None
    waiting_for: str = ""


@dataclass(frozen=True)
class EvidenceRow:
    """One evidence item with what NIST SP 800-61r2 §3.3.2 asks to identify it by."""

    id: str
    path: str
    size: int
    sha256: str
    collected: str  # recorded time (UTC)
    by: str
    description: str = ""
    host: str = ""
    location: str = ""
    md5: str = ""
    stored: bool = True
    mtime: str = ""
    collected_seq: int = 0


@dataclass(frozen=True)
class CustodyEvent:
    """One handling of one item: who gave it to whom, when, where, why, signed by whom."""

    seq: int
    at: str  # recorded time, UTC (the journal's own clock)
    local: str  # the same instant in the case's time zone ("" when that zone is UTC)
    step: str  # collected / released / accepted / checked / stored / returned / disposed
    by: str  # signer's name
    signer: str  # signer's key fingerprint
    giver: str
    receiver: str
    purpose: str
    location: str
    condition: str
    signature: str  # valid / INVALID / unknown key


@dataclass(frozen=True)
class CustodyForm:
    """The chain-of-custody form of one item: identification, handlers, events, verdict."""

    item: EvidenceRow
    events: tuple[CustodyEvent, ...]
    handlers: tuple[Signer, ...]
    status: str  # who holds it now, or in transit, or returned/disposed
    problems: tuple[str, ...]


@dataclass(frozen=True)
class CustodyLogRow:
    """One custody-relevant journal entry, naming its items as compact ranges."""

    seq: int
    at: str
    step: str
    by: str
    items: str
    detail: str


@dataclass(frozen=True)
class BackupRow:
    at: str
    by: str
    kind: str
    artifact: str
    verdict: str
    detail: str
    signed_off: bool
    seq: int = 0


@dataclass
class ReportModel:
    case_id: str
    title: str
    as_of: str  # recorded time of the last entry shown (UTC)
    size: int  # entries shown
    origin: str
    root_hex: str
    redacted: bool
    signers: list[Signer]
    notes: list[NoteRow]
    state: str
    phases: list[Phase] = field(default_factory=list)
    incident_facts: list[tuple[str, str]] = field(default_factory=list)
    sla: list[tuple[str, str, str]] = field(default_factory=list)  # clock, target, result
    # (entry, time, kind and target, trigger, reason and by, acknowledgement)
    escalations: list[tuple[str, str, str, str, str, str]] = field(default_factory=list)
    consents: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    informed: list[tuple[str, str, str, str]] = field(default_factory=list)  # customer updates
    record: list[tuple[int, str, str, str, str]] = field(default_factory=list)  # other entries
    starred: list[str] = field(default_factory=list)
    # the timeline figure: (moment, label, kind) for key events, and SLA deadlines
    key_events: list[tuple[datetime, str, str]] = field(default_factory=list)
    deadlines: list[tuple[datetime, str]] = field(default_factory=list)
    collected_at: list[datetime] = field(default_factory=list)
    first_event: datetime | None = None
    evidence: list[EvidenceRow] = field(default_factory=list)
    custody: list[CustodyForm] = field(default_factory=list)
    custody_log: list[CustodyLogRow] = field(default_factory=list)
    backups: list[BackupRow] = field(default_factory=list)
    opener: str = ""
    opener_fingerprint: str = ""
    zone: str = "UTC"  # the case's time zone (its signed settings), for local times
    priority: str = ""
    handler: str = ""  # assignee, else owner, else the opener
    owner: str = ""
    exports: list[tuple[int, str, str, str]] = field(default_factory=list)  # seq, at, what, sha
    root_cause: list[tuple[str, str]] = field(default_factory=list)
    workarounds: list[str] = field(default_factory=list)
    resolution: list[tuple[str, str]] = field(default_factory=list)
    confirmation: list[tuple[str, str]] = field(default_factory=list)
    followups: list[str] = field(default_factory=list)
    lessons: list[str] = field(default_factory=list)
    kpis: list[tuple[str, str]] = field(default_factory=list)
    summary_lines: list[str] = field(default_factory=list)
    # backup sign-off pages (irkit/report/backupsignoff.py): seq -> signed body, and seq ->
    # the stored result it names (or why it is unusable), read from the case's store
    backup_bodies: dict[int, dict[str, Any]] = field(default_factory=dict)
    backup_results: dict[int, dict[str, Any] | str] = field(default_factory=dict)

    @property
    def root_b64(self) -> str:
        """The Merkle root as a checkpoint file writes it (C2SP tlog-checkpoint: base64)."""
        return base64.b64encode(bytes.fromhex(self.root_hex)).decode()

    @property
    def checkpoint_text(self) -> str:
        """The unsigned checkpoint body (C2SP tlog-checkpoint form) this report shows."""
        import base64

        root_b64 = base64.b64encode(bytes.fromhex(self.root_hex)).decode()
        return f"{self.origin}\n{self.size}\n{root_b64}\n"


def withheld(text: str, salt: object = None, field: str = "text") -> str:
    """What a redacted report shows instead of confidential text: a salted commitment
    (irkit/formats/redaction.py) that proves what was held without confirming a reader's guess."""
    from irkit.formats import redaction

    return redaction.withheld(text, salt, field)


def human_time(text: str, zone: str = "UTC") -> str:
    """A journal or event time for people: the case's zone and UTC, to the second.

    `2026-03-04 06:07:08 CET (05:07:08 UTC)`, or `2026-03-04 05:07:08 UTC` in a UTC case;
    the UTC date is repeated when it differs. Text that is not a time is returned as is.
    """
    from irkit.formats.timefmt import zoned_instant

    moment = zoned_instant(text)
    if moment is None:
        return text
    return human_moment(moment, zone)


@functools.lru_cache(maxsize=4096)
def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def human_moment(moment: datetime, zone: str = "UTC") -> str:
    utc = moment.astimezone(UTC)
    if zone == "UTC":
        return f"{utc:%Y-%m-%d %H:%M:%S} UTC"
    local = moment.astimezone(_zone(zone))
    same = local.date() == utc.date()
    in_utc = f"{utc:%H:%M:%S}" if same else f"{utc:%Y-%m-%d %H:%M:%S}"
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()} ({in_utc} UTC)"


def _roster(entries: Sequence[Entry]) -> Roster:
    roster = Roster.empty()
    for e in entries:
        roster.apply(e.seq, e.kind, e.body)
    return roster


def _note_rows(
    items: list[TimelineItem],
    redact: bool,
    bodies: dict[int, dict[str, Any]],
    statements: dict[int, list[str]],
) -> list[NoteRow]:
    by_seq = {i.seq: i for i in items}
    rows = []
    for item in items:
        # a correction of a confidential note is as confidential as the note itself
        secret = item.confidential or (
            item.corrects is not None
            and item.corrects in by_seq
            and by_seq[item.corrects].confidential
        )
        body = bodies.get(item.seq, {})
        salt = body.get("salt")
        hide = redact and secret
        text = withheld(item.text, salt, "text") if hide else item.text
        reason = item.reason
        if hide and reason:
            reason = withheld(reason, salt, "reason")
        files = []
        for n, a in enumerate(item.attachments):
            if hide:  # a small file's digest would confirm a guess of its content
                files.append(withheld(str(a.get("name")), salt, f"attachment:{n}"))
            else:
                files.append(f"{a.get('name')} ({a.get('size')} bytes, sha256 {a.get('sha256')})")
        answered = []
        for f in body.get("fields", []) if isinstance(body.get("fields"), list) else []:
            value = str(f.get("value", ""))
            if hide:
                value = withheld(value, salt, f"field:{f.get('name')}")
            answered.append((str(f.get("label") or f.get("name")), value))
        rows.append(
            NoteRow(
                seq=item.seq,
                event_time=item.event_time,
                recorded=item.recorded,
                author=item.author,
                text=text,
                confidential=secret,
                witnesses=tuple(name for _, name in item.witnessed_by),
                corrects=item.corrects,
                corrected_by=tuple(item.corrected_by),
                reason=reason,
                tags=tuple(item.tags),
                attachments=tuple(files),
                links=tuple(item.links),
                starred=item.starred,
                template=item.template or "",
                fields=tuple(answered),
                statements=tuple(statements.get(item.seq, ())),
            )
        )
    return rows


LESSON_TAGS = frozenset({"lessons-learned", "lessons", "lesson"})
CAUSE_TAGS = frozenset({"root-cause", "cause"})
WORKAROUND_TAGS = frozenset({"workaround"})


def _tagged(notes: list[NoteRow], tags: frozenset[str]) -> list[str]:
    """Notes a responder tagged for a section; their text is already redacted if need be."""
    return [f"#{n.seq} {n.author}: {n.text}" for n in notes if tags.intersection(n.tags)]


def _duration(secs: int | None) -> str:
    if secs is None:
        return "not reached"
    hours, rest = divmod(secs, 3600)
    return f"{hours} h {rest // 60:02d} min {rest % 60:02d} s"


def _secret(
    model: ReportModel, text: object, confidential: object, salt: object = None, field: str = ""
) -> str:
    """Text of an entry marked confidential, as a redacted report shows it: `field` names
    the body field the text comes from (its commitment's own salt, irkit/formats/redaction.py)."""
    shown = ", ".join(map(str, text)) if isinstance(text, list) else str(text)
    return withheld(shown, salt, field) if model.redacted and confidential else shown


def _incident(model: ReportModel, entries: Sequence[Entry], names: dict[str, str]) -> None:
    from irkit.incident import kpi, lifecycle

    inc = lifecycle.fold(entries)
    z = model.zone
    model.state = inc.state
    model.phases = [Phase(p.state, p.start, p.end, p.waiting_for or "") for p in inc.periods]
    facts = [("State", inc.state)]
    if inc.pending_reason:
        facts.append(("Waiting for", str(inc.pending_reason)))
    if inc.opened is not None:
        facts.append(("Opened", human_moment(inc.opened, z)))
    if inc.first_response is not None:
        facts.append(("First response", human_moment(inc.first_response, z)))
    if inc.priority is not None:
        model.priority = f"P{inc.priority}"
        facts.append(("Priority", model.priority))

    def field_value(name: str) -> str:
        secret = name in inc.secret_fields
        return _secret(model, inc.fields[name], secret, inc.field_salts.get(name), "new")

    # impact and urgency (which give the priority) first, then the rest by name
    order: list[str] = [n for n in ("impact", "urgency") if n in inc.fields]
    order += sorted(n for n in inc.fields if n not in order)
    for name in order:
        if name in ("root-cause", "lessons-learned") or inc.fields[name] is None:
            continue  # long text: their own sections show it
        facts.append((name.capitalize(), field_value(name)))
    if inc.resolution is not None:
        res = inc.resolution
        solution = _secret(
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
        reason = _secret(model, b.get("reason"), b.get("confidential"), b.get("salt"), "reason")
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
            why = _secret(model, w.get("reason"), w.get("confidential"), w.get("salt"), "reason")
            state = f"WITHDRAWN {human_time(w['at'], z)} (#{w['seq']})" + (
                f": {why}" if w.get("reason") else ""
            )
        model.consents.append(
            (
                f"#{grant['seq']}",
                human_time(str(grant["at"]), z) + given,
                _secret(model, grant.get("by"), secret, salt, "by"),
                f"{_secret(model, grant.get('scope'), secret, salt, 'scope')} "
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
                    _secret(
                        model, b.get("summary"), b.get("confidential"), b.get("salt"), "summary"
                    ),
                )
            )
    _outcome(model, inc, names)
    if entries and inc.opened is not None:
        now = lifecycle.when(entries[-1])
        model.sla = sla_rows(inc, now)
        readings = lifecycle.clocks(inc, now)
        model.deadlines = [
            (r.deadline, f"{r.name} due") for r in readings.customer if r.deadline is not None
        ]
        k = kpi.case_kpi(model.case_id, entries, now)
        model.kpis = [
            ("Time to acknowledge", _duration(k.time_to_acknowledge)),
            ("Time to resolve (business hours)", _duration(k.time_to_resolve)),
            ("Time pending", _duration(k.pending)),
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


def _outcome(model: ReportModel, inc: Any, names: dict[str, str]) -> None:
    """Root cause, workaround, resolution, confirmation and follow-up from the fold."""
    by_seq = {e.seq: e for e in inc.history}
    res = inc.resolution
    if res is not None:
        model.root_cause += [
            ("Resolution code", str(res.get("code"))),
            ("Outcome", str(res.get("outcome"))),
        ]
    if inc.fields.get("root-cause"):
        cause = _secret(
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
        model.lessons.append(_secret(model, inc.fields["lessons-learned"], secret, salt, "new"))
    if inc.fields.get("category"):
        category = _secret(
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
            workaround = _secret(
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
            ("Solution", _secret(model, res.get("solution"), secret, salt, "resolution.solution")),
            ("Outcome", str(res.get("outcome"))),
            (
                "Impact",
                _secret(model, res["impact"], secret, salt, "resolution.impact")
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
                f"{_secret(model, body.get('by'), secret, salt, 'by')} via {body.get('channel')} "
                f"at {at} (#{seq})",
            ),
            (
                "Satisfaction",
                f"{body['satisfaction']}/5" if body.get("satisfaction") else "not recorded",
            ),
            (
                "Comment",
                _secret(model, body["comment"], secret, salt, "comment")
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
            note = _secret(model, d.get("note"), d.get("confidential"), d.get("salt"), "note")
            done = f"; done {human_time(d['at'], model.zone)} (#{d['seq']}): {note}"
        note = _secret(model, f.get("note"), f.get("confidential"), f.get("salt"), "note")
        model.followups.append(f"#{seq} scheduled{due}: {note}{done}")


def _key_events(model: ReportModel, entries: Sequence[Entry]) -> None:
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
            out.append((at, "opened", "case"))
        elif e.kind == "incident.state":
            new = str(b.get("new"))
            if first and new != "new":
                out.append((at, "first response", "case"))
                first = False
            elif new in ("resolved", "closed"):
                out.append((at, new, "case"))
        elif e.kind == "incident.escalated":
            to = f"tier {b['tier']}" if b.get("tier") else str(b.get("team") or "")
            out.append((at, f"escalated ({to})", "escalation"))
        elif e.kind == "evidence.collected":
            model.collected_at.append(at)
            out.append((at, f"collected {len(b.get('items', []))} item(s)", "evidence"))
        elif e.kind == "custody.released":
            out.append((at, f"{b.get('transfer')} released", "custody"))
        elif e.kind == "custody.accepted":
            out.append((at, f"{b.get('transfer')} accepted", "custody"))


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


def _zone_of(entries: Sequence[Entry]) -> str:
    """The zone the desk works in (its last signed settings' calendars), else UTC."""
    for e in reversed(entries):
        if e.kind != "incident.configured":
            continue
        settings = e.body.get("settings")
        calendars = settings.get("calendars") if isinstance(settings, dict) else None
        if not isinstance(calendars, dict):
            return "UTC"
        zones = sorted(
            {str(c.get("zone")) for c in calendars.values() if isinstance(c, dict)} - {"UTC"}
        )
        for zone in zones:
            try:
                _zone(zone)
            except (ValueError, OSError, KeyError):
                continue
            return zone
        return "UTC"
    return "UTC"


_NOTE_KINDS = ("note.added", "note.corrected")
# entries other sections show row by row; the case record lists every other entry
_SHOWN_ELSEWHERE = frozenset({*_NOTE_KINDS, "note.witnessed", "evidence.collected"})
# values that structure an entry rather than tell its story: shown even when confidential
_STRUCTURAL = frozenset(
    {
        "old",
        "new",
        "action",
        "kind",
        "trigger",
        "link",
        "change_type",
        "outcome",
        "how",
        "code",
        "field",
        "channel",
        "method",
        "clock",
        "tier",
        "team",
        "escalation",
        "grant",
        "schedule",
        "confirmation",
        "after_days",
        "priority",
        "satisfaction",
        "due",
        "given_at",
        "ref",
        "template",
        "redacted",
        "checkpoint_size",
        "verdict",
    }
)


_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def details(model: ReportModel, kind: str, body: dict[str, Any]) -> str:
    """Every field of a body as `name: value` lines, nothing left out but the salt.

    The generic form is what guarantees a report shows all a journal holds, including
    fields a later version adds. In a confidential entry every free-text value is
    withheld (its field is the value's dotted path in the body).
    """
    secret = model.redacted and body.get("confidential") is True
    salt = body.get("salt")
    lines: list[str] = []

    def walk(path: str, key: str, value: Any) -> None:
        if key in ("salt", "confidential"):
            return
        if value is None:  # written as null: "none" (e.g. a field's old value when first set)
            lines.append(f"{path}: none")
            return
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{path}.{k}" if path else k, k, v)
            return
        if isinstance(value, list):
            if all(not isinstance(v, (dict, list)) for v in value):
                if not value:
                    return
                text = ", ".join(map(str, value))
                hide = secret and (
                    key not in _STRUCTURAL or (kind == "incident.field" and key in ("old", "new"))
                )
                lines.append(f"{path}: {withheld(text, salt, path) if hide else text}")
                return
            for n, v in enumerate(value):
                walk(f"{path}.{n}", key, v)
            return
        text = "yes" if value is True else "no" if value is False else str(value)
        if isinstance(value, str) and _TIME_RE.match(value):
            text = human_time(value, model.zone)
        hide = (
            secret
            and isinstance(value, str)
            and (key not in _STRUCTURAL or (kind == "incident.field" and key in ("old", "new")))
        )
        lines.append(f"{path}: {withheld(text, salt, path) if hide else text}")

    walk("", "", body)
    return "\n".join(lines)


def build(entries: Sequence[Entry], *, redact: bool = False) -> ReportModel:
    """Fold a journal prefix (every entry up to what the report shows) into a model."""
    from irkit.formats import merkle
    from irkit.record.roster import origin_for
    from irkit.record.summary import names_from

    roster = _roster(entries)
    names = names_from(entries)
    zone = _zone_of(entries)
    opened = next((e for e in entries if e.kind == "case.opened"), None)
    title = str(opened.body.get("title", "")) if opened is not None else ""
    root = merkle.root([merkle.leaf_hash(e.line) for e in entries]) if entries else b""
    bodies = {e.seq: e.body for e in entries if e.kind in _NOTE_KINDS}
    statements: dict[int, list[str]] = {}
    for e in entries:
        if e.kind == "note.witnessed":
            statements.setdefault(int(e.body.get("note", -1)), []).append(
                f"{names.get(e.actor, e.actor)} (#{e.seq}): {e.body.get('statement', '')}"
            )
    model = ReportModel(
        case_id=roster.case_id or "?",
        title=title,
        as_of=entries[-1].recorded if entries else "",
        size=len(entries),
        origin=origin_for(roster) or "",
        root_hex=root.hex(),
        redacted=redact,
        signers=[
            Signer(m.name, m.role, m.fingerprint, m.active)
            for m in sorted(roster.members.values(), key=lambda m: m.added_seq)
        ],
        notes=_note_rows(timeline(entries, names), redact, bodies, statements),
        state="new",
        zone=zone,
    )
    model.opener = next((s.name for s in model.signers), "")
    model.opener_fingerprint = next((s.fingerprint for s in model.signers), "")
    if any(e.kind.startswith("incident.") for e in entries):
        _incident(model, entries, names)
    model.handler = model.handler or model.opener
    model.root_cause += [("Responder note", t) for t in _tagged(model.notes, CAUSE_TAGS)]
    model.workarounds += _tagged(model.notes, WORKAROUND_TAGS)
    model.lessons += _tagged(model.notes, LESSON_TAGS)
    model.starred = [f"#{n.seq} {n.author}: {n.text}" for n in model.notes if n.starred]
    if any(e.kind == "evidence.collected" for e in entries):
        _evidence(model, entries, names)
    model.backups = [_backup_row(model, e, names) for e in entries if e.kind.startswith("backup.")]
    model.exports = [
        (
            e.seq,
            human_time(e.recorded, zone),
            f"{e.body.get('template')}{' (redacted)' if e.body.get('redacted') else ''}, "
            f"{entry_range(int(e.body.get('checkpoint_size') or 0))}",
            str(e.body.get("pdf_sha256", "")),
        )
        for e in entries
        if e.kind == REPORT_KIND
    ]
    model.record = [
        (
            e.seq,
            human_time(e.recorded, zone),
            names.get(e.actor, e.actor),
            e.kind,
            details(model, e.kind, e.body),
        )
        for e in entries
        if e.kind not in _SHOWN_ELSEWHERE and not e.kind.startswith("custody.")
    ]
    _key_events(model, entries)
    model.summary_lines = _summary_lines(model)
    return model


def entry_range(size: int) -> str:
    """Journal entries are numbered as `irkit log` numbers them: #0 is the case's opening."""
    if size <= 0:
        return "no entries"
    return f"entries #0–#{size - 1} ({size} entries)"


def _summary_lines(m: ReportModel) -> list[str]:
    """The executive summary: a narrative stated only from facts the journal holds, then the
    notes a responder starred for it."""
    z = m.zone
    secret = sum(1 for n in m.notes if n.confidential)
    transfers = sum(1 for r in m.custody_log if r.step == "released")
    passed = sum(1 for b in m.backups if b.verdict == "PASS")
    failed = sum(1 for b in m.backups if b.verdict == "FAIL")
    opened = f" on {human_moment(m.phases[0].start, z)}" if m.phases else ""
    lines = [
        f"Case {m.case_id}, “{m.title}”, was opened by {m.opener}{opened}. This report "
        f"shows the signed journal up to {human_time(m.as_of, z)} ({entry_range(m.size)}).",
    ]
    story = f"The incident is {m.state}"
    story += f", priority {m.priority}" if m.priority else ", with no priority set"
    story += f", handled by {m.handler}."
    ends = {p.state: p.start for p in m.phases}
    for state in ("resolved", "closed"):
        if state in ends:
            story += f" It was {state} on {human_moment(ends[state], z)}."
    if m.escalations:
        open_ = sum(1 for e in m.escalations if e[5] == "NOT ACKNOWLEDGED")
        story += f" It was escalated {len(m.escalations)} time(s)"
        story += f" ({open_} not acknowledged)." if open_ else ", each acknowledged."
    pending = [p for p in m.phases if p.state == "pending"]
    if pending:
        story += (
            f" Work paused {len(pending)} time(s) while waiting for "
            + ", ".join(sorted({p.waiting_for or "?" for p in pending}))
            + "."
        )
    lines.append(story)
    lines.append(
        f"Responders wrote {len(m.notes)} notes ({secret} confidential), collected "
        f"{len(m.evidence)} evidence items and handed items over {transfers} time(s); "
        f"{len(m.backups)} backup verification(s) were recorded ({passed} PASS, {failed} FAIL)."
    )
    if m.sla:
        met = [n for n, _, v in m.sla if v.startswith("met")]
        missed = [n for n, _, v in m.sla if v.startswith("breached")]
        other = [f"{n} {v.split()[0]}" for n, _, v in m.sla if n not in met and n not in missed]
        lines.append(
            f"Service levels: {len(met)} met, {len(missed)} missed"
            + (f" ({', '.join(missed)})" if missed else "")
            + (f"; {', '.join(other)}" if other else "")
            + "."
        )
    else:
        lines.append("Service levels: no priority set, so no SLA clocks ran.")
    return lines


def _backup_row(model: ReportModel, e: Entry, names: dict[str, str]) -> BackupRow:
    """A backup entry with every field it records (details), however many a version adds."""
    b = e.body
    at = human_time(e.recorded, model.zone)
    by = names.get(e.actor, e.actor)
    detail = details(model, e.kind, b)
    if e.kind != "backup.verified":
        return BackupRow(at, by, e.kind, "", "", detail, False, e.seq)
    return BackupRow(
        at,
        by,
        str(b.get("artifact_kind", "")),
        str(b.get("artifact", "")),
        str(b.get("verdict", "")),
        detail,
        bool(b.get("signed_off")),
        e.seq,
    )


def _brief(body: dict[str, Any]) -> str:
    """A compact, deterministic one-line rendering of a body from a domain we do not model."""
    parts = []
    for key in sorted(body):
        value = body[key]
        if isinstance(value, (str, int, bool)):
            parts.append(f"{key}={value}")
        elif isinstance(value, list):
            parts.append(f"{key}=[{len(value)}]")
    return ", ".join(parts)


def _ranges(ids: Sequence[str]) -> str:
    """E-0001, E-0002, E-0003, E-0007 -> "E-0001–E-0003, E-0007" (a 10,000-item transfer
    stays one line)."""
    out: list[str] = []
    run: list[str] = []
    for item in ids:
        if run and item[2:].isdigit() and int(item[2:]) == int(run[-1][2:]) + 1:
            run.append(item)
            continue
        if run:
            out.append(run[0] if len(run) == 1 else f"{run[0]}–{run[-1]}")
        run = [item]
    if run:
        out.append(run[0] if len(run) == 1 else f"{run[0]}–{run[-1]}")
    return ", ".join(out)


_MEMBER_KINDS = ("case.opened", "member.added", "member.removed")


def _evidence(model: ReportModel, entries: Sequence[Entry], names: dict[str, str]) -> None:
    """Evidence items and one custody form per item, from a single pass over the journal.

    The custody module's own `apply` decides what is allowed, so a step the report shows as
    refused is exactly what `irkit verify` flags; each custody entry's signature is checked
    once (not once per item it names) against the signer's roster key.
    """
    from irkit.evidence import custody
    from irkit.formats.ed25519 import PublicKey
    from irkit.record.entry import split_signature

    zone = model.zone
    roles = {s.fingerprint: s for s in model.signers}
    state = custody.Custody()
    roster = Roster.empty()
    problems: dict[str, list[str]] = {}
    signatures: dict[int, str] = {}
    rows: dict[str, EvidenceRow] = {}

    def person(fp: str | None) -> str:
        if not fp:
            return ""
        s = roles.get(fp)
        return f"{s.name} ({s.role})" if s else fp

    def signature(e: Entry) -> str:
        member = roster.members.get(e.actor)
        if member is None:
            return "unknown key"
        cut = split_signature(e.line)
        key = PublicKey(base64.b64decode(member.public_key))
        return "valid" if cut is not None and key.verify(cut[1], cut[0]) else "INVALID"

    for e in entries:
        if e.kind in _MEMBER_KINDS:
            roster.apply(e.seq, e.kind, e.body)
            custody.remember_keys(roster)
            continue
        if e.kind != "evidence.collected" and e.kind not in custody.KINDS:
            continue
        b = e.body
        signatures[e.seq] = signature(e)
        if e.kind == "evidence.collected":
            secret = b.get("confidential")  # paths and description name people or secrets
            description = b.get("description") or ""
            salt = b.get("salt")
            for n, item in enumerate(b.get("items", [])):
                rows[item["id"]] = EvidenceRow(
                    item["id"],
                    _secret(model, item.get("path", ""), secret, salt, f"items.{n}.path"),
                    int(item.get("size", 0)),
                    str(item.get("sha256", "")),
                    human_time(e.recorded, model.zone),
                    names.get(e.actor, e.actor),
                    description=_secret(model, description, secret, salt, "description")
                    if description
                    else "",
                    host=str(b.get("host") or ""),
                    location=str(b.get("location") or ""),
                    md5=str(item.get("md5") or ""),
                    stored=bool(item.get("stored", True)),
                    mtime=human_time(str(item.get("mtime", "")), model.zone),
                    collected_seq=e.seq,
                )
        targets = [i["id"] if isinstance(i, dict) else str(i) for i in b.get("items", [])]
        if e.kind == "custody.accepted" and b.get("transfer") in state.transfers:
            targets = list(state.transfers[b["transfer"]][0].body["items"])
        why = custody.apply(state, e, roster.case_id)
        if why is not None:
            for item_id in targets:
                problems.setdefault(item_id, []).append(f"entry #{e.seq} ({e.kind}): {why}")
            continue
        for check in b.get("checks", []) if isinstance(b.get("checks"), list) else []:
            if not check.get("ok"):
                problems.setdefault(check["item"], []).append(
                    f"re-hash at entry #{e.seq} failed: {check.get('note') or 'no reason given'}"
                )
        if signatures[e.seq] != "valid":
            for item_id in targets:
                problems.setdefault(item_id, []).append(
                    f"entry #{e.seq} signature: {signatures[e.seq]}"
                )
        detail = _log_detail(e, state, person, model)
        model.custody_log.append(
            CustodyLogRow(
                e.seq,
                human_time(e.recorded, model.zone),
                e.kind.split(".")[1],
                names.get(e.actor, e.actor),
                _ranges(targets),
                detail,
            )
        )
    model.evidence = list(rows.values())
    for item_id, holding in state.items.items():
        row = rows.get(item_id)
        if row is None:
            continue
        events = tuple(
            _event(e, state, row, person, signatures.get(e.seq, "?"), zone) for e in holding.events
        )
        seen = {holding.holder} | {e.actor for e in holding.events}
        seen |= {str(e.body["to"]) for e in holding.events if e.body.get("to")}
        seen |= {str(e.body["witness"]) for e in holding.events if e.body.get("witness")}
        handlers = tuple(s for s in model.signers if s.fingerprint in seen)
        if holding.final:
            status = f"{holding.final} (chain closed); last held by {person(holding.holder)}"
        elif holding.transfer:
            release = state.transfers[holding.transfer][0]
            status = (
                f"in transit ({holding.transfer}) from {person(holding.holder)} to "
                f"{person(release.body.get('to'))}, not yet accepted"
            )
        else:
            status = f"held by {person(holding.holder)}"
        model.custody.append(
            CustodyForm(row, events, handlers, status, tuple(problems.get(item_id, ())))
        )


def _log_detail(e: Entry, state: Any, person: Any, model: ReportModel) -> str:
    b = e.body
    if e.kind == "evidence.collected":
        where = f" at {b['location']}" if b.get("location") else ""
        said = (
            _secret(model, b["description"], b.get("confidential"), b.get("salt"), "description")
            if b.get("description")
            else ""
        )
        return f"collected on {b.get('host')}{where}: {said}".strip()
    if e.kind == "custody.released":
        where = f" at {b['location']}" if b.get("location") else ""
        how = f" (method: {b['method']})" if b.get("method") else ""
        return f"{b.get('transfer')} to {person(b.get('to'))} for {b.get('purpose')}{where}{how}"
    if e.kind == "custody.accepted":
        giver = state.transfers[b["transfer"]][0].actor
        cond = f"; condition: {b['condition']}" if b.get("condition") else ""
        return f"{b.get('transfer')} from {person(giver)}{cond}"
    said = str(b.get("location") or b.get("reason") or "")
    if b.get("witness"):
        said += f"; witnessed by {person(b['witness'])}"
    raw = b.get("checks")
    checks: list[Any] = raw if isinstance(raw, list) else []
    failed = [str(c.get("item")) for c in checks if not c.get("ok")]
    if checks:
        said += "; re-hash " + (f"FAILED for {', '.join(failed)}" if failed else "matched")
    return said.strip("; ")


def _event(
    e: Entry, state: Any, row: EvidenceRow, person: Any, signature: str, zone: Any
) -> CustodyEvent:
    b = e.body
    giver = receiver = purpose = location = condition = ""
    if e.kind == "evidence.collected":
        giver = f"source: {row.host}:{row.path}" if row.host else f"source: {row.path}"
        receiver = person(e.actor)
        purpose = f"collected: {row.description}" if row.description else "collected"
        location = row.location
    elif e.kind == "custody.released":
        giver, receiver = person(e.actor), person(b.get("to"))
        purpose = f"{b.get('transfer')}: {b.get('purpose')}"
        if b.get("method"):
            purpose += f" (method: {b['method']})"
        location = str(b.get("location") or "")
    elif e.kind == "custody.accepted":
        giver, receiver = person(state.transfers[b["transfer"]][0].actor), person(e.actor)
        purpose = f"{b.get('transfer')} accepted after re-hash"
        handed = state.transfers[b["transfer"]][0].body.get("location")
        location = f"{handed} (hand-over place, as released)" if handed else ""
        condition = str(b.get("condition") or "")
    elif e.kind == "custody.stored":
        giver = receiver = person(e.actor)
        purpose, location = "stored", str(b.get("location") or "")
    elif e.kind == "custody.checked":
        giver = receiver = person(e.actor)
        purpose = "integrity check"
    else:  # returned / disposed
        giver = person(e.actor)
        purpose = str(b.get("reason") or "")
        if b.get("witness"):
            purpose += f"; witnessed by {person(b['witness'])}"
    if isinstance(b.get("checks"), list):
        mine = [c for c in b["checks"] if c.get("item") == row.id]
        if mine:
            verdict = (
                "re-hash matched" if mine[0].get("ok") else f"RE-HASH FAILED: {mine[0].get('note')}"
            )
            condition = f"{condition}; {verdict}" if condition else verdict
    return CustodyEvent(
        seq=e.seq,
        at=human_time(e.recorded, zone),
        local="",
        step=e.kind.split(".")[1],
        by=person(e.actor),
        signer=e.actor,
        giver=giver,
        receiver=receiver,
        purpose=purpose,
        location=location or "not recorded",
        condition=condition or "not recorded",
        signature=signature,
    )

"""The report model: everything a report shows, folded from a journal prefix.

Kept apart from rendering so tests and `--check` can reason about what a PDF must contain
without reportlab, and so redaction happens once, before any text reaches the renderer.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from irkit.entry import Entry
from irkit.notes import TimelineItem, timeline
from irkit.roster import Roster

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


@dataclass(frozen=True)
class Phase:
    state: str
    start: datetime
    end: datetime | None


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
    escalations: list[str] = field(default_factory=list)
    consents: list[str] = field(default_factory=list)
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

    @property
    def checkpoint_text(self) -> str:
        """The unsigned checkpoint body (C2SP tlog-checkpoint form) this report shows."""
        import base64

        root_b64 = base64.b64encode(bytes.fromhex(self.root_hex)).decode()
        return f"{self.origin}\n{self.size}\n{root_b64}\n"


def withheld(text: str) -> str:
    """What a redacted report shows instead of confidential text: proof of what was held."""
    return f"{REDACTED} sha256:{hashlib.sha256(text.encode()).hexdigest()}"


def _roster(entries: Sequence[Entry]) -> Roster:
    roster = Roster.empty()
    for e in entries:
        roster.apply(e.seq, e.kind, e.body)
    return roster


def _note_rows(items: list[TimelineItem], redact: bool) -> list[NoteRow]:
    by_seq = {i.seq: i for i in items}
    rows = []
    for item in items:
        # a correction of a confidential note is as confidential as the note itself
        secret = item.confidential or (
            item.corrects is not None
            and item.corrects in by_seq
            and by_seq[item.corrects].confidential
        )
        text = withheld(item.text) if redact and secret else item.text
        reason = item.reason
        if redact and secret and reason:
            reason = withheld(reason)
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


def _case_zone(inc: Any) -> str:
    """The zone the desk works in (its signed settings), so forms can show local times."""
    if inc.settings is None:
        return "UTC"
    zones = sorted({c.zone for c in inc.settings.calendars.values()} - {"UTC"})
    return zones[0] if zones else "UTC"


def _secret(model: ReportModel, text: object, confidential: object) -> str:
    """Text of a lifecycle entry marked confidential, as a redacted report shows it."""
    shown = ", ".join(map(str, text)) if isinstance(text, list) else str(text)
    return withheld(shown) if model.redacted and confidential else shown


def _incident(model: ReportModel, entries: Sequence[Entry], names: dict[str, str]) -> None:
    from irkit import kpi, lifecycle

    inc = lifecycle.fold(entries)
    model.state = inc.state
    model.zone = _case_zone(inc)
    model.phases = [Phase(p.state, p.start, p.end) for p in inc.periods]
    facts = [("State", inc.state)]
    if inc.opened is not None:
        facts.append(("Opened", inc.opened.isoformat()))
    for name, value in sorted(inc.fields.items()):
        if name in ("root-cause", "lessons-learned"):
            continue  # long text: their own sections show it
        facts.append((name.capitalize(), _secret(model, value, name in inc.secret_fields)))
    if inc.priority is not None:
        model.priority = f"P{inc.priority}"
        facts.append(("Priority", model.priority))
    if inc.resolution is not None:
        solution = _secret(
            model, inc.resolution.get("solution"), inc.resolution.get("confidential")
        )
        facts.append(("Resolution", f"{inc.resolution.get('code')}: {solution}"))
    if inc.closure is not None:
        facts.append(("Closure", str(inc.closure.get("how"))))
    model.incident_facts = facts
    for key in ("assignee", "owner"):
        if inc.fields.get(key):
            who = _secret(model, inc.fields[key], key in inc.secret_fields)
            setattr(model, "handler" if key == "assignee" else "owner", who)
    for esc in inc.escalations:
        ack = (
            f"; acknowledged {esc.acknowledged[1].isoformat()} by "
            f"{names.get(esc.acknowledged[2], esc.acknowledged[2])}"
            if esc.acknowledged
            else ""
        )
        model.escalations.append(
            f"{esc.at.isoformat()} {esc.body.get('kind')} ({esc.body.get('trigger')}): "
            f"{_secret(model, esc.body.get('reason'), esc.body.get('confidential'))}{ack}"
        )
    for grant in inc.consents.values():
        secret = grant.get("confidential")
        model.consents.append(
            f"{grant.get('action', 'granted')} by {_secret(model, grant.get('by'), secret)} "
            f"via {grant.get('method')}: {_secret(model, grant.get('scope'), secret)}"
        )
    _outcome(model, inc, names)
    if entries and inc.opened is not None:
        now = lifecycle.when(entries[-1])
        model.sla = sla_rows(inc, now)
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
        cause = _secret(model, inc.fields["root-cause"], "root-cause" in inc.secret_fields)
        model.root_cause.append(("Root cause", cause))
    if inc.fields.get("lessons-learned"):
        secret = "lessons-learned" in inc.secret_fields
        model.lessons.append(_secret(model, inc.fields["lessons-learned"], secret))
    if inc.fields.get("category"):
        category = _secret(model, inc.fields["category"], "category" in inc.secret_fields)
        model.root_cause.append(("Category", category))
    for (link, ref), body in sorted(inc.links.items()):
        if link in ("problem", "known-error"):
            model.root_cause.append((f"Linked {link} record", ref))
        if body.get("workaround"):
            workaround = _secret(model, body["workaround"], body.get("confidential"))
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
        secret = res.get("confidential")
        model.resolution = [
            ("Code", str(res.get("code"))),
            ("Solution", _secret(model, res.get("solution"), secret)),
            ("Outcome", str(res.get("outcome"))),
            (
                "Impact",
                _secret(model, res["impact"], secret) if res.get("impact") else "not recorded",
            ),
        ]
        if resolved is not None:
            model.resolution.append(
                ("Resolved", f"{resolved.recorded} by {names.get(resolved.actor, resolved.actor)}")
            )
    if inc.confirmation is not None:
        seq, body = inc.confirmation
        at = by_seq[seq].recorded if seq in by_seq else "?"
        secret = body.get("confidential")
        model.confirmation = [
            (
                "Confirmed by",
                f"{_secret(model, body.get('by'), secret)} via {body.get('channel')} at {at}",
            ),
            (
                "Satisfaction",
                f"{body['satisfaction']}/5" if body.get("satisfaction") else "not recorded",
            ),
            (
                "Comment",
                _secret(model, body["comment"], secret) if body.get("comment") else "none",
            ),
        ]
    if inc.closure is not None:
        how = str(inc.closure.get("how"))
        if how == "auto":
            how += f" after {inc.closure.get('after_days')} days without an answer"
        model.confirmation.append(("Closure", how))
    for seq, f in sorted(inc.followups.items()):
        due = f" due {f['due']}" if f.get("due") else ""
        done = "; open"
        if f.get("done"):
            note = _secret(model, f["done"].get("note"), f["done"].get("confidential"))
            done = f"; done {f['done']['at']}: {note}"
        model.followups.append(
            f"#{seq} scheduled{due}: {_secret(model, f.get('note'), f.get('confidential'))}{done}"
        )


def sla_rows(inc: Any, now: datetime) -> list[tuple[str, str, str]]:
    """Each SLA clock as (clock, target, result) at the report's as-of time."""
    from irkit import lifecycle

    readings = lifecycle.clocks(inc, now)
    rows = []
    for group, items in (("customer", readings.customer), ("internal", readings.internal)):
        for r in items:
            rows.append(
                (f"{group} {r.name}", str(r.target), f"{r.status} ({r.permille / 10:.1f} %)")
            )
    return rows


def build(entries: Sequence[Entry], *, redact: bool = False) -> ReportModel:
    """Fold a journal prefix (every entry up to what the report shows) into a model."""
    from irkit import merkle
    from irkit.summary import names_from
    from irkit.verify import origin_for

    roster = _roster(entries)
    names = names_from(entries)
    opened = next((e for e in entries if e.kind == "case.opened"), None)
    title = str(opened.body.get("title", "")) if opened is not None else ""
    root = merkle.root([merkle.leaf_hash(e.line) for e in entries]) if entries else b""
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
        notes=_note_rows(timeline(entries, names), redact),
        state="new",
    )
    model.opener = next((s.name for s in model.signers), "")
    model.opener_fingerprint = next((s.fingerprint for s in model.signers), "")
    if any(e.kind.startswith("incident.") for e in entries):
        _incident(model, entries, names)
    model.handler = model.handler or model.opener
    model.root_cause += [("Responder note", t) for t in _tagged(model.notes, CAUSE_TAGS)]
    model.workarounds += _tagged(model.notes, WORKAROUND_TAGS)
    model.lessons += _tagged(model.notes, LESSON_TAGS)
    if any(e.kind == "evidence.collected" for e in entries):
        _evidence(model, entries, names)
    model.backups = [_backup_row(e, names) for e in entries if e.kind.startswith("backup.")]
    model.exports = [
        (
            e.seq,
            e.recorded,
            f"{e.body.get('template')}{' (redacted)' if e.body.get('redacted') else ''}, "
            f"entries 1–{e.body.get('checkpoint_size')}",
            str(e.body.get("pdf_sha256", "")),
        )
        for e in entries
        if e.kind == REPORT_KIND
    ]
    model.summary_lines = _summary_lines(model)
    return model


def _summary_lines(m: ReportModel) -> list[str]:
    """The executive summary, stated only from facts the journal holds."""
    secret = sum(1 for n in m.notes if n.confidential)
    transfers = sum(1 for r in m.custody_log if r.step == "released")
    passed = sum(1 for b in m.backups if b.verdict == "PASS")
    failed = sum(1 for b in m.backups if b.verdict == "FAIL")
    lines = [
        f"Case {m.case_id} “{m.title}” was opened by {m.opener}"
        + (f" on {m.phases[0].start.isoformat()}" if m.phases else "")
        + f"; this report shows the journal up to {m.as_of}.",
        f"Priority: {m.priority or 'not set'}. State: {m.state}. Handler: {m.handler}.",
        f"Recorded: {len(m.notes)} notes ({secret} confidential), {len(m.evidence)} evidence "
        f"items, {transfers} custody transfers, {len(m.backups)} backup verifications "
        f"({passed} PASS, {failed} FAIL).",
    ]
    ends = {p.state: p.start.isoformat() for p in m.phases}
    for state in ("resolved", "closed"):
        if state in ends:
            lines.append(f"{state.capitalize()}: {ends[state]}.")
    if m.sla:
        met = [n for n, _, v in m.sla if v.startswith("met")]
        missed = [n for n, _, v in m.sla if v.startswith("breached")]
        other = [f"{n} {v.split()[0]}" for n, _, v in m.sla if n not in met and n not in missed]
        lines.append(
            f"SLA: {len(met)} met, {len(missed)} missed"
            + (f" ({', '.join(missed)})" if missed else "")
            + (f"; {', '.join(other)}" if other else "")
            + "."
        )
    else:
        lines.append("SLA: no priority set, so no SLA clocks ran.")
    return lines


def _backup_row(e: Entry, names: dict[str, str]) -> BackupRow:
    b = e.body
    if e.kind != "backup.verified":
        return BackupRow(e.recorded, names.get(e.actor, e.actor), e.kind, "", "", _brief(b), False)
    detail = ", ".join(
        f"{b.get(k)} {k}" for k in ("matched", "changed", "missing", "extra", "moved", "refused")
    )
    detail += (
        f"; {b.get('checks_failed')} check(s) failed; artifact sha256 {b.get('artifact_sha256')}"
    )
    return BackupRow(
        e.recorded,
        names.get(e.actor, e.actor),
        str(b.get("artifact_kind", "")),
        str(b.get("artifact", "")),
        str(b.get("verdict", "")),
        detail,
        bool(b.get("signed_off")),
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


def _local(recorded: str, zone: Any) -> str:
    if zone is None:
        return ""
    try:
        moment = datetime.fromisoformat(recorded).astimezone(zone)
    except ValueError:
        return ""
    return f"{moment:%Y-%m-%d %H:%M:%S} {moment.tzname()} ({zone.key})"


def _evidence(model: ReportModel, entries: Sequence[Entry], names: dict[str, str]) -> None:
    """Evidence items and one custody form per item, from a single pass over the journal.

    The custody module's own `apply` decides what is allowed, so a step the report shows as
    refused is exactly what `irkit verify` flags; each custody entry's signature is checked
    once (not once per item it names) against the signer's roster key.
    """
    from zoneinfo import ZoneInfo

    from irkit import custody
    from irkit.entry import split_signature
    from irkit.keys import PublicKey

    zone = None if model.zone == "UTC" else ZoneInfo(model.zone)
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
            for item in b.get("items", []):
                rows[item["id"]] = EvidenceRow(
                    item["id"],
                    _secret(model, item.get("path", ""), secret),
                    int(item.get("size", 0)),
                    str(item.get("sha256", "")),
                    e.recorded,
                    names.get(e.actor, e.actor),
                    description=_secret(model, description, secret) if description else "",
                    host=str(b.get("host") or ""),
                    location=str(b.get("location") or ""),
                    md5=str(item.get("md5") or ""),
                    stored=bool(item.get("stored", True)),
                    mtime=str(item.get("mtime", "")),
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
                e.recorded,
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
            _secret(model, b["description"], b.get("confidential")) if b.get("description") else ""
        )
        return f"collected on {b.get('host')}{where}: {said}".strip()
    if e.kind == "custody.released":
        return f"{b.get('transfer')} to {person(b.get('to'))} for {b.get('purpose')}"
    if e.kind == "custody.accepted":
        giver = state.transfers[b["transfer"]][0].actor
        cond = f"; condition: {b['condition']}" if b.get("condition") else ""
        return f"{b.get('transfer')} from {person(giver)}{cond}"
    return str(b.get("location") or b.get("reason") or "")


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
        at=e.recorded,
        local=_local(e.recorded, zone),
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

"""The report model: everything a report shows, folded from a journal prefix.

Kept apart from rendering so tests and `--check` can reason about what a PDF must contain
without reportlab, and so redaction happens once, before any text reaches the renderer.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class Phase:
    state: str
    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class EvidenceRow:
    id: str
    path: str
    size: int
    sha256: str
    collected: str  # recorded time
    by: str


@dataclass(frozen=True)
class CustodyStep:
    at: str
    kind: str  # collected / released / accepted / checked / stored / returned / disposed
    who: str
    detail: str


@dataclass(frozen=True)
class CustodyChain:
    item: str
    holder: str
    final: str | None
    steps: tuple[CustodyStep, ...]


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
    custody: list[CustodyChain] = field(default_factory=list)
    backups: list[tuple[str, str, str, str]] = field(default_factory=list)  # time, kind, who, what
    opener: str = ""

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
            )
        )
    return rows


def _incident(model: ReportModel, entries: Sequence[Entry]) -> None:
    from irkit import lifecycle

    inc = lifecycle.fold(entries)
    model.state = inc.state
    model.phases = [Phase(p.state, p.start, p.end) for p in inc.periods]
    facts = [("State", inc.state)]
    if inc.opened is not None:
        facts.append(("Opened", inc.opened.isoformat()))
    for name, value in sorted(inc.fields.items()):
        facts.append((name.capitalize(), str(value)))
    if inc.priority is not None:
        facts.append(("Priority", f"P{inc.priority}"))
    if inc.resolution is not None:
        facts.append(
            ("Resolution", f"{inc.resolution.get('code')}: {inc.resolution.get('solution')}")
        )
    if inc.closure is not None:
        facts.append(("Closure", str(inc.closure.get("how"))))
    model.incident_facts = facts
    for esc in inc.escalations:
        ack = (
            f"; acknowledged {esc.acknowledged[1].isoformat()} by {esc.acknowledged[2]}"
            if esc.acknowledged
            else ""
        )
        model.escalations.append(
            f"{esc.at.isoformat()} {esc.body.get('kind')} ({esc.body.get('trigger')}): "
            f"{esc.body.get('reason')}{ack}"
        )
    for grant in inc.consents.values():
        model.consents.append(
            f"{grant.get('action', 'granted')} by {grant.get('by')} via {grant.get('method')}: "
            f"{grant.get('scope')}"
        )
    if entries and inc.opened is not None:
        now = lifecycle.when(entries[-1])
        model.sla = sla_rows(inc, now)


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
    if any(e.kind.startswith("incident.") for e in entries):
        _incident(model, entries)
    if any(e.kind == "evidence.collected" for e in entries):
        _evidence(model, entries, names)
    model.backups = [
        (e.recorded, e.kind, names.get(e.actor, e.actor), _brief(e.body))
        for e in entries
        if e.kind.startswith("backup.")
    ]
    return model


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


def _evidence(model: ReportModel, entries: Sequence[Entry], names: dict[str, str]) -> None:
    """Evidence and custody through the evidence/custody modules' own folds."""
    from irkit import evidence

    inv = evidence.inventory(entries)
    model.evidence = [
        EvidenceRow(
            item.id,
            str(item.body.get("path", "")),
            int(item.body.get("size", 0)),
            str(item.body.get("sha256", "")),
            item.collected.recorded,
            names.get(item.collected.actor, item.collected.actor),
        )
        for item in inv.items.values()
    ]
    try:
        from irkit import custody
    except ImportError:  # custody not part of this install: the section says so
        return
    state = custody.fold(entries)
    for item_id, holding in state.items.items():
        steps = []
        for e in holding.events:
            b = e.body
            if e.kind == "custody.released":
                detail = f"to {names.get(b.get('to', ''), b.get('to', ''))} ({b.get('transfer')})"
            elif e.kind == "custody.accepted":
                detail = f"transfer {b.get('transfer')}"
            else:
                detail = str(b.get("reason", b.get("location", "")) or "")
            steps.append(
                CustodyStep(
                    e.recorded,
                    e.kind.split(".")[1],
                    names.get(e.actor, e.actor),
                    detail,
                )
            )
        model.custody.append(
            CustodyChain(
                item_id, names.get(holding.holder, holding.holder), holding.final, tuple(steps)
            )
        )

"""The report model: everything a report shows, folded from a journal prefix.

Kept apart from rendering so tests and `--check` can reason about what a PDF must contain
without reportlab, and so redaction happens once, before any text reaches the renderer.
This module holds the model's types, the time and redaction forms every section shares,
and `build`; each part of the case is folded in irkit/report/facts/.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from irkit.notes.notes import timeline
from irkit.record.entry import Entry
from irkit.record.roster import Roster

REPORT_KIND = "report.exported"


@dataclass(frozen=True)
class Signer:
    name: str
    role: str
    fingerprint: str
    active: bool
    contact: str = ""  # phone, e-mail, when their member entry gives one


@dataclass(frozen=True)
class NoteRow:
    seq: int
    event_time: str
    recorded: str
    author: str
    text: str  # a salted commitment when withheld (irkit/formats/redaction.py)
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
    # the rest of what the journal records per file (`irkit evidence check` compares it)
    mode: str = ""  # permission bits, octal: "0644"
    uid: int = 0
    gid: int = 0
    ctime: str = ""  # inode change time
    atime: str = ""  # last access, as it was when collected
    source_host: str = ""  # the system the files came from, when the collector said
    source_serial: str = ""  # and its serial number, model, MAC and IP addresses
    source_model: str = ""
    source_mac: str = ""  # comma-separated, as recorded
    source_ip: str = ""
    path_b64: str = ""  # the exact bytes of a name that is not valid UTF-8


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
    # the timeline figure: (moment, label, kind, entry) for key events, and SLA deadlines
    key_events: list[tuple[datetime, str, str, int]] = field(default_factory=list)
    deadlines: list[tuple[datetime, str]] = field(default_factory=list)
    collected_at: list[datetime] = field(default_factory=list)
    evidence: list[EvidenceRow] = field(default_factory=list)
    custody: list[CustodyForm] = field(default_factory=list)
    custody_log: list[CustodyLogRow] = field(default_factory=list)
    # item -> where a by-reference original was later found: "PATH on HOST (#seq, time)"
    relocations: dict[str, list[str]] = field(default_factory=dict)
    # what a collection met and did not take (symlinks, devices...): (entry, path, what)
    skipped: list[tuple[int, str, str]] = field(default_factory=list)
    backups: list[BackupRow] = field(default_factory=list)
    opener: str = ""
    opened_at: str = ""  # the case.opened entry's recorded time
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
    # recorded: a signed report.exported entry records this PDF (a member's export); False
    # for a copy rendered without one (a non-member, `irkit report --no-record`)
    recorded: bool = True

    @property
    def root_b64(self) -> str:
        """The Merkle root as a checkpoint file writes it (C2SP tlog-checkpoint: base64)."""
        return base64.b64encode(bytes.fromhex(self.root_hex)).decode()

    @property
    def export_record(self) -> str:
        """What the PDF says about its own record in the journal."""
        if self.recorded:
            return (
                "recorded: this PDF's SHA-256 is in a signed report.exported entry that "
                f"follows entry #{self.size - 1}"
            )
        return (
            "NOT RECORDED in the journal: rendered from a copy of the case without a member's "
            "signature (a non-member, or --no-record); irkit report --check still proves "
            "it is what the journal shown produces"
        )

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


def masked(
    model: ReportModel, text: object, confidential: object, salt: object = None, field: str = ""
) -> str:
    """Text of an entry marked confidential, as a redacted report shows it: `field` names
    the body field the text comes from (its commitment's own salt, irkit/formats/redaction.py)."""
    shown = ", ".join(map(str, text)) if isinstance(text, list) else str(text)
    return withheld(shown, salt, field) if model.redacted and confidential else shown


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


NOTE_KINDS = ("note.added", "note.corrected")
# entries other sections show row by row; the case record lists every other entry
SHOWN_ELSEWHERE = frozenset({*NOTE_KINDS, "note.witnessed", "evidence.collected"})
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
    from irkit.report.facts.evidence import fold_evidence
    from irkit.report.facts.incident import fold_incident, key_events
    from irkit.report.facts.notes import CAUSE_TAGS, LESSON_TAGS, WORKAROUND_TAGS, note_rows, tagged
    from irkit.report.facts.summary import summary_lines

    roster = _roster(entries)
    names = names_from(entries)
    zone = _zone_of(entries)
    opened = next((e for e in entries if e.kind == "case.opened"), None)
    title = str(opened.body.get("title", "")) if opened is not None else ""
    root = merkle.root([merkle.leaf_hash(e.line) for e in entries]) if entries else b""
    bodies = {e.seq: e.body for e in entries if e.kind in NOTE_KINDS}
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
            Signer(m.name, m.role, m.fingerprint, m.active, m.contact or "")
            for m in sorted(roster.members.values(), key=lambda m: m.added_seq)
        ],
        notes=note_rows(timeline(entries, names), redact, bodies, statements),
        state="new",
        zone=zone,
    )
    model.opened_at = opened.recorded if opened is not None else ""
    model.opener = next((s.name for s in model.signers), "")
    model.opener_fingerprint = next((s.fingerprint for s in model.signers), "")
    if any(e.kind.startswith("incident.") for e in entries):
        fold_incident(model, entries, names)
    model.handler = model.handler or model.opener
    model.root_cause += [("Responder note", t) for t in tagged(model.notes, CAUSE_TAGS)]
    model.workarounds += tagged(model.notes, WORKAROUND_TAGS)
    model.lessons += tagged(model.notes, LESSON_TAGS)
    if any(e.kind == "evidence.collected" for e in entries):
        fold_evidence(model, entries, names)
    model.backups = [backup_row(model, e, names) for e in entries if e.kind.startswith("backup.")]
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
        if e.kind not in SHOWN_ELSEWHERE and not e.kind.startswith("custody.")
    ]
    key_events(model, entries)
    model.summary_lines = summary_lines(model)
    return model


def entry_range(size: int) -> str:
    """Journal entries are numbered as `irkit log` numbers them: #0 is the case's opening."""
    if size <= 0:
        return "no entries"
    return f"entries #0–#{size - 1} ({size} entries)"


def backup_row(model: ReportModel, e: Entry, names: dict[str, str]) -> BackupRow:
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

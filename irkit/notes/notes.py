"""First-responder notes: signed, timestamped twice (when it happened, when it was written).

Nothing is edited in place: a correction is a new entry pointing at the note it corrects,
and the timeline shows both.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from irkit.errors import InputError
from irkit.formats.ed25519 import Signer
from irkit.formats.timefmt import Clock, format_zoned, parse_utc, system_clock, zoned_instant
from irkit.record.bodies import NoteAdded, NoteCorrected, NoteWitnessed
from irkit.record.case import Case
from irkit.record.entry import Entry
from irkit.record.kinds import body_of
from irkit.record.kindspec import Context, KindSpec
from irkit.record.store import StoredBlob
from irkit.record.summary import clip, plural

NOTE_KINDS = ("note.added", "note.corrected")
WITNESS_KIND = "note.witnessed"


def _note_body(
    kind: str,
    text: str,
    event_time: datetime | str | None,
    tags: Sequence[str],
    attachments: Sequence[tuple[str, StoredBlob]],
    confidential: bool,
    extra: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    if not text.strip():
        raise InputError("a note needs some text")
    if isinstance(event_time, datetime):
        event_time = format_zoned(event_time)
    return body_of(
        kind,
        text=text,
        tags=sorted(set(tags)),
        attachments=[
            {"name": name, "sha256": blob.sha256, "size": blob.size} for name, blob in attachments
        ],
        confidential=confidential,
        event_time=event_time,
        **(extra or {}),  # links, star, template: written only when used (NoteAdded)
        **fields,
    )


_ITEM_RE = re.compile(r"^[A-Z]{1,8}-[0-9]{1,12}\Z")


def note_extras(
    links: Sequence[str] = (),
    starred: bool = False,
    template: str | None = None,
    fields: Sequence[dict[str, str]] = (),
) -> dict[str, Any]:
    """The optional note fields, checked: evidence item links, star, template answers."""
    clean = sorted({ln.strip().upper() for ln in links})
    for item in clean:
        if not _ITEM_RE.match(item):
            raise InputError(f"--link {item!r} is not an evidence item id (like E-0001)")
    return {"links": clean, "starred": starred, "template": template, "fields": list(fields)}


def _append_with_attachments(
    case: Case,
    signer: Signer,
    kind: str,
    body_for: Any,
    attach: Sequence[Path],
    clock: Clock,
) -> Entry:
    """Copy the attachments in and append the entry naming them, in one store session:
    a failure removes only copies that no other writer may be naming (see
    `EvidenceStore.writing`), never one another note or collection found already stored."""
    case.check_signer(signer, kind)  # refuse before copying anything into the store
    if not attach:
        return case.append(signer, kind, body_for([]), clock=clock)  # the quick path
    body_for([])  # a note that would be refused (no text...) is refused before copying
    stored: list[tuple[str, StoredBlob]] = []
    with case.store.writing():
        for path in attach:
            stored.append((path.name or "attachment", case.store.put_file(path)))
        return case.append(signer, kind, body_for(stored), clock=clock)


def check_links(case: Case, links: Sequence[str]) -> None:
    """Refuse a link to an evidence item this case never collected: a note "about E-0009"
    when there is no E-0009 points a reader at nothing. Reads the journal only when a
    note links something, so a plain `note add` stays quick."""
    if not links:
        return
    from irkit.evidence.collect import inventory

    known = inventory(case.read_entries().entries).items
    unknown = [item for item in links if item not in known]
    if unknown:
        have = ", ".join(known) if known else "none yet"
        raise InputError(
            f"--link {', '.join(unknown)}: no such evidence item in this case (items: {have})",
            hint="`irkit evidence list` shows the items; collect one first with "
            "`irkit evidence collect`",
        )


def add_note(
    case: Case,
    signer: Signer,
    text: str,
    *,
    event_time: datetime | None = None,
    tags: Sequence[str] = (),
    attach: Sequence[Path] = (),
    confidential: bool = False,
    extra: dict[str, Any] | None = None,
    clock: Clock = system_clock,
) -> Entry:
    """Append a note; `extra` comes from `note_extras` (links, star, template answers)."""
    check_links(case, (extra or {}).get("links") or ())
    return _append_with_attachments(
        case,
        signer,
        "note.added",
        lambda stored: _note_body(
            "note.added", text, event_time, tags, stored, confidential, extra
        ),
        attach,
        clock,
    )


def witness_note(
    case: Case, signer: Signer, seq: int, *, statement: str, clock: Clock = system_clock
) -> Entry:
    """Countersign note `seq` as a second responder (NIST SP 800-61: work in pairs)."""
    target = _find_note(case, seq)
    if target.actor == signer.fingerprint:
        raise InputError("you wrote this note: a witness must be someone else")
    for entry in case.read_entries().entries:
        if (
            entry.kind == WITNESS_KIND
            and entry.body.get("note") == seq
            and entry.actor == signer.fingerprint
        ):
            raise InputError(f"you already witnessed note #{seq} (entry #{entry.seq})")
    if not statement.strip():
        raise InputError("a witness statement is required")
    body = body_of(WITNESS_KIND, note=seq, statement=statement)
    return case.append(signer, WITNESS_KIND, body, clock=clock)


def witness_rule(entry: Entry, ctx: Context) -> None:
    """`irkit verify`: a witness points at an earlier note and is not its author's own."""
    target = ctx.seen.get(entry.body["note"])
    if target is None or target.kind not in NOTE_KINDS or target.seq >= entry.seq:
        ctx.problem(entry.seq, "bad-reference", "witness points at no earlier note")
    elif target.actor == entry.actor:
        ctx.problem(entry.seq, "self-witness", "a note's author cannot witness their own note")


def correct_note(
    case: Case,
    signer: Signer,
    seq: int,
    text: str,
    *,
    reason: str,
    event_time: datetime | None = None,
    tags: Sequence[str] = (),
    attach: Sequence[Path] = (),
    confidential: bool | None = None,
    clock: Clock = system_clock,
) -> Entry:
    if not reason.strip():
        raise InputError("a correction needs a --reason")
    # a correction always supersedes the current version: correcting #4 after #7 corrected
    # it corrects #7, so one note never has two "current" versions side by side
    entries = case.read_entries().entries
    _find_note_in(entries, seq)
    seq = latest_version(entries, seq)
    target = _find_note_in(entries, seq)
    original_time = target.body.get("event_time")
    if event_time is None and original_time is not None and zoned_instant(original_time) is None:
        # what an older version accepted is not carried into a new entry
        raise InputError(
            f"note #{seq} has an event time outside 1970..9998 ({original_time}): "
            "give the corrected one with --event-time"
        )

    def body_for(stored: Sequence[tuple[str, StoredBlob]]) -> dict[str, Any]:
        return _note_body(
            "note.corrected",
            text,
            event_time if event_time is not None else original_time,
            tags or target.body.get("tags", []),
            stored,
            bool(target.body.get("confidential")) if confidential is None else confidential,
            corrects=seq,
            reason=reason,
        )

    return _append_with_attachments(case, signer, "note.corrected", body_for, attach, clock)


def latest_version(entries: Sequence[Entry], seq: int) -> int:
    """The seq of the current version of note `seq`: follow its corrections to the last one
    (the newest, should an older journal hold two corrections of one version)."""
    newer: dict[int, int] = {}
    for entry in entries:
        corrects = entry.body.get("corrects") if entry.kind == "note.corrected" else None
        if isinstance(corrects, int) and corrects < entry.seq:
            newer[corrects] = max(newer.get(corrects, -1), entry.seq)
    seen = {seq}
    while seq in newer and newer[seq] not in seen:
        seq = newer[seq]
        seen.add(seq)
    return seq


def _find_note(case: Case, seq: int) -> Entry:
    return _find_note_in(case.read_entries().entries, seq)


def _find_note_in(entries: Sequence[Entry], seq: int) -> Entry:
    for entry in entries:
        if entry.seq == seq:
            if entry.kind not in NOTE_KINDS:
                raise InputError(f"entry {seq} is a {entry.kind}, not a note")
            return entry
    raise InputError(f"no entry {seq} in this journal")


@dataclass
class TimelineItem:
    seq: int
    event_time: str  # as recorded (zoned); falls back to the recorded time
    event_time_given: bool
    recorded: str
    actor: str
    author: str
    text: str
    tags: list[str]
    attachments: list[dict[str, Any]]
    confidential: bool
    corrects: int | None = None
    reason: str | None = None
    corrected_by: list[int] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    starred: bool = False
    template: str | None = None
    witnessed_by: list[tuple[int, str]] = field(default_factory=list)  # (seq, name)

    def sort_key(self) -> tuple[datetime, int]:
        """Event time order; a time that cannot be placed (unreadable, or outside 1970..9998
        as an older version may have accepted) sorts by when the note was written."""
        moment = zoned_instant(self.event_time)
        if moment is None:
            moment = parse_utc(self.recorded)
        return moment, self.seq

    @property
    def event_time_in_range(self) -> bool:
        return zoned_instant(self.event_time) is not None


def timeline(entries: Sequence[Entry], names: dict[str, str]) -> list[TimelineItem]:
    """Notes ordered by event time (then seq), corrections linked both ways."""
    items: dict[int, TimelineItem] = {}
    witnesses: list[Entry] = []
    for entry in entries:
        if entry.kind == WITNESS_KIND:
            witnesses.append(entry)
        if entry.kind not in NOTE_KINDS:
            continue
        body = entry.body
        given = body.get("event_time")
        items[entry.seq] = TimelineItem(
            seq=entry.seq,
            event_time=given or entry.recorded,
            event_time_given=given is not None,
            recorded=entry.recorded,
            actor=entry.actor,
            author=names.get(entry.actor, entry.actor),
            text=body.get("text", ""),
            tags=list(body.get("tags", [])),
            attachments=list(body.get("attachments", [])),
            confidential=bool(body.get("confidential", False)),
            corrects=body.get("corrects"),
            reason=body.get("reason"),
            links=list(body.get("links", [])),
            starred=bool(body.get("starred", False)),
            template=body.get("template"),
        )
    for item in items.values():
        if item.corrects is not None and item.corrects in items:
            items[item.corrects].corrected_by.append(item.seq)
    for w in witnesses:
        noted = items.get(w.body.get("note", -1))
        if noted is not None:
            noted.witnessed_by.append((w.seq, names.get(w.actor, w.actor)))
    return sorted(items.values(), key=TimelineItem.sort_key)


def note_authors(entries: Sequence[Entry], who: str) -> set[str]:
    """The fingerprints `who` names, as people name them: a member's name (any case) or a
    whole word of one ("bob" for "Bob Example"; a filter may match several), a
    fingerprint prefix of 8+ hex digits (with or without `ed25519:`) or a whole one.
    Removed members count: they wrote notes while they were members."""
    from irkit.record.keyfiles import fingerprint_hex
    from irkit.record.roster import Roster, describe

    roster = Roster.empty()
    for entry in entries:
        if entry.kind in ("case.opened", "member.added", "member.removed"):
            roster.apply(entry.seq, entry.kind, entry.body)
    typed = who.strip()
    members = list(roster.members.values())
    named = {m.fingerprint for m in members if m.name.casefold() == typed.casefold()}
    if not named:  # "bob" for "Bob Example": a filter may take one word of a name
        named = {
            m.fingerprint
            for m in members
            if typed.casefold() in (w.casefold() for w in m.name.split())
        }
    if named:
        return named
    digits = fingerprint_hex(typed)
    if digits is not None and len(digits) >= 8:
        hits = {m.fingerprint for m in members if m.fingerprint[8:].startswith(digits)}
        if hits:
            return hits
    short = (
        " (a fingerprint prefix needs at least 8 hex digits)"
        if digits is not None and len(digits) < 8
        else ""
    )
    raise InputError(
        f"--author {typed!r} names no member of this case{short}; members: {describe(members)}"
    )


def select_notes(
    items: Sequence[TimelineItem],
    *,
    text: str | None = None,
    tags: Sequence[str] = (),
    authors: set[str] | None = None,
    since: datetime | None = None,
    current_only: bool = False,
) -> list[TimelineItem]:
    """The notes that match every filter given: `text` anywhere in the note (any case),
    each of `tags`, one of `authors` (fingerprints), an event time at or after `since`
    (a note without one counts by when it was written), and with `current_only` only
    versions no later correction supersedes. Order is kept."""
    needle = text.casefold() if text else None
    wanted = set(tags)
    out = []
    for item in items:
        if needle is not None and needle not in item.text.casefold():
            continue
        if not wanted <= set(item.tags):
            continue
        if authors is not None and item.actor not in authors:
            continue
        if since is not None and item.sort_key()[0] < since:
            continue
        if current_only and item.corrected_by:
            continue
        out.append(item)
    return out


# -- the kinds ---------------------------------------------------------------------------


def note_rule(entry: Entry, ctx: Context) -> None:
    """`irkit verify`: attachments are re-hashed at the end; a correction points at a note."""
    for attachment in entry.body.get("attachments", []):
        ctx.content_digests.setdefault(attachment["sha256"], entry.seq)
    if entry.kind == "note.corrected":
        target = ctx.seen.get(entry.body["corrects"])
        if target is None or target.kind not in NOTE_KINDS:
            ctx.problem(entry.seq, "bad-reference", "correction points at no earlier note")


def note_summary(e: Entry) -> str:
    b = e.body
    prefix = f"corrects #{b.get('corrects')}: " if e.kind == "note.corrected" else ""
    files = b.get("attachments")
    extra = f" [+{plural(len(files), 'file')}]" if isinstance(files, list) and files else ""
    secret = " [confidential]" if b.get("confidential") else ""
    return prefix + clip(str(b.get("text", ""))) + extra + secret


def witness_summary(e: Entry) -> str:
    b = e.body
    return f"witnesses note #{b.get('note')}: {clip(str(b.get('statement', '')), 50)}"


KIND_SPECS = (
    KindSpec("note.added", NoteAdded, note_rule, note_summary),
    KindSpec("note.corrected", NoteCorrected, note_rule, note_summary),
    KindSpec(WITNESS_KIND, NoteWitnessed, witness_rule, witness_summary),
)

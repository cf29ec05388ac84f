"""Notes as the report shows them: redacted where confidential, with every extra they carry."""

from __future__ import annotations

from typing import Any

from irkit.notes.notes import TimelineItem
from irkit.report.model import (
    NoteRow,
    withheld,
)


def note_rows(
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


def tagged(notes: list[NoteRow], tags: frozenset[str]) -> list[str]:
    """Notes a responder tagged for a section; their text is already redacted if need be."""
    return [f"#{n.seq} {n.author}: {n.text}" for n in notes if tags.intersection(n.tags)]

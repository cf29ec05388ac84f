"""Which entry kinds exist and which body model each has, resolved lazily.

A kind maps to "module:Class"; only the model a command needs is imported, so appending a
note does not pay for every other domain's models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from irkit.bodies import Body

_KINDS: dict[str, str] = {
    "case.opened": "irkit.bodies:CaseOpened",
    "member.added": "irkit.bodies:MemberAdded",
    "member.removed": "irkit.bodies:MemberRemoved",
    "note.added": "irkit.bodies:NoteAdded",
    "note.corrected": "irkit.bodies:NoteCorrected",
    "note.witnessed": "irkit.bodies:NoteWitnessed",
    "evidence.collected": "irkit.evidence:EvidenceCollected",
    "custody.released": "irkit.custody:Released",
    "custody.accepted": "irkit.custody:Accepted",
    "custody.checked": "irkit.custody:Checked",
    "custody.stored": "irkit.custody:Stored",
    "custody.returned": "irkit.custody:Final",
    "custody.disposed": "irkit.custody:Final",
    # incident lifecycle (irkit/lifecycle.py)
    "incident.configured": "irkit.lifecycle:IncidentConfigured",
    "incident.state": "irkit.lifecycle:StateChanged",
    "incident.field": "irkit.lifecycle:FieldChanged",
    "incident.linked": "irkit.lifecycle:Linked",
    "incident.escalated": "irkit.lifecycle:Escalated",
    "incident.acknowledged": "irkit.lifecycle:Acknowledged",
    "incident.consent": "irkit.lifecycle:Consent",
    "incident.informed": "irkit.lifecycle:Informed",
    "incident.confirmed": "irkit.lifecycle:Confirmed",
    "incident.followup": "irkit.lifecycle:FollowUp",
    # PDF reports (irkit/report/)
    "report.exported": "irkit.report.export:ReportExported",
    # backup test-restore (irkit/backup.py)
    "backup.verified": "irkit.backup:BackupVerified",
}

# Kinds only a member with an administrative role may sign.
ADMIN_KINDS = frozenset({"member.added", "member.removed", "incident.configured"})
ADMIN_ROLES = frozenset({"lead"})


def known(kind: str) -> bool:
    return kind in _KINDS


def all_kinds() -> list[str]:
    return sorted(_KINDS)


_resolved: dict[str, type[Body]] = {}


def body_model(kind: str) -> type[Body]:
    model = _resolved.get(kind)
    if model is None:
        module_name, _, attr = _KINDS[kind].partition(":")
        model = _resolved[kind] = getattr(importlib.import_module(module_name), attr)
    return model

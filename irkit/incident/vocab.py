"""The incident desk's vocabularies, defined once as `Literal` types.

The entry bodies (irkit/incident/lifecycle.py), the settings and the CLI's `click.Choice`
lists all take their values from here (`typing.get_args`), so a value added here is accepted,
offered and documented in one move. Changing or removing a value changes the entry format
(docs/FORMAT.md): old journals must still verify.
"""

from __future__ import annotations

from typing import Literal, get_args

State = Literal["new", "assigned", "in_progress", "pending", "resolved", "closed"]
# why an incident is pending; the same reasons may pause the SLA clocks (settings)
WaitingFor = Literal["customer", "vendor", "change", "problem"]
Outcome = Literal[
    "true-positive", "false-positive", "benign", "duplicate", "not-an-incident", "other"
]
ClosureHow = Literal["confirmed", "auto"]
LinkType = Literal["related", "problem", "change", "known-error"]
LinkAction = Literal["add", "remove"]
ChangeType = Literal["standard", "normal", "emergency"]
EscalationKind = Literal["functional", "hierarchical"]
EscalationTrigger = Literal["manual", "breach"]
ConsentAction = Literal["granted", "withdrawn"]
FollowUpAction = Literal["scheduled", "done"]
FieldName = Literal[
    "impact",
    "urgency",
    "severity",
    "category",
    "assets",
    "assignee",
    "owner",
    "phase",
    # free text for the report's outcome sections (up to 4000 characters)
    "root-cause",
    "lessons-learned",
]
Preset = Literal["itil3", "itil5"]

STATES: tuple[State, ...] = get_args(State)
WAITING_FOR: tuple[WaitingFor, ...] = get_args(WaitingFor)
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
LINK_TYPES: tuple[LinkType, ...] = get_args(LinkType)
CHANGE_TYPES: tuple[ChangeType, ...] = get_args(ChangeType)
ESCALATION_KINDS: tuple[EscalationKind, ...] = get_args(EscalationKind)
FIELDS: tuple[FieldName, ...] = get_args(FieldName)
PRESETS: tuple[Preset, ...] = get_args(Preset)

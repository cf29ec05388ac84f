"""Which entry kinds exist and which body model each has, resolved lazily.

A kind maps to "module:Class"; only the model a command needs is imported, so appending a
note does not pay for every other domain's models.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

    from irkit.record.bodies import Body

_KINDS: dict[str, str] = {
    "case.opened": "irkit.record.bodies:CaseOpened",
    "member.added": "irkit.record.bodies:MemberAdded",
    "member.removed": "irkit.record.bodies:MemberRemoved",
    "note.added": "irkit.record.bodies:NoteAdded",
    "note.corrected": "irkit.record.bodies:NoteCorrected",
    "note.witnessed": "irkit.record.bodies:NoteWitnessed",
    "evidence.collected": "irkit.evidence.collect:EvidenceCollected",
    "custody.released": "irkit.evidence.custody:Released",
    "custody.accepted": "irkit.evidence.custody:Accepted",
    "custody.checked": "irkit.evidence.custody:Checked",
    "custody.stored": "irkit.evidence.custody:Stored",
    "custody.returned": "irkit.evidence.custody:Final",
    "custody.disposed": "irkit.evidence.custody:Final",
    # incident lifecycle (irkit/incident/lifecycle.py)
    "incident.configured": "irkit.incident.lifecycle:IncidentConfigured",
    "incident.state": "irkit.incident.lifecycle:StateChanged",
    "incident.field": "irkit.incident.lifecycle:FieldChanged",
    "incident.linked": "irkit.incident.lifecycle:Linked",
    "incident.escalated": "irkit.incident.lifecycle:Escalated",
    "incident.acknowledged": "irkit.incident.lifecycle:Acknowledged",
    "incident.consent": "irkit.incident.lifecycle:Consent",
    "incident.informed": "irkit.incident.lifecycle:Informed",
    "incident.confirmed": "irkit.incident.lifecycle:Confirmed",
    "incident.followup": "irkit.incident.lifecycle:FollowUp",
    # PDF reports (irkit/report/)
    "report.exported": "irkit.report.export:ReportExported",
    # backup test-restore (irkit/backup/testrestore.py)
    "backup.verified": "irkit.backup.testrestore:BackupVerified",
    "backup.manifest": "irkit.backup.testrestore:BackupManifest",
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


_validators: dict[str, Callable[[Any], Any]] = {}


def validator(kind: str) -> Callable[[Any], Any]:
    """The body model's validate function (raises pydantic.ValidationError), cached per kind:
    verification calls it once per entry."""
    check = _validators.get(kind)
    if check is None:
        check = _validators[kind] = body_model(kind).__pydantic_validator__.validate_python
    return check


@functools.cache
def may_hold_float(kind: str) -> bool:
    """Whether a body of `kind` that passes validation can still carry a JSON float.

    Bodies are strict (an int or str field refuses 1.0), so for most kinds a valid body
    holds no float, and verification can skip the float scan its fast canonical check
    otherwise needs (orjson and RFC 8785 spell some floats differently). Decided from the
    model's JSON schema and conservative: anything the schema leaves open counts as a float.
    """
    return model_may_hold_float(body_model(kind))


def model_may_hold_float(model: type[BaseModel]) -> bool:
    schema = model.model_json_schema(mode="validation")
    return _schema_may_float(schema, schema.get("$defs", {}), set())


_NO_FLOAT_TYPES = frozenset({"string", "integer", "boolean", "null"})


def _schema_may_float(node: Any, defs: dict[str, Any], seen: set[str]) -> bool:
    if node is True or node == {}:
        return True  # unconstrained: any value, floats included
    if not isinstance(node, dict):
        return False
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in seen:
            return False  # already being examined further up
        seen.add(name)
        return _schema_may_float(defs.get(name, True), defs, seen)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in node and any(_schema_may_float(sub, defs, seen) for sub in node[key]):
            return True
    if "const" in node:
        return isinstance(node["const"], float)
    if "enum" in node:
        return any(isinstance(value, float) for value in node["enum"])
    kind = node.get("type")
    types = set(kind) if isinstance(kind, list) else {kind} if kind else set()
    if not types:
        return not any(k in node for k in ("anyOf", "oneOf", "allOf"))
    if "number" in types:
        return True
    if "object" in types:
        extra = node.get("additionalProperties", True)
        if extra is not False and _schema_may_float(extra, defs, seen):
            return True
        subs = [*node.get("properties", {}).values(), *node.get("patternProperties", {}).values()]
        if any(_schema_may_float(sub, defs, seen) for sub in subs):
            return True
    if "array" in types:
        subs = [node.get("items", True), *node.get("prefixItems", [])]
        if any(_schema_may_float(sub, defs, seen) for sub in subs):
            return True
    return not types <= (_NO_FLOAT_TYPES | {"object", "array"})


def select(patterns: Sequence[str]) -> set[str]:
    """The kinds `patterns` name: a whole kind (`note.added`) or a family (`note`, `note.*`).
    A pattern that names none is refused with the valid kinds listed, so a typo in
    `irkit log --kind` is told apart from a kind with no entries yet."""
    from irkit.errors import InputError

    every = all_kinds()
    chosen: set[str] = set()
    for pattern in patterns:
        family = pattern.strip().removesuffix(".*").removesuffix(".")
        hits = {k for k in every if k == family or k.startswith(family + ".")}
        if not hits:
            raise InputError(
                f"--kind {pattern!r} is not an entry kind; kinds: {', '.join(every)}",
                hint="a family such as `note` or `custody.*` selects all its kinds",
            )
        chosen |= hits
    return chosen

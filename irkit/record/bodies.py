"""Entry bodies of the foundation: case, membership and notes.

Bodies are strict, frozen value types: unknown fields are refused, so a forged field is a
verification problem rather than silently carried along.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Fingerprint = Annotated[str, StringConstraints(pattern=r"^ed25519:[0-9a-f]{64}$")]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
CaseId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Role = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,31}$")]
ZonedTime = Annotated[
    str,
    StringConstraints(
        pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$"
    ),
]
SafeInt = Annotated[int, Field(ge=0, le=2**53 - 1)]
# the salt of a confidential entry's commitments (irkit/formats/redaction.py), never printed
RedactionSalt = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{22}$")]


class Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class MemberInfo(Body):
    fingerprint: Fingerprint
    public_key: Annotated[str, StringConstraints(min_length=44, max_length=44)]
    name: Label
    role: Role


class CaseOpened(Body):
    case_id: CaseId
    title: Label
    opener: MemberInfo


class MemberAdded(Body):
    member: MemberInfo


class MemberRemoved(Body):
    fingerprint: Fingerprint
    reason: Label


class Attachment(Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    sha256: Sha256Hex
    size: SafeInt


ItemId = Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,8}-[0-9]{1,12}$")]
TemplateName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


class TemplateField(Body):
    """One answered field of a note template (kept in the template's order)."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    label: Label
    value: str


class NoteAdded(Body):
    text: Annotated[str, StringConstraints(min_length=1)]
    event_time: ZonedTime | None = None
    tags: list[Label] = Field(default_factory=list)
    attachments: list[Attachment] = Field(default_factory=list)
    confidential: bool = False
    salt: RedactionSalt | None = None  # with confidential: see irkit/formats/redaction.py
    # Later, optional fields: written only when used, so older journals stay valid and
    # byte-identical. `links`: evidence item ids (E-0001); `starred`: include in the report
    # summary; `template` + `fields`: a note filled in from templates/NAME.toml.
    links: list[ItemId] = Field(default_factory=list)
    starred: bool = False
    template: TemplateName | None = None
    fields: list[TemplateField] = Field(default_factory=list)


class NoteCorrected(NoteAdded):
    corrects: SafeInt
    reason: Label


class NoteWitnessed(Body):
    """A second responder countersigns a note: they were there and it is accurate."""

    note: SafeInt
    statement: Annotated[str, StringConstraints(min_length=1, max_length=2000)]

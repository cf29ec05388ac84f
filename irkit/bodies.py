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


class NoteAdded(Body):
    text: Annotated[str, StringConstraints(min_length=1)]
    event_time: ZonedTime | None = None
    tags: list[Label] = []
    attachments: list[Attachment] = []
    confidential: bool = False


class NoteCorrected(NoteAdded):
    corrects: SafeInt
    reason: Label

"""Entry bodies of the foundation: case, membership and notes.

Bodies are strict, frozen value types: unknown fields are refused, so a forged field is a
verification problem rather than silently carried along.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from irkit.formats.redaction import SALT_PATTERN
from irkit.record.kindspec import KindSpec
from irkit.record.summary import clip

if TYPE_CHECKING:
    from irkit.record.entry import Entry

Fingerprint = Annotated[str, StringConstraints(pattern=r"^ed25519:[0-9a-f]{64}$")]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
CaseId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Role = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,31}$")]
ZonedTime = Annotated[
    str,
    StringConstraints(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$"
    ),
]
SafeInt = Annotated[int, Field(ge=0, le=2**53 - 1)]


class Ref:
    """Marks a body field that refers to another entry or to an id an entry defined, so a
    sync that re-sequences unpublished entries after others' (irkit/remote/rebase.py) can
    map every reference, in every kind, without a table that a new kind could miss."""

    __slots__ = ("kind",)

    def __init__(self, kind: str) -> None:
        self.kind = kind  # "seq", "item" (E-NNNN) or "transfer" (T-NNNN)

    def __repr__(self) -> str:
        return f"Ref({self.kind!r})"


SEQ_REF, ITEM_REF, TRANSFER_REF = Ref("seq"), Ref("item"), Ref("transfer")
# the seq of an earlier entry (a correction's target, an escalation acknowledged...)
SeqRef = Annotated[int, Field(ge=0, le=2**53 - 1), SEQ_REF]
# the salt of a confidential entry's commitments (irkit/formats/redaction.py), never printed
RedactionSalt = Annotated[str, StringConstraints(pattern=SALT_PATTERN)]


class Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class _WhenUsed:
    """Field marker: the field is written only when it holds something (true, non-empty)."""

    def __repr__(self) -> str:
        return "WHEN_USED"


class _NullIfGiven:
    """Field marker: an optional field written whenever it is given, as null too."""

    def __repr__(self) -> str:
        return "NULL_IF_GIVEN"


# `flag: Annotated[bool, WHEN_USED] = False`: fields added after the first journals were
# written, so an entry that does not use them stays byte-identical to an older one.
WHEN_USED = _WhenUsed()
NULL_IF_GIVEN = _NullIfGiven()


def body_dict(body: Body) -> dict[str, Any]:
    """The one place a body model becomes the dict that is signed.

    A field whose default is None is left out while None (unless marked NULL_IF_GIVEN and
    given), a WHEN_USED field while false or empty; every other field is written as it is
    (a required None, a default such as "add").
    """
    out: dict[str, Any] = {}
    for name, info in type(body).model_fields.items():
        value = getattr(body, name)
        given_null = NULL_IF_GIVEN in info.metadata and name in body.model_fields_set
        if value is None and info.default is None and not info.is_required() and not given_null:
            continue
        if not value and WHEN_USED in info.metadata:
            continue
        out[name] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Body):
        return body_dict(value)
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class MemberInfo(Body):
    fingerprint: Fingerprint
    public_key: Annotated[str, StringConstraints(min_length=44, max_length=44)]
    name: Label
    role: Role
    # how to reach them (phone, e-mail: NIST SP 800-61 §3.3.2 asks for each handler's);
    # written only when given, so earlier entries stay byte-identical
    contact: Label | None = None


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


ItemId = Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,8}-[0-9]{1,12}$"), ITEM_REF]
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
    links: Annotated[list[ItemId], WHEN_USED] = Field(default_factory=list)
    starred: Annotated[bool, WHEN_USED] = False
    template: TemplateName | None = None
    fields: Annotated[list[TemplateField], WHEN_USED] = Field(default_factory=list)


class NoteCorrected(NoteAdded):
    corrects: SeqRef
    reason: Label


class NoteWitnessed(Body):
    """A second responder countersigns a note: they were there and it is accurate."""

    note: SeqRef
    statement: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


# -- the record's own kinds: membership is checked by the walk itself (the roster), so
# their rules are None; note bodies are declared here but their kinds in irkit/notes/.


def _opened_summary(e: Entry) -> str:
    return f"{e.body.get('case_id')}: {clip(str(e.body.get('title', '')))}"


def _added_summary(e: Entry) -> str:
    m = e.body.get("member", {})
    return f"{m.get('name')} as {m.get('role')}"


def _removed_summary(e: Entry) -> str:
    b = e.body
    return f"{b.get('fingerprint', '')[:24]}… ({clip(str(b.get('reason', '')), 40)})"


KIND_SPECS = (
    KindSpec("case.opened", CaseOpened, None, _opened_summary),
    KindSpec("member.added", MemberAdded, None, _added_summary),
    KindSpec("member.removed", MemberRemoved, None, _removed_summary),
)

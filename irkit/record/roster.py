"""Who may sign: membership folded from the journal, seq by seq.

The opener is the root of trust; members are added and removed by signed entries. The same
fold serves verification (membership at the time of each entry) and the append guard.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from irkit.record import kinds

# The kinds Roster.apply folds; every other kind leaves membership as it is.
FOLDED_KINDS = frozenset({"case.opened", "member.added", "member.removed"})
# The roles whose checkpoint can stand for the case to a third party (an exhibit's recipient):
# a checkpoint signed by anyone else proves only what that member claims.
CHECKPOINT_ROLES = kinds.ADMIN_ROLES
# Kinds `body_problem` has a rule for; everything else passes it untouched.
_BODY_RULE_KINDS = frozenset({*FOLDED_KINDS, "note.added", "note.corrected", "custody.released"})


def member_key_problem(info: dict[str, Any]) -> str | None:
    """Why a body's member info (`public_key`, `fingerprint`) cannot admit a key, or None.

    The key must be canonical base64 of 32 bytes (as irkit writes it: one spelling only), hash
    to the fingerprint beside it, and be a usable Ed25519 key (not small-order, canonical).
    """
    import base64
    import binascii

    from irkit.formats.ed25519 import fingerprint_of, public_key_problem

    text = info.get("public_key")
    try:
        raw = base64.b64decode(str(text).encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError, binascii.Error):
        return "member public key is not base64"
    if len(raw) != 32 or base64.b64encode(raw).decode("ascii") != text:
        return "member public key is not the canonical base64 of 32 bytes"
    if fingerprint_of(raw) != info.get("fingerprint"):
        return "member public key does not match its fingerprint"
    return public_key_problem(raw)


def _sorted_unique(values: Any) -> bool:
    return isinstance(values, list) and values == sorted(set(values))


def body_problem(roster: Roster, kind: str, body: dict[str, Any]) -> tuple[str, str] | None:
    """(code, message) when a schema-valid body breaks a rule that needs at most the current
    roster, else None. `verify` flags these and `Case.append` refuses them before signing,
    so no command can write an entry verification would reject for these reasons."""
    if kind not in _BODY_RULE_KINDS:
        return None
    if kind in ("case.opened", "member.added"):
        info = body["opener" if kind == "case.opened" else "member"]
        problem = member_key_problem(info)
        if problem is not None:
            return "member-key", problem
        if kind == "member.added" and roster.is_member(info["fingerprint"]):
            return "membership", "member.added for a key that is already a member"
    elif kind == "member.removed":
        fp = body["fingerprint"]
        if not roster.is_member(fp):
            return "membership", "member.removed for a key that is not a member"
        if fp == roster.opener:
            return "membership", "the opener cannot be removed"
    elif kind == "custody.released":
        if not roster.is_member(body["to"]):
            return "custody", f"custody released to {body['to']}, who is not a member"
    else:
        for name in ("tags", "links"):
            if name in body and not _sorted_unique(body[name]):
                return "unsorted", f"{kind} {name} are not sorted and unique"
    return None


def _hex(typed: str) -> str | None:
    from irkit.record.keyfiles import fingerprint_hex

    return fingerprint_hex(typed)


def _prefix_of(typed: str, fingerprint: str) -> bool:
    """Whether `typed` is a fingerprint prefix of 8+ hex digits that `fingerprint` starts with."""
    digits = _hex(typed)
    return digits is not None and len(digits) >= 8 and fingerprint[8:].startswith(digits)


def describe(members: list[Member]) -> str:
    """Members as a message lists them: name [short fingerprint], in roster order."""
    if not members:
        return "(none)"
    return ", ".join(f"{m.name} [{m.fingerprint[:24]}]" for m in members)


@dataclass
class Member:
    fingerprint: str
    public_key: str  # base64 of the 32 raw bytes
    name: str
    role: str
    added_seq: int
    removed_seq: int | None = None
    contact: str | None = None  # how to reach them, when their member info says

    @property
    def active(self) -> bool:
        return self.removed_seq is None


@dataclass
class Roster:
    members: dict[str, Member]
    opener: str | None = None
    case_id: str | None = None

    @classmethod
    def empty(cls) -> Roster:
        return cls(members={})

    def is_member(self, fingerprint: str) -> bool:
        member = self.members.get(fingerprint)
        return member is not None and member.active

    def resolve(self, text: str, *, what: str = "member") -> Member:
        """The active member `text` names, as people name them: a whole fingerprint, a
        unique prefix of at least 8 hex digits (with or without `ed25519:`, so the short
        form irkit prints works), or a member's exact name. Anything else is refused with
        the candidates listed; the one resolver every option naming a person uses."""
        from irkit.errors import InputError

        member = self.find(text, what=what)
        if member is not None:
            return member
        typed = text.strip()
        gone = self._removed(typed)
        if gone is not None:
            raise InputError(f"{what} {typed!r} was removed from the case at entry {gone}")
        digits = _hex(typed)
        short = (
            " (a fingerprint prefix needs at least 8 hex digits)"
            if digits is not None and len(digits) < 8
            else ""
        )
        active = [m for m in self.members.values() if m.active]
        raise InputError(
            f"{what} {typed!r} is not a member of this case{short}; members: {describe(active)}",
            hint="name a member by their exact name, a fingerprint prefix (8+ hex digits) or "
            "the whole fingerprint; `irkit member list` shows them, `irkit member add` adds one",
        )

    def find(self, text: str, *, what: str = "member") -> Member | None:
        """Like `resolve`, but None when `text` names no active member; still refuses (with
        the candidates) when it names more than one."""
        from irkit.errors import InputError

        typed = text.strip()
        active = [m for m in self.members.values() if m.active]
        by_name = [m for m in active if m.name == typed]
        if len(by_name) > 1:
            raise InputError(
                f"{what} {typed!r}: {len(by_name)} members have that name; give a "
                f"fingerprint prefix instead: {describe(by_name)}"
            )
        if by_name:
            return by_name[0]
        hits = [m for m in active if _prefix_of(typed, m.fingerprint)]
        if len(hits) > 1:
            raise InputError(
                f"{what} {typed!r} matches {len(hits)} members; give more digits: {describe(hits)}"
            )
        return hits[0] if hits else None

    def _removed(self, typed: str) -> int | None:
        for m in self.members.values():
            if not m.active and (m.name == typed or _prefix_of(typed, m.fingerprint)):
                return m.removed_seq
        return None

    def may_sign(self, fingerprint: str, kind: str) -> str | None:
        """None when allowed, else the reason it is not."""
        member = self.members.get(fingerprint)
        if member is None:
            return "signer is not a member of the case"
        if not member.active:
            return f"signer was removed from the case at entry {member.removed_seq}"
        if kind in kinds.ADMIN_KINDS and member.role not in kinds.ADMIN_ROLES:
            allowed = ", ".join(sorted(kinds.ADMIN_ROLES))
            return f"role {member.role!r} may not sign {kind} (needs: {allowed})"
        return None

    def may_sign_checkpoint(self, fingerprint: str) -> str | None:
        """None when this key's checkpoint speaks for the case (an active lead), else why not."""
        member = self.members.get(fingerprint)
        if member is None:
            return "not a member"
        if not member.active:
            return f"removed at entry {member.removed_seq}"
        if member.role not in CHECKPOINT_ROLES:
            return (
                f"role {member.role!r} (a checkpoint needs: {', '.join(sorted(CHECKPOINT_ROLES))})"
            )
        return None

    def apply(self, seq: int, kind: str, body: dict[str, Any]) -> str | None:
        """Fold one (already authorised, well-formed) entry; returns a problem or None."""
        if kind == "case.opened":
            if self.opener is not None:
                return "a second case.opened entry"
            info = body["opener"]
            self.opener = info["fingerprint"]
            self.case_id = body["case_id"]
            self.members[info["fingerprint"]] = Member(
                info["fingerprint"],
                info["public_key"],
                info["name"],
                "lead",
                seq,
                contact=info.get("contact"),
            )
        elif kind == "member.added":
            info = body["member"]
            existing = self.members.get(info["fingerprint"])
            if existing is not None and existing.active:
                return "member.added for a key that is already a member"
            self.members[info["fingerprint"]] = Member(
                info["fingerprint"],
                info["public_key"],
                info["name"],
                info["role"],
                seq,
                contact=info.get("contact"),
            )
        elif kind == "member.removed":
            fp = body["fingerprint"]
            member = self.members.get(fp)
            if member is None or not member.active:
                return "member.removed for a key that is not a member"
            if fp == self.opener:
                return "the opener cannot be removed"
            member.removed_seq = seq
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "opener": self.opener,
            "case_id": self.case_id,
            "members": [asdict(m) for m in self.members.values()],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Roster:
        members = {m["fingerprint"]: Member(**m) for m in doc["members"]}
        return cls(members=members, opener=doc["opener"], case_id=doc["case_id"])


def origin_for(roster: Roster) -> str | None:
    """The checkpoint origin of a case: its id plus its opener, unique per journal."""
    if roster.case_id is None or roster.opener is None:
        return None
    return f"irkit.case/{roster.case_id}/{roster.opener.removeprefix('ed25519:')[:16]}"

"""Who may sign: membership folded from the journal, seq by seq.

The opener is the root of trust; members are added and removed by signed entries. The same
fold serves verification (membership at the time of each entry) and the append guard.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from irkit import kinds

# The kinds Roster.apply folds; every other kind leaves membership as it is.
FOLDED_KINDS = frozenset({"case.opened", "member.added", "member.removed"})


@dataclass
class Member:
    fingerprint: str
    public_key: str  # base64 of the 32 raw bytes
    name: str
    role: str
    added_seq: int
    removed_seq: int | None = None

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

    def apply(self, seq: int, kind: str, body: dict[str, Any]) -> str | None:
        """Fold one (already authorised, well-formed) entry; returns a problem or None."""
        if kind == "case.opened":
            if self.opener is not None:
                return "a second case.opened entry"
            info = body["opener"]
            self.opener = info["fingerprint"]
            self.case_id = body["case_id"]
            self.members[info["fingerprint"]] = Member(
                info["fingerprint"], info["public_key"], info["name"], "lead", seq
            )
        elif kind == "member.added":
            info = body["member"]
            existing = self.members.get(info["fingerprint"])
            if existing is not None and existing.active:
                return "member.added for a key that is already a member"
            self.members[info["fingerprint"]] = Member(
                info["fingerprint"], info["public_key"], info["name"], info["role"], seq
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

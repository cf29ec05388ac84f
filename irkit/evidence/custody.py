"""Chain of custody: who holds each item, as signed two-party transfers.

The releaser (current custodian) signs `custody.released`; until the named receiver signs
`custody.accepted` (after re-hashing what it can reach) the items are in transit. One pure
fold, `apply`, decides what is allowed: commands use it to refuse before writing, and
verification uses it to flag forged entries.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, StringConstraints

from irkit.errors import InputError
from irkit.formats.ed25519 import Signer
from irkit.formats.timefmt import Clock, system_clock
from irkit.record.bodies import ITEM_REF, TRANSFER_REF, Body, Fingerprint, Label
from irkit.record.case import Case
from irkit.record.entry import Entry
from irkit.record.kinds import body_of
from irkit.record.kindspec import Context, KindSpec
from irkit.record.summary import clip

if TYPE_CHECKING:
    from irkit.record.roster import Roster

ItemId = Annotated[str, StringConstraints(pattern=r"^E-[0-9]{4,9}$"), ITEM_REF]
TransferId = Annotated[str, StringConstraints(pattern=r"^T-[0-9]{4,9}$"), TRANSFER_REF]
KINDS = (
    "custody.released",
    "custody.accepted",
    "custody.checked",
    "custody.stored",
    "custody.returned",
    "custody.disposed",
)


class ItemCheck(Body):
    item: ItemId
    ok: bool
    note: str | None = None


class Released(Body):
    transfer: TransferId
    items: list[ItemId] = Field(min_length=1)
    to: Fingerprint
    purpose: Label
    location: str | None = None
    method: str | None = None


class Accepted(Body):
    transfer: TransferId
    condition: str | None = None
    checks: list[ItemCheck]


class Checked(Body):
    items: list[ItemId] = Field(min_length=1)
    checks: list[ItemCheck]


class Stored(Body):
    items: list[ItemId] = Field(min_length=1)
    location: Label


class Final(Body):
    """custody.returned / custody.disposed: the end of an item's chain."""

    items: list[ItemId] = Field(min_length=1)
    reason: Label
    witness: Fingerprint | None = None
    witness_sig: str | None = None  # base64 Ed25519 over witness_statement(...)


@dataclass
class Holding:
    holder: str
    transfer: str | None = None  # pending transfer id
    final: str | None = None  # "returned" / "disposed"
    events: list[Entry] = field(default_factory=list)


@dataclass
class Custody:
    items: dict[str, Holding] = field(default_factory=dict)
    # the fold's own roster at the entry being folded: a witness signature verifies only
    # under the key this journal admitted for the witness, who is a member at that point
    roster: Roster | None = None
    transfers: dict[str, tuple[Entry, bool]] = field(
        default_factory=dict
    )  # id -> (release, accepted)


def witness_statement(case_id: str, kind: str, items: Sequence[str], reason: str) -> bytes:
    from irkit.formats.canonical import canonical_bytes

    return canonical_bytes(
        {"case_id": case_id, "items": list(items), "kind": kind, "reason": reason}
    )


def apply(state: Custody, e: Entry, case_id: str | None = None) -> str | None:
    """Fold one entry; return why it is not allowed (state unchanged then), else None."""
    b = e.body
    if e.kind == "evidence.collected":
        for item in b["items"]:
            state.items[item["id"]] = Holding(holder=e.actor, events=[e])
        return None
    if e.kind not in KINDS:
        return None
    if e.kind == "custody.accepted":
        pending = state.transfers.get(b["transfer"])
        if pending is None:
            return f"no transfer {b['transfer']} was released"
        release, accepted = pending
        if accepted:
            return f"transfer {b['transfer']} was already accepted"
        if e.actor != release.body["to"]:
            return f"transfer {b['transfer']} names another receiver"
        state.transfers[b["transfer"]] = (release, True)
        for item_id in release.body["items"]:
            received = state.items[item_id]
            received.holder, received.transfer = e.actor, None
            received.events.append(e)
        return None
    for item_id in b["items"]:
        holding = state.items.get(item_id)
        if holding is None:
            return f"{item_id} was never collected"
        if holding.final:
            return f"{item_id} was {holding.final}; its chain is closed"
        if holding.transfer:
            return f"{item_id} is in transit ({holding.transfer}) until accepted"
        if holding.holder != e.actor:
            return f"{item_id} is held by {holding.holder}, not the signer"
    if e.kind == "custody.released":
        if b["transfer"] in state.transfers:
            return f"transfer id {b['transfer']} is used twice"
        if b["to"] == e.actor:
            return "a custodian cannot release to themselves"
        state.transfers[b["transfer"]] = (e, False)
    if e.kind in ("custody.returned", "custody.disposed") and b.get("witness"):
        problem = _witness_problem(state, e, case_id)
        if problem:
            return problem
    for item_id in b["items"]:
        held = state.items[item_id]
        held.events.append(e)
        if e.kind == "custody.released":
            held.transfer = b["transfer"]
        elif e.kind in ("custody.returned", "custody.disposed"):
            held.final = e.kind.split(".")[1]
    return None


def _witness_problem(state: Custody, e: Entry, case_id: str | None) -> str | None:
    sig, witness = e.body.get("witness_sig"), e.body["witness"]
    if not sig or case_id is None:
        return "witness named without a witness signature"
    ok = _witness_ok(state, e, case_id, sig, witness)
    return None if ok else "witness signature does not verify"


def _witness_ok(state: Custody, e: Entry, case_id: str, sig: str, witness: str) -> bool:
    member = state.roster.members.get(witness) if state.roster is not None else None
    if member is None or not member.active:
        return False  # not an active member of this case when the entry was signed
    raw = base64.b64decode(member.public_key)
    from irkit.formats.ed25519 import PublicKey

    message = witness_statement(case_id, e.kind, e.body["items"], e.body["reason"])
    try:
        return PublicKey(raw).verify(base64.b64decode(sig, validate=True), message)
    except ValueError:
        return False


def fold(entries: Sequence[Entry]) -> Custody:
    from irkit.record.roster import Roster

    roster = Roster.empty()
    state = Custody(roster=roster)
    for e in entries:
        if e.kind in ("case.opened", "member.added", "member.removed"):
            roster.apply(e.seq, e.kind, e.body)
        apply(state, e, roster.case_id)
    return state


def held_by(entries: Sequence[Entry], fingerprint: str) -> list[str]:
    """The items `fingerprint` holds or is the named receiver of (in transit to them):
    what removing that member would orphan, since only a holder may release an item."""
    state = fold(entries)
    held = {i for i, h in state.items.items() if h.holder == fingerprint and not h.final}
    for release, accepted in state.transfers.values():
        if not accepted and release.body["to"] == fingerprint:
            held.update(release.body["items"])
    return sorted(held)


_View = tuple[list[Entry], Custody]


def _view(case: Case) -> _View:
    """One read and fold of the journal per command; if the journal moved on meanwhile,
    `_append` checks again against what was appended since (under the journal lock)."""
    entries = case.read_entries().entries
    return entries, fold(entries)


def _append(
    case: Case,
    signer: Signer,
    kind: str,
    body: dict[str, Any],
    clock: Clock,
    view: _View | None = None,
) -> Entry:
    """Check the prospective entry with the same rules verify uses, then append.

    Entries others appended since the view are not a reason to refuse (a note does not
    change who holds what): under the journal lock the same check runs again on the state
    folded with them, and only a real conflict (the item released meanwhile...) refuses."""
    entries, state = view or _view(case)

    def check(state: Custody, body: dict[str, Any], seq: int) -> None:
        probe = Entry(seq, "", kind, signer.fingerprint, "", body, "", b"")
        problem = apply(state, probe, case.info.case_id)
        if problem is not None:
            raise InputError(f"refused: {problem}; nothing was written")

    def revalidate(newer: list[Entry]) -> dict[str, Any]:
        state = fold([*entries, *newer])
        again = body
        if kind == "custody.released":  # ids run T-0001...: follow a release made meanwhile
            again = {**body, "transfer": f"T-{len(state.transfers) + 1:04d}"}
        check(state, again, len(entries) + len(newer))
        return again

    check(state, body, len(entries))
    last = entries[-1].seq if entries else -1
    return case.append(signer, kind, body, clock=clock, after=last, rebase=revalidate)


def _checks(case: Case, items: Sequence[str], entries: Sequence[Entry]) -> list[dict[str, Any]]:
    from irkit.evidence.collect import inventory, item_problem

    inv = inventory(entries)
    out = []
    for item_id in items:
        item = inv.items.get(item_id)
        problem = (
            "unknown item" if item is None else item_problem(case.store, item.body, item.moved)
        )
        out.append(
            {"item": item_id, "ok": problem is None, **({"note": problem} if problem else {})}
        )
    return out


def release(
    case: Case,
    signer: Signer,
    items: Sequence[str],
    *,
    to: str,
    purpose: str,
    location: str | None = None,
    method: str | None = None,
    clock: Clock = system_clock,
) -> Entry:
    """Release `items` to `to`: a member by name, fingerprint prefix or whole fingerprint."""
    receiver = case.roster().resolve(to, what="--to")
    view = _view(case)
    body = body_of(
        "custody.released",
        transfer=f"T-{len(view[1].transfers) + 1:04d}",
        items=list(items),
        to=receiver.fingerprint,
        purpose=purpose,
        location=location or None,
        method=method or None,
    )
    return _append(case, signer, "custody.released", body, clock, view)


def accept(
    case: Case,
    signer: Signer,
    transfer: str,
    *,
    condition: str | None = None,
    clock: Clock = system_clock,
) -> Entry:
    view = _view(case)
    pending = view[1].transfers.get(transfer)
    if pending is None:
        raise InputError(f"no transfer {transfer}")
    checks = _checks(case, pending[0].body["items"], view[0])
    body = body_of(
        "custody.accepted", transfer=transfer, checks=checks, condition=condition or None
    )
    return _append(case, signer, "custody.accepted", body, clock, view)


def check(case: Case, signer: Signer, items: Sequence[str], clock: Clock = system_clock) -> Entry:
    view = _view(case)
    body = body_of("custody.checked", items=list(items), checks=_checks(case, items, view[0]))
    return _append(case, signer, "custody.checked", body, clock, view)


def store(
    case: Case, signer: Signer, items: Sequence[str], *, location: str, clock: Clock = system_clock
) -> Entry:
    body = body_of("custody.stored", items=list(items), location=location)
    return _append(case, signer, "custody.stored", body, clock)


def finish(
    case: Case,
    signer: Signer,
    kind: str,
    items: Sequence[str],
    *,
    reason: str,
    witness: Signer | None = None,
    clock: Clock = system_clock,
) -> Entry:
    if kind not in ("custody.returned", "custody.disposed"):
        raise InputError(f"{kind} does not end a chain of custody")
    sig = None
    if witness is not None:
        statement = witness_statement(case.info.case_id, kind, items, reason)
        sig = base64.b64encode(witness.sign(statement)).decode("ascii")
    body = body_of(
        kind,
        items=list(items),
        reason=reason,
        witness=witness.fingerprint if witness else None,
        witness_sig=sig,
    )
    return _append(case, signer, kind, body, clock)


def verify_rule(entry: Entry, ctx: Context) -> None:
    """`irkit verify`: fold collection and custody entries; report what the fold refuses."""
    state: Custody = ctx.state.setdefault("custody", Custody())
    state.roster = ctx.roster
    problem = apply(state, entry, ctx.roster.case_id)
    if problem is not None:
        ctx.problem(entry.seq, "custody", problem)


def chain(entries: Sequence[Entry], item_id: str) -> list[dict[str, Any]] | None:
    """The custody chain of one item as rows (None if never collected).

    Each row carries its own signature status (the entry's Ed25519 signature checked against
    the signer's roster key) so a reader of the table sees which links are sound without
    running a full `irkit verify`; hash-chain continuity is still verify's job.
    """
    from irkit.formats.ed25519 import PublicKey
    from irkit.record.entry import split_signature
    from irkit.record.roster import Roster

    roster = Roster.empty()
    state = Custody(roster=roster)
    public: dict[str, bytes] = {}
    for e in entries:
        if e.kind in ("case.opened", "member.added", "member.removed"):
            roster.apply(e.seq, e.kind, e.body)
            for fp, member in roster.members.items():
                public[fp] = base64.b64decode(member.public_key)
        apply(state, e, roster.case_id)
    holding = state.items.get(item_id)
    if holding is None:
        return None
    rows: list[dict[str, Any]] = []
    for e in holding.events:
        b = e.body
        cut = split_signature(e.line)
        raw = public.get(e.actor)
        if raw is None:
            signature = "unknown key"
        elif cut is not None and PublicKey(raw).verify(cut[1], cut[0]):
            signature = "valid"
        else:
            signature = "INVALID"
        giver = None
        if e.kind == "custody.released":
            giver = e.actor
        elif e.kind == "custody.accepted" and b["transfer"] in state.transfers:
            giver = state.transfers[b["transfer"]][0].actor
        rows.append(
            {
                "seq": e.seq,
                "time": e.recorded,
                "event": e.kind,
                "by": e.actor,
                "from": giver,
                "to": b.get("to") or (e.actor if e.kind == "custody.accepted" else None),
                "purpose": b.get("purpose") or b.get("reason") or b.get("description"),
                "location": b.get("location"),
                "condition": b.get("condition"),
                "transfer": b.get("transfer"),
                "witness": b.get("witness"),
                "signature": signature,
            }
        )
    return rows


def remove_member(
    case: Case, signer: Signer, fingerprint: str, *, reason: str, clock: Clock = system_clock
) -> Entry:
    """`irkit member remove`: refused while the member holds evidence (or has it in transit
    to them), with the items listed; once removed they could never release it, and nobody
    else may. Otherwise the record's own removal (`irkit.record.case.remove_member`)."""
    from irkit.record import case as record

    roster = case.roster()
    member = roster.resolve(fingerprint)
    held = (
        []
        if member.fingerprint == roster.opener
        else held_by(case.read_entries().entries, member.fingerprint)
    )  # the opener is refused as such by `Case.append`
    if held:
        raise InputError(
            f"refused: {member.name} holds {', '.join(held)}; nothing was written",
            hint="they release each item to another member first (`irkit custody release "
            "ITEM --to NAME`), and the receiver accepts it",
        )
    return record.remove_member(case, signer, member.fingerprint, reason=reason, clock=clock)


# -- the kinds ---------------------------------------------------------------------------


def _released_summary(e: Entry) -> str:
    b = e.body
    return (
        f"{b['transfer']}: {', '.join(b['items'])} to {b['to'][:24]}… "
        f"for {clip(str(b['purpose']), 40)}"
    )


def _accepted_summary(e: Entry) -> str:
    failed = [c["item"] for c in e.body.get("checks", []) if not c["ok"]]
    return f"{e.body['transfer']} accepted" + (f"; CHECK FAILED {failed}" if failed else "")


def _items_summary(e: Entry) -> str:
    what = e.body.get("location") or e.body.get("reason") or ""
    return f"{', '.join(e.body['items'])} {clip(str(what), 50)}".strip()


KIND_SPECS = (
    KindSpec("custody.released", Released, verify_rule, _released_summary),
    KindSpec("custody.accepted", Accepted, verify_rule, _accepted_summary),
    KindSpec("custody.checked", Checked, verify_rule, _items_summary),
    KindSpec("custody.stored", Stored, verify_rule, _items_summary),
    KindSpec("custody.returned", Final, verify_rule, _items_summary),
    KindSpec("custody.disposed", Final, verify_rule, _items_summary),
)

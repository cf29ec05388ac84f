"""The item index of an exhibit: every entry up to a checkpoint that concerns an item.

A lead signs, as a C2SP signed note bound to the exhibit's checkpoint, the seqs of every
entry concerning each requested item; the exhibit's verifier checks the index against the
entries shown (both ways) and walks each item's custody chain over exactly those entries.
No inclusion proof can show absence: that nothing was left out rests on the lead's
signature, and the full journal exposes an omission (`check_against` in
irkit/audit/exhibit.py). docs/FORMAT.md, "Exhibits of items", is the specification.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from irkit.errors import InputError
from irkit.formats.ed25519 import PublicKey, Signer
from irkit.formats.signednote import (
    Checkpoint,
    SignedNote,
    parse_checkpoint,
    parse_note,
    sign_note,
    verify_note,
)
from irkit.record.entry import Entry
from irkit.record.roster import Roster

if TYPE_CHECKING:
    from irkit.record.kindspec import Context

INDEX_HEADER = "irkit.exhibit-index/v1"
ITEM_RE = re.compile(r"^[A-Z]{1,8}-[0-9]{1,12}\Z")
_INDEX_LINE = re.compile(r"^([A-Z]{1,8}-[0-9]{1,12})((?: (?:0|[1-9][0-9]{0,15}))+)\Z")


def _strings(value: Any) -> Iterator[str]:
    """Every string value anywhere in a body (member names are not values)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for inner in value.values():
            yield from _strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner)


def concerning(
    parsed: Iterable[tuple[int, str, Any]], item_ids: Iterable[str]
) -> dict[str, list[int]]:
    """item -> seqs of the entries that concern it, in order: an entry concerns an item when
    the item's id is a whole string value anywhere in its body, and a `custody.accepted`
    also concerns the items its transfer's release concerns (it names only the transfer).
    One rule for every kind, later ones included, so a verifier needs no list of kinds."""
    wanted = set(item_ids)
    found: dict[str, list[int]] = {item: [] for item in sorted(wanted)}
    transfers: dict[str, set[str]] = {}
    for seq, kind, body in parsed:
        named = {text for text in _strings(body) if text in wanted}
        transfer = body.get("transfer") if isinstance(body, dict) else None
        if kind == "custody.accepted" and isinstance(transfer, str):
            named |= transfers.get(transfer, set())
        elif kind == "custody.released" and isinstance(transfer, str):
            transfers.setdefault(transfer, set(named))
        for item in named:
            found[item].append(seq)
    return found


def index_text(origin: str, size: int, root: bytes, found: dict[str, list[int]]) -> bytes:
    lines = [INDEX_HEADER, origin, str(size), base64.b64encode(root).decode("ascii")]
    lines += [f"{item} {' '.join(map(str, seqs))}" for item, seqs in sorted(found.items())]
    return ("\n".join(lines) + "\n").encode("ascii")


def make_index(
    item_ids: list[str],
    parsed: list[tuple[int, str, Any]],
    cp: Checkpoint,
    roster: Roster,
    signer: Signer | None,
) -> tuple[dict[str, Any], list[str]]:
    if signer is None:
        raise InputError("an exhibit of items needs the key of a lead to sign its item index")
    why = roster.may_sign_checkpoint(signer.fingerprint)
    if why is not None:
        raise InputError(
            f"the item index must be signed by an active lead; {signer.fingerprint} is {why}"
        )
    found = concerning(parsed, item_ids)
    for item_id, seqs in found.items():
        if not seqs:
            raise InputError(f"no entry up to the checkpoint concerns {item_id}")
    text = index_text(cp.origin, cp.size, cp.root, found)
    signed = sign_note(text, signer)
    return {"items": item_ids, "index": signed.decode("utf-8")}, [signer.fingerprint]


def parse_index(data: bytes) -> tuple[SignedNote, str, int, bytes, dict[str, list[int]]]:
    """The item index note: (note, origin, size, root, item -> seqs); InputError if malformed."""
    note = parse_note(data)
    lines = note.text.decode("utf-8").split("\n")
    if len(lines) < 6 or lines[0] != INDEX_HEADER or lines[-1] != "":
        raise InputError(f"the item index does not start with {INDEX_HEADER!r}")
    cp = parse_checkpoint("\n".join(lines[1:4]).encode("utf-8") + b"\n")
    found: dict[str, list[int]] = {}
    for line in lines[4:-1]:
        match = _INDEX_LINE.match(line)
        if match is None:
            raise InputError(f"malformed item index line {line[:60]!r}")
        seqs = [int(x) for x in match.group(2).split()]
        if seqs != sorted(set(seqs)) or match.group(1) in found:
            raise InputError(f"item index line for {match.group(1)} is not sorted and unique")
        found[match.group(1)] = seqs
    if list(found) != sorted(found):
        raise InputError("item index lines are not sorted by item")
    return note, cp.origin, cp.size, cp.root, found


@dataclass
class ItemChain:
    """One item's custody as the exhibit shows it."""

    item: str
    seqs: list[int]
    state: str  # "held by FP", "in transit to FP (T-0001)", "returned", "disposed", "broken"
    problems: list[str] = field(default_factory=list)


def walk_chain(item: str, entries: list[Entry]) -> ItemChain:
    """Section "Chain of custody"'s rules for one item over the entries concerning it."""
    chain = ItemChain(item, [e.seq for e in entries], "broken")
    holder: str | None = None
    transit: tuple[str, str] | None = None  # (transfer id, receiver)
    final: str | None = None
    for e in entries:
        b = e.body
        if e.kind == "evidence.collected":
            if holder is not None:
                chain.problems.append(f"#{e.seq} collects {item} a second time")
                continue
            holder = e.actor
            continue
        if not e.kind.startswith("custody."):
            continue  # notes and other kinds name an item without moving it
        if holder is None:
            chain.problems.append(f"#{e.seq} {e.kind} comes before {item} was collected")
            continue
        if final is not None:
            chain.problems.append(f"#{e.seq} {e.kind} follows the {final} of {item}")
            continue
        if e.kind == "custody.accepted":
            if transit is None or transit[0] != b.get("transfer") or transit[1] != e.actor:
                chain.problems.append(f"#{e.seq} accepts {item} without a matching release")
                continue
            holder, transit = e.actor, None
            continue
        if transit is not None:
            chain.problems.append(f"#{e.seq} {e.kind}: {item} is in transit ({transit[0]})")
            continue
        if e.actor != holder:
            chain.problems.append(f"#{e.seq} {e.kind} is not signed by the holder of {item}")
            continue
        if e.kind == "custody.released":
            transit = (str(b.get("transfer")), str(b.get("to")))
        elif e.kind in ("custody.returned", "custody.disposed"):
            final = e.kind.removeprefix("custody.")
    if holder is None:
        chain.problems.append(f"the exhibit does not show the collection of {item}")
    elif final is not None:
        chain.state = final
    elif transit is not None:
        chain.state = f"in transit to {transit[1]} ({transit[0]})"
    else:
        chain.state = f"held by {holder}"
    return chain


def check_index(
    index: tuple[SignedNote, str, int, bytes, dict[str, list[int]]],
    item_ids: list[str],
    cp: Checkpoint,
    roster: Roster,
    entries: list[Entry],
    ctx: Context,
) -> tuple[list[tuple[str, str, str]], list[ItemChain]]:
    """The index must be a lead's, for this checkpoint, and agree with the entries shown
    both ways; each item's chain is then walked over exactly the entries the index lists."""
    note, origin, size, root, listed = index
    if (origin, size, root) != (cp.origin, cp.size, cp.root):
        ctx.problem(None, "index", "the item index is for another checkpoint")
    if sorted(set(item_ids)) != list(listed):
        ctx.problem(None, "index", "`items` and the item index name different items")
    keys = {fp: PublicKey(base64.b64decode(m.public_key)) for fp, m in roster.members.items()}
    signers = [fp for fp in verify_note(note, keys) if roster.may_sign_checkpoint(fp) is None]
    named = [(fp, roster.members[fp].name, roster.members[fp].role) for fp in signers]
    if not signers:
        ctx.problem(
            None,
            "index",
            "the item index carries no valid signature by an active lead the exhibit admits",
        )
    shown = {e.seq: e for e in entries}
    chains: list[ItemChain] = []
    found = concerning(((e.seq, e.kind, e.body) for e in entries), listed)
    for item, seqs in listed.items():
        for seq in seqs:
            if seq not in shown:
                ctx.problem(
                    seq, "index", f"the index lists this entry for {item}; it is missing or failed"
                )
            elif seq not in found[item]:
                ctx.problem(
                    seq, "index", f"the index lists this entry for {item}; it does not concern it"
                )
        for seq in found[item]:
            if seq not in seqs:
                ctx.problem(seq, "index", f"concerns {item} but the index leaves it out")
        chain = walk_chain(item, [shown[seq] for seq in seqs if seq in shown])
        for message in chain.problems:
            ctx.problem(None, "custody", message)
        chains.append(chain)
    return named, chains

"""Rebase: local entries nobody has seen yet, re-sequenced after what others published.

Each unpublished entry is re-signed by its author with its new `seq` and `prev`; its
`recorded` time (the author's clock when it was written) and its body stay, except that
references follow: fields typed `SeqRef` shift to the entries' new positions, and item and
transfer ids (`E-NNNN`, `T-NNNN`) that the incoming entries already use are renumbered
consistently through every later unpublished entry. The fields are found from the body
models' annotations (irkit.record.bodies.Ref), so every kind is covered.

An entry that is not valid once the incoming entries come first is a conflict, never
published as if valid: the audit rules reject it (two members released the same item),
it targets the same entry as an incoming one of its kind (two corrections of one note),
it is signed by another member (only its author can re-sign it), or it depends on a
conflicting entry. It and its dependents are held back for their author to redo or
withdraw.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from irkit.formats.ed25519 import Signer
from irkit.record import kinds
from irkit.record.bodies import Ref
from irkit.record.entry import build_line
from irkit.record.journal import entry_hash

# kinds whose target may be answered once: a second one aimed at the same entry loses
SAME_TARGET = {
    "note.corrected": "corrects",
    "incident.acknowledged": "escalation",
    "incident.consent": "grant",
    "incident.followup": "schedule",
}


# -- references, found from the body models ------------------------------------------------


def _refs_of(annotation: Any) -> tuple[str | None, Any]:
    """(ref kind of an Annotated type, or None; the type inside)."""
    if typing.get_origin(annotation) is typing.Annotated:
        args = typing.get_args(annotation)
        for meta in args[1:]:
            if isinstance(meta, Ref):
                return meta.kind, args[0]
        return None, args[0]
    return None, annotation


def _map_value(annotation: Any, value: Any, fn: Callable[[str, Any], Any], ref: str | None) -> Any:
    if value is None:
        return None
    inner_ref, inner = _refs_of(annotation)
    ref = inner_ref or ref
    origin = typing.get_origin(inner)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(inner):
            if arg is type(None):
                continue
            _, sub = _refs_of(arg)
            if _fits(sub, value):
                return _map_value(arg, value, fn, ref)
        return value
    if origin is list and isinstance(value, list):
        (item_type,) = typing.get_args(inner) or (Any,)
        return [_map_value(item_type, v, fn, ref) for v in value]
    if isinstance(inner, type) and issubclass(inner, BaseModel) and isinstance(value, dict):
        return map_body(inner, value, fn)
    if ref is not None:
        return fn(ref, value)
    return value


def _fits(annotation: Any, value: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is list:
        return isinstance(value, list)
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return isinstance(value, dict)
        return isinstance(value, annotation) and not (annotation is int and isinstance(value, bool))
    return True


def map_body(
    model: type[BaseModel], body: dict[str, Any], fn: Callable[[str, Any], Any]
) -> dict[str, Any]:
    """`body` with every reference field's value replaced by fn(ref kind, value)."""
    out = dict(body)
    for name, info in model.model_fields.items():
        if name not in body:
            continue
        ref = next((m.kind for m in info.metadata if isinstance(m, Ref)), None)
        out[name] = _map_value(info.annotation, body[name], fn, ref)
    return out


def refs(kind: str, body: dict[str, Any]) -> list[tuple[str, Any]]:
    """Every (ref kind, value) a body of `kind` holds."""
    found: list[tuple[str, Any]] = []

    def note(ref: str, value: Any) -> Any:
        found.append((ref, value))
        return value

    map_body(kinds.body_model(kind), body, note)
    return found


def defined_items(kind: str, body: dict[str, Any]) -> list[str]:
    if kind == "evidence.collected":
        return [item["id"] for item in body.get("items", [])]
    return []


def defined_transfer(kind: str, body: dict[str, Any]) -> str | None:
    return body.get("transfer") if kind == "custody.released" else None


# -- the rebase ----------------------------------------------------------------------------


@dataclass
class Conflict:
    """A local entry held back: what it was, why, and the incoming entry that won."""

    seq: int  # its seq in the local journal before the rebase
    kind: str
    actor: str
    reason: str
    line: bytes
    winner_seq: int | None = None
    winner_hash: str | None = None


@dataclass
class Rebased:
    lines: list[bytes]  # the re-signed entries, after the base
    superseded: list[bytes]  # the local lines they replace (rebased or held)
    conflicts: list[Conflict]
    renumbered: dict[str, str] = field(default_factory=dict)  # E-0003 -> E-0007, T-...
    seq_map: dict[int, int] = field(default_factory=dict)


Check = Callable[[list[bytes]], list[tuple[int, str]]]


def _number(ident: str) -> int:
    return int(ident.split("-", 1)[1])


def rebase(
    base: list[bytes], published: int, local: list[bytes], signer: Signer, check: Check
) -> Rebased:
    """Re-sequence `local` (the local entries from `published` on) after `base` (the remote
    journal); `check(lines)` runs the audit rules over a whole candidate journal and
    returns (seq, message) problems."""
    incoming = [json.loads(line) for line in base[published:]]
    base_items = 0
    base_transfers: set[str] = set()
    for line in base:
        if b'"kind":"evidence.collected"' in line or b'"kind":"custody.released"' in line:
            obj = json.loads(line)
            base_items += len(defined_items(obj["kind"], obj["body"]))
            t = defined_transfer(obj["kind"], obj["body"])
            if t:
                base_transfers.add(t)
    targets: dict[tuple[str, Any], tuple[int, str]] = {}
    for offset, obj in enumerate(incoming):
        name = SAME_TARGET.get(obj["kind"])
        if name is not None and obj["body"].get(name) is not None:
            seq = published + offset
            targets.setdefault((obj["kind"], obj["body"][name]), (seq, entry_hash(base[seq])))
    held: dict[int, Conflict] = {}
    while True:
        result = _attempt(
            base, published, local, signer, incoming, base_items, base_transfers, targets, held
        )
        problems = [
            (s, m) for s, m in check(base + result.lines) if s is not None and s >= len(base)
        ]
        if not problems:
            return result
        seq, message = min(problems)
        back = {new: old for old, new in result.seq_map.items()}
        old = back[seq]
        obj = json.loads(local[old - published])
        winner = _custody_winner(obj, incoming, published, base)
        held[old] = Conflict(
            old, obj["kind"], obj["actor"], message, local[old - published], *winner
        )


def _custody_winner(
    obj: dict[str, Any], incoming: list[dict[str, Any]], published: int, base: list[bytes]
) -> tuple[int | None, str | None]:
    """The latest incoming entry that names one of the same items (what it lost to)."""
    mine = {v for r, v in refs(obj["kind"], obj["body"]) if r in ("item", "transfer")}
    for offset in range(len(incoming) - 1, -1, -1):
        other = incoming[offset]
        theirs = {v for r, v in refs(other["kind"], other["body"]) if r in ("item", "transfer")}
        if mine & theirs:
            seq = published + offset
            return seq, entry_hash(base[seq])
    return None, None


def _attempt(
    base: list[bytes],
    published: int,
    local: list[bytes],
    signer: Signer,
    incoming: list[dict[str, Any]],
    base_items: int,
    base_transfers: set[str],
    targets: dict[tuple[str, Any], tuple[int, str]],
    held: dict[int, Conflict],
) -> Rebased:
    out = Rebased([], [], [])
    items_count = base_items
    transfers = set(base_transfers)
    item_map: dict[str, str] = {}
    transfer_map: dict[str, str] = {}
    dead_seqs: set[int] = set()
    dead_items: set[str] = set()
    dead_transfers: set[str] = set()
    seq = len(base)
    prev = entry_hash(base[-1])
    for offset, line in enumerate(local):
        old = published + offset
        obj = json.loads(line)
        kind, body, actor = obj["kind"], obj["body"], obj["actor"]
        out.superseded.append(line)
        conflict = held.get(old)
        if conflict is None:
            conflict = _why_held(
                old, obj, line, signer, published, targets, dead_seqs, dead_items, dead_transfers
            )
        if conflict is not None:
            out.conflicts.append(conflict)
            dead_seqs.add(old)
            dead_items.update(defined_items(kind, body))
            t = defined_transfer(kind, body)
            if t:
                dead_transfers.add(t)
            continue
        for ident in defined_items(kind, body):
            items_count += 1
            new_id = f"E-{items_count:04d}"
            if new_id != ident:
                item_map[ident] = new_id
        t = defined_transfer(kind, body)
        if t is not None:
            if t in transfers:
                n = len(transfers) + 1
                while f"T-{n:04d}" in transfers:
                    n += 1
                transfer_map[t] = f"T-{n:04d}"
            transfers.add(transfer_map.get(t, t))

        def remap(ref: str, value: Any) -> Any:
            if ref == "seq":
                return out.seq_map.get(value, value) if value >= published else value
            if ref == "item":
                return item_map.get(value, value)
            if ref == "transfer":
                return transfer_map.get(value, value)
            return value

        new_body = map_body(kinds.body_model(kind), body, remap)
        if (
            new_body != body
            and kind in ("custody.returned", "custody.disposed")
            and body.get("witness_sig")
        ):
            out.conflicts.append(
                Conflict(
                    old,
                    kind,
                    actor,
                    "its items were renumbered, so the witness must sign again",
                    line,
                )
            )
            dead_seqs.add(old)
            continue
        new_line = build_line(
            signer, seq=seq, prev=prev, kind=kind, body=new_body, recorded=obj["recorded"]
        )
        out.lines.append(new_line)
        out.seq_map[old] = seq
        seq += 1
        prev = entry_hash(new_line)
    out.renumbered = {**item_map, **transfer_map}
    return out


def _why_held(
    old: int,
    obj: dict[str, Any],
    line: bytes,
    signer: Signer,
    published: int,
    targets: dict[tuple[str, Any], tuple[int, str]],
    dead_seqs: set[int],
    dead_items: set[str],
    dead_transfers: set[str],
) -> Conflict | None:
    kind, body, actor = obj["kind"], obj["body"], obj["actor"]

    def held(reason: str, winner: tuple[int, str] | None = None) -> Conflict:
        seq, digest = winner if winner else (None, None)
        return Conflict(old, kind, actor, reason, line, seq, digest)

    if actor != signer.fingerprint:
        return held(f"signed by {actor}: only its author can re-sign it after the others' entries")
    for ref, value in refs(kind, body):
        if ref == "seq" and value in dead_seqs:
            return held(f"it refers to entry {value}, which is held back")
        if ref == "item" and value in dead_items:
            return held(f"it names {value}, collected by an entry that is held back")
        if ref == "transfer" and value in dead_transfers and kind != "custody.released":
            return held(f"it names transfer {value}, released by an entry that is held back")
    name = SAME_TARGET.get(kind)
    if name is not None and body.get(name) is not None and body[name] < published:
        winner = targets.get((kind, body[name]))
        if winner is not None:
            return held(f"entry {winner[0]} ({kind}) already answers entry {body[name]}", winner)
    if kind == "report.exported" and body.get("checkpoint_size", 0) > published:
        return held(
            "the report shows entries that were not published: export it again after the sync"
        )
    return None

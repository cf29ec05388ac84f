"""Where an item collected by reference can be reached now: `evidence.relocated`.

An original too large to copy (a disk image) is hashed in place and only its path recorded;
on another machine, or after it moved to a NAS, that path no longer reaches it. A
relocation records, as a signed entry, a path where the same bytes can now be read: the
file is re-hashed there before the entry is signed (record follows fact), and a path whose
content differs is refused. `verify` then re-hashes the item at its newest reachable
location; when none is reachable here it says "not checked here" (docs/FORMAT.md).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from irkit.errors import InputError, ProblemsFound
from irkit.evidence.collect import ItemId, _path_fields, inventory
from irkit.formats.ed25519 import Signer
from irkit.formats.timefmt import Clock, system_clock
from irkit.hashing import files as hashing
from irkit.record.bodies import Body, Label, SafeInt, Sha256Hex
from irkit.record.case import Case
from irkit.record.entry import Entry
from irkit.record.kindspec import Context, KindSpec
from irkit.record.summary import clip

KIND = "evidence.relocated"


class Relocated(Body):
    item: ItemId
    path: str  # absolute, as checked; non-UTF-8 bytes escaped -> path_b64 holds the bytes
    path_b64: str | None = None
    sha256: Sha256Hex  # what was read at `path` before signing: the item's digest
    size: SafeInt
    host: Label  # the machine on which `path` was checked (paths are per machine)
    reason: str | None = None


def raw_path(fields: dict[str, Any]) -> bytes:
    """The exact bytes of a recorded path (`path_b64` when the name is not UTF-8)."""
    import base64

    if fields.get("path_b64"):
        return base64.b64decode(fields["path_b64"])
    return str(fields["path"]).encode("utf-8", "surrogateescape")


def reference_check(
    body: dict[str, Any], moved: Sequence[dict[str, Any]] = ()
) -> tuple[str | None, str | None]:
    """(problem, not reached) for an item collected by reference: its locations are tried
    newest first (the relocations `moved`, oldest first, then where it was collected); the
    first reachable one is re-hashed. When none is reachable, `not reached` names the
    newest path and the reason: not checked here, which is no finding about the evidence."""
    locations = [*reversed(moved), body]
    why = None
    for where in locations:
        record = hashing.hash_path(raw_path(where), ("sha256",))
        if record.kind == "error":
            why = why or record.note
            continue
        if record.kind != "file" or record.digests.get("sha256") != body["sha256"]:
            return f"original at {where['path']} no longer matches its recorded digest", None
        return None, None
    return None, f"{locations[0]['path']} ({why})"


def relocate(
    case: Case,
    signer: Signer,
    item_id: str,
    path: Path,
    *,
    reason: str | None = None,
    clock: Clock = system_clock,
) -> Entry:
    """Record that item `item_id` (collected by reference) can now be reached at `path`,
    after re-hashing the file there: a file whose SHA-256 or size differs is refused
    (exit 1), nothing written."""
    case.check_signer(signer, KIND)
    inv = inventory(case.read_entries().entries)
    wanted = item_id.strip().upper()
    item = inv.items.get(wanted)
    if item is None:
        raise InputError(f"no such item: {item_id}")
    if item.body["stored"]:
        raise InputError(
            f"{item.id} is stored in the case (a verified copy): only an item collected "
            "by reference has an original elsewhere to relocate"
        )
    raw = os.path.abspath(os.fsencode(path))  # noqa: PTH100 (bytes, as collect records them)
    record = hashing.hash_path(raw, ("sha256",))
    shown = os.fsdecode(raw)
    if record.kind == "error":
        raise InputError(f"cannot read {shown}: {record.note}; nothing recorded")
    if record.kind != "file" or record.note:
        raise InputError(f"{shown} is not a regular file ({record.note or record.kind})")
    if record.digests["sha256"] != item.body["sha256"] or record.size != item.body["size"]:
        raise ProblemsFound(
            f"{shown} is not {item.id}: its SHA-256 is {record.digests['sha256']} "
            f"({record.size:,} bytes), {item.id} was recorded as {item.body['sha256']} "
            f"({item.body['size']:,} bytes); nothing recorded"
        )
    fields = _path_fields(raw)
    current = item.relocations[-1].body if item.relocations else item.body
    if raw_path(current) == raw:
        raise InputError(f"{item.id} is already recorded at {fields['path']}: nothing to do")
    import socket

    body: dict[str, Any] = {
        "item": item.id,
        **fields,
        "sha256": record.digests["sha256"],
        "size": record.size,
        "host": socket.gethostname(),
    }
    if reason:
        body["reason"] = reason
    return case.append(signer, KIND, body, clock=clock)


def verify_rule(entry: Entry, ctx: Context) -> None:
    """A relocation names an item collected by reference, earlier, with its digest and size;
    the locations are kept for the content check (collect.verify_finish)."""
    body = entry.body
    state = ctx.state.setdefault("evidence", {"count": 0, "items": []})
    index: dict[str, dict[str, Any]] = state.setdefault("index", {})
    items = state["items"]
    for _, item in items[state.get("indexed", 0) :]:  # items collected since the last look
        index.setdefault(item["id"], item)
    state["indexed"] = len(items)
    found = index.get(body["item"])
    if found is None:
        ctx.problem(entry.seq, "relocated", f"relocation of {body['item']}, no earlier item")
        return
    if found["stored"]:
        ctx.problem(
            entry.seq, "relocated", f"relocation of {body['item']}, which is stored in the case"
        )
        return
    if (body["sha256"], body["size"]) != (found["sha256"], found["size"]):
        ctx.problem(
            entry.seq,
            "relocated",
            f"{body['item']} relocated to a file with another digest or size than recorded",
        )
        return
    state.setdefault("moved", {}).setdefault(body["item"], []).append(body)


def _summary(e: Entry) -> str:
    why = f": {clip(str(e.body['reason']), 40)}" if e.body.get("reason") else ""
    return f"{e.body['item']} now reachable at {clip(str(e.body['path']), 60)}{why}"


KIND_SPECS = (KindSpec(KIND, Relocated, verify_rule, _summary),)

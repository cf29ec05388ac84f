"""Custody events as CSV, one row per item per event: what a spreadsheet or a case
management system imports.

Cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage
return: OWASP "CSV injection") get a leading apostrophe; recorded text is untrusted.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from irkit.record.entry import Entry

COLUMNS = (
    "seq",
    "time_utc",
    "kind",
    "item",
    "from",
    "to",
    "transfer",
    "location",
    "method",
    "reason",
    "check",
    "actor_name",
    "actor_fingerprint",
)
EVENT_KINDS = (
    "evidence.collected",
    "evidence.relocated",
    "custody.released",
    "custody.accepted",
    "custody.checked",
    "custody.stored",
    "custody.returned",
    "custody.disposed",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert(cell: str) -> str:
    """A cell no spreadsheet evaluates: a formula-like start is prefixed with an apostrophe."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def rows(entries: Sequence[Entry]) -> list[dict[str, str]]:
    """One dict per (event, item), in journal order, every column a string ("" when unset)."""
    names: dict[str, str] = {}
    holders: dict[str, str] = {}  # item -> fingerprint of its custodian
    transfers: dict[str, Entry] = {}
    out: list[dict[str, str]] = []
    for e in entries:
        b = e.body
        if e.kind in ("case.opened", "member.added"):
            member = b["opener"] if e.kind == "case.opened" else b["member"]
            names[str(member["fingerprint"])] = str(member["name"])
            continue
        if e.kind not in EVENT_KINDS:
            continue
        per_item: list[tuple[str, dict[str, Any]]] = []
        checks = {str(c["item"]): c for c in b.get("checks", [])}
        if e.kind == "evidence.collected":
            for item in b["items"]:
                holders[str(item["id"])] = e.actor
                per_item.append((str(item["id"]), {"to": e.actor, "location": b.get("location")}))
        elif e.kind == "evidence.relocated":
            per_item.append((str(b["item"]), {"location": b["path"], "reason": b.get("reason")}))
        elif e.kind == "custody.released":
            transfers[str(b["transfer"])] = e
            for item_id in b["items"]:
                common = {k: b.get(k) for k in ("transfer", "location", "method")}
                per_item.append(
                    (
                        str(item_id),
                        {"from": e.actor, "to": b["to"], "reason": b["purpose"], **common},
                    )
                )
        elif e.kind == "custody.accepted":
            release = transfers.get(str(b["transfer"]))
            if release is None:
                continue  # an accept of no release: verify's finding, no custody event
            for item_id in release.body["items"]:
                got = {"from": release.actor, "to": e.actor, "transfer": b["transfer"]}
                per_item.append((str(item_id), {**got, "reason": b.get("condition")}))
                holders[str(item_id)] = e.actor
        else:  # checked, stored: the holder acts; returned, disposed: it leaves them
            final = e.kind in ("custody.returned", "custody.disposed")
            for item_id in b["items"]:
                giver = holders.get(str(item_id)) if final else None
                here = {"location": b.get("location"), "reason": b.get("reason")}
                per_item.append((str(item_id), {**here, "from": giver}))
        for item_id, fields in per_item:
            check = checks.get(item_id)
            row: dict[str, Any] = {c: "" for c in COLUMNS}
            row.update({k: v for k, v in fields.items() if v is not None})
            for side in ("from", "to"):
                fp = row[side]
                row[side] = f"{names.get(fp, '?')} ({fp})" if fp else ""
            row.update(
                seq=str(e.seq),
                time_utc=e.recorded,
                kind=e.kind,
                item=item_id,
                actor_name=names.get(e.actor, ""),
                actor_fingerprint=e.actor,
            )
            if check is not None:
                note = f" {check['note']}" if check.get("note") else ""
                row["check"] = "ok" if check["ok"] else f"MISMATCH{note}"
            out.append({k: str(v) for k, v in row.items()})
    return out


def dumps(entries: Sequence[Entry]) -> bytes:
    """The CSV file (RFC 4180: CRLF line ends, a header row), cells made inert."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows(entries):
        writer.writerow([inert(row[c]) for c in COLUMNS])
    return buffer.getvalue().encode("utf-8")

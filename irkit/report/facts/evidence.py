"""Evidence items and their chain-of-custody forms, folded from the journal in one pass."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from irkit.record.entry import Entry
from irkit.record.roster import Roster
from irkit.report.model import (
    CustodyEvent,
    CustodyForm,
    CustodyLogRow,
    EvidenceRow,
    ReportModel,
    human_time,
    masked,
)


def ranges(ids: Sequence[str]) -> str:
    """E-0001, E-0002, E-0003, E-0007 -> "E-0001–E-0003, E-0007" (a 10,000-item transfer
    stays one line)."""
    out: list[str] = []
    run: list[str] = []
    for item in ids:
        if run and item[2:].isdigit() and int(item[2:]) == int(run[-1][2:]) + 1:
            run.append(item)
            continue
        if run:
            out.append(run[0] if len(run) == 1 else f"{run[0]}–{run[-1]}")
        run = [item]
    if run:
        out.append(run[0] if len(run) == 1 else f"{run[0]}–{run[-1]}")
    return ", ".join(out)


_MEMBER_KINDS = ("case.opened", "member.added", "member.removed")


def fold_evidence(model: ReportModel, entries: Sequence[Entry], names: dict[str, str]) -> None:
    """Evidence items and one custody form per item, from a single pass over the journal.

    The custody module's own `apply` decides what is allowed, so a step the report shows as
    refused is exactly what `irkit verify` flags; each custody entry's signature is checked
    once (not once per item it names) against the signer's roster key.
    """
    from irkit.evidence import custody
    from irkit.formats.ed25519 import PublicKey
    from irkit.record.entry import split_signature

    zone = model.zone
    roles = {s.fingerprint: s for s in model.signers}
    roster = Roster.empty()
    state = custody.Custody(roster=roster)
    problems: dict[str, list[str]] = {}
    signatures: dict[int, str] = {}
    rows: dict[str, EvidenceRow] = {}

    def person(fp: str | None) -> str:
        if not fp:
            return ""
        s = roles.get(fp)
        return f"{s.name} ({s.role})" if s else fp

    def signature(e: Entry) -> str:
        member = roster.members.get(e.actor)
        if member is None:
            return "unknown key"
        cut = split_signature(e.line)
        key = PublicKey(base64.b64decode(member.public_key))
        return "valid" if cut is not None and key.verify(cut[1], cut[0]) else "INVALID"

    for e in entries:
        if e.kind in _MEMBER_KINDS:
            roster.apply(e.seq, e.kind, e.body)
            continue
        if e.kind == "evidence.relocated":
            b = e.body
            model.relocations.setdefault(str(b.get("item")), []).append(
                f"{b.get('path')} on {b.get('host')} (#{e.seq}, {human_time(e.recorded, zone)}"
                + (f"; {b['reason']}" if b.get("reason") else "")
                + ")"
            )
            continue
        if e.kind != "evidence.collected" and not e.kind.startswith("custody."):
            continue
        b = e.body
        signatures[e.seq] = signature(e)
        if e.kind == "evidence.collected":
            secret = b.get("confidential")  # paths and description name people or secrets
            description = b.get("description") or ""
            salt = b.get("salt")
            for n, item in enumerate(b.get("items", [])):
                rows[item["id"]] = EvidenceRow(
                    item["id"],
                    masked(model, item.get("path", ""), secret, salt, f"items.{n}.path"),
                    int(item.get("size", 0)),
                    str(item.get("sha256", "")),
                    human_time(e.recorded, model.zone),
                    names.get(e.actor, e.actor),
                    description=masked(model, description, secret, salt, "description")
                    if description
                    else "",
                    host=str(b.get("host") or ""),
                    location=str(b.get("location") or ""),
                    md5=str(item.get("md5") or ""),
                    stored=bool(item.get("stored", True)),
                    mtime=human_time(str(item.get("mtime", "")), model.zone),
                    collected_seq=e.seq,
                    mode=f"{int(item.get('mode', 0)):04o}",
                    uid=int(item.get("uid", 0)),
                    gid=int(item.get("gid", 0)),
                    ctime=human_time(str(item.get("ctime", "")), model.zone),
                    atime=human_time(str(item.get("atime", "")), model.zone),
                    source_host=str(b.get("source_host") or ""),
                    source_serial=str(b.get("source_serial") or ""),
                    source_model=str(b.get("source_model") or ""),
                    source_mac=", ".join(map(str, b.get("source_mac", []))),
                    source_ip=", ".join(map(str, b.get("source_ip", []))),
                    path_b64=masked(model, item["path_b64"], secret, salt, f"items.{n}.path_b64")
                    if item.get("path_b64")
                    else "",
                )
            for n, miss in enumerate(b.get("skipped", [])):
                what = str(miss.get("what", ""))
                if miss.get("target"):
                    target = masked(model, miss["target"], secret, salt, f"skipped.{n}.target")
                    what += f" to {target}"
                path = masked(model, miss.get("path", ""), secret, salt, f"skipped.{n}.path")
                model.skipped.append((e.seq, path, what))
        targets = [i["id"] if isinstance(i, dict) else str(i) for i in b.get("items", [])]
        if e.kind == "custody.accepted" and b.get("transfer") in state.transfers:
            targets = list(state.transfers[b["transfer"]][0].body["items"])
        why = custody.apply(state, e, roster.case_id)
        if why is not None:
            for item_id in targets:
                problems.setdefault(item_id, []).append(f"entry #{e.seq} ({e.kind}): {why}")
            continue
        for check in b.get("checks", []) if isinstance(b.get("checks"), list) else []:
            if not check.get("ok"):
                problems.setdefault(check["item"], []).append(
                    f"re-hash at entry #{e.seq} failed: {check.get('note') or 'no reason given'}"
                )
        if signatures[e.seq] != "valid":
            for item_id in targets:
                problems.setdefault(item_id, []).append(
                    f"entry #{e.seq} signature: {signatures[e.seq]}"
                )
        detail = log_detail(e, state, person, model)
        model.custody_log.append(
            CustodyLogRow(
                e.seq,
                human_time(e.recorded, model.zone),
                e.kind.split(".")[1],
                names.get(e.actor, e.actor),
                ranges(targets),
                detail,
            )
        )
    model.evidence = list(rows.values())
    for item_id, holding in state.items.items():
        row = rows.get(item_id)
        if row is None:
            continue
        events = tuple(
            event(e, state, row, person, signatures.get(e.seq, "?"), zone) for e in holding.events
        )
        seen = {holding.holder} | {e.actor for e in holding.events}
        seen |= {str(e.body["to"]) for e in holding.events if e.body.get("to")}
        seen |= {str(e.body["witness"]) for e in holding.events if e.body.get("witness")}
        handlers = tuple(s for s in model.signers if s.fingerprint in seen)
        if holding.final:
            status = f"{holding.final} (chain closed); last held by {person(holding.holder)}"
        elif holding.transfer:
            release = state.transfers[holding.transfer][0]
            status = (
                f"in transit ({holding.transfer}) from {person(holding.holder)} to "
                f"{person(release.body.get('to'))}, not yet accepted"
            )
        else:
            status = f"held by {person(holding.holder)}"
        model.custody.append(
            CustodyForm(row, events, handlers, status, tuple(problems.get(item_id, ())))
        )


def log_detail(e: Entry, state: Any, person: Any, model: ReportModel) -> str:
    b = e.body
    if e.kind == "evidence.collected":
        where = f" at {b['location']}" if b.get("location") else ""
        said = (
            masked(model, b["description"], b.get("confidential"), b.get("salt"), "description")
            if b.get("description")
            else ""
        )
        source = f" from {b['source_host']}" if b.get("source_host") else ""
        skipped = f"; {len(b['skipped'])} path(s) not taken" if b.get("skipped") else ""
        return f"collected on {b.get('host')}{source}{where}: {said}{skipped}".strip()
    if e.kind == "custody.released":
        where = f" at {b['location']}" if b.get("location") else ""
        how = f" (method: {b['method']})" if b.get("method") else ""
        return f"{b.get('transfer')} to {person(b.get('to'))} for {b.get('purpose')}{where}{how}"
    if e.kind == "custody.accepted":
        giver = state.transfers[b["transfer"]][0].actor
        cond = f"; condition: {b['condition']}" if b.get("condition") else ""
        return f"{b.get('transfer')} from {person(giver)}{cond}"
    said = str(b.get("location") or b.get("reason") or "")
    if b.get("witness"):
        said += f"; witnessed by {person(b['witness'])}"
    raw = b.get("checks")
    checks: list[Any] = raw if isinstance(raw, list) else []
    failed = [str(c.get("item")) for c in checks if not c.get("ok")]
    if checks:
        said += "; re-hash " + (f"FAILED for {', '.join(failed)}" if failed else "matched")
    return said.strip("; ")


def event(
    e: Entry, state: Any, row: EvidenceRow, person: Any, signature: str, zone: Any
) -> CustodyEvent:
    b = e.body
    giver = receiver = purpose = location = condition = ""
    if e.kind == "evidence.collected":
        origin = row.source_host or row.host
        giver = f"source: {origin}:{row.path}" if origin else f"source: {row.path}"
        receiver = person(e.actor)
        purpose = f"collected: {row.description}" if row.description else "collected"
        location = row.location
    elif e.kind == "custody.released":
        giver, receiver = person(e.actor), person(b.get("to"))
        purpose = f"{b.get('transfer')}: {b.get('purpose')}"
        if b.get("method"):
            purpose += f" (method: {b['method']})"
        location = str(b.get("location") or "")
    elif e.kind == "custody.accepted":
        giver, receiver = person(state.transfers[b["transfer"]][0].actor), person(e.actor)
        purpose = f"{b.get('transfer')} accepted after re-hash"
        handed = state.transfers[b["transfer"]][0].body.get("location")
        location = f"{handed} (hand-over place, as released)" if handed else ""
        condition = str(b.get("condition") or "")
    elif e.kind == "custody.stored":
        giver = receiver = person(e.actor)
        purpose, location = "stored", str(b.get("location") or "")
    elif e.kind == "custody.checked":
        giver = receiver = person(e.actor)
        purpose = "integrity check"
    else:  # returned / disposed
        giver = person(e.actor)
        purpose = str(b.get("reason") or "")
        if b.get("witness"):
            purpose += f"; witnessed by {person(b['witness'])}"
    if isinstance(b.get("checks"), list):
        mine = [c for c in b["checks"] if c.get("item") == row.id]
        if mine:
            verdict = (
                "re-hash matched" if mine[0].get("ok") else f"RE-HASH FAILED: {mine[0].get('note')}"
            )
            condition = f"{condition}; {verdict}" if condition else verdict
    return CustodyEvent(
        seq=e.seq,
        at=human_time(e.recorded, zone),
        local="",
        step=e.kind.split(".")[1],
        by=person(e.actor),
        signer=e.actor,
        giver=giver,
        receiver=receiver,
        purpose=purpose,
        location=location or "not recorded",
        condition=condition or "not recorded",
        signature=signature,
    )

"""Exhibits: a few entries of a case, provable without handing over the rest.

An exhibit bundles a signed checkpoint, the chosen entries, the entries that establish their
signers (case.opened and the member.added of each signer) and an RFC 6962 inclusion proof for
each. Anyone holding the opener's fingerprint can check that every exhibited entry is signed
by a key the opener's case admitted and is part of the journal the checkpoint commits to.
What an exhibit cannot show is absence: that a signer was not removed before signing.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from irkit import journal, merkle
from irkit.canonical import parse_canonical
from irkit.checkpoint import parse_checkpoint, parse_note, verify_note
from irkit.entry import Entry, split_signature
from irkit.errors import InputError
from irkit.keys import PublicKey, fingerprint_of
from irkit.roster import Roster

EXHIBIT_TYPE = "irkit-exhibit"


def create(case: Any, seqs: Iterable[int], checkpoint_note: bytes) -> dict[str, Any]:
    """Build the exhibit document for `seqs` against an already signed checkpoint."""
    note = parse_note(checkpoint_note)
    cp = parse_checkpoint(note.text)
    scan = journal.read(case.journal_path)
    if cp.size > len(scan.lines):
        raise InputError(f"the checkpoint covers {cp.size} entries; the journal holds fewer")
    lines = scan.lines[: cp.size]
    leaves = [merkle.leaf_hash(line) for line in lines]
    if merkle.root(leaves) != cp.root:
        raise InputError("the checkpoint does not match this journal; run `irkit verify`")
    wanted = sorted(set(seqs))
    for seq in wanted:
        if not 0 <= seq < cp.size:
            raise InputError(f"entry {seq} is not covered by the checkpoint (size {cp.size})")
    chosen = set(wanted) | {0}
    added_at: dict[str, int] = {}
    for index, line in enumerate(lines):
        obj = json.loads(line)
        if obj["kind"] == "member.added":
            added_at.setdefault(obj["body"]["member"]["fingerprint"], index)
    for seq in list(chosen):
        actor = json.loads(lines[seq])["actor"]
        if actor in added_at and added_at[actor] < seq:
            chosen.add(added_at[actor])
    return {
        "type": EXHIBIT_TYPE,
        "format": 1,
        "requested": wanted,
        "checkpoint": checkpoint_note.decode("utf-8"),
        "entries": [
            {
                "seq": seq,
                "line": lines[seq].decode("utf-8"),
                "proof": [h.hex() for h in merkle.inclusion_proof(seq, leaves)],
            }
            for seq in sorted(chosen)
        ],
    }


@dataclass
class ExhibitReport:
    case_id: str | None
    opener: str | None
    anchored: bool
    checkpoint_size: int | None
    entries: list[Entry] = field(default_factory=list)
    requested: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(doc_bytes: bytes, trust: Iterable[str]) -> ExhibitReport:
    """Check an exhibit on its own; every problem found is reported, none raised."""
    report = ExhibitReport(None, None, False, None)
    try:
        doc = json.loads(doc_bytes)
        if doc.get("type") != EXHIBIT_TYPE or doc.get("format") != 1:
            raise InputError("not an irkit exhibit (format 1)")
        note = parse_note(doc["checkpoint"].encode("utf-8"))
        cp = parse_checkpoint(note.text)
        items = sorted(
            (int(e["seq"]), e["line"].encode("utf-8"), e["proof"]) for e in doc["entries"]
        )
        report.requested = [int(x) for x in doc.get("requested", [])]
    except (ValueError, KeyError, TypeError, AttributeError, InputError) as exc:
        raise InputError(f"malformed exhibit: {exc}") from exc
    report.checkpoint_size = cp.size
    roster = Roster.empty()
    for seq, line, proof_hex in items:
        obj, problem = parse_canonical(line)
        if obj is None or problem is not None:
            report.problems.append(f"entry {seq}: {problem or 'unreadable'}")
            continue
        entry = Entry.from_obj(obj, line)
        try:
            proof = [bytes.fromhex(h) for h in proof_hex]
        except (ValueError, TypeError):
            report.problems.append(f"entry {seq}: malformed inclusion proof")
            continue
        if entry.seq != seq or not merkle.verify_inclusion(
            seq, cp.size, merkle.leaf_hash(line), proof, cp.root
        ):
            report.problems.append(f"entry {seq}: not included in the checkpointed journal")
            continue
        if seq == 0:
            if entry.kind != "case.opened":
                report.problems.append("entry 0 is not case.opened")
                continue
            info = entry.body["opener"]
            if info["fingerprint"] != entry.actor or not _key_matches(info):
                report.problems.append("entry 0: opener key does not match its fingerprint")
                continue
        member = roster.members.get(entry.actor) if seq else None
        key_b64 = (
            entry.body["opener"]["public_key"]
            if seq == 0
            else (member.public_key if member is not None else None)
        )
        if key_b64 is None:
            report.problems.append(f"entry {seq}: signer {entry.actor} is not shown to be a member")
            continue
        cut = split_signature(line)
        if cut is None or not PublicKey(base64.b64decode(key_b64)).verify(cut[1], cut[0]):
            report.problems.append(f"entry {seq}: signature does not verify")
            continue
        if entry.kind == "member.added" and not _key_matches(entry.body["member"]):
            report.problems.append(f"entry {seq}: member key does not match its fingerprint")
            continue
        if entry.kind in ("case.opened", "member.added"):
            roster.apply(seq, entry.kind, entry.body)
        report.entries.append(entry)
    report.case_id, report.opener = roster.case_id, roster.opener
    trusted = set(trust)
    report.anchored = bool(report.opener and report.opener in trusted)
    if trusted and not report.anchored:
        report.problems.append(f"case opener {report.opener} is not among the trusted keys")
    keys = {fp: PublicKey(base64.b64decode(m.public_key)) for fp, m in roster.members.items()}
    if not verify_note(note, keys):
        report.problems.append("the checkpoint carries no valid signature by a shown member")
    from irkit.verify import origin_for

    if origin_for(roster) not in (None, cp.origin):
        report.problems.append(f"checkpoint origin {cp.origin!r} is not this case's")
    shown = {e.seq for e in report.entries}
    for seq in report.requested:
        if seq not in shown:
            report.problems.append(f"requested entry {seq} is missing or failed its checks")
    return report


def _key_matches(info: dict[str, Any]) -> bool:
    try:
        raw = base64.b64decode(info["public_key"], validate=True)
    except (ValueError, KeyError, TypeError):
        return False
    return len(raw) == 32 and fingerprint_of(raw) == info.get("fingerprint")


def latest_checkpoint(case: Any) -> bytes | None:
    """The kept checkpoint with the largest size, if any."""
    best: tuple[int, bytes] | None = None
    if case.checkpoints_dir.is_dir():
        for path in case.checkpoints_dir.glob("*.txt"):
            data = path.read_bytes()
            try:
                size = parse_checkpoint(parse_note(data).text).size
            except InputError:
                continue
            if best is None or size > best[0]:
                best = (size, data)
    return None if best is None else best[1]


def write(path: Path, doc: dict[str, Any]) -> None:
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

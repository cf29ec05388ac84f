"""Exhibits: a few entries of a case, provable without handing over the rest.

An exhibit bundles a signed checkpoint, the chosen entries, the entries that establish their
signers (case.opened and the member.added of each signer) and an RFC 6962 inclusion proof for
each. Anyone holding the opener's fingerprint can check that every exhibited entry is signed
by a key the opener's case admitted and is part of the journal the checkpoint commits to.
An exhibit of items (`--item E-0001`) adds an item index: a signed note, by an active lead,
listing for each item the seqs of every entry up to the checkpoint that concerns it, bound to
the checkpoint's origin, size and root. The verifier checks the index against the entries it
carries (both ways) and walks each item's custody chain; that nothing was left out rests on
the lead's signature (docs/FORMAT.md, "Exhibits of items", says what it does and does not
prove). What an exhibit cannot show is absence: that a signer was not removed before signing.

The item index lives in irkit/audit/itemindex.py.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from irkit.audit.itemindex import (
    ITEM_RE,
    ItemChain,
    check_index,
    concerning,
    make_index,
    parse_index,
)
from irkit.errors import InputError
from irkit.formats import jsonload, merkle
from irkit.formats.ed25519 import PublicKey, Signer
from irkit.formats.signednote import (
    Checkpoint,
    SignedNote,
    parse_checkpoint,
    parse_note,
    verify_note,
)
from irkit.record import journal
from irkit.record.entry import Entry, split_signature
from irkit.record.journal import entry_hash
from irkit.record.roster import Roster

if TYPE_CHECKING:
    from irkit.record.case import Case
    from irkit.record.kindspec import Context

EXHIBIT_TYPE = "irkit-exhibit"


def create(
    case: Case,
    seqs: Iterable[int],
    checkpoint_note: bytes,
    *,
    items: Iterable[str] = (),
    index_signer: Signer | None = None,
) -> dict[str, Any]:
    """Build the exhibit document for `seqs` and every entry concerning `items` against an
    already signed checkpoint; `index_signer` (an active lead) signs the item index."""
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
    item_ids = sorted(set(items))
    for item_id in item_ids:
        if not ITEM_RE.match(item_id):
            raise InputError(f"{item_id!r} is not an item id (E-0001)")
    for seq in wanted:
        if not 0 <= seq < cp.size:
            raise InputError(f"entry {seq} is not covered by the checkpoint (size {cp.size})")
    # Admissions to include: the member.added in force for each included entry's signer and
    # the checkpoint's signer, and in turn for whoever signed that admission, back to the
    # opener (entry 0), so a recipient can judge every signer from the exhibit alone.
    admissions: dict[str, list[int]] = {}
    actors: list[str] = []
    parsed: list[tuple[int, str, Any]] = []
    roster = Roster.empty()
    for index, line in enumerate(lines):
        try:
            obj = json.loads(line)
            actors.append(str(obj["actor"]))
            parsed.append((index, str(obj["kind"]), obj["body"]))
            if obj["kind"] == "member.added":
                admissions.setdefault(str(obj["body"]["member"]["fingerprint"]), []).append(index)
            if obj["kind"] in ("case.opened", "member.added", "member.removed"):
                roster.apply(index, obj["kind"], obj["body"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"entry {index} is malformed; run `irkit verify`") from exc
    keys = {fp: PublicKey(base64.b64decode(m.public_key)) for fp, m in roster.members.items()}
    signers = [fp for fp in verify_note(note, keys) if roster.may_sign_checkpoint(fp) is None]
    if not signers:
        raise InputError(
            "the checkpoint is signed by no active lead of this case: an exhibit needs one "
            "by the opener or a lead",
            hint="ask a lead for `irkit checkpoint -o FILE`, then pass --checkpoint FILE",
        )
    index_doc: dict[str, Any] = {}
    index_signers: list[str] = []
    if item_ids:
        index_doc, index_signers = make_index(item_ids, parsed, cp, roster, index_signer)
        wanted_entries = {
            seq for seqs_of in concerning(parsed, item_ids).values() for seq in seqs_of
        }
    else:
        wanted_entries = set()
    chosen = set(wanted) | {0} | wanted_entries
    todo = [(actors[seq], seq) for seq in chosen] + [(signers[0], cp.size)]
    todo += [(fp, cp.size) for fp in index_signers]
    while todo:
        fp, before = todo.pop()
        earlier = [i for i in admissions.get(fp, []) if i < before]
        if earlier and earlier[-1] not in chosen:
            chosen.add(earlier[-1])
            todo.append((actors[earlier[-1]], earlier[-1]))
    return {
        "type": EXHIBIT_TYPE,
        "format": 1,
        "requested": wanted,
        **index_doc,
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
    # who signed the checkpoint with a key the exhibit admits: (fingerprint, name, role)
    checkpoint_signers: list[tuple[str, str, str]] = field(default_factory=list)
    items: list[ItemChain] = field(default_factory=list)
    index_signers: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


_Item = tuple[int, bytes, list[str]]


@dataclass(frozen=True)
class _Parsed:
    note: SignedNote
    checkpoint: Checkpoint
    entries: list[_Item]
    requested: list[int]
    items: list[str] | None
    index: bytes | None


def _parse_exhibit(doc_bytes: bytes) -> _Parsed:
    """The exhibit's structure, every field type-checked; InputError (exit 2) if unreadable."""
    # strict JSON: no duplicate key, no NaN, nothing nested deeper than jsonload.MAX_DEPTH
    doc = jsonload.loads(doc_bytes, what="malformed exhibit: the document")
    if not isinstance(doc, dict) or doc.get("type") != EXHIBIT_TYPE or doc.get("format") != 1:
        raise InputError("malformed exhibit: not an irkit exhibit (format 1)")
    note_text, entries, requested = doc.get("checkpoint"), doc.get("entries"), doc.get("requested")
    if not isinstance(note_text, str):
        raise InputError("malformed exhibit: `checkpoint` is not a signed note")
    if not isinstance(entries, list) or not isinstance(requested, list | None):
        raise InputError("malformed exhibit: `entries` / `requested` are not lists")
    items: list[_Item] = []
    for position, item in enumerate(entries):
        if (
            not isinstance(item, dict)
            or type(item.get("seq")) is not int
            or not isinstance(item.get("line"), str)
            or not isinstance(item.get("proof"), list)
            or not all(isinstance(h, str) for h in item["proof"])
        ):
            raise InputError(
                f"malformed exhibit: entries[{position}] needs an integer `seq`, a `line` "
                "string and a `proof` list of hex strings"
            )
        items.append((item["seq"], item["line"].encode("utf-8"), item["proof"]))
    wanted = requested or []
    if not all(type(x) is int for x in wanted):
        raise InputError("malformed exhibit: `requested` holds something that is not a seq")
    item_ids, index = doc.get("items"), doc.get("index")
    if (item_ids is None) != (index is None):
        raise InputError("malformed exhibit: `items` and `index` come together")
    if item_ids is not None and (
        not isinstance(item_ids, list)
        or not item_ids
        or not all(isinstance(x, str) and ITEM_RE.match(x) for x in item_ids)
    ):
        raise InputError("malformed exhibit: `items` is not a list of item ids")
    if index is not None and not isinstance(index, str):
        raise InputError("malformed exhibit: `index` is not a signed note")
    try:
        note = parse_note(note_text.encode("utf-8"))
        cp = parse_checkpoint(note.text)
    except (InputError, UnicodeError) as exc:
        raise InputError(f"malformed exhibit: checkpoint: {exc}") from exc
    return _Parsed(
        note, cp, items, wanted, item_ids, None if index is None else index.encode("utf-8")
    )


def verify(doc_bytes: bytes, trust: Iterable[str]) -> ExhibitReport:
    """Check an exhibit on its own with the rules `verify` applies to a whole journal.

    Each entry is checked like a journal line (fields, canonical form, schema, seq) and its
    signer judged by the membership the exhibit's own earlier entries establish, back to
    the opener; `prev` is checked wherever the entry before it is included; the checkpoint
    must be signed by the opener or a lead the exhibit admits. A malformed exhibit raises
    InputError; every problem with a well-formed one is reported, none raised.
    """
    from irkit.audit.verify import Context, _check_line
    from irkit.record.roster import origin_for

    parsed = _parse_exhibit(doc_bytes)
    note, cp, items, wanted = parsed.note, parsed.checkpoint, parsed.entries, parsed.requested
    index = None
    if parsed.index is not None:
        try:
            index = parse_index(parsed.index)
        except (InputError, UnicodeError) as exc:
            raise InputError(f"malformed exhibit: item index: {exc}") from exc
    report = ExhibitReport(None, None, False, cp.size, requested=list(wanted))
    ctx = Context(roster=Roster.empty(), problems=[], warnings=[], content=False)
    items.sort(key=lambda item: item[0])
    good_lines: dict[int, bytes] = {}
    seen: set[int] = set()
    for seq, line, proof_hex in items:
        if seq in seen:
            ctx.problem(seq, "duplicate", "included more than once")
            continue
        seen.add(seq)
        if not 0 <= seq < cp.size:
            ctx.problem(seq, "inclusion", f"outside the checkpoint (size {cp.size})")
            continue
        try:
            proof = [bytes.fromhex(h) for h in proof_hex]
        except ValueError:
            ctx.problem(seq, "inclusion", "malformed inclusion proof")
            continue
        if not merkle.verify_inclusion(seq, cp.size, merkle.leaf_hash(line), proof, cp.root):
            ctx.problem(seq, "inclusion", "not included in the checkpointed journal")
            continue
        before = len(ctx.problems)
        earlier = good_lines.get(seq - 1)
        prev = journal.GENESIS_PREV if seq == 0 else (entry_hash(earlier) if earlier else None)
        roster_before = copy.deepcopy(ctx.roster)
        entry, _ = _check_line(seq, line, prev, ctx)
        if entry is None:
            continue
        member = ctx.roster.members.get(entry.actor)
        cut = split_signature(line)
        if member is None:
            if len(ctx.problems) == before:
                ctx.problem(seq, "not-member", f"signer {entry.actor} is not shown to be a member")
        elif cut is None or not PublicKey(base64.b64decode(member.public_key)).verify(
            cut[1], cut[0]
        ):
            ctx.problem(seq, "bad-signature", "signature does not verify")
            ctx.roster = roster_before  # a forged admission admits nobody
        if len(ctx.problems) == before:
            good_lines[seq] = line
            report.entries.append(entry)
    if 0 not in seen:
        ctx.problem(0, "opened", "the exhibit does not include entry 0 (case.opened)")
    roster = ctx.roster
    report.case_id, report.opener = roster.case_id, roster.opener
    trusted = set(trust)
    report.anchored = bool(report.opener and report.opener in trusted)
    if trusted and not report.anchored:
        ctx.problem(None, "untrusted-opener", f"case opener {report.opener} is not trusted")
    _check_checkpoint_signers(note, roster, report, ctx)
    if origin_for(roster) not in (None, cp.origin):
        ctx.problem(None, "checkpoint", f"checkpoint origin {cp.origin!r} is not this case's")
    shown = {e.seq for e in report.entries}
    for seq in report.requested:
        if seq not in shown:
            ctx.problem(seq, "requested", "requested but missing or failed its checks")
    if index is not None and parsed.items is not None:
        report.index_signers, report.items = check_index(
            index, parsed.items, cp, roster, report.entries, ctx
        )
    report.problems = [str(p) for p in ctx.problems]
    return report


def _check_checkpoint_signers(
    note: SignedNote, roster: Roster, report: ExhibitReport, ctx: Context
) -> None:
    """The checkpoint must carry a valid signature by an active lead the exhibit admits:
    any other member could sign a tree of his own making."""
    keys = {fp: PublicKey(base64.b64decode(m.public_key)) for fp, m in roster.members.items()}
    signers = verify_note(note, keys)
    report.checkpoint_signers = [
        (fp, roster.members[fp].name, roster.members[fp].role) for fp in signers
    ]
    if not signers:
        ctx.problem(
            None, "checkpoint", "the checkpoint carries no valid signature by a member it admits"
        )
    elif all(roster.may_sign_checkpoint(fp) is not None for fp in signers):
        why = "; ".join(
            f"{roster.members[fp].name} ({fp}): {roster.may_sign_checkpoint(fp)}" for fp in signers
        )
        ctx.problem(
            None,
            "checkpoint",
            f"the checkpoint is signed by no active lead ({why}): only the opener or a lead "
            "can vouch for the journal an exhibit comes from",
        )


def check_against(doc_bytes: bytes, case: Case) -> list[str]:
    """What the full journal shows about an exhibit: that its checkpoint is this journal's
    and that its item index leaves out no entry and lists none that does not concern the
    item. The check an exhibit alone cannot make (it cannot prove absence)."""
    parsed = _parse_exhibit(doc_bytes)
    cp = parsed.checkpoint
    scan = journal.read(case.journal_path)
    if cp.size > len(scan.lines):
        return [f"the case holds {len(scan.lines)} entries, fewer than the checkpoint's {cp.size}"]
    lines = scan.lines[: cp.size]
    if merkle.root([merkle.leaf_hash(line) for line in lines]) != cp.root:
        return ["the exhibit's checkpoint is not of this journal (another root)"]
    if parsed.index is None:
        return []
    try:
        listed = parse_index(parsed.index)[4]
    except (InputError, UnicodeError) as exc:
        raise InputError(f"malformed exhibit: item index: {exc}") from exc
    entries: list[tuple[int, str, Any]] = []
    for seq, line in enumerate(lines):
        try:
            obj = json.loads(line)
            entries.append((seq, str(obj["kind"]), obj["body"]))
        except (ValueError, KeyError, TypeError):
            continue  # `irkit verify` reports it; it concerns no item here
    problems = []
    for item, seqs in concerning(entries, listed).items():
        for seq in sorted(set(seqs) - set(listed[item])):
            problems.append(f"entry {seq}: concerns {item}, but the item index leaves it out")
        for seq in sorted(set(listed[item]) - set(seqs)):
            problems.append(f"entry {seq}: listed for {item}, but does not concern it")
    return problems


def latest_checkpoint(case: Case) -> bytes | None:
    """The kept checkpoint with the largest size, if any (what is not a readable regular
    file is passed over: `verify` reports it)."""
    from irkit.record import safefile

    best: tuple[int, bytes] | None = None
    if case.checkpoints_dir.is_dir():
        for path in case.checkpoints_dir.glob("*.txt"):
            try:
                data = safefile.read_bytes(path)
                size = parse_checkpoint(parse_note(data).text).size
            except (OSError, InputError, UnicodeDecodeError):
                continue
            if best is None or size > best[0]:
                best = (size, data)
    return None if best is None else best[1]


def write(path: Path, doc: dict[str, Any]) -> None:
    """Write the exhibit whole or not at all."""
    from irkit.record import safefile

    data = (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    try:
        safefile.atomic_write(path, data)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from exc

"""The published journal on a remote: claims, bundles and the checkpoint.

Layout under the remote's prefix (docs/FORMAT.md, "Team cases (remotes)"):

    irkit-remote.json          which case this remote holds (create-only, first push)
    log/claims/<start:012d>    entries start..start+k-1: the create-only write decides who
                               gets those positions; never straddles a multiple of 256
    log/bundles/<n:06d>        entries 256n..256n+255 with the claims' checkpoints, written
                               by whoever completes the block (deterministic content)
    checkpoint                 the latest published checkpoint, moved forward by CAS
    evidence/sha256/<hex>      content-addressed evidence objects

Every claim carries a checkpoint over the journal up to its end, signed by its publisher,
with a `time <UTC>` extension line: when those entries were published.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from irkit.errors import InputError, ProblemsFound
from irkit.formats import jsonload, merkle
from irkit.formats.ed25519 import PublicKey, Signer, b64d
from irkit.formats.signednote import (
    Checkpoint,
    parse_checkpoint,
    parse_note,
    sign_note,
    verify_note,
)
from irkit.formats.timefmt import format_utc, is_utc_stamp
from irkit.record.journal import GENESIS_PREV, entry_hash
from irkit.remote.backend import Backend

BLOCK = 256
META_KEY = "irkit-remote.json"
CHECKPOINT_KEY = "checkpoint"
EVIDENCE_PREFIX = "evidence/sha256/"
TIME_PREFIX = "time "


def claim_key(start: int) -> str:
    return f"log/claims/{start:012d}"


def bundle_key(index: int) -> str:
    return f"log/bundles/{index:06d}"


def evidence_key(sha256_hex: str) -> str:
    return EVIDENCE_PREFIX + sha256_hex


@dataclass(frozen=True)
class ClaimInfo:
    """One claim as published: its entries' positions and its signed checkpoint."""

    start: int
    count: int
    note: bytes

    def record(self) -> dict[str, Any]:
        return {"start": self.start, "count": self.count, "checkpoint": self.note.decode()}


@dataclass
class Segment:
    """What one remote object holds: a claim (one ClaimInfo) or a bundle (several)."""

    start: int
    lines: list[bytes]
    claims: list[ClaimInfo]
    key: str


def split_claims(start: int, count: int) -> list[tuple[int, int]]:
    """(start, count) of the claims publishing entries start..start+count-1: none straddles
    a multiple of BLOCK, so every block start is a claim start."""
    out: list[tuple[int, int]] = []
    pos, end = start, start + count
    while pos < end:
        stop = min(end, (pos // BLOCK + 1) * BLOCK)
        out.append((pos, stop - pos))
        pos = stop
    return out


def _dumps(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def encode_claim(start: int, lines: list[bytes], note: bytes) -> bytes:
    return _dumps(
        {
            "type": "irkit-claim",
            "format": 1,
            "start": start,
            "lines": [line.decode("utf-8") for line in lines],
            "checkpoint": note.decode("utf-8"),
        }
    )


def encode_bundle(index: int, lines: list[bytes], claims: list[ClaimInfo]) -> bytes:
    return _dumps(
        {
            "type": "irkit-bundle",
            "format": 1,
            "start": index * BLOCK,
            "lines": [line.decode("utf-8") for line in lines],
            "claims": [c.record() for c in claims],
        }
    )


def _bad(backend: Backend, key: str, why: str) -> ProblemsFound:
    return ProblemsFound(
        f"remote {backend.url}: {key} is not a valid irkit {why}; nothing was changed",
        hint="the remote was damaged or written outside irkit; run `irkit verify --remote`",
    )


def decode_segment(backend: Backend, key: str, data: bytes, start: int) -> Segment:
    """A claim or bundle object, checked for shape (its content is checked as it is
    chained, see Chain)."""
    try:
        doc = jsonload.loads(data, what=key)
    except InputError:
        raise _bad(backend, key, "journal object (not JSON)") from None
    if not isinstance(doc, dict) or doc.get("format") != 1 or doc.get("start") != start:
        raise _bad(backend, key, "journal object")
    lines = doc.get("lines")
    if not isinstance(lines, list) or not lines or not all(isinstance(x, str) for x in lines):
        raise _bad(backend, key, "journal object (lines)")
    raw = [x.encode("utf-8") for x in lines]
    if any(b"\n" in x for x in raw):
        raise _bad(backend, key, "journal object (a line holds a newline)")
    if doc.get("type") == "irkit-claim":
        note = doc.get("checkpoint")
        if not isinstance(note, str) or start % BLOCK + len(raw) > BLOCK:
            raise _bad(backend, key, "claim")
        return Segment(start, raw, [ClaimInfo(start, len(raw), note.encode("utf-8"))], key)
    if doc.get("type") == "irkit-bundle" and len(raw) == BLOCK and start % BLOCK == 0:
        claims: list[ClaimInfo] = []
        pos = start
        for rec in doc.get("claims") or []:
            if not isinstance(rec, dict):
                raise _bad(backend, key, "bundle")
            s, n, note = rec.get("start"), rec.get("count"), rec.get("checkpoint")
            if s != pos or type(n) is not int or n < 1 or not isinstance(note, str):
                raise _bad(backend, key, "bundle (claims)")
            claims.append(ClaimInfo(pos, n, note.encode("utf-8")))
            pos += n
        if pos != start + BLOCK:
            raise _bad(backend, key, "bundle (claims do not cover it)")
        return Segment(start, raw, claims, key)
    raise _bad(backend, key, "journal object (type)")


def publication_note(signer: Signer, origin: str, size: int, root: bytes, when: datetime) -> bytes:
    """The checkpoint a claim carries: over the journal up to its end, with the time."""
    body = Checkpoint(origin, size, root, (TIME_PREFIX + format_utc(when),)).body()
    return sign_note(body, signer)


def note_time(note: bytes) -> str | None:
    try:
        cp = parse_checkpoint(parse_note(note).text)
    except (InputError, UnicodeDecodeError):
        return None
    for ext in cp.extensions:
        if ext.startswith(TIME_PREFIX) and is_utc_stamp(ext[len(TIME_PREFIX) :]):
            return ext[len(TIME_PREFIX) :]
    return None


@dataclass(frozen=True)
class Head:
    note: bytes
    checkpoint: Checkpoint
    etag: str


def read_head(backend: Backend) -> Head | None:
    got = backend.get_versioned(CHECKPOINT_KEY)
    if got is None:
        return None
    data, etag = got
    try:
        cp = parse_checkpoint(parse_note(data).text)
    except (InputError, UnicodeDecodeError):
        raise _bad(backend, CHECKPOINT_KEY, "checkpoint") from None
    return Head(data, cp, etag)


def read_meta(backend: Backend) -> dict[str, Any] | None:
    data = backend.get(META_KEY)
    if data is None:
        return None
    try:
        doc = jsonload.loads(data, what=META_KEY)
    except InputError:
        raise _bad(backend, META_KEY, "remote description") from None
    if not isinstance(doc, dict) or doc.get("type") != "irkit-remote" or doc.get("format") != 1:
        raise _bad(backend, META_KEY, "remote description")
    return doc


def meta_doc(case_id: str, origin: str, opener: str) -> bytes:
    return _dumps(
        {
            "type": "irkit-remote",
            "format": 1,
            "case_id": case_id,
            "origin": origin,
            "opener": opener,
        }
    )


def walk(backend: Backend, start: int, head_size: int, *, parallel: int = 1) -> Iterator[Segment]:
    """Segments from position `start` (a claim start) until a claim is absent: full blocks
    below `head_size` as bundles (a missing bundle: its claims), the rest claim by claim.
    With `parallel` > 1 bundles are fetched ahead on threads (a clone)."""
    pos = start
    if pos % BLOCK == 0 and pos + BLOCK <= head_size:
        first, last = pos // BLOCK, head_size // BLOCK
        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            fetched = pool.map(lambda n: backend.get(bundle_key(n)), range(first, last))
            for index, data in zip(range(first, last), fetched, strict=True):
                block_start = index * BLOCK
                if pos != block_start:
                    break  # cannot happen: a bundle or its claims end at the block's end
                if data is not None:
                    yield decode_segment(backend, bundle_key(index), data, block_start)
                    pos += BLOCK
                    continue
                while pos < block_start + BLOCK:
                    seg = _claim_at(backend, pos)
                    if seg is None:
                        return
                    yield seg
                    pos += len(seg.lines)
    while True:
        seg = _claim_at(backend, pos)
        if seg is None:
            return
        yield seg
        pos += len(seg.lines)


def _claim_at(backend: Backend, pos: int) -> Segment | None:
    key = claim_key(pos)
    data = backend.get(key)
    return None if data is None else decode_segment(backend, key, data, pos)


class CompactRange:
    """An RFC 6962 tree's right edge (one root per set bit of the size): append a leaf and
    read the root in O(log n), so a long walk checks every claim's root as it arrives."""

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []

    def append(self, leaf: bytes) -> None:
        height, current = 0, leaf
        while self._stack and self._stack[-1][0] == height:
            current = merkle.node_hash(self._stack.pop()[1], current)
            height += 1
        self._stack.append((height, current))
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return merkle.EMPTY_ROOT
        current = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            current = merkle.node_hash(left, current)
        return current


class ForkError(ProblemsFound):
    """The remote's history and this copy's differ (a stale copy, a restored backup)."""


@dataclass
class Chain:
    """Entries as they arrive, checked against what precedes them: seq, prev, and every
    claim's checkpoint (origin, size, root, time, a member's signature). The entries'
    own signatures and the case's rules are the full verification's (audit/verify.py),
    run over the result before anything is kept."""

    origin: str
    url: str
    tree: CompactRange = field(default_factory=CompactRange)
    prev: str = GENESIS_PREV
    keys: dict[str, PublicKey] = field(default_factory=dict)
    roots: dict[int, bytes] = field(default_factory=dict)  # claim end -> root

    def add_known(self, lines: list[bytes]) -> None:
        """Lines this copy already holds (its published prefix)."""
        for line in lines:
            self._take(line)

    def _take(self, line: bytes) -> None:
        self.tree.append(merkle.leaf_hash(line))
        self.prev = entry_hash(line)
        if b'"kind":"case.opened"' in line or b'"kind":"member.added"' in line:
            self._admit(line)

    def _admit(self, line: bytes) -> None:
        try:
            obj = json.loads(line)
            info = obj["body"]["opener" if obj["kind"] == "case.opened" else "member"]
            key = PublicKey(b64d(info["public_key"], what="public_key"))
        except (ValueError, KeyError, TypeError, InputError):
            return  # verification names it; it admits nobody here
        self.keys[key.fingerprint] = key

    def add_segment(self, seg: Segment) -> None:
        ends = {c.start + c.count: c for c in seg.claims}
        for offset, line in enumerate(seg.lines):
            seq = seg.start + offset
            if seq != self.tree.size:
                raise ProblemsFound(f"remote {self.url}: {seg.key} starts at the wrong place")
            try:
                obj = json.loads(line)
                ok = obj.get("seq") == seq and obj.get("prev") == self.prev
            except (ValueError, AttributeError):
                ok = False
            if not ok:
                raise ProblemsFound(
                    f"remote {self.url}: entry {seq} in {seg.key} does not follow entry "
                    f"{seq - 1} (seq or prev hash wrong); nothing was changed",
                    hint="the remote was written outside irkit; run `irkit verify --remote`",
                )
            self._take(line)
            claim = ends.get(seq + 1)
            if claim is not None:
                self.check_note(claim.note, seq + 1, f"{seg.key} (claim at {claim.start})")
                self.roots[seq + 1] = self.tree.root()

    def check_note(self, note: bytes, size: int, where: str) -> Checkpoint:
        try:
            parsed = parse_note(note)
            cp = parse_checkpoint(parsed.text)
        except (InputError, UnicodeDecodeError):
            raise ProblemsFound(f"remote {self.url}: {where}: unreadable checkpoint") from None
        if cp.origin != self.origin or cp.size != size:
            raise ProblemsFound(
                f"remote {self.url}: {where}: checkpoint for {cp.origin} size {cp.size}, "
                f"expected {self.origin} size {size}"
            )
        if cp.root != self.tree.root():
            raise ForkError(
                f"remote {self.url}: {where}: the published checkpoint's root is not that of "
                f"the first {size} entries as this copy has them: the histories diverged"
            )
        if not verify_note(parsed, self.keys):
            raise ProblemsFound(
                f"remote {self.url}: {where}: checkpoint carries no valid member signature"
            )
        if not any(e.startswith(TIME_PREFIX) for e in cp.extensions):
            raise ProblemsFound(f"remote {self.url}: {where}: checkpoint has no time line")
        return cp

"""Pull, publish, sync and clone: a case's journal shared through a remote.

The remote decides the order with create-only writes (irkit/remote/journal.py); this module
keeps the local copy in step with it. Everything fetched is checked as it arrives and then
verified as a whole (audit/verify.py) before the local journal changes; a fork or a
rolled-back remote changes nothing here. Local work the others have not seen is rebased
after theirs (irkit/remote/rebase.py); conflicting entries are held back and reported.

Longer than ~500 lines: pull, publish and clone share the exchange and its checks (#14,
work in progress); clone and `verify --remote` are the parts to split out once it settles.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from irkit.errors import InputError, JournalError, ProblemsFound
from irkit.formats import merkle
from irkit.formats.ed25519 import Signer
from irkit.formats.timefmt import Clock, format_utc, system_clock
from irkit.record import journal as local_journal
from irkit.record import safefile
from irkit.record.case import MARKER_NAME, Case
from irkit.record.journal import entry_hash
from irkit.remote import journal as rj
from irkit.remote import state
from irkit.remote.backend import Backend, RemoteError, open_backend
from irkit.remote.rebase import Conflict, rebase

MAX_TRIES = 25  # lost races before a sync gives up (each one pulls what won)
Progress = Callable[[str, int, int], None]  # (stage, done, total)


class ConflictInfo(BaseModel):
    """An entry held back: `id` is what `irkit sync --withdraw ID` takes."""

    model_config = ConfigDict(frozen=True)

    id: int
    seq: int  # its seq in the local journal when it was written
    kind: str
    actor: str
    reason: str
    winner_seq: int | None = None
    winner_hash: str | None = None
    recorded: str | None = None


class SyncResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    remote: str
    url: str
    pulled: int = 0  # entries others published that this copy did not have
    published: int = 0  # entries this sync published
    rebased: int = 0  # local entries re-sequenced after the incoming ones
    renumbered: dict[str, str] = {}
    conflicts: list[ConflictInfo] = []  # held back by this sync
    open_conflicts: list[ConflictInfo] = []  # every conflict not yet withdrawn
    remote_size: int = 0
    local_size: int = 0
    unpublished: int = 0  # local entries still not on the remote
    evidence_uploaded: int = 0
    evidence_downloaded: int = 0
    evidence_bytes: int = 0
    retries: int = 0
    time: str | None = None  # the publication time of this sync's checkpoint


class CloneResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    url: str
    case_id: str
    opener: str
    entries: int
    anchored: bool
    evidence: int
    evidence_bytes: int


class RemoteCheck(BaseModel):
    model_config = ConfigDict(frozen=True)

    remote: str
    url: str
    local_entries: int
    remote_entries: int
    published: int
    checkpoint_size: int
    evidence_checked: int
    problems: list[str]
    warnings: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


# -- helpers -------------------------------------------------------------------------------


def _open(case: Case, name: str | None) -> tuple[str, state.RemoteConfig, Backend]:
    name, config = state.get_remote(case.root, name)
    return name, config, open_backend(config.url, config.settings())


def _origin(line0: bytes) -> tuple[str, str, str]:
    """(origin, case id, opener) from entry 0."""
    obj = json.loads(line0)
    case_id, opener = obj["body"]["case_id"], obj["body"]["opener"]["fingerprint"]
    return f"irkit.case/{case_id}/{opener.removeprefix('ed25519:')[:16]}", case_id, opener


def _local_lines(case: Case) -> list[bytes]:
    case.check_appendable()  # never build on, or publish, a tail that does not verify
    scan = case.scan()
    if scan.torn is not None:
        raise JournalError(
            "the journal's last line is incomplete; nothing was synced",
            hint="run `irkit repair` first",
        )
    return scan.lines


def _digests(lines: list[bytes]) -> list[str]:
    """SHA-256 hex values named in entry bodies (store objects among them)."""
    out: dict[str, None] = {}

    def walk(value: Any) -> None:
        if isinstance(value, str):
            if len(value) == 64 and all(c in "0123456789abcdef" for c in value):
                out[value] = None
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for line in lines:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            walk(json.loads(line)["body"])
    return list(out)


def check_lines(case_root: Path, lines: list[bytes]) -> list[tuple[int, str]]:
    """The audit rules over a candidate journal (problems as (seq, message)), run on a
    scratch copy of the case folder without stored content: verification reads folders."""
    from irkit.audit.verify import verify_case

    scratch = case_root / state.STATE_DIR / f"verify-{os.getpid()}-{os.urandom(4).hex()}"
    try:
        (scratch / "evidence" / "sha256").mkdir(parents=True)
        for name in ("keys", "checkpoints", "reports"):
            (scratch / name).mkdir()
        shutil.copyfile(case_root / MARKER_NAME, scratch / MARKER_NAME)
        keys = case_root / "keys"
        if keys.is_dir():
            for key in keys.glob("*.pub"):
                with contextlib.suppress(OSError):
                    shutil.copyfile(key, scratch / "keys" / key.name)
        (scratch / local_journal.JOURNAL_NAME).write_bytes(b"".join(x + b"\n" for x in lines))
        report = verify_case(scratch, content=False)
        return [(p.seq if p.seq is not None else -1, p.message) for p in report.problems]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _write_keys(root: Path, lines: list[bytes]) -> None:
    """keys/<hex>.pub for every key the journal admits (clone, pull): the case's own copy
    of what the journal carries."""
    from irkit.formats.ed25519 import PublicKey, b64d

    for line in lines:
        if b'"kind":"case.opened"' not in line and b'"kind":"member.added"' not in line:
            continue
        try:
            obj = json.loads(line)
            info = obj["body"]["opener" if obj["kind"] == "case.opened" else "member"]
            key = PublicKey(b64d(info["public_key"], what="public_key"))
        except (ValueError, KeyError, TypeError, InputError):
            continue
        path = root / "keys" / f"{key.fingerprint.removeprefix('ed25519:')}.pub"
        if not path.exists():
            with contextlib.suppress(FileExistsError):
                safefile.atomic_write(path, key.pem(), replace=False)


@dataclass
class _Pulled:
    """What the remote holds beyond this copy's published prefix, checked."""

    head: rj.Head | None
    incoming: list[bytes]
    claims: list[rj.ClaimInfo]
    tip: int


def _first_difference(backend: Backend, local: list[bytes]) -> tuple[int, str, str] | None:
    """Walk the remote from 0 and find the first entry that differs from `local`."""
    seq = 0
    head = rj.read_head(backend)
    for seg in rj.walk(backend, 0, head.checkpoint.size if head else 0, parallel=8):
        for line in seg.lines:
            if seq >= len(local):
                return None
            if line != local[seq]:
                return seq, entry_hash(local[seq]), entry_hash(line)
            seq += 1
    return None


def _fork(backend: Backend, origin: str, local: list[bytes], why: str) -> ProblemsFound:
    diff = _first_difference(backend, local)
    where = (
        f"; first difference at entry {diff[0]}: this copy has {diff[1]}, the remote {diff[2]}"
        if diff
        else ""
    )
    return rj.ForkError(
        f"remote {backend.url}: {why}{where}; nothing was changed, both sides are kept",
        hint="someone wrote on a stale copy or the remote was restored from an old backup: "
        "compare both with `irkit verify --remote` and decide which history to keep",
    )


def _pull(
    backend: Backend, origin: str, local: list[bytes], view: state.View, *, parallel: int = 1
) -> _Pulled:
    """Read the remote after this copy's published prefix; refuse a rollback or a fork."""
    published = view.published
    if len(local) < published or (
        published and entry_hash(local[published - 1]) != view.published_hash
    ):
        raise ProblemsFound(
            f"this copy's journal no longer holds the {published} entries it had published on "
            f"{backend.url} (changed outside irkit); nothing was synced",
            hint="run `irkit verify`; restore the journal from the remote with `irkit clone`",
        )
    head = rj.read_head(backend)
    head_size = head.checkpoint.size if head else 0
    if head_size < view.seen_size:
        raise ProblemsFound(
            f"remote {backend.url} was rolled back: its checkpoint covers {head_size} entries, "
            f"but this copy saw one covering {view.seen_size}; nothing was changed",
            hint="the remote was restored from an old copy or tampered with; keep this copy "
            "and tell the team before anyone writes to it",
        )
    chain = rj.Chain(origin, backend.url)
    chain.add_known(local[:published])
    incoming: list[bytes] = []
    claims: list[rj.ClaimInfo] = []
    try:
        for seg in rj.walk(backend, published, head_size, parallel=parallel):
            chain.add_segment(seg)
            incoming.extend(seg.lines)
            claims.extend(seg.claims)
    except rj.ForkError as exc:
        raise _fork(backend, origin, local, exc.message.split(": ", 1)[-1]) from None
    tip = published + len(incoming)
    if head is not None:
        if head_size > tip:
            raise _fork(
                backend,
                origin,
                local,
                f"its checkpoint covers {head_size} entries but its claims after this "
                f"copy's {published} end at {tip}",
            )
        if head_size <= published:
            root = merkle.root([merkle.leaf_hash(x) for x in local[:head_size]])
        else:
            root = chain.roots.get(head_size, b"")
        if root != head.checkpoint.root:
            raise _fork(
                backend,
                origin,
                local + incoming,
                "its checkpoint does not match the entries this copy holds",
            )
    if view.seen_root is not None and view.seen_size:
        all_lines = local[:published] + incoming
        seen = merkle.root([merkle.leaf_hash(x) for x in all_lines[: view.seen_size]])
        if seen.hex() != view.seen_root:
            raise _fork(
                backend,
                origin,
                local,
                "it is not consistent with the checkpoint this copy saw before (rollback)",
            )
    return _Pulled(head, incoming, claims, tip)


def _check_meta(backend: Backend, meta: dict[str, Any], case_id: str, opener: str) -> None:
    if meta.get("case_id") != case_id or meta.get("opener") != opener:
        raise InputError(
            f"remote {backend.url} holds case {meta.get('case_id')!r} opened by "
            f"{meta.get('opener')}, not this case ({case_id})"
        )


# -- evidence objects ----------------------------------------------------------------------


def _stored(store: Any, lines: list[bytes]) -> list[str]:
    """The digests these entries name that are objects of `store`."""
    return [d for d in _digests(lines) if store.path_for(d).exists()]


def _upload_evidence(case: Case, backend: Backend, lines: list[bytes]) -> tuple[int, int]:
    """Put every store object these entries name on the remote (create-only, the server
    checks the SHA-256); the journal entries naming them are published only afterwards."""
    from irkit.remote.transfer import push_objects

    digests = _stored(case.store, lines)
    if not digests:
        return 0, 0
    stats = push_objects(backend, case.store, digests)
    return len(stats.transferred), stats.bytes


def _download_evidence(root: Path, backend: Backend, lines: list[bytes]) -> tuple[int, int]:
    """Fetch the store objects these entries name that this copy lacks (checked against
    their digest before they enter the store; see irkit/remote/transfer.py)."""
    from irkit.record.store import EvidenceStore
    from irkit.remote.transfer import fetch_objects

    store = EvidenceStore(root / "evidence")
    digests = [d for d in _digests(lines) if not store.path_for(d).exists()]
    if not digests:
        return 0, 0
    stats = fetch_objects(backend, store, digests)
    return len(stats.transferred), stats.bytes


# -- committing to the local journal -------------------------------------------------------


def _commit(
    case: Case,
    before: list[bytes],
    new_tail: list[bytes],
    keep: int,
    paths: state.Paths,
    superseded: list[bytes],
    conflicts: list[Conflict],
) -> list[ConflictInfo] | None:
    """Make the local journal `before[:keep] + new_tail`, under the journal lock; None
    when it changed since it was read (the caller starts again), else the conflicts kept.
    Appends when `keep` is all of `before`; otherwise writes a new journal beside it and
    renames it into place, after the lines it replaces are kept in superseded.jsonl."""
    jpath = case.journal_path
    with local_journal.Journal(jpath).locked() as locked:
        size = locked.size()
        expect = sum(len(x) + 1 for x in before)
        if size != expect or (
            before and locked.read_range(size - len(before[-1]) - 1, size) != before[-1] + b"\n"
        ):
            return None
        kept: list[ConflictInfo] = []
        if keep == len(before):
            if new_tail:
                locked.append_lines(new_tail)
        else:
            now = format_utc(system_clock())
            state.append_jsonl(
                paths.superseded,
                [
                    {"line": x.decode(), "seq": keep + i, "superseded": now}
                    for i, x in enumerate(superseded)
                ],
            )
            kept = _record_conflicts(paths, conflicts)
            data = b"".join(x + b"\n" for x in before[:keep] + new_tail)
            tmp = jpath.with_name(safefile.temp_name(jpath.name))
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            try:
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view) :]
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(tmp, jpath)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            safefile.fsync_dir(case.root)
            case.invalidate_state()
    return kept


def _record_conflicts(paths: state.Paths, conflicts: list[Conflict]) -> list[ConflictInfo]:
    existing = state.read_jsonl(paths.conflicts)
    next_id = 1 + max((r.get("id", 0) for r in existing if type(r.get("id")) is int), default=0)
    records = []
    out = []
    for i, c in enumerate(conflicts):
        recorded = json.loads(c.line).get("recorded")
        info = ConflictInfo(
            id=next_id + i,
            seq=c.seq,
            kind=c.kind,
            actor=c.actor,
            reason=c.reason,
            winner_seq=c.winner_seq,
            winner_hash=c.winner_hash,
            recorded=recorded,
        )
        out.append(info)
        records.append({**info.model_dump(), "line": c.line.decode()})
    state.append_jsonl(paths.conflicts, records)
    return out


def open_conflicts(root: Path, name: str) -> list[ConflictInfo]:
    """Conflicts held back on this copy and not withdrawn."""
    records = state.read_jsonl(state.Paths(root, name).conflicts)
    withdrawn = {r["withdrawn"] for r in records if "withdrawn" in r}
    out = []
    for r in records:
        if "id" in r and r["id"] not in withdrawn:
            with contextlib.suppress(ValueError):
                out.append(ConflictInfo.model_validate({k: v for k, v in r.items() if k != "line"}))
    return out


def withdraw(case: Case, name: str | None, conflict_id: int) -> ConflictInfo:
    """Withdraw a held-back entry: it stays in conflicts.jsonl, marked, and is no longer
    reported (its author redid it, or decided it should not be)."""
    name, _ = state.get_remote(case.root, name)
    for info in open_conflicts(case.root, name):
        if info.id == conflict_id:
            state.append_jsonl(
                state.Paths(case.root, name).conflicts,
                [{"withdrawn": conflict_id, "when": format_utc(system_clock())}],
            )
            return info
    raise InputError(f"no open conflict {conflict_id} on remote {name}")


# -- the exchange --------------------------------------------------------------------------


def sync(
    case: Case,
    name: str | None = None,
    *,
    signer: Signer | None = None,
    get_signer: Callable[[], Signer] | None = None,
    publish: bool = True,
    require_current: bool = False,
    clock: Clock = system_clock,
    progress: Progress | None = None,
) -> SyncResult:
    """Pull what others published, rebase local work after it, then (with `publish`)
    publish the local entries and the evidence objects they name.

    `require_current` (push): refuse instead of pulling when the remote has moved on.
    `get_signer` is called only when a key is needed (re-signing, publishing)."""
    name, _config, backend = _open(case, name)
    paths = state.Paths(case.root, name)
    key: list[Signer] = [signer] if signer is not None else []

    def need_key() -> Signer:
        if not key:
            if get_signer is None:
                raise InputError("this sync must sign (rebase or publish): give your key")
            key.append(get_signer())
        return key[0]

    counters: dict[str, Any] = {
        "pulled": 0,
        "published": 0,
        "rebased": 0,
        "renumbered": {},
        "conflicts": [],
        "up": 0,
        "down": 0,
        "bytes": 0,
        "time": None,
    }
    with state.sync_lock(paths):
        for attempt in range(MAX_TRIES):
            done = _exchange(
                case,
                name,
                backend,
                paths,
                publish,
                require_current,
                need_key,
                clock,
                counters,
                progress,
            )
            if done:
                break
            time.sleep(random.uniform(0.005, 0.05) * (1 + attempt))  # noqa: S311 (backoff)
        else:
            raise RemoteError(
                f"remote {backend.url}: lost {MAX_TRIES} races in a row to other publishers; "
                "nothing of yours is lost (it stays unpublished): run `irkit sync` again"
            )
        view = state.load_view(paths)
        local = _local_lines(case)
    return SyncResult(
        remote=name,
        url=backend.url,
        pulled=counters["pulled"],
        published=counters["published"],
        rebased=counters["rebased"],
        renumbered=counters["renumbered"],
        conflicts=counters["conflicts"],
        open_conflicts=open_conflicts(case.root, name),
        remote_size=view.published,
        local_size=len(local),
        unpublished=len(local) - view.published,
        evidence_uploaded=counters["up"],
        evidence_downloaded=counters["down"],
        evidence_bytes=counters["bytes"],
        retries=attempt,
        time=counters["time"],
    )


def _exchange(
    case: Case,
    name: str,
    backend: Backend,
    paths: state.Paths,
    publish: bool,
    require_current: bool,
    need_key: Callable[[], Signer],
    clock: Clock,
    counters: dict[str, Any],
    progress: Progress | None,
) -> bool:
    """One round: pull, rebase, commit locally, publish. False: lost a race, go again."""
    local = _local_lines(case)
    if not local:
        raise JournalError("the journal holds no entries")
    origin, case_id, opener = _origin(local[0])
    view = state.load_view(paths)
    meta = rj.read_meta(backend)
    if meta is None:
        if view.published:
            raise ProblemsFound(
                f"remote {backend.url} is empty, but this copy had published "
                f"{view.published} entries there: the remote was wiped or replaced; nothing "
                "was changed"
            )
        if not publish:
            return True
        need_key()
        backend.probe()
        if not backend.create(rj.META_KEY, rj.meta_doc(case_id, origin, opener)):
            meta = rj.read_meta(backend)
    if meta is not None:
        _check_meta(backend, meta, case_id, opener)
    pulled = _pull(backend, origin, local, view)
    published = view.published
    tip = pulled.tip
    incoming = pulled.incoming
    mine = local[published:]
    # Entries this copy already holds byte for byte were published by it (a sync stopped
    # between its claim and saving its view, or local state was lost): not rebased again.
    same = 0
    while same < min(len(mine), len(incoming)) and mine[same] == incoming[same]:
        same += 1
    if same:
        published += same
        incoming, mine = incoming[same:], mine[same:]
        view = view.model_copy(
            update={"published": published, "published_hash": entry_hash(local[published - 1])}
        )
    if published == 0 and incoming and mine:
        raise _fork(backend, origin, local, "it holds another history of this case")
    if incoming and require_current and mine:
        raise InputError(
            f"remote {backend.url} has {len(incoming)} entries this copy has not seen; "
            "nothing was pushed",
            hint="run `irkit sync` (pull, then publish)",
        )
    base = local[:published] + incoming
    conflicts: list[Conflict] = []
    superseded: list[bytes] = []
    new_tail: list[bytes]
    # the store session keeps fetched objects safe from `gc` until the entries naming
    # them are in the journal
    with case.store.writing():
        if incoming:
            problems = check_lines(case.root, base)
            if problems:
                seq, message = problems[0]
                raise ProblemsFound(
                    f"remote {backend.url}: the published journal does not verify "
                    f"(entry {seq}: {message}); nothing was changed",
                    hint="run `irkit verify --remote` for every problem",
                )
            _write_keys(case.root, incoming)
            down, nbytes = _download_evidence(case.root, backend, incoming)
            counters["down"] += down
            counters["bytes"] += nbytes
        if incoming and mine:
            result = rebase(
                base, published, mine, need_key(), lambda ls: check_lines(case.root, ls)
            )
            new_tail = incoming + result.lines
            superseded, conflicts = result.superseded, result.conflicts
            kept = _commit(case, local, new_tail, published, paths, superseded, conflicts)
            if kept is None:
                return False
            counters["rebased"] += len(result.lines)
            counters["renumbered"].update(result.renumbered)
            counters["conflicts"].extend(kept)
        elif incoming and _commit(case, local, incoming, len(local), paths, [], []) is None:
            return False
    counters["pulled"] += len(incoming)
    if pulled.claims:
        state.append_jsonl(paths.publications, [c.record() for c in pulled.claims])
    _remember(paths, view, base, pulled.head, tip)
    if not publish:
        return True
    local = _local_lines(case)
    todo = local[tip:]
    if not todo:
        _advance_checkpoint(backend, base, pulled.head, paths)
        return True
    signer = need_key()
    up, nbytes = _upload_evidence(case, backend, todo)
    counters["up"] += up
    counters["bytes"] += nbytes
    all_lines = local
    tree = rj.CompactRange()
    for line in all_lines[:tip]:
        tree.append(merkle.leaf_hash(line))
    view = state.load_view(paths)
    last_note: bytes | None = None
    for start, count in rj.split_claims(tip, len(todo)):
        chunk = all_lines[start : start + count]
        for line in chunk:
            tree.append(merkle.leaf_hash(line))
        when = clock()
        note = rj.publication_note(signer, origin, start + count, tree.root(), when)
        if not backend.create(rj.claim_key(start), rj.encode_claim(start, chunk, note)):
            return False  # someone else got these positions: pull what won and rebase
        claim = rj.ClaimInfo(start, count, note)
        state.append_jsonl(paths.publications, [claim.record()])
        counters["published"] += count
        counters["time"] = format_utc(when)
        last_note = note
        view = view.model_copy(
            update={
                "published": start + count,
                "published_hash": entry_hash(chunk[-1]),
            }
        )
        state.save_view(paths, view)
        if (start + count) % rj.BLOCK == 0:
            _bundle(backend, paths, all_lines, (start + count) // rj.BLOCK - 1)
        if progress is not None:
            progress("publish", start + count - tip, len(todo))
    if last_note is not None:
        _cas_checkpoint(backend, last_note, paths, view)
    return True


def _remember(
    paths: state.Paths, view: state.View, lines: list[bytes], head: rj.Head | None, tip: int
) -> None:
    update: dict[str, Any] = {
        "published": tip,
        "published_hash": entry_hash(lines[tip - 1]) if tip else None,
    }
    if head is not None and head.checkpoint.size >= view.seen_size:
        update.update(
            seen_size=head.checkpoint.size,
            seen_root=head.checkpoint.root.hex(),
            seen_note=head.note.decode(),
        )
    state.save_view(paths, view.model_copy(update=update))


def _bundle(backend: Backend, paths: state.Paths, lines: list[bytes], index: int) -> None:
    """Write bundle `index` from the claims this copy knows of (skipped if one is unknown:
    a reader then walks the claims)."""
    start = index * rj.BLOCK
    by_start: dict[int, rj.ClaimInfo] = {}
    for rec in state.read_jsonl(paths.publications):
        s = rec.get("start")
        if type(s) is int and start <= s < start + rj.BLOCK:
            by_start[s] = rj.ClaimInfo(s, int(rec["count"]), str(rec["checkpoint"]).encode())
    claims: list[rj.ClaimInfo] = []
    pos = start
    while pos < start + rj.BLOCK:
        claim = by_start.get(pos)
        if claim is None:
            return
        claims.append(claim)
        pos += claim.count
    if pos != start + rj.BLOCK:
        return
    backend.create(rj.bundle_key(index), rj.encode_bundle(index, lines[start:pos], claims))


def _advance_checkpoint(
    backend: Backend, lines: list[bytes], head: rj.Head | None, paths: state.Paths
) -> None:
    """Nothing of ours to publish, but the remote checkpoint may lag behind the claims (a
    publisher stopped before moving it): move it to the newest claim's checkpoint."""
    if not lines or (head is not None and head.checkpoint.size >= len(lines)):
        return
    records = state.read_jsonl(paths.publications)
    for rec in reversed(records):
        if rec.get("start", -1) + rec.get("count", 0) == len(lines):
            _cas_checkpoint(backend, str(rec["checkpoint"]).encode(), paths, state.load_view(paths))
            return


def _cas_checkpoint(backend: Backend, note: bytes, paths: state.Paths, view: state.View) -> None:
    """Move `checkpoint` forward to `note` by compare-and-swap; a larger one already there
    wins (it extends ours: every claim was checked when it was read)."""
    from irkit.formats.signednote import parse_checkpoint, parse_note

    size = parse_checkpoint(parse_note(note).text).size
    for _ in range(MAX_TRIES):
        head = rj.read_head(backend)
        if head is not None and head.checkpoint.size >= size:
            return
        if backend.replace(rj.CHECKPOINT_KEY, note, head.etag if head else None):
            cp = parse_checkpoint(parse_note(note).text)
            if cp.size >= view.seen_size:
                state.save_view(
                    paths,
                    view.model_copy(
                        update={
                            "seen_size": cp.size,
                            "seen_root": cp.root.hex(),
                            "seen_note": note.decode(),
                        }
                    ),
                )
            return


# -- clone ---------------------------------------------------------------------------------


def clone(
    url: str,
    dest: Path,
    *,
    trust: str | None = None,
    name: str = "origin",
    settings: state.RemoteConfig | None = None,
    progress: Progress | None = None,
) -> CloneResult:
    """A new local case from a remote: every entry checked as it arrives and the whole
    verified (with `trust`: anchored on the opener's fingerprint) before the folder is put
    in place; on any failure nothing is left at `dest`."""
    from irkit.audit.verify import verify_case

    config = settings or state.RemoteConfig(url=url)
    backend = open_backend(url, config.settings())
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InputError(f"{dest} exists and is not an empty folder")
    meta = rj.read_meta(backend)
    if meta is None:
        raise InputError(f"remote {backend.url} holds no irkit case (no {rj.META_KEY})")
    if trust is not None and meta.get("opener") != trust:
        raise ProblemsFound(
            f"remote {backend.url}: the case was opened by {meta.get('opener')}, not by the "
            f"trusted {trust}; nothing was cloned"
        )
    head = rj.read_head(backend)
    head_size = head.checkpoint.size if head else 0
    origin = str(meta.get("origin"))
    chain = rj.Chain(origin, backend.url)
    lines: list[bytes] = []
    claims: list[rj.ClaimInfo] = []
    for seg in rj.walk(backend, 0, head_size, parallel=8):
        chain.add_segment(seg)
        lines.extend(seg.lines)
        claims.extend(seg.claims)
        if progress is not None:
            progress("entries", len(lines), max(head_size, len(lines)))
    if not lines:
        raise InputError(f"remote {backend.url} holds no published entries")
    if head is not None and (
        head_size > len(lines) or chain.roots.get(head_size) != head.checkpoint.root
    ):
        raise ProblemsFound(
            f"remote {backend.url}: its checkpoint does not match its claims; nothing was cloned"
        )
    if _origin(lines[0])[0] != origin:
        raise ProblemsFound(f"remote {backend.url}: entry 0 is not the case {rj.META_KEY} names")
    parent = dest.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    scratch = parent / f".{dest.name}.clone-{os.getpid()}-{os.urandom(4).hex()}"
    try:
        obj = json.loads(lines[0])
        for sub in ("evidence/sha256", "keys", "checkpoints", "reports"):
            (scratch / sub).mkdir(parents=True)
        marker = {
            "format": 1,
            "case_id": obj["body"]["case_id"],
            "title": obj["body"]["title"],
            "opener": obj["actor"],
            "created": obj["recorded"],
        }
        (scratch / local_journal.JOURNAL_NAME).write_bytes(b"".join(x + b"\n" for x in lines))
        _write_keys(scratch, lines)
        got, nbytes = _download_evidence(scratch, backend, lines)
        safefile.atomic_write(scratch / MARKER_NAME, (json.dumps(marker, indent=2) + "\n").encode())
        state.save_remotes(scratch, {name: config})
        paths = state.Paths(scratch, name)
        state.append_jsonl(paths.publications, [c.record() for c in claims])
        view = state.View(published=len(lines), published_hash=entry_hash(lines[-1]))
        if head is not None:
            view = view.model_copy(
                update={
                    "seen_size": head_size,
                    "seen_root": head.checkpoint.root.hex(),
                    "seen_note": head.note.decode(),
                }
            )
        state.save_view(paths, view)
        report = verify_case(scratch, trust=[trust] if trust else [])
        if report.problems:
            first = report.problems[0]
            raise ProblemsFound(
                f"remote {backend.url}: the published journal does not verify ({first}; "
                f"{len(report.problems)} problems); nothing was cloned"
            )
        if dest.exists():
            dest.rmdir()
        os.rename(scratch, dest)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return CloneResult(
        path=str(dest),
        url=backend.url,
        case_id=marker["case_id"],
        opener=marker["opener"],
        entries=len(lines),
        anchored=report.anchored,
        evidence=got,
        evidence_bytes=nbytes,
    )


# -- verify --remote -----------------------------------------------------------------------


def verify_remote(case: Case, name: str | None = None) -> RemoteCheck:
    """Compare the local journal with the remote's (every entry, every claim's checkpoint),
    and check that every evidence object the journal names is there, with the right
    checksum, and under the retention the remote's settings ask for."""
    from datetime import UTC, datetime

    name, config, backend = _open(case, name)
    view = state.load_view(state.Paths(case.root, name))
    local = _local_lines(case)
    problems: list[str] = []
    warnings: list[str] = []
    origin = _origin(local[0])[0]
    head = rj.read_head(backend)
    head_size = head.checkpoint.size if head else 0
    chain = rj.Chain(origin, backend.url)
    remote: list[bytes] = []
    try:
        for seg in rj.walk(backend, 0, head_size, parallel=8):
            chain.add_segment(seg)
            remote.extend(seg.lines)
    except ProblemsFound as exc:
        problems.append(exc.message)
    for seq, (mine, theirs) in enumerate(zip(local, remote, strict=False)):
        if mine != theirs:
            problems.append(
                f"entry {seq} differs: this copy has {entry_hash(mine)}, the remote "
                f"{entry_hash(theirs)}"
            )
            break
    if head is not None and not problems and chain.roots.get(head_size) != head.checkpoint.root:
        problems.append(f"the remote checkpoint (size {head_size}) does not match its claims")
    if head_size < view.seen_size:
        problems.append(
            f"the remote checkpoint covers {head_size} entries, this copy saw {view.seen_size}: "
            "rolled back"
        )
    if len(remote) > len(local):
        warnings.append(
            f"the remote has {len(remote) - len(local)} entries this copy has not pulled"
        )
    elif len(local) > len(remote):
        warnings.append(f"{len(local) - len(remote)} local entries are not published")
    settings = config.settings()
    checked = 0
    now = datetime.now(UTC)
    for digest in _digests(local[: len(remote)]):
        if not case.store.path_for(digest).exists():
            continue  # not a stored object
        checked += 1
        info = backend.head(rj.evidence_key(digest))
        if info is None:
            problems.append(f"evidence object {digest} is missing on the remote")
            continue
        if info.sha256 is not None and info.sha256 != digest:
            problems.append(f"evidence object {digest}: the remote's checksum is {info.sha256}")
        if settings.lock_mode is not None and (
            info.lock_mode != settings.lock_mode
            or info.retain_until is None
            or info.retain_until <= now
        ):
            problems.append(f"evidence object {digest} is not under {settings.lock_mode} retention")
        if settings.legal_hold and not info.legal_hold:
            problems.append(f"evidence object {digest} has no legal hold")
    return RemoteCheck(
        remote=name,
        url=backend.url,
        local_entries=len(local),
        remote_entries=len(remote),
        published=view.published,
        checkpoint_size=head_size,
        evidence_checked=checked,
        problems=problems,
        warnings=warnings,
    )


def add_remote(case: Case, name: str, config: state.RemoteConfig, *, probe: bool = True) -> None:
    """Record a remote in remotes.json after probing that its server gives create-only and
    compare-and-swap writes (and Object Lock, when retention is asked for)."""
    state.check_name(name)
    remotes = state.load_remotes(case.root)
    if name in remotes:
        raise InputError(f"remote {name!r} exists already ({remotes[name].url})")
    backend = open_backend(config.url, config.settings())
    if probe:
        backend.probe()
        meta = rj.read_meta(backend)
        if meta is not None:
            _, case_id, opener = _origin(_local_lines(case)[0])
            _check_meta(backend, meta, case_id, opener)
    remotes[name] = config
    state.save_remotes(case.root, remotes)


def remove_remote(case: Case, name: str) -> state.RemoteConfig:
    """Forget a remote locally (its local state is kept under .irkit-remote/)."""
    remotes = state.load_remotes(case.root)
    if name not in remotes:
        raise InputError(f"no remote named {name!r}")
    config = remotes.pop(name)
    state.save_remotes(case.root, remotes)
    return config

"""Verification: everything an auditor who trusts one fingerprint needs checked.

Signatures are checked in worker processes over byte ranges of the journal file while the
main process walks the chain (canonical form, seq, prev, membership, bodies, kind rules),
so a large journal verifies at close to cores x the Ed25519 verify rate.

Longer than ~500 lines for now: several slices edit it at once (witnesses, remotes,
checkpoints); the signature workers and the checkpoint checks are the parts to split out
once those land.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from irkit import FORMAT_VERSION, registry
from irkit.errors import InputError
from irkit.formats import merkle
from irkit.formats.canonical import has_float, parse_canonical, parse_fast
from irkit.formats.ed25519 import PublicKey, is_fingerprint
from irkit.formats.signednote import parse_checkpoint, parse_note, verify_note
from irkit.formats.timefmt import is_utc_stamp
from irkit.record import journal, kinds
from irkit.record.entry import ENTRY_FIELDS, Entry, actor_of, split_signature
from irkit.record.kindspec import Context as Context  # re-exported: rules type with it
from irkit.record.kindspec import Problem as Problem
from irkit.record.roster import FOLDED_KINDS, Roster, body_problem, origin_for
from irkit.record.safefile import read_bytes as safe_read
from irkit.record.safefile import read_input
from irkit.record.store import EvidenceStore

if TYPE_CHECKING:
    from irkit.record.case import Case

_PARALLEL_THRESHOLD = 2000
_ENTRY_FIELD_SET = frozenset(ENTRY_FIELDS)


class CheckpointResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str
    size: int | None
    signers: list[str]
    consistent: bool
    kept: bool = False  # given with --checkpoint (held outside the case), not checkpoints/
    cosigners: list[str] = []  # the --witness keys with a valid cosignature on it


class VerifyReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    case_id: str | None
    entries: int
    opener: str | None
    anchored: bool
    trusted: list[str]
    root: str  # hex Merkle root over all complete entries
    checkpoints: list[CheckpointResult]
    content_checked: int  # stored files re-hashed: attachments, manifests... (by digest)
    problems: list[Problem]
    warnings: list[Problem]
    evidence_checked: int = 0  # evidence items re-checked (copies re-hashed, references too)
    # by-reference items whose original is not reachable on this machine (a warning each)
    not_checked_here: int = 0
    # Entries no consistent kept checkpoint (--checkpoint) covers: the tail a holder of the
    # case could drop or rewrite unnoticed. Entries `covered`..`entries - 1`.
    covered: int = 0
    uncovered: int = 0
    # With --witness: the quorum asked for, the witness keys, and the entries a consistent
    # checkpoint with that many of their cosignatures covers (irkit.audit.witness).
    witnesses: list[str] = []
    min_witnesses: int = 0
    witnessed: int = 0
    unwitnessed: int = 0
    # RFC 3161 tokens recorded in the journal that verified, and the leading entries the
    # largest of them covers (irkit.audit.timestamped)
    timestamps: int = 0
    timestamped: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


# -- signature workers -------------------------------------------------------------------

_worker_keys: dict[str, Any] = {}


def _check_signatures(
    lines: Sequence[bytes], first_index: int, keys: dict[str, bytes]
) -> list[tuple[int, str]]:
    """Check each line's signature against its actor's key; report only the failures."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    failures: list[tuple[int, str]] = []
    cache: dict[str, Ed25519PublicKey] = {}
    for offset, line in enumerate(lines):
        index = first_index + offset
        actor = actor_of(line)
        cut = split_signature(line)
        if actor is None or cut is None:
            failures.append((index, "unsplittable"))
            continue
        key = cache.get(actor)
        if key is None:
            raw = keys.get(actor)
            if raw is None:
                failures.append((index, "no-key"))
                continue
            key = cache[actor] = Ed25519PublicKey.from_public_bytes(raw)
        try:
            key.verify(cut[1], cut[0])
        except InvalidSignature:
            failures.append((index, "bad-signature"))
    return failures


# Set just before the pool forks: the workers then check exactly the lines the main process
# walks, from its own memory, rather than re-reading a file that could change in between.
_forked_lines: Sequence[bytes] | None = None


def _init_worker(keys: dict[str, bytes]) -> None:
    global _worker_keys
    _worker_keys = keys


def _verify_range(task: tuple[str, int, int, int, int]) -> list[tuple[int, str]]:
    """Worker: check the signatures of lines first..last (from memory, or the file)."""
    path, start, end, first_index, last_index = task
    if _forked_lines is not None:
        lines = _forked_lines[first_index:last_index]
    else:
        from irkit.record.safefile import open_regular

        fd = open_regular(path)
        try:
            lines = os.pread(fd, end - start, start).split(b"\n")[:-1]
        finally:
            os.close(fd)
    return _check_signatures(lines, first_index, _worker_keys)


def _ranges(
    path: Path, offsets: Sequence[int], end: int, parts: int
) -> list[tuple[str, int, int, int, int]]:
    count = len(offsets)
    step = max(1, -(-count // parts))
    tasks = []
    for first in range(0, count, step):
        last = min(count, first + step)
        stop = offsets[last] if last < count else end
        tasks.append((str(path), offsets[first], stop, first, last))
    return tasks


def _keys_dir_keys(keys_dir: Path) -> dict[str, bytes]:
    """Keys from keys/, kept only when a file's content hashes to the name it carries
    (what cannot be read is passed over here and reported by `_check_keys_dir`)."""
    from irkit.record.case import read_case_key

    found: dict[str, bytes] = {}
    if not keys_dir.is_dir():
        return found
    for path in sorted(keys_dir.glob("*.pub")):
        try:
            key = read_case_key(path)
        except InputError:
            continue
        if key.fingerprint == "ed25519:" + path.stem:
            found[key.fingerprint] = key.raw
    return found


# -- the walk ----------------------------------------------------------------------------


def verify_case(
    root: Path,
    *,
    trust: Iterable[str] = (),
    checkpoints: Iterable[Path] = (),
    content: bool = True,
    jobs: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    witnesses: Sequence[PublicKey] = (),
    min_witnesses: int = 0,
    require_content: bool = False,
    tsa_roots: Sequence[Any] | None = None,
) -> VerifyReport:
    """Verify the case at `root`. Never raises for what it finds: everything is reported.

    An original collected by reference that cannot be reached on this machine is a warning
    ("not checked here"), or with `require_content` a problem.

    With `witnesses` and `min_witnesses` > 0, a checkpoint consistent with the journal must
    carry that many of their valid cosignatures (docs/FORMAT.md "Witnesses").

    Recorded RFC 3161 tokens are checked against `tsa_roots` (None: the roots pinned in the
    case) (docs/FORMAT.md "Trusted timestamps").

    `progress(stage, done, total)` is called now and then on large journals so a terminal
    can show that work goes on (the library itself never prints).
    """
    # The walk allocates a few objects per entry and frees none until the end: generational
    # GC passes would only rescan them (a fifth of the walk's time on large journals). The
    # work happens in _verify so that its objects are freed, by reference counting, before
    # the collector is switched back on.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _verify(
            root,
            trust,
            checkpoints,
            content,
            jobs,
            progress,
            witnesses,
            min_witnesses,
            require_content=require_content,
            tsa_roots=tsa_roots,
        )
    finally:
        if gc_was_enabled:
            gc.enable()


def _verify(
    root: Path,
    trust: Iterable[str],
    checkpoints: Iterable[Path],
    content: bool,
    jobs: int | None,
    progress: Callable[[str, int, int], None] | None,
    witnesses: Sequence[PublicKey] = (),
    min_witnesses: int = 0,
    *,
    require_content: bool = False,
    tsa_roots: Sequence[Any] | None = None,
) -> VerifyReport:
    from irkit.record.case import Case

    case = Case.open(root)
    refused = None
    try:
        scan = journal.read(case.journal_path)
    except journal.NotAJournal as exc:
        # a symlinked journal could be anyone's file; a FIFO would block: neither is read
        scan = journal.Scan()
        cause = exc.__cause__
        refused = cause.strerror if isinstance(cause, OSError) else exc.message
    problems: list[Problem] = []
    warnings: list[Problem] = []
    ctx = Context(
        roster=Roster.empty(),
        problems=problems,
        warnings=warnings,
        case_root=case.root,
        content=content,
        require_content=require_content,
    )
    if refused is not None:
        ctx.problem(None, "journal", f"journal.jsonl is {refused}: refused, not read")

    keys_from_dir = _keys_dir_keys(case.keys_dir)
    cores = os.cpu_count() or 1
    jobs = min(jobs or cores, 4 * cores)  # more workers than that only cost forks and memory
    pool = None
    pending = None
    n = len(scan.lines)
    global _forked_lines
    if jobs > 1 and n >= _PARALLEL_THRESHOLD:
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        _forked_lines = scan.lines if method == "fork" else None
        try:
            pool = multiprocessing.get_context(method).Pool(
                jobs, initializer=_init_worker, initargs=(keys_from_dir,)
            )
        finally:
            _forked_lines = None
        complete_end = scan.torn.offset if scan.torn else scan.size
        tasks = _ranges(case.journal_path, scan.offsets, complete_end, jobs * 32)
        pending = pool.map_async(_verify_range, tasks)
    leaves: list[bytes] = []
    entries: list[Entry | None] = []
    try:
        prev = journal.GENESIS_PREV
        # per signer: a team journal interleaves several clocks, so only one member's
        # own clock going backwards says anything (clock skew on their machine)
        last_recorded: dict[str, str] = {}
        # The hottest loop of irkit: locals instead of attribute and global lookups.
        sha256, prefix, seen = hashlib.sha256, journal.HASH_PREFIX, ctx.seen
        rules: dict[str, Callable[[Entry, Context], None] | None] = {}
        append_leaf, append_entry = leaves.append, entries.append
        for index, line in enumerate(scan.lines):
            append_leaf(sha256(b"\x00" + line).digest())  # RFC 6962 leaf hash
            entry, body_ok = _check_line(index, line, prev, ctx)
            prev = prefix + sha256(line).hexdigest()  # journal.entry_hash
            append_entry(entry)
            if entry is None:
                continue
            recorded, actor = entry.recorded, entry.actor
            before = last_recorded.get(actor, "")
            if recorded < before:
                ctx.warn(
                    entry.seq,
                    "clock",
                    f"recorded time goes backwards for signer {actor[:24]}… ({recorded} after "
                    f"their {before}; clock skew?)",
                )
            else:
                last_recorded[actor] = recorded
            seen[entry.seq] = entry
            if progress is not None and not index & 0x3FFF:
                progress("entries", index, n)
            kind = entry.kind
            if kind in rules:
                rule = rules[kind]
            else:
                spec = registry.find(kind)
                rule = rules[kind] = spec.rule if spec is not None else None
            if rule is not None and body_ok:
                rule(entry, ctx)
        if progress is not None:
            progress("entries", n, n)
        # Everything that does not need the signature results runs now, while the workers
        # are still checking signatures: whole-case rules, keys/, checkpoints, and the
        # re-hashing of stored files (often the larger job).
        if scan.torn is not None:
            ctx.problem(
                n,
                "torn-tail",
                f"last line is incomplete ({len(scan.torn.data)} bytes after the "
                "final newline): a crash mid-write; `irkit repair` sets it aside",
            )
        if n == 0 and refused is None:
            ctx.problem(None, "empty", "journal holds no entries")
        for finish in registry.finishers():
            finish(ctx)
        _check_keys_dir(case.keys_dir, ctx)
        opener = ctx.roster.opener
        trusted = sorted(set(trust))
        anchored = bool(opener and opener in trusted)
        if trusted and not anchored:
            ctx.problem(
                0, "untrusted-opener", f"case opener {opener} is not among the trusted keys"
            )
        if ctx.roster.case_id and ctx.roster.case_id != case.info.case_id:
            ctx.problem(
                0,
                "marker",
                f"{case.root.name}/irkit-case.json names case "
                f"{case.info.case_id!r} but the journal opened {ctx.roster.case_id!r}",
            )
        cp_results = _check_checkpoints(case, checkpoints, leaves, ctx, witnesses)
        covered = _coverage(cp_results, n, ctx)
        witnessed = 0
        if min_witnesses:
            from irkit.audit.witness import witness_coverage

            witnessed = witness_coverage(cp_results, n, min_witnesses, ctx)
        from irkit.audit.timestamped import check_timestamps

        stamped = check_timestamps(ctx, leaves, entries, tsa_roots)
        checked = _check_content(case.store, ctx) if content else 0
        root_hex = merkle.root(leaves).hex()
        if pending is not None:
            failures = [f for chunk in pending.get() for f in chunk]
        else:
            failures = _check_signatures(scan.lines, 0, keys_from_dir)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    _settle_signatures(failures, scan.lines, entries, ctx)
    problems.sort(key=lambda p: p.seq if p.seq is not None else -1)
    return VerifyReport(
        case_id=ctx.roster.case_id,
        entries=n,
        opener=opener,
        anchored=anchored,
        trusted=trusted,
        root=root_hex,
        checkpoints=cp_results,
        covered=covered,
        uncovered=n - covered,
        witnesses=sorted(k.fingerprint for k in witnesses),
        min_witnesses=min_witnesses,
        witnessed=witnessed,
        unwitnessed=n - witnessed if min_witnesses else 0,
        timestamps=stamped.timestamps,
        timestamped=stamped.timestamped,
        content_checked=checked,
        evidence_checked=int(ctx.state.get("evidence", {}).get("rechecked", 0)),
        not_checked_here=int(ctx.state.get("evidence", {}).get("unreached", 0)),
        problems=problems,
        warnings=warnings,
    )


def _settle_signatures(
    failures: list[tuple[int, str]],
    lines: Sequence[bytes],
    entries: Sequence[Entry | None],
    ctx: Context,
) -> None:
    """Turn worker results into problems; keys missing from keys/ come from the journal."""
    for index, why in sorted(failures):
        entry = entries[index]
        seq = entry.seq if entry is not None else index
        if entry is None:
            continue  # the line itself is already reported as malformed
        if why == "no-key":
            member = ctx.roster.members.get(entry.actor)
            cut = split_signature(lines[index])
            if member is None or cut is None:
                ctx.problem(seq, "unknown-signer", f"signed by unknown key {entry.actor}")
                continue
            key = PublicKey(base64.b64decode(member.public_key))
            if key.verify(cut[1], cut[0]):
                continue
        ctx.problem(seq, "bad-signature", "signature does not verify (entry altered or re-signed)")


def _check_line(
    index: int, line: bytes, prev: str | None, ctx: Context
) -> tuple[Entry | None, bool]:
    """Structural, chain and membership checks of one line; (entry, body valid).

    The canonical-form check takes orjson's fast path; the float scan it needs is skipped
    when the entry's body passed a strict schema that admits no float (kinds.may_hold_float).
    """
    obj = parse_fast(line)
    if obj is None:
        obj, problem = parse_canonical(line)
        if obj is None:
            ctx.problem(index, "malformed", f"line {index + 1}: {problem}")
            return None, False
        return _check_fields(index, line, obj, problem, prev, ctx)
    entry, body_ok = _check_fields(index, line, obj, None, prev, ctx)
    if (
        (not body_ok or entry is None or kinds.may_hold_float(entry.kind))
        and has_float(obj)
        and (problem := parse_canonical(line)[1]) is not None
    ):
        ctx.problem(entry.seq if entry else index, "non-canonical", f"line {index + 1}: {problem}")
    return entry, body_ok


def _check_fields(
    index: int,
    line: bytes,
    obj: dict[str, Any],
    problem: str | None,
    prev: str | None,
    ctx: Context,
) -> tuple[Entry | None, bool]:
    """Every check of one parsed line but its signature; `prev` None: the entry before it
    is not at hand (an exhibit), so the chain link cannot be checked."""
    if obj.keys() != _ENTRY_FIELD_SET:
        missing = sorted(set(ENTRY_FIELDS) - set(obj))
        extra = sorted(set(obj) - set(ENTRY_FIELDS))
        ctx.problem(
            index, "malformed", f"line {index + 1}: fields missing {missing} or unexpected {extra}"
        )
        return None, False
    if problem is not None:
        ctx.problem(index, "non-canonical", f"line {index + 1}: {problem}")
    seq, kind, actor, prev_field = obj["seq"], obj["kind"], obj["actor"], obj["prev"]
    recorded, body, sig = obj["recorded"], obj["body"], obj["sig"]
    types_ok = (
        type(seq) is int
        and type(kind) is str
        and type(actor) is str
        and type(prev_field) is str
        and type(recorded) is str
        and type(body) is dict
        and type(sig) is str
    )
    if not types_ok:
        ctx.problem(index, "malformed", f"line {index + 1}: entry fields have the wrong types")
        return None, False
    entry = Entry(seq, recorded, kind, actor, prev_field, body, sig, line)
    if type(obj["format"]) is not int or obj["format"] != FORMAT_VERSION:
        ctx.problem(seq, "format", f"unsupported entry format {obj['format']!r}")
    if seq != index:
        ctx.problem(
            seq,
            "seq",
            f"out of sequence: line {index + 1} should hold entry {index} "
            "(entries deleted, duplicated or reordered)",
        )
    if prev is not None and entry.prev != prev:
        ctx.problem(
            seq,
            "chain",
            "prev hash does not match the entry before it "
            "(an earlier entry was changed, removed or reordered)",
        )
    if not is_utc_stamp(recorded):
        ctx.problem(seq, "time", f"recorded time {recorded!r} is not UTC with microseconds")
    if actor not in ctx.good_actors:
        if not is_fingerprint(actor):
            ctx.problem(seq, "actor", "actor is not an ed25519 fingerprint")
            return entry, False
        ctx.good_actors.add(actor)
    if not kinds.known(kind):
        ctx.problem(seq, "unknown-kind", f"unknown entry kind {kind!r}")
        return entry, False
    try:
        kinds.validator(kind)(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        ctx.problem(seq, "body", f"invalid {entry.kind} body: {where}: {first['msg']}")
        return entry, False
    return entry, check_membership(index, entry, ctx)


def check_membership(index: int, entry: Entry, ctx: Context) -> bool:
    """Who may sign what at position `index`, the roster rules of the body, then the fold.

    Shared by `verify` and exhibit verification. Only an authorised, rule-abiding membership
    entry changes the roster, so a forged admission never lets its beneficiary pass. Returns
    False when the body should not go on to its kind's rules.
    """
    seq, kind, actor, body = entry.seq, entry.kind, entry.actor, entry.body
    may_fold = True
    if kind == "case.opened":
        if index != 0:
            ctx.problem(seq, "opened", "case.opened after the first entry")
            return False
        if body["opener"]["fingerprint"] != actor:
            ctx.problem(seq, "opened", "case.opened is not signed by the opener it names")
    elif index == 0:
        ctx.problem(seq, "opened", "the first entry is not case.opened")
        may_fold = False
    else:
        reason = ctx.roster.may_sign(actor, kind)
        if reason is not None:
            ctx.problem(seq, "not-member", f"{reason} ({actor})")
            may_fold = False
    rule = body_problem(ctx.roster, kind, body)
    if rule is not None:
        ctx.problem(seq, *rule)
        if rule[0] == "member-key":
            return False
        may_fold = False
    if may_fold and kind in FOLDED_KINDS:
        folded = ctx.roster.apply(seq, kind, body)
        if folded is not None:
            ctx.problem(seq, "membership", folded)
    return True


def _leftover_temp(folder: str, path: Path, ctx: Context) -> bool:
    """A `*.tmp` file in keys/ or checkpoints/ is an interrupted write (never a key or a
    checkpoint, whatever it holds): a warning with its size, not a problem."""
    if not path.name.endswith(".tmp"):
        return False
    try:
        size = f"{path.lstat().st_size} bytes"
    except OSError:
        size = "size unknown"
    ctx.warn(
        None,
        "leftover-temp",
        f"{folder}/{path.name} is a leftover temporary file ({size}) of an interrupted "
        "write: ignored, safe to delete",
    )
    return True


def _check_keys_dir(keys_dir: Path, ctx: Context) -> None:
    from irkit.record.case import read_case_key

    known = ctx.roster.members
    present: set[str] = set()
    if keys_dir.is_dir():
        for path in sorted(keys_dir.iterdir()):
            if _leftover_temp("keys", path, ctx):
                continue
            fp = "ed25519:" + path.stem
            try:
                key = read_case_key(path)
            except InputError as exc:
                cause = exc.__cause__
                why = f" ({cause.strerror})" if isinstance(cause, OSError) else ""
                ctx.problem(None, "keys-dir", f"keys/{path.name} is not a readable public key{why}")
                continue
            if key.fingerprint != fp:
                ctx.problem(
                    None,
                    "keys-dir",
                    f"keys/{path.name} holds a different key "
                    f"({key.fingerprint}) than its name says: replaced?",
                )
            elif fp not in known:
                ctx.warn(None, "keys-dir", f"keys/{path.name} is not a member's key")
            present.add(fp)
    for fp in known:
        if fp not in present:
            ctx.warn(
                None,
                "keys-dir",
                f"keys/{fp.removeprefix('ed25519:')}.pub is missing "
                "(the journal still carries the key)",
            )


def _check_checkpoints(
    case: Case,
    given: Iterable[Path],
    leaves: Sequence[bytes],
    ctx: Context,
    witnesses: Sequence[PublicKey] = (),
) -> list[CheckpointResult]:
    member_keys = {
        fp: PublicKey(base64.b64decode(m.public_key)) for fp, m in ctx.roster.members.items()
    }
    sources: list[tuple[str, Path, bool]] = []
    if case.checkpoints_dir.is_dir():
        sources += [
            (f"checkpoints/{p.name}", p, False)
            for p in sorted(case.checkpoints_dir.iterdir())
            if not _leftover_temp("checkpoints", p, ctx)
        ]
    sources += [(str(p), p, True) for p in given]
    results: list[CheckpointResult] = []
    for label, path, kept in sources:
        try:
            # the case's own copies are opened safely; one the auditor names is theirs to
            # choose, `<(...)` included
            note = parse_note(
                read_input(path, what="checkpoint", limit=1 << 20) if kept else safe_read(path)
            )
            cp = parse_checkpoint(note.text)
        except (OSError, InputError, UnicodeDecodeError) as exc:
            msg = exc.strerror if isinstance(exc, OSError) else str(exc)
            ctx.problem(None, "checkpoint", f"{label}: unreadable checkpoint ({msg})")
            results.append(
                CheckpointResult(source=label, size=None, signers=[], consistent=False, kept=kept)
            )
            continue
        signers = verify_note(note, member_keys)
        cosigners: list[str] = []
        if witnesses:
            from irkit.audit.witness import cosigners as witness_cosigners

            cosigners = witness_cosigners(label, note, witnesses, ctx)
        consistent = True
        if not signers:
            ctx.problem(None, "checkpoint", f"{label}: no valid signature by a case member")
            consistent = False
        if cp.size > len(leaves):
            ctx.problem(
                len(leaves),
                "truncated",
                f"{label}: checkpoint covers {cp.size} entries "
                f"but the journal holds {len(leaves)}: entries were removed (truncation "
                "or rollback)",
            )
            consistent = False
        elif merkle.root(leaves[: cp.size]) != cp.root:
            ctx.problem(
                cp.size - 1 if cp.size else None,
                "checkpoint-root",
                f"{label}: the first {cp.size} entries no longer hash to the checkpoint's "
                "root: history was rewritten",
            )
            consistent = False
        expected_origin = origin_for(ctx.roster)
        if expected_origin and cp.origin != expected_origin:
            ctx.problem(
                None,
                "checkpoint",
                f"{label}: origin {cp.origin!r} is not this case's ({expected_origin!r})",
            )
            consistent = False
        results.append(
            CheckpointResult(
                source=label,
                size=cp.size,
                signers=signers,
                consistent=consistent,
                kept=kept,
                cosigners=cosigners,
            )
        )
    return results


def _coverage(results: Sequence[CheckpointResult], n: int, ctx: Context) -> int:
    """How many leading entries a consistent kept checkpoint covers; warn about the rest.

    Checkpoints under checkpoints/ travel with the case, so whoever can drop entries can drop
    them too: only one kept elsewhere (--checkpoint) shows that the tail is all there.
    """
    covered = max(
        (r.size or 0 for r in results if r.kept and r.consistent and (r.size or 0) <= n),
        default=0,
    )
    if covered < n:
        ctx.warn(
            None,
            "uncovered",
            f"entries {covered}-{n - 1} ({n - covered}) are covered by no kept checkpoint: "
            "entries there could have been dropped unnoticed; keep one with "
            "`irkit checkpoint -o FILE` and pass it with --checkpoint",
        )
    return covered


def _check_content(store: EvidenceStore, ctx: Context) -> int:
    from concurrent.futures import ThreadPoolExecutor

    todo = sorted(ctx.content_digests.items(), key=lambda kv: kv[1])
    # hashlib releases the GIL: attachments re-hash in parallel, reported in journal order
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        for (_, seq), problem in zip(
            todo, pool.map(store.check, [d for d, _ in todo]), strict=True
        ):
            if problem is not None:
                ctx.problem(seq, "content", problem)
    return len(todo)

"""A case folder: its marker, journal, stores, and the one way to append a signed entry."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from irkit import FORMAT_VERSION, journal, kinds
from irkit.entry import Entry, build_line
from irkit.errors import (
    CaseExistsError,
    CaseNotFoundError,
    InputError,
    JournalError,
    NotAuthorizedError,
)
from irkit.journal import GENESIS_PREV, Journal, LockedJournal, entry_hash, scan_bytes
from irkit.keys import PublicKey, Signer, b64e
from irkit.roster import Roster
from irkit.store import EvidenceStore
from irkit.timefmt import Clock, format_utc, system_clock

MARKER_NAME = "irkit-case.json"
STATE_NAME = ".irkit-state.json"
CASE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_LAYOUT = ("evidence", "keys", "checkpoints", "reports")


@dataclass(frozen=True)
class CaseInfo:
    """The marker file: a convenience. Verification trusts only the journal."""

    case_id: str
    title: str
    opener: str
    created: str


@dataclass
class ReadResult:
    """Entries parsed from the journal (unverified) and anything that stopped a line parsing."""

    entries: list[Entry]
    problems: list[tuple[int, str]]  # (line index, message)
    torn: journal.TornTail | None


class _AppendState:
    """Derived, disposable cache that keeps append O(1): tail position, hash, membership.

    It is checked against the journal's bytes on every use and rebuilt when it disagrees, so
    it cannot drift; verification never reads it.
    """

    def __init__(self, size: int, last_offset: int, seq: int, hash_: str, roster: Roster) -> None:
        self.size = size
        self.last_offset = last_offset
        self.seq = seq
        self.hash = hash_
        self.roster = roster

    def to_json(self) -> dict[str, Any]:
        return {
            "format": 1,
            "size": self.size,
            "last_offset": self.last_offset,
            "seq": self.seq,
            "hash": self.hash,
            "roster": self.roster.to_json(),
        }

    def fold(self, data: bytes, base: int) -> None:
        scan = scan_bytes(data)
        for line, offset in zip(scan.lines, scan.offsets, strict=True):
            try:
                obj = json.loads(line)
                seq, kind, body = obj["seq"], obj["kind"], obj["body"]
            except (ValueError, KeyError, TypeError) as exc:
                raise JournalError(
                    f"journal line at byte {base + offset} is malformed; run `irkit verify`"
                ) from exc
            if kind in ("case.opened", "member.added", "member.removed"):
                self.roster.apply(seq, kind, body)
            self.seq = seq
            self.hash = entry_hash(line)
            self.last_offset = base + offset
        self.size = base + len(data)


class Case:
    def __init__(self, root: Path, info: CaseInfo) -> None:
        self.root = root
        self.info = info
        self.journal_path = root / journal.JOURNAL_NAME
        self.keys_dir = root / "keys"
        self.checkpoints_dir = root / "checkpoints"
        self.reports_dir = root / "reports"
        self.store = EvidenceStore(root / "evidence")
        self._journal = Journal(self.journal_path)

    # -- finding and opening -------------------------------------------------------------

    @classmethod
    def open(cls, root: Path) -> Case:
        marker = root / MARKER_NAME
        try:
            doc = json.loads(marker.read_bytes())
        except FileNotFoundError as exc:
            raise CaseNotFoundError(f"no irkit case at {root} ({MARKER_NAME} missing)") from exc
        except (OSError, ValueError) as exc:
            raise CaseNotFoundError(f"{marker} is unreadable or not JSON") from exc
        try:
            if doc["format"] != FORMAT_VERSION:
                raise CaseNotFoundError(f"{marker}: unsupported case format {doc['format']!r}")
            info = CaseInfo(doc["case_id"], doc["title"], doc["opener"], doc["created"])
        except (KeyError, TypeError) as exc:
            raise CaseNotFoundError(f"{marker} is malformed") from exc
        return cls(root, info)

    @classmethod
    def find(cls, explicit: Path | None, start: Path) -> Case:
        """`explicit` (from --case / IRKIT_CASE) wins; else search upward from `start`."""
        if explicit is not None:
            return cls.open(explicit)
        here = start.resolve()
        for folder in (here, *here.parents):
            if (folder / MARKER_NAME).is_file():
                return cls.open(folder)
        raise CaseNotFoundError(
            f"not inside an irkit case (searched upward from {start})",
            hint="pass --case DIR, set IRKIT_CASE, or cd into a case folder",
        )

    # -- reading -------------------------------------------------------------------------

    def scan(self) -> journal.Scan:
        return journal.read(self.journal_path)

    def read_entries(self) -> ReadResult:
        """Parse every complete line (no signature checks: that is `verify`'s job)."""
        from irkit.canonical import parse_canonical

        scan = self.scan()
        entries: list[Entry] = []
        problems: list[tuple[int, str]] = []
        for index, line in enumerate(scan.lines):
            obj, problem = parse_canonical(line)
            if obj is None:
                problems.append((index, problem or "unreadable line"))
                continue
            try:
                entries.append(Entry.from_obj(obj, line))
            except (KeyError, TypeError):
                problems.append((index, "line lacks required entry fields"))
        return ReadResult(entries, problems, scan.torn)

    def roster(self) -> Roster:
        """Current membership (from the append cache, checked against the journal)."""
        with self._journal.locked() as locked:
            return self._state(locked).roster

    def torn_tail(self) -> journal.TornTail | None:
        """The incomplete last line, if any, found from the end of the file: cheap enough
        for every command to warn. Read-only (works on write-protected media) under a shared
        lock, so an append in progress is not mistaken for a crash."""
        try:
            fd = os.open(self.journal_path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None  # whoever reads the journal next reports why it cannot
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            size = os.fstat(fd).st_size
            if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
                return None
            end = size
            while end > 0:
                chunk_start = max(0, end - 64 * 1024)
                nl = os.pread(fd, end - chunk_start, chunk_start).rfind(b"\n")
                if nl >= 0:
                    end = chunk_start + nl + 1
                    break
                end = chunk_start
            return journal.TornTail(end, os.pread(fd, size - end, end))
        finally:
            os.close(fd)

    # -- appending -----------------------------------------------------------------------

    def check_signer(self, signer: Signer, kind: str) -> None:
        """Refuse early, before any side effect, when `signer` may not append `kind`."""
        with self._journal.locked() as locked:
            self._authorise(self._state(locked), signer, kind)

    def append(
        self,
        signer: Signer,
        kind: str,
        body: dict[str, Any],
        *,
        clock: Clock = system_clock,
        after: int | None = None,
    ) -> Entry:
        """Validate, authorise, sign and durably append one entry; O(1) in journal size.

        `after`: append only if the last entry is still that seq (compare-and-swap for
        commands that checked a folded state first, e.g. a state change).
        """
        if not kinds.known(kind):
            raise InputError(f"unknown entry kind {kind!r}")
        try:
            kinds.body_model(kind).model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            raise InputError(f"invalid {kind} entry: {where}: {first['msg']}") from exc
        with self._journal.locked() as locked:
            locked.check_tail()
            state = self._state(locked)
            self._authorise(state, signer, kind)
            if after is not None and state.seq != after:
                raise InputError(
                    f"the case changed meanwhile (now up to entry {state.seq}); nothing was "
                    "written: look again and repeat the command"
                )
            seq = state.seq + 1
            prev = state.hash if seq else GENESIS_PREV
            line = build_line(
                signer, seq=seq, prev=prev, kind=kind, body=body, recorded=format_utc(clock())
            )
            offset = locked.append_line(line)
            state.fold(line + b"\n", offset)
            self._save_state(state)
        return Entry.from_obj(json.loads(line), line)

    @staticmethod
    def _authorise(state: _AppendState, signer: Signer, kind: str) -> None:
        if kind == "case.opened":
            if state.seq >= 0:
                raise JournalError("the case is already opened")
            return
        reason = state.roster.may_sign(signer.fingerprint, kind)
        if reason is not None:
            raise NotAuthorizedError(
                f"key {signer.fingerprint} may not write to this case: {reason}; "
                "nothing was written",
                hint="a case lead adds keys with `irkit member add PUBKEY --name NAME --role ROLE`",
            )

    def _state(self, locked: LockedJournal) -> _AppendState:
        size = locked.size()
        state = self._load_state(locked, size)
        if state is None:
            state = _AppendState(0, 0, -1, GENESIS_PREV, Roster.empty())
            if size:
                state.fold(locked.read_range(0, size), 0)
        elif state.size < size:
            state.fold(locked.read_range(state.size, size), state.size)
        return state

    def _load_state(self, locked: LockedJournal, size: int) -> _AppendState | None:
        try:
            doc = json.loads((self.root / STATE_NAME).read_bytes())
            st = _AppendState(
                int(doc["size"]),
                int(doc["last_offset"]),
                int(doc["seq"]),
                str(doc["hash"]),
                Roster.from_json(doc["roster"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if doc.get("format") != 1 or st.size > size or st.size == 0:
            return None
        if st.last_offset >= st.size:
            return None
        tail = locked.read_range(st.last_offset, st.size)
        if not tail.endswith(b"\n") or b"\n" in tail[:-1] or entry_hash(tail[:-1]) != st.hash:
            return None
        if st.last_offset and locked.read_range(st.last_offset - 1, st.last_offset) != b"\n":
            return None
        return st

    def _save_state(self, state: _AppendState) -> None:
        path = self.root / STATE_NAME
        tmp = path.with_name(f"{STATE_NAME}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(state.to_json()), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
            # the cache is optional: the next append rebuilds it

    def invalidate_state(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.root / STATE_NAME).unlink()

    # -- keys ----------------------------------------------------------------------------

    def key_path(self, fingerprint: str) -> Path:
        return self.keys_dir / f"{fingerprint.removeprefix('ed25519:')}.pub"

    def write_public_key(self, key: PublicKey) -> None:
        path = self.key_path(key.fingerprint)
        if path.exists():
            return
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(key.pem())
        os.replace(tmp, path)


def member_info(key: PublicKey, name: str, role: str) -> dict[str, str]:
    return {"fingerprint": key.fingerprint, "public_key": b64e(key.raw), "name": name, "role": role}


def init_case(
    root: Path, *, title: str, case_id: str | None, signer: Signer, clock: Clock = system_clock
) -> Case:
    """Create the case folder and sign `case.opened`; on any failure, leave nothing behind."""
    now = clock()
    case_id = case_id or f"CASE-{now.strftime('%Y%m%d')}-{os.urandom(2).hex().upper()}"
    if not CASE_ID_RE.match(case_id):
        raise InputError(f"invalid case id {case_id!r}: letters, digits, . _ - (max 64)")
    if not title.strip():
        raise InputError("a case needs a title")
    if (root / MARKER_NAME).exists() or (root / journal.JOURNAL_NAME).exists():
        raise CaseExistsError(f"{root} already holds an irkit case")
    if root.exists() and not root.is_dir():
        raise InputError(f"{root} exists and is not a folder")
    created_root = not root.exists()
    made: list[Path] = []
    try:
        root.mkdir(parents=True, exist_ok=True)
        for name in _LAYOUT:
            if (root / name).exists():
                raise CaseExistsError(f"{root / name} already exists; choose an empty folder")
        for name in _LAYOUT:
            (root / name).mkdir()
            made.append(root / name)
        (root / "evidence" / "sha256").mkdir()
        info = CaseInfo(case_id, title, signer.fingerprint, format_utc(now))
        case = Case(root, info)
        made.append(case.journal_path)
        with case._journal.locked(create=True):
            pass
        case.write_public_key(signer.public)
        case.append(
            signer,
            "case.opened",
            {
                "case_id": case_id,
                "title": title,
                "opener": member_info(signer.public, signer.name or "opener", "lead"),
            },
            clock=lambda: now,
        )
        marker = {
            "format": FORMAT_VERSION,
            "case_id": case_id,
            "title": title,
            "opener": signer.fingerprint,
            "created": info.created,
        }
        tmp = root / f"{MARKER_NAME}.tmp"
        tmp.write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, root / MARKER_NAME)
        journal.fsync_dir(root)
    except BaseException:
        if created_root:
            shutil.rmtree(root, ignore_errors=True)
        else:
            for path in reversed(made):
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
            for leftover in (STATE_NAME, f"{MARKER_NAME}.tmp"):
                (root / leftover).unlink(missing_ok=True)
        raise
    return case


def add_member(
    case: Case, signer: Signer, key: PublicKey, *, name: str, role: str, clock: Clock = system_clock
) -> Entry:
    if case.roster().is_member(key.fingerprint):
        raise InputError(f"{key.fingerprint} is already a member of this case")
    entry = case.append(
        signer, "member.added", {"member": member_info(key, name, role)}, clock=clock
    )
    case.write_public_key(key)
    return entry


def remove_member(
    case: Case, signer: Signer, fingerprint: str, *, reason: str, clock: Clock = system_clock
) -> Entry:
    return case.append(
        signer, "member.removed", {"fingerprint": fingerprint, "reason": reason}, clock=clock
    )

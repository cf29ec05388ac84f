"""A case folder: its marker, journal, stores, and the one way to append a signed entry.

Longer than ~500 lines for now: the folder, the locked append with its rebase and the
roster fold are one locking protocol that several slices edit at once; the append state
(`_AppendState`) is the part to move to its own module once they land.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from irkit import FORMAT_VERSION
from irkit.errors import (
    CaseExistsError,
    CaseNotFoundError,
    InputError,
    IrkitError,
    JournalError,
    KeyFileError,
    NotAuthorizedError,
)
from irkit.formats import jsonload, redaction
from irkit.formats.ed25519 import PublicKey, Signer, b64e, check_public_key
from irkit.formats.timefmt import Clock, format_utc, system_clock
from irkit.record import journal, kinds, safefile
from irkit.record.entry import Entry, build_line
from irkit.record.journal import GENESIS_PREV, Journal, LockedJournal, entry_hash, scan_bytes
from irkit.record.roster import Roster, body_problem
from irkit.record.store import EvidenceStore

MARKER_NAME = "irkit-case.json"
STATE_NAME = ".irkit-state.json"
CASE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
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


_SECRET_NAME = "state-mac.key"  # noqa: S105 (a file name, not a secret)
_secrets: dict[str, bytes | None] = {}


def irkit_home() -> Path:
    """The user's irkit folder: $IRKIT_HOME, else the platform's config folder (the same
    place `click.get_app_dir("irkit")` names, without importing click into the library)."""
    import sys

    override = os.environ.get("IRKIT_HOME")
    if override:
        return Path(override)
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or Path.home()) / "irkit"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "irkit"
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "irkit"


def _cache_secret() -> bytes | None:
    """This user's 32-byte key for authenticating append caches (0600 in irkit_home(),
    created on first use). None when it cannot be had safely: caches are then not trusted."""
    home = irkit_home()
    key = str(home)
    if key not in _secrets:
        _secrets[key] = _read_or_make_secret(home / _SECRET_NAME)
    return _secrets[key]


def _read_or_make_secret(path: Path) -> bytes | None:
    import stat

    for _ in range(2):
        try:
            fd = safefile.open_regular(path)
        except FileNotFoundError:
            _make_secret(path)
            continue
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if st.st_mode & 0o077 or st.st_uid != os.geteuid() or not stat.S_ISREG(st.st_mode):
                return None  # others could read or replace it: it authenticates nothing
            data = os.read(fd, 64)
        except OSError:
            return None
        finally:
            os.close(fd)
        return data if len(data) == 32 else None
    return None


def _make_secret(path: Path) -> None:
    """Create the secret whole (a temporary file linked into place), or leave it to a racing
    process that got there first."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, os.urandom(32))
            os.fsync(fd)
        finally:
            os.close(fd)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    with contextlib.suppress(OSError):
        tmp.unlink()


def _cache_mac(secret: bytes, payload: bytes) -> str:
    import hashlib
    import hmac

    return hmac.new(secret, b"irkit append cache\n" + payload, hashlib.sha256).hexdigest()


class BrokenChain(JournalError):
    """The journal stops verifying at line `index` (0-based, byte `offset`): nothing is
    appended after it. `code` says how: `malformed` (not an entry), `seq-behind` (an entry
    whose position is already taken) and `fork` (a genuine entry signed after another
    copy's entry seq - 1, its predecessor here intact): lines appended from another copy,
    which `irkit repair` can set aside. `seq-ahead`, `prev`, `signer`, `signature` are
    evidence of removal or alteration and are left for `verify`."""

    FOREIGN = frozenset({"malformed", "seq-behind", "fork"})

    def __init__(self, code: str, index: int, offset: int, detail: str) -> None:
        self.code, self.index, self.offset, self.detail = code, index, offset, detail
        if code in self.FOREIGN:
            cause = "lines from another copy of the case (or other text) were appended to it"
            hint = (
                "`irkit repair` moves those lines to a quarantine file (they stay in the "
                "copy they came from; share work through a remote with `irkit sync`), then "
                "retry; `irkit verify` shows the details"
            )
        else:
            cause = {
                "seq-ahead": "entries before it are missing",
                "prev": "an entry was changed, removed or reordered",
            }.get(code, "it is not a valid entry by a member (forged or altered)")
            hint = (
                "this is evidence: `irkit verify` shows it and `irkit repair` leaves it "
                "alone; to write again, continue from a good copy (a fresh `irkit clone` of "
                "the case's remote, or a backup)"
            )
        super().__init__(
            f"the journal does not verify from line {index + 1}: {detail}: {cause}; "
            "nothing was written",
            hint=hint,
        )


def _signature_ok(line: bytes, key_b64: object) -> bool:
    from irkit.formats.ed25519 import b64d
    from irkit.record.entry import split_signature

    cut = split_signature(line)
    try:
        key = PublicKey(b64d(str(key_b64), what="public_key"))
    except InputError:
        return False
    return cut is not None and key.verify(cut[1], cut[0])


def chain_break(data: bytes) -> BrokenChain | None:
    """Where the complete lines of journal bytes `data` stop verifying as append sees it
    (chain throughout, signature of the last), or None: for `irkit repair`."""
    try:
        _AppendState(0, 0, -1, GENESIS_PREV, Roster.empty()).fold(data, 0)
    except BrokenChain as exc:
        return exc
    return None


class _AppendState:
    """Derived, disposable cache that keeps append O(1): tail position, hash, membership.

    It is checked against the journal's bytes on every use and rebuilt when it disagrees, so
    it cannot drift; verification never reads it. Since it decides who may append, it is
    trusted only under a MAC keyed by the user's own secret: anyone else who can write the
    case folder can make it be ignored, never make it admit a key. The fold admits only
    what verification would: membership entries with a valid signature by a key allowed to
    sign them.
    """

    def __init__(self, size: int, last_offset: int, seq: int, hash_: str, roster: Roster) -> None:
        self.size = size
        self.last_offset = last_offset
        self.seq = seq
        self.hash = hash_
        self.roster = roster

    def to_json(self) -> dict[str, Any]:
        return {
            "format": 2,  # 2: the tail it names was checked (chain and signature)
            "size": self.size,
            "last_offset": self.last_offset,
            "seq": self.seq,
            "hash": self.hash,
            "roster": self.roster.to_json(),
        }

    def fold(self, data: bytes, base: int, *, check_tail: bool = True) -> None:
        """Fold the complete lines of `data` (the journal from byte `base`), checking that
        each one continues the chain (seq = its position, prev = the hash of the line
        before) and, with `check_tail`, that the last is signed by a member allowed to sign
        it: a journal whose tail does not verify is never appended to (BrokenChain).
        Hashing and one signature: the cost stays that of reading what is new."""
        scan = scan_bytes(data)
        last = len(scan.lines) - 1
        previous_actor: Any = None
        for index, (line, offset) in enumerate(zip(scan.lines, scan.offsets, strict=True)):
            position = self.seq + 1
            try:
                obj = json.loads(line)
                seq, kind, body = obj["seq"], obj["kind"], obj["body"]
                if type(seq) is not int or type(kind) is not str or type(body) is not dict:
                    raise TypeError("entry fields have the wrong types")
                if kind in ("case.opened", "member.added", "member.removed"):
                    kinds.validator(kind)(body)  # the roster reads these bodies' fields
            except (ValueError, KeyError, TypeError, RecursionError) as exc:
                raise BrokenChain(
                    "malformed", position, base + offset, f"line {position + 1} is not an entry"
                ) from exc
            if seq != position:
                raise BrokenChain(
                    "seq-behind" if seq < position else "seq-ahead",
                    position,
                    base + offset,
                    f"line {position + 1} holds entry {seq}",
                )
            if obj.get("prev") != self.hash:
                # a genuine entry signed after another entry seq - 1 (itself intact) comes
                # from another copy of the case; otherwise something here was altered
                forked = self._signature_ok(line, obj.get("actor")) and (
                    index == 0 or self._signature_ok(scan.lines[index - 1], previous_actor)
                )
                raise BrokenChain(
                    "fork" if forked else "prev",
                    position,
                    base + offset,
                    f"entry {seq}'s prev is not the hash of entry {seq - 1}",
                )
            previous_actor = obj.get("actor")
            if check_tail and index == last:
                self._check_signed(seq, kind, obj.get("actor"), body, line, base + offset)
            if kind in ("case.opened", "member.added", "member.removed") and self._admits(
                seq, kind, obj.get("actor"), body, line
            ):
                self.roster.apply(seq, kind, body)
            self.seq = seq
            self.hash = entry_hash(line)
            self.last_offset = base + offset
        self.size = base + len(data)

    def _check_signed(
        self, seq: int, kind: str, actor: Any, body: dict[str, Any], line: bytes, offset: int
    ) -> None:
        """The tail entry's signature, by the key the roster (as before it) allows to sign it."""
        if kind == "case.opened":
            info = body.get("opener")
            key_b64 = info.get("public_key") if isinstance(info, dict) else None
            reason = None if seq == 0 and isinstance(info, dict) else "case.opened misplaced"
            if isinstance(info, dict) and info.get("fingerprint") != actor:
                reason = "case.opened is not signed by the opener it names"
        else:
            member = self.roster.members.get(str(actor))
            key_b64 = member.public_key if member is not None else None
            reason = self.roster.may_sign(str(actor), kind)
        if reason is not None:
            raise BrokenChain("signer", seq, offset, f"entry {seq}: {reason}")
        if not _signature_ok(line, key_b64):
            raise BrokenChain("signature", seq, offset, f"entry {seq}'s signature does not verify")

    def _signature_ok(self, line: bytes, actor: Any) -> bool:
        """Whether `line` carries a valid signature by the case key `actor` names."""
        member = self.roster.members.get(str(actor))
        if member is None:
            return False
        return _signature_ok(line, member.public_key)

    def _admits(self, seq: int, kind: str, actor: Any, body: dict[str, Any], line: bytes) -> bool:
        """Whether `verify` would let this membership entry change the roster: signed by a key
        allowed to sign it, by the roster's rules, with a valid signature."""
        from irkit.formats.ed25519 import b64d
        from irkit.record.entry import split_signature

        if kind == "case.opened":
            info = body["opener"]
            if seq != 0 or info["fingerprint"] != actor:
                return False
            key_b64 = info["public_key"]
        else:
            member = self.roster.members.get(str(actor))
            if member is None or self.roster.may_sign(member.fingerprint, kind) is not None:
                return False
            key_b64 = member.public_key
        if body_problem(self.roster, kind, body) is not None:
            return False
        cut = split_signature(line)
        try:
            key = PublicKey(b64d(key_b64, what="public_key"))
        except InputError:
            return False
        return cut is not None and key.verify(cut[1], cut[0])


# A `Case.append` re-validation: entries appended since the caller's view -> body to sign.
Rebase = Callable[[list[Entry]], dict[str, Any]]


def _validate_body(kind: str, body: dict[str, Any]) -> None:
    if not kinds.known(kind):
        raise InputError(f"unknown entry kind {kind!r}")
    try:
        kinds.body_model(kind).model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InputError(f"invalid {kind} entry: {where}: {first['msg']}") from exc


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
        # lines `read_entries` had to leave out, by line index (the CLI warns once each)
        self.read_problems: dict[int, str] = {}

    # -- finding and opening -------------------------------------------------------------

    @classmethod
    def open(cls, root: Path) -> Case:
        marker = root / MARKER_NAME
        try:
            doc = jsonload.loads(safefile.read_bytes(marker), what=str(marker))
        except FileNotFoundError as exc:
            raise CaseNotFoundError(f"no irkit case at {root} ({MARKER_NAME} missing)") from exc
        except safefile.NotRegularFile as exc:
            raise CaseNotFoundError(f"{marker} is {exc.strerror}") from exc
        except (OSError, ValueError, InputError) as exc:
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
        """Parse and validate every complete line: the one way readers get entries.

        Each entry's envelope and body are checked against the kind's body model
        (`Entry.validated`); a line that fails is left out and named in `problems` (also
        kept in `read_problems` for the CLI to warn about), so that folds, listings and
        reports only ever see well-typed entries. No signature or chain checks: that is
        `verify`'s job.
        """
        from irkit.formats.canonical import parse_canonical

        scan = self.scan()
        entries: list[Entry] = []
        problems: list[tuple[int, str]] = []
        for index, line in enumerate(scan.lines):
            obj, problem = parse_canonical(line)
            try:
                if obj is None:
                    raise ValueError(problem or "unreadable line")
                entries.append(Entry.validated(obj, line))
            except ValueError as exc:
                message = (
                    f"entry {index} (line {index + 1}) is malformed: {exc}; run `irkit verify`"
                )
                problems.append((index, message))
                self.read_problems[index] = message
        return ReadResult(entries, problems, scan.torn)

    def roster(self) -> Roster:
        """Current membership (from the append cache, checked against the journal).

        Read under a shared lock on a read-only descriptor: listing members must work on
        write-protected media and never waits for another reader. On a journal whose chain
        breaks (BrokenChain), the membership of the lines before the break: listing works,
        every write still refuses (`append`, `check_appendable`)."""
        with self._journal.reading() as view:
            try:
                return self._state(view).roster
            except BrokenChain as exc:
                state = _AppendState(0, 0, -1, GENESIS_PREV, Roster.empty())
                state.fold(view.read_range(0, exc.offset), 0, check_tail=False)
                return state.roster

    def torn_tail(self) -> journal.TornTail | None:
        """The incomplete last line, if any, found from the end of the file: cheap enough
        for every command to warn. Read-only (works on write-protected media) under a shared
        lock, so an append in progress is not mistaken for a crash."""
        try:
            fd = safefile.open_regular(self.journal_path)
        except OSError:
            return None  # whoever reads the journal next reports why it cannot (FIFO...)
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

    def check_appendable(self) -> None:
        """Raise what `append` would about the journal itself (a torn last line:
        TornTailError; a tail that does not verify: BrokenChain), writing nothing: for
        whatever extends or publishes the journal other than by `append` (a sync).
        O(1) in journal size with the append cache, like an append."""
        with self._journal.reading() as view:
            view.check_tail()
            self._state(view)

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
        rebase: Rebase | None = None,
    ) -> Entry:
        """Validate, authorise, sign and durably append one entry; O(1) in journal size.

        `after`: the last seq the caller's view held. Without `rebase`, append only if the
        journal still ends there (compare-and-swap for commands that checked a folded state
        first, e.g. a state change). With `rebase`, entries appended since are handed to it
        under the journal lock (oldest first); it returns the body to sign instead, checked
        again against the new tail, or raises to refuse. A long collection is then not
        thrown away because someone added a note meanwhile.
        """
        _validate_body(kind, body)
        with self._journal.locked() as locked:
            locked.check_tail()
            state = self._state(locked)
            self._authorise(state, signer, kind)
            if after is not None and state.seq != after:
                if rebase is None or state.seq < after:
                    raise InputError(
                        f"the case changed meanwhile (now up to entry {state.seq}); nothing "
                        "was written: look again and repeat the command"
                    )
                body = rebase(self._entries_since(locked, state, after))
                _validate_body(kind, body)
            self._check_rules(state, kind, body)
            seq = state.seq + 1
            prev = state.hash if seq else GENESIS_PREV
            # confidential text gets its salt here, where the entry's position is known
            body = redaction.salted(signer, seq, prev, kind, body)
            line = build_line(
                signer, seq=seq, prev=prev, kind=kind, body=body, recorded=format_utc(clock())
            )
            offset = locked.append_line(line)
            state.fold(line + b"\n", offset, check_tail=False)  # signed just now
            self._save_state(state)
        return Entry.from_obj(json.loads(line), line)

    @staticmethod
    def _entries_since(locked: LockedJournal, state: _AppendState, after: int) -> list[Entry]:
        """Entries after+1 .. the last, read backwards from the end: O(entries since), not
        O(journal). Validated like every reader's entries (`Entry.validated`)."""
        from irkit.formats.canonical import parse_canonical

        count = state.seq - after
        start = state.size  # check_tail: the journal ends with a newline
        data = b""
        step = 64 * 1024
        while start > 0 and data.count(b"\n") <= count:  # one more: where the first begins
            new_start = max(0, start - step)
            data = locked.read_range(new_start, start) + data
            start, step = new_start, step * 2
        lines = data.split(b"\n")[:-1][-count:]
        entries: list[Entry] = []
        for expected, line in enumerate(lines, start=after + 1):
            obj, problem = parse_canonical(line)
            try:
                if obj is None:
                    raise ValueError(problem or "unreadable line")
                entry = Entry.validated(obj, line)
                if entry.seq != expected:
                    raise ValueError(f"seq {entry.seq} where {expected} belongs")
            except ValueError as exc:
                raise JournalError(
                    f"journal entry {expected} is malformed ({exc}); nothing was written: "
                    "run `irkit verify`"
                ) from exc
            entries.append(entry)
        if len(entries) != count:
            raise JournalError("the journal's tail could not be read back; nothing was written")
        return entries

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

    @staticmethod
    def _check_rules(state: _AppendState, kind: str, body: dict[str, Any]) -> None:
        """Refuse what `verify` would flag by the rules the append cache can judge (the
        roster's and the body's own: member keys, removals, custody receivers, sorted tags),
        so that no command, whatever its own checks, signs an entry that breaks the case."""
        rule = body_problem(state.roster, kind, body)
        if rule is not None:
            raise InputError(f"refused: {rule[1]}; nothing was written")

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
        secret = _cache_secret()
        if secret is None:
            return None
        try:
            sealed = json.loads(safefile.read_bytes(self.root / STATE_NAME))  # no FIFO, no link
            payload = str(sealed["state"]).encode("utf-8")
            import hmac

            if not hmac.compare_digest(str(sealed["mac"]), _cache_mac(secret, payload)):
                return None  # written by someone else, or altered: rebuilt from the journal
            doc = json.loads(payload)
            st = _AppendState(
                int(doc["size"]),
                int(doc["last_offset"]),
                int(doc["seq"]),
                str(doc["hash"]),
                Roster.from_json(doc["roster"]),
            )
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            return None  # any damage: the cache is rebuilt from the journal
        if doc.get("format") != 2 or st.size > size or st.size == 0:
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
        secret = _cache_secret()
        if secret is None:
            return  # an unauthenticated cache would not be trusted anyway
        path = self.root / STATE_NAME
        tmp = path.with_name(f"{STATE_NAME}.{os.getpid()}.tmp")
        payload = json.dumps(state.to_json())
        sealed = {"format": 2, "mac": _cache_mac(secret, payload.encode("utf-8")), "state": payload}
        try:
            tmp.write_text(json.dumps(sealed), encoding="utf-8")
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

    def write_public_key(self, key: PublicKey) -> bool:
        """Put `key` in keys/ (atomically, never over another file); True if this call
        created it. An existing file must hold the same key: anything else is refused."""
        path = self.key_path(key.fingerprint)
        self.keys_dir.mkdir(exist_ok=True)
        try:
            safefile.atomic_write(path, key.pem(), replace=False)
            return True
        except FileExistsError:
            pass
        if read_case_key(path).raw != key.raw:
            raise InputError(
                f"keys/{path.name} holds another key than its name says; nothing was written",
                hint="run `irkit verify`",
            )
        return False

    def discard_public_key(self, key: PublicKey) -> None:
        """Undo `write_public_key` for a key that did not become a member (a failed add)."""
        with contextlib.suppress(IrkitError, OSError):
            if not self.roster().is_member(key.fingerprint):
                self.key_path(key.fingerprint).unlink(missing_ok=True)


def read_case_key(path: Path) -> PublicKey:
    """A keys/ file: a PEM Ed25519 public key, read without following links or blocking."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from irkit.formats.ed25519 import check_public_key

    try:
        data = safefile.read_bytes(path)
    except OSError as exc:
        raise KeyFileError(f"cannot read public key {path}: {exc.strerror}") from exc
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise KeyFileError(f"{path}: not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path}: not an Ed25519 public key")
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    check_public_key(raw, what=str(path))
    return PublicKey(raw)


def member_info(key: PublicKey, name: str, role: str, contact: str | None = None) -> dict[str, str]:
    """A member info body; `contact` (phone, e-mail) only when given: older bytes unchanged."""
    info = {"fingerprint": key.fingerprint, "public_key": b64e(key.raw), "name": name, "role": role}
    if contact is not None:
        if not contact.strip():
            raise InputError("a contact cannot be empty (leave --contact out instead)")
        info["contact"] = contact
    return info


def init_case(
    root: Path,
    *,
    title: str,
    case_id: str | None,
    signer: Signer,
    contact: str | None = None,
    clock: Clock = system_clock,
) -> Case:
    """Create the case folder and sign `case.opened`; on any failure, leave nothing behind."""
    now = clock()
    opener = member_info(signer.public, signer.name or "opener", "lead", contact)
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
                "opener": opener,
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
        # last: the marker is what makes the folder a case, so it names a journal that opened
        safefile.atomic_write(root / MARKER_NAME, (json.dumps(marker, indent=2) + "\n").encode())
    except BaseException:
        if created_root:
            shutil.rmtree(root, ignore_errors=True)
        else:
            for path in reversed(made):
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
            (root / STATE_NAME).unlink(missing_ok=True)
        raise
    return case


def add_member(
    case: Case,
    signer: Signer,
    key: PublicKey,
    *,
    name: str,
    role: str,
    contact: str | None = None,
    clock: Clock = system_clock,
) -> Entry:
    """Add a member: the key file is written first, then the entry that makes it a member,
    so a reported failure means the key is not a member (and its new key file is removed),
    and a reported success means both are there."""
    check_public_key(key.raw, what=f"key {key.fingerprint}")
    info = member_info(key, name, role, contact)
    if case.roster().is_member(key.fingerprint):
        raise InputError(f"{key.fingerprint} is already a member of this case")
    case.check_signer(signer, "member.added")  # refuse before writing anything
    created = case.write_public_key(key)
    try:
        return case.append(signer, "member.added", {"member": info}, clock=clock)
    except BaseException:
        if created:
            case.discard_public_key(key)
        raise


def remove_member(
    case: Case, signer: Signer, fingerprint: str, *, reason: str, clock: Clock = system_clock
) -> Entry:
    """End a membership; `Case.append` refuses a non-member, a removed member, the opener.

    `fingerprint` is resolved as people name members (`Roster.resolve`). The record knows
    nothing of custody: `irkit.evidence.custody.remove_member` refuses first when the member
    still holds evidence."""
    member = case.roster().resolve(fingerprint)
    return case.append(
        signer, "member.removed", {"fingerprint": member.fingerprint, "reason": reason}, clock=clock
    )

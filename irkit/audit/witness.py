"""Witness cosigning (C2SP tlog-witness, tlog-cosignature): both sides, and what verify checks.

The witness keeps, per log origin, the size and root it last cosigned, in its own folder
(`irkit witness init`, default $IRKIT_HOME/witness). It cosigns a checkpoint only when the
log's signature verifies under a key configured for that origin and an RFC 6962 consistency
proof leads from that state to the new tree; the new state is on disk (fsync, rename) before
any cosignature leaves. So a log that rolls back or forks cannot get that witness to sign
its new history, and an auditor who requires the witness's cosignature sees the difference.

The log side (`irkit checkpoint --witness URL`) sends `add-checkpoint` with a proof from
the size the witness last cosigned (learnt from a 409 when its own record is behind), keeps
the cosignature lines it gets under the checkpoint's note in checkpoints/, and the witness's
public key in witnesses/<hex>.pub so an auditor can name the witness by fingerprint.

Longer than ~500 lines: both sides of one protocol (#17, work in progress); the witness's
side and the log's side are the parts to split along its `# --` sections once it settles.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from irkit.errors import EnvironmentFailure, InputError, IrkitError, KeyFileError, ProblemsFound
from irkit.formats import cosignature, merkle
from irkit.formats.ed25519 import PublicKey, Signer, b64e, fingerprint_of
from irkit.formats.signednote import (
    EM_DASH,
    Checkpoint,
    NoteSignature,
    SignedNote,
    parse_checkpoint,
    parse_note,
    signature_line,
)
from irkit.formats.signednote import key_id as note_key_id
from irkit.record import safefile

KEY_FILE = "witness.key"
PUB_FILE = "witness.pub"
LOGS_DIR = "logs"
MAX_REQUEST = 64 << 10  # 63 proof lines and a checkpoint with dozens of signatures fit
MAX_PROOF_LINES = 63
SIZE_CONTENT_TYPE = "text/x.tlog.size"
CLOCK_SLACK = 600  # seconds a cosignature's time may lie ahead of the verifier's clock

Clock = Callable[[], int]


def _now() -> int:
    return int(time.time())


# -- the witness's identity -------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    name: str  # the key name on its cosignature lines
    public: PublicKey
    folder: Path

    @property
    def fingerprint(self) -> str:
        return self.public.fingerprint

    @property
    def vkey(self) -> str:
        return cosignature.vkey(self.name, self.public.raw)


def default_name(public_raw: bytes) -> str:
    return f"irkit-witness/{fingerprint_of(public_raw).removeprefix('ed25519:')[:16]}"


def init_witness(folder: Path, passphrase: str, *, name: str | None, created: str) -> Identity:
    """Create the witness's key (passphrase-protected, 0600) and its PEM public key.

    Refuses a folder that already holds a witness key: a new key would orphan the state the
    old one vouched for."""
    from irkit.formats.ed25519 import generate
    from irkit.record.keyfiles import passphrase_problem, write_key_file

    problem = passphrase_problem(passphrase)
    if problem is not None:
        raise InputError(problem)
    if name is not None and not re.fullmatch(r"[^\s+]+", name):
        raise InputError("a witness name is non-empty, without spaces or '+'")
    signer = generate("", role="witness")
    name = name or default_name(signer.public.raw)
    signer = Signer(signer._private, name=name, role="witness")
    key_path = folder / KEY_FILE
    if os.path.lexists(key_path):
        raise KeyFileError(f"{key_path} already exists: this folder has a witness already")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_key_file(key_path, signer, passphrase, created=created)
    try:
        safefile.atomic_write(folder / PUB_FILE, signer.public.pem())
    except OSError:
        key_path.unlink(missing_ok=True)
        raise
    return Identity(name, signer.public, folder)


def identity(folder: Path) -> Identity:
    from irkit.record.keyfiles import read_public

    key_path = folder / KEY_FILE
    if not os.path.lexists(key_path):
        raise KeyFileError(
            f"no witness at {folder} ({KEY_FILE} missing)",
            hint="create one with `irkit witness init`",
        )
    public = read_public(key_path)
    return Identity(public.name or default_name(public.raw), public, folder)


def load_signer(folder: Path, passphrase: Callable[[], str | None]) -> tuple[Identity, Signer]:
    from irkit.record.keyfiles import load_signer as load

    ident = identity(folder)
    return ident, load(folder / KEY_FILE, passphrase)


# -- per-log state ----------------------------------------------------------------------------


class LogKey(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    public_key: str  # base64 of the 32 raw bytes


class LogState(BaseModel):
    """What the witness knows of one log: the keys it trusts for the origin and the latest
    checkpoint it cosigned (size 0 and the empty root before the first)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    origin: str
    keys: list[LogKey]
    size: int = 0
    root: str = b64e(merkle.EMPTY_ROOT)
    checkpoint: str | None = None  # the last cosigned note, with the log's and our lines
    updated: int = 0


def origin_hash(origin: str) -> str:
    return hashlib.sha256(origin.encode("utf-8")).hexdigest()


def _log_path(folder: Path, origin: str) -> Path:
    return folder / LOGS_DIR / f"{origin_hash(origin)}.json"


def read_log(folder: Path, origin: str) -> LogState | None:
    path = _log_path(folder, origin)
    try:
        data = safefile.read_bytes(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise EnvironmentFailure(f"cannot read witness state {path}: {exc.strerror}") from exc
    try:
        state = LogState.model_validate_json(data)
    except ValidationError as exc:
        raise InputError(f"witness state {path} is damaged; refusing to cosign from it") from exc
    if state.origin != origin:
        raise InputError(f"witness state {path} names another origin")
    return state


def logs(folder: Path) -> list[LogState]:
    found = []
    for path in sorted((folder / LOGS_DIR).glob("*.json")):
        with contextlib.suppress(InputError):
            state = LogState.model_validate_json(safefile.read_bytes(path))
            found.append(state)
    return found


def _save(folder: Path, state: LogState) -> None:
    """Durably replace the state of one log (temporary, fsync, rename, folder fsync)."""
    safefile.atomic_write(_log_path(folder, state.origin), state.model_dump_json(indent=1).encode())


_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


@contextlib.contextmanager
def _log_locked(folder: Path, origin: str) -> Iterator[None]:
    """Check-then-persist of one log's state is atomic against other threads of `serve` and
    other processes (`witness cosign` beside a running server): the rollback race the
    tlog-witness spec describes cannot happen."""
    key = origin_hash(origin)
    with _THREAD_LOCKS_GUARD:
        lock = _THREAD_LOCKS.setdefault(f"{folder.resolve()}/{key}", threading.Lock())
    with lock:
        (folder / LOGS_DIR).mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(
            folder / LOGS_DIR / f"{key}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
        )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def add_log(folder: Path, origin: str, keys: Sequence[cosignature.VerifierKey]) -> LogState:
    """Trust `keys` for checkpoints of `origin` (added to those already trusted; the state
    the witness cosigned is kept)."""
    if not origin or any(c.isspace() and c != " " for c in origin) or len(origin) > 1000:
        raise InputError("a log origin is one non-empty line")
    if not keys:
        raise InputError("give at least one log key (--key)")
    for k in keys:
        if k.alg != cosignature.LOG_ALG:
            raise InputError(f"{k.name}: a log signs checkpoints with an Ed25519 (0x01) key")
    with _log_locked(folder, origin):
        state = read_log(folder, origin) or LogState(origin=origin, keys=[])
        have = {(k.name, k.public_key) for k in state.keys}
        extra = [
            LogKey(name=k.name, public_key=b64e(k.key.raw))
            for k in keys
            if (k.name, b64e(k.key.raw)) not in have
        ]
        state = state.model_copy(update={"keys": [*state.keys, *extra]})
        _save(folder, state)
    return state


# -- add-checkpoint ---------------------------------------------------------------------------


class WitnessRefusal(IrkitError):
    """The witness will not cosign; `status` is the tlog-witness HTTP status for it."""

    def __init__(self, status: int, message: str, *, body: bytes | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body if body is not None else (message + "\n").encode("utf-8")
        self.content_type = "text/plain; charset=utf-8"
        if status == 409:
            self.content_type = SIZE_CONTENT_TYPE
        # a finding (exit 1) when the log's history disagrees with what was cosigned before
        self.exit_code = ProblemsFound.exit_code if status == 422 else InputError.exit_code


@dataclass(frozen=True)
class Request:
    old: int
    proof: tuple[bytes, ...]
    note: bytes  # the checkpoint's signed note as sent


_OLD_RE = re.compile(rb"old (0|[1-9][0-9]{0,18})\n")


def parse_request(data: bytes) -> Request:
    """An add-checkpoint body: `old N`, up to 63 base64 proof lines, a blank line, the
    signed checkpoint. Anything else is a 400."""
    match = _OLD_RE.match(data)
    if match is None:
        raise WitnessRefusal(400, "the request does not start with an `old <size>` line")
    pos = match.end()
    proof: list[bytes] = []
    while True:
        end = data.find(b"\n", pos)
        if end < 0:
            raise WitnessRefusal(400, "no blank line before the checkpoint")
        line = data[pos:end]
        pos = end + 1
        if not line:
            break
        if len(proof) == MAX_PROOF_LINES:
            raise WitnessRefusal(400, f"more than {MAX_PROOF_LINES} consistency proof lines")
        try:
            node = base64.b64decode(line, validate=True)
        except ValueError:
            node = b""
        if len(node) != 32 or base64.b64encode(node) != line:
            raise WitnessRefusal(400, "a consistency proof line is not a base64 SHA-256 hash")
        proof.append(node)
    return Request(int(match.group(1)), tuple(proof), data[pos:])


def build_request(old: int, proof: Sequence[bytes], note: bytes) -> bytes:
    lines = [f"old {old}\n".encode()] + [base64.b64encode(p) + b"\n" for p in proof]
    return b"".join(lines) + b"\n" + note


def _log_keys(state: LogState) -> list[tuple[str, PublicKey]]:
    return [(k.name, PublicKey(base64.b64decode(k.public_key))) for k in state.keys]


def _check_log_signature(note: SignedNote, state: LogState) -> None:
    """403 unless a trusted key signed; a line naming a trusted key that fails is 403 too
    (signed-note: such a note is malformed)."""
    good = False
    for sig in note.signatures:
        for name, key in _log_keys(state):
            if sig.name == name and sig.key_id == note_key_id(name, key.raw):
                if not key.verify(sig.signature, note.text):
                    raise WitnessRefusal(403, f"the signature by {name} does not verify")
                good = True
    if not good:
        raise WitnessRefusal(403, "no signature by a key this witness trusts for the log")


def add_checkpoint(
    folder: Path, ident: Identity, signer: Signer, data: bytes, clock: Clock = _now
) -> bytes:
    """Answer one add-checkpoint request: the cosignature line, or a WitnessRefusal.

    The new state is saved before the line is returned (the caller answers only then)."""
    if len(data) > MAX_REQUEST:
        raise WitnessRefusal(413, f"the request is larger than {MAX_REQUEST} bytes")
    req = parse_request(data)
    try:
        note = parse_note(req.note)
        cp = parse_checkpoint(note.text)
    except (InputError, UnicodeDecodeError) as exc:
        raise WitnessRefusal(400, f"not a checkpoint: {exc}") from exc
    with _log_locked(folder, cp.origin):
        state = read_log(folder, cp.origin)
        if state is None:
            raise WitnessRefusal(404, "this witness does not know the log's origin")
        _check_log_signature(note, state)
        if req.old > cp.size:
            raise WitnessRefusal(400, f"old size {req.old} is larger than the checkpoint's")
        if req.old != state.size:
            raise WitnessRefusal(
                409, f"the witness's size is {state.size}", body=f"{state.size}\n".encode()
            )
        old_root = base64.b64decode(state.root)
        if cp.size == 0 and cp.root != merkle.EMPTY_ROOT:
            raise WitnessRefusal(422, "a checkpoint of size 0 must have the empty tree's root")
        if req.old == 0:
            if req.proof:
                raise WitnessRefusal(422, "a proof from the empty tree must be empty")
        elif req.old == cp.size:
            if req.proof or cp.root != old_root:
                raise WitnessRefusal(
                    422, "same size as the tree the witness cosigned, but another root or a proof"
                )
        elif not merkle.verify_consistency(req.old, cp.size, old_root, cp.root, req.proof):
            raise WitnessRefusal(
                422, f"the consistency proof from size {req.old} to {cp.size} does not verify"
            )
        timestamp = max(clock(), 1)
        line = cosignature.sign(note.text, signer, ident.name, timestamp)
        kept = req.note + line.encode("utf-8")
        _save(
            folder,
            state.model_copy(
                update={
                    "size": cp.size,
                    "root": b64e(cp.root),
                    "checkpoint": kept.decode("utf-8"),
                    "updated": timestamp,
                }
            ),
        )
    return line.encode("utf-8")


# -- the HTTP witness -------------------------------------------------------------------------


def make_server(
    folder: Path,
    ident: Identity,
    signer: Signer,
    address: tuple[str, int],
    *,
    log: Callable[[str], None] | None = None,
    clock: Clock = _now,
    timeout: float = 10.0,
) -> ThreadingHTTPServer:
    """A tlog-witness HTTP server (call serve_forever; shutdown from another thread).

    POST /add-checkpoint, and GET /<sha256(origin) hex>/checkpoint for monitors."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "irkit-witness"
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            self.connection.settimeout(timeout)  # a stalled client holds one thread, briefly

        def log_message(self, format: str, *args: Any) -> None:
            if log is not None:
                log(f"{self.address_string()} {format % args}")

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _plain(self, status: int, message: str) -> None:
            self._answer(status, (message + "\n").encode(), "text/plain; charset=utf-8")

        def do_POST(self) -> None:
            if self.path != "/add-checkpoint":
                self._plain(404, "not found")
                return
            length_text = self.headers.get("Content-Length")
            if self.headers.get("Transfer-Encoding") or length_text is None:
                self.close_connection = True
                self._plain(411, "a Content-Length is required")
                return
            if not re.fullmatch(r"[0-9]{1,10}", length_text.strip()):
                self.close_connection = True
                self._plain(400, "malformed Content-Length")
                return
            length = int(length_text)
            if length > MAX_REQUEST:
                self.close_connection = True
                self._plain(413, f"the request is larger than {MAX_REQUEST} bytes")
                return
            try:
                data = self.rfile.read(length)
            except OSError:
                self.close_connection = True
                return
            if len(data) != length:
                self.close_connection = True
                self._plain(400, "the request body ended early")
                return
            try:
                line = add_checkpoint(folder, ident, signer, data, clock)
            except WitnessRefusal as refusal:
                self._answer(refusal.status, refusal.body, refusal.content_type)
                return
            except IrkitError as exc:  # the witness's own state is unreadable
                self._plain(500, exc.message)
                return
            except OSError as exc:  # could not persist: never cosign then
                self._plain(500, f"cannot save the witness state: {exc.strerror}")
                return
            self._answer(200, line, "text/plain; charset=utf-8")

        def do_GET(self) -> None:
            if self.path == "/add-checkpoint":
                self._plain(405, "add-checkpoint takes POST")
                return
            match = re.fullmatch(r"/([0-9a-f]{64})/checkpoint", self.path)
            state = None
            if match is not None:
                for candidate in logs(folder):
                    if origin_hash(candidate.origin) == match.group(1):
                        state = candidate
            if state is None or state.checkpoint is None:
                self._plain(404, "not found")
                return
            self._answer(200, state.checkpoint.encode(), "text/plain; charset=utf-8")

        do_HEAD = do_GET

    server = ThreadingHTTPServer(address, Handler)
    server.daemon_threads = True
    return server


# -- the log's side ---------------------------------------------------------------------------


def witness_key(value: str, case_root: Path | None = None) -> PublicKey:
    """A witness's public key from a vkey, a key file (PEM, irkit key file or a file holding
    a vkey), or a whole fingerprint looked up in the case's witnesses/ folder (any copy
    there is checked against the fingerprint, which is the trust anchor)."""
    from irkit.record.keyfiles import full_fingerprint, read_public

    if cosignature.is_vkey(value) and not Path(value).exists():
        vk = cosignature.parse_vkey(value)
        if vk.alg != cosignature.COSIGNATURE_ALG:
            raise InputError(f"{vk.name}: not a cosigner key (type 0x04)")
        return vk.key
    whole = full_fingerprint(value)
    if whole is not None:
        if case_root is None:
            raise InputError(f"{value}: a fingerprint needs the case's witnesses/ folder")
        path = case_root / "witnesses" / f"{whole.removeprefix('ed25519:')}.pub"
        from irkit.record.case import read_case_key

        if not os.path.lexists(path):
            raise InputError(
                f"the case holds no key for witness {whole}",
                hint="pass the witness's public key file or vkey instead",
            )
        key = read_case_key(path)
        if key.fingerprint != whole:
            raise InputError(f"witnesses/{path.name} holds another key than its name says")
        return key
    path = Path(value)
    if not path.is_file():
        raise InputError(f"{value!r} is not a witness fingerprint, vkey or public key file")
    head = safefile.read_input(path, what="witness key", limit=1 << 20)
    text = head.decode("utf-8", "replace").strip()
    if cosignature.is_vkey(text) and "\n" not in text:
        return witness_key(text)
    return read_public(path)


def cosigned_by(note: SignedNote, key: PublicKey) -> list[int]:
    """Timestamps of the valid cosignatures by `key` on `note`."""
    found = []
    for sig in note.signatures:
        ts = cosignature.verify(note.text, sig, key)
        if ts is not None:
            found.append(ts)
    return found


def _kept_notes(case: Any) -> list[tuple[str, SignedNote, Checkpoint]]:
    out: list[tuple[str, SignedNote, Checkpoint]] = []
    folder = case.checkpoints_dir
    if not folder.is_dir():
        return out
    for path in sorted(folder.iterdir()):
        if path.name.endswith(".tmp"):
            continue
        try:
            note = parse_note(safefile.read_bytes(path))
            out.append((f"checkpoints/{path.name}", note, parse_checkpoint(note.text)))
        except (OSError, InputError, UnicodeDecodeError):
            continue
    return out


def last_cosigned_size(case: Any, key: PublicKey) -> int:
    """The largest checkpoint in checkpoints/ that `key` cosigned (0 when none): where the
    log side starts, before a 409 corrects it."""
    sizes = [cp.size for _, note, cp in _kept_notes(case) if cosigned_by(note, key)]
    return max(sizes, default=0)


def proof_for(case: Any, cp: Checkpoint, old: int) -> list[bytes]:
    """The consistency proof from `old` to the checkpoint, from the journal as it is now
    (its first cp.size entries must still hash to the checkpoint's root)."""
    from irkit.record import journal

    scan = journal.read(case.journal_path)
    leaves = [merkle.leaf_hash(x) for x in scan.lines[: cp.size]]
    if len(leaves) != cp.size or merkle.root(leaves) != cp.root:
        raise ProblemsFound("the journal no longer matches the checkpoint being witnessed")
    if old == 0 or old == cp.size:
        return []
    if old > cp.size:
        raise ProblemsFound(
            f"the witness has cosigned a tree of {old} entries, larger than this checkpoint's "
            f"{cp.size}: the journal was rolled back or forked after it was witnessed"
        )
    return merkle.consistency_proof(old, leaves)


def request_file(case: Any, note: bytes, old: int) -> bytes:
    """The offline form of add-checkpoint: the same body, carried to the witness."""
    cp = parse_checkpoint(parse_note(note).text)
    return build_request(old, proof_for(case, cp, old), note)


def _post(url: str, body: bytes, timeout: float) -> tuple[int, bytes, str]:
    import urllib.error
    import urllib.request

    target = url.rstrip("/") + "/add-checkpoint"
    request = urllib.request.Request(  # noqa: S310 (_check_url: http and https only)
        target, data=body, method="POST", headers={"Content-Type": "text/plain; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return (
                response.status,
                response.read(MAX_REQUEST + 1),
                response.headers.get("Content-Type", ""),
            )
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read(MAX_REQUEST + 1), exc.headers.get("Content-Type", "")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise EnvironmentFailure(f"witness {url}: cannot reach it ({reason})") from exc


def _check_url(url: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"witness {url!r} is not an http(s) URL")


def parse_response(data: bytes) -> list[NoteSignature]:
    """Signature lines (a 200 body, or a file of them); a whole cosigned note is accepted
    too, for its signature lines."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("the witness's response is not UTF-8") from exc
    if not text.startswith(EM_DASH):
        return list(parse_note(data).signatures)
    return list(parse_note(b"x\n\n" + data).signatures)


def request_cosignature(
    case: Any,
    note: bytes,
    url: str,
    keys: Sequence[PublicKey],
    *,
    timeout: float = 15.0,
) -> list[str]:
    """Ask one witness to cosign `note`; the valid cosignature lines by `keys` it returned.

    Starts from the size the case's kept checkpoints say the witness cosigned; a 409 names
    the witness's real size, and the request is sent once more with the proof from there."""
    _check_url(url)
    parsed = parse_note(note)
    cp = parse_checkpoint(parsed.text)
    old = max((last_cosigned_size(case, k) for k in keys), default=0)
    if old > cp.size:
        old = 0
    for _attempt in range(3):
        body = build_request(old, proof_for(case, cp, old), note)
        status, answer, content_type = _post(url, body, timeout)
        if status == 200:
            return _valid_lines(parsed, answer, keys, url)
        if status == 409 and content_type.split(";")[0].strip() == SIZE_CONTENT_TYPE:
            text = answer.decode("ascii", "replace")
            if not re.fullmatch(r"(0|[1-9][0-9]{0,18})\n", text):
                raise InputError(f"witness {url}: malformed 409 answer")
            reported = int(text)
            if reported == old:
                raise InputError(f"witness {url}: answered 409 with the size it was sent")
            old = reported
            continue
        reason = answer.decode("utf-8", "replace").strip().splitlines()[:1]
        why = f": {reason[0][:200]}" if reason else ""
        if status == 422:
            raise ProblemsFound(
                f"witness {url} refused: the checkpoint is not consistent with the tree it "
                f"cosigned before{why}"
            )
        if status in (403, 404):
            raise InputError(
                f"witness {url} does not accept this log (HTTP {status}){why}",
                hint="its operator adds the log with `irkit witness add-log --case CASE`",
            )
        raise InputError(f"witness {url} answered HTTP {status}{why}")
    raise InputError(f"witness {url}: its size kept changing; try again")


def _valid_lines(
    parsed: SignedNote, answer: bytes, keys: Sequence[PublicKey], where: str
) -> list[str]:
    good: list[str] = []
    for sig in parse_response(answer):
        for key in keys:
            if cosignature.by_key(sig, key):
                if cosignature.verify(parsed.text, sig, key) is None:
                    raise ProblemsFound(f"{where}: a cosignature by {key.fingerprint} is invalid")
                good.append(signature_line(sig))
    if not good:
        raise InputError(f"{where}: no cosignature by the given witness key(s)")
    return good


@contextlib.contextmanager
def _checkpoints_locked(case: Any) -> Iterator[None]:
    case.checkpoints_dir.mkdir(exist_ok=True)
    fd = os.open(case.checkpoints_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def with_cosignatures(note: bytes, lines: Iterable[str]) -> bytes:
    """`note` with the signature lines it does not already carry appended."""
    have = {signature_line(s) for s in parse_note(note).signatures}
    extra = "".join(dict.fromkeys(line for line in lines if line not in have))
    return note + extra.encode("utf-8")


def store_witness_keys(case: Any, keys: Iterable[PublicKey]) -> None:
    """witnesses/<hex>.pub, create-only: written before any cosignature that needs it."""
    folder = case.root / "witnesses"
    for key in keys:
        path = folder / f"{key.fingerprint.removeprefix('ed25519:')}.pub"
        folder.mkdir(exist_ok=True)
        try:
            safefile.atomic_write(path, key.pem(), replace=False)
        except FileExistsError:
            from irkit.record.case import read_case_key

            if read_case_key(path).raw != key.raw:
                raise InputError(f"witnesses/{path.name} holds another key") from None


def attach(case: Any, rel_path: str, lines: Sequence[str], keys: Sequence[PublicKey]) -> int:
    """Add cosignature lines to a checkpoint kept in the case; how many were new."""
    store_witness_keys(case, keys)
    path = case.root / rel_path
    with _checkpoints_locked(case):
        current = safefile.read_bytes(path)
        updated = with_cosignatures(current, lines)
        if updated != current:
            safefile.atomic_write(path, updated)
    return len(parse_note(updated).signatures) - len(parse_note(current).signatures)


def attach_response(case: Any, response: bytes, keys: Sequence[PublicKey]) -> tuple[str, int]:
    """`checkpoint --add-cosignature`: find the kept checkpoint a response cosigns and add
    its lines; (the checkpoint's path, lines added)."""
    sigs = parse_response(response)
    for rel, note, _cp in _kept_notes(case):
        good = []
        for sig in sigs:
            for key in keys:
                if cosignature.by_key(sig, key) and cosignature.verify(note.text, sig, key):
                    good.append(signature_line(sig))
        if good:
            return rel, attach(case, rel, good, keys)
    raise InputError(
        "the response holds no cosignature by the given witness key(s) on a checkpoint kept "
        "in this case"
    )


# -- what verify checks -------------------------------------------------------------------------


def cosigners(
    label: str, note: SignedNote, keys: Sequence[PublicKey], ctx: Any, now: int | None = None
) -> list[str]:
    """Fingerprints of the given witnesses with a valid cosignature on `note`.

    A line that names a given witness key (its name and key ID) but does not verify is a
    problem, as signed-note says such a note is malformed; so is one dated in the future."""
    now = _now() if now is None else now
    found: list[str] = []
    for key in keys:
        for sig in note.signatures:
            if not cosignature.by_key(sig, key):
                continue
            cosig = cosignature.decode(sig)
            ts = cosignature.verify(note.text, sig, key)
            if cosig is None or ts is None:
                ctx.problem(
                    None,
                    "cosignature",
                    f"{label}: the cosignature by witness {key.fingerprint} does not verify "
                    "(altered or forged)",
                )
                continue
            if ts > now + CLOCK_SLACK:
                ctx.problem(
                    None,
                    "cosignature",
                    f"{label}: witness {key.fingerprint} dates its cosignature in the future",
                )
                continue
            if key.fingerprint not in found:
                found.append(key.fingerprint)
    return found


def witness_coverage(results: Sequence[Any], n: int, min_witnesses: int, ctx: Any) -> int:
    """How many leading entries a consistent checkpoint with `min_witnesses` cosignatures
    covers; no such checkpoint is a problem, an uncovered tail a warning."""
    witnessed = [
        r.size or 0
        for r in results
        if r.consistent and (r.size or 0) <= n and len(r.cosigners) >= min_witnesses
    ]
    if not witnessed:
        ctx.problem(
            None,
            "unwitnessed",
            f"no checkpoint consistent with the journal carries {min_witnesses} valid "
            "cosignature(s) by the given witnesses",
        )
        return 0
    covered = max(witnessed)
    if covered < n:
        ctx.warn(
            None,
            "unwitnessed",
            f"entries {covered}-{n - 1} ({n - covered}) are covered by no checkpoint the "
            f"witnesses cosigned: get one with `irkit checkpoint --witness URL`",
        )
    return covered

"""Trusted timestamps (RFC 3161) over signed checkpoints: an upper bound on every entry's time
from a third party.

The message imprint is SHA-256 of the signed checkpoint note as issued (its text and the
member's signature line), so only that hash, a random nonce and certReq leave the machine.
A request is queued in the case (timestamps/queue/) before it is sent; the response is
verified (chain to a pinned root, nonce, policy, imprint, the TSA certificate's critical
timeStamping EKU) and only then recorded as a signed `checkpoint.timestamped` entry.
`irkit verify` re-checks every token and reports entries recorded after the genTime of a
timestamp that covers them (docs/FORMAT.md "Trusted timestamps").

The kind itself (body, rule, summary) and the end-of-walk token check are
irkit.audit.timestamped; this module asks TSAs and checks what they answer.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import StringConstraints

from irkit.errors import EnvironmentFailure, InputError, ProblemsFound
from irkit.formats.timefmt import format_utc, system_clock

if TYPE_CHECKING:
    from rfc3161_client import TimeStampResponse

    from irkit.formats.ed25519 import Signer
    from irkit.record.case import Case
    from irkit.record.entry import Entry

KIND = "checkpoint.timestamped"
FOLDER = "timestamps"
MAX_RESPONSE = 1 << 20  # a TimeStampResp is a few KiB; more is not an answer
MAX_ROOT = 64 * 1024
_OID_RE = r"^[0-2](\.(0|[1-9][0-9]{0,9})){1,31}$"
Oid = Annotated[str, StringConstraints(pattern=_OID_RE)]


# -- the case's setting: default TSA, required policy, pinned roots --------------------------


@dataclass(frozen=True)
class Setting:
    url: str | None = None
    policy: str | None = None


def _folder(case: Case) -> Path:
    return case.root / FOLDER


def setting(case: Case) -> Setting:
    from irkit.record.safefile import read_bytes

    path = _folder(case) / "settings.json"
    try:
        data = json.loads(read_bytes(path))
    except FileNotFoundError:
        return Setting()
    except (OSError, ValueError) as exc:
        raise InputError(f"{FOLDER}/settings.json is unreadable ({exc})") from exc
    if not isinstance(data, dict):
        raise InputError(f"{FOLDER}/settings.json is not a JSON object")
    url, policy = data.get("url"), data.get("policy")
    if not isinstance(url, str | None) or not isinstance(policy, str | None):
        raise InputError(f"{FOLDER}/settings.json: url and policy are strings")
    return Setting(url, policy)


def save_setting(case: Case, new: Setting) -> None:
    from irkit.record.safefile import atomic_write

    _folder(case).mkdir(exist_ok=True)
    body = {k: v for k, v in (("url", new.url), ("policy", new.policy)) if v is not None}
    atomic_write(_folder(case) / "settings.json", json.dumps(body, indent=2).encode() + b"\n")


def check_url(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"TSA {url!r} is not an http(s) URL")
    return url


def check_policy(policy: str) -> str:
    if not re.fullmatch(_OID_RE, policy):
        raise InputError(f"TSA policy {policy!r} is not an OID (dotted numbers)")
    return policy


def load_root(data: bytes, what: str) -> Any:
    """One X.509 certificate, PEM or DER (a cryptography Certificate)."""
    from cryptography import x509

    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise InputError(f"{what} is not an X.509 certificate (PEM or DER)") from exc


def read_root(path: Path) -> Any:
    from irkit.record.safefile import read_input

    return load_root(read_input(path, what="TSA root", limit=MAX_ROOT), str(path))


def pin_root(case: Case, cert: Any) -> str:
    """Keep a root under timestamps/roots/<sha256 of its DER>.pem (create-only)."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from irkit.record.safefile import atomic_write

    der = cert.public_bytes(Encoding.DER)
    name = hashlib.sha256(der).hexdigest()
    folder = _folder(case) / "roots"
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):  # the name is the content's hash: same root
        atomic_write(folder / f"{name}.pem", cert.public_bytes(Encoding.PEM), replace=False)
    return name


def pinned_roots(case_root: Path) -> list[Any]:
    """The roots kept in the case, those whose content matches their name."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from irkit.record.safefile import read_bytes

    folder = case_root / FOLDER / "roots"
    found: list[Any] = []
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.pem")):
        try:
            cert = load_root(read_bytes(path), str(path))
        except (OSError, InputError):
            continue
        if hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest() == path.stem:
            found.append(cert)
    return found


# -- checking a response ----------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    gen_time: datetime
    tsa: str
    policy: str
    nonce: int
    slack: timedelta  # the token's accuracy, plus a second when genTime has no fraction


def check_response(
    data: bytes, note: bytes, nonce: int, roots: Sequence[Any], policy: str | None
) -> Token:
    """Verify a TimeStampResp over `note`; a VerificationError-worded InputError otherwise."""
    from rfc3161_client import VerificationError, VerifierBuilder, decode_timestamp_response
    from rfc3161_client.tsp import PKIStatus

    if not roots:
        raise InputError("no TSA root pinned: give --tsa-root PEM (the TSA's root certificate)")
    try:
        response = decode_timestamp_response(data)
    except (ValueError, TypeError) as exc:
        raise ProblemsFound(f"not an RFC 3161 TimeStampResp ({exc})") from exc
    if response.status not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        why = "; ".join(response.status_string)[:200]
        raise ProblemsFound(
            f"the TSA refused (status {response.status}{': ' + why if why else ''})"
        )
    errors: list[str] = []
    for root in roots:
        from cryptography import x509

        builder = VerifierBuilder().add_root_certificate(root).nonce(nonce)
        if policy is not None:
            builder = builder.policy_id(x509.ObjectIdentifier(policy))
        try:
            builder.build().verify(response, hashlib.sha256(note).digest())
        except (VerificationError, ValueError) as exc:
            errors.append(str(exc))
            continue
        return _token(response)
    raise ProblemsFound(f"the timestamp does not verify ({'; '.join(sorted(set(errors)))})")


def _token(response: TimeStampResponse) -> Token:
    from rfc3161_client import VerificationError

    info = response.tst_info
    if info.message_imprint.hash_algorithm.dotted_string != "2.16.840.1.101.3.4.2.1":
        raise VerificationError("message imprint is not SHA-256")
    moment = info.gen_time
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    slack = timedelta(seconds=0 if moment.microsecond else 1)
    try:
        acc = info.accuracy
        slack += timedelta(
            seconds=acc.seconds or 0, milliseconds=acc.millis or 0, microseconds=acc.micros or 0
        )
    except (ValueError, AttributeError, TypeError):
        pass  # no accuracy given
    try:
        name = info.name.value.rfc4514_string()
    except (ValueError, AttributeError, TypeError):
        name = ""
    return Token(moment, name, info.policy.dotted_string, info.nonce, slack)


# -- requesting, queueing, recording ----------------------------------------------------------


@dataclass(frozen=True)
class Queued:
    path: Path
    note: bytes
    request: bytes
    nonce: int
    url: str | None
    queued: str

    @property
    def size(self) -> int:
        return _checkpoint_of(self.note)[0]


def _checkpoint_of(note: bytes) -> tuple[int, bytes]:
    from irkit.formats.signednote import parse_checkpoint, parse_note

    cp = parse_checkpoint(parse_note(note).text)
    return cp.size, cp.root


def queue(case: Case, note: bytes, url: str | None) -> Queued:
    """Build the request (SHA-256 of the note, a random nonce, certReq) and keep it under
    timestamps/queue/ before anything is sent."""
    from rfc3161_client import HashAlgorithm, TimestampRequestBuilder

    from irkit.record.safefile import atomic_write

    request = (
        TimestampRequestBuilder()
        .data(note)
        .hash_algorithm(HashAlgorithm.SHA256)
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    nonce = request.nonce
    if nonce is None:  # the builder always sets one; never send a request without
        raise InputError("could not draw a nonce for the timestamp request")
    der = request.as_bytes()
    size, _ = _checkpoint_of(note)
    folder = _folder(case) / "queue"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{size:08d}-{hashlib.sha256(note).hexdigest()[:16]}.json"
    queued = format_utc(system_clock())
    record = {
        "checkpoint": note.decode("utf-8"),
        "request": base64.b64encode(der).decode("ascii"),
        "nonce": str(nonce),
        "url": url,
        "queued": queued,
    }
    atomic_write(path, json.dumps(record, indent=2).encode() + b"\n")
    return Queued(path, note, der, nonce, url, queued)


def queued(case: Case) -> list[Queued]:
    """The requests waiting in timestamps/queue/, oldest checkpoint first."""
    from irkit.record.safefile import is_temp_name, read_bytes

    folder = _folder(case) / "queue"
    out: list[Queued] = []
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.json")):
        if is_temp_name(path.name):
            continue
        try:
            data = json.loads(read_bytes(path))
            item = Queued(
                path,
                data["checkpoint"].encode("utf-8"),
                base64.b64decode(data["request"], validate=True),
                int(data["nonce"]),
                data.get("url"),
                str(data.get("queued", "")),
            )
            _checkpoint_of(item.note)
        except (OSError, ValueError, KeyError, TypeError, AttributeError, InputError) as exc:
            raise InputError(f"{FOLDER}/queue/{path.name} is unreadable ({exc})") from exc
        out.append(item)
    return out


def _post(url: str, request: bytes, timeout: float) -> bytes:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(  # noqa: S310 (check_url: http and https only)
        check_url(url),
        data=request,
        method="POST",
        headers={"Content-Type": "application/timestamp-query"},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:  # noqa: S310
            data: bytes = answer.read(MAX_RESPONSE + 1)
    except urllib.error.HTTPError as exc:
        with exc:
            raise InputError(f"TSA {url} answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise EnvironmentFailure(f"TSA {url}: cannot reach it ({reason})") from exc
    if len(data) > MAX_RESPONSE:
        raise InputError(f"TSA {url}: the answer is larger than {MAX_RESPONSE} bytes")
    return data


@dataclass(frozen=True)
class Recorded:
    seq: int
    size: int
    gen_time: str
    tsa: str


def send(
    case: Case,
    item: Queued,
    signer: Signer,
    *,
    url: str | None,
    roots: Sequence[Any],
    policy: str | None,
    timeout: float = 15.0,
) -> Recorded:
    """Send one queued request, verify the answer, then record it and drop it from the queue.

    Nothing is signed unless the token verified; a refused or unreachable TSA leaves the
    request queued. A request whose token was recorded already (a crash before the queue
    file went) is only dropped."""
    done = _already_recorded(case, item)
    if done is not None:
        item.path.unlink(missing_ok=True)
        return done
    target = url or item.url
    if target is None:
        raise InputError(
            f"no TSA for {item.path.name}: pass --tsa URL or set the case's default TSA"
        )
    case.check_signer(signer, KIND)
    _check_checkpoint(case, item.note)
    data = _post(target, item.request, timeout)
    try:
        token = check_response(data, item.note, item.nonce, roots, policy)
    except ProblemsFound as exc:
        raise ProblemsFound(
            f"TSA {target}: {exc.message}; nothing was recorded, the request stays queued "
            f"({FOLDER}/queue/{item.path.name})"
        ) from exc
    size, root = _checkpoint_of(item.note)
    gen_time = format_utc(token.gen_time)
    from irkit.record.kinds import body_of

    body = body_of(
        KIND,
        checkpoint=item.note.decode("utf-8"),
        size=size,
        root=root.hex(),
        response=base64.b64encode(data).decode("ascii"),
        gen_time=gen_time,
        tsa=token.tsa,
        policy=token.policy,
        nonce=str(token.nonce),
    )
    entry = case.append(signer, KIND, body)
    with contextlib.suppress(OSError):  # if not: sent again, recognised as recorded, dropped
        item.path.unlink()
    return Recorded(entry.seq, size, gen_time, token.tsa)


def _check_checkpoint(case: Case, note: bytes) -> None:
    """A queued checkpoint is the case's: a member signed it and it is consistent with the
    journal (the queue is a plain folder: never timestamp what it was made to hold)."""
    from irkit.formats import merkle
    from irkit.formats.ed25519 import PublicKey
    from irkit.formats.signednote import parse_checkpoint, parse_note, verify_note
    from irkit.record import journal
    from irkit.record.roster import origin_for

    parsed = parse_note(note)
    cp = parse_checkpoint(parsed.text)
    roster = case.roster()
    keys = {fp: PublicKey(base64.b64decode(m.public_key)) for fp, m in roster.members.items()}
    lines = journal.read(case.journal_path).lines
    if (
        not verify_note(parsed, keys)
        or cp.origin != origin_for(roster)
        or cp.size > len(lines)
        or merkle.root([merkle.leaf_hash(x) for x in lines[: cp.size]]) != cp.root
    ):
        raise InputError(
            f"the queued checkpoint of {cp.size} entries is not this case's (signature, "
            "origin or root): refused, nothing sent"
        )


def _already_recorded(case: Case, item: Queued) -> Recorded | None:
    for entry in recorded_entries(case):
        b = entry.body
        if b.get("checkpoint") == item.note.decode("utf-8") and b.get("nonce") == str(item.nonce):
            return Recorded(entry.seq, int(b["size"]), str(b["gen_time"]), str(b["tsa"]))
    return None


def recorded_entries(case: Case) -> list[Entry]:
    return [e for e in case.read_entries().entries if e.kind == KIND]

#!/usr/bin/env python3
"""An independent verifier of irkit cases and exhibits, written from docs/FORMAT.md alone.

Standard library plus `cryptography` (for Ed25519); it imports nothing of irkit. It exists to
show that the format can be checked without trusting irkit's code: the project's tests run
it against the same cases and mutants as `irkit verify` / `irkit exhibit verify` and require
the same verdict.

    python irkit_verify.py case CASE [--trust FP] [--checkpoint FILE]... [--no-content]
    python irkit_verify.py exhibit FILE [--trust FP]

Exit 0: verified; 1: problems found (each printed); 2: input unreadable.
Section numbers below refer to docs/FORMAT.md.

It judges the verdict only (the problems it prints are its own wording, not irkit's codes)
and leaves out what irkit reports as warnings. Not implemented here: witness cosignatures
(`irkit verify --witness`), team-case publication checkpoints and remotes, RFC 3161 tokens
(the CMS signature, genTime against the entries' times: `checkpoint.timestamped` entries are
checked for their checkpoint only), lint waivers' rule names (a warning), the clocks'
deadlines (only "breached at this instant" is needed), and entry kinds added to the
document after this file: such a kind is reported as unknown, as section 3 says.

Longer than ~500 lines: it is one file on purpose (a reader copies it and runs it, with
nothing else of irkit), and the format's rules are many: every kind's body grammar, the
membership and custody folds, the incident lifecycle with its SLA presets and business
clocks, Merkle proofs, checkpoints and exhibits.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

GENESIS = "sha256:" + "0" * 64
MAX_INT = 2**53 - 1


class Unreadable(Exception):
    """Exit 2: the input is not something this verifier can judge."""


# -- JSON and RFC 8785 (section 3) --------------------------------------------------------


def _no_dupes(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


class _Float(float):
    pass


def strict_json(text: str) -> Any:
    def bad_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(
        text, object_pairs_hook=_no_dupes, parse_constant=bad_constant, parse_float=_Float
    )


def canonical_strings(value: Any) -> None:
    """Refuse a lone surrogate (`\\ud800`) anywhere: no UTF-8 text can hold one."""
    if isinstance(value, str):
        value.encode("utf-8")
    elif isinstance(value, dict):
        for key, inner in value.items():
            key.encode("utf-8")
            canonical_strings(inner)
    elif isinstance(value, list):
        for inner in value:
            canonical_strings(inner)


_ESC = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _jstr(s: str) -> str:
    out = []
    for ch in s:
        if ch in _ESC:
            out.append(_ESC[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def canonical(value: Any) -> str:
    """RFC 8785 for the values entries may hold (no floats: a float is refused)."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, _Float):
        raise ValueError("entries hold no floating-point numbers")
    if isinstance(value, int):
        if abs(value) > MAX_INT:
            raise ValueError("integer beyond 2^53-1")
        return str(value)
    if isinstance(value, str):
        return _jstr(value)
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(_jstr(k) + ":" + canonical(value[k]) for k in keys) + "}"
    raise ValueError(f"unexpected value {value!r}")


# -- Ed25519 keys (section 2) --------------------------------------------------------------

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_I = pow(2, (_P - 1) // 4, _P)


def key_problem(raw: bytes) -> str | None:
    """None for a canonical encoding of a point of large order (section 2)."""
    if len(raw) != 32:
        return "a public key is 32 bytes"
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
    sign = raw[31] >> 7
    if y >= _P:
        return "non-canonical key encoding (y >= p)"
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _I % _P
    if (x * x - x2) % _P:
        return "not a curve point"
    if x == 0 and sign:
        return "non-canonical key encoding (x = 0 with the sign bit)"
    if x & 1 != sign:
        x = _P - x
    point = (x, y, 1, x * y % _P)
    for _ in range(3):
        point = _double(point)
    if point[0] % _P == 0 and (point[1] - point[2]) % _P == 0:
        return "small-order key"
    return None


def _double(pt: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    x1, y1, z1, _ = pt
    a, b, c = x1 * x1 % _P, y1 * y1 % _P, 2 * z1 * z1 % _P
    h = a + b
    e = h - (x1 + y1) ** 2
    g = a - b
    f = c + g
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def ed25519_ok(raw: bytes, sig: bytes, message: bytes) -> bool:
    if len(sig) != 64 or int.from_bytes(sig[32:], "little") >= _L or key_problem(raw):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(sig, message)
    except InvalidSignature:
        return False
    return True


def fingerprint(raw: bytes) -> str:
    return "ed25519:" + hashlib.sha256(raw).hexdigest()


def canonical_b64(text: Any, size: int) -> bytes | None:
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9+/=]*", text):
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        return None
    return raw if len(raw) == size and base64.b64encode(raw).decode() == text else None


# -- Merkle trees and signed notes (section 6) ---------------------------------------------


def leaf(line: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + line).digest()


def mroot(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + mroot(leaves[:k]) + mroot(leaves[k:])).digest()


def inclusion_ok(index: int, size: int, leaf_hash: bytes, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def parse_note(data: bytes) -> tuple[bytes, list[tuple[str, bytes, bytes]]]:
    """(signed text, [(name, key id, signature)]); Unreadable if malformed."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable("signed note is not UTF-8") from exc
    cut = text.rfind("\n\n")
    if cut < 0 or not text.endswith("\n"):
        raise Unreadable("not a signed note")
    if any((ord(c) < 0x20 and c != "\n") or c == "\x7f" for c in text):
        raise Unreadable("signed note contains control characters")
    sigs = []
    for line in text[cut + 2 :].split("\n")[:-1]:
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "\u2014" or not re.fullmatch(r"[^\s+]+", parts[1]):
            raise Unreadable(f"malformed signature line {line[:60]!r}")
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except ValueError as exc:
            raise Unreadable("signature line is not base64") from exc
        if len(blob) < 5:
            raise Unreadable("signature line too short")
        sigs.append((parts[1], blob[:4], blob[4:]))
    if not sigs:
        raise Unreadable("signed note carries no signature")
    return text[: cut + 1].encode("utf-8"), sigs


def parse_checkpoint(text: bytes) -> tuple[str, int, bytes, list[str]]:
    lines = text.decode("utf-8").split("\n")
    if len(lines) < 4 or lines[-1] != "" or not lines[0]:
        raise Unreadable("checkpoint body needs origin, size and root")
    if not re.fullmatch(r"0|[1-9][0-9]{0,18}", lines[1]):
        raise Unreadable("malformed checkpoint size")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except ValueError as exc:
        raise Unreadable("checkpoint root is not base64") from exc
    if len(root) != 32:
        raise Unreadable("checkpoint root is not 32 bytes")
    return lines[0], int(lines[1]), root, lines[3:-1]


def note_signers(
    text: bytes, sigs: list[tuple[str, bytes, bytes]], keys: dict[str, bytes]
) -> list[str]:
    good = []
    for name, kid, sig in sigs:
        raw = keys.get(name)
        if raw is None:
            continue  # unknown signature lines are passed over (section 6)
        expect = hashlib.sha256(name.encode() + b"\n\x01" + raw).digest()[:4]
        if kid == expect and ed25519_ok(raw, sig, text):
            good.append(name)
    return good


# -- body grammars (sections 5 onward) -----------------------------------------------------

Check = Callable[[Any], bool]
OPT, NULL = 1, 2  # may be absent; may be null


def rx(pattern: str) -> Check:
    compiled = re.compile(pattern, re.ASCII)
    return lambda v: isinstance(v, str) and compiled.fullmatch(v) is not None


def text(lo: int = 1, hi: int | None = None) -> Check:
    return lambda v: isinstance(v, str) and lo <= len(v) and (hi is None or len(v) <= hi)


def integer(lo: int = 0, hi: int = MAX_INT) -> Check:
    return lambda v: type(v) is int and lo <= v <= hi


def boolean(v: Any) -> bool:
    return type(v) is bool


def one_of(*values: str) -> Check:
    return lambda v: isinstance(v, str) and v in values


def list_of(item: Check, min_len: int = 0) -> Check:
    return lambda v: isinstance(v, list) and len(v) >= min_len and all(item(x) for x in v)


def dict_of(key: Check, value: Check) -> Check:
    return lambda v: isinstance(v, dict) and all(key(k) and value(x) for k, x in v.items())


def either(*checks: Check) -> Check:
    return lambda v: any(c(v) for c in checks)


def obj(**fields: Any) -> Check:
    """An object with exactly these members: name=check or name=(check, OPT|NULL flags)."""
    spec = {name: f if isinstance(f, tuple) else (f, 0) for name, f in fields.items()}

    def check(v: Any) -> bool:
        if not isinstance(v, dict) or set(v) - set(spec):
            return False
        for name, (inner, flags) in spec.items():
            if name not in v:
                if not flags & OPT:
                    return False
            elif v[name] is None:
                if not flags & NULL:
                    return False
            elif not inner(v[name]):
                return False
        return True

    return check


FP = rx(r"ed25519:[0-9a-f]{64}")
HEX64 = rx(r"[0-9a-f]{64}")
LABEL = text(1, 200)
TEXT = text(1, 4000)
SAFE = integer()
ZONED = rx(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})"
)
UTCSTAMP = rx(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
SALT = rx(r"[A-Za-z0-9_-]{22}")
ITEM = rx(r"E-[0-9]{4,9}")
TRANSFER = rx(r"T-[0-9]{4,9}")
LINK = rx(r"[A-Z]{1,8}-[0-9]{1,12}")
OP, ON = OPT, OPT | NULL

MEMBER = obj(
    fingerprint=FP,
    public_key=text(44, 44),
    name=LABEL,
    role=rx(r"[a-z][a-z0-9-]{0,31}"),
    contact=(LABEL, ON),
)
MAC = rx(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")


def ip_text(v: Any) -> bool:
    """An IP address in the one text form `ipaddress` writes it (section "Evidence")."""
    import ipaddress

    if not isinstance(v, str) or len(v) > 45:
        return False
    try:
        ip = ipaddress.ip_address(v)
    except ValueError:
        return False
    mapped = isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None
    return not mapped and str(ip) == v


NOTE = dict(
    text=text(1),
    event_time=(ZONED, ON),
    tags=(list_of(LABEL), OP),
    attachments=(list_of(obj(name=text(1, 255), sha256=HEX64, size=SAFE)), OP),
    confidential=(boolean, OP),
    salt=(SALT, ON),
    links=(list_of(LINK), OP),
    starred=(boolean, OP),
    template=(rx(r"[a-z0-9][a-z0-9_-]{0,63}"), ON),
    fields=(list_of(obj(name=rx(r"[a-z0-9][a-z0-9_-]{0,63}"), label=LABEL, value=text(0))), OP),
)
CHECKS = list_of(obj(item=ITEM, ok=boolean, note=(text(0), ON)))
ITEMS = list_of(ITEM, 1)
MARK = dict(confidential=(boolean, OP), salt=(SALT, ON))
STATE = one_of("new", "assigned", "in_progress", "pending", "resolved", "closed")
VALUE = either(TEXT, integer(-MAX_INT), list_of(LABEL))
SECONDS = integer(0, 10 * 366 * 86400)
NAME = rx(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
HOURS = rx(r"([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)")
CALENDAR = obj(
    zone=(text(1, 64), OP),
    always=(boolean, OP),
    hours=(dict_of(one_of("mon", "tue", "wed", "thu", "fri", "sat", "sun"), list_of(HOURS)), OP),
    holidays=(list_of(rx(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")), OP),
)
SETTINGS_SHAPE = obj(
    preset=(LABEL, OP),
    matrix=list_of(list_of(integer(1, 9), 1), 1),
    priorities=dict_of(
        text(0),
        obj(name=LABEL, respond=SECONDS, resolve=SECONDS, update=SECONDS, calendar=(NAME, OP)),
    ),
    tiers=(dict_of(text(0), obj(acknowledge=SECONDS, resolve=SECONDS, calendar=(NAME, OP))), OP),
    calendars=dict_of(text(0), CALENDAR),
    pause_reasons=(list_of(one_of("customer", "vendor", "change", "problem")), OP),
    warn_permille=(integer(1, 1000), OP),
    auto_close_days=(integer(1, 365), OP),
)


def settings_ok(s: Any) -> bool:
    """The settings member (section "Incident lifecycle"): shape, then consistency."""
    if not SETTINGS_SHAPE(s):
        return False
    matrix = s["matrix"]
    if any(len(row) != len(matrix[0]) for row in matrix):
        return False
    if any(str(p) not in s["priorities"] for row in matrix for p in row):
        return False
    targets = [*s["priorities"].values(), *s.get("tiers", {}).values()]
    if any(t.get("calendar", "business") not in s["calendars"] for t in targets):
        return False
    for cal in s["calendars"].values():
        try:
            from zoneinfo import ZoneInfo

            ZoneInfo(cal.get("zone", "UTC"))
            for day in cal.get("holidays", []):
                datetime.strptime(day, "%Y-%m-%d")
        except (ValueError, KeyError, OSError):
            return False
        spans = [x for v in cal.get("hours", {}).values() for x in v]
        if any(x.split("-")[1] <= x.split("-")[0] for x in spans):
            return False
        if not cal.get("always", False) and not spans:
            return False
    return True


BODIES: dict[str, Check] = {
    "case.opened": obj(case_id=rx(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"), title=LABEL, opener=MEMBER),
    "member.added": obj(member=MEMBER),
    "member.removed": obj(fingerprint=FP, reason=LABEL),
    "note.added": obj(**NOTE),
    "note.corrected": obj(**NOTE, corrects=SAFE, reason=LABEL),
    "note.witnessed": obj(note=SAFE, statement=text(1, 2000)),
    "evidence.collected": obj(
        host=LABEL,
        source_host=(LABEL, ON),
        source_serial=(LABEL, ON),
        source_model=(LABEL, ON),
        source_mac=(list_of(MAC), OP),
        source_ip=(list_of(ip_text), OP),
        location=(text(0), ON),
        description=(text(0), ON),
        items=list_of(
            obj(
                id=ITEM,
                path=text(0),
                path_b64=(text(0), ON),
                sha256=HEX64,
                md5=(rx(r"[0-9a-f]{32}"), ON),
                size=SAFE,
                mode=SAFE,
                uid=SAFE,
                gid=SAFE,
                mtime=UTCSTAMP,
                ctime=UTCSTAMP,
                atime=UTCSTAMP,
                stored=boolean,
            ),
            1,
        ),
        skipped=(
            list_of(
                obj(
                    path=text(0),
                    path_b64=(text(0), ON),
                    what=rx(r"[a-z][a-z -]{0,39}"),
                    target=(text(0), ON),
                )
            ),
            OP,
        ),
        confidential=(boolean, OP),
        salt=(SALT, ON),
    ),
    "custody.released": obj(
        transfer=TRANSFER,
        items=ITEMS,
        to=FP,
        purpose=LABEL,
        location=(text(0), ON),
        method=(text(0), ON),
    ),
    "custody.accepted": obj(transfer=TRANSFER, condition=(text(0), ON), checks=CHECKS),
    "custody.checked": obj(items=ITEMS, checks=CHECKS),
    "custody.stored": obj(items=ITEMS, location=LABEL),
    "custody.returned": obj(items=ITEMS, reason=LABEL, witness=(FP, ON), witness_sig=(text(0), ON)),
    "custody.disposed": obj(items=ITEMS, reason=LABEL, witness=(FP, ON), witness_sig=(text(0), ON)),
    "report.exported": obj(
        pdf_sha256=HEX64,
        template=LABEL,
        redacted=boolean,
        checkpoint_size=SAFE,
        checkpoint_root=HEX64,
    ),
    "backup.verified": obj(
        artifact=LABEL,
        artifact_kind=one_of(
            "directory",
            "tar",
            "zip",
            "sqlite",
            "pg-custom",
            "pg-plain",
            "command",
            "unknown",
            "restic",
            "borg",
        ),
        artifact_sha256=HEX64,
        manifest_sha256=HEX64,
        spec_sha256=(HEX64, NULL),
        verdict=one_of("PASS", "FAIL"),
        **{
            k: SAFE
            for k in (
                "matched",
                "changed",
                "missing",
                "extra",
                "moved",
                "refused",
                "checks_failed",
                "restored_files",
                "restored_bytes",
                "restore_ms",
            )
        },
        result_sha256=HEX64,
        signed_off=boolean,
        tool=(LABEL, ON),
        snapshot=(LABEL, ON),
        manifest_entry=(SAFE, ON),
    ),
    "backup.manifest": obj(
        manifest=LABEL,
        manifest_sha256=HEX64,
        format=one_of("irkit", "postgresql"),
        files=SAFE,
        bytes=SAFE,
        databases=SAFE,
        source=(LABEL, NULL),
    ),
    "incident.configured": obj(settings=settings_ok, reason=LABEL),
    "incident.state": obj(
        **MARK,
        old=STATE,
        new=STATE,
        reason=TEXT,
        waiting_for=(one_of("customer", "vendor", "change", "problem"), ON),
        resolution=(
            obj(
                code=rx(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"),
                solution=TEXT,
                outcome=one_of(
                    "true-positive",
                    "false-positive",
                    "benign",
                    "duplicate",
                    "not-an-incident",
                    "other",
                ),
                impact=(TEXT, ON),
            ),
            ON,
        ),
        closure=(
            obj(how=one_of("confirmed", "auto"), confirmation=(SAFE, ON), after_days=(SAFE, ON)),
            ON,
        ),
    ),
    "incident.field": obj(
        **MARK,
        field=one_of(
            "impact",
            "urgency",
            "severity",
            "category",
            "assets",
            "assignee",
            "owner",
            "phase",
            "root-cause",
            "lessons-learned",
        ),
        old=(VALUE, NULL),
        new=(VALUE, NULL),
        reason=TEXT,
        priority=(SAFE, ON),
        assignee=(FP, ON),
        external=(boolean, OP),
    ),
    "incident.linked": obj(
        **MARK,
        link=one_of("related", "problem", "change", "known-error"),
        ref=LABEL,
        action=(one_of("add", "remove"), OP),
        change_type=(one_of("standard", "normal", "emergency"), ON),
        workaround=(TEXT, ON),
        reason=TEXT,
    ),
    "incident.escalated": obj(
        **MARK,
        kind=one_of("functional", "hierarchical"),
        tier=(integer(1, 9), ON),
        team=(LABEL, ON),
        trigger=(one_of("manual", "breach"), OP),
        clock=(LABEL, ON),
        reason=TEXT,
        member=(FP, ON),
    ),
    "incident.acknowledged": obj(escalation=SAFE, note=(TEXT, ON), self_ack=(TEXT, ON)),
    "incident.consent": obj(
        **MARK,
        action=one_of("granted", "withdrawn"),
        by=LABEL,
        scope=TEXT,
        method=LABEL,
        given_at=(ZONED, ON),
        grant=(SAFE, ON),
        reason=(TEXT, ON),
    ),
    "incident.informed": obj(**MARK, channel=LABEL, summary=TEXT),
    "incident.confirmed": obj(
        **MARK, by=LABEL, channel=LABEL, satisfaction=(integer(1, 5), ON), comment=(TEXT, ON)
    ),
    "incident.followup": obj(
        **MARK, action=one_of("scheduled", "done"), due=(ZONED, ON), schedule=(SAFE, ON), note=TEXT
    ),
}
BODIES["evidence.relocated"] = obj(
    item=ITEM,
    path=text(0),
    path_b64=(text(0), ON),
    sha256=HEX64,
    size=SAFE,
    host=LABEL,
    reason=(text(0), ON),
)
# checkpoint.timestamped (FORMAT.md "Trusted timestamps"): the grammar only; the token is
# CMS, checked with `openssl ts -verify` (the recipe there), not by this verifier
BODIES["checkpoint.timestamped"] = obj(
    checkpoint=text(1, 8192),
    size=integer(1),
    root=HEX64,
    response=text(4, 4 * (1 << 20) // 3),
    gen_time=UTCSTAMP,
    tsa=text(0, 1024),
    policy=rx(r"[0-2](\.(0|[1-9][0-9]{0,9})){1,31}"),
    nonce=rx(r"0|[1-9][0-9]{0,77}"),
)
# lint.waived (FORMAT.md "Lint waivers"): an unknown rule id is a warning there, not a problem
BODIES["lint.waived"] = obj(rule=rx(r"[a-z][a-z0-9-]{0,39}"), reason=LABEL)
BODIES["lint.waived"] = obj(rule=rx(r"[a-z][a-z0-9-]{0,39}"), reason=LABEL)
BODIES["checkpoint.timestamped"] = obj(
    checkpoint=text(1, 8192),
    size=integer(1),
    root=HEX64,
    response=text(4, 4 * (1 << 20) // 3),
    gen_time=text(27, 27),
    tsa=text(0, 1024),
    policy=rx(r"[0-2](\.(0|[1-9][0-9]{0,9})){1,31}"),
    nonce=rx(r"0|[1-9][0-9]{0,77}"),
)
ADMIN_KINDS = {"member.added", "member.removed", "incident.configured"}


# -- the walk (sections 3, 4, 8 and each kind's section) -----------------------------------


class Walk:
    """Membership and every kind's rules, folded entry by entry in seq order."""

    def __init__(self, exhibit: bool = False) -> None:
        self.exhibit = exhibit  # judging only the entries an exhibit carries
        self.problems: list[str] = []
        self.members: dict[str, dict[str, Any]] = {}  # fp -> key, role, active
        self.opener: str | None = None
        self.case_id: str | None = None
        self.seen: dict[int, dict[str, Any]] = {}
        self.lines: dict[int, bytes] = {}
        self.digests: dict[str, int] = {}  # store files to re-hash -> first seq
        self.items: list[tuple[int, dict[str, Any]]] = []
        self.custody: dict[str, dict[str, Any]] = {}
        self.transfers: dict[str, list[Any]] = {}
        self.incident = Incident()
        self.moved: dict[str, list[dict[str, Any]]] = {}  # item -> relocations, oldest first

    def problem(self, seq: int | None, message: str) -> None:
        self.problems.append(f"entry {seq}: {message}" if seq is not None else message)

    def line(self, index: int, line: bytes, prev: str | None) -> dict[str, Any] | None:
        """Check one journal line; returns the entry when it is sound enough to fold."""
        try:
            e = strict_json(line.decode("utf-8"))
            again = canonical(e).encode("utf-8")
        except (UnicodeError, ValueError) as exc:
            self.problem(index, f"malformed line: {exc}")
            return None
        if not isinstance(e, dict) or set(e) != {
            "actor",
            "body",
            "format",
            "kind",
            "prev",
            "recorded",
            "seq",
            "sig",
        }:
            self.problem(index, "not an entry (members)")
            return None
        if again != line:
            self.problem(index, "not in canonical form")
        types = [
            (e["seq"], int),
            (e["kind"], str),
            (e["actor"], str),
            (e["prev"], str),
            (e["recorded"], str),
            (e["body"], dict),
            (e["sig"], str),
        ]
        if any(type(v) is not t for v, t in types):
            self.problem(index, "members have the wrong types")
            return None
        if type(e["format"]) is not int or e["format"] != 1:
            self.problem(index, "format is not 1")
        if e["seq"] != index:
            self.problem(index, "seq is not the entry's position")
        if prev is not None and e["prev"] != prev:
            self.problem(index, "prev does not chain to the entry before")
        if not UTCSTAMP(e["recorded"]):
            self.problem(index, "recorded is not a UTCSTAMP time with microseconds")
        if not FP(e["actor"]):
            self.problem(index, "actor is not a fingerprint")
            return None
        sig = canonical_b64(e["sig"], 64)
        if sig is None:
            self.problem(index, "sig is not canonical base64 of 64 bytes")
        check = BODIES.get(e["kind"])
        if check is None:
            self.problem(index, f"unknown kind {e['kind']!r}")  # section 8: a closed set
            return None
        if not check(e["body"]):
            self.problem(index, f"body does not match the {e['kind']} grammar")
            return None
        signed = line[: line.rfind(b',"sig":')] + b"}"
        return dict(e, _signed=signed, _sigbytes=sig, _line=line)

    def fold(self, e: dict[str, Any]) -> bool:
        """Signature, membership (section 4), then the kind's rules. False: not admitted."""
        seq, kind, actor, body = e["seq"], e["kind"], e["actor"], e["body"]
        if kind == "case.opened":
            key = self._member_key(seq, body["opener"])
            if seq != 0:
                self.problem(seq, "case.opened after entry 0")
                return False
            if body["opener"]["fingerprint"] != actor:
                self.problem(seq, "case.opened not signed by its opener")
            if key is None:
                return False
        elif seq == 0:
            self.problem(seq, "entry 0 is not case.opened")
            return False
        else:
            key = None
            m = self.members.get(actor)
            if m is None or not m["active"]:
                self.problem(seq, "signer is not a member at this point")
                return False
            if kind in ADMIN_KINDS and m["role"] != "lead":
                self.problem(seq, f"{kind} needs a lead")
                return False
        raw = key if kind == "case.opened" else self.members[actor]["key"]
        if e["_sigbytes"] is None or not ed25519_ok(raw, e["_sigbytes"], e["_signed"]):
            self.problem(seq, "signature does not verify")
            return False
        self.seen[seq] = e
        self.lines[seq] = e["_line"]
        if kind == "case.opened":
            self.opener, self.case_id = actor, body["case_id"]
            self.members[actor] = {"key": raw, "role": "lead", "active": True}
        elif kind == "member.added":
            info = body["member"]
            key = self._member_key(seq, info)
            old = self.members.get(info["fingerprint"])
            if old is not None and old["active"]:
                self.problem(seq, "member.added for a current member")
            elif key is not None:  # a removed key may be added again: a new membership
                self.members[info["fingerprint"]] = {
                    "key": key,
                    "role": info["role"],
                    "active": True,
                }
        elif kind == "member.removed":
            m = self.members.get(body["fingerprint"])
            if m is None or not m["active"]:
                self.problem(seq, "member.removed for a key that is not a member")
            elif body["fingerprint"] == self.opener:
                self.problem(seq, "the opener cannot be removed")
            else:
                m["active"] = False
        self.rules(e)
        return True

    def _member_key(self, seq: int, info: dict[str, Any]) -> bytes | None:
        raw = canonical_b64(info["public_key"], 32)
        why = "public key is not canonical base64 of 32 bytes" if raw is None else None
        if raw is not None and fingerprint(raw) != info["fingerprint"]:
            why = "public key does not hash to its fingerprint"
        if raw is not None and why is None:
            why = key_problem(raw)
        if why:
            self.problem(seq, why)
            return None
        return raw

    # each kind's own rules -----------------------------------------------------------

    def rules(self, e: dict[str, Any]) -> None:
        seq, kind, body = e["seq"], e["kind"], e["body"]
        # rules an exhibit applies too: they need nothing but the entry and the roster
        if kind in ("note.added", "note.corrected"):
            for name in ("tags", "links"):
                if name in body and body[name] != sorted(set(body[name])):
                    self.problem(seq, f"{name} are not sorted and unique")
        if kind == "custody.released" and not self._active(body["to"]):
            self.problem(seq, "custody released to someone who is not a member")
        if self.exhibit:
            return  # the rest needs the whole journal
        if kind in ("note.added", "note.corrected"):
            for a in body.get("attachments", []):
                self.digests.setdefault(a["sha256"], seq)
            if kind == "note.corrected":
                target = self.seen.get(body["corrects"])
                if target is None or target["kind"] not in ("note.added", "note.corrected"):
                    self.problem(seq, "correction points at no earlier note")
        elif kind == "note.witnessed":
            target = self.seen.get(body["note"])
            if target is None or target["kind"] not in ("note.added", "note.corrected"):
                self.problem(seq, "witness points at no earlier note")
            elif target["actor"] == e["actor"]:
                self.problem(seq, "a note's author cannot witness it")
        elif kind == "checkpoint.timestamped":
            self.timestamp_rule(e)
        elif kind == "evidence.relocated":
            item = next((i for _, i in self.items if i["id"] == body["item"]), None)
            if (
                item is None
                or item["stored"]
                or (item["sha256"], item["size"]) != (body["sha256"], body["size"])
            ):
                self.problem(
                    seq, "relocation of no earlier by-reference item with this digest and size"
                )
            else:
                self.moved.setdefault(body["item"], []).append(body)
        elif kind == "evidence.collected" or kind.startswith("custody."):
            self.custody_rule(e)
        elif kind == "report.exported":
            size = body["checkpoint_size"]
            if size > seq:
                self.problem(seq, "report names entries after itself")
            elif all(i in self.lines for i in range(size)):
                got = mroot([leaf(self.lines[i]) for i in range(size)]).hex()
                if got != body["checkpoint_root"]:
                    self.problem(seq, "report names a root the journal lacks")
        elif kind == "backup.verified":
            self.digests.setdefault(body["result_sha256"], seq)
            if body["signed_off"] and body["verdict"] != "PASS":
                self.problem(seq, "sign-off on a FAIL")
            ref = body.get("manifest_entry")
            if ref is not None:
                target = self.seen.get(ref)
                if (
                    target is None
                    or target["kind"] != "backup.manifest"
                    or target["body"]["manifest_sha256"] != body["manifest_sha256"]
                ):
                    self.problem(seq, "manifest_entry names another manifest")
        elif kind == "backup.manifest":
            self.digests.setdefault(body["manifest_sha256"], seq)
        if kind == "case.opened":
            self.incident.open(stamp(e["recorded"]))
        if kind.startswith("incident."):
            for message in self.incident.apply(e):
                self.problem(seq, message)

    def timestamp_rule(self, e: dict[str, Any]) -> None:
        """Section "Trusted timestamps": the recorded checkpoint is a member's, names what
        the body says and precedes the entry. The RFC 3161 token itself (CMS) is not
        checked here: that needs more than `cryptography` offers."""
        seq, b = e["seq"], e["body"]
        try:
            text, sigs = parse_note(b["checkpoint"].encode("utf-8"))
            cp_origin, size, root, _ = parse_checkpoint(text)
            base64.b64decode(b["response"], validate=True)
        except (Unreadable, ValueError) as exc:
            self.problem(seq, f"timestamp: malformed checkpoint or token ({exc})")
            return
        if size != b["size"] or root.hex() != b["root"] or size > seq:
            self.problem(seq, "timestamp: size/root differ, or it covers entries after it")
            return
        if cp_origin != origin(self):
            self.problem(seq, "timestamp: the checkpoint's origin is not this case's")
        if not note_signers(text, sigs, {fp: m["key"] for fp, m in self.members.items()}):
            self.problem(seq, "timestamp: its checkpoint has no valid member signature")
        if not UTCSTAMP(b["gen_time"]):
            self.problem(seq, "timestamp: gen_time is not UTC with microseconds")
            return
        prefix = [self.lines.get(i) for i in range(size)]
        if None not in prefix and mroot([leaf(x) for x in prefix if x is not None]) != root:
            self.problem(seq, "timestamp: the journal's first entries hash to another root")

    def _active(self, fp: str) -> bool:
        return fp in self.members and self.members[fp]["active"]

    def custody_rule(self, e: dict[str, Any]) -> None:
        """Section "Chain of custody", over the whole journal."""
        seq, kind, actor, b = e["seq"], e["kind"], e["actor"], e["body"]
        if kind == "evidence.collected":
            for item in b["items"]:
                expected = f"E-{len(self.items) + 1:04d}"
                if item["id"] != expected:
                    self.problem(seq, f"item {item['id']} should be {expected}")
                self.items.append((seq, item))
                self.custody[item["id"]] = {"holder": actor, "transit": None, "final": None}
            return
        if kind == "custody.accepted":
            t = self.transfers.get(b["transfer"])
            if t is None or t[1] or t[0]["body"]["to"] != actor:
                self.problem(seq, "accept matches no pending release to its signer")
                return
            t[1] = True
            for item in t[0]["body"]["items"]:
                self.custody[item].update(holder=actor, transit=None)
            return
        for item in b["items"]:
            h = self.custody.get(item)
            if h is None or h["final"] or h["transit"] or h["holder"] != actor:
                self.problem(seq, f"{item}: not held by the signer (or in transit, or closed)")
                return
        if kind == "custody.released":
            if b["transfer"] in self.transfers or b["to"] == actor:
                self.problem(seq, "transfer id reused, or a release to oneself")
                return
            self.transfers[b["transfer"]] = [e, False]
        if kind in ("custody.returned", "custody.disposed") and b.get("witness") is not None:
            w = self.members.get(b["witness"])
            w = w if w is not None and w["active"] else None  # a removed member witnesses no more
            statement = canonical(
                {"case_id": self.case_id, "items": b["items"], "kind": kind, "reason": b["reason"]}
            )
            try:  # standard base64 (the document asks no canonical spelling here)
                sig = base64.b64decode(str(b.get("witness_sig") or ""), validate=True)
            except ValueError:
                sig = None
            if w is None or sig is None or not ed25519_ok(w["key"], sig, statement.encode()):
                self.problem(seq, "witness signature does not verify")
                return
        for item in b["items"]:
            if kind == "custody.released":
                self.custody[item]["transit"] = b["transfer"]
            elif kind in ("custody.returned", "custody.disposed"):
                self.custody[item]["final"] = kind


def stamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


ITIL3 = [[1, 2, 3], [2, 3, 4], [3, 4, 5]]
_H = 3600
ITIL3_SETTINGS: dict[str, Any] = {  # the frozen built-in preset (section "Incident lifecycle")
    "matrix": ITIL3,
    "priorities": {
        "1": {"respond": 900, "resolve": 4 * _H, "update": 1800, "calendar": "24x7"},
        "2": {"respond": 1800, "resolve": 8 * _H, "update": 2 * _H},
        "3": {"respond": _H, "resolve": 27 * _H, "update": 4 * _H},
        "4": {"respond": 4 * _H, "resolve": 45 * _H, "update": 9 * _H},
        "5": {"respond": 9 * _H, "resolve": 90 * _H, "update": 45 * _H},
    },
    "calendars": {
        "business": {
            "zone": "UTC",
            "hours": {d: ["08:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        },
        "24x7": {"zone": "UTC", "always": True},
    },
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def business(cal: dict[str, Any], start: datetime, end: datetime) -> timedelta:
    """Working time between two instants: the overlap with each local date's windows."""
    from zoneinfo import ZoneInfo

    if end <= start:
        return timedelta(0)
    if cal.get("always"):
        return end - start
    tz = ZoneInfo(cal.get("zone", "UTC"))
    holidays = set(cal.get("holidays", []))
    day = start.astimezone(tz).date() - timedelta(days=1)
    total = timedelta(0)
    while day <= end.astimezone(tz).date():
        if day.isoformat() not in holidays:
            for span in cal.get("hours", {}).get(WEEKDAYS[day.weekday()], []):
                edges = []
                for hhmm in span.split("-"):
                    hh, mm = map(int, hhmm.split(":"))
                    base = datetime(day.year, day.month, day.day, tzinfo=tz) if hh < 24 else None
                    if base is None:  # 24:00: midnight at the end of the day
                        nxt = day + timedelta(days=1)
                        edges.append(datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz))
                    else:
                        edges.append(base.replace(hour=hh, minute=mm))
                lo, hi = (
                    max(edges[0].astimezone(UTC), start),
                    min(edges[1].astimezone(UTC), end),
                )
                if hi > lo:
                    total += hi - lo
        day += timedelta(days=1)
    return total


MOVES = {
    "new": {"assigned", "in_progress", "resolved"},
    "assigned": {"in_progress", "pending", "resolved"},
    "in_progress": {"pending", "resolved"},
    "pending": {"in_progress", "resolved"},
    "resolved": {"closed", "in_progress"},
    "closed": {"in_progress"},
}


class Incident:
    """The lifecycle fold and the clocks a breach-triggered escalation is judged by
    (section "Incident lifecycle")."""

    def __init__(self) -> None:
        self.opened: datetime | None = None
        self.periods: list[list[Any]] = []  # [state, start, end or None, waiting_for]
        self.first_response: datetime | None = None
        self.informed: list[datetime] = []
        self.state = "new"
        self.settings: dict[str, Any] | None = None
        self.fields: dict[str, Any] = {}
        self.resolution: dict[str, Any] | None = None
        self.resolved_at: datetime | None = None
        self.confirmation: int | None = None
        self.links: set[tuple[str, str]] = set()
        self.escalations: dict[int, bool] = {}
        self.grants: dict[int, bool] = {}
        self.followups: dict[int, bool] = {}

    def open(self, at: datetime) -> None:
        self.opened = at
        self.periods = [["new", at, None, None]]

    def breached(self, clock: str, now: datetime) -> bool:
        """Whether the customer clock `respond`, `resolve` or `update` is over its target."""
        prio = self.priority()
        if prio is None or self.opened is None:
            return False
        s = self.settings or ITIL3_SETTINGS
        target = s["priorities"][str(prio)]
        cal = s["calendars"][target.get("calendar", "business")]
        pausing = set(s.get("pause_reasons", ["customer", "vendor"]))
        running: list[tuple[datetime, datetime | None]] = []
        for state, start, end, waiting in self.periods:
            if state in ("new", "assigned", "in_progress") or (
                state == "pending" and waiting not in pausing
            ):
                if running and running[-1][1] == start:
                    running[-1] = (running[-1][0], end)
                else:
                    running.append((start, end))
        if clock == "respond":
            intervals = [(self.opened, self.first_response)]
        elif clock == "resolve":
            intervals = running
        elif clock == "update":  # the resolve clock's running time since the last update
            since = max(self.informed, default=None)
            intervals = [
                (max(a, since) if since else a, b)
                for a, b in running
                if since is None or b is None or b > since
            ]
        else:
            return False
        elapsed = sum(
            (business(cal, a, min(b, now) if b else now) for a, b in intervals), timedelta(0)
        )
        return elapsed > timedelta(seconds=target[clock])

    def priority(self) -> int | None:
        matrix = (self.settings or {}).get("matrix", ITIL3)
        i, u = self.fields.get("impact"), self.fields.get("urgency")
        if type(i) is not int or type(u) is not int:
            return None
        if not (1 <= i <= len(matrix) and 1 <= u <= len(matrix[0])):
            return None
        return int(matrix[i - 1][u - 1])

    def apply(self, e: dict[str, Any]) -> list[str]:
        kind, b, seq, at = e["kind"], e["body"], e["seq"], stamp(e["recorded"])
        out: list[str] = []
        if kind == "incident.configured":
            self.settings = b["settings"]
        elif kind == "incident.state":
            old, new = b["old"], b["new"]
            if old != self.state:
                out.append(f"the incident is {self.state}, not {old}")
            elif new not in MOVES[old]:
                out.append(f"{old} -> {new} is not allowed")
            elif new == "pending" and not b.get("waiting_for"):
                out.append("pending needs waiting_for")
            elif new == "resolved" and not (b.get("resolution") or {}).get("code"):
                out.append("resolving needs a resolution code")
            elif new == "closed":
                closure = b.get("closure") or {}
                if self.resolution is None:
                    out.append("closure without a resolution")
                elif closure.get("how") == "confirmed":
                    if self.confirmation is None or self.confirmation != closure.get(
                        "confirmation"
                    ):
                        out.append("closure cites no confirmation on record")
                elif closure.get("how") == "auto":
                    if self.confirmation is not None:
                        out.append("auto-closure although the customer confirmed")
                else:
                    out.append("closure must say how")
            if new == "resolved":
                self.resolution, self.resolved_at = b.get("resolution"), at
            if new == "closed":
                closure = b.get("closure") or {}
                if closure.get("how") == "auto" and self.resolved_at is not None:
                    days = closure.get("after_days") or 0
                    need = (self.settings or {}).get("auto_close_days", 5)
                    if days < need or at - self.resolved_at < timedelta(days=days):
                        out.append("auto-closure too early")
            if self.state in ("resolved", "closed") and new == "in_progress":
                self.resolution = self.resolved_at = self.confirmation = None
            if self.state == "new" and new != "new" and self.first_response is None:
                self.first_response = at
            if self.periods:
                self.periods[-1][2] = at
            self.periods.append([new, at, None, b.get("waiting_for")])
            self.state = new
        elif kind == "incident.field":
            name = b["field"]
            if b["old"] != self.fields.get(name):
                out.append(f"{name}: old value is not the folded one")
            self.fields[name] = b["new"]
            if name in ("impact", "urgency") and b.get("priority") != self.priority():
                out.append("priority is not the matrix cell")
        elif kind == "incident.linked":
            key = (b["link"], b["ref"])
            if b.get("action", "add") == "add":
                self.links.add(key)
            elif key in self.links:
                self.links.discard(key)
            else:
                out.append("removes a link that does not exist")
        elif kind == "incident.escalated":
            if b.get("tier") is None and b.get("team") is None:
                out.append("escalation names neither tier nor team")
            if b.get("trigger") == "breach" and not self.breached(str(b.get("clock")), at):
                out.append(
                    f"breach-triggered escalation, but clock {b.get('clock')!r} was not breached"
                )
            self.escalations[seq] = False
        elif kind == "incident.acknowledged":
            if self.escalations.get(b["escalation"]) is not False:
                out.append("acknowledges no open escalation")
            else:
                self.escalations[b["escalation"]] = True
        elif kind == "incident.consent":
            if b["action"] == "granted":
                self.grants[seq] = False
            elif self.grants.get(b.get("grant") if b.get("grant") is not None else -1) is not False:
                out.append("withdraws a consent not in force")
            else:
                self.grants[b["grant"]] = True
        elif kind == "incident.informed":
            self.informed.append(at)
        elif kind == "incident.confirmed":
            if self.state != "resolved":
                out.append(f"confirmation while {self.state}")
            self.confirmation = seq
        elif kind == "incident.followup":
            if b["action"] == "scheduled":
                self.followups[seq] = False
            elif (
                self.followups.get(b.get("schedule") if b.get("schedule") is not None else -1)
                is not False
            ):
                out.append("marks done a follow-up that is not open")
            else:
                self.followups[b["schedule"]] = True
        return out


# -- a whole case (sections 1, 7, 8) -------------------------------------------------------


def origin(walk: Walk) -> str | None:
    if walk.case_id is None or walk.opener is None:
        return None
    return f"irkit.case/{walk.case_id}/{walk.opener[8:24]}"


def _regular(path: Path) -> bytes | None:
    """A regular file's bytes, never through a symlink (section 1); None otherwise."""
    if path.is_symlink() or not path.is_file():
        return None
    return path.read_bytes()


def verify_case(
    root: Path,
    trust: list[str],
    checkpoints: list[Path],
    content: bool,
    require_content: bool = False,
) -> list[str]:
    data = _regular(root / "journal.jsonl")
    walk = Walk()
    if data is None:
        return ["journal.jsonl is missing or not a regular file"]
    lines = data.split(b"\n")
    if lines[-1]:
        walk.problem(len(lines) - 1, "torn tail: the last line has no newline")
    lines = lines[:-1]
    if not lines:
        walk.problem(None, "the journal holds no entries")
    prev = GENESIS
    for index, line in enumerate(lines):
        e = walk.line(index, line, prev)
        prev = "sha256:" + hashlib.sha256(line).hexdigest()
        if e is not None:
            walk.fold(e)
    if trust and walk.opener not in trust:
        walk.problem(0, f"opener {walk.opener} is not trusted")
    marker = _regular(root / "irkit-case.json")
    try:
        case_id = strict_json(marker.decode("utf-8"))["case_id"] if marker else None
    except (ValueError, KeyError, TypeError, UnicodeError):
        case_id = None
    if case_id != walk.case_id:
        walk.problem(0, "irkit-case.json names another case than the journal")
    keys_dir = root / "keys"
    for path in sorted(keys_dir.iterdir()) if keys_dir.is_dir() else []:
        if path.name.endswith(".tmp"):
            continue  # an interrupted write: a warning, not a problem
        try:
            pem = _regular(path)
            key = serialization.load_pem_public_key(pem or b"")
            raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            ok = fingerprint(raw) == "ed25519:" + path.name.removesuffix(".pub")
        except (ValueError, TypeError, AttributeError):
            ok = False
        if not ok:
            walk.problem(None, f"keys/{path.name} is not the key its name says")
    leaves = [leaf(line) for line in lines]
    cp_dir = root / "checkpoints"
    sources = (
        [p for p in sorted(cp_dir.iterdir()) if not p.name.endswith(".tmp")]
        if cp_dir.is_dir()
        else []
    )
    keys = {fp: m["key"] for fp, m in walk.members.items()}
    for path in [*sources, *checkpoints]:
        try:
            note = path.read_bytes() if path in checkpoints else _regular(path)
            if note is None:
                raise Unreadable("not a regular file")
            body, sigs = parse_note(note)
            cp_origin, size, cp_root, _ = parse_checkpoint(body)
        except (Unreadable, OSError, UnicodeError) as exc:
            walk.problem(None, f"{path.name}: unreadable checkpoint ({exc})")
            continue
        if not note_signers(body, sigs, keys):
            walk.problem(None, f"{path.name}: no valid signature by a member")
        if size > len(leaves):
            walk.problem(None, f"{path.name}: covers {size} entries, the journal holds fewer")
        elif mroot(leaves[:size]) != cp_root:
            walk.problem(
                None, f"{path.name}: the journal's first {size} entries hash to another root"
            )
        if cp_origin != origin(walk):
            walk.problem(None, f"{path.name}: origin is not this case's")
    if content:
        for digest, seq in sorted(walk.digests.items(), key=lambda kv: kv[1]):
            if not _stored_ok(root, digest):
                walk.problem(seq, f"stored file {digest} is missing or altered")
        for seq, item in walk.items:
            if item["stored"]:
                ok = _stored_ok(root, item["sha256"])
            else:  # by reference: the newest reachable location is re-hashed
                ok = not require_content  # none reachable: "not checked here"
                for where in [*reversed(walk.moved.get(item["id"], [])), item]:
                    raw = (
                        base64.b64decode(where["path_b64"])
                        if where.get("path_b64")
                        else where["path"].encode("utf-8", "surrogateescape")
                    )
                    original = _regular(Path(raw.decode("utf-8", "surrogateescape")))
                    if original is not None:
                        ok = hashlib.sha256(original).hexdigest() == item["sha256"]
                        break
            if not ok:
                walk.problem(seq, f"item {item['id']} does not match its recorded digest")
    return walk.problems


def _stored_ok(root: Path, digest: str) -> bool:
    data = _regular(root / "evidence" / "sha256" / digest[:2] / digest)
    return data is not None and hashlib.sha256(data).hexdigest() == digest


# -- exhibits (section "Exhibits") ---------------------------------------------------------


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def concerning(entries: list[dict[str, Any]], items: list[str]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {i: [] for i in items}
    transfers: dict[str, set[str]] = {}
    for e in entries:
        named = {s for s in _strings(e["body"]) if s in found}
        t = e["body"].get("transfer")
        if e["kind"] == "custody.accepted" and isinstance(t, str):
            named |= transfers.get(t, set())
        elif e["kind"] == "custody.released" and isinstance(t, str):
            transfers.setdefault(t, set(named))
        for item in named:
            found[item].append(e["seq"])
    return found


def chain_problems(item: str, entries: list[dict[str, Any]]) -> list[str]:
    out, holder, transit, final = [], None, None, None
    for e in entries:
        kind, actor, b = e["kind"], e["actor"], e["body"]
        if kind == "evidence.collected":
            if holder is not None:
                out.append(f"{item} collected twice")
            holder = holder or actor
        elif not kind.startswith("custody."):
            continue
        elif holder is None or final is not None:
            out.append(f"#{e['seq']}: {item} not collected yet, or its chain is closed")
        elif kind == "custody.accepted":
            if transit != (b["transfer"], actor):
                out.append(f"#{e['seq']}: accepts {item} without a matching release")
            else:
                holder, transit = actor, None
        elif transit is not None or actor != holder:
            out.append(f"#{e['seq']}: {item} is in transit or held by someone else")
        elif kind == "custody.released":
            transit = (b["transfer"], b["to"])
        elif kind in ("custody.returned", "custody.disposed"):
            final = kind
    if holder is None:
        out.append(f"the collection of {item} is not shown")
    return out


def verify_exhibit(data: bytes, trust: list[str]) -> list[str]:
    try:
        doc = strict_json(data.decode("utf-8"))
        canonical_strings(doc)
    except (UnicodeError, ValueError, RecursionError) as exc:
        raise Unreadable(f"not JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("type") != "irkit-exhibit" or doc.get("format") != 1:
        raise Unreadable("not an irkit exhibit (format 1)")
    entries, requested = doc.get("entries"), doc.get("requested") or []
    if not isinstance(doc.get("checkpoint"), str) or not isinstance(entries, list):
        raise Unreadable("exhibit lacks checkpoint or entries")
    if not list_of(integer(-MAX_INT))(requested):
        raise Unreadable("requested is not a list of seqs")
    shape = obj(seq=integer(-MAX_INT), line=text(0), proof=list_of(text(0)))
    if not all(shape(x) for x in entries):
        raise Unreadable("an entry lacks seq, line or proof")
    items, index = doc.get("items"), doc.get("index")
    if (items is None) != (index is None) or (
        items is not None and not (list_of(LINK, 1)(items) and isinstance(index, str))
    ):
        raise Unreadable("items and index come together: item ids and a signed note")
    body, sigs = parse_note(doc["checkpoint"].encode("utf-8"))
    cp_origin, size, root, _ = parse_checkpoint(body)
    listed: dict[str, list[int]] = {}
    if index is not None:
        index_body, index_sigs = parse_note(index.encode("utf-8"))
        rows = index_body.decode("utf-8").split("\n")
        if len(rows) < 6 or rows[0] != "irkit.exhibit-index/v1" or rows[-1] != "":
            raise Unreadable("the item index is malformed")
        index_cp = parse_checkpoint("\n".join(rows[1:4]).encode() + b"\n")
        for row in rows[4:-1]:
            m = re.fullmatch(r"([A-Z]{1,8}-[0-9]{1,12})((?: (?:0|[1-9][0-9]{0,15}))+)", row)
            if m is None or m.group(1) in listed:
                raise Unreadable("malformed item index line")
            seqs = [int(x) for x in m.group(2).split()]
            if seqs != sorted(set(seqs)):
                raise Unreadable("item index seqs are not sorted and unique")
            listed[m.group(1)] = seqs
        if list(listed) != sorted(listed):
            raise Unreadable("item index lines are not sorted")
    walk = Walk(exhibit=True)
    shown: list[dict[str, Any]] = []
    seen: set[int] = set()
    good: dict[int, bytes] = {}
    for x in sorted(entries, key=lambda x: x["seq"]):
        seq, line = x["seq"], x["line"].encode("utf-8")
        if seq in seen:
            walk.problem(seq, "included more than once")
            continue
        seen.add(seq)
        try:
            proof = [bytes.fromhex(h) for h in x["proof"]]
        except ValueError:
            proof = None
        if proof is None or not inclusion_ok(seq, size, leaf(line), proof, root):
            walk.problem(seq, "not included in the checkpointed tree")
            continue
        before = len(walk.problems)
        prev = (
            GENESIS
            if seq == 0
            else (
                "sha256:" + hashlib.sha256(good[seq - 1]).hexdigest() if seq - 1 in good else None
            )
        )
        e = walk.line(seq, line, prev)
        if e is not None and walk.fold(e) and len(walk.problems) == before:
            good[seq] = line
            shown.append(e)
    if 0 not in good:
        walk.problem(0, "the exhibit does not show case.opened")
    if trust and walk.opener not in trust:
        walk.problem(0, "opener is not trusted")
    keys = {fp: m["key"] for fp, m in walk.members.items()}

    def leads(fps: list[str]) -> list[str]:
        return [f for f in fps if walk.members[f]["active"] and walk.members[f]["role"] == "lead"]

    if not leads(note_signers(body, sigs, keys)):
        walk.problem(None, "the checkpoint carries no valid signature by an active lead")
    if cp_origin != origin(walk):
        walk.problem(None, "the checkpoint's origin is not this case's")
    for seq in requested:
        if seq not in good:
            walk.problem(seq, "requested but not shown")
    if index is not None:
        if (index_cp[0], index_cp[1], index_cp[2]) != (cp_origin, size, root):
            walk.problem(None, "the item index is for another checkpoint")
        if sorted(set(items)) != list(listed):
            walk.problem(None, "items and the index differ")
        if not leads(note_signers(index_body, index_sigs, keys)):
            walk.problem(None, "the item index carries no valid signature by an active lead")
        found = concerning(shown, list(listed))
        by_seq = {e["seq"]: e for e in shown}
        for item, seqs in listed.items():
            if set(seqs) != set(found[item]):
                walk.problem(None, f"the index and the entries shown disagree about {item}")
            walk.problems += chain_problems(item, [by_seq[s] for s in seqs if s in by_seq])
    return walk.problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    c = sub.add_parser("case")
    c.add_argument("path", type=Path)
    c.add_argument("--checkpoint", type=Path, action="append", default=[])
    c.add_argument("--no-content", action="store_true")
    c.add_argument("--require-content", action="store_true")
    x = sub.add_parser("exhibit")
    x.add_argument("path", type=Path)
    for p in (c, x):
        p.add_argument("--trust", action="append", default=[])
        p.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    trust = [t if t.startswith("ed25519:") else "ed25519:" + t for t in args.trust]
    try:
        if args.what == "case":
            problems = verify_case(
                args.path, trust, args.checkpoint, not args.no_content, args.require_content
            )
        else:
            problems = verify_exhibit(args.path.read_bytes(), trust)
    except (Unreadable, OSError) as exc:
        print(f"unreadable: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"ok": not problems, "problems": problems}))
    else:
        for problem in problems:
            print(f"PROBLEM: {problem}")
        print("VERIFIED" if not problems else f"FAILED ({len(problems)} problems)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

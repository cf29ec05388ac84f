"""Manifests other tools read, and the audit that compares a tree with one.

- `sha256sum` style (also md5sum, sha1sum, sha512sum, b2sum): GNU coreutils' format, names
  with a backslash, newline or carriage return escaped and the line prefixed by a backslash,
  so `sha256sum -c` verifies irkit's output.
- hashdeep's own format (`hashdeep -a -k FILE` audits with it).
- DFXML (Garfinkel's Digital Forensics XML): `fileobject` with `filename`, `filesize` and
  `hashdigest type=...`; a name that is not UTF-8 (or holds characters XML 1.0 cannot carry)
  is written base64 with `encoding="base64"` so it survives the round trip.
- CSV: `path,size,<algorithm>...`, the same base64 rule via a `path_encoding` column.
- JSON: irkit's own manifest, which records tool, host, time and roots and carries its own
  SHA-256 over the RFC 8785 form of everything else (as PostgreSQL's backup_manifest does).

Longer than ~500 lines: five formats, each a reader of 60-100 lines, plus the audit
over them; the readers share the path and digest checks, and none is big enough alone.
"""

from __future__ import annotations

# json, csv and io are imported by the formats that use them: `irkit hash` starts faster.
import base64
import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from irkit import __version__
from irkit.errors import InputError
from irkit.hashing.files import FileRecord, check_algorithms

MANIFEST_TYPE = "irkit-hash-manifest"
_SUM_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128, "blake2b": 128}


_NEEDS_ESCAPE = re.compile(rb"[\\\n\r]").search  # one call: `in` on bytes costs 3x more


def _escape(name: bytes) -> tuple[bool, bytes]:
    if _NEEDS_ESCAPE(name) is None:
        return False, name
    return True, name.replace(b"\\", b"\\\\").replace(b"\n", b"\\n").replace(b"\r", b"\\r")


def _unescape(name: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(name):
        c = name[i : i + 1]
        if c == b"\\" and i + 1 < len(name):
            nxt = name[i + 1 : i + 2]
            out += {b"\\": b"\\", b"n": b"\n", b"r": b"\r"}.get(nxt, b"\\" + nxt)
            i += 2
        else:
            out += c
            i += 1
    return bytes(out)


def iter_sums(records: Iterable[FileRecord], algorithm: str) -> Iterator[bytes]:
    for r in records:
        if r.kind != "file":
            continue
        if _NEEDS_ESCAPE(r.path) is None:  # inline: a tree pays this per file
            yield b"".join((r.digests[algorithm].encode(), b"  ", r.path, b"\n"))
        else:
            yield b"\\" + r.digests[algorithm].encode() + b"  " + _escape(r.path)[1] + b"\n"


_HEX_BYTES = re.compile(rb"[0-9a-fA-F]+")


def _lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Numbered lines; a CR ending one is its line end (a manifest saved on Windows): irkit
    writes a CR in a name escaped, never raw."""
    for number, raw in enumerate(data.split(b"\n"), 1):
        yield number, raw[:-1] if raw.endswith(b"\r") else raw


def read_sums(data: bytes) -> tuple[str, dict[bytes, str]]:
    """Parse a *sum file; the algorithm is inferred from the digest length."""
    entries: dict[bytes, str] = {}
    length = None
    for number, raw in _lines(data):
        if not raw.strip():
            continue
        escaped = raw.startswith(b"\\")
        line = raw[1:] if escaped else raw
        digest, sep, name = line.partition(b" ")
        if not sep or len(name) < 2 or name[:1] not in (b" ", b"*"):
            raise InputError(f"manifest line {number} is not `DIGEST  NAME`")
        name = name[1:]
        if _HEX_BYTES.fullmatch(digest) is None:
            raise InputError(f"manifest line {number}: not a hex digest")
        digest_text = digest.decode("ascii").lower()
        if length is None:
            length = len(digest_text)
        elif len(digest_text) != length:
            raise InputError(f"manifest line {number}: digests of different lengths")
        path = _unescape(name) if escaped else name
        if path in entries:
            raise InputError(f"manifest line {number}: duplicate path")
        entries[path] = digest_text
    if length is None:
        raise InputError("manifest is empty")
    matches = [a for a, n in _SUM_LENGTHS.items() if n == length]
    if not matches:
        raise InputError(f"manifest digests have an unknown length ({length})")
    # sha512 and blake2b share a length; sha512sum is the common tool
    return ("sha512" if "sha512" in matches else matches[0]), entries


_HASHDEEP_NAMES = {"md5": "md5", "sha1": "sha1", "sha256": "sha256"}


def iter_hashdeep(
    records: Iterable[FileRecord], algorithms: Sequence[str], cwd: bytes
) -> Iterator[bytes]:
    """hashdeep's own format (`hashdeep -a -k FILE` audits with it). hashdeep knows md5,
    sha1, sha256 (and tiger/whirlpool, which irkit does not compute); paths are absolute and
    normalised, as hashdeep writes them with -r: `../usb/b` typed in /cases/C is written
    /cases/usb/b (`.` and `..` resolved as text, symlinks not), so `hashdeep -a -k FILE -r
    ../usb` from the same folder finds every file where it was."""
    usable = [a for a in algorithms if a in _HASHDEEP_NAMES]
    if not usable:
        raise InputError("the hashdeep format needs md5, sha1 or sha256")
    yield (
        b"%%%% HASHDEEP-1.0\n%%%% size," + ",".join(usable).encode() + b",filename\n"
        b"## Invoked from: " + cwd + b"\n## # irkit hash\n## \n"
    )
    for r in records:
        if r.kind != "file":
            continue
        path = os.path.normpath(os.path.join(cwd, r.path))
        if b"\n" in path:
            raise InputError(f"hashdeep's format cannot hold a newline in a name: {path!r}")
        digests = b",".join(r.digests[a].encode() for a in usable)
        yield str(r.size).encode() + b"," + digests + b"," + path + b"\n"


def read_hashdeep(data: bytes) -> tuple[str, dict[bytes, str]]:
    lines = list(_lines(data))
    if not lines or lines[0][1].strip() != b"%%%% HASHDEEP-1.0":
        raise InputError("not a hashdeep file (no %%%% HASHDEEP-1.0 header)")
    columns: list[str] | None = None
    algorithm = ""
    entries: dict[bytes, str] = {}
    for number, line in lines[1:]:
        if line.startswith(b"%%%% "):
            columns = line[5:].decode("ascii", "replace").strip().split(",")
            usable = [a for a in ("sha256", "sha1", "md5") if a in columns]
            if columns[0] != "size" or columns[-1] != "filename" or not usable:
                raise InputError(
                    f"hashdeep line {number}: columns must be size,...,filename "
                    "with md5, sha1 or sha256"
                )
            algorithm = usable[0]
            continue
        if not line.strip() or line.startswith(b"##"):
            continue
        if columns is None:
            raise InputError("hashdeep file lacks its column header")
        parts = line.split(b",", len(columns) - 1)
        if len(parts) != len(columns) or not parts[-1]:
            raise InputError(f"hashdeep line {number} has the wrong number of fields")
        if not parts[0].isdigit():
            raise InputError(f"hashdeep line {number}: size is not a number")
        digest = parts[columns.index(algorithm)]
        if len(digest) != _SUM_LENGTHS[algorithm] or _HEX_BYTES.fullmatch(digest) is None:
            raise InputError(f"hashdeep line {number}: not a {algorithm} hex digest")
        if parts[-1] in entries:
            raise InputError(f"hashdeep line {number}: duplicate path")
        entries[parts[-1]] = digest.decode("ascii").lower()
    if columns is None:
        raise InputError("hashdeep file lacks its column header")
    return algorithm, entries


def _path_fields(path: bytes) -> dict[str, str]:
    try:
        return {"path": path.decode("utf-8")}
    except UnicodeDecodeError:
        return {"path_b64": base64.b64encode(path).decode("ascii")}


def _host() -> str:
    import socket  # not at module level: a few ms of every `irkit hash` start

    return socket.gethostname()


def iter_json(
    records: Iterable[FileRecord], algorithms: Sequence[str], roots: Sequence[bytes], created: str
) -> Iterator[bytes]:
    """One file per line, written as hashed; the checksum closing the document is the
    SHA-256 of the RFC 8785 form of all the rest, built up piece by piece in the order that
    form has (keys sorted, so `files` sits between `created` and `host`)."""
    import json

    from irkit.formats.canonical import canonical_bytes  # only JSON manifests need RFC 8785

    head: dict[str, Any] = {
        "type": MANIFEST_TYPE,
        "version": 1,
        "tool": f"irkit {__version__}",
        "host": _host(),
        "created": created,
        "roots": [_path_fields(r) for r in roots],
        "algorithms": list(algorithms),
    }
    frame = canonical_bytes({**head, "files": []})
    cut = frame.index(b'"files":[]') + len(b'"files":[')  # keys are quoted: unique
    checksum = hashlib.sha256(frame[:cut])
    text = json.dumps(head, indent=1, ensure_ascii=False)
    yield (text[:-2] + ',\n "files": [').encode()
    first = True
    for r in records:
        if r.kind != "file":
            continue
        item = {**_path_fields(r.path), "size": r.size, "digests": r.digests}
        canonical = canonical_bytes(item)
        checksum.update(canonical if first else b"," + canonical)
        yield (b"\n  " if first else b",\n  ") + json.dumps(item, ensure_ascii=False).encode()
        first = False
    checksum.update(frame[cut:])
    yield f'\n ],\n "checksum": {{"sha256": "{checksum.hexdigest()}"}}\n}}\n'.encode()


_HEX = re.compile(r"[0-9a-f]+")


def _json_path(item: dict[str, Any]) -> bytes:
    """A file record's path: `path` (text) or `path_b64` (any bytes), exactly one, not empty."""
    if ("path" in item) == ("path_b64" in item):
        raise InputError("manifest file record needs exactly one of path and path_b64")
    if "path" in item:
        text = item["path"]
        if not isinstance(text, str) or not text:
            raise InputError("manifest file record: path is not a non-empty string")
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate from a \ud800 escape
            raise InputError("manifest file record: path is not valid Unicode") from exc
    b64 = item["path_b64"]
    if not isinstance(b64, str):
        raise InputError("manifest file record: path_b64 is not a string")
    try:
        path = base64.b64decode(b64, validate=True)
    except ValueError as exc:
        raise InputError("manifest file record: path_b64 is not base64") from exc
    if not path:
        raise InputError("manifest file record: path_b64 is empty")
    return path


def _json_record(item: Any, algorithms: list[str]) -> tuple[bytes, tuple[int, dict[str, str]]]:
    if not isinstance(item, dict):
        raise InputError("manifest file record is not an object")
    unknown = set(item) - {"path", "path_b64", "size", "digests"}
    if unknown:
        raise InputError(f"manifest file record has unknown fields: {sorted(unknown)}")
    path = _json_path(item)
    size, digests = item.get("size"), item.get("digests")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InputError(f"manifest record {path!r}: size is not a non-negative integer")
    if not isinstance(digests, dict) or not set(algorithms) <= set(digests):
        raise InputError(f"manifest record {path!r}: digests lack one of the algorithms")
    for name, value in digests.items():
        if not (
            name in _SUM_LENGTHS
            and isinstance(value, str)
            and len(value) == _SUM_LENGTHS[name]
            and _HEX.fullmatch(value)
        ):
            raise InputError(f"manifest record {path!r}: {name} is not a lowercase hex digest")
    return path, (size, digests)


def read_json(data: bytes) -> tuple[list[str], dict[bytes, tuple[int, dict[str, str]]]]:
    """irkit's JSON manifest: strict JSON (jsonload), the checksum first, then every field's
    type; any defect is one InputError, never a crash further on."""
    from irkit.formats.jsonload import loads

    doc = loads(data, what="manifest")
    if not isinstance(doc, dict) or doc.get("type") != MANIFEST_TYPE:
        raise InputError("not an irkit hash manifest")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version != 1:
        raise InputError(f"unsupported manifest version {version!r}")
    claimed = doc.pop("checksum", None)
    if (
        not isinstance(claimed, dict)
        or set(claimed) != {"sha256"}
        or not isinstance(claimed["sha256"], str)
    ):
        raise InputError("manifest checksum missing or without algorithm")
    try:
        from irkit.formats.canonical import canonical_bytes

        actual = hashlib.sha256(canonical_bytes(doc)).hexdigest()
    except ValueError as exc:
        raise InputError(f"manifest cannot be checked: {exc}") from exc
    if actual != claimed["sha256"]:
        raise InputError("manifest checksum does not match its content (altered or truncated)")
    algorithms = doc.get("algorithms")
    if (
        not isinstance(algorithms, list)
        or not algorithms
        or not all(isinstance(a, str) and a in _SUM_LENGTHS for a in algorithms)
        or len(set(algorithms)) != len(algorithms)
    ):
        raise InputError(f"manifest algorithms must be a list of {', '.join(_SUM_LENGTHS)}")
    records = doc.get("files")
    if not isinstance(records, list):
        raise InputError("manifest files is not a list")
    files: dict[bytes, tuple[int, dict[str, str]]] = {}
    for item in records:
        path, entry = _json_record(item, algorithms)
        if path in files:
            raise InputError(f"manifest lists {path!r} twice")
        files[path] = entry
    return algorithms, files


_XML_UNSAFE_PATTERN = "[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
DFXML_NS = "http://www.forensicswiki.org/wiki/Category:Digital_Forensics_XML"


def _text_or_b64(path: bytes) -> tuple[str, bool]:
    """(text, is_base64): base64 when the name is not UTF-8 or XML cannot carry it."""
    try:
        text = path.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(path).decode("ascii"), True
    if re.search(_XML_UNSAFE_PATTERN, text):
        return base64.b64encode(path).decode("ascii"), True
    return text, False


def iter_dfxml(
    records: Iterable[FileRecord], algorithms: Sequence[str], created: str
) -> Iterator[bytes]:
    from xml.sax.saxutils import escape, quoteattr

    yield (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<dfxml xmlns="{DFXML_NS}" version="1.0">\n'
        "  <creator>\n"
        f"    <program>irkit</program>\n    <version>{escape(__version__)}</version>\n"
        f"    <execution_environment><host>{escape(_host())}</host>"
        f"<start_time>{escape(created)}</start_time></execution_environment>\n"
        "  </creator>\n"
    ).encode()
    types = [quoteattr(a) for a in algorithms]
    for r in records:
        if r.kind != "file":
            continue
        name, b64 = _text_or_b64(r.path)
        attr = ' encoding="base64"' if b64 else ""
        digests = "".join(
            f"    <hashdigest type={t}>{r.digests[a]}</hashdigest>\n"
            for t, a in zip(types, algorithms, strict=True)
        )
        yield (
            f"  <fileobject>\n    <filename{attr}>{escape(name)}</filename>\n"
            f"    <filesize>{r.size}</filesize>\n{digests}  </fileobject>\n"
        ).encode()
    yield b"</dfxml>\n"


def read_dfxml(data: bytes) -> tuple[list[str], dict[bytes, tuple[int, dict[str, str]]]]:
    """Parse DFXML fileobjects (any namespace). Uses expat, which refuses external entities
    by default, so a hostile manifest cannot make irkit read other files."""
    import xml.etree.ElementTree as ET

    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise InputError("DFXML manifest with a DOCTYPE/ENTITY refused")
    try:
        root = ET.fromstring(data)  # noqa: S314 -- DOCTYPE refused above; expat resolves no external entities
    except ET.ParseError as exc:
        raise InputError(f"manifest is not well-formed XML: {exc}") from exc

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    files: dict[bytes, tuple[int, dict[str, str]]] = {}
    algorithms: list[str] = []
    for obj in root.iter():
        if local(obj.tag) != "fileobject":
            continue
        name: bytes | None = None
        size = 0
        digests: dict[str, str] = {}
        for child in obj:
            tag = local(child.tag)
            text = child.text or ""
            try:
                if tag == "filename":
                    name = (
                        base64.b64decode(text, validate=True)
                        if child.get("encoding") == "base64"
                        else text.encode("utf-8")
                    )
                elif tag == "filesize":
                    size = int(text)
                elif tag == "hashdigest":
                    kind = (child.get("type") or "").lower().replace("-", "")
                    digests[kind] = text.strip().lower()
                    if kind not in algorithms:
                        algorithms.append(kind)
            except ValueError as exc:
                raise InputError(f"DFXML {tag} is malformed") from exc
        if name is None:
            raise InputError("DFXML fileobject without a filename")
        if name in files:
            raise InputError(f"manifest lists {name!r} twice")
        files[name] = (size, digests)
    return algorithms, files


def iter_csv(records: Iterable[FileRecord], algorithms: Sequence[str]) -> Iterator[bytes]:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")

    def row(values: list[Any]) -> bytes:
        buf.seek(0)
        buf.truncate()
        writer.writerow(values)
        return buf.getvalue().encode("utf-8")

    yield row(["path", "path_encoding", "size", *algorithms])
    for r in records:
        if r.kind != "file":
            continue
        name, b64 = _text_or_b64(r.path)
        yield row([name, "base64" if b64 else "utf-8", r.size, *(r.digests[a] for a in algorithms)])


def read_csv(data: bytes) -> tuple[list[str], dict[bytes, tuple[int, dict[str, str]]]]:
    import csv
    import io

    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"manifest is not irkit CSV: {exc}") from exc
    if not rows or rows[0][:3] != ["path", "path_encoding", "size"] or len(rows[0]) < 4:
        raise InputError("CSV manifest lacks its `path,path_encoding,size,...` header")
    algorithms = rows[0][3:]
    files: dict[bytes, tuple[int, dict[str, str]]] = {}
    for number, row in enumerate(rows[1:], 2):
        if len(row) != len(rows[0]):
            raise InputError(f"CSV line {number} has the wrong number of fields")
        try:
            path = (
                base64.b64decode(row[0], validate=True)
                if row[1] == "base64"
                else row[0].encode("utf-8")
            )
            size = int(row[2])
        except ValueError as exc:
            raise InputError(f"CSV line {number} is malformed") from exc
        if path in files:
            raise InputError(f"manifest lists {path!r} twice")
        files[path] = (size, dict(zip(algorithms, row[3:], strict=True)))
    return algorithms, files


@dataclass
class Audit:
    matched: list[bytes] = field(default_factory=list)
    changed: list[bytes] = field(default_factory=list)
    moved: list[tuple[bytes, bytes]] = field(default_factory=list)  # (was, now)
    new: list[bytes] = field(default_factory=list)
    missing: list[bytes] = field(default_factory=list)
    problems: list[FileRecord] = field(default_factory=list)
    # listed in the manifest, under a folder that could not be listed: not read, not missing
    unchecked: list[bytes] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.changed
            or self.moved
            or self.new
            or self.missing
            or self.problems
            or self.unchecked
        )

    def summary(self) -> dict[str, int]:
        return {
            "matched": len(self.matched),
            "changed": len(self.changed),
            "moved": len(self.moved),
            "new": len(self.new),
            "missing": len(self.missing),
            "unreadable": len(self.problems),
            "unchecked": len(self.unchecked),
        }


def load(data: bytes) -> tuple[str, dict[bytes, str]]:
    """Any manifest format irkit reads, reduced to (algorithm, path -> digest)."""
    if data.startswith(b"%%%% HASHDEEP"):
        return read_hashdeep(data)
    head = data.lstrip()[:200]
    if head.startswith((b"{", b"<", b"path,path_encoding,size")):
        if head.startswith(b"{"):
            algorithms, files = read_json(data)
        elif head.startswith(b"<"):
            algorithms, files = read_dfxml(data)
        else:
            algorithms, files = read_csv(data)
        algorithm = "sha256" if "sha256" in algorithms else (algorithms or ["sha256"])[0]
        check_algorithms([algorithm])
        chosen = {p: d[algorithm].lower() for p, (_, d) in files.items() if algorithm in d}
        want = _SUM_LENGTHS[algorithm]
        for path, digest in chosen.items():
            if len(digest) != want or _HEX.fullmatch(digest) is None:
                raise InputError(f"manifest record {path!r}: {algorithm} is not a hex digest")
        return algorithm, chosen
    return read_sums(data)


def audit(expected: dict[bytes, str], algorithm: str, records: Iterable[FileRecord]) -> Audit:
    """hashdeep's audit semantics over paths and one digest."""
    result = Audit()
    by_digest: dict[str, list[bytes]] = {}
    for path, digest in expected.items():
        by_digest.setdefault(digest, []).append(path)
    seen: set[bytes] = set()
    for r in records:
        if r.kind == "error" or (r.kind == "file" and r.note):
            result.problems.append(r)
            continue
        if r.kind != "file":
            continue
        digest = r.digests[algorithm]
        seen.add(r.path)
        if r.path in expected:
            (result.matched if expected[r.path] == digest else result.changed).append(r.path)
        elif digest in by_digest:
            result.moved.append((by_digest[digest][0], r.path))
        else:
            result.new.append(r.path)
    closed = tuple(r.path.rstrip(b"/") + b"/" for r in result.problems if r.folder)
    if closed:  # a copy elsewhere proves no move: the original may still be in there
        result.new += [now for was, now in result.moved if was.startswith(closed)]
        result.moved = [(was, now) for was, now in result.moved if not was.startswith(closed)]
    moved_from = {was for was, _ in result.moved}
    gone = sorted(p for p in expected if p not in seen and p not in moved_from)
    result.unchecked = [p for p in gone if p.startswith(closed)] if closed else []
    result.missing = [p for p in gone if not p.startswith(closed)] if closed else gone
    return result

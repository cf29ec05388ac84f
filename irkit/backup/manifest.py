"""Backup manifests: what a backup must contain, written at backup time.

Modelled on PostgreSQL's ``backup_manifest``: a JSON document whose last member,
``Manifest-Checksum``, is the SHA-256 of every byte before that line, so a truncated or
edited manifest is caught before it is trusted as the reference.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from irkit.backup import meta as backupmeta
from irkit.errors import InputError
from irkit.formats import jsonload
from irkit.record.safefile import read_input

VERSION = 1
_CHUNK = 1 << 20
_TAIL = b'"Manifest-Checksum": "'
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class FileRecord:
    path: str
    size: int
    sha256: str
    # mode/uid/gid/mtime when the manifest records them (`--meta`; irkit/backup/meta.py)
    meta: dict[str, int] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Database:
    """Row counts of one database taken at backup time (`--pg` / `--sqlite`)."""

    name: str  # the PostgreSQL database name, or the SQLite file's path under SOURCE
    engine: Literal["postgresql", "sqlite"]
    tables: dict[str, int]  # "schema.table" (PostgreSQL) or "table" (SQLite) -> rows


@dataclass(frozen=True, slots=True)
class Manifest:
    """A loaded manifest. A PostgreSQL `backup_manifest` lists CRC32C checksums by default:
    those records carry `sha256 == ""` (sizes are compared; pg_verifybackup checks the
    checksums) and `checksums` keeps each file's (algorithm, checksum) as written."""

    files: list[FileRecord]
    format: Literal["irkit", "postgresql"]
    version: int
    databases: list[Database] = field(default_factory=list)
    checksums: dict[str, tuple[str, str]] = field(default_factory=dict)
    system_identifier: int | None = None
    wal_ranges: int = 0
    meta: backupmeta.Meta | None = None  # the `Meta` section (`--meta`)


def hash_file(path: Path) -> tuple[int, str]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


def scan(source: Path, *, meta: bool = False) -> list[FileRecord]:
    """Regular files under SOURCE (symlinks are not followed: a backup stores the link)."""
    if not source.is_dir():
        raise InputError(f"not a directory: {source}")

    def unreadable(exc: OSError) -> None:  # a folder left out would make its files "extra"
        where = os.fsdecode(exc.filename) if exc.filename else str(source)
        raise InputError(f"unreadable folder {where}: {exc.strerror or exc}")

    out: list[FileRecord] = []
    for dirpath, dirnames, filenames in os.walk(source, onerror=unreadable):
        dirnames.sort()
        for name in sorted(filenames):
            full = Path(dirpath) / name
            try:
                if full.is_symlink() or not full.is_file():
                    continue
                size, digest = hash_file(full)
            except OSError as exc:
                raise InputError(f"unreadable file {full}: {exc.strerror or exc}") from exc
            rel = full.relative_to(source).as_posix()
            extra = backupmeta.file_meta(full.lstat()) if meta else None
            out.append(FileRecord(rel, size, digest, extra))
    return out


def _path_key(path: str) -> dict[str, Any]:
    """A file name that is not UTF-8 (surrogate escapes from the file system) is written
    hex-encoded as `Encoded-Path`, as PostgreSQL's backup_manifest does."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return {"Encoded-Path": os.fsencode(path).hex()}
    return {"Path": path}


def render(
    files: list[FileRecord],
    databases: list[Database] | None = None,
    meta: backupmeta.Meta | None = None,
) -> bytes:
    version = 2 if databases else VERSION
    lines = [f'{{"Manifest-Version": {version},\n"Files": [\n']
    for i, rec in enumerate(files):
        item: dict[str, Any] = _path_key(rec.path)
        item |= {
            **{backupmeta.KEYS[k]: v for k, v in (rec.meta or {}).items()},
            "Size": rec.size,
            "Checksum-Algorithm": "SHA256",
            "Checksum": rec.sha256,
        }
        sep = "," if i < len(files) - 1 else ""
        lines.append(json.dumps(item, ensure_ascii=False) + sep + "\n")
    lines.append("],\n")
    if meta is not None:
        lines.append(backupmeta.render(meta))
    if databases:
        items = [
            json.dumps(
                {"Name": d.name, "Engine": d.engine, "Tables": dict(sorted(d.tables.items()))},
                ensure_ascii=False,
            )
            for d in databases
        ]
        lines.append('"Databases": [\n' + ",\n".join(items) + "\n],\n")
    body = "".join(lines).encode()
    digest = hashlib.sha256(body).hexdigest()
    return body + _TAIL + digest.encode() + b'"}\n'


def write(
    source: Path, out: Path, databases: list[Database] | None = None, *, meta: bool = False
) -> list[FileRecord]:
    """Write the manifest atomically (temp file + rename) so nothing half-written remains."""
    files = scan(source, meta=meta)
    data = render(files, databases, backupmeta.scan(source) if meta else None)
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write manifest {out}: {exc.strerror or exc}") from exc
    return files


def parse(data: bytes) -> list[FileRecord]:
    """Check the self-checksum first, then the structure; any defect is bad input."""
    return parse_manifest(data).files


def parse_manifest(data: bytes) -> Manifest:
    """irkit's manifest or PostgreSQL's own `backup_manifest` (versions 1 and 2), told apart
    by their version key; both carry the same self-checksum, checked before anything else."""
    if b"\r\n" in data:  # JSON strings escape CR: CRLF only comes from a text-mode copy
        raise InputError(
            "manifest has Windows (CRLF) line endings: it was converted after it was "
            "written (a text-mode copy or a git autocrlf checkout), so its self-checksum "
            "no longer matches; copy the original in binary mode"
        )
    cut = data.rfind(b"\n" + _TAIL)
    if cut < 0:
        raise InputError("manifest has no Manifest-Checksum (truncated?)")
    body = data[: cut + 1]
    doc = jsonload.loads(data, what="manifest")  # strict: no duplicate key, no deep nesting
    if not isinstance(doc, dict):
        raise InputError("manifest is not a JSON object")
    if "PostgreSQL-Backup-Manifest-Version" in doc:
        return _parse_postgres(doc, body)
    return _parse_irkit(doc, body)


def _parse_irkit(doc: dict[str, Any], body: bytes) -> Manifest:
    """irkit's own format (version 1; 2 when it records databases' row counts)."""
    version = doc.get("Manifest-Version")
    if not isinstance(version, int) or isinstance(version, bool) or version not in (1, 2):
        raise InputError(f"unsupported manifest version: {version!r}")
    keys = {"Manifest-Version", "Files", "Manifest-Checksum"}
    if version == 2 and "Databases" not in doc:
        raise InputError("unsupported manifest version 2 without Databases")
    keys |= {"Databases"} if version == 2 else set()
    keys |= {"Meta"} & set(doc)  # optional: written by `backup manifest --meta`
    if set(doc) != keys:
        raise InputError(f"unexpected manifest keys: {sorted(doc)}")
    if hashlib.sha256(body).hexdigest() != doc["Manifest-Checksum"]:
        raise InputError("manifest checksum mismatch (edited or corrupted)")
    files = doc["Files"]
    if not isinstance(files, list):
        raise InputError("manifest Files is not a list")
    seen: set[str] = set()
    out: list[FileRecord] = []
    for item in files:
        if not isinstance(item, dict):
            raise InputError("manifest file entry is not an object")
        # Path, or Encoded-Path (hex) for a name that is not UTF-8; never outside the root
        path, size = _pg_path(item), item.get("Size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InputError(f"manifest entry {path!r}: bad Size")
        if "Checksum" in item and item.get("Checksum-Algorithm") != "SHA256":
            raise InputError(f"manifest entry {path!r}: checksum without SHA256 algorithm")
        digest = item.get("Checksum")
        if not isinstance(digest, str) or _SHA256_HEX.fullmatch(digest) is None:
            raise InputError(f"manifest entry {path!r}: bad or missing Checksum")
        known = {"Path", "Encoded-Path", "Size", "Checksum-Algorithm", "Checksum"}
        if set(item) - known - set(backupmeta.KEYS.values()):
            raise InputError(f"manifest entry {path!r}: unknown keys")
        if path in seen:
            raise InputError(f"manifest has duplicate path: {path!r}")
        seen.add(path)
        out.append(FileRecord(path, size, digest, backupmeta.parse_file_fields(item, path) or None))
    return Manifest(
        out,
        "irkit",
        version,
        databases=_parse_databases(doc["Databases"]) if version == 2 else [],
        meta=backupmeta.parse(doc["Meta"]) if "Meta" in doc else None,
    )


def load(path: Path) -> list[FileRecord]:
    return parse(read_input(path, what="manifest"))


def load_manifest(path: Path) -> Manifest:
    return parse_manifest(read_input(path, what="manifest"))


def _parse_databases(raw: Any) -> list[Database]:
    if not isinstance(raw, list) or not raw:
        raise InputError("manifest Databases is not a non-empty list")
    out: list[Database] = []
    for item in raw:
        if not isinstance(item, dict) or set(item) != {"Name", "Engine", "Tables"}:
            raise InputError("manifest database entry needs exactly Name, Engine, Tables")
        name, engine, tables = item["Name"], item["Engine"], item["Tables"]
        if not isinstance(name, str) or not name or engine not in ("postgresql", "sqlite"):
            raise InputError(f"manifest database entry {name!r}: bad Name or Engine")
        if not isinstance(tables, dict) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in tables.values()
        ):
            raise InputError(f"manifest database {name!r}: Tables must map names to row counts")
        out.append(Database(name, engine, dict(tables)))
    return out


_PG_TOP = {
    "PostgreSQL-Backup-Manifest-Version",
    "System-Identifier",
    "Files",
    "WAL-Ranges",
    "Manifest-Checksum",
}
_PG_FILE = {"Path", "Encoded-Path", "Size", "Last-Modified", "Checksum-Algorithm", "Checksum"}
_PG_ALGORITHMS = {"NONE", "CRC32C", "SHA224", "SHA256", "SHA384", "SHA512"}


def _parse_postgres(doc: dict[str, Any], body: bytes) -> Manifest:
    """PostgreSQL's `backup_manifest` (pg_basebackup; "Backup Manifest Format" in its docs):
    version 1, or 2 with System-Identifier (PostgreSQL 17+). Checked as strictly as
    PostgreSQL's own parser: unknown keys, a bad checksum, a path escaping the data
    directory are refused."""
    version = doc.get("PostgreSQL-Backup-Manifest-Version")
    if isinstance(version, bool) or version not in (1, 2):
        raise InputError(f"unsupported PostgreSQL backup_manifest version: {version!r}")
    if set(doc) - _PG_TOP or not {"Files", "Manifest-Checksum"} <= set(doc):
        raise InputError(f"unexpected PostgreSQL backup_manifest keys: {sorted(doc)}")
    if hashlib.sha256(body).hexdigest() != doc["Manifest-Checksum"]:
        raise InputError("manifest checksum mismatch (edited or corrupted)")
    system = doc.get("System-Identifier")
    if version == 2 and (not isinstance(system, int) or isinstance(system, bool)):
        raise InputError("PostgreSQL backup_manifest version 2 without System-Identifier")
    files, wal = doc["Files"], doc.get("WAL-Ranges", [])
    if not isinstance(files, list) or not isinstance(wal, list):
        raise InputError("PostgreSQL backup_manifest Files or WAL-Ranges is not a list")
    out: list[FileRecord] = []
    sums: dict[str, tuple[str, str]] = {}
    for item in files:
        if not isinstance(item, dict) or set(item) - _PG_FILE:
            raise InputError("PostgreSQL backup_manifest file entry has unknown keys")
        path = _pg_path(item)
        size = item.get("Size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InputError(f"manifest entry {path!r}: bad Size")
        algorithm = item.get("Checksum-Algorithm", "NONE")
        digest = item.get("Checksum", "")
        if algorithm not in _PG_ALGORITHMS or not isinstance(digest, str):
            raise InputError(f"manifest entry {path!r}: bad Checksum-Algorithm {algorithm!r}")
        if algorithm != "NONE" and re.fullmatch(r"[0-9a-f]+", digest) is None:
            raise InputError(f"manifest entry {path!r}: bad Checksum")
        if path in sums:
            raise InputError(f"manifest has duplicate path: {path!r}")
        sums[path] = (str(algorithm), digest)
        ok_sha = algorithm == "SHA256" and _SHA256_HEX.fullmatch(digest) is not None
        out.append(FileRecord(path, size, digest if ok_sha else ""))
    return Manifest(
        out,
        "postgresql",
        int(version),
        checksums=sums,
        system_identifier=system if isinstance(system, int) else None,
        wal_ranges=len(wal),
    )


def _pg_path(item: dict[str, Any]) -> str:
    raw = item.get("Path")
    if raw is None and isinstance(item.get("Encoded-Path"), str):
        try:  # a name that is not UTF-8, hex-encoded: kept as surrogate escapes
            raw = os.fsdecode(bytes.fromhex(item["Encoded-Path"]))
        except ValueError as exc:
            raise InputError("manifest entry with a bad Encoded-Path") from exc
    if not isinstance(raw, str) or not raw or "\x00" in raw:
        raise InputError("manifest file entry without Path")
    pure = PurePosixPath(raw)
    if pure.is_absolute() or ".." in pure.parts:
        raise InputError(f"manifest entry {raw!r}: path escapes the backup")
    return raw


def count_sqlite(path: Path, name: str) -> Database:
    """Exact row counts of every table of a SQLite database, read-only."""
    import sqlite3

    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            names = [
                r[0]
                for r in con.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"
                )
            ]
            tables: dict[str, int] = {}
            for n in names:
                quoted = '"' + n.replace('"', '""') + '"'
                query = f"SELECT count(*) FROM {quoted}"  # noqa: S608 (quoted identifier)
                tables[n] = int(con.execute(query).fetchone()[0])
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise InputError(f"cannot count rows of SQLite database {path}: {exc}") from exc
    return Database(name, "sqlite", tables)

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
from dataclasses import dataclass
from pathlib import Path

from irkit import jsonload
from irkit.errors import InputError

VERSION = 1
_CHUNK = 1 << 20
_TAIL = b'"Manifest-Checksum": "'
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class FileRecord:
    path: str
    size: int
    sha256: str


def hash_file(path: Path) -> tuple[int, str]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


def scan(source: Path) -> list[FileRecord]:
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
            out.append(FileRecord(full.relative_to(source).as_posix(), size, digest))
    return out


def render(files: list[FileRecord]) -> bytes:
    lines = [f'{{"Manifest-Version": {VERSION},\n"Files": [\n']
    for i, rec in enumerate(files):
        item = {
            "Path": rec.path,
            "Size": rec.size,
            "Checksum-Algorithm": "SHA256",
            "Checksum": rec.sha256,
        }
        sep = "," if i < len(files) - 1 else ""
        lines.append(json.dumps(item, ensure_ascii=False) + sep + "\n")
    lines.append("],\n")
    body = "".join(lines).encode()
    digest = hashlib.sha256(body).hexdigest()
    return body + _TAIL + digest.encode() + b'"}\n'


def write(source: Path, out: Path) -> list[FileRecord]:
    """Write the manifest atomically (temp file + rename) so nothing half-written remains."""
    files = scan(source)
    data = render(files)
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
    cut = data.rfind(b"\n" + _TAIL)
    if cut < 0:
        raise InputError("manifest has no Manifest-Checksum (truncated?)")
    body = data[: cut + 1]
    doc = jsonload.loads(data, what="manifest")  # strict: no duplicate key, no deep nesting
    if not isinstance(doc, dict):
        raise InputError("manifest is not a JSON object")
    version = doc.get("Manifest-Version")
    if not isinstance(version, int) or isinstance(version, bool) or version != VERSION:
        raise InputError(f"unsupported manifest version: {version!r}")
    if set(doc) != {"Manifest-Version", "Files", "Manifest-Checksum"}:
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
        path, size = item.get("Path"), item.get("Size")
        if not isinstance(path, str) or not path or "\x00" in path:
            raise InputError("manifest file entry without Path")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InputError(f"manifest entry {path!r}: bad Size")
        if "Checksum" in item and item.get("Checksum-Algorithm") != "SHA256":
            raise InputError(f"manifest entry {path!r}: checksum without SHA256 algorithm")
        digest = item.get("Checksum")
        if not isinstance(digest, str) or _SHA256_HEX.fullmatch(digest) is None:
            raise InputError(f"manifest entry {path!r}: bad or missing Checksum")
        if set(item) - {"Path", "Size", "Checksum-Algorithm", "Checksum"}:
            raise InputError(f"manifest entry {path!r}: unknown keys")
        if path in seen:
            raise InputError(f"manifest has duplicate path: {path!r}")
        seen.add(path)
        out.append(FileRecord(path, size, digest))
    return out


def load(path: Path) -> list[FileRecord]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read manifest {path}: {exc.strerror}") from exc
    return parse(data)

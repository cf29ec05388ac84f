"""`--compare meta`: what a restore must bring back besides content.

A backup can hold every byte and still be unusable: a key file restored world-readable, a
service's files owned by root, a config tree whose symlinks now point elsewhere, the empty
spool directories a daemon needs, hardlinks turned into copies. `irkit backup manifest
--meta` records per file mode, owner and mtime, plus the tree's symlink targets, empty
directories and hardlink groups (the manifest's `Meta` section); `backup verify --compare
meta` compares them with what the artifact records. Each difference is a `meta` check.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from irkit.errors import InputError

if TYPE_CHECKING:
    from irkit.backup.manifest import FileRecord

FIELDS = ("mode", "uid", "gid", "mtime")
KEYS = {"mode": "Mode", "uid": "Uid", "gid": "Gid", "mtime": "Mtime"}


@dataclass(frozen=True, slots=True)
class Meta:
    """The tree-level part of the metadata (per-file fields live on each FileRecord)."""

    symlinks: dict[str, str] = field(default_factory=dict)  # path -> target
    empty_dirs: list[str] = field(default_factory=list)
    hardlinks: list[list[str]] = field(default_factory=list)  # groups of >= 2 paths


def file_meta(st: os.stat_result) -> dict[str, int]:
    return {
        "mode": stat.S_IMODE(st.st_mode),
        "uid": st.st_uid,
        "gid": st.st_gid,
        "mtime": int(st.st_mtime),
    }


def scan(source: Path) -> Meta:
    """Symlinks (never followed), empty directories and hardlink groups under SOURCE."""
    links: dict[str, str] = {}
    empty: list[str] = []
    inodes: dict[tuple[int, int], list[str]] = {}
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames.sort()
        here = Path(dirpath)
        if here != source and not dirnames and not filenames:
            empty.append(here.relative_to(source).as_posix())
        for name in sorted(filenames) + [d for d in dirnames if (here / d).is_symlink()]:
            full = here / name
            rel = full.relative_to(source).as_posix()
            try:
                st = full.lstat()
                if stat.S_ISLNK(st.st_mode):
                    links[rel] = str(full.readlink())
                elif stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
                    inodes.setdefault((st.st_dev, st.st_ino), []).append(rel)
            except OSError as exc:
                raise InputError(f"unreadable file {full}: {exc.strerror or exc}") from exc
    groups = sorted(sorted(g) for g in inodes.values() if len(g) > 1)
    return Meta(links, sorted(empty), groups)


def render(meta: Meta) -> str:
    """The manifest's `"Meta": {...},` line (ASCII-escaped: names may not be UTF-8)."""
    doc = {
        "Symlinks": dict(sorted(meta.symlinks.items())),
        "Empty-Directories": meta.empty_dirs,
        "Hardlinks": meta.hardlinks,
    }
    return '"Meta": ' + json.dumps(doc) + ",\n"


def _strings(raw: Any, what: str) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        raise InputError(f"manifest Meta {what} is not a list of paths")
    return list(raw)


def parse(raw: Any) -> Meta:
    if not isinstance(raw, dict) or set(raw) != {"Symlinks", "Empty-Directories", "Hardlinks"}:
        raise InputError("manifest Meta must hold Symlinks, Empty-Directories and Hardlinks")
    links = raw["Symlinks"]
    if not isinstance(links, dict) or not all(isinstance(v, str) for v in links.values()):
        raise InputError("manifest Meta Symlinks is not an object of path: target")
    groups = raw["Hardlinks"]
    if not isinstance(groups, list):
        raise InputError("manifest Meta Hardlinks is not a list of groups")
    return Meta(
        dict(links),
        _strings(raw["Empty-Directories"], "Empty-Directories"),
        [_strings(g, "Hardlinks group") for g in groups],
    )


def parse_file_fields(item: dict[str, Any], path: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, key in KEYS.items():
        if key in item:
            value = item[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InputError(f"manifest entry {path!r}: bad {key}")
            out[name] = value
    return out


def compare(
    expected: list[FileRecord],
    meta: Meta,
    restored_meta: dict[str, dict[str, Any]],
    links: dict[str, str],
    dirs: set[str],
    hardlinks: dict[str, str],
) -> list[tuple[bool, str]]:
    """(ok, message) per difference; one ok line when everything recorded matches. A field
    the artifact does not record (zip has no owner) is not compared."""
    out: list[str] = []
    for rec in expected:
        got = restored_meta.get(rec.path)
        if got is None or rec.meta is None:
            continue
        for name in FIELDS:
            want, have = rec.meta.get(name), got.get(name)
            if want is None or have is None or want == have:
                continue
            if name == "mode":
                out.append(f"{rec.path}: mode {have:04o}, {want:04o} expected")
            else:
                out.append(f"{rec.path}: {name} {have}, {want} expected")
    for path, target in sorted(meta.symlinks.items()):
        if path not in links:
            out.append(f"{path}: symlink missing (-> {target})")
        elif links[path] != target:
            out.append(f"{path}: symlink points to {links[path]}, {target} expected")
    for path in sorted(set(links) - set(meta.symlinks)):
        out.append(f"{path}: extra symlink (-> {links[path]})")
    for path in meta.empty_dirs:
        if path not in dirs:
            out.append(f"{path}: empty directory missing")
    roots = {p: _root(p, hardlinks) for p in hardlinks}
    for group in meta.hardlinks:
        if len({roots.get(p, p) for p in group}) > 1:
            out.append(f"hardlink group {', '.join(group)}: not restored as one file")
    if not out:
        return [(True, f"{len(expected)} file(s): mode, owner, mtime, links and dirs match")]
    return [(False, m) for m in out]


def _root(path: str, hardlinks: dict[str, str]) -> str:
    seen = {path}
    while path in hardlinks and hardlinks[path] not in seen:
        path = hardlinks[path]
        seen.add(path)
    return path

"""A case's local side of its remotes: settings, what was published, what was set aside.

`remotes.json` (in the case folder) holds each remote's URL and non-secret settings.
`.irkit-remote/<name>.json` is this copy's view of that remote: how many local entries are
known to be published there, and the largest remote checkpoint ever seen (rollback and fork
detection compare against it). `.irkit-remote/<name>/` keeps append-only JSON lines:
`publications.jsonl` (every claim seen: which entries, and the signed checkpoint with its
publication time), `superseded.jsonl` (local lines a rebase replaced; never deleted) and
`conflicts.jsonl` (entries held back because they conflict with what others published).

Light on imports: `irkit log` and `timeline` read the publication state on every run.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from irkit.errors import InputError
from irkit.formats import jsonload
from irkit.record import safefile

REMOTES_NAME = "remotes.json"
STATE_DIR = ".irkit-remote"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")


class RemoteConfig(BaseModel):
    """One remote as `remotes.json` stores it: the URL and non-secret settings only."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    url: str
    endpoint_url: str | None = None
    profile: str | None = None
    region: str | None = None
    lock_mode: str | None = None
    retention_days: int | None = None
    legal_hold: bool = False

    @field_validator("url")
    @classmethod
    def _absolute(cls, url: str) -> str:
        """A folder remote is stored as an absolute path: a relative one would be resolved
        from wherever the next command runs (inside the clone, it names a folder there)."""
        from urllib.parse import urlsplit

        if urlsplit(url).scheme == "s3":
            return url
        from irkit.remote.backend import directory_path

        return str(directory_path(url))

    def settings(self) -> Any:
        """The backend's RemoteSettings (validated there: patterns, ranges)."""
        from irkit.remote.backend import RemoteSettings

        data = self.model_dump(exclude={"url"}, exclude_defaults=True)
        try:
            return RemoteSettings.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InputError(f"remote setting {where}: {first['msg']}") from None


class View(BaseModel):
    """This copy's knowledge of one remote (`.irkit-remote/<name>.json`)."""

    model_config = ConfigDict(extra="forbid")

    format: int = 1
    # local entries 0..published-1 are, byte for byte, the remote's first entries
    published: int = 0
    published_hash: str | None = None  # entry hash of entry published-1
    # the largest remote checkpoint seen: its size, root (hex) and the note itself
    seen_size: int = 0
    seen_root: str | None = None
    seen_note: str | None = None


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise InputError(
            f"invalid remote name {name!r}: letters, digits, _ and - (at most 32, "
            "starting with a letter or digit)"
        )
    return name


def load_remotes(root: Path) -> dict[str, RemoteConfig]:
    path = root / REMOTES_NAME
    try:
        data = safefile.read_bytes(path)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    doc = jsonload.loads(data, what=str(path))
    if (
        not isinstance(doc, dict)
        or doc.get("format") != 1
        or not isinstance(doc.get("remotes"), dict)
    ):
        raise InputError(f"{path} is not an irkit remotes file (format 1)")
    out: dict[str, RemoteConfig] = {}
    for name, entry in doc["remotes"].items():
        try:
            out[check_name(name)] = RemoteConfig.model_validate(entry)
        except ValidationError as exc:
            raise InputError(f"{path}: remote {name!r} is malformed") from exc
    return out


def save_remotes(root: Path, remotes: dict[str, RemoteConfig]) -> None:
    doc = {
        "format": 1,
        "remotes": {n: c.model_dump(exclude_defaults=True) for n, c in sorted(remotes.items())},
    }
    safefile.atomic_write(root / REMOTES_NAME, (json.dumps(doc, indent=2) + "\n").encode())


def get_remote(root: Path, name: str | None) -> tuple[str, RemoteConfig]:
    """The remote `name`, or the only one when `name` is None."""
    remotes = load_remotes(root)
    if name is None:
        if len(remotes) == 1:
            return next(iter(remotes.items()))
        if not remotes:
            raise InputError(
                "this case has no remote", hint="add one with `irkit remote add NAME URL`"
            )
        raise InputError(f"this case has several remotes; name one of: {', '.join(remotes)}")
    if name not in remotes:
        have = ", ".join(remotes) or "none"
        raise InputError(f"no remote named {name!r} (remotes: {have})")
    return name, remotes[name]


@dataclass(frozen=True)
class Paths:
    """Where one remote's local state lives."""

    root: Path
    name: str

    @property
    def base(self) -> Path:
        return self.root / STATE_DIR

    @property
    def view(self) -> Path:
        return self.base / f"{self.name}.json"

    @property
    def folder(self) -> Path:
        return self.base / self.name

    @property
    def publications(self) -> Path:
        return self.folder / "publications.jsonl"

    @property
    def superseded(self) -> Path:
        return self.folder / "superseded.jsonl"

    @property
    def conflicts(self) -> Path:
        return self.folder / "conflicts.jsonl"

    @property
    def lock(self) -> Path:
        return self.base / f".{self.name}.lock"


def load_view(paths: Paths) -> View:
    try:
        data = safefile.read_bytes(paths.view)
    except FileNotFoundError:
        return View()
    except OSError as exc:
        raise InputError(f"cannot read {paths.view}: {exc.strerror}") from exc
    try:
        return View.model_validate(jsonload.loads(data, what=str(paths.view)))
    except ValidationError as exc:
        raise InputError(f"{paths.view} is malformed", hint="remove it and pull again") from exc


def save_view(paths: Paths, view: View) -> None:
    paths.base.mkdir(exist_ok=True)
    safefile.atomic_write(paths.view, (view.model_dump_json(indent=1) + "\n").encode())


def append_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    """Append records durably (one write, fsync): these files are never rewritten."""
    if not records:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"".join(
        json.dumps(r, sort_keys=True, separators=(",", ":")).encode() + b"\n" for r in records
    )
    fd = safefile.open_regular(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Records of one of these files; a torn last line (a crash) is passed over."""
    try:
        data = safefile.read_bytes(path)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    out: list[dict[str, Any]] = []
    for line in data.split(b"\n"):
        if not line:
            continue
        with contextlib.suppress(ValueError, InputError):
            doc = jsonload.loads(line, what=str(path))
            if isinstance(doc, dict):
                out.append(doc)
    return out


@contextlib.contextmanager
def sync_lock(paths: Paths) -> Iterator[None]:
    """One sync of one remote at a time on this copy (others wait)."""
    paths.base.mkdir(exist_ok=True)
    fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# -- what readers show: published or not, and when ----------------------------------------


@dataclass(frozen=True)
class Publication:
    """Whether an entry is published on some remote, and the time of the first checkpoint
    that covered it (the publisher's signed `time` line)."""

    remote: str | None
    published: bool
    time: str | None


class PublicationIndex:
    """Entry seq -> Publication, from every remote's local state (no network)."""

    def __init__(self, root: Path) -> None:
        self._published = 0
        self._remote: str | None = None
        self._starts: list[tuple[int, int, str | None]] = []  # (start, end, time)
        try:
            remotes = load_remotes(root)
        except InputError:
            remotes = {}
        self.configured = bool(remotes)
        for name in remotes:
            paths = Paths(root, name)
            try:
                view = load_view(paths)
            except InputError:
                continue
            if view.published >= self._published:
                self._published, self._remote = view.published, name
            for rec in read_jsonl(paths.publications):
                start, count = rec.get("start"), rec.get("count")
                if type(start) is int and type(count) is int:
                    self._starts.append((start, start + count, _time_of(rec.get("checkpoint"))))
        self._starts.sort()

    def of(self, seq: int) -> Publication:
        if seq >= self._published:
            return Publication(self._remote, False, None)
        time = None
        for start, end, when in self._starts:
            if start > seq:
                break
            if seq < end and when is not None and (time is None or when < time):
                time = when
        return Publication(self._remote, True, time)


def _time_of(note: Any) -> str | None:
    """The `time` extension line of a published checkpoint note, if it has one."""
    if not isinstance(note, str):
        return None
    for line in note.split("\n\n", 1)[0].split("\n")[3:]:
        if line.startswith("time "):
            return line[5:]
    return None

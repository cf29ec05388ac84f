"""Evidence collection: files copied into the case store while hashed, with where, when and
by whom, as one signed `evidence.collected` entry per collection (a folder of 100,000 files
costs one signature and one fsync of the journal, not 100,000).

Item ids (E-0001, E-0002, ...) follow journal order; verification checks they do.
"""

from __future__ import annotations

import base64
import contextlib
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from irkit.errors import InputError
from irkit.evidence import custody
from irkit.evidence.source import IpAddress, MacAddress, ip_address, mac_address
from irkit.evidence.source import unique as _unique
from irkit.formats.ed25519 import Signer
from irkit.formats.timefmt import Clock, format_utc, system_clock
from irkit.hashing import files as hashing
from irkit.record.bodies import ITEM_REF, WHEN_USED, Body, Label, RedactionSalt, SafeInt, Sha256Hex
from irkit.record.case import Case
from irkit.record.entry import Entry
from irkit.record.kinds import body_of
from irkit.record.kindspec import Context, KindSpec
from irkit.record.store import StoredBlob
from irkit.record.summary import clip, plural

KIND = "evidence.collected"
ItemId = Annotated[str, StringConstraints(pattern=r"^E-[0-9]{4,9}$"), ITEM_REF]
UtcStamp = Annotated[
    str,
    StringConstraints(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$"
    ),
]


class EvidenceItem(Body):
    id: ItemId
    path: str  # as collected; non-UTF-8 bytes escaped with surrogateescape -> see path_b64
    path_b64: str | None = None  # exact bytes when the name is not valid UTF-8
    sha256: Sha256Hex
    md5: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")] | None = None
    size: SafeInt
    mode: SafeInt
    uid: SafeInt
    gid: SafeInt
    mtime: UtcStamp
    ctime: UtcStamp
    atime: UtcStamp
    stored: bool  # False: collected by reference, hashed in place


class SkippedPath(Body):
    """A path met during collection that is not a regular file, recorded rather than
    silently passed over: a court may ask why the symlink next to the log was not taken."""

    path: str
    path_b64: str | None = None
    what: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z -]{0,39}$")]
    target: str | None = None  # a symlink's target, not followed


class EvidenceCollected(Body):
    host: Label  # the collecting machine (where irkit ran)
    # the system the evidence came from, when the collector says (`--source-host`); written
    # only when given, so earlier entries stay byte-identical
    source_host: Label | None = None
    # identifying details of the source, when the collector gives them (--serial, --model,
    # --mac, --ip); written only when given, so earlier entries stay byte-identical
    source_serial: Label | None = None
    source_model: Label | None = None
    source_mac: Annotated[list[MacAddress], WHEN_USED] = Field(default_factory=list)
    source_ip: Annotated[list[IpAddress], WHEN_USED] = Field(default_factory=list)
    location: str | None = None
    description: str | None = None
    items: list[EvidenceItem] = Field(min_length=1)
    # Written only when something was skipped, so earlier entries stay byte-identical.
    skipped: Annotated[list[SkippedPath], WHEN_USED] = Field(default_factory=list)
    # Written only when true: the paths and description name people or secrets, and a
    # shared (redacted) report shows their digests instead.
    confidential: Annotated[bool, WHEN_USED] = False
    salt: RedactionSalt | None = None  # with confidential: see irkit/formats/redaction.py


def _what(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISDIR(mode):
        return "directory"
    return "special file"


def _skipped(raw: bytes, mode: int) -> dict[str, Any]:
    record: dict[str, Any] = {**_path_fields(os.path.abspath(raw)), "what": _what(mode)}
    if stat.S_ISLNK(mode):
        # gone or unreadable since the walk: the path alone is recorded
        with contextlib.suppress(OSError):
            record["target"] = os.readlink(raw).decode("utf-8", "backslashreplace")
    return record


def _stamp(ns: int) -> str:
    """Nanoseconds since the epoch as UTC with microseconds, in integers only (a float of
    ns / 1e9 can round x.9999996 s up into the next second)."""
    seconds, rest = divmod(ns, 1_000_000_000)
    return format_utc(datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest // 1000))


def _path_fields(raw: bytes) -> dict[str, Any]:
    try:
        return {"path": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {
            "path": raw.decode("utf-8", "backslashreplace"),
            "path_b64": base64.b64encode(raw).decode("ascii"),
        }


@dataclass
class Item:
    id: str
    seq: int
    body: dict[str, Any]
    collected: Entry
    location: str | None
    description: str | None
    # evidence.relocated entries for it, oldest first (irkit/evidence/relocate.py)
    relocations: list[Entry] = field(default_factory=list)

    @property
    def moved(self) -> list[dict[str, Any]]:
        """The relocation bodies, oldest first: where the original was reached since."""
        return [e.body for e in self.relocations]


@dataclass
class Inventory:
    items: dict[str, Item] = field(default_factory=dict)

    def next_id(self) -> int:
        return len(self.items) + 1

    def add(self, e: Entry) -> None:
        if e.kind == "evidence.relocated":
            moved = self.items.get(e.body["item"])
            if moved is not None:
                moved.relocations.append(e)
            return
        if e.kind != KIND:
            return
        for item in e.body.get("items", []):
            self.items[item["id"]] = Item(
                item["id"], e.seq, item, e, e.body.get("location"), e.body.get("description")
            )


def inventory(entries: Sequence[Entry]) -> Inventory:
    inv = Inventory()
    for e in entries:
        inv.add(e)
    return inv


def collect(
    case: Case,
    signer: Signer,
    paths: Sequence[Path],
    *,
    description: str | None = None,
    location: str | None = None,
    by_reference: bool = False,
    md5: bool = False,
    confidential: bool = False,
    source_host: str | None = None,
    serial: str | None = None,
    model: str | None = None,
    macs: Sequence[str] = (),
    ips: Sequence[str] = (),
    clock: Clock = system_clock,
) -> Entry:
    """Copy (or, by reference, hash in place) every file under `paths`; one signed entry.

    The entry names both machines: `host` where irkit ran, `source_host` the system the
    files came from (a mounted disk or a copied folder is rarely from the collector's own),
    and, when given, the source's serial number, model, MAC and IP addresses (checked and
    written in one spelling before anything is copied).

    MD5 (for tools and forms that still ask for it) is computed in the same read when asked;
    it is off by default because on this hardware it costs more than SHA-256 itself.

    Copies are made inside a store session (`EvidenceStore.writing`), so that nothing they
    put can be cleaned away before the entry naming them is appended. Entries appended by
    others while the files were copied do not void the collection: the item ids are
    renumbered after theirs under the journal lock (`Case.append(rebase=...)`).
    """
    extra: tuple[str, ...] = ("md5",) if md5 else ()
    source = {
        "source_host": source_host or None,
        "source_serial": serial or None,
        "source_model": model or None,
        "source_mac": _unique([mac_address(m) for m in macs]),
        "source_ip": _unique([ip_address(i) for i in ips]),
    }
    for name in ("source_host", "source_serial", "source_model"):
        value = source[name]
        if value is not None and (not str(value).strip() or len(str(value)) > 200):
            flag = "--source-host" if name == "source_host" else f"--{name[7:]}"
            raise InputError(f"{flag} must be 1 to 200 characters, not blank: nothing collected")
    case.check_signer(signer, KIND)
    result = case.read_entries()
    inv = inventory(result.entries)
    last_seq = result.entries[-1].seq if result.entries else -1

    def unreadable(folder: bytes, exc: OSError) -> None:
        # a folder that cannot be listed would leave a silent gap in what was collected
        raise InputError(
            f"cannot collect {os.fsdecode(folder)}: unreadable folder ({exc.strerror}); "
            "nothing was collected"
        ) from exc

    files = list(hashing.walk([os.fsencode(p) for p in paths], onerror=unreadable))
    items: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    stored: list[StoredBlob] = []
    with case.store.writing():  # on failure, removes the copies nobody else may name
        for raw in files:
            try:
                st = os.lstat(raw)  # timestamps as seen before reading
            except OSError as exc:
                raise InputError(f"cannot collect {os.fsdecode(raw)}: {exc.strerror}") from exc
            if not stat.S_ISREG(st.st_mode):
                skipped.append(_skipped(raw, st.st_mode))
                continue
            if by_reference:
                record = hashing.hash_path(raw, ("sha256", *extra))
                if record.kind != "file" or record.note:
                    raise InputError(f"cannot collect {os.fsdecode(raw)}: {record.note}")
                sha256, size = record.digests["sha256"], record.size
                others = {k: v for k, v in record.digests.items() if k != "sha256"}
            else:
                # one read of the source: copied, SHA-256 and MD5 at once; the copy is then
                # read back and re-hashed by the store
                blob = case.store.put_file(Path(os.fsdecode(raw)), extra=extra, sync=False)
                stored.append(blob)
                sha256, size, others = blob.sha256, blob.size, blob.extra
                after = os.lstat(raw)
                if (after.st_size, after.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
                    raise InputError(f"{os.fsdecode(raw)} changed while it was collected")
            absolute = os.path.abspath(raw)
            items.append(
                {
                    "id": _item_id(inv.next_id() + len(items)),
                    **_path_fields(absolute),
                    "sha256": sha256,
                    **others,
                    "size": size,
                    "mode": stat.S_IMODE(st.st_mode),
                    "uid": st.st_uid,
                    "gid": st.st_gid,
                    "mtime": _stamp(st.st_mtime_ns),
                    "ctime": _stamp(st.st_ctime_ns),
                    "atime": _stamp(st.st_atime_ns),
                    "stored": not by_reference,
                }
            )
        if not items:
            raise InputError("nothing to collect: no regular files under the given paths")
        import socket  # only a collection needs it: not at every import of this module

        body = body_of(
            "evidence.collected",
            host=socket.gethostname(),
            items=items,
            **source,
            skipped=skipped,
            confidential=confidential,
            location=location or None,
            description=description or None,
        )
        case.store.sync_all(stored)  # every copy durable before the entry names it

        def renumber(newer: list[Entry]) -> dict[str, Any]:
            """Others collected meanwhile: our items follow theirs (ids run in journal
            order). Nothing else in a collection depends on what came before it."""
            for e in newer:
                inv.add(e)
            first = inv.next_id()
            return {
                **body,
                "items": [{**item, "id": _item_id(first + i)} for i, item in enumerate(items)],
            }

        return case.append(signer, KIND, body, clock=clock, after=last_seq, rebase=renumber)


def _item_id(number: int) -> str:
    return f"E-{number:04d}"


def check_items(case: Case, ids: Sequence[str] = ()) -> list[tuple[str, str | None]]:
    """(item id, problem or None) for the chosen items (all when none are named)."""
    inv = inventory(case.read_entries().entries)
    unknown = [i for i in ids if i not in inv.items]
    if unknown:
        raise InputError(f"no such item: {', '.join(unknown)}")
    out: list[tuple[str, str | None]] = []
    for item_id in ids or list(inv.items):
        item = inv.items[item_id]
        out.append((item_id, item_problem(case.store, item.body, item.moved)))
    return out


def item_problem(
    store: Any, body: dict[str, Any], moved: Sequence[dict[str, Any]] = ()
) -> str | None:
    """What is wrong with an item's bytes, or None. By reference, the original is looked
    for at its newest recorded location first (`moved`: relocations, oldest first)."""
    if body["stored"]:
        return store.check(body["sha256"])  # type: ignore[no-any-return]
    from irkit.evidence.relocate import reference_check

    problem, unreached = reference_check(body, moved)
    if unreached is not None:
        return (
            f"original not reachable here: {unreached}; `irkit evidence relocate "
            f"{body['id']} PATH` records where it can be reached now"
        )
    return problem


def verify_rule(entry: Entry, ctx: Context) -> None:
    """Item ids run E-0001, E-0002... in journal order; stored copies are re-hashed later;
    then the items' custody begins (irkit/evidence/custody.py)."""
    state = ctx.state.setdefault("evidence", {"count": 0, "items": []})
    for item in entry.body["items"]:
        state["count"] += 1
        expected = f"E-{state['count']:04d}"
        if item["id"] != expected:
            ctx.problem(entry.seq, "evidence-id", f"item {item['id']} should be {expected}")
        state["items"].append((entry.seq, item))
    custody.verify_rule(entry, ctx)


def verify_finish(ctx: Context) -> None:
    """Re-hash every item: stored copies in the store, originals collected by reference at
    their newest reachable location. An original not reachable on this machine is "not
    checked here": a warning, or a problem with `require_content`."""
    if not ctx.content or ctx.case_root is None:
        return
    from irkit.evidence.relocate import reference_check
    from irkit.record.store import EvidenceStore

    store = EvidenceStore(ctx.case_root / "evidence")
    state = ctx.state.setdefault("evidence", {})
    items = state.get("items", [])
    moved = state.get("moved", {})

    def check(seq_item: tuple[int, dict[str, Any]]) -> tuple[str | None, str | None]:
        item = seq_item[1]
        if item["stored"]:
            return store.check(item["sha256"]), None
        return reference_check(item, moved.get(item["id"], ()))

    # hashlib releases the GIL: several items re-hash at once, problems still in order
    from concurrent.futures import ThreadPoolExecutor  # only a re-check needs it

    unreached = 0
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        found = pool.map(check, items)
        for (seq, item), (problem, missing) in zip(items, found, strict=True):
            if problem is not None:
                ctx.problem(seq, "evidence", f"item {item['id']} ({item['path']}): {problem}")
            elif missing is not None:
                unreached += 1
                message = (
                    f"item {item['id']} (collected by reference) not checked here: the "
                    f"original is not reachable at {missing}"
                )
                if ctx.require_content:
                    ctx.problem(seq, "not-checked-here", message)
                else:
                    ctx.warn(
                        seq,
                        "not-checked-here",
                        f"{message}; `irkit evidence relocate {item['id']} PATH` records "
                        "where it can be reached now",
                    )
    state["rechecked"] = len(items) - unreached  # verify's count
    state["unreached"] = unreached


@dataclass(frozen=True)
class Exported:
    item: str
    path: Path
    sha256: str
    size: int


def export_item(case: Case, item_id: str, dest: Path, *, force: bool = False) -> Exported:
    """Copy item `item_id` out of the store to `dest` (a file, or a folder to put it in under
    its original name), verified: the bytes written are hashed as they are copied and must
    match the recorded SHA-256, else nothing is left at `dest` (exit 1). Written beside
    `dest` and renamed into place, so `dest` is whole or untouched; an existing file is
    replaced only with `force`. The copy gets the original's recorded mtime."""
    import hashlib

    from irkit.errors import ProblemsFound
    from irkit.formats.timefmt import parse_utc
    from irkit.record import safefile

    inv = inventory(case.read_entries().entries)
    item = inv.items.get(item_id.strip().upper())
    if item is None:
        have = ", ".join(inv.items) if inv.items else "none yet"
        raise InputError(f"no such item: {item_id} (items: {have})")
    body = item.body
    if not body["stored"]:
        raise InputError(
            f"{item.id} was collected by reference: the store holds no copy (the original "
            f"was at {body['path']})"
        )
    original = os.path.basename(body["path"].rstrip("/")) or item.id
    if dest.is_dir():
        dest = dest / original
    if not force and os.path.lexists(dest):
        raise InputError(f"{dest} exists: nothing written (--force replaces it)")
    if not dest.parent.is_dir():
        raise InputError(f"cannot write {dest}: no folder {dest.parent}")
    source = case.store.path_for(body["sha256"])
    try:
        src = safefile.open_regular(source)
    except OSError as exc:
        raise ProblemsFound(
            f"the stored copy of {item.id} cannot be read ({exc.strerror}): nothing exported; "
            "run `irkit verify`"
        ) from exc
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.irkit-export")
    digest = hashlib.sha256()
    size = 0
    try:
        try:
            out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise InputError(f"cannot write {dest}: {exc.strerror}") from exc
        try:
            while chunk := os.read(src, 1 << 20):
                digest.update(chunk)
                size += len(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(out, view) :]
            os.fsync(out)
        finally:
            os.close(out)
        if digest.hexdigest() != body["sha256"] or size != body["size"]:
            raise ProblemsFound(
                f"the stored copy of {item.id} no longer matches its recorded digest: nothing "
                "exported; run `irkit verify`"
            )
        mtime = parse_utc(body["mtime"]).timestamp()
        os.utime(tmp, (mtime, mtime))
        if force:
            os.replace(tmp, dest)
        else:
            try:
                os.link(tmp, dest)  # never over a file that appeared meanwhile
            except FileExistsError as exc:
                raise InputError(f"{dest} exists: nothing written (--force replaces it)") from exc
            except OSError:
                if os.path.lexists(dest):
                    raise InputError(f"{dest} exists: nothing written") from None
                os.rename(tmp, dest)  # a file system without hard links
        safefile.fsync_dir(dest.parent)
    finally:
        os.close(src)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return Exported(item.id, dest, body["sha256"], size)


def _collected_summary(e: Entry) -> str:
    b = e.body
    items = b.get("items", [])
    ids = f"{items[0]['id']}..{items[-1]['id']}" if len(items) > 1 else items[0]["id"]
    where = f" at {b['location']}" if b.get("location") else ""
    desc = clip(str(b.get("description", "")), 40)
    return f"{plural(len(items), 'item')} {ids}{where}: {desc}"


KIND_SPECS = (KindSpec("evidence.collected", EvidenceCollected, verify_rule, _collected_summary),)

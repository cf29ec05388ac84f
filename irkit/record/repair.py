"""Recovery from a crash mid-append: set a torn last line aside, keep every complete entry."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from irkit.errors import JournalError
from irkit.formats.canonical import parse_canonical
from irkit.formats.timefmt import format_utc, system_clock
from irkit.record.case import Case
from irkit.record.entry import ENTRY_FIELDS
from irkit.record.journal import GENESIS_PREV, TornTail, entry_hash, fsync_dir, scan_bytes


@dataclass(frozen=True)
class RepairResult:
    action: str  # "none", "completed", "quarantined", "declined"
    torn_bytes: int
    quarantine: str | None  # file name inside the case folder


def repair(case: Case, confirm: Callable[[TornTail], bool]) -> RepairResult:
    """Deal with a torn tail; anything else wrong is evidence and is left for `verify`."""
    with case._journal.locked() as locked:
        size = locked.size()
        scan = scan_bytes(locked.read_range(0, size))
        torn = scan.torn
        if torn is None:
            return RepairResult("none", 0, None)
        obj, problem = parse_canonical(torn.data)
        expected_prev = entry_hash(scan.lines[-1]) if scan.lines else GENESIS_PREV
        if (
            obj is not None
            and problem is None
            and set(obj) == set(ENTRY_FIELDS)
            and obj.get("seq") == len(scan.lines)
            and obj.get("prev") == expected_prev
        ):
            # the crash hit after the entry but before its newline: complete it
            locked.append_line(b"")
            case.invalidate_state()
            return RepairResult("completed", len(torn.data), None)
        if not confirm(torn):
            return RepairResult("declined", len(torn.data), None)
        stamp = format_utc(system_clock()).replace(":", "").replace(".", "-")
        name = f"journal.quarantine-{stamp}.bin"
        path = case.root / name
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        except OSError as exc:
            raise JournalError(f"cannot write quarantine file {name}: {exc.strerror}") from exc
        try:
            os.write(fd, torn.data)
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(case.root)
        locked.truncate(torn.offset)
        case.invalidate_state()
        return RepairResult("quarantined", len(torn.data), name)

"""Recovery of a journal that cannot be appended to: a torn last line after a crash, or
lines appended from another copy of the case. Every complete entry that chains is kept;
what is set aside goes to a quarantine file beside the journal, never deleted."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from irkit.errors import JournalError, ProblemsFound
from irkit.formats.canonical import parse_canonical
from irkit.formats.timefmt import format_utc, system_clock
from irkit.record.case import BrokenChain, Case, chain_break
from irkit.record.entry import ENTRY_FIELDS
from irkit.record.journal import GENESIS_PREV, TornTail, entry_hash, fsync_dir, scan_bytes
from irkit.record.store import QUARANTINE_PREFIX


@dataclass(frozen=True)
class ForeignLines:
    """Lines from `index` (0-based) to the end that do not continue the journal's chain:
    the first claims a position already taken, or is no entry at all (another copy's
    lines appended, e.g. `cat bob/journal.jsonl >> journal.jsonl`)."""

    index: int
    offset: int
    count: int  # complete lines set aside (a torn tail after them goes too)
    data: bytes
    reason: str


@dataclass(frozen=True)
class RepairResult:
    action: str  # "none", "completed", "quarantined", "declined", "foreign"
    torn_bytes: int
    quarantine: str | None  # file name inside the case folder
    foreign: ForeignLines | None = None


def repair(
    case: Case,
    confirm: Callable[[TornTail], bool],
    confirm_foreign: Callable[[ForeignLines], bool] | None = None,
) -> RepairResult:
    """Deal with a torn tail or appended foreign lines; anything else wrong (an altered or
    missing entry, a forged last entry) is evidence: refused (ProblemsFound), left for
    `verify`, nothing changed."""
    with case._journal.locked() as locked:
        size = locked.size()
        data = locked.read_range(0, size)
        scan = scan_bytes(data)
        torn = scan.torn
        complete = torn.offset if torn is not None else size
        foreign = _foreign_lines(data, complete, len(scan.lines))
        if foreign is not None:
            if confirm_foreign is None or not confirm_foreign(foreign):
                return RepairResult("declined", 0, None, foreign)
            name = _quarantine(case, data[foreign.offset :], "foreign.jsonl")
            locked.truncate(foreign.offset)
            case.invalidate_state()
            return RepairResult("foreign", len(torn.data) if torn else 0, name, foreign)
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
            and chain_break(data[:complete] + torn.data + b"\n") is None  # signed, by a member
        ):
            # the crash hit after the entry but before its newline: complete it
            locked.append_line(b"")
            case.invalidate_state()
            return RepairResult("completed", len(torn.data), None)
        if not confirm(torn):
            return RepairResult("declined", len(torn.data), None)
        name = _quarantine(case, torn.data, "bin")
        locked.truncate(torn.offset)
        case.invalidate_state()
        return RepairResult("quarantined", len(torn.data), name)


def _foreign_lines(data: bytes, complete: int, count: int) -> ForeignLines | None:
    """Where the chain of the complete lines breaks in a way repair may fix, or None when
    it does not break. A break that is evidence raises ProblemsFound."""
    broken = chain_break(data[:complete])
    if broken is None:
        return None
    if broken.code not in BrokenChain.FOREIGN or broken.offset == 0:
        raise ProblemsFound(
            f"{broken.message.removesuffix('; nothing was written')}: not lines from another "
            "copy, so `irkit repair` changed nothing",
            hint=broken.hint,
        )
    kept = chain_break(data[: broken.offset]) if broken.offset else None
    if kept is not None:  # what stays must itself end in a verifying entry
        raise ProblemsFound(
            f"{kept.message.removesuffix('; nothing was written')}: `irkit repair` changed nothing",
            hint=kept.hint,
        )
    return ForeignLines(
        broken.index,
        broken.offset,
        count - broken.index,
        data[broken.offset :],
        broken.detail,
    )


def _quarantine(case: Case, data: bytes, suffix: str) -> str:
    """Write `data` to a new read-only quarantine file (durably) and return its name."""
    stamp = format_utc(system_clock()).replace(":", "").replace(".", "-")
    name = f"{QUARANTINE_PREFIX}{stamp}.{suffix}"
    path = case.root / name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    except OSError as exc:
        raise JournalError(f"cannot write quarantine file {name}: {exc.strerror}") from exc
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)
    fsync_dir(case.root)
    return name

"""The cases under a folder (`irkit case list DIR`): where they are, what state they are
in, their priority, folded from each journal like every other view.

A case that cannot be read is listed with what is wrong rather than ending the listing:
one damaged folder must not hide the other forty.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from irkit.errors import InputError, IrkitError
from irkit.record.case import MARKER_NAME, Case

MAX_DEPTH = 4  # ~/cases/2026/11/CASE-42: deep enough for a year/month layout


@dataclass(frozen=True)
class CaseRow:
    path: str
    case_id: str | None
    title: str | None
    state: str | None
    priority: int | None
    opened: str | None  # the opening entry's time (UTC)
    last_activity: str | None  # the last entry's time (UTC)
    entries: int
    problem: str | None = None  # why the case could not be read; the other fields are None


def find_cases(folder: Path, *, max_depth: int = MAX_DEPTH) -> list[Path]:
    """Case folders at or below `folder` (never inside a case, never hidden folders, never
    through symlinks), sorted by path."""
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder")
    if (folder / MARKER_NAME).is_file():
        return [folder]
    found: list[Path] = []
    base = len(folder.parts)
    for root, dirs, files in os.walk(folder, onerror=None, followlinks=False):
        here = Path(root)
        if MARKER_NAME in files and here != folder:
            found.append(here)
            dirs.clear()  # a case's evidence/ and reports/ hold no cases
            continue
        if len(here.parts) - base >= max_depth:
            dirs.clear()
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
    return sorted(found)


def case_row(root: Path) -> CaseRow:
    from irkit.incident import lifecycle

    try:
        case = Case.open(root)
        entries = case.read_entries().entries
    except (IrkitError, OSError) as exc:
        message = exc.message if isinstance(exc, IrkitError) else str(exc.strerror or exc)
        return CaseRow(str(root), None, None, None, None, None, None, 0, problem=message)
    incident = lifecycle.fold(entries)
    return CaseRow(
        path=str(root),
        case_id=case.info.case_id,
        title=case.info.title,
        state=incident.state,
        priority=incident.priority,
        opened=entries[0].recorded if entries else None,
        last_activity=entries[-1].recorded if entries else None,
        entries=len(entries),
    )


def list_cases(folder: Path) -> list[CaseRow]:
    return [case_row(root) for root in find_cases(folder)]

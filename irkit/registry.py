"""The one registry of entry kinds: each family of kinds -> the module that declares it.

A family is the part of a kind before its first dot (`custody` for `custody.released`). Each
loader below imports its module inside the function, so asking for one kind loads only its
family's module (`irkit note add` does not import the backup or report code); the imports
are real, so mypy checks that every module declares `KIND_SPECS` and that each spec is typed.

It sits beside the layers rather than in one: at module level it imports only the record's
`kindspec`; the record reaches the domains' body models through it, the auditor their rules
and finishers (docs/ARCHITECTURE.md, rule 5).

Adding a kind: declare its `KindSpec` in its module's `KIND_SPECS`; a new family also gets a
loader line in `_FAMILIES`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from irkit.record.kindspec import Finisher, KindSpec

Specs = Sequence[KindSpec]


def _record() -> Specs:
    from irkit.record import bodies

    return bodies.KIND_SPECS


def _notes() -> Specs:
    from irkit.notes import notes

    return notes.KIND_SPECS


def _evidence() -> Specs:
    from irkit.evidence import collect, relocate

    return (*collect.KIND_SPECS, *relocate.KIND_SPECS)


def _custody() -> Specs:
    from irkit.evidence import custody

    return custody.KIND_SPECS


def _incident() -> Specs:
    from irkit.incident import lifecycle

    return lifecycle.KIND_SPECS


def _report() -> Specs:
    from irkit.report import export

    return export.KIND_SPECS


def _backup() -> Specs:
    from irkit.backup import testrestore

    return testrestore.KIND_SPECS


def _checkpoint() -> Specs:
    from irkit.audit import timestamped

    return timestamped.KIND_SPECS


def _lint() -> Specs:
    from irkit.incident import lint

    return lint.KIND_SPECS


_FAMILIES: dict[str, Callable[[], Specs]] = {
    "case": _record,
    "member": _record,
    "note": _notes,
    "evidence": _evidence,
    "custody": _custody,
    "incident": _incident,
    "report": _report,
    "backup": _backup,
    "checkpoint": _checkpoint,
    "lint": _lint,
}


def finishers() -> list[Finisher]:
    """What `irkit verify` runs once after the walk, in this order."""
    from irkit.evidence.collect import verify_finish as evidence_copies
    from irkit.record.leftovers import verify_finish as leftovers

    return [evidence_copies, leftovers]  # leftovers last: they read what evidence found


_loaded: dict[str, dict[str, KindSpec]] = {}


def _family(name: str) -> dict[str, KindSpec]:
    specs = _loaded.get(name)
    if specs is None:
        loader = _FAMILIES.get(name)
        if loader is None:
            return {}  # not cached: names read from a journal are untrusted and unbounded
        specs = _loaded[name] = {s.kind: s for s in loader() if s.kind.startswith(name + ".")}
    return specs


def find(kind: str) -> KindSpec | None:
    """The kind's spec, or None for a kind irkit does not know."""
    return _family(kind.partition(".")[0]).get(kind)


def kinds_of(family: str) -> list[str]:
    """The kinds of one family (`note` -> note.added, ...), loading only that family."""
    return sorted(_family(family))


def every() -> list[KindSpec]:
    """All kinds, sorted by name (loads every family)."""
    return sorted((s for name in _FAMILIES for s in _family(name).values()), key=lambda s: s.kind)

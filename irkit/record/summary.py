"""One-line human summaries of entries (each kind's spec has its own) and the helpers they
share, plus the name map used by listings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from irkit.record.entry import Entry


def names_from(entries: Iterable[Entry]) -> dict[str, str]:
    """Fingerprint -> member name, as the journal (not keys/) states it."""
    names: dict[str, str] = {}
    for e in entries:
        if e.kind == "case.opened":
            info = e.body.get("opener", {})
        elif e.kind == "member.added":
            info = e.body.get("member", {})
        else:
            continue
        if "fingerprint" in info:
            names[info["fingerprint"]] = str(info.get("name", ""))
    return names


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`1 event`, `2 events`: a count with its noun agreeing (`many` for irregular ones)."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def percent(part: float, whole: float) -> str:
    """`88.89%`: a share rounded (never truncated) to two decimals, trailing zeros dropped."""
    if whole <= 0:
        return "-"
    text = f"{100 * part / whole:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def shown_value(value: object) -> str:
    """A field value as a person reads it: `unset` for none, a list comma-separated, text
    as typed (never Python's `None` or `['a', 'b']`)."""
    if value is None:
        return "unset"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return clip(str(value), 40)


def clip(text: str, width: int = 70) -> str:
    """Text on one line, cut with an ellipsis beyond `width` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def summarize(e: Entry) -> str:
    """The entry's one-line summary, from the kind's spec ("" for a kind irkit does not know)."""
    from irkit import registry

    spec = registry.find(e.kind)
    return spec.summary(e) if spec is not None else ""

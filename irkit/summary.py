"""One-line human summaries of entries and the name map used by listings."""

from __future__ import annotations

from collections.abc import Iterable

from irkit.entry import Entry


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


def _clip(text: str, width: int = 70) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def summarize(e: Entry) -> str:
    b = e.body
    match e.kind:
        case "case.opened":
            return f"{b.get('case_id')}: {_clip(str(b.get('title', '')))}"
        case "member.added":
            m = b.get("member", {})
            return f"{m.get('name')} as {m.get('role')}"
        case "member.removed":
            return f"{b.get('fingerprint', '')[:24]}… ({_clip(str(b.get('reason', '')), 40)})"
        case "note.added" | "note.corrected":
            prefix = f"corrects #{b.get('corrects')}: " if e.kind == "note.corrected" else ""
            extra = f" [+{len(b.get('attachments', []))} file(s)]" if b.get("attachments") else ""
            secret = " [confidential]" if b.get("confidential") else ""
            return prefix + _clip(str(b.get("text", ""))) + extra + secret
    return ""

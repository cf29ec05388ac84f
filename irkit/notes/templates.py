"""Note templates: checklists from templates/notes/NAME.toml, answered into one signed note.

A template lists fields (name, label, required). Answers come from a terminal prompt or from
a file (TOML or `name: value` lines) for scripts; the note stores the template name, every
field with its label and answer (in the template's order), and a readable text rendering.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from irkit.errors import InputError
from irkit.record.safefile import read_input_text

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}\Z")


@dataclass(frozen=True)
class TemplateField:
    name: str
    label: str
    required: bool


@dataclass(frozen=True)
class NoteTemplate:
    name: str
    title: str
    description: str
    tags: tuple[str, ...]
    fields: tuple[TemplateField, ...]


def _folder() -> Any:
    return resources.files("irkit.templates").joinpath("notes")


def _user_folder() -> Path:
    """$IRKIT_HOME/templates/notes: an organisation's own checklists (they win over the
    bundled ones of the same name)."""
    from irkit.record.case import irkit_home

    return irkit_home() / "templates" / "notes"


def available() -> list[str]:
    names = {p.name.removesuffix(".toml") for p in _folder().iterdir() if p.name.endswith(".toml")}
    user = _user_folder()
    if user.is_dir():
        names |= {p.stem for p in user.glob("*.toml") if _NAME_RE.match(p.stem)}
    return sorted(names)


def is_path(name: str) -> bool:
    """`--template` names a file (it ends in .toml or has a folder in it), not a template."""
    return name.endswith(".toml") or "/" in name or os.sep in name


def load(name: str) -> NoteTemplate:
    """A checklist by NAME (the user folder, then the bundled ones) or from a file PATH; a
    file's name without .toml is the name the note records."""
    if is_path(name):
        path = Path(name)
        if not path.is_file():
            raise InputError(f"no note template file {name}")
        name = path.stem
        if not _NAME_RE.match(name):
            raise InputError(
                f"{path}: the file name (without .toml) becomes the template's name in the "
                "note: use lowercase letters, digits, - and _"
            )
        raw = read_input_text(path, what="note template")
    else:
        if not _NAME_RE.match(name):
            raise InputError(f"invalid template name {name!r}")
        user = _user_folder() / f"{name}.toml"
        source = _folder().joinpath(f"{name}.toml")
        if user.is_file():
            raw = read_input_text(user, what="note template")
        elif source.is_file():
            raw = source.read_text(encoding="utf-8")
        else:
            raise InputError(
                f"no note template {name!r}",
                hint=f"available: {', '.join(available()) or 'none'}; or give a file PATH.toml",
            )
    try:
        doc = tomllib.loads(raw)
        fields = tuple(
            TemplateField(str(f["name"]), str(f["label"]), bool(f.get("required", True)))
            for f in doc["fields"]
        )
        return NoteTemplate(
            name,
            str(doc["title"]),
            str(doc.get("description", "")),
            tuple(doc.get("tags", [])),
            fields,
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise InputError(f"note template {name!r} is malformed: {exc}") from exc


def answers_from_text(text: str) -> dict[str, str]:
    """Answers for scripts: TOML (`name = "value"`) or plain `name: value` lines."""
    try:
        doc = tomllib.loads(text)
        return {str(k): str(v) for k, v in doc.items()}
    except tomllib.TOMLDecodeError:
        pass
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise InputError(f"answers line {number}: expected `name: value`")
        out[key.strip()] = value.strip()
    return out


def fill(
    template: NoteTemplate,
    answers: dict[str, str] | None = None,
    ask: Callable[[TemplateField], str] | None = None,
) -> list[dict[str, str]]:
    """Answer every field from `answers`, else `ask`; refuse unknown or missing answers."""
    given = dict(answers or {})
    known = {f.name for f in template.fields}
    unknown = sorted(set(given) - known)
    if unknown:
        raise InputError(f"template {template.name} has no field {unknown[0]!r}")
    out: list[dict[str, str]] = []
    for f in template.fields:
        value = given.get(f.name)
        if value is None and ask is not None:
            value = ask(f)
        value = (value or "").strip()
        if f.required and not value:
            raise InputError(f"template {template.name}: {f.name} ({f.label}) needs an answer")
        out.append({"name": f.name, "label": f.label, "value": value})
    return out


def render(template: NoteTemplate, fields: list[dict[str, str]]) -> str:
    lines = [template.title, ""]
    for f in fields:
        lines.append(f"{f['label']}: {f['value'] or '-'}")
    return "\n".join(lines)

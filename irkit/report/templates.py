"""Report templates: TOML files in templates/reports/ (shipped as irkit.templates).

A template picks the title, organisation, classification marking and which sections appear in
what order. Unknown keys or sections are errors, so a typo cannot silently drop a section.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources

from irkit.errors import InputError

SECTIONS = (
    "summary",
    "contents",
    "document_control",
    "executive_summary",
    "checkpoint",
    "incident",
    "timeline_figure",
    "notes",
    "evidence",
    "custody",
    "custody_forms",
    "backups",
    "root_cause",
    "workaround",
    "resolution",
    "confirmation",
    "lessons_learned",
    "kpis",
    "signers",
    "signature_lines",
    "sign_off",
    "verification",
)
_KEYS = {
    "title",
    "organisation",
    "classification",
    "redacted_classification",
    "distribution",
    "reviewers",
    "sections",
}


@dataclass(frozen=True)
class Template:
    name: str
    title: str
    organisation: str
    classification: str
    redacted_classification: str
    distribution: str
    sections: tuple[str, ...]
    reviewers: str = ""

    def marking(self, redacted: bool) -> str:
        return self.redacted_classification if redacted else self.classification


def names() -> list[str]:
    folder = resources.files("irkit.templates").joinpath("reports")
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def load(name: str) -> Template:
    if name not in names():
        raise InputError(f"no report template {name!r}; known: {', '.join(names())}")
    raw = resources.files("irkit.templates").joinpath("reports", f"{name}.toml").read_text("utf-8")
    return parse(name, raw)


def parse(name: str, raw: str) -> Template:
    try:
        doc = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"report template {name}: {exc}") from None
    unknown = sorted(set(doc) - _KEYS)
    if unknown:
        raise InputError(f"report template {name}: unknown keys {', '.join(unknown)}")
    sections = doc.get("sections")
    if not isinstance(sections, list) or not all(isinstance(s, str) for s in sections):
        raise InputError(f"report template {name}: `sections` must be a list of names")
    bad = [s for s in sections if s not in SECTIONS]
    if bad:
        raise InputError(f"report template {name}: unknown sections {', '.join(bad)}")
    text = {k: doc.get(k) for k in _KEYS - {"sections"}}
    for key, value in text.items():
        if value is not None and not isinstance(value, str):
            raise InputError(f"report template {name}: `{key}` must be a string")
    classification = text["classification"] or "CONFIDENTIAL"
    return Template(
        name=name,
        title=text["title"] or "Incident report",
        organisation=text["organisation"] or "irkit",
        classification=classification,
        redacted_classification=text["redacted_classification"] or classification,
        distribution=text["distribution"] or "case members",
        sections=tuple(sections),
        reviewers=text["reviewers"] or "",
    )

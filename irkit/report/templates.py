"""Report templates: TOML files in templates/reports/ (shipped as irkit.templates).

A template picks the title, organisation, classification marking and which sections appear in
what order. Unknown keys or sections are errors, so a typo cannot silently drop a section.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from irkit.errors import InputError
from irkit.record.safefile import read_input

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}\Z")
SECTIONS = (
    "summary",
    "contents",
    "document_control",
    "executive_summary",
    "checkpoint",
    "incident",
    "record",
    "timeline_figure",
    "notes",
    "evidence",
    "custody",
    "custody_forms",
    "backups",
    "backup_pages",
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
    "tlp",
    "logo",
}
TLP = ("TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED")


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
    tlp: str = ""  # FIRST Traffic Light Protocol 2.0 label, printed with the marking
    logo: bytes = b""  # PNG or JPEG bytes, read when the template is loaded

    def marking(self, redacted: bool) -> str:
        base = self.redacted_classification if redacted else self.classification
        return f"{self.tlp} · {base}" if self.tlp else base


def _user_folder() -> Path:
    """$IRKIT_HOME/templates/reports: an organisation's templates (they win over the bundled
    ones of the same name)."""
    from irkit.record.case import irkit_home

    return irkit_home() / "templates" / "reports"


def names() -> list[str]:
    folder = resources.files("irkit.templates").joinpath("reports")
    found = {p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")}
    user = _user_folder()
    if user.is_dir():
        found |= {p.stem for p in user.glob("*.toml") if _NAME.match(p.stem)}
    return sorted(found)


def is_path(name: str) -> bool:
    return name.endswith(".toml") or "/" in name or os.sep in name


def _read(path: Path) -> str:
    from irkit.record.safefile import read_input_text

    return read_input_text(path, what="report template")


def load(name: str) -> Template:
    """A template by NAME ($IRKIT_HOME/templates/reports/, then bundled) or from a PATH."""
    if is_path(name):
        path = Path(name)
        if not path.is_file():
            raise InputError(f"no report template file {name}")
        return parse(name, _read(path), path.parent)
    user = _user_folder() / f"{name}.toml"
    if _NAME.match(name) and user.is_file():
        return parse(name, _read(user), user.parent)
    if name not in names():
        raise InputError(
            f"no report template {name!r}; known: {', '.join(names())}",
            hint="or give a template file: --template PATH.toml",
        )
    raw = resources.files("irkit.templates").joinpath("reports", f"{name}.toml").read_text("utf-8")
    return parse(name, raw)


def _logo(name: str, value: str, folder: Path | None) -> bytes:
    """The logo file's bytes (PNG or JPEG), relative to the template's folder."""
    if folder is None:
        raise InputError(f"report template {name}: a bundled template has no logo")
    path = (folder / value).resolve()
    try:
        data = read_input(path, what="logo", limit=2_000_000)
    except InputError as exc:
        raise InputError(f"report template {name}: {exc.message}") from None
    if not (data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8\xff")):
        raise InputError(f"report template {name}: logo {path} is not a PNG or JPEG image")
    if len(data) > 2_000_000:
        raise InputError(f"report template {name}: logo {path} is over 2 MB")
    import io

    from reportlab.lib.utils import ImageReader

    try:
        width, height = ImageReader(io.BytesIO(data)).getSize()
    except Exception:  # noqa: BLE001 - reportlab/Pillow raise many kinds for a damaged image
        raise InputError(
            f"report template {name}: logo {path} cannot be read as an image"
        ) from None
    if not (width > 0 and height > 0):
        raise InputError(f"report template {name}: logo {path} has no pixels")
    return data


def parse(name: str, raw: str, folder: Path | None = None) -> Template:
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
    tlp = (text["tlp"] or "").upper()
    if tlp and tlp not in TLP:
        raise InputError(f"report template {name}: `tlp` must be one of {', '.join(TLP)}")
    return Template(
        name=name,
        title=text["title"] or "Incident report",
        organisation=text["organisation"] or "irkit",
        classification=classification,
        redacted_classification=text["redacted_classification"] or classification,
        distribution=text["distribution"] or "case members",
        sections=tuple(sections),
        reviewers=text["reviewers"] or "",
        tlp=tlp,
        logo=_logo(name, text["logo"], folder) if text["logo"] else b"",
    )

"""A regular `pip install .` ships every module and data file (issue 13).

pyproject.toml lists packages and data by hand (templates/ and examples/ live at the top
level and are mapped into the package); a folder or file nobody listed works from the
editable install the suite usually runs in and is missing from a regular one. This walks
what the running irkit is made of, plus the mapped top-level folders, against that list.
"""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

import irkit

ROOT = Path(__file__).resolve().parents[2]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
PACKAGES: list[str] = SETUPTOOLS["packages"]
PACKAGE_DIR: dict[str, str] = SETUPTOOLS.get("package-dir", {})
PACKAGE_DATA: dict[str, list[str]] = SETUPTOOLS.get("package-data", {})
SKIP = {"__pycache__"}


def _folders() -> dict[str, Path]:
    """dotted name -> folder, for the imported irkit and the mapped top-level folders."""
    found: dict[str, Path] = {}
    roots = [("irkit", Path(irkit.__file__).parent)]
    roots += [(name, ROOT / d) for name, d in PACKAGE_DIR.items() if (ROOT / d).is_dir()]
    for name, top in roots:
        for folder in [top, *sorted(p for p in top.rglob("*") if p.is_dir())]:
            rel = folder.relative_to(top).parts
            if not SKIP & set(rel):
                found[".".join((name, *rel))] = folder
    return found


def _importable(name: str) -> bool:
    """A folder setuptools can list as a package (a "five-databases" ships as data only)."""
    return all(part.isidentifier() for part in name.split("."))


def _owner(name: str) -> str | None:
    """The listed package a folder's files ship with: itself, or the nearest listed parent
    (package-data globs may reach into sub-folders, e.g. "five-databases/*")."""
    while name and name not in PACKAGES:
        name = name.rpartition(".")[0]
    return name or None


def test_every_folder_with_modules_is_a_listed_package() -> None:
    unlisted = [
        name
        for name, folder in _folders().items()
        if _importable(name) and any(folder.glob("*.py")) and name not in PACKAGES
    ]
    assert not unlisted, f"add to [tool.setuptools] packages in pyproject.toml: {unlisted}"


def test_every_data_file_matches_a_package_data_glob() -> None:
    folders = _folders()
    missing = []
    for name, folder in folders.items():
        for path in sorted(folder.iterdir()):
            if not path.is_file() or path.suffix == ".pyc":
                continue
            owner = _owner(name)
            if path.suffix == ".py" and owner == name:
                continue  # a module of a listed package
            rel = path.relative_to(folders[owner]).as_posix() if owner else path.name
            if not any(fnmatch(rel, g) for g in PACKAGE_DATA.get(owner or "", [])):
                missing.append(f"{owner}: {rel}")
    assert not missing, f"add to [tool.setuptools.package-data] in pyproject.toml: {missing}"


def test_the_packaged_data_is_where_the_code_looks() -> None:
    """What the demo and the templates read at run time comes from the installed package."""
    from importlib.resources import files

    assert files("irkit.templates.reports").joinpath("incident.toml").is_file()
    assert any(p.name.endswith(".toml") for p in files("irkit.templates.notes").iterdir())
    assert files("irkit.examples.demo").is_dir()
    assert files("irkit.report.fonts").joinpath("DejaVuSans.ttf").is_file()

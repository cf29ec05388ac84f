"""The layers of DESIGN.md "Layers" (docs/ARCHITECTURE.md), checked on every import.

Function-level and TYPE_CHECKING imports count: a lazy import is still an arrow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import irkit

ROOT = Path(__file__).resolve().parents[2]
# the irkit that runs (the checkout's, or a regular install's: .ci/run tests both)
PACKAGE = Path(irkit.__file__).resolve().parent
SRC = PACKAGE.parent
DOMAINS = ("notes", "evidence", "hashing", "incident", "backup", "report", "audit", "export")
EMPTY_INITS = ("formats", "record", "audit", "notes", "evidence", "hashing", "incident",
               "backup", "demo", "export")  # fmt: skip


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path, known: set[str]) -> list[tuple[int, str]]:
    """(line, module) for every irkit import in the file, at any depth."""
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                full = f"{node.module}.{a.name}"
                out.append((node.lineno, full if full in known else node.module))
    return [(n, m) for n, m in out if m == "irkit" or m.startswith("irkit.")]


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def rule_broken(importer: str, target: str) -> str | None:
    if within(importer, "irkit.formats") and not (
        target in ("irkit", "irkit.errors") or within(target, "irkit.formats")
    ):
        return "formats import nothing of irkit but irkit.errors"
    for top in ("irkit._cli", "irkit.demo"):
        if within(target, top) and not (
            within(importer, "irkit._cli") or importer == "irkit.__main__" or within(importer, top)
        ):
            return f"nothing but the command line imports {top}"
    if within(importer, "irkit.record"):
        for domain in DOMAINS:
            if within(target, f"irkit.{domain}"):
                return f"the record imports no domain (irkit.{domain})"
    return None


def violations() -> list[str]:
    mods = modules()
    known = set(mods)
    found: list[str] = []
    for name, path in mods.items():
        for line, target in imports(path, known):
            why = rule_broken(name, target)
            if why is not None:
                rel = path.relative_to(SRC)
                found.append(f"{rel}:{line} imports {target}: {why}")
    return found


def test_imports_point_down() -> None:
    found = violations()
    assert not found, "import rules broken (docs/ARCHITECTURE.md):\n" + "\n".join(found)


def test_the_registry_imports_each_domain_only_inside_a_loader() -> None:
    """irkit/registry.py names every domain; at module level it may import only the record's
    kindspec, so importing it (the record does) loads no domain, and asking for one kind
    loads one family (docs/ARCHITECTURE.md, rule 5)."""
    tree = ast.parse((PACKAGE / "registry.py").read_text(encoding="utf-8"))
    top = [
        node.module if isinstance(node, ast.ImportFrom) else a.name
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for a in node.names
    ]
    assert {m for m in top if m and m.startswith("irkit")} == {"irkit.record.kindspec"}, top


def test_long_modules_say_why() -> None:
    """A module over ~500 lines either is split or says why not in its docstring."""
    unexplained = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 520:
            doc = ast.get_docstring(ast.parse(text)) or ""
            if "Longer than ~500 lines" not in doc:
                unexplained.append(f"{path.relative_to(SRC)} ({text.count(chr(10))} lines)")
    assert not unexplained, "split, or say why in the docstring: " + ", ".join(unexplained)


def test_layer_packages_have_empty_inits() -> None:
    """Importing one module of a layer must not import the layer (start-up time)."""
    heavy = []
    for package in EMPTY_INITS:
        init = PACKAGE / package / "__init__.py"
        body = ast.parse(init.read_text(encoding="utf-8")).body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]  # a docstring is fine
        if body:
            heavy.append(str(init.relative_to(SRC)))
    assert not heavy, f"package __init__ files hold code: {heavy}"


def test_every_package_ships() -> None:
    """A package missing from pyproject's list is missing from a regular install."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {module_name(p.parent / "__init__.py") for p in PACKAGE.rglob("__init__.py")}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


def test_the_rules_see_function_level_imports(tmp_path: Path) -> None:
    """The checker itself: a lazy upward import is caught like a top-level one."""
    src = tmp_path / "m.py"
    src.write_text("def f():\n    from irkit.audit.verify import verify_case\n")
    assert imports(src, set()) == [(2, "irkit.audit.verify")]
    assert rule_broken("irkit.record.checkpoints", "irkit.audit.verify") is not None
    assert rule_broken("irkit.formats.signednote", "irkit.formats.ed25519") is None
    assert rule_broken("irkit.formats.merkle", "irkit.record.journal") is not None
    assert rule_broken("irkit.audit.verify", "irkit._cli._common") is not None
    assert rule_broken("irkit._cli.demo", "irkit.demo.story") is None

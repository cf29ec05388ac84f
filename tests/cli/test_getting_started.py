"""Issue #18, getting started: `irkit --case DIR COMMAND` as `git -C`, the demo's hints run
as printed, reports land in the case's reports/ folder, the example specs ship with the
package and say where they are, and the five-databases example builds twice."""

from __future__ import annotations

import fnmatch
import os
import shlex
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from irkit.record.case import Case
from tests.conftest import KeyFiles, Runner

ROOT = Path(__file__).resolve().parents[2]


def test_case_is_a_global_option_like_git_c(
    irkit: Runner, key_files: KeyFiles, case: Case, tmp_path: Path
) -> None:
    r = irkit("--case", str(case.root), "note", "add", "global", key=key_files.alice)
    assert r.exit_code == 0, r.output
    r = irkit("--case", str(case.root), "log")
    assert r.exit_code == 0 and "global" in r.output
    # a command's own --case wins over the global one, which wins over $IRKIT_CASE
    r = irkit("--case", str(tmp_path / "nowhere"), "log", "--case", str(case.root))
    assert r.exit_code == 0 and "global" in r.output
    r = irkit("--case", str(tmp_path / "nowhere"), "log", case=case.root)
    assert r.exit_code == 2 and "nowhere" in r.stderr
    r = irkit("--case", str(case.root), "case", "kpi")
    assert r.exit_code == 0 and "TEST-1" in r.output
    # the next command in the same process does not inherit it
    r = irkit("log")
    assert r.exit_code == 2 and "not inside an irkit case" in r.stderr
    assert "--case" in irkit("--help").output


def test_demo_hints_name_real_options_and_run_as_printed(irkit: Runner, tmp_path: Path) -> None:
    assert "irkit --case irkit-demo/case timeline" in " ".join(
        irkit("demo", "--help").output.split()
    )
    r = irkit("demo", str(tmp_path / "d"))
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    case_dir = (tmp_path / "d" / "case").absolute()
    assert f"case folder:   {case_dir}" in lines
    report_lines = [x for x in lines if x.startswith("report:")]
    assert report_lines and all(Path(x.split(None, 1)[1]).is_absolute() for x in report_lines)
    assert all(Path(x.split(None, 1)[1]).is_file() for x in report_lines)
    tries = lines[lines.index("try:") + 1 :]
    commands = [shlex.split(x) for x in tries if x.startswith("  ")]
    assert len(commands) == 2
    for words in commands:
        assert Path(words[0]).name == "irkit"  # bare, or the full path when not on PATH
        out = irkit(*words[1:])
        assert out.exit_code == 0, (words, out.output)


def test_demo_hint_gives_the_full_path_when_irkit_is_not_on_path(tmp_path: Path) -> None:
    """A venv not activated: the hint must be runnable as printed, so it names the binary."""
    binary = Path(sys.executable).parent / "irkit"
    if not binary.is_file():
        pytest.skip(f"no irkit script beside {sys.executable} (not a venv install)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IRKIT_")}
    env["PATH"] = "/usr/bin:/bin"
    env["IRKIT_HOME"] = str(tmp_path / "home")
    proc = subprocess.run(
        [str(binary), "demo", str(tmp_path / "d")],
        capture_output=True,
        env=env,
        timeout=300,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    tries = proc.stdout.split("try:\n", 1)[1].splitlines()
    assert tries[0].startswith(f"  {binary.absolute()} --case ")
    assert "activate" in proc.stdout
    first = shlex.split(tries[0])
    again = subprocess.run(first, capture_output=True, env=env, timeout=60, text=True)
    assert again.returncode == 0, again.stderr


def test_report_goes_to_the_case_reports_folder(
    irkit: Runner, key_files: KeyFiles, case: Case, tmp_path: Path
) -> None:
    pytest.importorskip("reportlab")
    r = irkit("report", key=key_files.alice, case=case.root)
    assert r.exit_code == 0, r.output
    target = (case.root / "reports" / "report-TEST-1.pdf").absolute()
    assert target.is_file() and f"wrote {target} " in r.output
    assert not list(tmp_path.glob("*.pdf"))  # nothing in the working folder
    r = irkit("report", "--template", "custody", "--redact", key=key_files.alice, case=case.root)
    assert r.exit_code == 0, r.output
    assert (case.root / "reports" / "report-TEST-1-custody-redacted.pdf").is_file()
    assert "(default: reports/report-" in irkit("report", "--help").output


def test_examples_list_their_installed_paths(irkit: Runner) -> None:
    r = irkit("demo", "--list-examples")
    assert r.exit_code == 0
    paths = [Path(x) for x in r.output.splitlines()]
    names = {p.relative_to(p.parents[2]).as_posix() for p in paths if len(p.parents) > 2}
    assert "backup/five-databases/spec.toml" in names
    assert any(p.name == "desk-berlin.toml" for p in paths)
    assert all(p.is_absolute() and p.is_file() for p in paths)
    spec = next(p for p in paths if p.as_posix().endswith("five-databases/spec.toml"))
    assert spec.read_text().startswith("# Five SQLite databases")
    assert "--list-examples" in irkit("demo", "--help").output


def test_every_example_file_ships_in_the_package() -> None:
    """pyproject's package data must cover every file under examples/: what `--spec` and
    `--file` point at after a plain `pip install .`."""
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    data = conf["package-data"]
    examples = ROOT / "examples"
    for path in sorted(examples.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.name == "__init__.py":
            continue
        rel = path.relative_to(examples)
        ok = False
        for depth in range(len(rel.parts)):
            package = ".".join(["irkit.examples", *rel.parts[:depth]])
            rest = "/".join(rel.parts[depth:])
            if package in conf["packages"] and any(
                fnmatch.fnmatch(rest, g) for g in data.get(package, [])
            ):
                ok = True
        assert ok, f"examples/{rel} is not shipped (pyproject package-data)"


def _build(dest: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "examples/backup/five-databases/build.py"), str(dest), *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _rows(path: Path) -> int:
    con = sqlite3.connect(path)
    try:
        return int(con.execute("SELECT count(*) FROM records").fetchone()[0])
    finally:
        con.close()


def test_five_databases_build_reruns_and_takes_the_file_name(tmp_path: Path) -> None:
    dest = tmp_path / "data"
    first = _build(dest)
    assert first.returncode == 0, first.stderr
    again = _build(dest, "--empty", "payroll.sqlite")  # a second run, and the file's name
    assert again.returncode == 0 and again.stderr == "", again.stderr
    assert _rows(dest / "payroll.sqlite") == 0 and _rows(dest / "billing.sqlite") == 50
    third = _build(dest, "--empty", "payroll")
    assert third.returncode == 0 and _rows(dest / "payroll.sqlite") == 0
    assert _build(dest).returncode == 0 and _rows(dest / "payroll.sqlite") == 50
    bad = _build(dest, "--empty", "payrol")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "no such database (one of: billing, customers" in bad.stderr
    assert sorted(p.name for p in dest.iterdir()) == [
        "billing.sqlite",
        "customers.sqlite",
        "inventory.sqlite",
        "orders.sqlite",
        "payroll.sqlite",
    ]

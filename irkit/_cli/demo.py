"""`irkit demo`."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from irkit._cli._common import echo, json_option, print_json
from irkit.errors import ProblemsFound


def _examples_root() -> Path:
    from importlib import resources

    return Path(str(resources.files("irkit.examples")))


def _example_files() -> list[Path]:
    """The example files that ship in the package (specs, settings, demo data)."""
    root = _examples_root()
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.name != "__init__.py" and "__pycache__" not in p.parts
    )


def _irkit_command() -> str:
    """How to run irkit again from this shell: bare `irkit` when that is the one on the
    PATH, else the full path of this installation's (a venv not activated: `.venv/bin/irkit`)."""
    candidates = [Path(sys.argv[0])] if sys.argv and Path(sys.argv[0]).name == "irkit" else []
    candidates.append(Path(sys.executable).parent / "irkit")
    found = shutil.which("irkit")
    for here in candidates:
        if here.is_file():
            if found is not None and Path(found).resolve() == here.resolve():
                return "irkit"
            return str(here.absolute())
    return "irkit"


@click.command("demo")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default="irkit-demo")
@click.option(
    "--list-examples",
    is_flag=True,
    help="Print the installed example files (backup specs, desk settings, demo data), one "
    "path a line, and exit: e.g. `--spec` for `irkit backup verify`.",
)
@json_option
def demo_cmd(directory: Path, list_examples: bool, as_json: bool) -> None:
    """Run the whole workflow on bundled example data, in a new DIRECTORY.

    Creates two DEMO keys, a case, members, notes (one corrected, one with an attachment,
    one confidential), evidence with custody, a help-desk incident, a backup test-restore,
    Bob's second machine sharing the case through a directory remote (DIRECTORY/bob-machine),
    a checkpoint and the incident report (in DIRECTORY/case/reports/), and verifies it all.
    Look around afterwards with `irkit --case DIRECTORY/case COMMAND`, e.g.
    `irkit --case irkit-demo/case timeline`.

    `irkit demo --list-examples` prints where the example specs and settings were installed.
    """
    if list_examples:
        files = _example_files()
        if as_json:
            print_json({"root": str(_examples_root()), "files": [str(p) for p in files]})
        else:
            for path in files:
                echo(str(path))
        return
    from irkit.demo.story import run_demo

    result = run_demo(directory)
    if as_json:
        print_json(
            {
                "case": str(result.case_dir.absolute()),
                "keys": {k: str(v.absolute()) for k, v in result.key_files.items()},
                "fingerprints": result.fingerprints,
                "reports": [str(p.absolute()) for p in _reports(result.case_dir)],
                "verify": result.report.model_dump(mode="json"),
            }
        )
    else:
        for number, step in enumerate(result.steps, 1):
            echo(f"{number}. {step}")
        echo("")
        case_dir = result.case_dir.absolute()
        echo(f"case folder:   {case_dir}")
        bobs = result.root.absolute() / "bob-machine" / "case"
        if bobs.is_dir():
            echo(
                f"Bob's machine: {bobs} (a clone, synced through {bobs.parent.parent}/team-remote)"
            )
        echo(f"demo keys:     {', '.join(str(p.absolute()) for p in result.key_files.values())}")
        for path in _reports(result.case_dir):
            echo(f"report:        {path.absolute()}")
        echo(f"trust anchor:  {result.fingerprints['alice']} (Alice, the opener)")
        irkit = _irkit_command()
        echo("try:")
        where = _shell_word(str(case_dir))
        echo(f"  {irkit} --case {where} timeline")
        echo(f"  {irkit} --case {where} verify --trust {result.fingerprints['alice']}")
        if irkit != "irkit":
            activate = Path(irkit).parent / "activate"
            echo(f"(or `. {_shell_word(str(activate))}` first, then plain `irkit ...`)")
    if not result.report.ok:
        raise ProblemsFound(
            "the demo case did not verify: " + "; ".join(str(p) for p in result.report.problems)
        )


def _reports(case_dir: Path) -> list[Path]:
    """The PDFs the demo wrote: in the case's reports/ folder, or (older step) its parent."""
    return sorted((case_dir / "reports").glob("*.pdf")) + sorted(case_dir.parent.glob("*.pdf"))


def _shell_word(text: str) -> str:
    import shlex

    return shlex.quote(text)

"""`irkit demo`."""

from __future__ import annotations

from pathlib import Path

import click

from irkit._cli._common import json_option, print_json
from irkit.errors import ProblemsFound


@click.command("demo")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default="irkit-demo")
@json_option
def demo_cmd(directory: Path, as_json: bool) -> None:
    """Run the whole workflow on bundled example data, in a new DIRECTORY.

    Creates two DEMO keys, a case, members, notes (one corrected, one with an attachment,
    one confidential), a checkpoint, and verifies it all. Look around afterwards with
    `irkit --case DIRECTORY/case ...`-style commands (e.g. `irkit log --case DIR/case`).
    """
    from irkit.demo import run_demo

    result = run_demo(directory)
    if as_json:
        print_json(
            {
                "case": str(result.case_dir),
                "keys": {k: str(v) for k, v in result.key_files.items()},
                "fingerprints": result.fingerprints,
                "verify": result.report.model_dump(mode="json"),
            }
        )
    else:
        for number, step in enumerate(result.steps, 1):
            click.echo(f"{number}. {step}")
        click.echo("")
        click.echo(f"case folder:   {result.case_dir}")
        click.echo(f"demo keys:     {', '.join(str(p) for p in result.key_files.values())}")
        click.echo(f"trust anchor:  {result.fingerprints['alice']} (Alice, the opener)")
        click.echo("try:")
        click.echo(f"  irkit timeline --case {result.case_dir}")
        click.echo(
            f"  irkit verify --case {result.case_dir} --trust {result.fingerprints['alice']}"
        )
    if not result.report.ok:
        raise ProblemsFound(
            "the demo case did not verify: " + "; ".join(str(p) for p in result.report.problems)
        )

"""`irkit gc`: remove what interrupted commands left behind (never a stored file an entry
names)."""

from __future__ import annotations

from pathlib import Path

import click

from irkit._cli._common import case_option, echo, json_option, open_case, print_json
from irkit.errors import InputError
from irkit.record.summary import plural


@click.command("gc")
@click.option("--dry-run", "-n", is_flag=True, help="Only list what would be removed.")
@click.option(
    "--scratch-idle",
    type=click.FloatRange(min=0),
    default=6.0,
    show_default=True,
    metavar="HOURS",
    help="An irkit-restore-* scratch folder counts as left behind once idle this long.",
)
@case_option
@json_option
def gc_cmd(dry_run: bool, scratch_idle: float, case_dir: Path | None, as_json: bool) -> None:
    """Remove crash leftovers: partial copies in evidence/tmp, stored files that no journal
    entry names, empty store folders, and idle irkit-restore-* scratch folders in TMPDIR.

    A stored file that any journal line names is never touched. A command that is copying
    into the store (a collection, a note with attachments) makes gc refuse, not wait: run
    it again when that command has finished. `irkit verify` warns about the same leftovers.
    """
    from irkit.record.leftovers import collect_garbage, human_size, summary

    case = open_case(case_dir)
    result = collect_garbage(case.store, dry_run=dry_run, scratch_idle=scratch_idle * 3600)
    if as_json:
        print_json(result.model_dump(mode="json"))
    else:
        verb = "would remove" if dry_run else "removed"
        if dry_run:
            for item in result.removed:
                echo(f"{item.kind:<12}  {human_size(item.size):>9}  {item.path}")
        for line in summary(result.removed):
            echo(f"{verb} {line}")
        for failure in result.failed:
            echo(f"could not remove {failure}", err=True)
        if not result.removed:
            echo("nothing to remove")
        else:
            echo(f"{'would free' if dry_run else 'freed'} {human_size(result.freed)}")
    if result.failed:
        raise InputError(f"{plural(len(result.failed), 'leftover')} could not be removed")

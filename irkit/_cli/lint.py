"""`irkit lint`: what the standards expect the case to record and it lacks; waivers."""

from __future__ import annotations

from pathlib import Path

import click

from irkit._cli._common import (
    IrkitGroup,
    case_option,
    echo,
    json_option,
    key_options,
    load_signer,
    open_case,
    print_entry,
    print_json,
    short_fp,
)
from irkit.errors import ProblemsFound


@click.group("lint", cls=IrkitGroup, invoke_without_command=True)
@click.option(
    "--max-transit",
    default="24h",
    show_default=True,
    metavar="DURATION",
    help="How long an item may be in transit (released, not yet accepted): 30m, 4h, 2d.",
)
@case_option
@json_option
@click.pass_context
def lint_group(ctx: click.Context, max_transit: str, case_dir: Path | None, as_json: bool) -> None:
    """List what RFC 3227 §4.1 and NIST SP 800-61 §3.3.2 expect and the case lacks: time
    zone, collection and storage locations, source system, transfer method, checks after
    collection, transfers in transit too long, checkpoints no witness or TSA vouches for.

    Exit 1 when anything is missing (a sign-off gate). `irkit lint waive RULE --reason`
    switches a rule off for this case, as a signed entry."""
    if ctx.invoked_subcommand is not None:
        return
    from irkit.incident.lint import lint
    from irkit.incident.settings import parse_duration

    case = open_case(case_dir)
    report = lint(case, max_transit=parse_duration(max_transit))
    if as_json:
        print_json({**report.model_dump(mode="json"), "ok": report.ok})
    else:
        for f in report.findings:
            where = f"entry {f.seq}: " if f.seq is not None and f.item is None else ""
            echo(f"{f.rule}: {where}{f.missing} [{'; '.join(f.standards)}]")
        roster = case.roster().members
        for w in report.waived:
            who = roster[w.by].name if w.by in roster else short_fp(w.by)
            echo(
                f"waived: {w.rule} (entry {w.seq}, by {who}: {w.reason}); "
                f"{w.hidden} finding(s) not shown"
            )
        for text in report.unchecked:
            echo(f"not checked: {text}")
        if report.ok:
            echo(f"{report.case_id}: nothing the checked rules expect is missing")
    if not report.ok:
        raise ProblemsFound(f"{len(report.findings)} thing(s) missing (see above)")


@lint_group.command("waive")
@click.argument("rule")
@click.option("--reason", required=True, help="Why the rule does not apply to this case.")
@case_option
@key_options
@json_option
def waive_cmd(
    rule: str,
    reason: str,
    case_dir: Path | None,
    key_path: Path | None,
    passphrase_file: Path | None,
    as_json: bool,
) -> None:
    """Switch lint RULE off for this case, with a reason (a signed `lint.waived` entry)."""
    from irkit.incident.lint import check_rule, waive

    check_rule(rule)  # before the passphrase prompt
    case = open_case(case_dir)
    entry = waive(case, load_signer(key_path, passphrase_file), rule, reason)
    print_entry(entry, as_json)

"""The `irkit` command line: parse, call the library, print, map errors to exit codes.

Subcommands load lazily so that `irkit note add` imports only what it uses.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from irkit import __version__
from irkit._cli import _common
from irkit._cli._common import IrkitGroup

_COMMANDS: dict[str, tuple[str, str]] = {
    # name: (module, attribute)
    "init": ("irkit._cli.member", "init_cmd"),
    "key": ("irkit._cli.key", "key_group"),
    "member": ("irkit._cli.member", "member_group"),
    "note": ("irkit._cli.note", "note_group"),
    "log": ("irkit._cli.member", "log_cmd"),
    "timeline": ("irkit._cli.note", "timeline_cmd"),
    "case": ("irkit._cli.case", "case_group"),
    "checkpoint": ("irkit._cli.verify", "checkpoint_cmd"),
    "verify": ("irkit._cli.verify", "verify_cmd"),
    "repair": ("irkit._cli.verify", "repair_cmd"),
    "gc": ("irkit._cli.gc", "gc_cmd"),
    "exhibit": ("irkit._cli.exhibit", "exhibit_group"),
    "witness": ("irkit._cli.witness", "witness_group"),
    "timestamp": ("irkit._cli.timestamp", "timestamp_group"),
    "hash": ("irkit._cli.hash", "hash_cmd"),
    "evidence": ("irkit._cli.evidence", "evidence_group"),
    "custody": ("irkit._cli.custody", "custody_group"),
    "backup": ("irkit._cli.backup", "backup_group"),
    "report": ("irkit._cli.report", "report_cmd"),
    "export": ("irkit._cli.export", "export_cmd"),
    "lint": ("irkit._cli.lint", "lint_group"),
    "demo": ("irkit._cli.demo", "demo_cmd"),
    "remote": ("irkit._cli.remote", "remote_group"),
    "clone": ("irkit._cli.remote", "clone_cmd"),
    "pull": ("irkit._cli.remote", "pull_cmd"),
    "push": ("irkit._cli.remote", "push_cmd"),
    "sync": ("irkit._cli.remote", "sync_cmd"),
}

_SHORT_HELP: dict[str, str] = {
    "init": "Open a new case folder and sign its first entry.",
    "key": "Create, show and export signing keys.",
    "member": "Add, list or remove the people who may sign in a case.",
    "note": "Write signed, timestamped notes and corrections.",
    "log": "List journal entries.",
    "timeline": "Notes in the order things happened.",
    "case": "Work the incident: state, priority, SLA clocks, escalation, closure, KPIs.",
    "checkpoint": "Sign a Merkle checkpoint of the journal.",
    "verify": "Check signatures, chain, membership, checkpoints and stored files.",
    "repair": "Set aside a torn last line, or lines appended from another copy.",
    "gc": "Remove crash leftovers (never a stored file an entry names).",
    "exhibit": "Hand over some entries with inclusion proofs, without the rest.",
    "witness": "Cosign others' checkpoints (C2SP tlog-witness): serve, cosign offline.",
    "timestamp": "RFC 3161 timestamps of checkpoints: send queued requests, list them.",
    "report": "Export a reproducible PDF report tied to the journal; check one.",
    "export": "Write the case as CASE/UCO JSON-LD, custody CSV or the verified journal.",
    "lint": "List what RFC 3227 / NIST SP 800-61 expect and the case lacks; waive a rule.",
    "hash": "Hash files fast (several digests, one read); audit a tree against a manifest.",
    "evidence": "Collect files into the case store, list, show and re-check them.",
    "custody": "Two-party transfers and the chain of custody of each item.",
    "backup": "Manifest a backup; test-restore it into scratch space and record the verdict.",
    "demo": "Run the whole workflow on example data in a new folder.",
    "remote": "Add, list or remove the remotes a team case is shared through.",
    "clone": "Make a local case from a remote (verified; only the opener's fingerprint needed).",
    "pull": "Fetch what others published to a remote.",
    "push": "Publish local entries and evidence to a remote.",
    "sync": "Pull, rebase local work after others', publish; report conflicts.",
}


class LazyGroup(IrkitGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module = importlib.import_module(target[0])
        command: click.Command = getattr(module, target[1])
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _SHORT_HELP.get(name, "")) for name in _COMMANDS]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="irkit")
@click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, param, value: _common.set_debug(value),
    help="Show the traceback of an internal error (also IRKIT_DEBUG=1).",
)
@click.option(
    "--case",
    "case_dir",
    type=click.Path(file_okay=False),  # a str: pathlib loads only for commands that use it
    expose_value=False,
    callback=lambda ctx, param, value: _common.set_global_case(value),
    help="The case folder for the command that follows (like git -C; a command's own "
    "--case wins, then this, then $IRKIT_CASE, then the folder you are in).",
)
def cli() -> None:
    """irkit: incident records that hold up later.

    Every act is a signed entry in the case journal (journal.jsonl); reports, timelines and
    inventories are derived from it. Start with `irkit demo DIR` to see the whole workflow,
    or `irkit key generate --name "Your Name"` and `irkit init CASE --title "..."`.

    Exit codes: 0 success/verified, 1 a check found problems, 2 usage or bad input,
    3 an internal error (a bug in irkit: please report it; --debug shows the traceback).
    """
    _common.take_secrets()


def main(argv: list[str] | None = None) -> Any:
    return cli.main(args=argv, prog_name="irkit")

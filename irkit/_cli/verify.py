"""`irkit verify`, `irkit checkpoint`, `irkit repair`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from irkit._cli._common import (
    case_option,
    echo,
    json_option,
    key_options,
    load_signer,
    open_case,
    print_json,
)
from irkit.errors import InputError, IrkitError, ProblemsFound


def _trust_values(values: tuple[str, ...], case: Any = None) -> list[str]:
    from irkit.record.keyfiles import full_fingerprint, read_public

    out = []
    for value in values:
        whole = full_fingerprint(value)
        if whole is not None:
            out.append(whole)
        elif Path(value).is_file():
            out.append(read_public(Path(value)).fingerprint)
        else:
            raise InputError(trust_refusal(value, case))
    return out


def trust_refusal(value: str, case: Any = None) -> str:
    """Why `value` cannot anchor trust. A name or a prefix would be looked up in the very case
    under test, which anyone could have written (8 hex digits take minutes to collide), so an
    anchor is the whole fingerprint given out of band; when the case has a member it names,
    the message shows that member's fingerprint to compare with what you were given."""
    base = (
        f"--trust {value!r} is not a whole fingerprint (ed25519:<64 hex> or the 64 hex "
        "digits) nor a public key file"
    )
    if case is None:
        return base
    try:
        member = case.roster().resolve(value, what="--trust")
    except IrkitError:
        return base
    return (
        f"{base}; in this case it names {member.name} {member.fingerprint}: if that is the "
        "fingerprint you were given out of band, pass it whole"
    )


def _progress_printer() -> Callable[[str, int, int], None] | None:
    """A one-line counter on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(stage: str, done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        click.echo(f"\rverifying {stage}: {done:,}/{total:,}", err=True, nl=False)
        if end:
            click.echo("", err=True)

    return show


@click.command("verify")
@click.option(
    "--trust",
    multiple=True,
    metavar="FINGERPRINT|PUBKEY_FILE",
    help="The opener key you trust, obtained out of band (repeatable).",
)
@click.option(
    "--checkpoint",
    "checkpoints",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A checkpoint you kept earlier: catches truncation and rollback.",
)
@click.option("--no-content", is_flag=True, help="Skip re-hashing stored files.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes (default: cores).")
@case_option
@json_option
def verify_cmd(
    trust: tuple[str, ...],
    checkpoints: tuple[Path, ...],
    no_content: bool,
    jobs: int | None,
    case_dir: Path | None,
    as_json: bool,
) -> None:
    """Check the whole case: every signature, the hash chain, sequence, membership of each
    signer when it signed, the trusted opener, checkpoints, and stored files.

    Exit 0 when everything holds, 1 when anything is wrong (each problem names its entry).
    Every run also says how many trailing entries no --checkpoint covers: those could have
    been dropped unnoticed (a warning; keep checkpoints with `irkit checkpoint -o FILE`).
    """
    from irkit.audit.verify import verify_case

    case = open_case(case_dir)
    report = verify_case(
        case.root,
        trust=_trust_values(trust, case),
        checkpoints=checkpoints,
        content=not no_content,
        jobs=jobs,
        progress=_progress_printer(),
    )
    if as_json:
        print_json(report.model_dump(mode="json") | {"ok": report.ok})
    else:
        for warning in report.warnings:
            echo(f"warning: {warning}", err=True)
        for problem in report.problems:
            echo(f"PROBLEM: {problem}")
        from irkit.record.summary import plural

        click.echo(
            f"case {report.case_id}: {plural(report.entries, 'entry', 'entries')}, "
            f"Merkle root {report.root}"
        )
        for cp in report.checkpoints:
            state = "consistent" if cp.consistent else "INCONSISTENT"
            click.echo(f"checkpoint {cp.source} (size {cp.size}): {state}")
        click.echo(
            f"kept checkpoints cover {report.covered} of {report.entries} entries"
            + (f"; {report.uncovered} not covered" if report.uncovered else "")
        )
        if not no_content:
            click.echo(
                f"re-checked: {plural(report.evidence_checked, 'evidence item')}, "
                f"{plural(report.content_checked, 'other stored file')} (attachments, "
                "manifests, restore results)"
            )
        if report.anchored:
            click.echo(f"anchored: opener {report.opener} is trusted")
        elif not trust:
            click.echo(
                "NOT ANCHORED: the case is self-consistent at best; pass --trust with the "
                "opener's fingerprint, obtained out of band, to anchor it"
            )
        click.echo(
            "VERIFIED" if report.ok else f"FAILED: {plural(len(report.problems), 'problem')}"
        )
    if not report.ok:
        ctx = click.get_current_context()
        ctx.exit(ProblemsFound.exit_code)


@click.command("checkpoint")
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the checkpoint here (keep it somewhere the case's holder can't).",
)
@case_option
@key_options
def checkpoint_cmd(
    out: Path | None, case_dir: Path | None, key_path: Path | None, passphrase_file: Path | None
) -> None:
    """Sign a checkpoint (C2SP signed note: origin, size, Merkle root) of the journal.

    A copy kept elsewhere lets anyone later prove that no entry up to that size was changed,
    removed or reordered: `irkit verify --checkpoint FILE`.
    """
    from irkit.record import checkpoints as checkpoints_mod

    case = open_case(case_dir)
    signer = load_signer(key_path, passphrase_file)
    issued = checkpoints_mod.issue(case, signer, copy_to=out)
    sys.stdout.write(issued.note.decode("utf-8"))
    click.echo(f"kept as {issued.path}" + (f" and {out}" if out else ""), err=True)


@click.command("repair")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@case_option
def repair_cmd(yes: bool, case_dir: Path | None) -> None:
    """Set aside a torn last journal line (a crash mid-write) into a quarantine file.

    Only an incomplete final line is touched; every complete entry is kept. Anything else
    wrong with the journal is evidence: run `irkit verify`.
    """
    from irkit.record.repair import repair

    case = open_case(case_dir)

    def confirm(torn: object) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            raise InputError("refusing to repair without confirmation: pass --yes")
        size = len(getattr(torn, "data", b""))
        return click.confirm(
            f"move the incomplete last line ({size} bytes) to a quarantine file?", err=True
        )

    result = repair(case, confirm)
    messages = {
        "none": "journal has no torn line: nothing to do",
        "completed": "the last entry was complete but lacked its newline: completed it",
        "quarantined": f"moved {result.torn_bytes} bytes to {result.quarantine}",
        "declined": "nothing changed",
    }
    click.echo(messages[result.action])

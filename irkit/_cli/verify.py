"""`irkit verify`, `irkit checkpoint`, `irkit repair`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from irkit._cli._common import (
    case_option,
    echo,
    json_option,
    key_options,
    load_signer,
    open_case,
    print_json,
    progress_printer,
    safe,
)
from irkit._cli.timestamp import checkpoint_tsa_options, verify_tsa_options
from irkit._cli.witness import checkpoint_witness_options, verify_witness_options
from irkit.errors import InputError, IrkitError, ProblemsFound

if TYPE_CHECKING:
    from irkit.record.case import Case


def _trust_values(values: tuple[str, ...], case: Case | None = None) -> list[str]:
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


def trust_refusal(value: str, case: Case | None = None) -> str:
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
@click.option(
    "--require-content",
    is_flag=True,
    help="An original collected by reference that is not reachable here fails (exit 1) "
    "instead of a 'not checked here' warning.",
)
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes (default: cores).")
@click.option(
    "--remote",
    "remote_name",
    help="Also compare with remote NAME: its journal and checkpoints, and every evidence "
    "object (there, checksum, retention).",
)
@verify_witness_options
@verify_tsa_options
@case_option
@json_option
def verify_cmd(
    trust: tuple[str, ...],
    checkpoints: tuple[Path, ...],
    no_content: bool,
    require_content: bool,
    jobs: int | None,
    remote_name: str | None,
    witnesses: tuple[str, ...],
    min_witnesses: int | None,
    tsa_roots: tuple[Path, ...],
    case_dir: Path | None,
    as_json: bool,
) -> None:
    """Check the whole case: every signature, the hash chain, sequence, membership of each
    signer when it signed, the trusted opener, checkpoints, and stored files.

    Exit 0 when everything holds, 1 when anything is wrong (each problem names its entry).
    Every run also says how many trailing entries no --checkpoint covers: those could have
    been dropped unnoticed (a warning; keep checkpoints with `irkit checkpoint -o FILE`).
    """
    from irkit._cli.timestamp import tsa_roots_for_verify
    from irkit._cli.witness import witness_keys_for_verify
    from irkit.audit.verify import verify_case

    if no_content and require_content:
        raise InputError("--no-content and --require-content contradict each other")
    case = open_case(case_dir)
    witness_keys, quorum = witness_keys_for_verify(witnesses, min_witnesses, case.root)
    report = verify_case(
        case.root,
        trust=_trust_values(trust, case),
        checkpoints=checkpoints,
        content=not no_content,
        require_content=require_content,
        jobs=jobs,
        progress=progress_printer("verifying "),
        witnesses=witness_keys,
        min_witnesses=quorum,
        tsa_roots=tsa_roots_for_verify(tsa_roots),
    )
    remote = None
    if remote_name is not None:
        from irkit.remote.sync import verify_remote

        remote = verify_remote(case, remote_name)
    ok = report.ok and (remote is None or remote.ok)
    failed = len(report.problems) + (len(remote.problems) if remote else 0)
    if as_json:
        extra: dict[str, Any] = {"ok": ok}
        if remote is not None:
            extra["remote"] = remote.model_dump(mode="json")
        print_json(report.model_dump(mode="json") | extra)
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
            cosigned = f", cosigned by {len(cp.cosigners)} witness(es)" if cp.cosigners else ""
            click.echo(f"checkpoint {cp.source} (size {cp.size}): {state}{cosigned}")
        click.echo(
            f"kept checkpoints cover {report.covered} of {report.entries} entries"
            + (f"; {report.uncovered} not covered" if report.uncovered else "")
        )
        if report.min_witnesses:
            click.echo(
                f"witnessed ({report.min_witnesses} of {len(report.witnesses)} witnesses): "
                f"{report.witnessed} of {report.entries} entries"
                + (f"; {report.unwitnessed} not covered" if report.unwitnessed else "")
            )
        if report.timestamps:
            click.echo(
                f"timestamped ({plural(report.timestamps, 'RFC 3161 token')} verified): "
                f"{report.timestamped} of {report.entries} entries"
                + ("" if tsa_roots else " (to the roots pinned in the case: pass --tsa-root)")
            )
        if not no_content:
            click.echo(
                f"re-checked: {plural(report.evidence_checked, 'evidence item')}, "
                f"{plural(report.content_checked, 'other stored file')} (attachments, "
                "manifests, restore results)"
                + (
                    f"; {plural(report.not_checked_here, 'item')} by reference not checked "
                    "here (original not reachable)"
                    if report.not_checked_here
                    else ""
                )
            )
        if report.anchored:
            click.echo(f"anchored: opener {report.opener} is trusted")
        elif not trust:
            click.echo(
                "NOT ANCHORED: the case is self-consistent at best; pass --trust with the "
                "opener's fingerprint, obtained out of band, to anchor it"
            )
        if remote is not None:
            for remote_warning in remote.warnings:
                echo(f"warning: remote {remote.remote}: {remote_warning}", err=True)
            for remote_problem in remote.problems:
                echo(f"PROBLEM: remote {remote.remote}: {remote_problem}")
            click.echo(
                f"remote {remote.remote} ({safe(remote.url)}): {remote.remote_entries} entries, "
                f"checkpoint {remote.checkpoint_size}, "
                f"{plural(remote.evidence_checked, 'evidence object')} checked"
            )
        click.echo("VERIFIED" if ok else f"FAILED: {plural(failed, 'problem')}")
    if not ok:  # the one exit path of every command: an IrkitError (exit 1 here)
        from irkit.record.summary import plural

        raise ProblemsFound(f"verification failed: {plural(failed, 'problem')}")


@click.command("checkpoint")
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the checkpoint here (keep it somewhere the case's holder can't).",
)
@case_option
@key_options
@checkpoint_witness_options
@checkpoint_tsa_options
def checkpoint_cmd(
    out: Path | None,
    case_dir: Path | None,
    key_path: Path | None,
    passphrase_file: Path | None,
    **witness_options: Any,
) -> None:
    """Sign a checkpoint (C2SP signed note: origin, size, Merkle root) of the journal.

    A copy kept elsewhere lets anyone later prove that no entry up to that size was changed,
    removed or reordered: `irkit verify --checkpoint FILE`. With --witness, independent
    witnesses cosign it (docs/FORMAT.md "Witnesses"). With --tsa, a TSA timestamps it
    (docs/FORMAT.md "Trusted timestamps").
    """
    from irkit._cli.timestamp import TSA_OPTIONS, checkpoint_with_timestamp, wants_timestamp
    from irkit.record import checkpoints as checkpoints_mod

    tsa_options = {name: witness_options.pop(name) for name in TSA_OPTIONS}
    if wants_timestamp(tsa_options):
        if any(v not in (None, ()) for v in witness_options.values()):
            raise InputError("--tsa and --witness: timestamp and cosign in two commands")
        checkpoint_with_timestamp(
            case_dir=case_dir,
            out=out,
            signer_loader=lambda: load_signer(key_path, passphrase_file),
            **tsa_options,
        )
        return
    if tsa_options["tsa_roots"] or tsa_options["tsa_policy"]:
        raise InputError("--tsa-root and --tsa-policy go with --tsa, --timestamp or --tsa-queue")
    if any(v not in (None, ()) for v in witness_options.values()):
        from irkit._cli.witness import checkpoint_with_witnesses

        checkpoint_with_witnesses(
            case_dir=case_dir,
            out=out,
            signer_loader=lambda: load_signer(key_path, passphrase_file),
            **witness_options,
        )
        return
    case = open_case(case_dir)
    signer = load_signer(key_path, passphrase_file)
    issued = checkpoints_mod.issue(case, signer, copy_to=out)
    sys.stdout.write(issued.note.decode("utf-8"))
    click.echo(f"kept as {issued.path}" + (f" and {out}" if out else ""), err=True)


@click.command("repair")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@case_option
@json_option
def repair_cmd(yes: bool, case_dir: Path | None, as_json: bool) -> None:
    """Make the journal appendable again after a crash or a copy mishap.

    A torn last line (a crash mid-write), or lines appended from another copy of the case
    (the first claims a position already taken), go to a quarantine file beside the
    journal; every complete entry that chains is kept. Anything else wrong with the
    journal (an entry altered or missing) is evidence: refused (exit 1), see `irkit verify`.
    """
    from irkit.record.repair import repair

    case = open_case(case_dir)

    def ask(question: str) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            raise InputError("refusing to repair without confirmation: pass --yes")
        return click.confirm(question, err=True)

    def confirm(torn: object) -> bool:
        size = len(getattr(torn, "data", b""))
        return ask(f"move the incomplete last line ({size} bytes) to a quarantine file?")

    def confirm_foreign(found: Any) -> bool:
        return ask(
            f"move {found.count} line(s) from line {found.index + 1} on ({found.reason}: "
            "appended from another copy) to a quarantine file?"
        )

    result = repair(case, confirm, confirm_foreign)
    found = result.foreign
    if as_json:
        print_json(
            {
                "action": result.action,
                "torn_bytes": result.torn_bytes,
                "quarantine": result.quarantine,
                "foreign": None
                if found is None
                else {"line": found.index + 1, "lines": found.count, "reason": found.reason},
            }
        )
        return
    messages = {
        "none": "journal has no torn line and nothing appended from another copy: nothing to do",
        "completed": "the last entry was complete but lacked its newline: completed it",
        "quarantined": f"moved {result.torn_bytes} bytes to {result.quarantine}",
        "declined": "nothing changed",
    }
    if found is not None and result.action == "foreign":
        echo(
            f"moved {found.count} line(s) appended from another copy (from line "
            f"{found.index + 1}: {found.reason}) to {result.quarantine}; they stay in the copy "
            "they came from: share its work through a remote (`irkit sync`)"
        )
        return
    click.echo(messages[result.action])

"""`irkit init`, `irkit member`, `irkit log`."""

from __future__ import annotations

from pathlib import Path

import click

from irkit._cli._common import (
    IrkitGroup,
    case_option,
    json_option,
    key_options,
    load_signer,
    open_case,
    print_json,
    safe,
    short_fp,
)
from irkit.errors import InputError


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--title", required=True, help="What the case is about.")
@click.option("--id", "case_id", help="Case id (default: CASE-YYYYMMDD-XXXX).")
@click.option(
    "--contact",
    metavar="TEXT",
    help="How to reach you (phone, e-mail), as NIST SP 800-61 asks for each handler.",
)
@key_options
@json_option
def init_cmd(
    directory: Path,
    title: str,
    case_id: str | None,
    contact: str | None,
    key_path: Path | None,
    passphrase_file: Path | None,
    as_json: bool,
) -> None:
    """Create a case folder and sign its opening entry.

    Your key becomes the case's root of trust: give its fingerprint to auditors out of band.
    """
    from irkit.record.case import init_case

    signer = load_signer(key_path, passphrase_file)
    case = init_case(directory, title=title, case_id=case_id, signer=signer, contact=contact)
    if as_json:
        print_json(
            {"case": str(directory), "case_id": case.info.case_id, "opener": signer.fingerprint}
        )
        return
    click.echo(f"opened case {case.info.case_id} in {directory}")
    click.echo(f"opener (root of trust): {signer.fingerprint}")


@click.group("member", cls=IrkitGroup)
def member_group() -> None:
    """Who may sign entries in this case.

    The opener and members with role `lead` add and remove members. An entry signed by a key
    that was not a member at the time fails verification.
    """


@member_group.command("add")
@click.argument("pubkey_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="The member's name as records should show it.")
@click.option("--role", required=True, help="e.g. lead, responder, technician, auditor.")
@click.option(
    "--contact",
    metavar="TEXT",
    help="How to reach them (phone, e-mail), as NIST SP 800-61 asks for each handler.",
)
@case_option
@key_options
@json_option
def member_add_cmd(
    pubkey_file: Path,
    name: str,
    role: str,
    contact: str | None,
    case_dir: Path | None,
    key_path: Path | None,
    passphrase_file: Path | None,
    as_json: bool,
) -> None:
    """Add a member from their exported public key (PEM) or key file."""
    from irkit.record.case import add_member
    from irkit.record.keyfiles import read_public

    case = open_case(case_dir)
    key = read_public(pubkey_file)
    signer = load_signer(key_path, passphrase_file)
    entry = add_member(case, signer, key, name=name, role=role, contact=contact)
    if as_json:
        print_json(entry.to_json())
        return
    click.echo(safe(f"#{entry.seq} added {name} ({role}) {key.fingerprint}"))


@member_group.command("remove")
@click.argument("fingerprint", metavar="MEMBER")
@click.option("--reason", required=True, help="Why the key may no longer sign.")
@case_option
@key_options
def member_remove_cmd(
    fingerprint: str,
    reason: str,
    case_dir: Path | None,
    key_path: Path | None,
    passphrase_file: Path | None,
) -> None:
    """Remove MEMBER (exact name, fingerprint prefix of 8+ hex digits, or fingerprint):
    later entries signed by that key fail verification. Refused while they hold evidence."""
    from irkit.evidence.custody import remove_member

    case = open_case(case_dir)
    signer = load_signer(key_path, passphrase_file)
    entry = remove_member(case, signer, fingerprint, reason=reason)
    removed = entry.body["fingerprint"]
    name = case.roster().members[removed].name
    click.echo(safe(f"#{entry.seq} removed {name} {removed}"))


@member_group.command("list")
@case_option
@json_option
def member_list_cmd(case_dir: Path | None, as_json: bool) -> None:
    """List members, their roles and fingerprints."""
    case = open_case(case_dir)
    roster = case.roster()
    rows = [
        {
            "fingerprint": m.fingerprint,
            "name": m.name,
            "role": m.role,
            "contact": m.contact,
            "added": m.added_seq,
            "removed": m.removed_seq,
            "opener": m.fingerprint == roster.opener,
        }
        for m in roster.members.values()
    ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        status = (
            "opener"
            if row["opener"]
            else (f"removed #{row['removed']}" if row["removed"] is not None else "")
        )
        contact = f" <{row['contact']}>" if row["contact"] else ""
        line = f"{row['fingerprint']}  {row['role']:<10} {row['name']}{contact}  {status}"
        click.echo(safe(line.rstrip()))


@click.command("log")
@click.option(
    "--kind",
    "kinds_",
    multiple=True,
    help="Only entries of this kind or family (note.added, note, custody.*; repeatable).",
)
@click.option(
    "--published",
    "show_published",
    is_flag=True,
    help="Also show when each entry was published to the case's remote.",
)
@case_option
@json_option
def log_cmd(
    kinds_: tuple[str, ...], show_published: bool, case_dir: Path | None, as_json: bool
) -> None:
    """List journal entries: seq, recorded time (UTC), kind, signer, summary.

    With a remote configured, entries not yet published there are marked [unpublished].
    This reads without verifying; run `irkit verify` to check signatures and the chain.
    """
    from irkit.formats.timefmt import display
    from irkit.record import kinds
    from irkit.record.summary import names_from, summarize

    wanted = kinds.select(kinds_) if kinds_ else None  # a typo is refused, kinds listed
    case = open_case(case_dir)
    result = case.read_entries()  # open_case warns about any line left out
    entries = [e for e in result.entries if wanted is None or e.kind in wanted]
    from irkit.remote.state import PublicationIndex

    pubs = PublicationIndex(case.root)  # local state only: no network
    if as_json:
        rows = [e.to_json() for e in entries]
        if pubs.configured:
            for row, e in zip(rows, entries, strict=True):
                pub = pubs.of(e.seq)
                row["published"], row["published_at"] = pub.published, pub.time
        print_json(rows)
        return
    names = names_from(result.entries)
    if not entries:
        if not kinds_:
            raise InputError("the journal is empty")
        present = sorted({e.kind for e in result.entries})
        raise InputError(
            f"no entries of kind {', '.join(kinds_)}; kinds in this journal: {', '.join(present)}"
        )
    for e in entries:
        who = names.get(e.actor, short_fp(e.actor))
        shown = display(e.recorded)
        mark = ""
        if pubs.configured:
            pub = pubs.of(e.seq)
            if not pub.published:
                mark = "  [unpublished]"
            elif show_published and pub.time:
                mark = f"  (published {display(pub.time)})"
        click.echo(safe(f"#{e.seq:<5} {shown}  {e.kind:<16} {who:<20} {summarize(e)}{mark}"))

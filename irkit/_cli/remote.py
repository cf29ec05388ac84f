"""`irkit remote add/list/remove`, `irkit clone`, `pull`, `push`, `sync`: team cases."""

from __future__ import annotations

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
    progress_printer,
    safe,
    short_fp,
    warn,
)
from irkit.errors import InputError


@click.group("remote")
def remote_group() -> None:
    """Remotes a team case is shared through: an S3 bucket (s3://bucket/prefix) or a folder.

    Credentials never go into the case: S3 uses the standard AWS configuration
    (environment, ~/.aws profiles); only the endpoint, profile, region and retention
    settings are stored, in remotes.json.
    """


@remote_group.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--endpoint-url", help="S3 endpoint (SeaweedFS, MinIO, Ceph RGW...).")
@click.option("--profile", help="AWS profile to take credentials from.")
@click.option("--region", help="S3 region.")
@click.option(
    "--lock-mode",
    type=click.Choice(["compliance", "governance"]),
    help="Object Lock mode put on every evidence and journal object.",
)
@click.option("--retention-days", type=click.IntRange(1, 36500), help="Object Lock retention.")
@click.option("--legal-hold", is_flag=True, help="Put a legal hold on every object written.")
@click.option("--no-probe", is_flag=True, hidden=True)
@case_option
@json_option
def remote_add(
    name: str,
    url: str,
    endpoint_url: str | None,
    profile: str | None,
    region: str | None,
    lock_mode: str | None,
    retention_days: int | None,
    legal_hold: bool,
    no_probe: bool,
    case_dir: Path | None,
    as_json: bool,
) -> None:
    """Add remote NAME at URL, after probing that the server refuses a second create of one
    key (some S3 servers ignore If-None-Match, and a shared journal would fork)."""
    from irkit.remote import state, sync

    if (lock_mode is None) != (retention_days is None):
        raise InputError("--lock-mode and --retention-days go together")
    case = open_case(case_dir)
    config = state.RemoteConfig(
        url=url,
        endpoint_url=endpoint_url,
        profile=profile,
        region=region,
        lock_mode=lock_mode,
        retention_days=retention_days,
        legal_hold=legal_hold,
    )
    config.settings()  # the settings' own checks, before anything is contacted
    sync.add_remote(case, name, config, probe=not no_probe)
    if as_json:
        print_json({"name": name, **config.model_dump(exclude_defaults=True)})
        return
    echo(f"remote {name}: {config.url} (probed: create-only and compare-and-swap work)")


@remote_group.command("list")
@case_option
@json_option
def remote_list(case_dir: Path | None, as_json: bool) -> None:
    """The case's remotes, with how much of the journal each holds (as last seen)."""
    from irkit.remote import state

    case = open_case(case_dir)
    rows = []
    for name, config in state.load_remotes(case.root).items():
        view = state.load_view(state.Paths(case.root, name))
        rows.append(
            {
                "name": name,
                **config.model_dump(exclude_defaults=True),
                "published": view.published,
                "checkpoint_size": view.seen_size,
            }
        )
    if as_json:
        print_json(rows)
        return
    if not rows:
        echo("no remotes (add one with `irkit remote add NAME URL`)")
    for row in rows:
        echo(f"{row['name']}  {row['url']}  published {row['published']} entries")


@remote_group.command("remove")
@click.argument("name")
@case_option
@json_option
def remote_remove(name: str, case_dir: Path | None, as_json: bool) -> None:
    """Forget remote NAME here (the remote itself is not touched)."""
    from irkit.remote import sync

    case = open_case(case_dir)
    config = sync.remove_remote(case, name)
    if as_json:
        print_json({"removed": name, "url": config.url})
        return
    echo(f"removed remote {name} ({config.url})")


@click.command("clone")
@click.argument("url")
@click.argument("dest", type=click.Path(path_type=Path))
@click.option(
    "--trust", help="The opener's fingerprint, obtained out of band: the clone is anchored on it."
)
@click.option("--name", "remote_name", default="origin", show_default=True)
@click.option("--endpoint-url", help="S3 endpoint (SeaweedFS, MinIO, Ceph RGW...).")
@click.option("--profile", help="AWS profile to take credentials from.")
@click.option("--region", help="S3 region.")
@json_option
def clone_cmd(
    url: str,
    dest: Path,
    trust: str | None,
    remote_name: str,
    endpoint_url: str | None,
    profile: str | None,
    region: str | None,
    as_json: bool,
) -> None:
    """Make a local case DEST from the remote at URL: every entry is checked as it arrives
    and the whole case verified before DEST appears. No membership is needed to clone."""
    from irkit.record.keyfiles import full_fingerprint
    from irkit.remote import state, sync

    anchor = None
    if trust is not None:
        anchor = full_fingerprint(trust)
        if anchor is None:
            raise InputError(f"--trust {trust!r} is not a whole ed25519 fingerprint")
    config = state.RemoteConfig(url=url, endpoint_url=endpoint_url, profile=profile, region=region)
    result = sync.clone(
        url, dest, trust=anchor, name=remote_name, settings=config, progress=progress_printer()
    )
    if as_json:
        print_json(result.model_dump())
        return
    anchored = "anchored on the trusted opener" if result.anchored else "NOT anchored (no --trust)"
    echo(
        f"cloned {result.case_id}: {result.entries} entries, {result.evidence} evidence "
        f"objects into {result.path}; VERIFIED, {anchored}"
    )
    if not result.anchored:
        warn(
            "without --trust the clone is only self-consistent: compare the opener's "
            f"fingerprint {result.opener} with one obtained out of band"
        )


def _print_sync(result: Any, as_json: bool) -> None:
    if as_json:
        print_json(result.model_dump())
        if result.conflicts:
            raise click.exceptions.Exit(1)
        return
    parts = [f"pulled {result.pulled}", f"published {result.published}"]
    if result.rebased:
        parts.append(f"rebased {result.rebased}")
    if result.evidence_uploaded or result.evidence_downloaded:
        parts.append(f"evidence up {result.evidence_uploaded} / down {result.evidence_downloaded}")
    echo(
        f"{result.remote} ({result.url}): {', '.join(parts)}; remote holds "
        f"{result.remote_size}, {result.unpublished} local entries unpublished"
    )
    for old, new in sorted(result.renumbered.items()):
        echo(f"renumbered {old} -> {new} (taken by an entry published meanwhile)")
    for c in result.open_conflicts:
        winner = (
            f"; entry {c.winner_seq} ({c.winner_hash}) was published first"
            if (c.winner_seq is not None)
            else ""
        )
        click.echo(
            safe(
                f"CONFLICT {c.id}: your entry #{c.seq} ({c.kind}, written {c.recorded}) is "
                f"kept unpublished: {c.reason}{winner}"
            ),
            err=True,
        )
    if result.open_conflicts:
        click.echo(
            "hint: redo what is still needed with the usual command, then `irkit sync "
            "--withdraw ID`; held entries stay in .irkit-remote/<remote>/conflicts.jsonl",
            err=True,
        )
    if result.conflicts:
        raise click.exceptions.Exit(1)  # this sync held entries back: not all was published


def _signer_getter(key_path: Path | None, passphrase_file: Path | None) -> Callable[[], Any]:
    return lambda: load_signer(key_path, passphrase_file)


@click.command("pull")
@click.argument("remote", required=False)
@key_options
@case_option
@json_option
def pull_cmd(
    remote: str | None,
    key_path: Path | None,
    passphrase_file: Path | None,
    case_dir: Path | None,
    as_json: bool,
) -> None:
    """Fetch what others published (checked, then verified) into this case; unpublished
    local work is re-signed after it (your key is asked for only then)."""
    from irkit.remote import sync

    case = open_case(case_dir)
    result = sync.sync(
        case,
        remote,
        get_signer=_signer_getter(key_path, passphrase_file),
        publish=False,
        progress=progress_printer(),
    )
    _print_sync(result, as_json)


@click.command("push")
@click.argument("remote", required=False)
@key_options
@case_option
@json_option
def push_cmd(
    remote: str | None,
    key_path: Path | None,
    passphrase_file: Path | None,
    case_dir: Path | None,
    as_json: bool,
) -> None:
    """Publish local entries and the evidence objects they name; refused when others
    published meanwhile (then `irkit sync`)."""
    from irkit.remote import sync

    case = open_case(case_dir)
    result = sync.sync(
        case,
        remote,
        get_signer=_signer_getter(key_path, passphrase_file),
        require_current=True,
        progress=progress_printer(),
    )
    _print_sync(result, as_json)


@click.command("sync")
@click.argument("remote", required=False)
@click.option(
    "--withdraw",
    "withdraw_id",
    type=int,
    help="Withdraw held-back conflict ID (it stays on file, no longer reported).",
)
@key_options
@case_option
@json_option
def sync_cmd(
    remote: str | None,
    withdraw_id: int | None,
    key_path: Path | None,
    passphrase_file: Path | None,
    case_dir: Path | None,
    as_json: bool,
) -> None:
    """Pull, rebase local work after what others published, then publish it with the
    evidence objects it names. Conflicting entries are held back and reported."""
    from irkit.remote import sync

    case = open_case(case_dir)
    if withdraw_id is not None:
        info = sync.withdraw(case, remote, withdraw_id)
        if as_json:
            print_json({"withdrawn": info.model_dump()})
            return
        echo(
            f"withdrew conflict {info.id} (entry #{info.seq}, {info.kind} by "
            f"{short_fp(info.actor)})"
        )
        return
    result = sync.sync(
        case,
        remote,
        get_signer=_signer_getter(key_path, passphrase_file),
        progress=progress_printer(),
    )
    _print_sync(result, as_json)

"""`irkit backup`: manifest a backup at backup time; test-restore it and record the verdict."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from irkit._cli._common import (
    IrkitGroup,
    case_option,
    echo,
    json_option,
    key_options,
    load_signer,
    print_json,
    tune_allocator,
)
from irkit.backup.vocab import COMPARES, CONTAINERS
from irkit.errors import ProblemsFound
from irkit.record.summary import plural

_PATH = click.Path(path_type=Path)


@click.group("backup", cls=IrkitGroup)
def backup_group() -> None:
    """A backup is only good once it has been restored. `manifest` records what a backup
    must contain; `verify` restores it into scratch space, compares, checks plausibility and
    (inside a case) signs the verdict."""


@backup_group.command("manifest")
@click.argument("source", type=click.Path(file_okay=False, path_type=Path), required=False)
@click.option("-o", "--output", "out", type=_PATH, help="Manifest to write.")
@click.option(
    "--pg",
    "pg",
    metavar="CONNINFO",
    multiple=True,
    help="Also record the row count of every table of this PostgreSQL database (e.g. "
    "'dbname=shop'; PG* variables and ~/.pgpass apply). Repeatable.",
)
@click.option(
    "--sqlite",
    "sqlite_files",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    multiple=True,
    help="Also record the row count of every table of this SQLite file. Repeatable.",
)
@click.option(
    "--existing",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Do not write a manifest: check and --sign this one (e.g. PostgreSQL's "
    "backup_manifest written by pg_basebackup).",
)
@click.option(
    "--sign",
    is_flag=True,
    help="Inside a case: keep a copy and sign its digest (backup.manifest), so verify can "
    "tell this is the manifest of backup time.",
)
@click.option(
    "--meta",
    is_flag=True,
    help="Also record mode, owner and mtime of every file, symlink targets, empty "
    "directories and hardlink groups (for `verify --compare meta`).",
)
@json_option
@case_option
@key_options
def manifest_cmd(
    source: Path | None,
    out: Path | None,
    pg: tuple[str, ...],
    sqlite_files: tuple[Path, ...],
    existing: Path | None,
    sign: bool,
    meta: bool,
    as_json: bool,
    case_dir: Path | None,
    key_path: Path | None,
    passphrase_file: Path | None,
) -> None:
    """Record paths, sizes and SHA-256 of every file under SOURCE (self-checksummed JSON),
    optionally with row counts per table (--pg, --sqlite) that verify compares exactly.

    \b
    irkit backup manifest /srv/data -o data.manifest.json --pg dbname=shop --sign
    irkit backup manifest --existing /backups/base/backup_manifest --sign"""
    from irkit.backup import checks
    from irkit.backup import manifest as backupmanifest
    from irkit.errors import InputError

    tune_allocator()
    if existing is not None and (source is not None or out is not None or pg or sqlite_files):
        raise InputError("--existing takes no SOURCE, -o, --pg or --sqlite")
    if existing is None and (source is None or out is None):
        raise InputError("give SOURCE and -o OUTPUT (or --existing FILE)")
    case = signer = None
    if sign:
        from irkit.backup.testrestore import MANIFEST_KIND
        from irkit.record.case import Case

        case = Case.find(case_dir, Path.cwd())
        signer = load_signer(key_path, passphrase_file)
        case.check_signer(signer, MANIFEST_KIND)
    if existing is not None:
        path = existing
        loaded = backupmanifest.load_manifest(existing)
        files, databases = loaded.files, loaded.databases
    else:
        assert source is not None and out is not None
        databases = checks.count_databases(source, list(pg), list(sqlite_files))
        files = backupmanifest.write(source, out, databases, meta=meta)
        path = out
    entry = None
    if case is not None and signer is not None:
        from irkit.backup.testrestore import record_manifest

        entry = record_manifest(case, signer, path, source=source)
    total = sum(f.size for f in files)
    if as_json:
        print_json(
            {
                "manifest": str(path),
                "files": len(files),
                "bytes": total,
                "databases": [
                    {"name": d.name, "engine": d.engine, "tables": d.tables} for d in databases
                ],
                "entry": entry.seq if entry is not None else None,
            }
        )
        return
    echo(f"{path}: {plural(len(files), 'file')}, {plural(total, 'byte')}")
    for d in databases:
        echo(
            f"  {d.engine} {d.name}: {plural(len(d.tables), 'table')}, "
            f"{plural(sum(d.tables.values()), 'row')}"
        )
    if entry is not None:
        echo(f"recorded #{entry.seq} backup.manifest (sha256 {entry.body['manifest_sha256']})")


def _tool_source(
    artifact: Path | None,
    restic_repo: str | None,
    snapshot: str | None,
    borg_target: str | None,
    check_repo: bool,
    subset: str,
) -> Any:
    """--restic/--borg as a backupchecks.ToolSource (None without them); misuse is exit 2."""
    from irkit.errors import InputError

    if restic_repo is None and borg_target is None:
        if artifact is None:
            raise InputError("give ARTIFACT, --restic REPO --snapshot ID or --borg REPO::ARCHIVE")
        if snapshot is not None or check_repo:
            raise InputError("--snapshot and --check-repo go with --restic or --borg")
        return None
    if artifact is not None or (restic_repo is not None and borg_target is not None):
        raise InputError("give one of ARTIFACT, --restic or --borg")
    from irkit.backup.checks import ToolSource

    if restic_repo is not None:
        if not snapshot:
            raise InputError("--restic needs --snapshot ID (or --snapshot latest)")
        return ToolSource("restic", restic_repo, snapshot, check_repo, subset)
    assert borg_target is not None
    if snapshot is not None:
        raise InputError("--snapshot is for --restic; borg names the archive: REPO::ARCHIVE")
    return ToolSource("borg", borg_target, "", check_repo, subset)


def _shown_time(text: str) -> str:
    from irkit.formats.timefmt import display

    return display(text)


def _print_tools(data: dict[str, Any]) -> None:
    """Who restored and checked: the tool, snapshot and verdicts the technician trusts."""
    tool = data.get("tool")
    if tool:
        echo(
            f"  {tool['tool']} {tool['version']}: snapshot {tool['snapshot'] or '?'}"
            + (f" ({tool['name']})" if tool.get("name") else "")
            + (f" of {', '.join(tool['paths'])}" if tool.get("paths") else "")
            + (f", taken {_shown_time(tool['time'])}" if tool.get("time") else "")
        )
    cmd = data.get("command")
    if cmd:
        echo(
            f"  restore command: {' '.join(cmd['argv'])} (exit {cmd['exit_code']}, "
            f"{cmd['output_bytes']} bytes of output)"
        )
    if data.get("layout"):
        echo(f"  restored tree found under {data['layout']}/ (compared from there)")
    if data.get("manifest_format") == "postgresql":
        echo("  manifest: PostgreSQL backup_manifest")
    for f in data.get("checks", []):  # the tools' verdicts, passed ones too (FAILs below)
        if f["ok"] and f["check"] in ("repository", "pg_verifybackup", "rows"):
            echo(f"  ok {f['check']}: {f['message']}")
    rec = data.get("manifest_record")
    if rec is not None:
        from irkit.formats.timefmt import display

        echo(
            f"  manifest: the one signed at backup time (#{rec['seq']}, {display(rec['recorded'])})"
        )


def _print_result(data: dict[str, Any]) -> None:
    c = data["counts"]
    echo(
        f"{data['verdict']}: {data['artifact']} ({data['artifact_kind']}) restored in "
        f"{data['restore_ms']} ms: {plural(data['restored_files'], 'file')}, "
        f"{data['restored_bytes']} bytes"
    )
    echo(
        f"  {c['matched']} matched, {c['changed']} changed, {c['missing']} missing, "
        f"{c['extra']} extra, {c['moved']} moved, {c['refused']} refused, "
        f"{plural(c['checks_failed'], 'check')} failed"
    )
    _print_tools(data)
    for db in data.get("databases", []):
        state = "restored" if db["restored"] else f"NOT restored ({db['error']})"
        echo(
            f"  {db['dump']}: {db['format']} dump {state} into a throwaway PostgreSQL cluster "
            f"in {db['restore_ms']} ms; {plural(len(db['tables']), 'table')}"
        )
        for t in db["tables"]:
            echo(f"    {t['table']}: {plural(t['rows'], 'row')}")
    for line in data["failures"]:
        echo(f"  FAIL {line}")
    for notice in data.get("notices", []):
        echo(f"  info {notice['member']}: {notice['note']}")
    if data["restore_output"]:
        echo("  restore output:")
        for line in data["restore_output"].splitlines()[-20:]:
            echo(f"    {line}")
    if data["kept"]:
        echo(f"  restored tree kept in {data['kept']}")


def _limit_options(
    max_total: str | None, max_apparent: str | None, max_ratio: int | None, max_entries: int | None
) -> dict[str, int]:
    """The bomb limits given on the command line (they win over the spec's [limits])."""
    from irkit.backup.spec import parse_size

    out: dict[str, int] = {}
    for key, raw in (("max_total", max_total), ("max_apparent", max_apparent)):
        if raw is not None:
            try:
                out[key] = parse_size(raw, f"--{key.replace('_', '-')}")
            except ValueError as exc:
                raise click.BadParameter(str(exc)) from exc
    if max_ratio is not None:
        out["max_ratio"] = max_ratio
    if max_entries is not None:
        out["max_entries"] = max_entries
    return out


class Terminated(SystemExit):
    """SIGTERM or SIGINT during a verify: unwinds like any error, so every clean-up runs
    (scratch space, the throwaway PostgreSQL cluster, a restore tool's process group)."""


@contextlib.contextmanager
def _terminate_cleanly() -> Iterator[None]:
    """A cron `timeout` sends SIGTERM: without a handler Python dies at once and leaves a
    PostgreSQL server, its data directory and the restored tree behind. The handler turns
    the signal into an exception; further signals are ignored while the clean-up runs."""

    def handler(signum: int, _frame: object) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        name = signal.Signals(signum).name
        click.echo(f"irkit: {name}: stopping; scratch space removed, nothing recorded", err=True)
        raise Terminated(128 + signum)

    if threading.current_thread() is not threading.main_thread():  # signals need main
        yield
        return
    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


@backup_group.command("verify")
@click.argument("artifact", type=_PATH, required=False)
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--source", type=click.Path(file_okay=False, path_type=Path))
@click.option("--spec", type=click.Path(dir_okay=False, path_type=Path), help="Checks (TOML).")
@click.option("--keep", type=_PATH, help="Restore into this NEW directory and keep it.")
@click.option("--restore-cmd", help="Restore with a tool instead: 'COMMAND ... {dest} ...'.")
@click.option("--timeout", type=click.IntRange(1), default=3600, show_default=True)
@click.option("--sign-off", is_flag=True, help="Sign off the backup (refused on FAIL).")
@click.option("--restic", "restic_repo", metavar="REPO", help="Restore a restic snapshot.")
@click.option("--snapshot", metavar="ID", help="The restic snapshot (id or 'latest').")
@click.option("--borg", "borg_target", metavar="REPO::ARCHIVE", help="Restore a borg archive.")
@click.option(
    "--check-repo",
    is_flag=True,
    help="Also run the tool's own check (restic check --read-data-subset, borg check "
    "--verify-data) and record its verdict.",
)
@click.option(
    "--read-data-subset",
    default="5%",
    show_default=True,
    metavar="SUBSET",
    help="For restic --check-repo: n/t, n% or a size.",
)
@click.option(
    "--type",
    "artifact_type",
    type=click.Choice(CONTAINERS),
    help="Take the artifact as this container instead of detecting it (compression is "
    "still recognised). Detection order: docs/FORMAT.md, 'Backup artifacts'.",
)
@click.option(
    "--max-total", metavar="SIZE", help="Bomb limit: data written (64G; holes not counted)."
)
@click.option(
    "--max-apparent", metavar="SIZE", help="Bomb limit: restored size, holes included (1T)."
)
@click.option("--max-ratio", type=click.IntRange(1), help="Bomb limit: data : archive (200).")
@click.option("--max-entries", type=click.IntRange(1), help="Bomb limit: members (1000000).")
@click.option(
    "--compare",
    type=click.Choice(COMPARES),
    default="content",
    show_default=True,
    help="meta: also compare mode, owner, mtime, symlink targets, empty directories and "
    "hardlink groups (a manifest written with --meta, or --source).",
)
@json_option
@case_option
@key_options
def verify_cmd(
    artifact: Path,
    manifest: Path | None,
    source: Path | None,
    spec: Path | None,
    keep: Path | None,
    restore_cmd: str | None,
    timeout: int,
    sign_off: bool,
    restic_repo: str | None,
    snapshot: str | None,
    borg_target: str | None,
    check_repo: bool,
    read_data_subset: str,
    artifact_type: str | None,
    max_total: str | None,
    max_apparent: str | None,
    max_ratio: int | None,
    max_entries: int | None,
    compare: str,
    as_json: bool,
    case_dir: Path | None,
    key_path: Path | None,
    passphrase_file: Path | None,
) -> None:
    """Restore ARTIFACT into scratch space, compare with --manifest or --source, run --spec.

    A pg_dump file (custom or plain) is also restored into a throwaway PostgreSQL cluster
    and every table counted; the spec's [[postgres]] rules say what must be there. A
    PostgreSQL `backup_manifest` as --manifest: pg_verifybackup checks the restored data
    directory too (when installed). --restic REPO --snapshot ID and --borg REPO::ARCHIVE
    restore with the tool itself (no ARTIFACT), a snapshot of an absolute path compared
    from where it lands.

    The artifact's type comes from its own structure (directory, gz/bz2/xz/zst stream, tar,
    SQLite, pg_dump, zip: docs/FORMAT.md), --type overrides. A damaged, empty or
    unrecognisable artifact is a FAIL that says what is wrong. Links out of the tree,
    setuid bits, devices and duplicate members are recorded as info, not FAILs. Bomb limits
    count data really written (zeros become holes); raise them with --max-* or [limits].

    Exit 0 PASS, 1 FAIL, 2 bad input or this machine failing (nothing signed); 143/130 on
    SIGTERM/SIGINT, cleaned up. Inside a case a signed `backup.verified` is appended."""
    from irkit.backup import testrestore
    from irkit.errors import CaseNotFoundError, InputError
    from irkit.record.case import Case

    tune_allocator()
    tool = _tool_source(artifact, restic_repo, snapshot, borg_target, check_repo, read_data_subset)
    case = None
    signer = None
    try:
        case = Case.find(case_dir, Path.cwd())
    except CaseNotFoundError:
        if case_dir is not None:
            raise
        if sign_off:
            raise InputError(
                "--sign-off needs a case (--case, $IRKIT_CASE or a case folder)"
            ) from None
    if case is not None:
        signer = load_signer(key_path, passphrase_file)
        case.check_signer(signer, testrestore.KIND)
    options = _limit_options(max_total, max_apparent, max_ratio, max_entries)
    with _terminate_cleanly():
        result = testrestore.run_verify(
            artifact if artifact is not None else Path(tool.target if tool else "."),
            manifest=manifest,
            source=source,
            spec=spec,
            keep=keep,
            restore_cmd=restore_cmd,
            timeout=timeout,
            artifact_type=artifact_type,
            limit_options=options,
            compare_meta=compare == "meta",
            tool=tool,
        )
    entry = None
    refusal: ProblemsFound | None = None
    if case is not None and signer is not None:
        try:
            entry = testrestore.record(case, signer, result, sign_off=sign_off)
        except ProblemsFound as exc:
            refusal = exc
    data = result.to_json()  # after record: it notes the manifest's backup-time entry
    if as_json:
        data["entry"] = entry.seq if entry is not None else None
        print_json(data)
    else:
        _print_result(data)
        if entry is not None and result.manifest_record is None:
            echo("manifest: not the one signed at backup time (no backup.manifest has its digest)")
        if entry is not None:
            off = " with sign-off" if entry.body["signed_off"] else ""
            echo(f"recorded #{entry.seq} backup.verified{off}")
        elif case is None:
            echo("(not inside a case: nothing recorded)")
    if refusal is not None:
        raise refusal
    if result.verdict == "FAIL":
        raise ProblemsFound(
            f"backup verification FAILED ({plural(len(result.failures), 'finding')})"
        )

"""`irkit backup`: manifest a backup at backup time; test-restore it and record the verdict."""

from __future__ import annotations

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
from irkit.errors import ProblemsFound

_PATH = click.Path(path_type=Path)


@click.group("backup", cls=IrkitGroup)
def backup_group() -> None:
    """A backup is only good once it has been restored. `manifest` records what a backup
    must contain; `verify` restores it into scratch space, compares, checks plausibility and
    (inside a case) signs the verdict."""


@backup_group.command("manifest")
@click.argument("source", type=click.Path(file_okay=False, path_type=Path))
@click.option("-o", "--output", "out", type=_PATH, required=True, help="Manifest to write.")
def manifest_cmd(source: Path, out: Path) -> None:
    """Record paths, sizes and SHA-256 of every file under SOURCE (self-checksummed JSON)."""
    from irkit import backupmanifest

    tune_allocator()
    files = backupmanifest.write(source, out)
    echo(f"{out}: {len(files)} file(s), {sum(f.size for f in files)} bytes")


def _print_result(data: dict[str, Any]) -> None:
    c = data["counts"]
    echo(
        f"{data['verdict']}: {data['artifact']} ({data['artifact_kind']}) restored in "
        f"{data['restore_ms']} ms: {data['restored_files']} file(s), "
        f"{data['restored_bytes']} bytes"
    )
    echo(
        f"  {c['matched']} matched, {c['changed']} changed, {c['missing']} missing, "
        f"{c['extra']} extra, {c['moved']} moved, {c['refused']} refused, "
        f"{c['checks_failed']} check(s) failed"
    )
    for db in data.get("databases", []):
        state = "restored" if db["restored"] else f"NOT restored ({db['error']})"
        echo(
            f"  {db['dump']}: {db['format']} dump {state} into a throwaway PostgreSQL cluster "
            f"in {db['restore_ms']} ms; {len(db['tables'])} table(s)"
        )
        for t in db["tables"]:
            echo(f"    {t['table']}: {t['rows']} row(s)")
    for line in data["failures"]:
        echo(f"  FAIL {line}")
    if data["restore_output"]:
        echo("  restore output:")
        for line in data["restore_output"].splitlines()[-20:]:
            echo(f"    {line}")
    if data["kept"]:
        echo(f"  restored tree kept in {data['kept']}")


@backup_group.command("verify")
@click.argument("artifact", type=_PATH)
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--source", type=click.Path(file_okay=False, path_type=Path))
@click.option("--spec", type=click.Path(dir_okay=False, path_type=Path), help="Checks (TOML).")
@click.option("--keep", type=_PATH, help="Restore into this NEW directory and keep it.")
@click.option("--restore-cmd", help="Restore with a tool instead: 'COMMAND ... {dest} ...'.")
@click.option("--timeout", type=click.IntRange(1), default=3600, show_default=True)
@click.option("--sign-off", is_flag=True, help="Sign off the backup (refused on FAIL).")
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
    as_json: bool,
    case_dir: Path | None,
    key_path: Path | None,
    passphrase_file: Path | None,
) -> None:
    """Restore ARTIFACT into scratch space, compare with --manifest or --source, run --spec.

    A pg_dump file (custom or plain) is also restored into a throwaway PostgreSQL cluster
    and every table counted; the spec's [[postgres]] rules say what must be there.

    Exit 0 PASS, 1 FAIL, 2 bad input. Inside a case a signed `backup.verified` is appended."""
    from irkit import backup
    from irkit.case import Case
    from irkit.errors import CaseNotFoundError, InputError

    tune_allocator()
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
        case.check_signer(signer, backup.KIND)
    result = backup.run_verify(
        artifact,
        manifest=manifest,
        source=source,
        spec=spec,
        keep=keep,
        restore_cmd=restore_cmd,
        timeout=timeout,
    )
    data = result.to_json()
    entry = None
    refusal: ProblemsFound | None = None
    if case is not None and signer is not None:
        try:
            entry = backup.record(case, signer, result, sign_off=sign_off)
        except ProblemsFound as exc:
            refusal = exc
    if as_json:
        data["entry"] = entry.seq if entry is not None else None
        print_json(data)
    else:
        _print_result(data)
        if entry is not None:
            off = " with sign-off" if entry.body["signed_off"] else ""
            echo(f"recorded #{entry.seq} backup.verified{off}")
        elif case is None:
            echo("(not inside a case: nothing recorded)")
    if refusal is not None:
        raise refusal
    if result.verdict == "FAIL":
        raise ProblemsFound(f"backup verification FAILED ({len(result.failures)} finding(s))")

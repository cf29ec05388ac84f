"""The backup tools' and the database's own checks, alongside irkit's.

A technician trusts the tools that made the backup, so their verdicts are recorded next to
irkit's comparison: restic and borg restore their own snapshots (and may check their
repository), pg_verifybackup checks a physical PostgreSQL backup against PostgreSQL's own
`backup_manifest`, and row counts taken at backup time are compared with what came back.
Each verdict is a `plausibility.Finding`, so it counts, prints and fails like any check.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from irkit.backup import extract, tools
from irkit.backup import manifest as backupmanifest
from irkit.backup.spec import Finding
from irkit.errors import InputError

if TYPE_CHECKING:
    from irkit.record.case import Case


@dataclass(frozen=True, slots=True)
class ToolSource:
    """`--restic REPO --snapshot ID` or `--borg REPO::ARCHIVE`, with the optional check."""

    kind: Literal["restic", "borg"]
    target: str  # restic: the repository; borg: REPO::ARCHIVE
    snapshot: str = ""  # restic only
    check: bool = False
    read_data_subset: str = "5%"

    def label(self) -> str:
        if self.kind == "restic":
            return f"restic:{self.target}@{self.snapshot}"
        return f"borg:{self.target}"


@dataclass(slots=True)
class ToolOutcome:
    """What a tool restore adds to the result: where the data landed and its identity."""

    restored: extract.Restored
    prefix: str = ""  # the restored tree was found under this path of scratch
    snapshot: tools.Snapshot | None = None
    command: tools.ToolRun | None = None
    checks: list[Finding] = field(default_factory=list)


def locate(scratch: Path, restored: extract.Restored, expected: list[str]) -> str:
    """A snapshot of /home/u/data restores to scratch/home/u/data: compare from there.
    Rebases `restored.files` in place and returns the prefix ("" when at the top)."""
    prefix = tools.best_prefix(tools.single_chain(scratch), restored.files, expected)
    if prefix:
        restored.files = tools.rebase(restored.files, prefix)
    return prefix


def tool_restore(
    source: ToolSource, scratch: Path, timeout: float, expected: list[str]
) -> ToolOutcome:
    """Restore the snapshot with its own tool into SCRATCH, hash it, find its layout, then
    run the tool's repository check when asked. Failures of the tool are findings."""
    restored = extract.Restored()
    if source.kind == "restic":
        snap, problem = tools.restic_snapshot(source.target, source.snapshot, scratch, timeout)
    else:
        snap, problem = tools.borg_archive(source.target, scratch, timeout)
    out = ToolOutcome(restored, snapshot=snap)
    if snap is None:
        restored.findings.append(problem or f"{source.kind}: the snapshot cannot be read")
        if source.kind == "restic":  # keep the tool's identity in the record all the same
            out.snapshot = tools.Snapshot("restic", "", source.target, source.snapshot)
        return out
    if source.kind == "restic":
        got = tools.restic_restore(snap, scratch, timeout)
    else:
        got = tools.borg_extract(snap, scratch, timeout)
    restored.output = got.output[-4000:]
    if (why := got.problem(f"{source.kind} restore")) is not None:
        if got.exit_code not in (0, None) and extract.scratch_is_full(scratch):
            raise extract.scratch_failure(
                scratch, OSError(28, "No space left on device"), f"{source.kind} restoring"
            )
        restored.findings.append(f"{why}: {_last_lines(got.output)}")
    tools.collect(scratch, restored)
    out.prefix = locate(scratch, restored, expected)
    if source.check:
        if source.kind == "restic":
            checked = tools.restic_check(snap, source.read_data_subset, scratch, timeout)
            what = f"restic check --read-data-subset={source.read_data_subset}"
        else:
            checked = tools.borg_check(snap, scratch, timeout)
            what = "borg check --verify-data"
        why = checked.problem(what)
        msg = f"{what}: " + (
            "no errors found" if why is None else f"{why}: {_last_lines(checked.output)}"
        )
        out.checks.append(Finding("repository", why is None, msg))
    return out


def _last_lines(text: str, n: int = 3) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return " | ".join(lines[-n:])[-500:]


def command_identity(restored: extract.Restored) -> str:
    """What identifies data a tool restored: the digest of the irkit manifest rendered from
    the restored files (the repository itself is never read to hash it)."""
    records = [backupmanifest.FileRecord(p, s, h) for p, (s, h) in sorted(restored.files.items())]
    return hashlib.sha256(backupmanifest.render(records)).hexdigest()


# --- PostgreSQL physical backups ------------------------------------------------------

PG_IGNORED = ("backup_manifest",)
PG_WAL = "pg_wal/"


def pg_comparable(restored: dict[str, Any]) -> dict[str, Any]:
    """A restored data directory holds backup_manifest and the WAL pg_basebackup streamed;
    neither is listed in backup_manifest (the WAL is checked by pg_verifybackup against
    WAL-Ranges), so neither is an "extra" file."""
    return {p: v for p, v in restored.items() if p not in PG_IGNORED and not p.startswith(PG_WAL)}


def is_tar_basebackup(artifact: Path) -> bool:
    """`pg_basebackup -Ft` output: a folder with backup_manifest and base.tar[.gz|...]."""
    return (
        artifact.is_dir()
        and (artifact / "backup_manifest").is_file()
        and any(artifact.glob("base.tar*"))
    )


def restore_tar_basebackup(
    artifact: Path, scratch: Path, limits: extract.Limits | None
) -> extract.Restored:
    """Lay a tar-format base backup out as the data directory it stands for: base.tar at the
    top, pg_wal.tar under pg_wal/, backup_manifest beside them (what pg_verifybackup reads)."""
    merged = extract.Restored(kind="directory")
    parts = sorted(p.name for p in artifact.iterdir())
    for name in parts:
        full = artifact / name
        if name == "backup_manifest" or not full.is_file():
            continue
        stem = name.split(".tar", 1)[0]
        if ".tar" not in name or stem not in ("base", "pg_wal"):
            merged.findings.append(
                f"{name}: not restored (tablespace or unknown part of a tar-format base backup)"
            )
            continue
        where = scratch if stem == "base" else scratch / "pg_wal"
        where.mkdir(exist_ok=True, mode=0o700)
        got = extract.restore(full, where, limits)
        lead = "" if stem == "base" else PG_WAL
        for path, rec in got.files.items():
            merged.files[lead + path] = rec
        merged.refused += [(f"{name}:{m}", r) for m, r in got.refused]
        merged.findings += [f"{name}: {f}" for f in got.findings]
        merged.notices += [(f"{name}:{m}", r) for m, r in getattr(got, "notices", [])]
    try:
        data = (artifact / "backup_manifest").read_bytes()
        (scratch / "backup_manifest").write_bytes(data)
    except OSError as exc:
        raise extract.scratch_failure(scratch, exc, "copying backup_manifest") from exc
    return merged


def pg_verify(root: Path, manifest: Path, timeout: float) -> tuple[Finding, dict[str, Any]]:
    """pg_verifybackup's verdict on the restored data directory, as a finding. Not
    installed: recorded as such (the sizes were compared; the CRC32C checksums were not)."""
    from irkit.backup import postgres

    got = postgres.verify_backup(root, manifest.resolve(), timeout)
    if got is None:
        msg = (
            "not installed: sizes compared, checksums not verified "
            "(install the PostgreSQL server package for pg_verifybackup)"
        )
        return Finding("pg_verifybackup", True, msg), {"installed": False}
    record = {
        "installed": True,
        "program": got.program,
        "version": got.version,
        "argv": got.argv,
        "exit_code": got.exit_code,
        "ok": got.ok,
        "output": got.output,
    }
    text = _last_lines(got.output)
    msg = "backup successfully verified" if got.ok else f"exit {got.exit_code}: {text}"
    return Finding("pg_verifybackup", got.ok, f"{got.version or 'pg_verifybackup'}: {msg}"), record


# --- row counts taken at backup time --------------------------------------------------


def count_databases(
    source: Path, pg: list[str], sqlite_files: list[Path]
) -> list[backupmanifest.Database]:
    """Row counts for `irkit backup manifest --pg CONNINFO --sqlite FILE`."""
    from irkit.backup import postgres

    out: list[backupmanifest.Database] = []
    for conninfo in pg:
        tables = postgres.count_live(conninfo)
        name = postgres.database_name(conninfo)
        out.append(backupmanifest.Database(name, "postgresql", {t.display: t.rows for t in tables}))
    for file in sqlite_files:
        if not file.is_file():
            raise InputError(f"--sqlite: no such file: {file}")
        try:
            name = file.resolve().relative_to(source.resolve()).as_posix()
        except ValueError:
            name = file.name
        out.append(backupmanifest.count_sqlite(file, name))
    names = [d.name for d in out]
    if len(set(names)) != len(names):
        raise InputError(f"two databases with the same name in one manifest: {names}")
    return out


def _sqlite_rows(path: Path) -> dict[str, int] | str:
    try:
        return backupmanifest.count_sqlite(path, path.name).tables
    except InputError as exc:
        return exc.message


def compare_rows(
    root: Path, recorded: list[backupmanifest.Database], databases: list[dict[str, Any]]
) -> list[Finding]:
    """Restored row counts against the counts taken at backup time; any difference, a
    missing table or a database that did not come back is a FAIL naming it."""
    out: list[Finding] = []
    pg_restored = [d for d in databases if d.get("restored")]
    for db in recorded:
        got: dict[str, int] | str
        if db.engine == "sqlite":
            cands = [root / db.name, *sorted(root.rglob(Path(db.name).name))]
            path = next((c for c in cands if c.is_file() and not c.is_symlink()), None)
            if path is None:
                out.append(Finding("rows", False, f"{db.name}: SQLite database not restored"))
                continue
            got = _sqlite_rows(path)
            where = path.relative_to(root).as_posix()
        else:
            match = [d for d in pg_restored if Path(d["dump"]).name.split(".")[0] == db.name]
            if not match and len(recorded) == 1 and len(pg_restored) == 1:
                match = pg_restored  # one database recorded, one dump restored: the pair
            if not match:
                out.append(Finding("rows", False, f"{db.name}: no restored dump of this database"))
                continue
            got = {t["table"]: t["rows"] for t in match[0]["tables"]}
            where = match[0]["dump"]
        if isinstance(got, str):
            out.append(Finding("rows", False, f"{where}: {got}"))
            continue
        problems = []
        for table, want in sorted(db.tables.items()):
            have = got.get(table)
            if have is None:
                problems.append(f"table {table} missing ({want} row(s) at backup time)")
            elif have != want:
                problems.append(f"table {table}: {have} row(s), {want} at backup time")
        problems += [
            f"table {t}: not in the backup-time counts" for t in sorted(set(got) - set(db.tables))
        ]
        if problems:
            out += [Finding("rows", False, f"{where}: {p}") for p in problems]
        else:
            total = sum(db.tables.values())
            msg = f"{where}: {len(db.tables)} table(s), {total} row(s), as at backup time"
            out.append(Finding("rows", True, msg))
    return out


# --- the manifest recorded at backup time ---------------------------------------------

MANIFEST_KIND = "backup.manifest"


def recorded_manifest(case: Case | None, digest: str) -> dict[str, Any] | None:
    """The `backup.manifest` entry of CASE whose manifest_sha256 is DIGEST, if any."""
    if case is None:
        return None
    for entry in case.read_entries().entries:
        if entry.kind == MANIFEST_KIND and entry.body.get("manifest_sha256") == digest:
            return {"seq": entry.seq, "recorded": entry.recorded, "actor": entry.actor}
    return None


def run_queries(root: Path, rules: list[Any]) -> list[Finding]:
    """The spec's [[query]] rules on the restored data directory, started for the purpose:
    a backup whose server does not start, or whose answers are wrong, is a FAIL."""
    from irkit.backup import postgres

    if not rules:
        return []
    if not (root / "PG_VERSION").is_file():
        return [Finding("query", False, "[[query]] needs a restored PostgreSQL data directory")]
    out: list[Finding] = []
    by_user: dict[str, list[Any]] = {}
    for rule in rules:
        by_user.setdefault(rule.user, []).append(rule)
    for user, group in by_user.items():
        answers, why = postgres.query_restored(
            root,
            [(r.database, r.sql) for r in group],
            user=user,
            timeout=max(r.timeout for r in group),
        )
        if why is not None:
            return [*out, Finding("query", False, f"the restored cluster does not start: {why}")]
        for rule, got in zip(group, answers, strict=True):
            label = f"{rule.database}: {rule.sql}"
            if got.value is None:
                out.append(Finding("query", False, f"{label}: failed: {got.error}"))
                continue
            ok, want = True, ""
            if rule.expect is not None:
                ok, want = got.value == rule.expect, f", expected {rule.expect!r}"
            if rule.at_least is not None:
                try:
                    ok = ok and int(got.value) >= rule.at_least
                except ValueError:
                    ok = False
                want += f", at least {rule.at_least} expected"
            out.append(Finding("query", ok, f"{label}: {got.value!r}{want}"))
    return out

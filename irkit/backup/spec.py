"""The restore spec: expectations a hash cannot express, checked on the restored tree.

Every digest of a backup can match and the backup still be useless (one of five databases
came back empty). The spec says what a *usable* restore looks like. Unknown keys are
errors so a typo cannot silently switch a check off.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
import subprocess
import tarfile
import tomllib
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from irkit.backup import extract
from irkit.childenv import child_env
from irkit.errors import EnvironmentFailure, InputError
from irkit.record.safefile import read_input_text

_ZERO_BLOCK = 4096
# SQLite result codes that say this machine failed (disk full, I/O error, out of memory)
_SQLITE_ENVIRONMENT = frozenset({sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_NOMEM})
_Count = Annotated[int, Field(ge=0)]
# a table name or an argument: not empty, no NUL (SQLite and exec refuse it mid-check)
_Text = Annotated[str, StringConstraints(min_length=1, max_length=4096, pattern=r"^[^\x00]*$")]


def _check_glob(pattern: str) -> str:
    """A glob pathlib can run, relative and inside the restored tree: checked when the spec
    is read, before anything is restored, not when the check would run."""
    parts = PurePosixPath(pattern).parts
    if not pattern or "\x00" in pattern or not parts:
        raise ValueError(f"glob {pattern!r} matches nothing: give a pattern such as '*.db'")
    if pattern.startswith("/") or ".." in parts:
        raise ValueError(f"glob must be relative and inside the backup: {pattern!r}")
    if any("**" in part and part != "**" for part in parts):
        raise ValueError(f"glob {pattern!r}: '**' can only be a whole path component")
    return pattern


_Glob = Annotated[str, StringConstraints(max_length=4096), AfterValidator(_check_glob)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class PathRule(_Strict):
    glob: _Glob
    min_count: _Count = 1
    min_size: _Count = 0
    non_empty: bool = False


class SqliteRule(_Strict):
    glob: _Glob
    integrity: bool = True
    tables: list[_Text] = []
    min_rows: dict[_Text, _Count] = {}


class PostgresRule(SqliteRule):
    """A pg_dump file (custom or plain) restored into a throwaway cluster, then counted.
    Unqualified table names mean schema `public`; `integrity = false` tolerates restore
    errors (e.g. an extension this machine lacks) and lets the table checks decide."""

    timeout: Annotated[int, Field(ge=1, le=86400)] = 3600


class GlobRule(_Strict):
    glob: _Glob


class ZeroRule(_Strict):
    glob: _Glob
    max_percent: Annotated[int, Field(ge=0, le=100)]


class CommandRule(_Strict):
    run: list[_Text] = Field(min_length=1)
    timeout: Annotated[int, Field(ge=1, le=86400)] = 60


_SIZE = re.compile(r"^\s*(\d+)\s*([KMGTP]?)i?B?\s*$", re.IGNORECASE)


def parse_size(value: int | str, what: str = "size") -> int:
    """A byte count: an integer, or a number with a binary suffix ("64G", "512MiB")."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise ValueError(f"{what} must be at least 1")
        return value
    m = _SIZE.match(value) if isinstance(value, str) else None
    if m is None:
        raise ValueError(f"{what} {value!r} is not a size such as 4096, 512M, 64G or 1T")
    n = int(m.group(1)) << (10 * " KMGTP".index(m.group(2).upper() or " "))
    if n < 1:
        raise ValueError(f"{what} must be at least 1")
    return n


def _size(value: Any) -> int:
    return parse_size(value)


_Size = Annotated[int | str, AfterValidator(_size)]


class LimitsRule(_Strict):
    """`[limits]`: bomb limits for a backup known to be large or very compressible (a
    VM image, a log archive). Unset keys keep irkit's defaults; the CLI's options win."""

    max_total: _Size | None = None
    max_apparent: _Size | None = None
    max_entries: Annotated[int, Field(ge=1)] | None = None
    max_ratio: Annotated[int, Field(ge=1)] | None = None

    def to_limits(self, base: extract.Limits | None = None) -> extract.Limits:
        base = base or extract.Limits()
        given = {k: v for k, v in self.model_dump().items() if v is not None}
        return dataclasses.replace(base, **given)


class QueryRule(_Strict):
    """SQL run on a restored physical PostgreSQL backup (a PostgreSQL backup_manifest as
    --manifest): the server is started on the restored data directory, as a real restore
    would, and the first value the query returns must equal `expect` or be at least
    `at_least` (irkit/backup/checks.py)."""

    sql: _Text
    database: _Text = "postgres"
    user: _Text = "postgres"  # a role of the backed-up cluster (its superuser is usual)
    expect: str | None = None
    at_least: _Count | None = None
    timeout: Annotated[int, Field(ge=1, le=86400)] = 600


class Spec(_Strict):
    limits: LimitsRule | None = None
    query: list[QueryRule] = []
    paths: list[PathRule] = []
    sqlite: list[SqliteRule] = []
    postgres: list[PostgresRule] = []
    archives: list[GlobRule] = []
    json_: list[GlobRule] = Field(default=[], alias="json")
    zeros: list[ZeroRule] = []
    command: list[CommandRule] = []


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    ok: bool
    message: str


@dataclass(slots=True)
class Checked:
    """Findings, plus what a restore into a database produced: the time it took (part of
    the measured recovery time) and every table with its row count."""

    findings: list[Finding] = field(default_factory=list)
    restore_ms: int = 0
    databases: list[dict[str, Any]] = field(default_factory=list)


def load_spec(path: Path) -> Spec:
    try:
        data = tomllib.loads(read_input_text(path, what="spec"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"spec {path} is not valid TOML: {exc}") from exc
    except RecursionError as exc:
        raise InputError(f"spec {path} is nested too deeply to read") from exc
    try:
        return Spec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        raise InputError(f"spec {path}: {where}: {msg}") from exc


def matches(root: Path, pattern: str) -> list[Path]:
    """Regular files only; links are never followed into (they may have been hostile)."""
    try:
        found = [p for p in root.glob(_check_glob(pattern)) if p.is_file() and not p.is_symlink()]
    except (ValueError, NotImplementedError, IndexError) as exc:
        raise InputError(f"spec glob {pattern!r} cannot be used: {exc}") from exc
    return sorted(found)


def _rel(root: Path, p: Path) -> str:
    return p.relative_to(root).as_posix()


def _check_paths(root: Path, rule: PathRule) -> list[Finding]:
    found = matches(root, rule.glob)
    out = [
        Finding(
            "paths",
            len(found) >= rule.min_count,
            f"{rule.glob}: {len(found)} file(s), at least {rule.min_count} expected",
        )
    ]
    for p in found:
        size = p.stat().st_size
        if rule.non_empty and size == 0:
            out.append(Finding("paths", False, f"{_rel(root, p)}: empty"))
        if size < rule.min_size:
            out.append(Finding("paths", False, f"{_rel(root, p)}: {size} < {rule.min_size} bytes"))
    return out


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _check_sqlite(root: Path, rule: SqliteRule) -> list[Finding]:
    found = matches(root, rule.glob)
    if not found:
        return [Finding("sqlite", False, f"{rule.glob}: no database found")]
    out: list[Finding] = []
    for p in found:
        rel = _rel(root, p)
        problems: list[str] = []
        try:
            con = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
            try:
                if rule.integrity:
                    row = con.execute("PRAGMA integrity_check").fetchone()
                    if row is None or row[0] != "ok":
                        problems.append(f"integrity_check: {row[0] if row else 'no answer'}")
                names = {
                    r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")
                }

                def count(table: str, con: sqlite3.Connection = con) -> int:
                    query = f"SELECT count(*) FROM {_quote(table)}"  # noqa: S608 (quoted identifier)
                    return int(con.execute(query).fetchone()[0])

                problems += _table_problems(rule, names.__contains__, count)
            finally:
                con.close()
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorcode", None) in _SQLITE_ENVIRONMENT:
                raise EnvironmentFailure(  # e.g. no room for integrity_check's temp store
                    f"checking {rel}: SQLite failed on this machine: {exc}; "
                    "this is no verdict on the backup: nothing recorded",
                    hint="free space in the scratch and temp file systems, then run again",
                ) from exc
            problems.append(f"not a usable SQLite database: {exc}")
        if problems:
            out.extend(Finding("sqlite", False, f"{rel}: {m}") for m in dict.fromkeys(problems))
        else:
            out.append(Finding("sqlite", True, f"{rel}: ok"))
    return out


def _nothing(check: str, glob: str) -> Finding:
    """A rule whose glob matches no file checked nothing: that is a finding, never a pass
    (a typo, or the very files the rule was written for are gone)."""
    return Finding(check, False, f"{glob}: no file matches")


def test_archive(path: Path) -> str | None:
    """Why the archive at PATH does not test clean (None: it does), opened by its real
    type (restore.detect): a .tar.xz is decompressed and every tar member read through."""
    found = extract.detect(path)
    if found.problem is not None and not (found.compression and "holds no tar" in found.problem):
        return found.problem  # (a compressed file of other data is read through below)
    if found.kind == "zip" and found.compression is None:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
        return None if bad is None else f"member {bad} fails its CRC"
    reader = extract.PipelinedStream(path)
    try:
        if found.kind != "tar":
            while reader.read(1 << 20):
                pass
            return None
        problems: list[str] = []
        stream: Any = reader
        with tarfile.open(
            fileobj=stream,
            mode="r|",
            tarinfo=extract.tar_info_class(problems.append),
        ) as tf:
            for m in tf:
                if m.isreg():
                    src = tf.extractfile(m)
                    while src is not None and src.read(1 << 20):
                        pass
        return problems[0] if problems else None
    finally:
        reader.close()


def _check_archives(root: Path, rule: GlobRule) -> list[Finding]:
    found = matches(root, rule.glob)
    if not found:
        return [_nothing("archives", rule.glob)]
    out: list[Finding] = []
    for p in found:
        rel = _rel(root, p)
        try:
            why = test_archive(p)
            if why is None:
                out.append(Finding("archives", True, f"{rel}: tests clean"))
            else:
                out.append(Finding("archives", False, f"{rel}: does not test clean: {why}"))
        except OSError as exc:
            if exc.errno is not None and extract.is_environment_error(exc):
                raise extract.scratch_failure(root, exc, f"testing {rel}") from exc
            out.append(Finding("archives", False, f"{rel}: does not test clean: {exc}"))
        except (
            *(EOFError, ValueError, zlib.error, zipfile.BadZipFile, tarfile.TarError),
            *(NotImplementedError, RuntimeError),  # a zip method or encryption it cannot read
        ) as exc:
            out.append(Finding("archives", False, f"{rel}: does not test clean: {exc}"))
    return out


def _check_json(root: Path, rule: GlobRule) -> list[Finding]:
    out: list[Finding] = [] if matches(root, rule.glob) else [_nothing("json", rule.glob)]
    for p in matches(root, rule.glob):
        try:
            json.loads(p.read_bytes())
            out.append(Finding("json", True, f"{_rel(root, p)}: parses"))
        except ValueError as exc:
            out.append(Finding("json", False, f"{_rel(root, p)}: does not parse: {exc}"))
        except RecursionError:
            msg = f"{_rel(root, p)}: nested too deeply to be checked"
            out.append(Finding("json", False, msg))
    return out


def zero_percent(path: Path) -> int:
    """Share (0-100) of 4 KiB blocks that are entirely zero bytes: a zeroed image can carry
    a perfectly valid hash."""
    zero = bytes(_ZERO_BLOCK)
    total = zeros = 0
    with path.open("rb") as fh:
        while block := fh.read(_ZERO_BLOCK):
            total += 1
            if block == zero[: len(block)]:
                zeros += 1
    return 0 if total == 0 else zeros * 100 // total


def _check_zeros(root: Path, rule: ZeroRule) -> list[Finding]:
    out: list[Finding] = [] if matches(root, rule.glob) else [_nothing("zeros", rule.glob)]
    for p in matches(root, rule.glob):
        pct = zero_percent(p)
        ok = pct <= rule.max_percent
        out.append(
            Finding("zeros", ok, f"{_rel(root, p)}: {pct}% zero blocks (max {rule.max_percent}%)")
        )
    return out


def _check_command(root: Path, rule: CommandRule) -> list[Finding]:
    label = " ".join(rule.run)
    try:
        proc = subprocess.run(
            rule.run,
            cwd=root,
            capture_output=True,
            timeout=rule.timeout,
            check=False,
            env=child_env(),
        )
    except subprocess.TimeoutExpired:
        return [Finding("command", False, f"{label}: timed out after {rule.timeout}s")]
    except OSError as exc:
        return [Finding("command", False, f"{label}: could not start: {exc.strerror}")]
    output = (proc.stdout + proc.stderr).decode(errors="replace").strip()[-500:]
    msg = f"{label}: exit {proc.returncode}" + (f": {output}" if output else "")
    return [Finding("command", proc.returncode == 0, msg)]


def _table_problems(
    rule: SqliteRule, exists: Callable[[str], bool], count: Callable[[str], int]
) -> list[str]:
    """The spec's table expectations (SQLite and PostgreSQL alike) against one database;
    rows are counted only for the tables that name a minimum."""
    problems = [f"table {t} missing" for t in rule.tables if not exists(t)]
    for table, least in rule.min_rows.items():
        if not exists(table):
            problems.append(f"table {table} missing")
        elif (n := count(table)) < least:
            problems.append(f"table {table}: {n} row(s), at least {least} expected")
    return problems


def _counted_problems(rule: SqliteRule, rows: dict[tuple[str, str], int]) -> list[str]:
    """`_table_problems` for a database whose tables were all counted already."""
    return _table_problems(rule, lambda t: _table_key(t) in rows, lambda t: rows[_table_key(t)])


def _table_key(name: str) -> tuple[str, str]:
    schema, dot, table = name.partition(".")
    return (schema, table) if dot else ("public", name)


def _check_postgres(root: Path, rule: PostgresRule, out: Checked) -> None:
    from irkit.backup import postgres as pgrestore

    found = matches(root, rule.glob)
    if not found:
        out.findings.append(Finding("postgres", False, f"{rule.glob}: no dump found"))
        return
    for p in found:
        rel = _rel(root, p)
        if pgrestore.dump_format(p) is None:
            msg = f"{rel}: not a PostgreSQL dump (custom or plain)"
            out.findings.append(Finding("postgres", False, msg))
            continue
        # PostgresNotFound and a full scratch disk are raised: no verdict on the dump
        got = pgrestore.restore_dump(p, timeout=rule.timeout, strict=rule.integrity)
        out.restore_ms += got.restore_ms
        out.databases.append(
            {
                "dump": rel,
                "format": got.format,
                "bindir": got.bindir,
                "restored": got.error is None,
                "error": got.error,
                "output": got.output,
                "restore_ms": got.restore_ms,
                "tables": [{"table": t.display, "rows": t.rows} for t in got.tables],
            }
        )
        if got.error is not None:
            detail = got.output.strip()[-500:]
            msg = f"{rel}: restore failed: {got.error}" + (f": {detail}" if detail else "")
            out.findings.append(Finding("postgres", False, msg))
            continue
        rows = {(t.schema, t.name): t.rows for t in got.tables}
        problems = _counted_problems(rule, rows)
        if problems:
            out.findings.extend(
                Finding("postgres", False, f"{rel}: {m}") for m in dict.fromkeys(problems)
            )
        else:
            total = sum(rows.values())
            msg = f"{rel}: ok ({len(rows)} table(s), {total} row(s) in {got.restore_ms} ms)"
            out.findings.append(Finding("postgres", True, msg))


def check_all(root: Path, spec: Spec) -> Checked:
    out = Checked()
    for p in spec.paths:
        out.findings += _check_paths(root, p)
    for s in spec.sqlite:
        out.findings += _check_sqlite(root, s)
    for pg in spec.postgres:
        _check_postgres(root, pg, out)
    for a in spec.archives:
        out.findings += _check_archives(root, a)
    for j in spec.json_:
        out.findings += _check_json(root, j)
    for z in spec.zeros:
        out.findings += _check_zeros(root, z)
    for c in spec.command:
        out.findings += _check_command(root, c)
    return out


def run_checks(root: Path, spec: Spec) -> list[Finding]:
    return check_all(root, spec).findings

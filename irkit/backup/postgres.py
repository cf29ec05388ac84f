"""Restore a PostgreSQL dump into a throwaway local cluster and count what came back.

A dump is hostile input, and restoring one runs its SQL. So the cluster is private (Unix
socket only, in a fresh scratch directory, trust auth for nobody else can reach it), runs as
`nobody` when irkit runs as root, and the dump is restored by a role that is *not* a
superuser (no COPY ... PROGRAM, no untrusted languages). psql reads plain SQL in restricted
mode (backslash commands refused, so no `\\!` shell escape). Whatever happens, the server is
stopped and the cluster deleted.

Longer than ~500 lines on purpose: the throwaway cluster, the restore and the counting
share one sandbox whose rules (socket only, no superuser, `nobody`) belong together.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from irkit.backup.extract import scratch_is_full
from irkit.childenv import child_env
from irkit.errors import EnvironmentFailure, InputError

Format = Literal["custom", "plain"]
CUSTOM_MAGIC = b"PGDMP"
PLAIN_HEADER = b"-- PostgreSQL database dump"
PLAIN_FOOTER = b"-- PostgreSQL database dump complete"
NEEDED = ("initdb", "pg_ctl", "postgres", "pg_restore", "psql")
SUPERUSER = "irkit"
RESTORER = "irkit_restore"
DATABASE = "restored"
PORT = 5432  # no TCP: the number only names the socket file
STEP_TIMEOUT = 120.0
_TAIL = 4000
_SOCKET_MAX = 100  # sun_path is 108 bytes on Linux, 104 on the BSDs
_COPY_START = re.compile(rb"^COPY .* FROM stdin;\r?\n$")
_COPY_END = re.compile(rb"^\\\.\r?\n?$")
# pg_restore --no-owner --no-privileges for plain SQL; and the dump's own \restrict pair,
# which would clash with ours. Blanked, not dropped, so psql's line numbers stay right.
_BLANK = re.compile(
    rb"^(?:ALTER \S.* OWNER TO \S.*;|(?:GRANT|REVOKE) \S.*;|ALTER DEFAULT PRIVILEGES \S.*;"
    rb"|\\(?:un)?restrict \S+)\r?\n?$"
)


class PostgresNotFound(EnvironmentFailure):
    """The PostgreSQL server binaries are not installed (or not all of them): this machine
    cannot test a dump, which is no verdict on it."""


class StepFailed(Exception):
    """One step of the restore failed; carries the step's output for the finding."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.output = output


@dataclass(frozen=True, slots=True)
class Table:
    schema: str
    name: str
    display: str  # schema.name, quoted where SQL needs it
    rows: int


@dataclass(slots=True)
class DumpRestore:
    format: Format
    bindir: str
    tables: list[Table] = field(default_factory=list)
    error: str | None = None  # the failing step; None when the restore succeeded
    output: str = ""  # tail of the failing (or, with errors tolerated, the restore) step
    restore_ms: int = 0


def dump_format(path: Path) -> Format | None:
    """Custom dumps start with PGDMP; plain dumps carry pg_dump's header comment."""
    try:
        with path.open("rb") as fh:
            head = fh.read(1024)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    if head.startswith(CUSTOM_MAGIC):
        return "custom"
    if PLAIN_HEADER in head:
        return "plain"
    return None


def _has_all(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in NEEDED)


def find_bindir() -> Path:
    """`pg_config --bindir`, else the highest /usr/lib/postgresql/*/bin, else PATH."""
    tried: list[str] = []
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"],
                capture_output=True,
                text=True,
                errors="replace",
                timeout=10,
                check=False,
                env=child_env(),
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        if out:
            tried.append(out)
            if _has_all(Path(out)):
                return Path(out)

    def version(p: Path) -> tuple[int, ...]:
        digits = p.parent.name.split(".")
        return tuple(int(d) for d in digits if d.isdigit())

    for cand in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True):
        tried.append(str(cand))
        if _has_all(cand):
            return cand
    initdb = shutil.which("initdb")
    if initdb is not None:
        tried.append(str(Path(initdb).parent))
        if _has_all(Path(initdb).parent):
            return Path(initdb).parent
    where = ", ".join(tried) or "no pg_config, no /usr/lib/postgresql/*/bin, none on PATH"
    raise PostgresNotFound(
        f"PostgreSQL server binaries not found ({' '.join(NEEDED)}; looked in: {where})",
        hint="install the PostgreSQL server (Debian: apt-get install postgresql)",
    )


def _tail(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-_TAIL:].decode(errors="replace").strip()


class _Cluster:
    """One private server in WORK; `close()` stops it and deletes everything."""

    def __init__(self, bindir: Path, work: Path) -> None:
        self.bin = bindir
        self.work = work
        self.data = work / "data"
        self.run_dir = work / "run"
        self.log = work / "server.log"
        self.server: subprocess.Popen[bytes] | None = None
        self.uid: int | None = None
        self.gid: int | None = None
        if os.geteuid() == 0:  # initdb and postgres refuse root
            try:
                nobody = pwd.getpwnam("nobody")
            except KeyError as exc:
                raise EnvironmentFailure("running as root and there is no user 'nobody'") from exc
            self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
        # a Unix socket path has a small limit (sun_path): under a deep scratch folder the
        # socket goes to a private folder in /tmp instead, removed with the cluster
        self.own_run_dir = len(str(self.run_dir / f".s.PGSQL.{PORT}")) > _SOCKET_MAX
        if self.own_run_dir:
            self.run_dir = Path(tempfile.mkdtemp(prefix="irkit-restore-sock-", dir="/tmp"))
            if len(str(self.run_dir / f".s.PGSQL.{PORT}")) > _SOCKET_MAX:
                shutil.rmtree(self.run_dir, ignore_errors=True)
                raise EnvironmentFailure(f"socket path too long under {work} and /tmp")
        try:
            for d in (self.data, self.run_dir):
                if d != self.run_dir or not self.own_run_dir:
                    d.mkdir(mode=0o700)
                if self.uid is not None:
                    os.chown(d, self.uid, self.gid if self.gid is not None else -1)
        except BaseException:
            if self.own_run_dir:
                shutil.rmtree(self.run_dir, ignore_errors=True)
            raise
        if self.uid is not None:
            os.chmod(work, 0o711)  # noqa: S103 (traverse only: the user may reach data/ and run/)
        # built from nothing (a user's PGHOST/PGPASSWORD must not point a step elsewhere)
        self.env = child_env(
            {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": str(work),
                "LC_ALL": "C",
                "TZ": "UTC",
                "PGHOST": str(self.run_dir),
                "PGPORT": str(PORT),
                "PGUSER": SUPERUSER,
                "PGDATABASE": "postgres",
                "PGCONNECT_TIMEOUT": "10",
                "PGAPPNAME": "irkit-backup-verify",
            },
            inherit=False,
        )

    def run(
        self,
        label: str,
        argv: list[str],
        timeout: float,
        *,
        stdin: IO[bytes] | int | None = subprocess.DEVNULL,
        env: dict[str, str] | None = None,
        stdout_to_log: bool = True,
    ) -> tuple[int, bytes, str]:
        """Run one step as the cluster user; returns (exit code, stdout, output tail)."""
        log = self.work / f"step-{secrets.token_hex(4)}.log"
        with log.open("wb") as err:
            try:
                proc = subprocess.Popen(
                    argv,
                    stdin=stdin,
                    stdout=err if stdout_to_log else subprocess.PIPE,
                    stderr=err,
                    cwd=self.work,
                    env=child_env({**self.env, **(env or {})}, inherit=False),
                    user=self.uid,
                    group=self.gid,
                    extra_groups=None if self.uid is None else [],  # drop root's groups
                )
            except OSError as exc:
                raise StepFailed(f"{label} could not start: {exc.strerror}") from exc
            try:
                out, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired as exc:
                proc.kill()
                proc.communicate()
                raise StepFailed(f"{label} timed out after {timeout:g}s", _tail(log)) from exc
        tail = _tail(log)
        log.unlink()
        return proc.returncode, out or b"", tail

    def must(
        self,
        label: str,
        argv: list[str],
        timeout: float,
        *,
        stdin: IO[bytes] | int | None = subprocess.DEVNULL,
        env: dict[str, str] | None = None,
        stdout_to_log: bool = True,
    ) -> bytes:
        code, out, tail = self.run(
            label, argv, timeout, stdin=stdin, env=env, stdout_to_log=stdout_to_log
        )
        if code != 0:
            raise StepFailed(f"{label} exited {code}", tail)
        return out

    def start(self) -> None:
        self.must(
            "initdb",
            [
                *(str(self.bin / "initdb"), "-D", str(self.data), "-U", SUPERUSER),
                *("-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"),
            ],
            STEP_TIMEOUT,
        )
        self.launch()

    def launch(self, extra: dict[str, str] | None = None) -> None:
        """Start the server on `self.data` (a fresh initdb, or a restored data directory)."""
        opts = {
            "listen_addresses": "",
            "unix_socket_directories": str(self.run_dir),
            "unix_socket_permissions": "0700",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "autovacuum": "off",
            "max_connections": "20",
            "logging_collector": "off",
            **(extra or {}),
        }
        argv = [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(PORT)]
        for key, value in opts.items():
            argv += ["-c", f"{key}={value}"]
        with self.log.open("wb") as log:
            try:
                self.server = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    cwd=self.work,
                    env=self.env,
                    start_new_session=True,  # a terminal's Ctrl-C reaches us, and we stop it
                    user=self.uid,
                    group=self.gid,
                    extra_groups=None if self.uid is None else [],  # drop root's groups
                )
            except OSError as exc:
                raise StepFailed(f"postgres could not start: {exc.strerror}") from exc
        deadline = time.monotonic() + STEP_TIMEOUT
        pidfile = self.data / "postmaster.pid"
        while True:  # pg_ctl -w does the same: the 8th line of postmaster.pid says "ready"
            if self.server.poll() is not None:
                raise StepFailed(f"postgres exited {self.server.returncode}", _tail(self.log))
            with contextlib.suppress(OSError):
                lines = pidfile.read_text(errors="replace").splitlines()
                if len(lines) >= 8 and lines[7].strip() == "ready":
                    return
            if time.monotonic() > deadline:
                raise StepFailed(f"postgres not ready after {STEP_TIMEOUT:g}s", _tail(self.log))
            time.sleep(0.05)

    def psql(self, label: str, sql: str) -> None:
        argv = [str(self.bin / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres"]
        self.must(label, [*argv, "-c", sql], STEP_TIMEOUT)

    def stop(self) -> None:
        """Immediate shutdown (nothing here is worth a checkpoint); kill if that fails."""
        try:
            self._stop_server()
        finally:
            if self.own_run_dir:
                shutil.rmtree(self.run_dir, ignore_errors=True)

    def _stop_server(self) -> None:
        if self.server is None or self.server.poll() is not None:
            return
        with contextlib.suppress(StepFailed):
            self.run(
                "pg_ctl stop",
                [
                    *(str(self.bin / "pg_ctl"), "stop", "-D", str(self.data)),
                    *("-m", "immediate", "-w", "-t", "30"),
                ],
                40,
            )
        try:
            self.server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()


def _feed_plain(dump: Path, sink: IO[bytes]) -> None:
    """Copy DUMP into psql, blanking owner/privilege lines and the dump's \\restrict pair
    outside COPY data. Runs in a thread; psql stopping early just ends the copy."""
    try:
        with dump.open("rb") as fh:
            in_copy = False
            for line in fh:
                if in_copy:
                    in_copy = _COPY_END.match(line) is None
                elif _COPY_START.match(line):
                    in_copy = True
                elif _BLANK.match(line):
                    line = b"\n"
                sink.write(line)
    except OSError:
        pass  # psql exited (error or timeout): its exit status tells what happened
    finally:
        with contextlib.suppress(OSError):
            sink.close()


def _restore(cluster: _Cluster, dump: Path, fmt: Format, timeout: float, strict: bool) -> str:
    """Restore as the non-superuser owner of the database; returns the tolerated output."""
    user = {"PGUSER": RESTORER}
    if fmt == "custom":
        argv = [str(cluster.bin / "pg_restore"), "--no-owner", "--no-privileges", "-d", DATABASE]
        if strict:
            argv.append("--exit-on-error")
        with dump.open("rb") as fh:  # as stdin: the cluster user need not read the file
            code, _, tail = cluster.run("pg_restore", argv, timeout, stdin=fh, env=user)
        if code != 0 and strict:
            raise StepFailed(f"pg_restore exited {code}", tail)
        return tail if code != 0 else ""
    key = secrets.token_hex(16)
    argv = [str(cluster.bin / "psql"), "-X", "-q", "-o", os.devnull, "-d", DATABASE]
    if strict:
        argv += ["-v", "ON_ERROR_STOP=1"]
    argv += ["-c", f"\\restrict {key}", "-f", "-"]
    read_fd, write_fd = os.pipe()
    with os.fdopen(write_fd, "wb") as sink:
        feeder = threading.Thread(target=_feed_plain, args=(dump, sink), daemon=True)
        try:
            with os.fdopen(read_fd, "rb") as source:
                feeder.start()
                code, _, tail = cluster.run("psql", argv, timeout, stdin=source, env=user)
        finally:
            if feeder.is_alive():
                with contextlib.suppress(OSError):
                    sink.close()  # wakes a blocked write with EPIPE once psql is gone
            feeder.join(timeout=30)
    if code != 0 and strict:
        raise StepFailed(f"psql exited {code}", tail)
    return tail  # without ON_ERROR_STOP psql exits 0 after errors: its stderr tells


_LIST_TABLES = (
    "SELECT n.nspname, c.relname, pg_catalog.format('%I.%I', n.nspname, c.relname)"
    " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
    " ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
    " WHERE c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::pg_catalog.char[])"
    " AND n.nspname OPERATOR(pg_catalog.<>) 'information_schema'"
    " AND n.nspname OPERATOR(pg_catalog.!~) '^pg_' ORDER BY 1, 2"
)


def _count(cluster: _Cluster, timeout: float) -> list[Table]:
    """Exact row counts, as the superuser but read-only and with search_path pinned to
    pg_catalog at connect time (a restored ALTER DATABASE ... SET cannot plant operators)."""
    guard = {"PGOPTIONS": "-c search_path=pg_catalog -c default_transaction_read_only=on"}
    base = [str(cluster.bin / "psql"), "-X", "-q", "-A", "-t", "-z", "-0"]
    base += ["-v", "ON_ERROR_STOP=1", "-d", DATABASE]
    raw = cluster.must(
        "list tables", [*base, "-c", _LIST_TABLES], timeout, env=guard, stdout_to_log=False
    )
    fields = [f.decode("utf-8", errors="replace") for f in raw.split(b"\0")]
    fields = fields[: len(fields) // 3 * 3]
    names = [(fields[i], fields[i + 1], fields[i + 2]) for i in range(0, len(fields), 3)]
    if not names:
        return []
    sql = " UNION ALL ".join(
        f"SELECT {i}, (SELECT pg_catalog.count(*) FROM {display})"  # noqa: S608 (server-quoted %I)
        for i, (_s, _n, display) in enumerate(names)
    )
    query = cluster.work / "count.sql"  # argv has a length limit; a thousand tables pass it
    query.write_text(sql + ";\n", encoding="utf-8")
    with query.open("rb") as fh:
        raw = cluster.must(
            "count rows", [*base, "-f", "-"], timeout, env=guard, stdout_to_log=False, stdin=fh
        )
    parts = raw.split(b"\0")
    counts: dict[int, int] = {}
    for i in range(0, len(parts) - 1, 2):
        counts[int(parts[i])] = int(parts[i + 1])
    return [Table(s, n, d, counts.get(i, 0)) for i, (s, n, d) in enumerate(names)]


def _plain_complete(dump: Path) -> bool:
    """psql ends a cut-off script without error: only pg_dump's trailer proves the end."""
    with dump.open("rb") as fh:
        fh.seek(max(0, dump.stat().st_size - 4096))
        return PLAIN_FOOTER in fh.read()


def _environment(where: Path, exc: OSError) -> EnvironmentFailure:
    import errno

    code = errno.errorcode.get(exc.errno or 0, str(exc.errno))
    return EnvironmentFailure(
        f"scratch space {where} failed for the PostgreSQL restore: {code} "
        f"({exc.strerror or exc}); this is no verdict on the backup: nothing recorded"
    )


def restore_dump(
    dump: Path, *, timeout: float = 3600, strict: bool = True, scratch: Path | None = None
) -> DumpRestore:
    """Restore DUMP into a new cluster in SCRATCH (default: $TMPDIR) and count every table.

    Never raises for a broken dump: the failing step and its output land in `error` and
    `output`. Raises EnvironmentFailure (PostgresNotFound when the server binaries are
    missing) when this machine, not the dump, failed: no verdict is possible."""
    fmt = dump_format(dump)
    if fmt is None:
        raise InputError(f"not a PostgreSQL dump (custom or plain): {dump}")
    bindir = find_bindir()
    result = DumpRestore(format=fmt, bindir=str(bindir))
    if fmt == "plain" and strict and not _plain_complete(dump):
        result.error = "plain dump is incomplete (no '-- PostgreSQL database dump complete')"
        return result
    try:
        work = Path(tempfile.mkdtemp(prefix="irkit-pg-", dir=scratch))
    except OSError as exc:
        where = scratch if scratch is not None else Path(tempfile.gettempdir())
        raise _environment(where, exc) from exc
    cluster: _Cluster | None = None
    try:
        cluster = _Cluster(bindir, work)
        cluster.start()
        cluster.psql("create role", f"CREATE ROLE {RESTORER} LOGIN NOSUPERUSER")
        cluster.psql(
            "create database", f"CREATE DATABASE {DATABASE} OWNER {RESTORER} TEMPLATE template0"
        )
        start = time.monotonic()
        result.output = _restore(cluster, dump, fmt, timeout, strict)
        result.restore_ms = int((time.monotonic() - start) * 1000)
        result.tables = _count(cluster, timeout)
    except StepFailed as exc:
        if scratch_is_full(work):  # the server hit a full disk: no verdict on the dump
            raise EnvironmentFailure(
                f"scratch space {work.parent} is full: {exc.message} while restoring {dump.name}; "
                "this is no verdict on the backup: nothing recorded",
                hint="free space in the scratch file system (or set TMPDIR), then run again",
            ) from exc
        result.error = exc.message
        result.output = exc.output
    except OSError as exc:  # irkit's own files in WORK: this machine failed
        raise _environment(work.parent, exc) from exc
    finally:
        try:
            if cluster is not None:
                cluster.stop()
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return result


def find_tool(name: str) -> Path | None:
    """One PostgreSQL program (pg_verifybackup, psql) where find_bindir would look, or None."""
    candidates: list[Path] = []
    with contextlib.suppress(PostgresNotFound):
        candidates.append(find_bindir())

    def version(p: Path) -> tuple[int, ...]:
        return tuple(int(d) for d in p.parent.name.split(".") if d.isdigit())

    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    on_path = shutil.which(name)
    if on_path is not None:
        candidates.append(Path(on_path).parent)
    for cand in candidates:
        if os.access(cand / name, os.X_OK):
            return cand / name
    return None


@dataclass(slots=True)
class BackupCheck:
    """pg_verifybackup's verdict on a restored physical backup."""

    program: str
    version: str
    argv: list[str]
    ok: bool
    exit_code: int | None
    output: str


def verify_backup(datadir: Path, manifest: Path, timeout: float) -> BackupCheck | None:
    """Run `pg_verifybackup -m MANIFEST DATADIR` (checksums of every file, the WAL needed to
    make the backup consistent); None when it is not installed."""
    from irkit.backup import tools

    program = find_tool("pg_verifybackup")
    if program is None:
        return None
    ver = tools.run([str(program), "--version"], cwd=datadir, timeout=30)
    argv = [str(program), "-m", str(manifest)]
    waldump = program.parent / "pg_waldump"
    if not os.access(waldump, os.X_OK):
        argv.append("--no-parse-wal")
    argv.append(str(datadir))
    got = tools.run(argv, cwd=datadir, timeout=timeout)
    return BackupCheck(
        program=str(program),
        version=ver.output.strip().splitlines()[0] if ver.ok and ver.output.strip() else "",
        argv=argv,
        ok=got.ok,
        exit_code=got.exit_code,
        output=(got.start_error or got.output)[-4000:],
    )


def count_live(conninfo: str, timeout: float = 600) -> list[Table]:
    """Exact row counts of every table of a running database, read at backup time (`irkit
    backup manifest --pg CONNINFO`) in one read-only REPEATABLE READ transaction, so the
    counts are one consistent picture. The caller's PG* variables and ~/.pgpass apply."""
    psql = find_tool("psql")
    if psql is None:
        raise PostgresNotFound(
            "psql not found (needed for --pg)",
            hint="install the PostgreSQL client (Debian: apt-get install postgresql-client)",
        )
    env = child_env({"PGOPTIONS": "-c search_path=pg_catalog -c default_transaction_read_only=on"})
    base = [str(psql), "-X", "-q", "-A", "-t", "-z", "-0", "-v", "ON_ERROR_STOP=1", "-d", conninfo]

    def query(sql: str) -> bytes:
        try:
            proc = subprocess.run(
                base,
                input=(
                    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n" + sql + ";\nCOMMIT;\n"
                ).encode(),
                capture_output=True,
                timeout=timeout,
                check=False,
                env=child_env(env, inherit=False),
            )
        except subprocess.TimeoutExpired as exc:
            raise InputError(f"--pg: psql timed out after {timeout:g}s") from exc
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            raise InputError(f"--pg: cannot count rows: {err[-1] if err else 'psql failed'}")
        return proc.stdout

    raw = query(_LIST_TABLES)
    fields = [f.decode("utf-8", errors="replace") for f in raw.split(b"\0")]
    fields = fields[: len(fields) // 3 * 3]
    names = [(fields[i], fields[i + 1], fields[i + 2]) for i in range(0, len(fields), 3)]
    if not names:
        return []
    sql = " UNION ALL ".join(
        f"SELECT {i}, (SELECT pg_catalog.count(*) FROM {display})"  # noqa: S608 (server-quoted %I)
        for i, (_s, _n, display) in enumerate(names)
    )
    parts = query(sql).split(b"\0")
    counts = {int(parts[i]): int(parts[i + 1]) for i in range(0, len(parts) - 1, 2)}
    return [Table(s, n, d, counts.get(i, 0)) for i, (s, n, d) in enumerate(names)]


def database_name(conninfo: str) -> str:
    """The dbname a conninfo names (key=value or URI), else $PGDATABASE, else $PGUSER."""
    m = re.search(r"(?:^|\s)dbname\s*=\s*'?([^'\s]+)", conninfo)
    if m:
        return m.group(1)
    if conninfo.startswith(("postgres://", "postgresql://")):
        from urllib.parse import urlparse

        path = urlparse(conninfo).path.lstrip("/")
        if path:
            return path
    if "=" not in conninfo and "://" not in conninfo and conninfo:
        return conninfo  # psql -d NAME
    return os.environ.get("PGDATABASE") or os.environ.get("PGUSER") or "postgres"


@dataclass(frozen=True, slots=True)
class QueryAnswer:
    database: str
    sql: str
    value: str | None  # the first column of the first row; None when the query failed
    error: str | None = None


def query_restored(
    datadir: Path,
    queries: list[tuple[str, str]],
    *,
    user: str,
    timeout: float = STEP_TIMEOUT,
) -> tuple[list[QueryAnswer], str | None]:
    """Start a server on a restored physical backup (DATADIR, backup_label + WAL: it
    recovers to consistency as a real restore would), run each (database, sql) read-only as
    USER, stop it. Returns the answers, or ([], why) when the server did not come up (a
    finding: the backup does not start). The restored tree is handed to the cluster user
    (when root) and served with irkit's own trust-only pg_hba.conf on a private socket."""
    bindir = find_bindir()
    work = Path(tempfile.mkdtemp(prefix="irkit-pgq-"))
    cluster: _Cluster | None = None
    try:
        cluster = _Cluster(bindir, work)
        cluster.data.rmdir()  # the restored directory is served instead of an initdb
        cluster.data = datadir
        hba = work / "hba.conf"
        hba.write_text("local all all trust\n", encoding="utf-8")
        ident = work / "ident.conf"
        ident.write_text("", encoding="utf-8")
        if cluster.uid is not None:
            for path in (hba, ident):
                os.chown(path, cluster.uid, cluster.gid if cluster.gid is not None else -1)
            for dirpath, dirnames, filenames in os.walk(datadir):
                for name in [*dirnames, *filenames]:
                    os.lchown(Path(dirpath) / name, cluster.uid, cluster.gid or -1)
            os.chown(datadir, cluster.uid, cluster.gid if cluster.gid is not None else -1)
        os.chmod(datadir, 0o700)
        for sig in ("standby.signal", "recovery.signal", "postmaster.pid"):
            with contextlib.suppress(FileNotFoundError):
                (datadir / sig).unlink()
        extra = {
            "hba_file": str(hba),
            "ident_file": str(ident),
            "shared_preload_libraries": "",
            "archive_mode": "off",
            "restore_command": "",
            "max_wal_senders": "0",
        }
        try:
            cluster.launch(extra)
        except StepFailed as exc:
            return [], f"{exc.message}: {exc.output[-500:]}"
        answers: list[QueryAnswer] = []
        guard = {"PGUSER": user, "PGOPTIONS": "-c default_transaction_read_only=on"}
        for database, sql in queries:
            argv = [str(bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
            argv += ["-d", database, "-c", sql]
            try:
                code, out, tail = cluster.run(
                    "query", argv, timeout, env=guard, stdout_to_log=False
                )
            except StepFailed as exc:
                answers.append(QueryAnswer(database, sql, None, exc.message))
                continue
            if code != 0:
                answers.append(QueryAnswer(database, sql, None, tail[-500:] or f"exit {code}"))
                continue
            first = out.decode("utf-8", errors="replace").split("\n", 1)[0].split("|", 1)[0]
            answers.append(QueryAnswer(database, sql, first.strip()))
        return answers, None
    finally:
        try:
            if cluster is not None:
                cluster.stop()
        finally:
            shutil.rmtree(work, ignore_errors=True)

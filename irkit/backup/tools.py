"""Restores done by someone else's tool: `--restore-cmd`, restic and borg.

The tool is trusted to restore, not to behave: its output can be endless (kept as a bounded
head and tail, never whole in memory), it can hang or leave children behind (it runs in its
own process group, and the whole group is killed on timeout, interrupt or exit), and a
snapshot of an absolute path lands under that path in scratch (the layout is found, not
guessed, and recorded). What identifies the restored data is the tool's own identity for it
(snapshot or archive id) plus the digest of what was restored; the repository is never
read in full just to hash it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from irkit.childenv import child_env
from irkit.errors import EnvironmentFailure, InputError
from irkit.formats import jsonload

HEAD = 16 << 10  # bytes of a tool's output kept from its start
TAIL = 48 << 10  # ... and from its end; the rest is counted, not kept
_READ = 64 << 10


@dataclass(slots=True)
class ToolRun:
    """One run of a program: its command line, exit status and bounded output."""

    argv: list[str]
    exit_code: int | None = None
    output: str = ""
    output_bytes: int = 0
    timed_out: bool = False
    start_error: str | None = None  # "PROGRAM: reason" when it could not start
    ms: int = 0
    stdout: str = ""  # run(split=True) only

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and self.start_error is None

    def problem(self, what: str) -> str | None:
        """None when the run succeeded, else one line saying how it failed."""
        if self.start_error is not None:
            return f"{what} could not start: {self.start_error}"
        if self.timed_out:
            return f"{what} timed out (process group killed)"
        if self.exit_code != 0:
            return f"{what} exited {self.exit_code}"
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "argv": self.argv,
            "exit_code": self.exit_code,
            "timed_out": self.timed_out,
            "start_error": self.start_error,
            "output_bytes": self.output_bytes,
            "ms": self.ms,
        }


class _Bounded:
    """Keeps the first HEAD and the last TAIL bytes of a stream, counting the rest."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = HEAD - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > 2 * TAIL:  # trimmed in batches: amortised O(1) per byte
                del self.tail[: len(self.tail) - TAIL]

    def text(self) -> str:
        tail = bytes(self.tail[-TAIL:])
        skipped = self.total - len(self.head) - len(tail)
        mid = f"\n[... {skipped} bytes of output not kept ...]\n" if skipped > 0 else ""
        head = bytes(self.head).decode(errors="replace")
        return head + mid + tail.decode(errors="replace")


_HELD = {signal.SIGTERM, signal.SIGINT}


def _unhold() -> None:
    """In the child before exec: the tool gets the signal mask irkit had."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def run(
    argv: list[str],
    *,
    cwd: Path,
    timeout: float,
    env: dict[str, str] | None = None,  # on top of the caller's (secrets dropped)
    split: bool = False,
) -> ToolRun:
    """Run ARGV in its own process group, stdout and stderr merged into a bounded buffer
    (with SPLIT, stdout apart in `stdout`: a tool's JSON answer without its warnings).

    Never raises for the program's behaviour: a program that cannot start, fails or
    times out is described in the returned ToolRun. The group is killed whatever happens
    (timeout, Ctrl-C, SIGTERM turned into an exception, normal exit leaving children)."""
    out = ToolRun(argv=list(argv))
    start = time.monotonic()
    # SIGTERM/SIGINT are held while the child is forked: a signal handled inside Popen
    # (raised as an exception) would leave a started tool nobody knows the pid of
    held = threading.current_thread() is threading.main_thread()
    if held:
        signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if split else subprocess.STDOUT,
            cwd=cwd,
            env=child_env(env),
            start_new_session=True,  # its own group: a timeout kills its children too
            preexec_fn=_unhold if held else None,  # runs one sigprocmask before exec
        )
    except BaseException as exc:
        if held:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)
        if not isinstance(exc, OSError):
            raise
        out.start_error = f"{argv[0]}: {exc.strerror or exc}"
        return out
    try:
        if held:  # a signal that came meanwhile is raised here, with the group known
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)
    except BaseException:
        _kill_group(proc.pid)
        proc.wait()
        raise
    buf, answer = _Bounded(), _Bounded()
    assert proc.stdout is not None
    streams = [(proc.stdout, answer if split else buf)]
    if proc.stderr is not None:
        streams.append((proc.stderr, buf))
    readers: list[threading.Thread] = []

    def pump(fd: int, into: _Bounded) -> None:
        with contextlib.suppress(OSError, ValueError):
            while chunk := os.read(fd, _READ):
                into.add(chunk)

    try:  # from here on a signal (SIGTERM raised as an exception) still kills the group
        for st, into in streams:
            readers.append(threading.Thread(target=pump, args=(st.fileno(), into), daemon=True))
            readers[-1].start()
        try:
            out.exit_code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            out.timed_out = True
            _kill_group(proc.pid)
            out.exit_code = proc.wait()
    finally:
        _kill_group(proc.pid)  # children left running (or we were interrupted)
        if proc.returncode is None:
            proc.wait()
        for reader in readers:
            reader.join(timeout=5)  # a child that left the group may still hold the pipe
        for st, _into in streams:
            with contextlib.suppress(OSError):
                st.close()
    out.ms = int((time.monotonic() - start) * 1000)
    out.output = buf.text()
    out.output_bytes = buf.total
    out.stdout = answer.text()
    return out


# --- path layout ----------------------------------------------------------------------


def single_chain(root: Path) -> list[str]:
    """Prefixes "", "a", "a/b", ... while each level holds exactly one entry, a directory:
    where a tool put a snapshot of an absolute path (restic, borg: home/u/data/...)."""
    chain = [""]
    cur = root
    while True:
        try:
            entries = list(os.scandir(cur))
        except OSError:
            break
        if len(entries) != 1 or not entries[0].is_dir(follow_symlinks=False):
            break
        cur = cur / entries[0].name
        chain.append(cur.relative_to(root).as_posix())
    return chain


def best_prefix(chain: list[str], files: dict[str, Any], expected: list[str]) -> str:
    """The prefix under which most expected paths were restored (the shallowest on a tie)."""
    best, score = "", -1
    for prefix in chain:
        lead = prefix + "/" if prefix else ""
        n = sum(1 for p in expected if lead + p in files)
        if n > score:
            best, score = prefix, n
    return best


def rebase(files: dict[str, Any], prefix: str) -> dict[str, Any]:
    lead = prefix + "/"
    return {k[len(lead) :]: v for k, v in files.items() if k.startswith(lead)}


# --- restic and borg ------------------------------------------------------------------


@dataclass(slots=True)
class Snapshot:
    """What restic or borg says about the snapshot restored: recorded in the verdict."""

    tool: str  # "restic" or "borg"
    version: str
    repository: str
    snapshot: str  # restic snapshot id / borg archive id (full)
    name: str = ""  # borg archive name; restic: the short id
    time: str = ""
    paths: list[str] = field(default_factory=list)
    hostname: str = ""
    runs: list[ToolRun] = field(default_factory=list)  # every tool command, in order
    check: ToolRun | None = None
    check_output: str = ""

    def label(self) -> str:
        return f"{self.tool} {self.version}"

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "version": self.version,
            "repository": self.repository,
            "snapshot": self.snapshot,
            "name": self.name,
            "time": self.time,
            "paths": self.paths,
            "hostname": self.hostname,
            "commands": [r.to_json() for r in self.runs],
            "check": None
            if self.check is None
            else {**self.check.to_json(), "ok": self.check.ok, "output": self.check_output},
        }


def _program(name: str, package: str) -> str:
    import shutil

    found = shutil.which(name)
    if found is None:
        raise EnvironmentFailure(
            f"{name} is not installed (needed for --{name.removesuffix('backup')}); "
            "this is no verdict on the backup: nothing recorded",
            hint=f"install it (Debian: apt-get install {package})",
        )
    return found


def _version(program: str, cwd: Path) -> str:
    got = run([program, "--version" if "borg" in program else "version"], cwd=cwd, timeout=30)
    m = re.search(r"\b(\d+\.\d+(?:\.\d+)?\S*)", got.output)
    if not got.ok or m is None:
        raise EnvironmentFailure(f"{program} does not run here: {got.output.strip()[-300:]}")
    return m.group(1)


_USAGE_PATTERNS = (
    # the technician named something that is not there, or gave the wrong password:
    # a usage mistake (exit 2), never a verdict on the backup
    r"wrong password",
    r"no key found",
    r"empty password",
    r"Is there a repository at the following location",
    r"repository does not exist",
    r"unable to open config file",
    r"no matching ID found",
    r"ambiguous",
    r"does not exist",  # borg: Repository ... / Archive ... does not exist
    r"passphrase supplied in .* is incorrect",
    r"is not a valid repository",
    r"Enter passphrase",
    r"Enter password",
)


def _usage_or_fail(what: str, got: ToolRun) -> str:
    """The message for a failed look-up; raises InputError when it is a usage mistake."""
    text = got.output.strip()
    if got.start_error is None and not got.timed_out:
        for pattern in _USAGE_PATTERNS:
            if re.search(pattern, text, re.IGNORECASE):
                lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
                said = next((ln for ln in lines if re.search(pattern, ln, re.I)), lines[-1])
                raise InputError(f"{what}: {said[-300:]}")
    return f"{got.problem(what)}: {text[-500:]}" if text else str(got.problem(what))


def local_repository(repo: str) -> str:
    """A repository given as a relative local path, made absolute: the tools run in scratch.
    Anything else (sftp:, s3:, rest:, ssh://, user@host:path) is passed on as written."""
    path = Path(repo.removeprefix("local:"))
    if path.exists() and not path.is_absolute():
        return str(path.resolve())
    return repo


def restic_snapshot(
    repo: str, snapshot: str, scratch: Path, timeout: float
) -> tuple[Snapshot | None, str | None]:
    """Look the snapshot up: (info, None), or (None, finding) when the repository cannot
    answer although it exists. Usage mistakes (no such repository or snapshot, wrong
    password) raise InputError."""
    restic = _program("restic", "restic")
    repo = local_repository(repo)
    snap = Snapshot("restic", _version(restic, scratch), repo, "")
    got = run(
        [restic, "-r", repo, "snapshots", "--json", "--no-lock", snapshot],
        cwd=scratch,
        timeout=timeout,
        split=True,
    )
    snap.runs.append(got)
    if not got.ok:
        return None, _usage_or_fail(f"restic snapshots {snapshot}", got)
    try:
        listed = jsonload.loads(got.stdout.strip() or "[]", what="restic snapshots output")
    except InputError as exc:
        return None, f"restic snapshots printed no readable JSON: {exc.message}"
    if not isinstance(listed, list) or len(listed) != 1 or not isinstance(listed[0], dict):
        raise InputError(f"restic snapshot {snapshot!r} not found in {repo}")
    info = listed[0]
    snap.snapshot = str(info.get("id", ""))
    snap.name = str(info.get("short_id", snap.snapshot[:8]))
    snap.time = str(info.get("time", ""))
    snap.hostname = str(info.get("hostname", ""))
    paths = info.get("paths")
    snap.paths = [str(p) for p in paths] if isinstance(paths, list) else []
    return snap, None


def restic_restore(snap: Snapshot, dest: Path, timeout: float) -> ToolRun:
    argv = ["restic", "-r", snap.repository, "restore", snap.snapshot, "--target", str(dest)]
    got = run(argv, cwd=dest, timeout=timeout)
    snap.runs.append(got)
    return got


def restic_check(snap: Snapshot, subset: str, cwd: Path, timeout: float) -> ToolRun:
    argv = ["restic", "-r", snap.repository, "check", f"--read-data-subset={subset}"]
    got = run(argv, cwd=cwd, timeout=timeout)
    snap.check, snap.check_output = got, got.output[-4000:]
    return got


def borg_archive(target: str, scratch: Path, timeout: float) -> tuple[Snapshot | None, str | None]:
    """`borg info --json REPO::ARCHIVE`: as restic_snapshot."""
    if "::" not in target or not target.split("::", 1)[1]:
        raise InputError(f"--borg wants REPO::ARCHIVE, got {target!r}")
    repo, name = target.split("::", 1)
    repo = local_repository(repo)
    target = f"{repo}::{name}"
    borg = _program("borg", "borgbackup")
    snap = Snapshot("borg", _version(borg, scratch), repo, "", name=name)
    got = run([borg, "info", "--json", target], cwd=scratch, timeout=timeout, split=True)
    snap.runs.append(got)
    if not got.ok:
        return None, _usage_or_fail(f"borg info {target}", got)
    try:
        info = jsonload.loads(got.stdout, what="borg info output")
        archive = info["archives"][0]
    except (InputError, KeyError, IndexError, TypeError) as exc:
        return None, f"borg info printed no readable archive description: {exc}"
    snap.snapshot = str(archive.get("id", ""))
    snap.time = str(archive.get("start", ""))
    snap.hostname = str(archive.get("hostname", ""))
    cmd = archive.get("command_line")
    if isinstance(cmd, list):  # borg create ... REPO::NAME PATH...: the paths follow
        tail = [str(c) for c in cmd if not str(c).startswith("-")]
        idx = next((i for i, c in enumerate(tail) if "::" in c), None)
        snap.paths = tail[idx + 1 :] if idx is not None else []
    return snap, None


def borg_extract(snap: Snapshot, dest: Path, timeout: float) -> ToolRun:
    argv = ["borg", "extract", f"{snap.repository}::{snap.name}"]
    got = run(argv, cwd=dest, timeout=timeout)
    snap.runs.append(got)
    return got


def borg_check(snap: Snapshot, cwd: Path, timeout: float) -> ToolRun:
    argv = ["borg", "check", "--verify-data", f"{snap.repository}::{snap.name}"]
    got = run(argv, cwd=cwd, timeout=timeout)
    snap.check, snap.check_output = got, got.output[-4000:]
    return got


# --- what a tool wrote ----------------------------------------------------------------


def collect(dest: Path, result: Any) -> None:
    """Refuse links out of DEST, then hash every regular file the tool wrote into
    `result.files` (a restore.Restored). Read errors of this machine raise
    EnvironmentFailure; a file the tool left unreadable is a finding."""
    from irkit.backup import extract, manifest

    extract.sweep_links(dest, result.refused)

    def unlisted(exc: OSError) -> None:  # the tool left a folder irkit cannot list
        if extract.is_environment_error(exc) and not isinstance(exc, PermissionError):
            raise extract.scratch_failure(dest, exc, "reading what the restore tool wrote")
        where = os.fsdecode(exc.filename) if exc.filename else "?"
        result.findings.append(f"restored folder cannot be listed: {where}: {exc.strerror}")

    for dirpath, _dirs, filenames in os.walk(dest, onerror=unlisted):
        for name in filenames:
            full = Path(dirpath) / name
            rel = full.relative_to(dest).as_posix()
            try:
                if full.is_symlink() or not full.is_file():
                    continue
                result.files[rel] = manifest.hash_file(full)
            except OSError as exc:
                if extract.is_environment_error(exc) and not isinstance(exc, PermissionError):
                    raise extract.scratch_failure(dest, exc, f"hashing restored {rel!r}") from exc
                result.findings.append(f"restored file cannot be read: {rel}: {exc.strerror}")


def run_restore_cmd(argv: list[str], dest: Path, timeout: float) -> tuple[Any, ToolRun]:
    """Run a restore command that writes into DEST, then hash what it wrote: the
    restore.Restored and the run (command line, exit status, output size)."""
    from irkit.backup import extract

    result = extract.Restored()
    got = run(argv, cwd=dest, timeout=timeout)
    result.output = got.output
    if got.start_error is not None:
        result.findings.append(f"restore command could not start: {got.start_error}")
    elif got.timed_out:
        result.findings.append(f"restore command timed out after {timeout:g}s")
    elif got.exit_code != 0:
        if extract.scratch_is_full(dest):
            raise EnvironmentFailure(
                f"scratch space {dest} is full: the restore command exited "
                f"{got.exit_code}; this is no verdict on the backup: nothing recorded",
                hint="free space in the scratch file system (or set TMPDIR), then run again",
            )
        result.findings.append(f"restore command exited {got.exit_code}")
    collect(dest, result)
    return result, got

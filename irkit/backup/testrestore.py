"""Backup test-restore: restore into scratch space, compare, check plausibility, record.

A technician must not sign off a backup that was never restored: every hash of what was
backed up can match while one of five databases comes back empty. So the artifact is
really restored, compared with what should be there, checked with the spec, and the
verdict is recorded as a signed `backup.verified` entry with the full result in the store.

Longer than ~500 lines: the run, its comparison, the entry bodies with their rules and
the five-database example data (the demo and many tests use it; it is the part to move
to irkit/demo/ with them).
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import os
import shlex
import stat
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from irkit.backup import checks as backupchecks
from irkit.backup import extract, meta, tools
from irkit.backup import manifest as backupmanifest
from irkit.backup import spec as plausibility
from irkit.errors import InputError, ProblemsFound
from irkit.record.bodies import Body, Label, SafeInt, SeqRef, Sha256Hex
from irkit.record.kinds import body_of
from irkit.record.kindspec import Context, KindSpec, no_summary
from irkit.record.safefile import what_is
from irkit.record.summary import clip, plural

if TYPE_CHECKING:
    from irkit.formats.ed25519 import Signer
    from irkit.record.case import Case
    from irkit.record.entry import Entry

KIND = "backup.verified"
_CHUNK = 1 << 20


class BackupVerified(Body):
    """Body of `backup.verified` (integers only; see docs/FORMAT.md)."""

    artifact: Label
    artifact_kind: Literal[
        "directory",
        "tar",
        "zip",
        "sqlite",
        "pg-custom",
        "pg-plain",
        "command",
        "unknown",
        "restic",
        "borg",
    ]
    artifact_sha256: Sha256Hex
    manifest_sha256: Sha256Hex
    spec_sha256: Sha256Hex | None
    verdict: Literal["PASS", "FAIL"]
    matched: SafeInt
    changed: SafeInt
    missing: SafeInt
    extra: SafeInt
    moved: SafeInt
    refused: SafeInt
    checks_failed: SafeInt
    restored_files: SafeInt
    restored_bytes: SafeInt
    restore_ms: SafeInt
    result_sha256: Sha256Hex
    signed_off: bool
    # later, optional fields: written only when known, so older journals stay valid
    tool: Label | None = None  # the restore tool and version: "restic 0.14.0"
    snapshot: Label | None = None  # the restic snapshot id / borg archive id restored
    manifest_entry: SeqRef | None = None  # the backup.manifest entry naming this manifest


class BackupManifest(Body):
    """Body of `backup.manifest`: a manifest's digest signed at backup time (the manifest's
    self-checksum proves it is intact, this proves whose it is and when it existed)."""

    manifest: Label  # its file name
    manifest_sha256: Sha256Hex  # also the name of its copy in the evidence store
    format: Literal["irkit", "postgresql"]
    files: SafeInt
    bytes: SafeInt
    databases: SafeInt  # databases whose row counts it records
    source: Label | None  # the folder it was made from, when irkit made it


@dataclass(slots=True)
class Comparison:
    matched: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)


def compare(
    expected: list[backupmanifest.FileRecord], restored: dict[str, tuple[int, str]]
) -> Comparison:
    """A missing path whose exact content turns up under an extra path counts as moved."""
    out = Comparison()
    want = {r.path: (r.size, r.sha256) for r in expected}
    for path, rec in want.items():
        got = restored.get(path)
        if got is None:
            out.missing.append(path)
        elif got == rec or (not rec[1] and got[0] == rec[0]):  # no SHA-256 known: the size
            out.matched.append(path)
        else:
            out.changed.append(path)
    extra = sorted(p for p in restored if p not in want)
    by_content: dict[tuple[int, str], list[str]] = {}
    for p in extra:
        by_content.setdefault(restored[p], []).append(p)
    still_missing = []
    for path in out.missing:
        candidates = by_content.get(want[path])
        if candidates:
            dest = candidates.pop(0)
            out.moved.append((path, dest))
            extra.remove(dest)
        else:
            still_missing.append(path)
    out.missing = still_missing
    out.extra = extra
    return out


@dataclass(slots=True)
class Result:
    artifact: str
    artifact_kind: str
    artifact_sha256: str
    manifest_sha256: str
    spec_sha256: str | None
    comparison: Comparison
    refused: list[tuple[str, str]]
    restore_findings: list[str]
    checks: list[plausibility.Finding]
    restore_ms: int
    restored_files: int
    restored_bytes: int
    restore_output: str = ""
    kept: str | None = None
    databases: list[dict[str, Any]] = field(default_factory=list)
    # what a real system tree holds and is no FAIL: outside links recorded, setuid stripped,
    # devices not created, duplicates (the last copy wins); (member, note)
    notices: list[tuple[str, str]] = field(default_factory=list)
    compression: str | None = None
    limits: dict[str, int] = field(default_factory=dict)
    # the tools' own identity and verdicts (irkit/backup/checks.py)
    tool: dict[str, Any] | None = None  # restic/borg: version, repository, snapshot, check
    command: dict[str, Any] | None = None  # --restore-cmd: argv, exit, output size
    layout: str = ""  # the restored tree was found (and compared) under this path
    manifest_format: str = "irkit"
    manifest_record: dict[str, Any] | None = None  # the backup.manifest entry, in a case
    pg_verifybackup: dict[str, Any] | None = None

    @property
    def failures(self) -> list[str]:
        c = self.comparison
        out = [f"restore: {m}" for m in self.restore_findings]
        out += [f"refused member {n}: {r}" for n, r in self.refused]
        out += [f"missing: {p}" for p in c.missing]
        out += [f"changed: {p}" for p in c.changed]
        out += [f"extra: {p}" for p in c.extra]
        out += [f"moved: {a} -> {b}" for a, b in c.moved]
        out += [f"{f.check}: {f.message}" for f in self.checks if not f.ok]
        return out

    @property
    def verdict(self) -> Literal["PASS", "FAIL"]:
        return "FAIL" if self.failures else "PASS"

    def to_json(self) -> dict[str, Any]:
        c = self.comparison
        return {
            "verdict": self.verdict,
            "artifact": self.artifact,
            "artifact_kind": self.artifact_kind,
            "artifact_sha256": self.artifact_sha256,
            "manifest_sha256": self.manifest_sha256,
            "spec_sha256": self.spec_sha256,
            "restore_ms": self.restore_ms,
            "restored_files": self.restored_files,
            "restored_bytes": self.restored_bytes,
            "counts": self.counts(),
            "matched": c.matched,
            "changed": c.changed,
            "missing": c.missing,
            "extra": c.extra,
            "moved": [{"from": a, "to": b} for a, b in c.moved],
            "refused": [{"member": n, "reason": r} for n, r in self.refused],
            "restore_findings": self.restore_findings,
            "restore_output": self.restore_output,
            "checks": [{"check": f.check, "ok": f.ok, "message": f.message} for f in self.checks],
            "failures": self.failures,
            "kept": self.kept,
            "databases": self.databases,
            "notices": [{"member": n, "note": r} for n, r in self.notices],
            "compression": self.compression,
            "limits": self.limits,
            "tool": self.tool,
            "command": self.command,
            "layout": self.layout,
            "manifest_format": self.manifest_format,
            "manifest_record": self.manifest_record,
            "pg_verifybackup": self.pg_verifybackup,
        }

    def counts(self) -> dict[str, int]:
        c = self.comparison
        return {
            "matched": len(c.matched),
            "changed": len(c.changed),
            "missing": len(c.missing),
            "extra": len(c.extra),
            "moved": len(c.moved),
            "refused": len(self.refused),
            "checks_failed": sum(1 for f in self.checks if not f.ok),
        }


def _file_sha256(path: Path) -> str:
    return backupmanifest.hash_file(path)[1]


def _new_scratch(keep: Path | None) -> Path:
    if keep is None:
        try:
            return Path(tempfile.mkdtemp(prefix="irkit-restore-"))
        except OSError as exc:
            raise extract.scratch_failure(
                Path(tempfile.gettempdir()), exc, "creating the scratch directory"
            ) from exc
    try:
        keep.mkdir(mode=0o700)
    except FileExistsError as exc:
        raise InputError(f"--keep {keep} already exists; restore never writes over it") from exc
    except OSError as exc:
        if extract.is_environment_error(exc):
            raise extract.scratch_failure(keep, exc, "creating it for --keep") from exc
        raise InputError(f"cannot create {keep}: {exc.strerror}") from exc
    return keep


def _with_pg_restore(
    scratch: Path, name: str, kind: str, spec: plausibility.Spec | None
) -> plausibility.Spec:
    """A pg_dump artifact is always restored into a database, spec or not: a dump that
    only hashes right has not been tested. Without a [[postgres]] rule for it, add one."""
    spec = spec if spec is not None else plausibility.Spec()
    if kind not in extract.PG_KINDS:
        return spec
    target = scratch / name
    if any(target in plausibility.matches(scratch, rule.glob) for rule in spec.postgres):
        return spec
    rule = plausibility.PostgresRule(glob=glob.escape(name))
    return spec.model_copy(update={"postgres": [*spec.postgres, rule]})


def run_verify(
    artifact: Path,
    *,
    manifest: Path | None = None,
    source: Path | None = None,
    spec: Path | None = None,
    keep: Path | None = None,
    restore_cmd: str | None = None,
    timeout: int = 3600,
    limits: extract.Limits | None = None,
    artifact_type: str | None = None,
    limit_options: dict[str, int] | None = None,
    compare_meta: bool = False,
    tool: backupchecks.ToolSource | None = None,
) -> Result:
    """Restore, compare and check; bad input raises before anything is restored.

    A failure of this machine (scratch disk full, PostgreSQL missing...) raises
    EnvironmentFailure, never a FAIL: the scratch tree goes, --keep's too (it is incomplete)."""
    if (manifest is None) == (source is None):
        raise InputError("give exactly one of --manifest or --source")
    if manifest is not None:
        loaded = backupmanifest.load_manifest(manifest)
        expected = loaded.files
        manifest_sha = _file_sha256(manifest)
    else:
        assert source is not None
        expected = backupmanifest.scan(source, meta=compare_meta)
        loaded = backupmanifest.Manifest(
            expected,
            "irkit",
            backupmanifest.VERSION,
            meta=meta.scan(source) if compare_meta else None,
        )
        manifest_sha = hashlib.sha256(backupmanifest.render(expected)).hexdigest()
    the_spec = plausibility.load_spec(spec) if spec is not None else None
    spec_sha = _file_sha256(spec) if spec is not None else None
    if tool is not None and restore_cmd is not None:
        raise InputError("give --restore-cmd or --restic/--borg, not both")
    if tool is None and not artifact.exists():
        raise InputError(f"artifact not found: {artifact}")
    if tool is None and restore_cmd is None:
        mode = artifact.stat().st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):  # a FIFO blocks, /dev/zero never ends
            raise InputError(f"{artifact}: {what_is(mode)}, not a backup file or folder")
    if restore_cmd is not None:
        try:
            shlex.split(restore_cmd)
        except ValueError as exc:
            raise InputError(f"cannot parse --restore-cmd: {exc}") from exc
    found = None if restore_cmd or tool else extract.detect(artifact, artifact_type)
    kind = tool.kind if tool else "command" if found is None else found.kind
    wanted = [r.path for r in expected]
    outcome: backupchecks.ToolOutcome | None = None
    run: tools.ToolRun | None = None
    prefix = ""
    if compare_meta and (loaded.meta is None or found is None):
        raise InputError(
            "--compare meta needs a manifest written with `irkit backup manifest --meta` "
            "(or --source) and an artifact irkit restores itself (not a restore tool)"
        )
    if found is not None and (why := extract.unsupported(found)) is not None:
        raise InputError(f"{artifact.name}: {why}")  # recognised, but no way to test it here
    if limits is None:  # irkit's defaults, then the spec's [limits], then the CLI's options
        limits = extract.Limits()
        if the_spec is not None and the_spec.limits is not None:
            limits = the_spec.limits.to_limits(limits)
        limits = dataclasses.replace(limits, **(limit_options or {}))
    scratch = _new_scratch(keep)
    try:
        start = time.monotonic()
        artifact_sha = ""
        if tool is not None:
            outcome = backupchecks.tool_restore(tool, scratch, timeout, wanted)
            restored, prefix = outcome.restored, outcome.prefix
            artifact_sha = backupchecks.command_identity(restored)
        elif restore_cmd is not None:
            argv = [t.replace("{dest}", str(scratch)) for t in shlex.split(restore_cmd)]
            if not argv:
                raise InputError("empty --restore-cmd")
            restored, run = tools.run_restore_cmd(argv, scratch, timeout)
            prefix = backupchecks.locate(scratch, restored, wanted)
            artifact_sha = backupchecks.command_identity(restored)  # never the repository
        elif loaded.format == "postgresql" and backupchecks.is_tar_basebackup(artifact):
            restored = backupchecks.restore_tar_basebackup(artifact, scratch, limits)
        else:
            restored = extract.restore(artifact, scratch, limits, found=found)
            artifact_sha = restored.artifact_sha256
        restore_ms = int((time.monotonic() - start) * 1000)
        if not artifact_sha:
            artifact_sha = (
                hashlib.sha256(backupmanifest.render(backupmanifest.scan(artifact))).hexdigest()
                if artifact.is_dir()
                else _file_sha256(artifact)
            )
        root = scratch / prefix if prefix else scratch
        checked = plausibility.check_all(
            root, _with_pg_restore(root, restored.single or artifact.name, kind, the_spec)
        )
        restore_ms += checked.restore_ms  # a dump is only back once it is in a database
        pg_check = None
        compared = restored.files
        if loaded.format == "postgresql" and manifest is not None:
            compared = backupchecks.pg_comparable(restored.files)
            finding, pg_check = backupchecks.pg_verify(root, manifest, timeout)
            checked.findings.append(finding)
        if the_spec is not None and the_spec.query:  # after pg_verifybackup: it changes files
            checked.findings += backupchecks.run_queries(root, the_spec.query)
        if loaded.databases:
            checked.findings += backupchecks.compare_rows(root, loaded.databases, checked.databases)
        if outcome is not None:
            checked.findings += outcome.checks
        if compare_meta and loaded.meta is not None:
            differences = meta.compare(
                expected, loaded.meta, restored.meta, restored.links, restored.dirs,
                restored.hardlinks,
            )  # fmt: skip
            checked.findings += [plausibility.Finding("meta", ok, m) for ok, m in differences]
        return Result(
            artifact=tool.label() if tool else artifact.name or str(artifact),
            artifact_kind=kind,
            artifact_sha256=artifact_sha,
            manifest_sha256=manifest_sha,
            spec_sha256=spec_sha,
            comparison=compare(expected, compared),
            refused=restored.refused,
            restore_findings=restored.findings,
            checks=checked.findings,
            restore_ms=restore_ms,
            restored_files=len(restored.files),
            restored_bytes=sum(s for s, _ in restored.files.values()),
            restore_output=restored.output,
            kept=str(keep) if keep is not None else None,
            databases=checked.databases,
            notices=restored.notices,
            compression=restored.compression,
            limits=dataclasses.asdict(limits),
            tool=outcome.snapshot.to_json() if outcome and outcome.snapshot else None,
            command=run.to_json() if run is not None else None,
            layout=prefix,
            manifest_format=loaded.format,
            pg_verifybackup=pg_check,
        )
    except BaseException:
        if keep is not None:
            extract.remove(scratch)  # made by this run, and incomplete: nothing to keep
        raise
    finally:
        if keep is None:
            extract.remove(scratch)


def result_bytes(result: Result) -> bytes:
    return json.dumps(result.to_json(), sort_keys=True, indent=1).encode()


def record(case: Case, signer: Signer, result: Result, *, sign_off: bool, **kw: Any) -> Entry:
    """Store the full result, append the signed entry; a sign-off on FAIL is refused *after*
    the FAIL itself is recorded (the failed test is a fact worth keeping)."""
    case.check_signer(signer, KIND)
    result.manifest_record = backupchecks.recorded_manifest(case, result.manifest_sha256)
    data = result_bytes(result)
    # the result is copied into the store and named by the entry in one store session:
    # nothing may clean the copy away in between (see EvidenceStore.writing)
    with case.store.writing():
        fd, tmp = tempfile.mkstemp(prefix="irkit-backup-result-", suffix=".json")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            blob = case.store.put_file(Path(tmp))
        finally:
            Path(tmp).unlink()
        tool = result.tool or {}
        record_seq = result.manifest_record["seq"] if result.manifest_record is not None else None
        body = body_of(
            KIND,
            artifact=result.artifact[:200],
            artifact_kind=result.artifact_kind,
            artifact_sha256=result.artifact_sha256,
            manifest_sha256=result.manifest_sha256,
            spec_sha256=result.spec_sha256,
            verdict=result.verdict,
            **result.counts(),
            restored_files=result.restored_files,
            restored_bytes=result.restored_bytes,
            restore_ms=result.restore_ms,
            result_sha256=blob.sha256,
            signed_off=sign_off and result.verdict == "PASS",
            tool=f"{tool['tool']} {tool['version']}"[:200] if tool.get("version") else None,
            snapshot=str(tool["snapshot"])[:200] if tool.get("snapshot") else None,
            manifest_entry=record_seq,
        )
        entry = case.append(signer, KIND, body, **kw)
    if sign_off and result.verdict == "FAIL":
        raise ProblemsFound(
            f"sign-off refused: verdict FAIL ({len(result.failures)} finding(s)); "
            f"the FAIL is recorded as #{entry.seq}"
        )
    return entry


def verify_rule(entry: Entry, ctx: Context) -> None:
    ctx.content_digests.setdefault(entry.body["result_sha256"], entry.seq)
    if entry.body["signed_off"] and entry.body["verdict"] != "PASS":
        ctx.problem(entry.seq, "backup-signoff-on-fail", "a FAIL verdict carries a sign-off")
    ref = entry.body.get("manifest_entry")
    if ref is not None:
        target = ctx.seen.get(ref)
        if (
            target is None
            or target.kind != MANIFEST_KIND
            or target.body.get("manifest_sha256") != entry.body["manifest_sha256"]
        ):
            ctx.problem(
                entry.seq,
                "backup-manifest-mismatch",
                f"names #{ref} as its backup-time manifest, which records another manifest",
            )


MANIFEST_KIND = backupchecks.MANIFEST_KIND


def record_manifest(
    case: Case,
    signer: Signer,
    path: Path,
    *,
    source: Path | None = None,
    **kw: Any,
) -> Entry:
    """Sign a manifest at backup time: its bytes go into the evidence store, its digest
    into a `backup.manifest` entry; `backup verify` later says whether the manifest it was
    given is this one. The manifest is read (and checked) first: nothing is recorded for a
    manifest irkit could not use."""
    case.check_signer(signer, MANIFEST_KIND)
    loaded = backupmanifest.load_manifest(path)
    with case.store.writing():
        blob = case.store.put_file(path)
        body = body_of(
            MANIFEST_KIND,
            manifest=path.name[:200] or "manifest",
            manifest_sha256=blob.sha256,
            format=loaded.format,
            files=len(loaded.files),
            bytes=sum(f.size for f in loaded.files),
            databases=len(loaded.databases),
            source=str(source.resolve())[:200] if source is not None else None,
        )
        return case.append(signer, MANIFEST_KIND, body, **kw)


def manifest_rule(entry: Entry, ctx: Context) -> None:
    """The signed manifest's copy is re-hashed with the rest of the store."""
    ctx.content_digests.setdefault(entry.body["manifest_sha256"], entry.seq)


FIVE_DATABASES = ("billing", "customers", "inventory", "orders", "payroll")
FIVE_DATABASES_SPEC = """\
[[paths]]
glob = "*.sqlite"
min_count = 5
non_empty = true

[[sqlite]]
glob = "*.sqlite"
integrity = true
tables = ["records"]
min_rows = { records = 1 }
"""


def build_five_databases(dest: Path, *, empty: str | None = None) -> list[Path]:
    """The classic failure as example data: five databases, optionally one with no rows
    (`empty` is a database's name, with or without `.sqlite`). Re-runnable: each database
    is built beside its place and renamed over it, so a second run rebuilds the same data."""
    import sqlite3

    if empty is not None:
        empty = empty.removesuffix(".sqlite")
        if empty not in FIVE_DATABASES:
            raise InputError(
                f"--empty {empty!r}: no such database (one of: {', '.join(FIVE_DATABASES)})"
            )
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for name in FIVE_DATABASES:
        path = dest / f"{name}.sqlite"
        tmp = dest / f".{name}.sqlite.{os.getpid()}.tmp"
        tmp.unlink(missing_ok=True)
        con = sqlite3.connect(tmp)
        try:
            con.execute("CREATE TABLE records (id INTEGER PRIMARY KEY, value TEXT)")
            if name != empty:
                con.executemany(
                    "INSERT INTO records (value) VALUES (?)", [(f"{name}-{i}",) for i in range(50)]
                )
            con.commit()
        finally:
            con.close()
        os.replace(tmp, path)
        out.append(path)
    return out


def verified_summary(e: Entry) -> str:
    b = e.body
    signed = " signed off" if b.get("signed_off") else ""
    checks = plural(int(str(b.get("checks_failed") or 0)), "check")
    return (
        f"{b.get('verdict')} {clip(str(b.get('artifact', '')), 40)}: "
        f"{b.get('matched')} matched, {b.get('missing')} missing, "
        f"{b.get('changed')} changed, {checks} failed{signed}"
    )


KIND_SPECS = (
    KindSpec(KIND, BackupVerified, verify_rule, verified_summary),
    KindSpec(MANIFEST_KIND, BackupManifest, manifest_rule, no_summary),
)

"""Backup test-restore: restore into scratch space, compare, check plausibility, record.

A technician must not sign off a backup that was never restored: every hash of what was
backed up can match while one of five databases comes back empty. So the artifact is
really restored, compared with what should be there, checked with the spec, and the
verdict is recorded as a signed `backup.verified` entry with the full result in the store.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shlex
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from irkit import backupmanifest, plausibility, restore
from irkit.bodies import Body, Label, SafeInt, Sha256Hex
from irkit.errors import InputError, ProblemsFound

if TYPE_CHECKING:
    from irkit.case import Case
    from irkit.entry import Entry
    from irkit.keys import Signer
    from irkit.verify import Context

KIND = "backup.verified"
_CHUNK = 1 << 20


class BackupVerified(Body):
    """Body of `backup.verified` (integers only; see docs/FORMAT.md)."""

    artifact: Label
    artifact_kind: Literal["directory", "tar", "zip", "sqlite", "pg-custom", "pg-plain", "command"]
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
        elif got == rec:
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
            raise restore.scratch_failure(
                Path(tempfile.gettempdir()), exc, "creating the scratch directory"
            ) from exc
    try:
        keep.mkdir(mode=0o700)
    except FileExistsError as exc:
        raise InputError(f"--keep {keep} already exists; restore never writes over it") from exc
    except OSError as exc:
        if restore.is_environment_error(exc):
            raise restore.scratch_failure(keep, exc, "creating it for --keep") from exc
        raise InputError(f"cannot create {keep}: {exc.strerror}") from exc
    return keep


def _with_pg_restore(
    scratch: Path, artifact: Path, kind: str, spec: plausibility.Spec | None
) -> plausibility.Spec:
    """A pg_dump artifact is always restored into a database, spec or not: a dump that
    only hashes right has not been tested. Without a [[postgres]] rule for it, add one."""
    spec = spec if spec is not None else plausibility.Spec()
    if kind not in restore.PG_KINDS:
        return spec
    target = scratch / artifact.name
    if any(target in plausibility.matches(scratch, rule.glob) for rule in spec.postgres):
        return spec
    rule = plausibility.PostgresRule(glob=glob.escape(artifact.name))
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
    limits: restore.Limits | None = None,
) -> Result:
    """Restore, compare and check; bad input raises before anything is restored.

    A failure of this machine (scratch disk full, PostgreSQL missing...) raises
    EnvironmentFailure, never a FAIL: the scratch tree goes, --keep's too (it is incomplete)."""
    if (manifest is None) == (source is None):
        raise InputError("give exactly one of --manifest or --source")
    if manifest is not None:
        expected = backupmanifest.load(manifest)
        manifest_sha = _file_sha256(manifest)
    else:
        assert source is not None
        expected = backupmanifest.scan(source)
        manifest_sha = hashlib.sha256(backupmanifest.render(expected)).hexdigest()
    the_spec = plausibility.load_spec(spec) if spec is not None else None
    spec_sha = _file_sha256(spec) if spec is not None else None
    if not artifact.exists():
        raise InputError(f"artifact not found: {artifact}")
    kind = "command" if restore_cmd else restore.kind_of(artifact)
    scratch = _new_scratch(keep)
    try:
        start = time.monotonic()
        artifact_sha = ""
        if restore_cmd is not None:
            argv = [t.replace("{dest}", str(scratch)) for t in shlex.split(restore_cmd)]
            if not argv:
                raise InputError("empty --restore-cmd")
            restored = restore.restore_cmd(argv, scratch, timeout)
        elif kind == "tar":
            reader = restore.PipelinedStream(artifact)
            try:
                restored = restore.restore(artifact, scratch, limits, stream=reader)  # type: ignore[arg-type]
                artifact_sha = reader.finish()
            finally:
                reader.close()
        else:
            restored = restore.restore(artifact, scratch, limits)
        restore_ms = int((time.monotonic() - start) * 1000)
        if not artifact_sha:
            artifact_sha = (
                hashlib.sha256(backupmanifest.render(backupmanifest.scan(artifact))).hexdigest()
                if artifact.is_dir()
                else _file_sha256(artifact)
            )
        checked = plausibility.check_all(
            scratch, _with_pg_restore(scratch, artifact, kind, the_spec)
        )
        restore_ms += checked.restore_ms  # a dump is only back once it is in a database
        return Result(
            artifact=artifact.name or str(artifact),
            artifact_kind=kind,
            artifact_sha256=artifact_sha,
            manifest_sha256=manifest_sha,
            spec_sha256=spec_sha,
            comparison=compare(expected, restored.files),
            refused=restored.refused,
            restore_findings=restored.findings,
            checks=checked.findings,
            restore_ms=restore_ms,
            restored_files=len(restored.files),
            restored_bytes=sum(s for s, _ in restored.files.values()),
            restore_output=restored.output,
            kept=str(keep) if keep is not None else None,
            databases=checked.databases,
        )
    except BaseException:
        if keep is not None:
            restore.remove(scratch)  # made by this run, and incomplete: nothing to keep
        raise
    finally:
        if keep is None:
            restore.remove(scratch)


def result_bytes(result: Result) -> bytes:
    return json.dumps(result.to_json(), sort_keys=True, indent=1).encode()


def record(case: Case, signer: Signer, result: Result, *, sign_off: bool, **kw: Any) -> Entry:
    """Store the full result, append the signed entry; a sign-off on FAIL is refused *after*
    the FAIL itself is recorded (the failed test is a fact worth keeping)."""
    case.check_signer(signer, KIND)
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
        counts = result.counts()
        body = {
            "artifact": result.artifact[:200],
            "artifact_kind": result.artifact_kind,
            "artifact_sha256": result.artifact_sha256,
            "manifest_sha256": result.manifest_sha256,
            "spec_sha256": result.spec_sha256,
            "verdict": result.verdict,
            **counts,
            "restored_files": result.restored_files,
            "restored_bytes": result.restored_bytes,
            "restore_ms": result.restore_ms,
            "result_sha256": blob.sha256,
            "signed_off": sign_off and result.verdict == "PASS",
        }
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
    """The classic failure as example data: five databases, optionally one with no rows."""
    import sqlite3

    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for name in FIVE_DATABASES:
        path = dest / f"{name}.sqlite"
        con = sqlite3.connect(path)
        try:
            con.execute("CREATE TABLE records (id INTEGER PRIMARY KEY, value TEXT)")
            if name != empty:
                con.executemany(
                    "INSERT INTO records (value) VALUES (?)", [(f"{name}-{i}",) for i in range(50)]
                )
            con.commit()
        finally:
            con.close()
        out.append(path)
    return out


def demo_step(ctx: Any) -> None:
    """Demo: back up example data, manifest it, verify (PASS), then a copy where one
    database came back empty (FAIL, named); both verdicts are signed entries."""
    import tarfile

    base = ctx.files / "backup"
    good, bad = base / "data", base / "data-broken"
    build_five_databases(good)
    build_five_databases(bad, empty="payroll")
    manifest = base / "backup_manifest.json"
    backupmanifest.write(good, manifest)
    spec = base / "five-databases.toml"
    spec.write_text(FIVE_DATABASES_SPEC, encoding="utf-8")
    bob = ctx.signers["bob"]
    for label, tree in (("nightly", good), ("nightly-broken", bad)):
        archive = base / f"{label}.tar.gz"
        with tarfile.open(archive, "w:gz") as tf:
            for p in sorted(tree.iterdir()):
                tf.add(p, arcname=p.name)
        result = run_verify(archive, manifest=manifest, spec=spec)
        entry = record(ctx.case, bob, result, sign_off=result.verdict == "PASS", clock=ctx.clock)
        last = result.failures[-1] if result.failures else "all checks passed"
        ctx.steps.append(
            f"test-restored {archive.name}: {result.verdict} ({last}); recorded #{entry.seq}"
        )

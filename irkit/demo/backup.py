"""The demo's backup chapter (run from irkit.demo.story.DEMO_STEPS)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from irkit.backup import manifest as backupmanifest
from irkit.backup.testrestore import FIVE_DATABASES_SPEC, build_five_databases, record, run_verify

if TYPE_CHECKING:
    from irkit.demo.story import DemoContext


def demo_step(ctx: DemoContext) -> None:
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

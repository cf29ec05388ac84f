"""The demo's last chapter: the incident report (irkit.demo.story.FINAL_STEPS)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from irkit.report.export import export

if TYPE_CHECKING:
    from irkit.audit.verify import VerifyReport
    from irkit.demo.story import DemoContext


def demo_step(ctx: DemoContext, report: VerifyReport) -> None:
    """`irkit demo` ends with the full incident report in the case's reports/ folder (where
    `irkit report` puts it by default), recorded in the journal."""
    target = ctx.case.reports_dir / "report.pdf"
    target.parent.mkdir(exist_ok=True)
    done = export(ctx.case, ctx.signers["alice"], "incident", False, target, clock=ctx.clock)
    ctx.steps.append(
        f"wrote the incident report {target} (sha256 {done.sha256[:16]}…), "
        f"recorded as entry {done.entry.seq}"
    )
